//! Handlers every resource shares (get, create, replace, patch, delete), generic over the
//! domain's `Entity`; `entity_handlers!` gives each resource documented wrappers. Each
//! checks the caller first, then the query string, the preconditions and the body.

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::audit::Action;
use pcr_schema::domain::crud::{self, Entity};
use pcr_schema::Db;

use super::params::{parse, NoParams};
use super::{blocking, body, conditional, idempotency};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::http::negotiate::{negotiate, Format};

pub async fn get_one<E>(req: HttpRequest, caller: Caller, db: web::Data<Db>, key: String) -> ApiResult<HttpResponse>
where
    E: Entity + Send + 'static,
{
    crud::reader::<E>(caller.actor())?;
    parse::<NoParams>(req.query_string())?;
    negotiate(&req, Format::ONE)?;
    let db = db.get_ref().clone();
    let rec: E = blocking(move || crud::get::<E>(&db, caller.actor(), &key)).await?;
    Ok(conditional::one(&req, rec.version(), rec.id(), &rec.view()))
}

/// What every write checks first: the caller (401, 403), then that the query is empty (400).
fn writer<E: Entity>(req: &HttpRequest, caller: &Caller) -> ApiResult<()> {
    crud::writer::<E>(caller.actor())?;
    parse::<NoParams>(req.query_string())?;
    Ok(())
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
    writer::<E>(&req, &caller)?;
    let input: E::Input = body::json(&req, &bytes)?;
    let db = db.get_ref().clone();
    let collection = req.path().trim_end_matches('/').to_string();
    let actor = caller.clone();
    idempotency::once(&req, &caller, &bytes, move |claim| async move {
        blocking(move || {
            let (_, answer) = crud::create_then::<E, _>(&db, actor.actor(), input, |c, rec| {
                let location = format!("{collection}/{}", rec.id());
                let answer = conditional::created(rec.version(), rec.id(), &location, &rec.view());
                claim.map(|claim| pcr_schema::domain::idempotency::complete(c, &claim, &answer)).transpose()?;
                Ok(answer)
            })?;
            Ok(answer)
        })
        .await
    })
    .await
}

/// PUT and PATCH: `read` takes the change from the body.
pub async fn update_one<E>(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: String,
    bytes: web::Bytes,
    read: body::ChangeReader<E::Input>,
) -> ApiResult<HttpResponse>
where
    E: Entity + Send + 'static,
    E::Input: Send,
{
    writer::<E>(&req, &caller)?;
    let expected = conditional::if_match(&req)?;
    let change = read(&req, &bytes)?;
    let db = db.get_ref().clone();
    let rec: E =
        blocking(move || crud::update::<E>(&db, caller.actor(), &key, expected, change, Action::Update)).await?;
    Ok(idempotency::into_response(&conditional::written(rec.version(), rec.id(), &rec.view())))
}

