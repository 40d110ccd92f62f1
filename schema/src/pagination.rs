//! Keyset pagination: an opaque cursor holding the last row's sort value and id.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use crate::error::{DomainError, FieldError};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The `limit` parameter's schema: what [`ListWindow::parse`] accepts.
pub fn limit_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(MAX_LIMIT))
        .default(Some(DEFAULT_LIMIT.into()))
        .description(Some(format!("Page size, 1–{MAX_LIMIT} (default {DEFAULT_LIMIT})")))
        .build()
}

/// The `sort` parameter's schema for a list whose sort keys are `keys` (the first is the
/// default): each key, and each with `-` in front for descending.
pub fn sort_schema(keys: &[&str]) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let values: Vec<String> = keys.iter().map(|k| k.to_string()).chain(keys.iter().map(|k| format!("-{k}"))).collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .default(Some(keys[0].into()))
        .description(Some(format!("Sort key, `-` in front for descending (default `{}`)", keys[0])))
        .build()
}

/// A list's query: its own filters, as written, then the paging every list takes (`limit`,
/// `after`, and `sort` over the list's sort keys, the first being the default). With
/// `sorts = NAME = [..]` it declares the keys and their schema; with `sorts = NAME` it reuses
/// keys another list declared.
#[macro_export]
macro_rules! list_query {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }
        $(sorts = $sorts:ident = [$($key:literal),+],)? schema = $schema:ident, doc = $doc:literal
    ) => {
        // Every list's query string: parsed by serde, documented as query parameters.
        #[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize, utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        $(#[$meta])*
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Page size, 1–200 (default 50).
            #[param(schema_with = $crate::pagination::limit_schema)]
            pub limit: Option<i64>,
            /// The `next` cursor of the previous page.
            pub after: Option<String>,
            #[doc = $doc]
            #[param(schema_with = $schema)]
            pub sort: Option<String>,
        }
        $(
            pub const $sorts: &[&str] = &[$($key),+];
            fn $schema() -> utoipa::openapi::schema::Object {
                $crate::pagination::sort_schema($sorts)
            }
        )?
    };
}

/// One page of a list and the cursor of the next, if there is more.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor after the last item, when another page follows.
    pub next_cursor: Option<String>,
    /// Each item's own cursor (for Relay edges), encoded only when asked for.
    #[serde(skip)]
    pub cursors: Vec<RowCursor>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor, cursors: self.cursors }
    }
}

/// A position after which a page starts: the sort key's value (as text) and the row id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort: String,
    pub value: String,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        // A tuple serialises as the same JSON array `decode` reads, without building a Value.
        let json = serde_json::to_vec(&(&self.sort, &self.value, &self.id)).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor, whatever sort order it was made for.
    pub fn decode_any(s: &str) -> Result<Cursor, DomainError> {
        let bad = || DomainError::Invalid(vec![FieldError::new("after", "is not a cursor this API issued")]);
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
        let (sort, value, id): (String, String, String) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Ok(Cursor { sort, value, id })
    }

    /// Decodes a cursor and checks it was made for the same sort order.
    pub fn decode(s: &str, sort: &str) -> Result<Cursor, DomainError> {
        let Cursor { sort: s0, value, id } = Cursor::decode_any(s)?;
        if s0 != sort {
            return Err(DomainError::Invalid(vec![FieldError::new(
                "after",
                "the cursor was issued for another sort order",
            )]));
        }
        Ok(Cursor { sort: s0, value, id })
    }
}

/// A row's value of the sort key, kept as read and written out only when its cursor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Text(String),
    Timestamp(chrono::NaiveDateTime),
    Date(chrono::NaiveDate),
}

impl SortValue {
    fn text(&self) -> String {
        match self {
            SortValue::Text(s) => s.clone(),
            SortValue::Timestamp(t) => fmt_timestamp(t),
            SortValue::Date(d) => d.format("%Y-%m-%d").to_string(),
        }
    }
}

/// The cursor of a row on a page, encoded when asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCursor {
    pub sort: String,
    pub value: SortValue,
    pub id: String,
}

