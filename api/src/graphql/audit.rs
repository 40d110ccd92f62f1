//! The audit trail in GraphQL, read the way `GET /api/v1/audit` reads it: the same filters,
//! the same keyset pages, the same rule for who reads what (the domain's `audit_log`).

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};
use pcr_schema::audit::{Action, Outcome};
use pcr_schema::domain::audit_log::{self, AuditEntry, AuditQuery};

use super::errors::domain;
use super::scalars::Timestamp;
use super::{actor, db};

/// Which entries of the audit trail.
#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Only entries about this kind of record, e.g. `placement` (the change feed's kinds).
    pub entity: Option<String>,
    /// Only entries about the record with this id (or key).
    pub id: Option<String>,
    /// Only entries by this token subject.
    pub actor: Option<String>,
    /// Only entries by callers acting for this organisation.
    pub org: Option<String>,
    /// Only accepted writes, or only one kind of refusal.
    pub outcome: Option<Outcome>,
    /// Only entries at or after this instant.
    pub since: Option<Timestamp>,
    /// Only entries before this instant.
    pub until: Option<Timestamp>,
}

impl AuditFilter {
    fn query(filter: Option<AuditFilter>, first: Option<i32>, after: Option<String>) -> AuditQuery {
        let f = filter.unwrap_or_default();
        AuditQuery {
            entity: f.entity,
            id: f.id,
            actor: f.actor,
            org: f.org,
            outcome: f.outcome,
            since: f.since.map(|t| t.0),
            until: f.until.map(|t| t.0),
            limit: first.map(i64::from),
            after,
        }
    }
}

pub struct AuditEntryNode(AuditEntry);

/// One entry of the audit trail: an accepted write, or a refused one.
#[Object(name = "AuditEntry")]
impl AuditEntryNode {
    /// Its position; pass it as `after` for the entries that follow.
    async fn cursor(&self) -> &str {
        &self.0.cursor
    }
    /// When it was recorded.
    async fn occurred_at(&self) -> Timestamp {
        Timestamp(self.0.occurred_at)
    }
    /// The token subject that wrote, or tried to.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// The organisation it acted for.
    async fn actor_org(&self) -> Option<&str> {
        self.0.actor_org.as_deref()
    }
    /// The request it came from (`X-Request-Id`), when it came over HTTP.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// What the write did, or would have done.
    async fn action(&self) -> Action {
        self.0.action
    }
    /// Whether it was made, or why it was refused.
    async fn outcome(&self) -> Outcome {
        self.0.outcome
    }
    /// The kind of record, e.g. `placement`.
    async fn entity(&self) -> &str {
        &self.0.entity
    }
    /// The record's id (for a refusal, the key the request named).
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// The key the record is addressed by in its collection (ODS code, code or id).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// The version the write left the record at.
    async fn version(&self) -> Option<i32> {
        self.0.version
    }
    /// The record before the write.
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0.before.clone().map(Json)
    }
    /// The record after the write; for a refusal, what the caller tried to write.
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0.after.clone().map(Json)
    }
}

/// A page of the audit trail, oldest first.
#[derive(SimpleObject)]
pub struct AuditPage {
    /// The entries of this page, in the order they were recorded.
    pub entries: Vec<AuditEntryNode>,
    /// Pass as `after` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Reads a page of the trail for the caller.
pub async fn page(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    filter: Option<AuditFilter>,
) -> Result<AuditPage> {
    let (db, actor) = (db(ctx)?, actor(ctx));
    let query = AuditFilter::query(filter, first, after);
    let page = domain(|| audit_log::list(&db, actor.as_ref(), &query))?;
    Ok(AuditPage { entries: page.items.into_iter().map(AuditEntryNode).collect(), next_cursor: page.next_cursor })
}
