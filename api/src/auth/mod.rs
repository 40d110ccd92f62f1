//! Bearer tokens: verification of partner JWTs and the extractor handlers use.

use std::future::{ready, Ready};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lru::LruCache;
use pcr_schema::Actor;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::refusals::{RequestId, Signed};

pub mod jwks;
pub mod rejection;

use jwks::Bound;
pub use jwks::Jwks;
pub use rejection::Rejection;

/// The claims read from a partner token. `iss` and `aud` are checked by the verifier and
/// not kept; `aud` may be a string or a list.
#[derive(Debug, Clone, Deserialize)]
struct Claims {
    // Optional here so that a missing one is the verifier's "missing claim", not a parse error.
    #[serde(default)]
    sub: Option<String>,
    /// Space-separated scopes, e.g. `placements:read placements:write`.
    #[serde(default)]
    scope: String,
    /// The organisation (ODS, PCN, federation or ICT code) the partner acts for.
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
}

/// The claims of a development token this server mints.
#[derive(Debug, Serialize)]
struct MintedClaims<'a> {
    sub: &'a str,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    org: Option<&'a str>,
    exp: u64,
    nbf: u64,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// The shortest HS256 secret accepted: RFC 7518 asks for a key at least as long as the hash.
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// The longest a token may be valid for unless configured otherwise: 24 hours.
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 24 * 3600;

/// How tokens are verified. Without a key no token verifies, so every write is refused.
#[derive(Clone)]
pub struct AuthConfig {
    /// Development tokens (HS256). Refused beside a JWKS unless `allow_hs256`.
    pub hs256_secret: Option<Vec<u8>>,
    /// Partners' public keys (RS256, ES256), chosen by `kid`.
    pub jwks: Option<Jwks>,
    /// Accept HS256 tokens although a JWKS is configured.
    pub allow_hs256: bool,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// Longest validity a token may claim, from `iat` (or from now) to `exp`.
    pub max_lifetime_secs: u64,
    pub verified: VerifiedTokens,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            hs256_secret: None,
            jwks: None,
            allow_hs256: false,
            issuer: None,
            audience: None,
            max_lifetime_secs: DEFAULT_MAX_LIFETIME_SECS,
            verified: VerifiedTokens::default(),
        }
    }
}

/// Tokens verified lately. A client sends the same token with every request; verifying it
/// (base64, JSON, a signature) each time was a few per cent of a GraphQL request's work. An
/// entry counts only for the configuration and key set that verified it, and `exp` and
/// `nbf` are checked again on every use.
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
            .field("jwks", &self.jwks.as_ref().map(|_| "<set>"))
            .field("allow_hs256", &self.allow_hs256)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("max_lifetime_secs", &self.max_lifetime_secs)
            .finish()
    }
}

/// Seconds of clock skew tolerated on `exp`, `nbf` and the lifetime.
const LEEWAY_SECS: u64 = 30;

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn reject(r: Rejection) -> ApiError {
    ApiError::Unauthorized(r)
}

impl AuthConfig {
    /// Refuses a configuration that would accept forgeable tokens: an HS256 secret shorter
    /// than [`MIN_HS256_SECRET_BYTES`].
    pub fn check(&self) -> Result<(), String> {
        match &self.hs256_secret {
            Some(s) if s.len() < MIN_HS256_SECRET_BYTES => Err(format!(
                "JWT_HS256_SECRET is {} bytes; an HS256 secret must be at least {MIN_HS256_SECRET_BYTES}",
                s.len()
            )),
            _ => Ok(()),
        }
    }

    /// Whether any token can verify.
    pub fn has_keys(&self) -> bool {
        self.jwks.is_some() || self.hs256_secret.is_some()
    }

    fn hs256_accepted(&self) -> bool {
        self.hs256_secret.is_some() && (self.jwks.is_none() || self.allow_hs256)
    }

