//! Bearer tokens: verification of partner JWTs and the extractor handlers use.

use std::future::{ready, Ready};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lru::LruCache;
use pcr_schema::Actor;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The claims a partner token carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// Space-separated scopes, e.g. `placements:read placements:write`.
    #[serde(default)]
    pub scope: String,
    /// The organisation (ODS, federation or ICT code) the partner acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// How tokens are verified. Without a key no token verifies, so every write is refused.
#[derive(Clone, Default)]
pub struct AuthConfig {
    pub hs256_secret: Option<Vec<u8>>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub verified: VerifiedTokens,
}

/// Tokens verified lately. A client sends the same token with every request; verifying it
/// (base64, JSON, HMAC) each time was a few per cent of a GraphQL request's work. An entry
/// counts only for the configuration that verified it, and `exp` and `nbf` are checked
/// again on every use.
#[derive(Clone)]
pub struct VerifiedTokens(Arc<Mutex<LruCache<String, Verified>>>);

impl Default for VerifiedTokens {
    fn default() -> Self {
        VerifiedTokens(Arc::new(Mutex::new(LruCache::new(NonZeroUsize::new(1024).unwrap_or(NonZeroUsize::MIN)))))
    }
}

#[derive(Clone)]
struct Verified {
    actor: Actor,
    exp: u64,
    nbf: Option<u64>,
    config: u64,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("hs256_secret", &self.hs256_secret.as_ref().map(|_| "<set>"))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// Seconds of clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl AuthConfig {
    /// Identifies the key and claims a token was checked against.
    fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.hs256_secret, &self.issuer, &self.audience).hash(&mut h);
        h.finish()
    }

    /// Verifies signature, algorithm, `exp`, `nbf`, and `iss`/`aud` when configured; a token
    /// verified lately by the same configuration needs only its times checked again.
    pub fn verify(&self, token: &str) -> Result<Actor, ApiError> {
        let config = self.fingerprint();
        let now = unix_now();
        let cached = self.verified.0.lock().unwrap_or_else(|p| p.into_inner()).get(token).cloned();
        if let Some(v) = cached {
            let current = now <= v.exp.saturating_add(LEEWAY_SECS)
                && v.nbf.is_none_or(|nbf| nbf <= now.saturating_add(LEEWAY_SECS));
            if v.config == config && current {
                return Ok(v.actor);
            }
        }
        let (actor, exp, nbf) = self.verify_token(token)?;
        let entry = Verified { actor: actor.clone(), exp, nbf, config };
        self.verified.0.lock().unwrap_or_else(|p| p.into_inner()).put(token.to_string(), entry);
        Ok(actor)
    }

    fn verify_token(&self, token: &str) -> Result<(Actor, u64, Option<u64>), ApiError> {
        let secret = self.hs256_secret.as_ref().ok_or_else(|| {
            ApiError::Unauthorized("this server has no token key configured; it accepts no tokens".into())
        })?;
        // Only HS256 is accepted: `alg: none` and any other algorithm fail here.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
        }
        let data = decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
            .map_err(|e| ApiError::Unauthorized(format!("the bearer token is not valid: {e}")))?;
        let c = data.claims;
        if c.sub.trim().is_empty() {
            return Err(ApiError::Unauthorized("the bearer token has an empty subject".into()));
        }
        let actor = Actor {
            subject: c.sub,
            org: c.org.filter(|o| !o.is_empty()),
            scopes: c.scope.split_whitespace().map(str::to_string).collect(),
        };
        Ok((actor, c.exp, c.nbf))
    }

    /// Mints an HS256 token (development and tests).
    pub fn mint(&self, sub: &str, org: Option<&str>, scope: &str, ttl_secs: u64) -> Result<String, ApiError> {
        let secret = self
            .hs256_secret
            .as_ref()
            .ok_or_else(|| ApiError::Internal("JWT_HS256_SECRET is not set; cannot mint a token".into()))?;
        let now = unix_now();
        let claims = Claims {
            sub: sub.to_string(),
            scope: scope.to_string(),
            org: org.map(str::to_string),
            exp: now + ttl_secs,
            nbf: Some(now),
            iat: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret))
            .map_err(|e| ApiError::Internal(format!("cannot sign the token: {e}")))
    }
}

/// The caller of a request: `None` without an `Authorization` header. A header that is
/// present but not a valid bearer token is rejected with 401 whatever the endpoint.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Actor>);

impl Caller {
    pub fn actor(&self) -> Option<&Actor> {
        self.0.as_ref()
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_of(req))
    }
}

pub fn caller_of(req: &HttpRequest) -> Result<Caller, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(Caller(None));
    };
    let value = value.to_str().map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into()))?;
    let auth =
        req.app_data::<web::Data<AuthConfig>>().ok_or_else(|| ApiError::Internal("auth is not configured".into()))?;
    auth.verify(token).map(|a| Caller(Some(a)))
}
