//! The audit log: `auditEvents(brandKey, first, after)`, newest first.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object, SimpleObject};
use portcullis_tenancy::{AuditEvent, AuditStore};

use crate::context;
use crate::error::AdminError;
use crate::paging::{TotalCount, decode_cursor, encode_cursor, page_size};

/// One audit-log entry: who did what, to what, when, from where. Never a secret.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "AuditEvent")]
pub struct EventNode {
    /// When, seconds since the epoch.
    pub at: i64,
    /// Who: `client:{id}@{brand}`, `cli`, `system`…
    pub actor: String,
    /// What, e.g. `client.created`, `auth.failed`, `token.revoked`.
    pub action: String,
    /// What it was done to.
    pub target: Option<String>,
    /// The source address, when known.
    pub source: Option<String>,
    /// A short detail.
    pub detail: Option<String>,
}

impl From<AuditEvent> for EventNode {
    fn from(e: AuditEvent) -> Self {
        Self { at: e.at, actor: e.actor, action: e.action, target: e.target, source: e.source, detail: e.detail }
    }
}

/// Audit queries.
#[derive(Debug, Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// A brand's audit log, newest first.
    #[graphql(complexity = "crate::paging::page_complexity(child_complexity, first)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, EventNode, TotalCount, EmptyFields>> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let limit = page_size(first)?;
        let before = after
            .map(|c| {
                decode_cursor("event", &c)?
                    .parse::<i64>()
                    .map_err(|_| AdminError::BadUserInput("after is not a cursor of this list".into()))
            })
            .transpose()?;
        let store = &grants.store;
        let mut page = store.list_events(access.scope(), before, limit + 1).await.map_err(AdminError::from)?;
        let has_next = u64::try_from(page.len()).unwrap_or(u64::MAX) > limit;
        page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let total_count = store.count_events(access.scope()).await.map_err(AdminError::from)?;
        let mut connection = Connection::with_additional_fields(before.is_some(), has_next, TotalCount { total_count });
        connection.edges.extend(
            page.into_iter()
                .map(|(id, event)| Edge::new(encode_cursor("event", &id.to_string()), EventNode::from(event))),
        );
        Ok(connection)
    }
}