impl RowCursor {
    pub fn encode(&self) -> String {
        Cursor { sort: self.sort.clone(), value: self.value.text(), id: self.id.clone() }.encode()
    }
}

/// Validated list window: how many rows, after which cursor, in which order.
#[derive(Debug, Clone)]
pub struct ListWindow {
    pub limit: i64,
    pub after: Option<Cursor>,
    /// Sort key name without the direction sign, e.g. `name`.
    pub sort: String,
    pub descending: bool,
}

impl ListWindow {
    /// `sort` is a key name, `-` in front for descending; `allowed` lists the key names.
    pub fn parse(
        limit: Option<i64>,
        after: Option<&str>,
        sort: Option<&str>,
        allowed: &[&str],
    ) -> Result<ListWindow, DomainError> {
        let mut errors = Vec::new();
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let raw = sort.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(allowed[0]);
        let (descending, key) = match raw.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, raw),
        };
        if !allowed.contains(&key) {
            errors
                .push(FieldError::new("sort", format!("must be one of {} (prefix - to reverse)", allowed.join(", "))));
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        let after = match after.filter(|s| !s.is_empty()) {
            Some(a) => Some(Cursor::decode(a, raw)?),
            None => None,
        };
        Ok(ListWindow { limit, after, sort: key.to_string(), descending })
    }

    /// The sort as the client wrote it, `-name` for descending.
    pub fn sort_token(&self) -> String {
        if self.descending {
            format!("-{}", self.sort)
        } else {
            self.sort.clone()
        }
    }

    /// Cuts the extra row fetched to learn whether another page exists.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> (SortValue, String)) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let sort = self.sort_token();
        let cursors: Vec<RowCursor> = rows
            .iter()
            .map(|r| {
                let (value, id) = key(r);
                RowCursor { sort: sort.clone(), value, id }
            })
            .collect();
        let next_cursor = if more { cursors.last().map(RowCursor::encode) } else { None };
        Page { items: rows, next_cursor, cursors }
    }
}

/// Applies the `after` condition of a window for one sort column (no order, no limit).
#[macro_export]
macro_rules! keyset_filter {
    ($query:expr, $window:expr, $col:expr, $id:expr, $parse:expr) => {{
        use diesel::prelude::*;
        let w: &$crate::pagination::ListWindow = $window;
        let mut q = $query;
        if let Some(c) = &w.after {
            let v = ($parse)(c.value.as_str())?;
            let id = c.id.clone();
            // `(col, id) > (v, i)`, a row-value comparison, rather than `col > v OR (col = v
            // AND id > i)`: the same rows, but an index on (col, id) seeks to the cursor. Under
            // a generic plan PostgreSQL answers the OR form by scanning from the index's
            // start (34 ms against 0.26 ms for a page 80,000 rows in), and a leading `col >= v`
            // alone still reads a long tie of equal values (every practice after one import
            // has the same `updatedAt`) from its first row at every page.
            q = q.filter($crate::pagination::row_compare($col, $id, v, id, w.descending));
        }
        q
    }};
}

/// `(a, b) > (x, y)`, or `<` when descending: a row-value comparison, which Diesel's DSL has
/// no words for. Both backends understand it (SQLite since 3.15); it renders only its parts
/// and a fixed operator, so its statements stay prepared.
#[derive(Debug, Clone, Copy)]
pub struct RowCompare<A, B, X, Y> {
    a: A,
    b: B,
    x: X,
    y: Y,
    descending: bool,
}

impl<A, B, X, Y> RowCompare<A, B, X, Y> {
    pub fn new(a: A, b: B, x: X, y: Y, descending: bool) -> Self {
        RowCompare { a, b, x, y, descending }
    }
}

impl<A, B, X, Y> diesel::expression::Expression for RowCompare<A, B, X, Y> {
    type SqlType = diesel::sql_types::Bool;
}

