//! Query strings, read strictly against what the operation declares.
//!
//! The declaration is the query type's `IntoParams`, the same one the OpenAPI document
//! shows, so what is documented and what is accepted cannot drift apart:
//! - a parameter the operation does not take, or one given twice, is 400 naming it;
//! - a value that does not parse is 400 naming the parameter and saying what it must be;
//! - text with control characters is 422 naming the parameter.

use std::any::TypeId;
use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::{Arc, LazyLock, RwLock};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use pcr_schema::{DomainError, FieldError};
use serde::de::DeserializeOwned;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{KnownFormat, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::IntoParams;

use crate::error::ApiError;

/// The query parameters of a request, as `T`.
#[derive(Debug, Clone)]
pub struct Params<T>(pub T);

impl<T> Params<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Params<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + IntoParams + 'static> FromRequest for Params<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse::<T>(req.query_string()).map(Params))
    }
}

/// An operation that takes no query parameters: any given is refused by name.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct NoParams {}

impl IntoParams for NoParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<utoipa::openapi::path::Parameter> {
        Vec::new()
    }
}

/// What a query type declares: each parameter's name and what its value must be.
struct Declared {
    names: Vec<String>,
    rules: HashMap<String, String>,
}

/// Declarations by query type, read once from their `IntoParams`.
static DECLARED: LazyLock<RwLock<HashMap<TypeId, Arc<Declared>>>> = LazyLock::new(Default::default);

fn declared<T: IntoParams + 'static>() -> Arc<Declared> {
    let id = TypeId::of::<T>();
    if let Some(d) = DECLARED.read().unwrap_or_else(|p| p.into_inner()).get(&id) {
        return d.clone();
    }
    let params = T::into_params(|| Some(ParameterIn::Query));
    let names = params.iter().map(|p| p.name.clone()).collect();
    let rules = params.iter().map(|p| (p.name.clone(), rule(p.schema.as_ref()))).collect();
    let d = Arc::new(Declared { names, rules });
    DECLARED.write().unwrap_or_else(|p| p.into_inner()).insert(id, d.clone());
    d
}

/// What a value must be, in words, from its schema.
fn rule(schema: Option<&RefOr<Schema>>) -> String {
    let object = match schema {
        Some(RefOr::T(Schema::Object(o))) => o.clone(),
        Some(RefOr::Ref(r)) => {
            match crate::openapi::component(r.ref_location.trim_start_matches("#/components/schemas/")) {
                Some(Schema::Object(o)) => o,
                _ => return "is not valid".to_string(),
            }
        }
        _ => return "is not valid".to_string(),
    };
    if let Some(values) = &object.enum_values {
        let names: Vec<String> = values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        return format!("must be one of {}", names.join(", "));
    }
    let is = |t: Type| match &object.schema_type {
        SchemaType::Type(x) => *x == t,
        SchemaType::Array(xs) => xs.contains(&t),
        SchemaType::AnyValue => false,
    };
    match &object.format {
        Some(SchemaFormat::KnownFormat(KnownFormat::Date)) => return "must be a date, YYYY-MM-DD".to_string(),
        Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)) => {
            return "must be an RFC 3339 date and time, e.g. 2026-01-31T09:00:00Z".to_string()
        }
        _ => {}
    }
    if is(Type::Integer) {
        return match (&object.minimum, &object.maximum) {
            (Some(min), Some(max)) => format!(
                "must be a whole number from {} to {}",
                serde_json::to_string(min).unwrap_or_default(),
                serde_json::to_string(max).unwrap_or_default()
            ),
            _ => "must be a whole number".to_string(),
        };
    }
    if is(Type::Boolean) {
        return "must be true or false".to_string();
    }
    "is not valid".to_string()
}

/// Reads a query string into `T` by the rules above.
pub fn parse<T: DeserializeOwned + IntoParams + 'static>(query: &str) -> Result<T, ApiError> {
    let declared = declared::<T>();
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let mut errors = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in &pairs {
        if !declared.names.iter().any(|n| n == name) {
            let takes = if declared.names.is_empty() { "none".to_string() } else { declared.names.join(", ") };
            errors.push(FieldError::new(name, format!("is not a parameter of this operation (it takes: {takes})")));
        } else if seen.contains(&name.as_str()) {
            errors.push(FieldError::new(name, "is given more than once"));
        } else {
            seen.push(name);
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::BadParams(errors));
    }
    let unclean: Vec<FieldError> = pairs
        .iter()
        .filter(|(_, v)| pcr_schema::validate::has_control_chars(v))
        .map(|(k, _)| FieldError::new(k, "must not contain control characters"))
        .collect();
    if !unclean.is_empty() {
        return Err(ApiError::Domain(DomainError::Invalid(unclean)));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    let mut result = serde_path_to_error::deserialize::<_, T>(de);
    // serde stops at the first value that does not parse; set it aside and read the rest
    // again, so every bad parameter is named at once.
    loop {
        match result {
            Ok(v) if errors.is_empty() => return Ok(v),
            Ok(_) => return Err(ApiError::BadParams(errors)),
            Err(e) => {
                let name = e.path().to_string();
                let rule = declared.rules.get(&name).cloned().unwrap_or_else(|| "is not valid".to_string());
                let before = pairs.len();
                pairs.retain(|(k, _)| *k != name);
                errors.push(FieldError::new(name, rule));
                if pairs.len() == before {
                    return Err(ApiError::BadParams(errors));
                }
                let rest = serde_urlencoded::to_string(&pairs).unwrap_or_default();
                let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(rest.as_bytes()));
                result = serde_path_to_error::deserialize::<_, T>(de);
            }
        }
    }
}
