//! The OpenAPI 3.1 document, generated from the handlers' annotations, and the pieces the
//! annotations share: one problem response per error status, list responses in every
//! representation, and the rules every operation follows (see [`Contract`]).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use crate::rest::list::schemas::*;
use crate::rest::{catalogue, changes, groups, memberships, organisations, placements, practices};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Primary care roles API",
        description = "England's primary care workforce structure: GP practices, Primary Care Networks, GP federations, Integrated Care Teams, workforce roles, programmes and the placements of staff into those roles.\n\nReference data is public. Placements need a bearer token with `placements:read`; writes need `reference:write` or `placements:write`. Errors are RFC 9457 problem documents. Lists use cursor pagination: follow `next`; every list is also served whole as CSV or NDJSON by `Accept`. `GET /api/v1/changes` lists every committed write in order, for keeping a mirror.",
        contact(name = "Primary care roles API maintainers"),
        license(name = "MIT", identifier = "MIT"),
    ),
    servers((url = "/", description = "The server this document is served by")),
    paths(
        crate::health::healthz,
        crate::health::readyz,
        practices::list, practices::item::create, practices::item::get, practices::item::put, practices::item::patch, practices::item::delete,
        practices::pcns, practices::federations, practices::icts, practices::placements,
        organisations::list_organisations, organisations::get_organisation, organisations::affiliations,
        organisations::members, organisations::contains,
        groups::list_pcns, groups::pcn::create, groups::pcn::get, groups::pcn::put, groups::pcn::patch, groups::pcn::delete,
        groups::pcn_practices, groups::pcn_memberships, groups::pcn_placements,
        groups::list_federations, groups::federation::create, groups::federation::get, groups::federation::put, groups::federation::patch, groups::federation::delete,
        groups::federation_practices, groups::federation_memberships, groups::federation_placements,
        groups::list_icts, groups::ict::create, groups::ict::get, groups::ict::put, groups::ict::patch, groups::ict::delete,
        groups::ict_practices, groups::ict_memberships, groups::ict_partner_services, groups::ict_placements,
        memberships::federation_membership::create, memberships::federation_membership::get, memberships::federation_membership::put,
        memberships::federation_membership::patch, memberships::federation_membership::delete,
        memberships::pcn_membership::create, memberships::pcn_membership::get, memberships::pcn_membership::put,
        memberships::pcn_membership::patch, memberships::pcn_membership::delete,
        memberships::ict_membership::create, memberships::ict_membership::get, memberships::ict_membership::put,
        memberships::ict_membership::patch, memberships::ict_membership::delete,
        memberships::partner_service::create, memberships::partner_service::get, memberships::partner_service::put,
        memberships::partner_service::patch, memberships::partner_service::delete,
        catalogue::list_roles, catalogue::role::create, catalogue::role::get, catalogue::role::put, catalogue::role::patch, catalogue::role::delete,
        catalogue::role_placements,
        catalogue::list_programmes, catalogue::programme::create, catalogue::programme::get, catalogue::programme::put,
        catalogue::programme::patch, catalogue::programme::delete, catalogue::programme_placements,
        placements::list, crate::rest::batch::submit, crate::rest::audit::list, placements::item::create, placements::item::get, placements::item::put, placements::item::patch, placements::end,
        changes::list,
    ),
    components(schemas(
        OrganisationList, PcnList, AffiliationItems, MemberItems, PcnMembershipItems,
        PracticeList, FederationList, IntegratedCareTeamList, RoleList, ProgrammeList, PlacementList, ChangeList,
        crate::rest::list::schemas::AuditList, pcr_schema::audit::Outcome,
        PcnItems, FederationItems, IntegratedCareTeamItems, FederationMembershipItems, IctMembershipItems, PartnerServiceItems,
        crate::error::Problem,
    )),
    modifiers(&Contract),
    tags(
        (name = "practices", description = "GP practices, by id or ODS code"),
        (name = "organisations", description = "Organisations of every kind and their affiliations over time"),
        (name = "pcns", description = "Primary Care Networks, their member practices and the staff they employ"),
        (name = "federations", description = "GP federations and their member practices"),
        (name = "icts", description = "Integrated Care Teams, their practices and partner services"),
        (name = "memberships", description = "Practice membership of PCNs, federations and ICTs over time"),
        (name = "roles", description = "The workforce role catalogue"),
        (name = "programmes", description = "Programmes and schemes placements belong to"),
        (name = "placements", description = "Staff placed in roles at practices, PCNs, federations, ICTs and external hosts"),
        (name = "changes", description = "Every committed write in order, for keeping a mirror"),
        (name = "audit", description = "Who wrote what, and every refused write"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

/// The problem responses operations share, each once in `#/components/responses` and
/// referenced from every operation that can answer with it.
macro_rules! problems {
    ($($name:ident = $status:literal, $description:literal;)+) => {
        $(
            #[doc = $description]
            pub struct $name;
            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    BTreeMap::from([($status.to_string(), RefOr::Ref(Ref::from_response_name(stringify!($name))))])
                }
            }
        )+
        fn problem_components() -> Vec<(&'static str, Response)> {
            vec![$((stringify!($name), problem($description))),+]
        }
    };
}

