//! Cross-origin requests: off unless origins are configured (`CORS_ALLOWED_ORIGINS`), so a
//! browser page elsewhere can read the API only where an operator said it may.

use actix_cors::Cors;
use actix_web::http::{header, Method};

/// The origins browsers may call the API from: exact origins such as
/// `https://workforce.example.nhs.uk`, or `*` for any. Empty means CORS is off.
#[derive(Debug, Clone, Default)]
pub struct CorsConfig {
    pub origins: Vec<String>,
}

impl CorsConfig {
    /// Parses a comma-separated list; blanks are dropped. Each origin is a scheme, a host and
    /// optionally a port, with nothing after (`https://host`, not `https://host/`).
    pub fn parse(list: &str) -> Result<CorsConfig, String> {
        let origins: Vec<String> =
            list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        for o in &origins {
            let host = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
            let ok = o == "*"
                || host.is_some_and(|h| {
                    !h.is_empty()
                        && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
                });
            if !ok {
                return Err(format!(
                    "CORS_ALLOWED_ORIGINS: `{o}` is not an origin like https://host or http://host:port"
                ));
            }
        }
        Ok(CorsConfig { origins })
    }

    pub fn enabled(&self) -> bool {
        !self.origins.is_empty()
    }

    /// The middleware. Tokens travel in `Authorization`, never cookies, so credentials are
    /// not allowed; preflights may be kept for an hour.
    pub fn middleware(&self) -> Cors {
        let mut cors = Cors::default()
            .allowed_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allowed_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
            ])
            .expose_headers([header::ETAG, header::LOCATION, header::LINK, header::ALLOW])
            .max_age(3600);
        if self.origins.iter().any(|o| o == "*") {
            cors = cors.allow_any_origin().send_wildcard();
        } else {
            for origin in &self.origins {
                cors = cors.allowed_origin(origin);
            }
        }
        cors
    }
}
