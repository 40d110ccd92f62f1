//! HTTP conventions every response follows, whatever produced it: `HEAD` on every `GET`
//! route, `Allow` on 405, caching rules, `nosniff`, a CSP on the docs, compression and CORS.

pub mod cache;
pub mod cors;
pub mod negotiate;
pub mod resource;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::HttpMessage;

/// The Swagger UI page's policy: its bundle, styles and the document come from this origin;
/// its logo is an inline `data:` image. The bundle adds one `<style>` element of its own,
/// allowed by its hash (Swagger UI 5.17.14, vendored by utoipa-swagger-ui 9): an upgrade that
/// changes it shows up as a CSP violation in the browser test.
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; img-src 'self' data:; \
     font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Marks a request that came as `HEAD` (and is routed as `GET`): handlers that would stream
/// a body nobody reads (exports) answer with the headers alone.
#[derive(Debug, Clone, Copy)]
pub struct Head;

/// Whether the request came as `HEAD`.
pub fn is_head(req: &actix_web::HttpRequest) -> bool {
    req.extensions().get::<Head>().is_some()
}

/// Answers `HEAD` as `GET` (actix-http leaves the body out on the wire and keeps its length),
/// and sets the headers below on whatever response comes back.
pub async fn conventions(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method().clone();
    if method == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(Head);
    }
    let path = req.path().to_string();
    let authorised = req.headers().contains_key(header::AUTHORIZATION);
    let mut res = next.call(req).await?;
    let status = res.status();
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        let policy = cache::policy(&method, &path, authorised, status);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy.header()));
    }
    if path == "/docs" || path.starts_with("/docs/") {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    Ok(res)
}
