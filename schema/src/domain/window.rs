//! Query fragments Diesel's DSL has no words for, for nested pages in one statement on both
//! backends: "top N per group" over a query that selects a `ROW_NUMBER() … AS rn` (with the
//! rows' roles joined on, or counted per group), a group's members joined with their first
//! placements, and column lists rendered once. Each renders only fixed identifiers and binds,
//! so its statements stay prepared.

use diesel::backend::Backend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

/// `ROW_NUMBER() OVER (PARTITION BY … ORDER BY … , id …) AS rn` over columns named from a
/// fixed set. Unlike a raw `sql` literal it leaves the statement safe to keep prepared, so
/// PostgreSQL parses and plans each variant once per connection rather than every time.
#[derive(Debug, Clone, Copy)]
pub struct RowNumber {
    pub partition: &'static str,
    pub order: &'static str,
    pub descending: bool,
}

impl Expression for RowNumber {
    type SqlType = BigInt;
}

impl<QS> AppearsOnTable<QS> for RowNumber {}
impl<QS> SelectableExpression<QS> for RowNumber {}

impl ValidGrouping<()> for RowNumber {
    type IsAggregate = is_aggregate::Never;
}

impl<DB: Backend> QueryFragment<DB> for RowNumber {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("ROW_NUMBER() OVER (PARTITION BY ");
        out.push_identifier(self.partition)?;
        out.push_sql(" ORDER BY ");
        order_then_id(&mut out, "", self.order, self.descending)?;
        out.push_sql(") AS rn");
        Ok(())
    }
}

// The statement text depends on the values, so the type alone cannot name it.
impl QueryId for RowNumber {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// `column DIR, id DIR`, each column after `prefix` (a relation's alias and a dot, or nothing).
fn order_then_id<DB: Backend>(
    out: &mut AstPass<'_, '_, DB>,
    prefix: &str,
    column: &str,
    descending: bool,
) -> QueryResult<()> {
    let dir = if descending { " DESC" } else { " ASC" };
    out.push_sql(prefix);
    out.push_identifier(column)?;
    out.push_sql(dir);
    out.push_sql(", ");
    out.push_sql(prefix);
    out.push_identifier("id")?;
    out.push_sql(dir);
    Ok(())
}

/// `<join> "roles" ON "roles"."code" = ranked."role_code"`: the role of each ranked placement.
fn join_roles<DB: Backend>(out: &mut AstPass<'_, '_, DB>, join: &str) -> QueryResult<()> {
    out.push_sql(join);
    out.push_identifier("roles")?;
    out.push_sql(" ON ");
    out.push_identifier("roles")?;
    out.push_sql(".");
    out.push_identifier("code")?;
    out.push_sql(" = ranked.");
    out.push_identifier("role_code")?;
    Ok(())
}

/// A column of a fixed set selected as `k`, the grouping key of [`count_per_group`].
#[derive(Debug, Clone, Copy)]
pub struct GroupKey(pub &'static str);

impl Expression for GroupKey {
    type SqlType = Nullable<Text>;
}

impl<QS> AppearsOnTable<QS> for GroupKey {}
impl<QS> SelectableExpression<QS> for GroupKey {}

impl ValidGrouping<()> for GroupKey {
    type IsAggregate = is_aggregate::Never;
}

impl<DB: Backend> QueryFragment<DB> for GroupKey {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_identifier(self.0)?;
        out.push_sql(" AS k");
        Ok(())
    }
}

impl QueryId for GroupKey {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// The first rows of every partition of a query that selects a `ROW_NUMBER() … AS rn`.
#[derive(Debug, Clone)]
pub struct TopPerGroup<Q> {
    inner: Q,
    limit: i64,
}

/// Keeps the rows of `inner` whose `rn` column is at most `limit`.
pub fn top_per_group<Q>(inner: Q, limit: i64) -> TopPerGroup<Q> {
    TopPerGroup { inner, limit }
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for TopPerGroup<Q>
where
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT * FROM (");
        self.inner.walk_ast(out.reborrow())?;
        out.push_sql(") AS ranked WHERE ranked.rn <= ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        Ok(())
    }
}

impl<Q> QueryId for TopPerGroup<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for TopPerGroup<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for TopPerGroup<Q> {}

/// Counts the rows of `inner` (which selects one column aliased `k`) per value of `k`.
#[derive(Debug, Clone)]
pub struct CountPerGroup<Q> {
    inner: Q,
}

pub fn count_per_group<Q>(inner: Q) -> CountPerGroup<Q> {
    CountPerGroup { inner }
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for CountPerGroup<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT grouped.k, COUNT(*) FROM (");
        self.inner.walk_ast(out.reborrow())?;
        out.push_sql(") AS grouped GROUP BY grouped.k");
        Ok(())
    }
}

impl<Q> QueryId for CountPerGroup<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for CountPerGroup<Q> {
    type SqlType = (Nullable<Text>, BigInt);
}

impl<Q, Conn> RunQueryDsl<Conn> for CountPerGroup<Q> {}

/// [`TopPerGroup`] with each placement's role joined on: the first rows of every partition
/// of a placements query (which selects all placement columns and `rn`), each followed by
/// the columns of its role. Saves a statement when the caller wants the roles as well.
#[derive(Debug, Clone)]
pub struct TopPerGroupWithRoles<Q> {
    inner: Q,
    limit: i64,
}

pub fn top_per_group_with_roles<Q>(inner: Q, limit: i64) -> TopPerGroupWithRoles<Q> {
    TopPerGroupWithRoles { inner, limit }
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for TopPerGroupWithRoles<Q>
where
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT ranked.*, ");
        out.push_sql(<crate::tables::roles::table as RenderedColumns>::rendered());
        out.push_sql(" FROM (");
        self.inner.walk_ast(out.reborrow())?;
        out.push_sql(") AS ranked");
        join_roles(&mut out, " INNER JOIN ")?;
        out.push_sql(" WHERE ranked.rn <= ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        Ok(())
    }
}

impl<Q> QueryId for TopPerGroupWithRoles<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for TopPerGroupWithRoles<Q> {
    type SqlType = (Q::SqlType, crate::tables::roles::SqlType);
}

impl<Q, Conn> RunQueryDsl<Conn> for TopPerGroupWithRoles<Q> {}

/// A group's member practices, each followed by the first rows of its ranked placements and
/// their roles, in one statement. `members` selects every practice column and the group's
/// code; `ranked` selects every placement column and `rn`, ranked per host.
/// One row per placement kept, or one with nulls for a practice with none, in the members'
/// order (`order`, then id); the placements of a member come in no particular order (their
/// rank says), which spares PostgreSQL a sort.
#[derive(Debug, Clone)]
pub struct MembersWithPlacements<M, R> {
    pub members: M,
    pub ranked: R,
    pub limit: i64,
    pub order: &'static str,
    pub descending: bool,
}

impl<M, R, DB> QueryFragment<DB> for MembersWithPlacements<M, R>
where
    DB: Backend,
    M: QueryFragment<DB>,
    R: QueryFragment<DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT members.*, ranked.*, ");
        out.push_sql(<crate::tables::roles::table as RenderedColumns>::rendered());
        out.push_sql(" FROM (");
        self.members.walk_ast(out.reborrow())?;
        out.push_sql(") AS members LEFT JOIN (");
        self.ranked.walk_ast(out.reborrow())?;
        out.push_sql(") AS ranked ON ranked.");
        out.push_identifier("host_code")?;
        out.push_sql(" = members.");
        out.push_identifier("ods_code")?;
        out.push_sql(" AND ranked.rn <= ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        join_roles(&mut out, " LEFT JOIN ")?;
        out.push_sql(" ORDER BY ");
        order_then_id(&mut out, "members.", self.order, self.descending)
    }
}

impl<M, R> QueryId for MembersWithPlacements<M, R> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<M: Query, R> Query for MembersWithPlacements<M, R> {
    type SqlType = (
        M::SqlType,
        Nullable<crate::tables::placements::SqlType>,
        Nullable<BigInt>,
        Nullable<crate::tables::roles::SqlType>,
    );
}

impl<M, R, Conn> RunQueryDsl<Conn> for MembersWithPlacements<M, R> {}

/// Every column of a table, rendered once: `"t"."a", "t"."b", …`. Diesel quotes each
/// identifier afresh (with an allocation) every time it renders a statement, and the
/// multi-backend connection renders a statement several times per run; a wide select list
/// made that a tenth of the server's work for a nested query.
pub struct AllColumns<T>(std::marker::PhantomData<T>);

impl<T> AllColumns<T> {
    pub const fn of() -> Self {
        AllColumns(std::marker::PhantomData)
    }
}

impl<T> Clone for AllColumns<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for AllColumns<T> {}

impl<T> std::fmt::Debug for AllColumns<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AllColumns")
    }
}