problems! {
    BadRequest = "400", "Malformed: the body is not JSON or has bytes after it, or a query parameter is unknown, repeated or does not parse (each is named in `errors`).";
    Unauthorized = "401", "No bearer token, or one that is not valid.";
    Forbidden = "403", "The token does not carry the scope this needs.";
    NotFound = "404", "There is no such record.";
    NotAcceptable = "406", "None of the media types in `Accept` can be served.";
    Conflict = "409", "A record with the same key exists, or other records refer to this one.";
    PreconditionFailed = "412", "The record has changed since the ETag sent in `If-Match` was read; `currentVersion` says where it is now.";
    PayloadTooLarge = "413", "The body is larger than 256 KiB.";
    UnsupportedMediaType = "415", "The body is not `application/json`.";
    Unprocessable = "422", "The request is well formed but breaks a rule; `errors` names every field at fault.";
    PreconditionRequired = "428", "Writes to an existing record need `If-Match` with its ETag.";
    RequestTimeout = "408", "The request body did not arrive within `HTTP_BODY_TIMEOUT`; the connection is closed.";
    TooManyRequests = "429", "Over a rate limit (per client address or per token subject): retry after `Retry-After` seconds.";
    Unavailable = "503", "The database cannot be reached or did not answer in time, the service is busy, or the request passed its deadline (a write may or may not have been made: retry it with the same `Idempotency-Key`). Retry after `Retry-After` seconds.";
}

/// Paths the rate limits leave alone (see `rate_limits`).
const NOT_RATE_LIMITED: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// The `If-Match` header every change to an existing record needs.
#[derive(utoipa::IntoParams)]
#[into_params(names("If-Match"), parameter_in = Header)]
#[allow(dead_code)] // read by the contract only
pub struct IfMatch(
    /// The ETag last read
    String,
);

/// The `Idempotency-Key` header every POST takes.
#[derive(utoipa::IntoParams)]
#[into_params(names("Idempotency-Key"), parameter_in = Header)]
#[allow(dead_code)] // read by the contract only
pub struct IdempotencyKey(
    /// Makes a retry safe: a retry with the same key and request (1 to 255 visible ASCII
    /// characters, e.g. a UUID) gets the first answer again, with `Idempotent-Replayed: true`,
    /// and writes nothing. The same key with another request is 422; one still running, 409.
    /// Keys belong to the token's subject and are kept for `IDEMPOTENCY_TTL` (default 24 h).
    Option<String>,
);

/// A named set of the responses several operations answer with alike.
macro_rules! response_set {
    ($(#[$doc:meta])* $name:ident = [$($part:ty),+ $(,)?]) => {
        $(#[$doc])*
        pub struct $name;
        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(<$part as IntoResponses>::responses()),+].into_iter().flatten().collect()
            }
        }
    };
}

response_set!(
    /// Every problem a change to an existing record (PUT, PATCH) can answer with.
    ChangeProblems = [BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, PayloadTooLarge,
        UnsupportedMediaType, Unprocessable, PreconditionRequired]
);
response_set!(
    /// What a list of the placements under one parent answers with.
    PlacementsOfAnswers = [ListOk<crate::rest::list::schemas::PlacementList>, BadRequest, Unauthorized, Forbidden,
        NotFound, NotAcceptable, Unprocessable]
);

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
        )
        .build()
}

fn header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::String)).description(Some(description)).build()
}

/// A 200 in the three representations lists have: the `envelope` schema as JSON, and rows
/// as CSV or NDJSON.
fn representations(description: &str, envelope: &str) -> ResponseBuilder {
    let text = || ObjectBuilder::new().schema_type(Type::String).build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name(envelope))).build())
        .content("text/csv", ContentBuilder::new().schema(Some(text())).build())
        .content("application/x-ndjson", ContentBuilder::new().schema(Some(text())).build())
}

/// A list's 200: one page as JSON (the `L` envelope), or every row as CSV or NDJSON.
pub struct ListOk<L>(std::marker::PhantomData<L>);

impl<L: ToSchema> IntoResponses for ListOk<L> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let response = representations(
            "One page as JSON; with `Accept: text/csv` or `application/x-ndjson`, every matching row from the \
             cursor on, streamed, one row per line (`limit` is ignored).",
            &L::name(),
        )
        .header(
            "ETag",
            header("A weak tag over the page; send it in `If-None-Match` to get 304 while it is unchanged."),
        )
        .header("Link", header("`<…>; rel=\"next\"` when another page follows."))
        .build();
        let unchanged =
            ResponseBuilder::new().description("Not modified: the page's ETag in `If-None-Match` is current").build();
        BTreeMap::from([("200".to_string(), RefOr::T(response)), ("304".to_string(), RefOr::T(unchanged))])
    }
}

