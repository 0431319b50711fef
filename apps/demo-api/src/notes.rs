//! The handlers, and the notes they keep in memory.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use portcullis_verifier::Verified;
use serde::Deserialize;
use serde_json::{Value, json};

/// Most notes kept; older ones are dropped.
const KEEP: usize = 1000;
/// Longest note, characters.
const MAX_TEXT: usize = 2000;

/// The notes written so far (newest last), shared by the handlers.
#[derive(Debug, Clone, Default)]
pub struct Notes(Arc<Mutex<VecDeque<Value>>>);

/// `GET /whoami`.
pub(crate) async fn whoami(verified: Verified) -> Json<Value> {
    Json(json!({
        "sub": verified.sub(),
        "brand": verified.brand(),
        "scope": verified.scope(),
        "act_type": verified.act_type().as_str(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewNote {
    text: String,
}

fn invalid(description: &str) -> (StatusCode, Json<Value>) {
    (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request", "error_description": description})))
}

/// `POST /notes`.
pub(crate) async fn create(
    State(notes): State<Notes>,
    verified: Verified,
    body: Result<Json<NewNote>, JsonRejection>,
) -> (StatusCode, Json<Value>) {
    let Json(note) = match body {
        Ok(note) => note,
        Err(rejection) => return invalid(&rejection.body_text()),
    };
    if note.text.trim().is_empty() || note.text.chars().count() > MAX_TEXT {
        return invalid("text must be 1 to 2000 characters");
    }
    let mut kept = notes.0.lock().unwrap_or_else(PoisonError::into_inner);
    let id = kept.back().and_then(|n| n["id"].as_u64()).map_or(1, |last| last + 1);
    let stored = json!({"id": id, "text": note.text, "author": verified.sub(), "brand": verified.brand()});
    kept.push_back(stored.clone());
    if kept.len() > KEEP {
        kept.pop_front();
    }
    (StatusCode::CREATED, Json(stored))
}
