//! Handlers every resource shares (get, create, replace, patch, delete), generic over the
//! domain's `Entity`; `entity_handlers!` gives each resource documented wrappers.

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::crud::{self, Entity};
use pcr_schema::Db;

use super::{blocking, body, conditional};
use crate::auth::Caller;
use crate::error::ApiResult;

pub async fn get_one<E>(req: HttpRequest, caller: Caller, db: web::Data<Db>, key: String) -> ApiResult<HttpResponse>
where
    E: Entity + Send + 'static,
{
    let db = db.get_ref().clone();
    let rec: E = blocking(move || crud::get::<E>(&db, caller.actor(), &key)).await?;
    Ok(conditional::one(&req, rec.version(), &rec.view()))
}

pub async fn create_one<E>(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    bytes: web::Bytes,
) -> ApiResult<HttpResponse>
where
    E: Entity + Send + 'static,
    E::Input: Send,
{
    let input: E::Input = body::json(&req, &bytes)?;
    let db = db.get_ref().clone();
    let rec: E = blocking(move || crud::create::<E>(&db, caller.actor(), input)).await?;
    let location = format!("{}/{}", req.path().trim_end_matches('/'), rec.id());
    Ok(conditional::created(&req, rec.version(), &location, &rec.view()))
}

pub async fn put_one<E>(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: String,
    bytes: web::Bytes,
) -> ApiResult<HttpResponse>
where
    E: Entity + Send + 'static,
    E::Input: Send,
{
    let version = conditional::if_match(&req)?;
    let input: E::Input = body::json(&req, &bytes)?;
    let db = db.get_ref().clone();
    let rec: E = blocking(move || crud::update::<E>(&db, caller.actor(), &key, version, input)).await?;
    Ok(conditional::written(&req, rec.version(), &rec.view()))
}

pub async fn patch_one<E>(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: String,
    bytes: web::Bytes,
) -> ApiResult<HttpResponse>
where
    E: Entity + Send + 'static,
{
    let version = conditional::if_match(&req)?;
    let patch = body::merge_patch(&req, &bytes)?;
    let db = db.get_ref().clone();
    let rec: E = blocking(move || crud::patch::<E>(&db, caller.actor(), &key, version, patch)).await?;
    Ok(conditional::written(&req, rec.version(), &rec.view()))
}

pub async fn delete_one<E>(req: HttpRequest, caller: Caller, db: web::Data<Db>, key: String) -> ApiResult<HttpResponse>
where
    E: Entity + Send + 'static,
{
    let version = conditional::if_match(&req)?;
    let db = db.get_ref().clone();
    blocking(move || crud::delete::<E>(&db, caller.actor(), &key, version)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Documented per-resource wrappers around the generic handlers. `delete` is optional
/// because placements are ended, never deleted.
#[macro_export]
macro_rules! entity_handlers {
    (
        entity = $E:ty, view = $V:ty, input = $I:ty, tag = $tag:literal,
        collection = $coll:literal, item = $item:literal, key = $keydoc:literal,
        write_scope = $scope:literal $(, delete = $del:ident)?
    ) => {
        /// Reads one record; `If-None-Match` with its ETag gives 304.
        #[utoipa::path(get, path = $item, tag = $tag,
            params(("key" = String, Path, description = $keydoc)),
            responses(
                (status = 200, body = $V, headers(("ETag" = String, description = "The record's version"))),
                (status = 304, description = "Not modified"),
                (status = 404, body = $crate::error::Problem, content_type = "application/problem+json"),
            ))]
        pub async fn get(req: actix_web::HttpRequest, caller: $crate::auth::Caller, db: actix_web::web::Data<pcr_schema::Db>, key: actix_web::web::Path<String>) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::rest::crud::get_one::<$E>(req, caller, db, key.into_inner()).await
        }

        #[doc = concat!("Creates a record. Needs the `", $scope, "` scope.")]
        #[utoipa::path(post, path = $coll, tag = $tag, request_body = $I,
            security(("bearer" = [])),
            responses(
                (status = 201, body = $V, headers(("ETag" = String), ("Location" = String))),
                (status = 400, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 401, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 403, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 409, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 413, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 415, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 422, body = $crate::error::Problem, content_type = "application/problem+json"),
            ))]
        pub async fn create(req: actix_web::HttpRequest, caller: $crate::auth::Caller, db: actix_web::web::Data<pcr_schema::Db>, body: actix_web::web::Bytes) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::rest::crud::create_one::<$E>(req, caller, db, body).await
        }

        #[doc = concat!("Replaces a record's writable fields. Needs `If-Match` and the `", $scope, "` scope.")]
        #[utoipa::path(put, path = $item, tag = $tag, request_body = $I,
            security(("bearer" = [])),
            params(("key" = String, Path, description = $keydoc),
                   ("If-Match" = String, Header, description = "The ETag last read, e.g. \"3\"")),
            responses(
                (status = 200, body = $V, headers(("ETag" = String))),
                (status = 400, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 401, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 403, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 404, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 412, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 415, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 422, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 428, body = $crate::error::Problem, content_type = "application/problem+json"),
            ))]
        pub async fn put(req: actix_web::HttpRequest, caller: $crate::auth::Caller, db: actix_web::web::Data<pcr_schema::Db>, key: actix_web::web::Path<String>, body: actix_web::web::Bytes) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::rest::crud::put_one::<$E>(req, caller, db, key.into_inner(), body).await
        }

        #[doc = concat!("Changes some fields (JSON merge patch, RFC 7396; `null` clears). Needs `If-Match` and the `", $scope, "` scope.")]
        #[utoipa::path(patch, path = $item, tag = $tag,
            request_body(content = serde_json::Value, content_type = "application/merge-patch+json", description = "Fields to change"),
            security(("bearer" = [])),
            params(("key" = String, Path, description = $keydoc),
                   ("If-Match" = String, Header, description = "The ETag last read, e.g. \"3\"")),
            responses(
                (status = 200, body = $V, headers(("ETag" = String))),
                (status = 400, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 401, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 403, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 404, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 412, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 415, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 422, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 428, body = $crate::error::Problem, content_type = "application/problem+json"),
            ))]
        pub async fn patch(req: actix_web::HttpRequest, caller: $crate::auth::Caller, db: actix_web::web::Data<pcr_schema::Db>, key: actix_web::web::Path<String>, body: actix_web::web::Bytes) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::rest::crud::patch_one::<$E>(req, caller, db, key.into_inner(), body).await
        }

        $(
        #[doc = concat!("Deletes a record. Needs `If-Match` and the `", $scope, "` scope; a record others refer to cannot be deleted (409).")]
        #[utoipa::path(delete, path = $item, tag = $tag,
            security(("bearer" = [])),
            params(("key" = String, Path, description = $keydoc),
                   ("If-Match" = String, Header, description = "The ETag last read, e.g. \"3\"")),
            responses(
                (status = 204, description = "Deleted"),
                (status = 401, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 403, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 404, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 409, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 412, body = $crate::error::Problem, content_type = "application/problem+json"),
                (status = 428, body = $crate::error::Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $del(req: actix_web::HttpRequest, caller: $crate::auth::Caller, db: actix_web::web::Data<pcr_schema::Db>, key: actix_web::web::Path<String>) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::rest::crud::delete_one::<$E>(req, caller, db, key.into_inner()).await
        }
        )?
    };
}
