//! Who is making a change, as established by the API layer from a verified token.

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    ReferenceWrite,
    PlacementsRead,
    PlacementsWrite,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReferenceWrite => "reference:write",
            Scope::PlacementsRead => "placements:read",
            Scope::PlacementsWrite => "placements:write",
            Scope::Admin => "admin",
        }
    }
}

/// A verified caller. `subject` is the token's `sub`, `org` the organisation it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub org: Option<String>,
    pub scopes: Vec<String>,
    /// The request this actor is making, for the audit trail.
    pub request_id: Option<String>,
}

impl Actor {
    /// The actor used by command-line tools run by an operator (imports, demo loading).
    pub fn system(subject: &str) -> Actor {
        Actor {
            subject: subject.to_string(),
            org: None,
            scopes: vec![Scope::Admin.as_str().to_string()],
            request_id: None,
        }
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.iter().any(|s| s == scope.as_str() || s == Scope::Admin.as_str())
    }

    pub fn require(&self, scope: Scope) -> Result<(), DomainError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!("this needs the `{}` scope", scope.as_str())))
        }
    }
}

/// Requires an authenticated actor with `scope`: no actor is 401, a missing scope 403.
pub fn require(actor: Option<&Actor>, scope: Scope) -> Result<&Actor, DomainError> {
    let actor = actor.ok_or(DomainError::Unauthenticated)?;
    actor.require(scope)?;
    Ok(actor)
}