/// A table whose column list [`AllColumns`] can render.
pub trait RenderedColumns: diesel::Table {
    fn rendered() -> &'static str;
}

macro_rules! rendered_columns {
    ($($table:ident),*) => {$(
        impl RenderedColumns for crate::tables::$table::table {
            fn rendered() -> &'static str {
                static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                SQL.get_or_init(|| {
                    // PostgreSQL and SQLite quote identifiers alike.
                    let mut qb = diesel::pg::PgQueryBuilder::default();
                    match crate::tables::$table::all_columns.to_sql(&mut qb, &diesel::pg::Pg) {
                        Ok(()) => diesel::query_builder::QueryBuilder::finish(qb),
                        Err(_) => String::new(),
                    }
                })
            }
        }
    )*};
}

rendered_columns!(practices, placements, roles);

impl<T: diesel::Table> Expression for AllColumns<T>
where
    T::AllColumns: Expression,
{
    type SqlType = <T::AllColumns as Expression>::SqlType;
}

impl<T: diesel::Table, QS> AppearsOnTable<QS> for AllColumns<T> where T::AllColumns: AppearsOnTable<QS> {}
impl<T: diesel::Table, QS> SelectableExpression<QS> for AllColumns<T> where T::AllColumns: SelectableExpression<QS> {}

impl<T> ValidGrouping<()> for AllColumns<T> {
    type IsAggregate = is_aggregate::Never;
}

impl<T: RenderedColumns, DB: Backend> QueryFragment<DB> for AllColumns<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(T::rendered());
        Ok(())
    }
}

impl<T: 'static> QueryId for AllColumns<T> {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}
