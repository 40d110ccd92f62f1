//! Routes registered with the methods they allow, so that a method the path does not take
//! gets 405 with an `Allow` header listing those it does, and `OPTIONS` says the same.
//! `HEAD` is allowed wherever `GET` is ([`super::conventions`] answers it).

use std::sync::{Arc, OnceLock};

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header;
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Responder};

use crate::error::{problem_response, ApiError};

pub struct Resource {
    inner: actix_web::Resource,
    allow: Vec<&'static str>,
}

/// The route template of the resource a request matched, as metrics and logs label it
/// (`/api/v1/practices/{ods}`). Each resource carries one, filled from actix's
/// `match_pattern()` by its first request and read by every later one: the template is
/// worked out (and its string allocated) once per resource, not once per request.
#[derive(Debug, Default)]
pub struct RouteTemplate(OnceLock<Arc<str>>);

impl RouteTemplate {
    /// The template of the route `req` matched; `unmatched` when it matched none.
    pub fn of(req: &HttpRequest, unmatched: impl FnOnce() -> Arc<str>) -> Arc<str> {
        let pattern = || req.match_pattern().map(Arc::from);
        match req.app_data::<RouteTemplate>() {
            Some(t) => match t.0.get() {
                Some(route) => route.clone(),
                None => match pattern() {
                    Some(route) => t.0.get_or_init(|| route).clone(),
                    None => unmatched(),
                },
            },
            // Routes not built here (Swagger UI's) work it out every time.
            None => pattern().unwrap_or_else(unmatched),
        }
    }
}

macro_rules! method {
    ($name:ident, $method:ident, $text:literal) => {
        pub fn $name<F, Args>(self, handler: F) -> Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.route($text, web::method(Method::$method).to(handler))
        }
    };
}

impl Resource {
    pub fn new(path: &str) -> Resource {
        Resource { inner: web::resource(path).app_data(RouteTemplate::default()), allow: Vec::new() }
    }

    method!(get, GET, "GET");
    method!(post, POST, "POST");
    method!(put, PUT, "PUT");
    method!(patch, PATCH, "PATCH");
    method!(delete, DELETE, "DELETE");

    /// Declares a method another service registered first on the same path answers (Swagger
    /// UI's `GET /docs/…`), so that this resource's 405 and `OPTIONS` list it.
    pub fn served_elsewhere(mut self, method: &'static str) -> Self {
        self.allow.push(method);
        if method == "GET" {
            self.allow.push("HEAD");
        }
        self
    }

    /// Data for this resource's handlers only (a larger body limit, say).
    pub fn app_data<U: 'static>(mut self, data: U) -> Self {
        self.inner = self.inner.app_data(data);
        self
    }

    fn route(mut self, method: &'static str, route: actix_web::Route) -> Self {
        self.inner = self.inner.route(route);
        self.allow.push(method);
        if method == "GET" {
            self.allow.push("HEAD");
        }
        self
    }

    /// The resource, answering `OPTIONS` and every other method with its `Allow` list.
    pub fn done(self) -> impl HttpServiceFactory {
        let mut allow = self.allow;
        allow.push("OPTIONS");
        let allow = allow.join(", ");
        let for_options = allow.clone();
        self.inner
            .wrap(actix_web::middleware::from_fn(crate::timeouts::deadline))
            .route(web::method(Method::OPTIONS).to(move || {
                let allow = for_options.clone();
                async move { HttpResponse::NoContent().insert_header((header::ALLOW, allow)).finish() }
            }))
            .default_service(web::to(move |req: HttpRequest| {
                let allow = allow.clone();
                async move {
                    let mut res = problem_response(
                        &ApiError::MethodNotAllowed(format!("{} is not allowed here; use {allow}", req.method()))
                            .problem(),
                    );
                    if let Ok(v) = header::HeaderValue::from_str(&allow) {
                        res.headers_mut().insert(header::ALLOW, v);
                    }
                    res
                }
            }))
    }
}
