//! The change feed: every committed write, in commit order, read from the audit trail.
//! A mirror reads it from a position, applies what it finds (fetching records that were
//! written, dropping those deleted) and keeps the position for next time.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::reach::Reach;
use crate::actor::{Actor, Scope};
use crate::audit::Action;
use crate::db::Db;
use crate::domain::crud::Entity;
use crate::error::{DomainError, DomainResult, FieldError};
use crate::models::federation::{FederationRow, PcnRow};
use crate::models::ict::IctRow;
use crate::models::membership::{FederationMembershipRow, IctMembershipRow, PartnerServiceRow, PcnMembershipRow};
use crate::models::placement::PlacementRow;
use crate::models::practice::PracticeRow;
use crate::models::programme::ProgrammeRow;
use crate::models::role::RoleRow;
use crate::pagination::{Cursor, ListWindow, Page};
use crate::tables::audit_events as ae;

/// One kind of record the feed carries.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// Its name in the feed and in `entity=`, e.g. `practice`.
    pub name: &'static str,
    /// Its entity type in the audit trail.
    audit: &'static str,
    /// The collection it is served under, e.g. `practices`.
    pub collection: &'static str,
    /// The scope a reader needs to see its changes.
    pub read_scope: Option<Scope>,
    /// Whether such a reader may read records of the kind at all (partner scoping).
    check_caller: fn(&Actor) -> DomainResult<()>,
}

const fn kind<E: Entity>() -> Kind {
    Kind {
        name: E::KIND,
        audit: E::NAME,
        collection: E::COLLECTION,
        read_scope: E::READ_SCOPE,
        check_caller: E::check_caller,
    }
}

/// Every kind of record, once.
pub const KINDS: &[Kind] = &[
    kind::<PracticeRow>(),
    kind::<PcnRow>(),
    kind::<FederationRow>(),
    kind::<IctRow>(),
    kind::<PcnMembershipRow>(),
    kind::<FederationMembershipRow>(),
    kind::<IctMembershipRow>(),
    kind::<PartnerServiceRow>(),
    kind::<RoleRow>(),
    kind::<ProgrammeRow>(),
    kind::<PlacementRow>(),
];

impl Kind {
    pub fn named(name: &str) -> Option<Kind> {
        KINDS.iter().find(|k| k.name == name).copied()
    }
    /// The kind served under `collection`, e.g. `placements`.
    pub fn by_collection(collection: &str) -> Option<Kind> {
        KINDS.iter().find(|k| k.collection == collection).copied()
    }
    /// Its entity type in the audit trail.
    pub fn audit_type(&self) -> &'static str {
        self.audit
    }
    pub fn of_audit(entity_type: &str) -> Option<Kind> {
        KINDS.iter().find(|k| k.audit == entity_type).copied()
    }
    fn visible_to(&self, actor: Option<&Actor>) -> bool {
        self.read_scope.is_none_or(|s| actor.is_some_and(|a| a.has(s) && (self.check_caller)(a).is_ok()))
    }
}

/// The feed's `entity` values, for the OpenAPI document.
pub fn kind_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(KINDS.iter().map(|k| k.name)))
        .description(Some("Only changes to this kind of record"))
        .build()
}

/// Where to read the feed from, and what of it.
#[derive(Debug, Default, Clone, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// Only changes to this kind of record. Placements need `placements:read`; without it
    /// their changes are left out of an unfiltered feed.
    #[param(schema_with = kind_schema)]
    pub entity: Option<String>,
    /// A position from an earlier response's `nextCursor`, or `latest` for the position
    /// after the last change (take it before a first full export). Absent: from the start.
    pub after: Option<String>,
    /// Changes per page.
    #[param(schema_with = crate::pagination::limit_schema)]
    pub limit: Option<i64>,
}

/// One committed write.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The position of this change; pass it as `after` to read what came later.
    pub cursor: String,
    /// The kind of record, e.g. `practice`.
    #[schema(schema_with = kind_schema)]
    pub entity: String,
    pub action: Action,
    /// The record's id.
    pub id: String,
    /// The key it is addressed by in its collection: an ODS code, a code, or the id.
    #[schema(example = "M83005")]
    pub key: String,
    /// The version the write left it at; for a delete, the version deleted.
    pub version: Option<i32>,
    pub occurred_at: DateTime<Utc>,
    /// Where to read the record now; absent for a delete.
    #[schema(example = "/api/v1/practices/M83005")]
    pub link: Option<String>,
}

