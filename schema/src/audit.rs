//! Audit events: who changed what, with the record before and after, written in the
//! same transaction as the change itself. They are also the change feed: each event has a
//! sequence number, and numbers become visible in the order they were given out.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;

use crate::actor::Actor;
use crate::db::DbConnection;
use crate::error::{DomainError, DomainResult};
use crate::tables::audit_events;

crate::text_enum! {
    /// What a write did.
    Action {
        #[doc = "A record was created."] Create = "create",
        #[doc = "A record's writable fields were replaced."] Update = "update",
        #[doc = "A record was deleted."] Delete = "delete",
        #[doc = "A placement was given its last day."] End = "end",
        #[doc = "An NHS ODS import added or changed a record (or, for the import itself, ran)."] Import = "import",
    }
}

crate::text_enum! {
    /// Whether a write was made, or why it was refused.
    Outcome {
        #[doc = "The write was made."] Accepted = "accepted",
        #[doc = "Refused: the token's signature verified but the token did not (expired, say)."] Unauthenticated = "unauthenticated",
        #[doc = "Refused: the token lacks the scope, or the record is outside its organisation's reach."] Forbidden = "forbidden",
        #[doc = "Refused as not found: the record is outside its organisation's reach."] NotFound = "not_found",
    }
}

impl Outcome {
    /// The refusal a domain error is, if it is one worth auditing: a missing scope or a
    /// record out of reach. Other errors (invalid input, a stale version) are the caller's
    /// own mistakes about a write it may make.
    pub fn refusing(e: &DomainError) -> Option<Outcome> {
        match e {
            DomainError::Unauthenticated => Some(Outcome::Unauthenticated),
            DomainError::Forbidden(_) => Some(Outcome::Forbidden),
            DomainError::NotFound { hidden: true, .. } => Some(Outcome::NotFound),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Insertable, Serialize)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
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
    /// Position in the change feed.
    pub seq: i64,
    /// The key the record is addressed by in its collection (ODS code, code or id).
    pub entity_key: String,
    /// The version the write left the record at (for a delete, the version deleted).
    pub entity_version: Option<i32>,
    /// `accepted`, or why the write was refused.
    pub outcome: String,
    /// The request it came from (`X-Request-Id`).
    pub request_id: Option<String>,
}

/// The record an event is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub entity_type: &'a str,
    pub id: &'a str,
    pub key: &'a str,
    pub version: Option<i32>,
}

/// PostgreSQL advisory lock held from a transaction's first audit row to its commit
/// ("pcr-feed" in ASCII). Sequence numbers are taken under it, so a number is never
/// committed after a larger one and a reader of the feed never skips a change that commits
/// late. SQLite has one writer at a time already.
const FEED_LOCK: i64 = 0x7063_722d_6665_6564;

/// The first free sequence number. Call it last in a transaction, after the writes the
/// events describe: the lock it takes serialises writers from here to their commit. It
/// relies on READ COMMITTED, the transactions' level: the `max` below starts after the lock
/// is held, so it sees every earlier holder's commit (a REPEATABLE READ transaction would
/// read an older `max` and collide on the unique index).
fn reserve(conn: &mut DbConnection) -> DomainResult<i64> {
    if let DbConnection::Pg(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_xact_lock({FEED_LOCK})"))?;
    }
    let last: Option<i64> = audit_events::table.select(diesel::dsl::max(audit_events::seq)).first(conn)?;
    Ok(last.unwrap_or(0) + 1)
}

fn event<B: Serialize, A: Serialize>(
    actor: &Actor,
    action: Action,
    subject: Subject<'_>,
    before: Option<&B>,
    after: Option<&A>,
    seq: i64,
    at: NaiveDateTime,
) -> AuditEvent {
    AuditEvent {
        id: crate::domain::crud::new_id(),
        occurred_at: at,
        actor: actor.subject.clone(),
        actor_org: actor.org.clone(),
        action: action.as_str().to_string(),
        entity_type: subject.entity_type.to_string(),
        entity_id: subject.id.to_string(),
        before: before.map(|b| serde_json::to_string(b).unwrap_or_default()),
        after: after.map(|a| serde_json::to_string(a).unwrap_or_default()),
        seq,
        entity_key: subject.key.to_string(),
        entity_version: subject.version,
        outcome: Outcome::Accepted.as_str().to_string(),
        request_id: actor.request_id.clone(),
    }
}

/// Writes one audit row. Call inside the transaction of the change it describes, after it.
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut DbConnection,
    actor: &Actor,
    action: Action,
    subject: Subject<'_>,
    before: Option<&B>,
    after: Option<&A>,
) -> DomainResult<()> {
    let seq = reserve(conn)?;
    let row = event(actor, action, subject, before, after, seq, crate::now());
    diesel::insert_into(audit_events::table).values(&row).execute(conn)?;
    Ok(())
}

