//! GraphQL operation names as metric labels. Clients choose the names, so without a bound
//! one client sending a new name per request would grow the exposition without end: the
//! first [`MAX_NAMES`] distinct names are kept, any later one is counted as `other`.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

/// Distinct operation names labelled by name.
pub const MAX_NAMES: usize = 50;
/// A longer name is `other` whatever the count (GraphQL names have no length limit).
const MAX_NAME_BYTES: usize = 64;

pub const ANONYMOUS: &str = "anonymous";
pub const OTHER: &str = "other";
/// A request refused before its operation was known, or whose document names none.
pub const UNKNOWN: &str = "unknown";

pub struct OperationNames {
    known: RwLock<HashSet<Arc<str>>>,
    anonymous: Arc<str>,
    other: Arc<str>,
    unknown: Arc<str>,
}

impl Default for OperationNames {
    fn default() -> Self {
        OperationNames {
            known: RwLock::default(),
            anonymous: Arc::from(ANONYMOUS),
            other: Arc::from(OTHER),
            unknown: Arc::from(UNKNOWN),
        }
    }
}

impl OperationNames {
    pub fn unknown(&self) -> Arc<str> {
        self.unknown.clone()
    }

    /// The label for an operation called `name` (`None`: an anonymous operation).
    pub fn label(&self, name: Option<&str>) -> Arc<str> {
        let Some(name) = name else { return self.anonymous.clone() };
        if name.len() > MAX_NAME_BYTES || [ANONYMOUS, OTHER, UNKNOWN].contains(&name) {
            return self.other.clone();
        }
        if let Some(known) = self.known.read().unwrap_or_else(|p| p.into_inner()).get(name) {
            return known.clone();
        }
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = known.get(name) {
            return k.clone();
        }
        if known.len() >= MAX_NAMES {
            return self.other.clone();
        }
        let label: Arc<str> = Arc::from(name);
        known.insert(label.clone());
        label
    }
}
