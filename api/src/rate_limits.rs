//! Rate limits, per client address and per token subject: each a sustained rate with a
//! burst (GCRA, the `governor` crate), answered 429 with `Retry-After`. They stop floods (a
//! script trying tokens, a client in a retry loop) before any work is done for them.
//!
//! The counts are kept per process. Behind a balancer spreading requests over N replicas a
//! client may send up to N times the rate, which still bounds a flood; metering exactly
//! across replicas would cost a shared store's round trip on every request. What must hold
//! across replicas (one write per idempotency key, version checks) is in the database and
//! does not depend on these. Probes (`/healthz`, `/readyz`, `/metrics`) are not limited.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::AuthConfig;
use crate::error::ApiError;
use crate::metrics::{LimitKey, Metrics};
use crate::refusals::Signed;

/// One limit: `per_second` sustained, `burst` at once. A rate of 0 turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    fn quota(self) -> Option<Quota> {
        let rate = NonZeroU32::new(self.per_second)?;
        Some(Quota::per_second(rate).allow_burst(NonZeroU32::new(self.burst).unwrap_or(rate)))
    }
}

/// The limits a process applies, shared by its workers.
#[derive(Clone, Default)]
pub struct RateLimits {
    per_ip: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    per_subject: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

impl RateLimits {
    pub fn new(per_ip: Rate, per_subject: Rate) -> RateLimits {
        RateLimits {
            per_ip: per_ip.quota().map(|q| Arc::new(RateLimiter::keyed(q))),
            per_subject: per_subject.quota().map(|q| Arc::new(RateLimiter::keyed(q))),
        }
    }

    /// No limits (tests that send many requests from one caller).
    pub fn off() -> RateLimits {
        RateLimits::default()
    }

    fn check<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), ApiError> {
        // Forget the buckets of clients that have gone quiet now and then, so that a flood
        // of addresses does not grow the map for ever.
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests(wait.as_secs() + 1)
        })
    }
}

fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limits = req.app_data::<web::Data<RateLimits>>().map(|l| l.get_ref().clone()).unwrap_or_default();
    let refused = match exempt(req.path()) {
        true => Ok(()),
        false => over_limit(&req, &limits),
    };
    match refused {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err((key, e)) => {
            if let Some(metrics) = req.app_data::<web::Data<Metrics>>() {
                metrics.rate_limited(key);
            }
            Ok(req.into_response(e.error_response()).map_into_right_body())
        }
    }
}

fn over_limit(req: &ServiceRequest, limits: &RateLimits) -> Result<(), (LimitKey, ApiError)> {
    if let (Some(limiter), Some(peer)) = (&limits.per_ip, req.peer_addr()) {
        RateLimits::check(limiter, &peer.ip()).map_err(|e| (LimitKey::Ip, e))?;
    }
    let Some(limiter) = &limits.per_subject else { return Ok(()) };
    // The subject of a token that verifies (the verifier remembers it, so the handler's own
    // check costs nothing more); a refused token is the address limit's business.
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let auth = req.app_data::<web::Data<AuthConfig>>();
    if let (Some(token), Some(auth)) = (token, auth) {
        if let Ok(actor) = auth.verify(token) {
            RateLimits::check(limiter, &actor.subject).map_err(|e| (LimitKey::Subject, e))?;
            // Who asked, for the log line, also where the handler never looks at the token.
            req.extensions_mut().insert(Signed { subject: actor.subject, org: actor.org, verified: true });
        }
    }
    Ok(())
}
