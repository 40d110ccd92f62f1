//! Demo data for the embedded default: the real 2019 ODS extract plus synthetic groupings
//! and placements (marked `demo`).

use crate::db::Db;
use crate::error::DomainResult;

/// Loads the demo when the database holds no practices; returns a summary, or `None`
/// when there was data already.
pub fn load_if_empty(_db: &Db) -> DomainResult<Option<String>> {
    Ok(None)
}