/// Diesel's marker traits of where an expression may stand hold of the comparison when they
/// hold of all four parts.
macro_rules! row_compare_as_its_parts {
    ($($marker:ident),+) => {$(
        impl<QS, A, B, X, Y> diesel::expression::$marker<QS> for RowCompare<A, B, X, Y>
        where
            A: diesel::expression::$marker<QS>,
            B: diesel::expression::$marker<QS>,
            X: diesel::expression::$marker<QS>,
            Y: diesel::expression::$marker<QS>,
        {
        }
    )+};
}

row_compare_as_its_parts!(AppearsOnTable, SelectableExpression);

impl<A, B, X, Y> diesel::expression::ValidGrouping<()> for RowCompare<A, B, X, Y> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<DB, A, B, X, Y> diesel::query_builder::QueryFragment<DB> for RowCompare<A, B, X, Y>
where
    DB: diesel::backend::Backend,
    A: diesel::query_builder::QueryFragment<DB>,
    B: diesel::query_builder::QueryFragment<DB>,
    X: diesel::query_builder::QueryFragment<DB>,
    Y: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, DB>) -> diesel::QueryResult<()> {
        out.push_sql("((");
        self.a.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.b.walk_ast(out.reborrow())?;
        out.push_sql(if self.descending { ") < (" } else { ") > (" });
        self.x.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.y.walk_ast(out.reborrow())?;
        out.push_sql("))");
        Ok(())
    }
}

/// `(col, id) > (value, id_value)` (`<` when descending), the values bound as their columns'.
pub fn row_compare<C, I, V>(
    col: C,
    id: I,
    value: V,
    id_value: String,
    descending: bool,
) -> RowCompare<C, I, diesel::dsl::AsExprOf<V, C::SqlType>, diesel::dsl::AsExprOf<String, diesel::sql_types::Text>>
where
    C: diesel::expression::Expression,
    V: diesel::expression::AsExpression<C::SqlType>,
    C::SqlType: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
{
    RowCompare::new(
        col,
        id,
        diesel::expression::AsExpression::<C::SqlType>::as_expression(value),
        diesel::expression::AsExpression::<diesel::sql_types::Text>::as_expression(id_value),
        descending,
    )
}

// The operator depends on a value, so the type alone cannot name the statement.
impl<A, B, X, Y> diesel::query_builder::QueryId for RowCompare<A, B, X, Y> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// Applies keyset order, the `after` condition and the page size (plus one, to learn
/// whether there is more) for one sort column to a boxed query.
#[macro_export]
macro_rules! keyset {
    ($query:expr, $window:expr, $col:expr, $id:expr, $parse:expr) => {{
        let w: &$crate::pagination::ListWindow = $window;
        let q = $crate::keyset_filter!($query, w, $col, $id, $parse);
        $crate::keyset_order!(q, w, $col, $id).limit(w.limit + 1)
    }};
}

/// Orders by one sort column and the id, in the window's direction.
#[macro_export]
macro_rules! keyset_order {
    ($query:expr, $window:expr, $col:expr, $id:expr) => {{
        use diesel::prelude::*;
        let w: &$crate::pagination::ListWindow = $window;
        if w.descending {
            $query.order(($col.desc(), $id.desc()))
        } else {
            $query.order(($col.asc(), $id.asc()))
        }
    }};
}

pub fn parse_text(s: &str) -> Result<String, DomainError> {
    Ok(s.to_string())
}

pub fn parse_timestamp(s: &str) -> Result<chrono::NaiveDateTime, DomainError> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|_| DomainError::invalid("after", "is not a cursor this API issued"))
}

pub fn parse_date(s: &str) -> Result<chrono::NaiveDate, DomainError> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("after", "is not a cursor this API issued"))
}

/// A timestamp as cursors carry it (what `%Y-%m-%dT%H:%M:%S%.6f` gives), written directly:
/// chrono's formatter parses its format string on every call.
pub fn fmt_timestamp(t: &chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() % 1_000_000_000 / 1_000
    )
}

#[cfg(test)]
#[path = "../tests/pagination.rs"]
mod tests;
