//! "Top N per group" for nested pages: wraps a query that selects a `ROW_NUMBER() … AS rn`
//! column and keeps the first rows of every partition, in one statement on both backends.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

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
