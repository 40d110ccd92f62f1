//! REST API under `/api/v1`: one module per resource, shared plumbing here.

pub mod audit;
pub mod batch;
pub mod body;
pub mod catalogue;
pub mod changes;
pub mod conditional;
pub mod crud;
pub mod examples;
pub mod groups;
pub mod idempotency;
pub mod list;
pub mod memberships;
pub mod organisations;
pub mod params;
pub mod placements;
pub mod practices;

use actix_web::web;
use pcr_schema::DomainResult;

use crate::error::ApiResult;

/// Runs blocking database work on the blocking pool, never on the async executor.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> DomainResult<T> + Send + 'static) -> ApiResult<T> {
    Ok(web::block(f).await??)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .configure(practices::routes)
            .configure(audit::routes)
            .configure(organisations::routes)
            .configure(groups::routes)
            .configure(memberships::routes)
            .configure(catalogue::routes)
            .configure(placements::routes)
            .configure(changes::routes),
    );
}
