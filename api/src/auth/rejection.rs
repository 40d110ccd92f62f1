//! Why a bearer token was refused. A closed set of generic reasons: a 401 says which rule
//! the token broke, never the JWT library's or the JSON parser's words, so a probe learns
//! nothing about the verifier.

/// A refusal of the credentials a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Not a compact JWS with a JSON header and claims, or a signature that does not verify.
    InvalidToken,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` is still to come (beyond the leeway).
    NotYetValid,
    /// `exp`, `sub` or another claim this server requires is missing or empty.
    MissingClaim,
    /// `iss` is not the configured issuer.
    InvalidIssuer,
    /// `aud` does not name the configured audience.
    InvalidAudience,
    /// The token is valid for longer than the configured maximum lifetime.
    LifetimeTooLong,
    /// `alg` is not one this server accepts for the key, or `none`.
    AlgorithmNotAllowed,
    /// `kid` is missing or names no key in the partners' key set.
    UnknownKey,
    /// The header has `crit`: extensions this server does not understand.
    CriticalHeader,
    /// No key is configured for tokens of this kind.
    NoKey,
    /// `Authorization` is not `Bearer <token>`, or is not text.
    MalformedAuthorization,
    /// More than one `Authorization` header.
    DuplicateAuthorization,
    /// The token claims an organisation or scope its signing key may not grant.
    NotAllowedForKey,
}

impl Rejection {
    /// The problem's `detail`: a stable code, documented in the README.
    pub fn code(self) -> &'static str {
        match self {
            Rejection::InvalidToken => "invalid_token",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not_yet_valid",
            Rejection::MissingClaim => "missing_claim",
            Rejection::InvalidIssuer => "invalid_issuer",
            Rejection::InvalidAudience => "invalid_audience",
            Rejection::LifetimeTooLong => "lifetime_too_long",
            Rejection::AlgorithmNotAllowed => "algorithm_not_allowed",
            Rejection::UnknownKey => "unknown_key",
            Rejection::CriticalHeader => "unsupported_critical_header",
            Rejection::NoKey => "no_key_configured",
            Rejection::MalformedAuthorization => "malformed_authorization",
            Rejection::DuplicateAuthorization => "duplicate_authorization",
            Rejection::NotAllowedForKey => "not_allowed_for_key",
        }
    }

    /// The RFC 6750 error code for `WWW-Authenticate`.
    pub fn bearer_error(self) -> &'static str {
        match self {
            Rejection::MalformedAuthorization | Rejection::DuplicateAuthorization => "invalid_request",
            _ => "invalid_token",
        }
    }

    /// The reason a verification error from the JWT library stands for.
    pub(super) fn of_jwt(e: &jsonwebtoken::errors::Error) -> Rejection {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::ExpiredSignature => Rejection::Expired,
            K::ImmatureSignature => Rejection::NotYetValid,
            K::InvalidIssuer => Rejection::InvalidIssuer,
            K::InvalidAudience => Rejection::InvalidAudience,
            K::MissingRequiredClaim(claim) if claim == "aud" => Rejection::InvalidAudience,
            K::MissingRequiredClaim(claim) if claim == "iss" => Rejection::InvalidIssuer,
            K::MissingRequiredClaim(_) => Rejection::MissingClaim,
            K::InvalidAlgorithm | K::InvalidAlgorithmName | K::UnsupportedAlgorithm => Rejection::AlgorithmNotAllowed,
            _ => Rejection::InvalidToken,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
