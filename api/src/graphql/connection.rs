//! Relay connections over the domain's keyset pages: `first`/`after` read forwards,
//! `last`/`before` read the reversed order and turn the page round.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{Context, Object, OutputType, Result};
use pcr_schema::domain::catalogue::{self, ProgrammeQuery, RoleQuery};
use pcr_schema::domain::groups::{self, GroupQuery};
use pcr_schema::domain::organisations::{self, OrganisationQuery};
use pcr_schema::domain::placements::{self as placement_queries, PlacementQuery};
use pcr_schema::domain::practices::{self as practice_queries, MemberOf, PracticeQuery};
use pcr_schema::pagination::{Cursor, Page, RowCursor, SortValue, MAX_LIMIT};
use pcr_schema::Db;

use super::errors::{bad_input, domain};
use super::loaders::{PlacementCountOf, PlacementsOf, RequestLoader};
use super::{actor, db};

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: i32 = 20;

/// Relay paging arguments, resolved into the domain's limit, cursor and sort.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// What the domain is asked for, and how to turn its answer into a connection.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub limit: i64,
    pub cursor: Option<String>,
    /// The sort token handed to the domain (reversed when reading backwards).
    pub sort: String,
    pub backward: bool,
}

impl PageArgs {
    pub fn new(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> Self {
        PageArgs { first, after, last, before }
    }

    /// `sort` is the order the client asked for (`name`, `-name`).
    pub fn resolve(&self, sort: String) -> Result<Resolved> {
        let check = |n: i32, field: &str| {
            if n < 0 || i64::from(n) > MAX_LIMIT {
                Err(bad_input(field, &format!("must be between 0 and {MAX_LIMIT}")))
            } else {
                Ok(i64::from(n))
            }
        };
        match (self.first, self.last) {
            (Some(_), Some(_)) => Err(bad_input("last", "use either first/after or last/before, not both")),
            (_, Some(last)) => {
                if self.after.is_some() {
                    return Err(bad_input("after", "use either first/after or last/before, not both"));
                }
                let reversed = match sort.strip_prefix('-') {
                    Some(s) => s.to_string(),
                    None => format!("-{sort}"),
                };
                Ok(Resolved {
                    limit: check(last, "last")?,
                    cursor: self.before.clone(),
                    sort: reversed,
                    backward: true,
                })
            }
            (first, None) => {
                if self.before.is_some() {
                    return Err(bad_input("before", "`before` goes with `last`"));
                }
                let limit = check(first.unwrap_or(DEFAULT_PAGE), "first")?;
                Ok(Resolved { limit, cursor: self.after.clone(), sort, backward: false })
            }
        }
    }
}

/// Where a connection's `totalCount` comes from; it is computed only when asked for.
#[derive(Debug, Clone)]
pub enum Total {
    Known(i64),
    Practices(PracticeQuery, Option<MemberOf>),
    Organisations(OrganisationQuery),
    Pcns(GroupQuery),
    Federations(GroupQuery),
    Icts(GroupQuery),
    Roles(RoleQuery),
    Programmes(ProgrammeQuery),
    Placements(PlacementQuery),
    PlacementsOf(PlacementsOf),
}

/// The extra fields every connection has.
pub struct Totals(pub Total);

#[Object]
impl Totals {
    /// How many records match, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let db: Db = db(ctx)?;
        let actor = actor(ctx);
        match self.0.clone() {
            Total::Known(n) => Ok(n),
            Total::Practices(q, m) => domain(move || practice_queries::count(&db, &q, m.as_ref())),
            Total::Organisations(q) => domain(move || organisations::count(&db, &q)),
            Total::Pcns(q) => domain(move || groups::count_pcns(&db, &q)),
            Total::Federations(q) => domain(move || groups::count_federations(&db, &q)),
            Total::Icts(q) => domain(move || groups::count_icts(&db, &q)),
            Total::Roles(q) => domain(move || catalogue::count_roles(&db, &q)),
            Total::Programmes(q) => domain(move || catalogue::count_programmes(&db, &q)),
            Total::Placements(q) => domain(move || placement_queries::count(&db, actor.as_ref(), &q)),
            Total::PlacementsOf(key) => {
                let loader = ctx.data::<RequestLoader>()?;
                Ok(loader.load_one(PlacementCountOf(key)).await?.unwrap_or(0))
            }
        }
    }
}

/// An edge's cursor, encoded only if the query asks for it.
pub struct EdgeCursor(RowCursor);

impl CursorType for EdgeCursor {
    type Error = pcr_schema::DomainError;

    fn decode_cursor(s: &str) -> std::result::Result<Self, Self::Error> {
        let Cursor { sort, value, id } = Cursor::decode_any(s)?;
        Ok(EdgeCursor(RowCursor { sort, value: SortValue::Text(value), id }))
    }

    fn encode_cursor(&self) -> String {
        self.0.encode()
    }
}

pub type Conn<N> = Connection<EdgeCursor, N, Totals, EmptyFields>;

/// Turns a domain page into a connection, reversing it back when read backwards.
pub fn connection<T, N: OutputType>(page: Page<T>, how: &Resolved, total: Total, node: impl Fn(T) -> N) -> Conn<N> {
    let more = page.next_cursor.is_some();
    let had_cursor = how.cursor.is_some();
    let (has_previous, has_next) = if how.backward { (more, had_cursor) } else { (had_cursor, more) };
    let mut conn = Connection::with_additional_fields(has_previous, has_next, Totals(total));
    let mut edges: Vec<Edge<EdgeCursor, N, EmptyFields>> = page
        .items
        .into_iter()
        .zip(page.cursors)
        .map(|(item, cursor)| Edge::new(EdgeCursor(cursor), node(item)))
        .collect();
    if how.backward {
        edges.reverse();
    }
    conn.edges = edges;
    conn
}
