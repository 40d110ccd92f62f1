//! Reading the audit trail: every accepted write and every refused one, in the order they
//! were recorded, with who, when, which request, what, the outcome, and the values before
//! and after. `admin` reads all of it; an organisation's partners read the trail of the
//! placements within their reach, and nothing else.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::changes::Kind;
use super::crud::Entity;
use super::reach::Reach;
use crate::actor::{Actor, Scope};
use crate::audit::{Action, AuditEvent, Outcome};
use crate::db::Db;
use crate::error::{DomainError, DomainResult, FieldError};
use crate::models::placement::PlacementRow;
use crate::pagination::{Cursor, ListWindow, Page};
use crate::tables::audit_events as ae;

const SORT: &str = "seq";

/// Which entries, and from where.
#[derive(Debug, Default, Clone, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this kind of record, e.g. `placement`.
    #[param(schema_with = super::changes::kind_schema)]
    pub entity: Option<String>,
    /// Only entries about the record with this id (or key).
    pub id: Option<String>,
    /// Only entries by this token subject.
    pub actor: Option<String>,
    /// Only entries by callers acting for this organisation.
    pub org: Option<String>,
    /// Only accepted writes, or only one kind of refusal.
    pub outcome: Option<Outcome>,
    /// Only entries at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this instant (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Page size, 1–200 (default 50).
    #[param(schema_with = crate::pagination::limit_schema)]
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Its position; pass it as `after` for the entries that follow.
    pub cursor: String,
    pub occurred_at: DateTime<Utc>,
    /// The token subject that wrote, or tried to.
    pub actor: String,
    /// The organisation it acted for.
    pub actor_org: Option<String>,
    /// The request it came from (`X-Request-Id`), when it came over HTTP.
    pub request_id: Option<String>,
    pub action: Action,
    pub outcome: Outcome,
    /// The kind of record, e.g. `placement`.
    #[schema(schema_with = super::changes::kind_schema)]
    pub entity: String,
    /// The record's id (for a refusal, the key the request named).
    pub id: String,
    pub key: String,
    pub version: Option<i32>,
    /// The record before the write.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The record after the write.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

fn position(seq: i64) -> String {
    Cursor { sort: SORT.to_string(), value: seq.to_string(), id: String::new() }.encode()
}

impl AuditEntry {
    fn of(e: AuditEvent) -> Option<AuditEntry> {
        let json = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok());
        Some(AuditEntry {
            cursor: position(e.seq),
            occurred_at: e.occurred_at.and_utc(),
            actor: e.actor,
            actor_org: e.actor_org,
            request_id: e.request_id,
            action: Action::parse(&e.action)?,
            outcome: Outcome::parse(&e.outcome).unwrap_or(Outcome::Accepted),
            entity: Kind::of_audit(&e.entity_type).map(|k| k.name.to_string()).unwrap_or(e.entity_type),
            id: e.entity_id,
            key: e.entity_key,
            version: e.entity_version,
            before: json(e.before),
            after: json(e.after),
        })
    }
}

/// One page of the trail.
pub fn list(db: &Db, actor: Option<&Actor>, query: &AuditQuery) -> DomainResult<Page<AuditEntry>> {
    let actor = super::placements::check_reader(actor)?;
    crate::validate::check_filters(query)?;
    let admin = actor.has(Scope::Admin);
    let reach = match admin {
        true => Reach::All,
        false => Reach::for_actor(db, actor)?,
    };
    let entity = match query.entity.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => Some(Kind::named(name).ok_or_else(|| {
            let names: Vec<&str> = super::changes::KINDS.iter().map(|k| k.name).collect();
            DomainError::invalid("entity", format!("must be one of {}", names.join(", ")))
        })?),
        None => None,
    };
    let window = ListWindow::parse(query.limit, None, None, &[SORT])?;
    let after = match query.after.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(c) => Cursor::decode(c, SORT)?
            .value
            .parse::<i64>()
            .map_err(|_| DomainError::Invalid(vec![FieldError::new("after", "is not a cursor this API issued")]))?,
        None => 0,
    };
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let mut q = ae::table.filter(ae::seq.gt(after)).into_boxed::<crate::db::MultiBackend>();
    // A partner reads the trail of placements only.
    if reach != Reach::All {
        q = q.filter(ae::entity_type.eq(<PlacementRow as Entity>::NAME));
    }
    if let Some(k) = entity {
        q = q.filter(ae::entity_type.eq(k.audit_type()));
    }
    if let Some(id) = text(&query.id) {
        q = q.filter(ae::entity_id.eq(id.clone()).or(ae::entity_key.eq(id)));
    }
    if let Some(a) = text(&query.actor) {
        q = q.filter(ae::actor.eq(a));
    }
    if let Some(o) = text(&query.org) {
        q = q.filter(ae::actor_org.eq(o.to_ascii_uppercase()));
    }
    if let Some(o) = query.outcome {
        q = q.filter(ae::outcome.eq(o.as_str()));
    }
    if let Some(t) = query.since {
        q = q.filter(ae::occurred_at.ge(t.naive_utc()));
    }
    if let Some(t) = query.until {
        q = q.filter(ae::occurred_at.lt(t.naive_utc()));
    }
    let mut rows: Vec<AuditEvent> = db.read(|c| Ok(q.order(ae::seq.asc()).limit(window.limit + 1).load(c)?))?;
    let more = rows.len() as i64 > window.limit;
    rows.truncate(window.limit as usize);
    let next_cursor = match more {
        true => rows.last().map(|r| position(r.seq)),
        false => None,
    };
    if let Reach::Org { .. } = reach {
        // Only the placements within reach now (placements are never deleted); a refusal
        // names a placement by its id too, when it named one at all.
        let ids: Vec<&str> = rows.iter().map(|r| r.entity_id.as_str()).collect();
        let visible = reach.visible(db, &ids)?;
        rows.retain(|r| visible.contains(&r.entity_id));
    }
    Ok(Page { items: rows.into_iter().filter_map(AuditEntry::of).collect(), next_cursor, cursors: Vec::new() })
}