/// A page of the feed, and the position after it (also when nothing followed).
#[derive(Debug, Clone)]
pub struct ChangePage {
    pub page: Page<Change>,
    pub resume: String,
}

const SORT: &str = "seq";

fn position(seq: i64) -> String {
    Cursor { sort: SORT.to_string(), value: seq.to_string(), id: String::new() }.encode()
}

/// Reads one page of the feed.
pub fn list(db: &Db, actor: Option<&Actor>, query: &ChangeQuery) -> DomainResult<ChangePage> {
    let only = match query.entity.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => {
            let k = Kind::named(name).ok_or_else(|| {
                let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
                DomainError::invalid("entity", format!("must be one of {}", names.join(", ")))
            })?;
            if let Some(scope) = k.read_scope {
                (k.check_caller)(crate::actor::require(actor, scope)?)?;
            }
            vec![k]
        }
        None => KINDS.iter().filter(|k| k.visible_to(actor)).copied().collect(),
    };
    // The window checks `limit`; the cursor is a sequence number, or `latest`.
    let window = ListWindow::parse(query.limit, None, None, &[SORT])?;
    let after = match query.after.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some("latest") => Some(None),
        Some(c) => {
            let cursor = Cursor::decode(c, SORT)?;
            Some(Some(cursor.value.parse::<i64>().map_err(|_| {
                DomainError::Invalid(vec![FieldError::new("after", "is not a cursor this API issued")])
            })?))
        }
    };
    let types: Vec<&str> = only.iter().map(|k| k.audit).collect();
    let (start, mut rows) = db.read(|c| {
        let start = match after {
            None => 0,
            Some(Some(seq)) => seq,
            Some(None) => ae::table.select(diesel::dsl::max(ae::seq)).first::<Option<i64>>(c)?.unwrap_or(0),
        };
        let rows: Vec<Row> = ae::table
            .filter(ae::seq.gt(start))
            .filter(ae::entity_type.eq_any(types))
            .filter(ae::outcome.eq(crate::audit::Outcome::Accepted.as_str()))
            .order(ae::seq.asc())
            .limit(window.limit + 1)
            .select(Row::as_select())
            .load(c)?;
        Ok((start, rows))
    })?;
    let more = rows.len() as i64 > window.limit;
    rows.truncate(window.limit as usize);
    let resume = position(rows.last().map(|r| r.seq).unwrap_or(start));
    let rows = reached(db, actor, rows)?;
    let items = rows.into_iter().filter_map(Row::into_change).collect();
    let next_cursor = more.then(|| resume.clone());
    Ok(ChangePage { page: Page { items, next_cursor, cursors: Vec::new() }, resume })
}

/// The rows of a page the caller may see: a placement's changes only while the placement is
/// within its reach (placements are never deleted, so each is there to ask). The page may come
/// out short; its position still moves on.
fn reached(db: &Db, actor: Option<&Actor>, rows: Vec<Row>) -> DomainResult<Vec<Row>> {
    let ids: Vec<&str> =
        rows.iter().filter(|r| r.entity_type == PlacementRow::NAME).map(|r| r.entity_id.as_str()).collect();
    let Some(actor) = actor.filter(|_| !ids.is_empty()) else {
        return Ok(rows);
    };
    let reach = Reach::for_actor(db, actor)?;
    if reach == Reach::All {
        return Ok(rows);
    }
    let visible = reach.visible(db, &ids)?;
    Ok(rows.into_iter().filter(|r| r.entity_type != PlacementRow::NAME || visible.contains(&r.entity_id)).collect())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ae)]
struct Row {
    seq: i64,
    occurred_at: chrono::NaiveDateTime,
    action: String,
    entity_type: String,
    entity_id: String,
    entity_key: String,
    entity_version: Option<i32>,
}

impl Row {
    fn into_change(self) -> Option<Change> {
        let kind = Kind::of_audit(&self.entity_type)?;
        let action = Action::parse(&self.action)?;
        let link = (action != Action::Delete).then(|| format!("/api/v1/{}/{}", kind.collection, self.entity_key));
        Some(Change {
            cursor: position(self.seq),
            entity: kind.name.to_string(),
            action,
            id: self.entity_id,
            key: self.entity_key,
            version: self.entity_version,
            occurred_at: self.occurred_at.and_utc(),
            link,
        })
    }
}