/// One event of a batch, before it is numbered.
pub struct Pending {
    pub action: Action,
    pub entity_type: &'static str,
    pub id: String,
    pub key: String,
    pub version: Option<i32>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Writes a batch of audit rows (an import) with as few statements as bind limits allow.
pub fn record_all(conn: &mut DbConnection, actor: &Actor, pending: Vec<Pending>) -> DomainResult<usize> {
    if pending.is_empty() {
        return Ok(0);
    }
    let first = reserve(conn)?;
    let at = crate::now();
    let rows: Vec<AuditEvent> = pending
        .into_iter()
        .zip(first..)
        .map(|(p, seq)| AuditEvent {
            id: crate::domain::crud::new_id(),
            occurred_at: at,
            actor: actor.subject.clone(),
            actor_org: actor.org.clone(),
            action: p.action.as_str().to_string(),
            entity_type: p.entity_type.to_string(),
            entity_id: p.id,
            before: p.before,
            after: p.after,
            seq,
            entity_key: p.key,
            entity_version: p.version,
            outcome: Outcome::Accepted.as_str().to_string(),
            request_id: actor.request_id.clone(),
        })
        .collect();
    const COLUMNS: usize = 14;
    match conn {
        // COPY: a batch's audit rows stream in one statement with nothing to parse or plan.
        DbConnection::Pg(pg) => Ok(diesel::copy_from(audit_events::table).from_insertable(&rows).execute(pg)?),
        lite @ DbConnection::Sqlite(_) => Ok(crate::insert_chunked!(lite, audit_events::table, rows, COLUMNS)),
    }
}

/// A refused write: who tried (the subject and organisation of a token whose signature
/// verified, and the request), what, and why. Its own transaction: the write was not made.
#[derive(Debug, Clone)]
pub struct Denial {
    pub actor: Actor,
    pub action: Action,
    pub entity_type: String,
    /// The record's key as the request named it; empty for a create.
    pub key: String,
    pub outcome: Outcome,
    /// The values the request tried to write (its JSON body or GraphQL input), when known.
    pub attempted: Option<serde_json::Value>,
}

pub fn record_denial(db: &crate::Db, d: &Denial) -> DomainResult<()> {
    let subject = Subject { entity_type: &d.entity_type, id: &d.key, key: &d.key, version: None };
    db.write(|conn| {
        let seq = reserve(conn)?;
        // Nothing changed, so there is no `before`; `after` is what the caller tried to write.
        let row = AuditEvent {
            outcome: d.outcome.as_str().to_string(),
            ..event::<(), _>(&d.actor, d.action, subject, None, d.attempted.as_ref(), seq, crate::now())
        };
        diesel::insert_into(audit_events::table).values(&row).execute(conn)?;
        Ok(())
    })
}

/// The audit trail of one entity, oldest first.
pub fn for_entity(conn: &mut DbConnection, entity_type: &str, entity_id: &str) -> DomainResult<Vec<AuditEvent>> {
    Ok(audit_events::table
        .filter(audit_events::entity_type.eq(entity_type))
        .filter(audit_events::entity_id.eq(entity_id))
        .order(audit_events::seq.asc())
        .load(conn)?)
}

pub fn count(conn: &mut DbConnection) -> DomainResult<i64> {
    Ok(audit_events::table.count().get_result(conn)?)
}

/// Runs a write for `actor` and, when it is refused for who is asking (a missing scope, a
/// record out of reach), records the refusal with what the caller tried to write. The
/// refusal stands whether or not it could be recorded; a failure to record it is logged.
/// REST records its refusals at the edge (see the API's `refusals`), because some come
/// before any handler; GraphQL mutations, which all reach a resolver, call this.
pub fn refusals_recorded<T>(
    db: &crate::Db,
    actor: Option<&Actor>,
    target: (Action, &str, &str),
    attempted: impl FnOnce() -> Option<serde_json::Value>,
    write: impl FnOnce() -> DomainResult<T>,
) -> DomainResult<T> {
    let result = write();
    if let (Err(e), Some(actor)) = (&result, actor) {
        if let Some(outcome) = Outcome::refusing(e) {
            let (action, entity_type, key) = target;
            let denial = Denial {
                actor: actor.clone(),
                action,
                entity_type: entity_type.to_string(),
                key: key.to_string(),
                outcome,
                attempted: attempted(),
            };
            if let Err(e) = record_denial(db, &denial) {
                tracing::error!(error = %e, "a refused write could not be audited");
            }
        }
    }
    result
}
