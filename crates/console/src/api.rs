//! Runs GraphQL documents against the management API's schema as the signed-in caller, and
//! turns the API's errors into pages.
//!
//! This is the console's only way to data: no handler touches storage or the grant engine, so
//! whatever the API refuses (another brand, a missing admin scope, bad input) the console
//! refuses too, with the API's message.

use axum::response::Response;
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ConsoleState;
use crate::page::{self, Layout};
use crate::session::Session;

/// The message of an API answer the console could not read.
const UNREADABLE: &str = "The console could not read the API's answer.";

/// An error the API answered with.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The error's `extensions.code` (`FORBIDDEN`, `NOT_FOUND`, `BAD_USER_INPUT`…).
    pub code: String,
    /// The API's message, safe to show: it never carries a secret.
    pub message: String,
}

impl Problem {
    /// A problem with what the administrator typed, found before the API is asked.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self { code: "BAD_USER_INPUT".into(), message: message.into() }
    }

    /// An answer of the API the console cannot use.
    pub fn internal(message: impl Into<String>) -> Self {
        Self { code: "INTERNAL_SERVER_ERROR".into(), message: message.into() }
    }

    /// Whether the problem is with what the administrator typed (shown beside the form).
    pub fn is_input(&self) -> bool {
        matches!(self.code.as_str(), "BAD_USER_INPUT" | "CONFLICT" | "GRAPHQL_VALIDATION_FAILED")
    }

    /// The HTTP status of the page that reports it.
    pub fn status(&self) -> StatusCode {
        match self.code.as_str() {
            "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
            "FORBIDDEN" => StatusCode::FORBIDDEN,
            "NOT_FOUND" => StatusCode::NOT_FOUND,
            "CONFLICT" => StatusCode::CONFLICT,
            "BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED" => StatusCode::UNPROCESSABLE_ENTITY,
            "UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The page that reports it, in the frame of the signed-in caller (a session that stopped
    /// working mid-request goes back to the sign-in page).
    pub fn page(&self, session: &Session, brand: Option<&str>) -> Response {
        let status = self.status();
        let (heading, message) = match status {
            StatusCode::UNAUTHORIZED => return crate::session::to_sign_in(true),
            StatusCode::FORBIDDEN => ("Not allowed", self.message.as_str()),
            StatusCode::NOT_FOUND => ("Not found", self.message.as_str()),
            StatusCode::SERVICE_UNAVAILABLE => ("Temporarily unavailable", "The API cannot answer right now."),
            StatusCode::INTERNAL_SERVER_ERROR => {
                ("Something went wrong", "The request failed; the server log says why.")
            }
            _ => ("This could not be done", self.message.as_str()),
        };
        // A forbidden brand's tabs would only lead to more refusals.
        let brand = brand.filter(|_| status != StatusCode::FORBIDDEN);
        page::message_in(status, Layout::signed_in(session, heading, brand, page::NO_TAB), message)
    }
}

/// Runs `document` with `variables` as the session's caller; the `data` on success.
pub async fn run(state: &ConsoleState, session: &Session, document: &str, variables: Value) -> Result<Value, Problem> {
    let request = async_graphql::Request::new(document)
        .variables(async_graphql::Variables::from_json(variables))
        .data(session.caller.clone());
    let response = state.schema.execute(request).await;
    if let Some(error) = response.errors.first() {
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(|c| match c {
                async_graphql::Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "GRAPHQL_VALIDATION_FAILED".to_owned());
        if code == "INTERNAL_SERVER_ERROR" || code == "GRAPHQL_VALIDATION_FAILED" {
            // A console document the schema rejects is a bug in the console: log it.
            tracing::error!(code, message = %error.message, "a console GraphQL document failed");
        }
        return Err(Problem { code, message: error.message.clone() });
    }
    response.data.into_json().map_err(|_| Problem::internal(UNREADABLE))
}

/// Runs `document` and reads its top-level `field` as `T`.
pub async fn fetch<T: DeserializeOwned>(
    state: &ConsoleState,
    session: &Session,
    document: &str,
    variables: Value,
    field: &str,
) -> Result<T, Problem> {
    let mut data = run(state, session, document, variables).await?;
    serde_json::from_value(data[field].take()).map_err(|e| {
        tracing::error!(field, error = %e, "a console GraphQL answer had an unexpected shape");
        Problem::internal(UNREADABLE)
    })
}