pub async fn delete_one<E>(req: HttpRequest, caller: Caller, db: web::Data<Db>, key: String) -> ApiResult<HttpResponse>
where
    E: Entity + Send + 'static,
{
    writer::<E>(&req, &caller)?;
    let expected = conditional::if_match(&req)?;
    let db = db.get_ref().clone();
    blocking(move || crud::delete::<E>(&db, caller.actor(), &key, expected)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Documented per-resource wrappers around the generic handlers: operation ids
/// (`getPractice`, `createPractice`, `replacePractice`, `updatePractice`, `deletePractice`),
/// summaries, scopes, the shared problem responses, a request example, and the resource's
/// merge-patch schema (`PracticePatch`). `delete` is optional because placements are ended,
/// never deleted; `read_scope` is for records that are not public.
#[macro_export]
macro_rules! entity_handlers {
    (
        entity = $E:ty, view = $V:ty, input = $I:ty, name = $name:literal, noun = $noun:literal,
        tag = $tag:literal, collection = $coll:literal, item = $item:literal, key = $keydoc:literal,
        write_scope = $scope:literal, example = $example:path, patch_example = $patch_example:path
        $(, read_scope = $read:literal)? $(, delete = $del:ident)?
    ) => {
        /// The merge-patch body of this resource, for the OpenAPI document.
        pub struct Patch;
        impl utoipa::PartialSchema for Patch {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::merge_patch_schema(<$I as utoipa::PartialSchema>::schema(), $noun).into()
            }
        }
        impl utoipa::ToSchema for Patch {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(concat!($name, "Patch"))
            }
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                <$I as utoipa::ToSchema>::schemas(schemas);
            }
        }

        #[utoipa::path(get, path = $item, tag = $tag, operation_id = concat!("get", $name),
            summary = concat!("Get ", $noun),
            description = "Reads one record by its key. The `ETag` is its version; send it back in `If-None-Match` to get 304 while it is unchanged, or in `If-Match` to change it.",
            params(("key" = String, Path, description = $keydoc)),
            $(security(("bearer" = [$read])),)?
            responses(
                (status = 200, description = "The record", body = $V,
                    headers(("ETag" = String, description = "The record's version and id, e.g. \"3.6f1c2e4a-…\""))),
                (status = 304, description = "Not modified: the `If-None-Match` tag is current"),
                $crate::openapi::BadRequest, $crate::openapi::Unauthorized, $crate::openapi::Forbidden,
                $crate::openapi::NotFound, $crate::openapi::NotAcceptable, $crate::openapi::Unprocessable,
            ))]
        pub async fn get(req: actix_web::HttpRequest, caller: $crate::auth::Caller, db: actix_web::web::Data<pcr_schema::Db>, key: actix_web::web::Path<String>) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::rest::crud::get_one::<$E>(req, caller, db, key.into_inner()).await
        }

        #[utoipa::path(post, path = $coll, tag = $tag, operation_id = concat!("create", $name),
            summary = concat!("Create ", $noun),
            description = concat!("Creates a record and answers with it, its `ETag` and its `Location`. Needs the `", $scope, "` scope. Every invalid field is reported at once. Send an `Idempotency-Key` to make retries safe."),
            request_body(content = $I, example = $example),
            security(("bearer" = [$scope])),
            params($crate::openapi::IdempotencyKey),
            responses(
                (status = 201, description = "Created", body = $V,
                    headers(("ETag" = String, description = "The record's version and id"), ("Location" = String, description = "Where to read it"))),
                $crate::openapi::BadRequest, $crate::openapi::Unauthorized, $crate::openapi::Forbidden,
                $crate::openapi::Conflict, $crate::openapi::PayloadTooLarge, $crate::openapi::UnsupportedMediaType,
                $crate::openapi::Unprocessable,
            ))]
        pub async fn create(req: actix_web::HttpRequest, caller: $crate::auth::Caller, db: actix_web::web::Data<pcr_schema::Db>, body: actix_web::web::Bytes) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::rest::crud::create_one::<$E>(req, caller, db, body).await
        }

        $crate::change_handler!(put, put, "replace", "Replace ", "Replaced", $crate::rest::body::replacement,
            concat!("Replaces every writable field (absent optional fields are cleared). Needs `If-Match` with the `ETag` last read and the `", $scope, "` scope."),
            request_body(content = $I, example = $example),
            $E, $V, $name, $noun, $tag, $item, $keydoc, $scope);
        $crate::change_handler!(patch, patch, "update", "Change some fields of ", "Changed", $crate::rest::body::patch,
            concat!("Applies a JSON merge patch (RFC 7396): fields present change, `null` removes an optional field, fields left out stay. Needs `If-Match` with the `ETag` last read and the `", $scope, "` scope."),
            request_body(content(
                (Patch = "application/merge-patch+json", example = $patch_example),
                (Patch = "application/json", example = $patch_example),
            )),
            $E, $V, $name, $noun, $tag, $item, $keydoc, $scope);

        $(
        #[utoipa::path(delete, path = $item, tag = $tag, operation_id = concat!("delete", $name),
            summary = concat!("Delete ", $noun),
            description = concat!("Deletes a record; the change feed reports the deletion. A record others refer to cannot be deleted (409). Needs `If-Match` with the `ETag` last read and the `", $scope, "` scope."),
            security(("bearer" = [$scope])),
            params(("key" = String, Path, description = $keydoc), $crate::openapi::IfMatch),
            responses(
                (status = 204, description = "Deleted"),
                $crate::openapi::BadRequest, $crate::openapi::Unauthorized, $crate::openapi::Forbidden,
                $crate::openapi::NotFound, $crate::openapi::Conflict, $crate::openapi::PreconditionFailed,
                $crate::openapi::Unprocessable, $crate::openapi::PreconditionRequired,
            ))]
        pub async fn $del(req: actix_web::HttpRequest, caller: $crate::auth::Caller, db: actix_web::web::Data<pcr_schema::Db>, key: actix_web::web::Path<String>) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::rest::crud::delete_one::<$E>(req, caller, db, key.into_inner()).await
        }
        )?
    };
}

/// PUT and PATCH of [`entity_handlers!`]: one shape, told apart by how the body is read.
#[macro_export]
macro_rules! change_handler {
    ($fn:ident, $method:ident, $verb:literal, $summary:literal, $done:literal, $read:path, $description:expr,
     $body:meta, $E:ty, $V:ty, $name:literal, $noun:literal, $tag:literal, $item:literal, $keydoc:literal, $scope:literal) => {
        #[utoipa::path($method, path = $item, tag = $tag, operation_id = concat!($verb, $name),
            summary = concat!($summary, $noun),
            description = $description,
            $body,
            security(("bearer" = [$scope])),
            params(("key" = String, Path, description = $keydoc), $crate::openapi::IfMatch),
            responses(
                (status = 200, description = $done, body = $V, headers(("ETag" = String, description = "The new version and id"))),
                $crate::openapi::ChangeProblems,
            ))]
        pub async fn $fn(req: actix_web::HttpRequest, caller: $crate::auth::Caller, db: actix_web::web::Data<pcr_schema::Db>, key: actix_web::web::Path<String>, body: actix_web::web::Bytes) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            $crate::rest::crud::update_one::<$E>(req, caller, db, key.into_inner(), body, $read).await
        }
    };
}
