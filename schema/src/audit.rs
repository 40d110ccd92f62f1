//! Audit events: who changed what, with the record before and after, written in the
//! same transaction as the change itself.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::actor::Actor;
use crate::db::DbConnection;
use crate::error::DomainResult;
use crate::tables::audit_events;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    End,
    Import,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::End => "end",
            Action::Import => "import",
        }
    }
}

#[derive(Debug, Clone, Queryable, Insertable, Serialize)]
#[diesel(table_name = audit_events)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub actor: String,
    pub actor_org: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Writes one audit row. Call inside the transaction of the change it describes.
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut DbConnection,
    actor: &Actor,
    action: Action,
    entity_type: &str,
    entity_id: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> DomainResult<()> {
    let event = AuditEvent {
        id: uuid::Uuid::new_v4().to_string(),
        occurred_at: crate::now(),
        actor: actor.subject.clone(),
        actor_org: actor.org.clone(),
        action: action.as_str().to_string(),
        entity_type: entity_type.to_string(),
        entity_id: entity_id.to_string(),
        before: before.map(|b| serde_json::to_string(b).unwrap_or_default()),
        after: after.map(|a| serde_json::to_string(a).unwrap_or_default()),
    };
    diesel::insert_into(audit_events::table).values(&event).execute(conn)?;
    Ok(())
}

/// The audit trail of one entity, oldest first.
pub fn for_entity(conn: &mut DbConnection, entity_type: &str, entity_id: &str) -> DomainResult<Vec<AuditEvent>> {
    Ok(audit_events::table
        .filter(audit_events::entity_type.eq(entity_type))
        .filter(audit_events::entity_id.eq(entity_id))
        .order((audit_events::occurred_at.asc(), audit_events::id.asc()))
        .load(conn)?)
}

pub fn count(conn: &mut DbConnection) -> DomainResult<i64> {
    Ok(audit_events::table.count().get_result(conn)?)
}