/// A bounded relation's 200: all of it as JSON (the `L` envelope), CSV or NDJSON.
pub struct ItemsOk<L>(std::marker::PhantomData<L>);

impl<L: ToSchema> IntoResponses for ItemsOk<L> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let response = representations("Every item, as JSON, or as CSV or NDJSON by `Accept`.", &L::name())
            .header(
                "ETag",
                header("A weak tag over the list; send it in `If-None-Match` to get 304 while it is unchanged."),
            )
            .build();
        let unchanged =
            ResponseBuilder::new().description("Not modified: the list's ETag in `If-None-Match` is current").build();
        BTreeMap::from([("200".to_string(), RefOr::T(response)), ("304".to_string(), RefOr::T(unchanged))])
    }
}

/// The rules every operation follows, applied to the generated document:
/// - the bearer scheme, with the scopes it carries described;
/// - operations that name no security are public: `security: []`, overriding nothing
///   globally but saying so explicitly, as linters and client generators expect;
/// - the shared problem responses, registered once.
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        bearer.description = Some(
            "A JWT signed with a key this server trusts. Its `scope` claim lists what it may do: \
             `placements:read`, `placements:write`, `reference:write`, or `admin` for all of them."
                .to_string(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        for (name, mut response) in problem_components() {
            if ["TooManyRequests", "Unavailable"].contains(&name) {
                response.headers.insert("Retry-After".into(), header("Seconds to wait before trying again"));
            }
            components.responses.insert(name.to_string(), RefOr::T(response));
        }
        // What any operation may meet, whatever it does: the deadline and the database
        // (503), the rate limits (429), and for those with a body, the body timeout (408).
        for (path, item) in openapi.paths.paths.iter_mut() {
            let limited = !NOT_RATE_LIMITED.contains(&path.as_str());
            let with_body = [&mut item.post, &mut item.put, &mut item.patch];
            for op in with_body.into_iter().flatten() {
                op.responses.responses.extend(RequestTimeout::responses());
            }
            for op in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
            {
                if op.security.is_none() {
                    op.security = Some(Vec::new());
                }
                op.responses.responses.extend(Unavailable::responses());
                if limited {
                    op.responses.responses.extend(TooManyRequests::responses());
                }
            }
        }
    }
}

/// The document as committed in `openapi/openapi.json`.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

static SERVED: LazyLock<(String, utoipa::openapi::OpenApi)> = LazyLock::new(|| {
    // Built once: the document is the same for the life of the process.
    let doc = ApiDoc::openapi();
    (doc.to_json().unwrap_or_default(), doc)
});

/// The document as served, built once.
pub fn served() -> &'static str {
    &SERVED.0
}

/// A schema of the document by name, e.g. `PracticeStatus` (for messages about parameters).
pub fn component(name: &str) -> Option<Schema> {
    match SERVED.1.components.as_ref()?.schemas.get(name)? {
        RefOr::T(s) => Some(s.clone()),
        RefOr::Ref(_) => None,
    }
}

/// The JSON merge patch (RFC 7396) schema of an input: every field optional, and those the
/// input may leave out also `null`, which removes them.
pub fn merge_patch_schema(input: RefOr<Schema>, name: &str) -> Schema {
    use utoipa::openapi::schema::{OneOfBuilder, SchemaType};
    let RefOr::T(Schema::Object(mut object)) = input else {
        return Schema::Object(ObjectBuilder::new().schema_type(Type::Object).build());
    };
    let required = std::mem::take(&mut object.required);
    let null = || Schema::Object(ObjectBuilder::new().schema_type(Type::Null).build());
    for (field, schema) in object.properties.iter_mut() {
        if required.contains(field) {
            continue;
        }
        let nullable = match &*schema {
            RefOr::T(Schema::Object(o)) => match &o.schema_type {
                SchemaType::Type(t) => *t == Type::Null,
                SchemaType::Array(ts) => ts.contains(&Type::Null),
                SchemaType::AnyValue => true,
            },
            RefOr::T(Schema::Array(a)) => match &a.schema_type {
                SchemaType::Type(t) => *t == Type::Null,
                SchemaType::Array(ts) => ts.contains(&Type::Null),
                SchemaType::AnyValue => true,
            },
            RefOr::T(Schema::OneOf(one)) => one
                .items
                .iter()
                .any(|i| matches!(i, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))),
            _ => false,
        };
        if !nullable {
            let inner = std::mem::replace(schema, RefOr::T(null()));
            *schema = RefOr::T(Schema::OneOf(OneOfBuilder::new().item(inner).item(null()).build()));
        }
    }
    object.description = Some(format!(
        "A JSON merge patch (RFC 7396) of {name}: only the fields to change. `null` removes a field \
         that may be absent; a field left out stays as it is."
    ));
    object.examples = Vec::new();
    object.example = None;
    Schema::Object(object)
}