    /// Identifies the keys and rules a token was checked against.
    fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.hs256_secret, self.allow_hs256, &self.issuer, &self.audience, self.max_lifetime_secs).hash(&mut h);
        self.jwks.as_ref().map(|j| (j.identity(), j.generation())).hash(&mut h);
        h.finish()
    }

    /// Verifies the signature with the key the header names, the algorithm that key allows,
    /// `exp`, `nbf`, the lifetime, and `iss`/`aud` when configured. A token verified lately by
    /// the same configuration and keys needs only its times checked again.
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
        let (actor, exp, nbf) = self.verify_token(token, now).map_err(reject)?;
        let entry = Verified { actor: actor.clone(), exp, nbf, config };
        self.verified.0.lock().unwrap_or_else(|p| p.into_inner()).put(token.to_string(), entry);
        Ok(actor)
    }

    /// The key and algorithm a token's header asks for, if this server allows them.
    fn key_for(&self, header: &Header) -> Result<(Algorithm, DecodingKey, Bound), Rejection> {
        match header.alg {
            Algorithm::HS256 if self.hs256_accepted() => {
                let secret = self.hs256_secret.as_deref().ok_or(Rejection::NoKey)?;
                Ok((Algorithm::HS256, DecodingKey::from_secret(secret), Bound::default()))
            }
            Algorithm::RS256 | Algorithm::ES256 => {
                let jwks = self.jwks.as_ref().ok_or(Rejection::NoKey)?;
                let kid = header.kid.as_deref().ok_or(Rejection::UnknownKey)?;
                let key = jwks.key(kid).ok_or(Rejection::UnknownKey)?;
                // The key says how it verifies; a header naming another algorithm (an RSA
                // key offered as ES256, say) is refused, not tried.
                if key.algorithm != header.alg {
                    return Err(Rejection::AlgorithmNotAllowed);
                }
                Ok((key.algorithm, key.key, key.bound))
            }
            // HS256 beside a JWKS (the public key as an HMAC secret is the classic
            // confusion), and every other algorithm.
            _ if !self.has_keys() => Err(Rejection::NoKey),
            _ => Err(Rejection::AlgorithmNotAllowed),
        }
    }

    fn verify_token(&self, token: &str, now: u64) -> Result<(Actor, u64, Option<u64>), Rejection> {
        if !self.has_keys() {
            return Err(Rejection::NoKey);
        }
        if token.split('.').count() != 3 {
            return Err(Rejection::InvalidToken);
        }
        // `alg: none` and unknown algorithms do not parse as a header.
        let header = decode_header(token).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::Json(_)
                if token_alg(token).is_some_and(|a| a.eq_ignore_ascii_case("none")) =>
            {
                Rejection::AlgorithmNotAllowed
            }
            _ => Rejection::InvalidToken,
        })?;
        if header.crit.is_some() {
            return Err(Rejection::CriticalHeader);
        }
        let (algorithm, key, bound) = self.key_for(&header)?;
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // A configured issuer or audience must be named, not merely not contradicted.
        let mut required = vec!["exp", "sub"];
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        let c = decode::<Claims>(token, &key, &validation).map_err(|e| Rejection::of_jwt(&e))?.claims;
        let (Some(sub), Some(exp)) = (c.sub.filter(|s| !s.trim().is_empty()), c.exp) else {
            return Err(Rejection::MissingClaim);
        };
        let from = c.iat.unwrap_or(now).min(now);
        if exp.saturating_sub(from) > self.max_lifetime_secs.saturating_add(LEEWAY_SECS) {
            return Err(Rejection::LifetimeTooLong);
        }
        let actor = Actor {
            subject: sub,
            org: c.org.map(|o| o.trim().to_ascii_uppercase()).filter(|o| !o.is_empty()),
            scopes: c.scope.split_whitespace().map(str::to_string).collect(),
            request_id: None,
        };
        if !bound.allows(actor.org.as_deref(), &actor.scopes) {
            return Err(Rejection::NotAllowedForKey);
        }
        Ok((actor, exp, c.nbf))
    }

    /// Mints an HS256 token (development and tests).
    pub fn mint(&self, sub: &str, org: Option<&str>, scope: &str, ttl_secs: u64) -> Result<String, ApiError> {
        let secret = self
            .hs256_secret
            .as_ref()
            .ok_or_else(|| ApiError::Internal("JWT_HS256_SECRET is not set; cannot mint a token".into()))?;
        let now = unix_now();
        let claims = MintedClaims {
            sub,
            scope,
            org,
            exp: now + ttl_secs,
            nbf: now,
            iat: now,
            iss: self.issuer.as_deref(),
            aud: self.audience.as_deref(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret))
            .map_err(|e| ApiError::Internal(format!("cannot sign the token: {e}")))
    }
}

impl AuthConfig {
    /// The subject and organisation of a token whose signature verifies with the key its
    /// header names, whatever its times and audience: who was refused, for the audit.
    pub fn signed_subject(&self, token: &str) -> Option<Signed> {
        let header = decode_header(token).ok()?;
        let (algorithm, key, _) = self.key_for(&header).ok()?;
        let mut validation = Validation::new(algorithm);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims::<&str>(&[]);
        let c = decode::<Claims>(token, &key, &validation).ok()?.claims;
        let subject = c.sub.filter(|s| !s.trim().is_empty())?;
        Some(Signed {
            subject,
            org: c.org.map(|o| o.trim().to_ascii_uppercase()).filter(|o| !o.is_empty()),
            verified: false,
        })
    }
}

/// The `alg` a token's header names, read leniently (to tell `none` from garbage).
fn token_alg(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("alg")?.as_str().map(str::to_string)
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
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Ok(Caller(None));
    };
    // Two credentials are ambiguous: a proxy and the client may each think theirs counts.
    if values.next().is_some() {
        return Err(reject(Rejection::DuplicateAuthorization));
    }
    let value = value.to_str().map_err(|_| reject(Rejection::MalformedAuthorization))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(reject(Rejection::MalformedAuthorization))?;
    let auth =
        req.app_data::<web::Data<AuthConfig>>().ok_or_else(|| ApiError::Internal("auth is not configured".into()))?;
    let verified = auth.verify(token);
    // Who asked, for the audit of refusals and the request's log line: a verified caller, or
    // the subject of a token whose signature verified though the token did not.
    let signed = match &verified {
        Ok(a) => Some(Signed { subject: a.subject.clone(), org: a.org.clone(), verified: true }),
        Err(_) => auth.signed_subject(token),
    };
    if let Some(signed) = signed {
        req.extensions_mut().insert(signed);
    }
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    verified.map(|a| Caller(Some(Actor { request_id, ..a })))
}
