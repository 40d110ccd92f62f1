//! Partners' public keys, from a JWKS file (`JWT_JWKS_FILE`). Each key is chosen by its
//! `kid` and verifies one algorithm only (RS256 for RSA keys, ES256 for P-256 keys), so a
//! token cannot pick how its signature is checked. The file is read again when it changes
//! (polled) and on SIGHUP, so a partner's key is rotated without a restart; a file that no
//! longer parses keeps the keys last read, and says so in the log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// One partner key: what it verifies and how, and what its tokens may claim.
#[derive(Clone)]
pub struct PartnerKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
    pub bound: Bound,
}

/// What a key's tokens may claim, from the key's own `orgs` and `scopes` members: a
/// partner's key speaks for its own organisations, with the scopes agreed for it, whatever
/// its tokens say. A key without them (the operator's own identity provider) is unbounded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bound {
    /// The organisations its tokens may act for; a token must name one of them.
    pub orgs: Option<Vec<String>>,
    /// The scopes its tokens may carry.
    pub scopes: Option<Vec<String>>,
}

impl Bound {
    /// Whether a token signed by the key may claim `org` and `scopes`.
    pub fn allows(&self, org: Option<&str>, scopes: &[String]) -> bool {
        let org_ok = self.orgs.as_ref().is_none_or(|orgs| org.is_some_and(|o| orgs.iter().any(|k| k == o)));
        let scopes_ok = self.scopes.as_ref().is_none_or(|allowed| scopes.iter().all(|s| allowed.contains(s)));
        org_ok && scopes_ok
    }
}

/// The `orgs` and `scopes` members of one key of the document, if it has them.
fn bound_of(raw: &serde_json::Value) -> Result<Bound, String> {
    let list = |name: &str, upper: bool| -> Result<Option<Vec<String>>, String> {
        let Some(v) = raw.get(name) else { return Ok(None) };
        let items = v.as_array().ok_or_else(|| format!("`{name}` must be a list of strings"))?;
        let words: Option<Vec<String>> = items
            .iter()
            .map(|i| i.as_str().map(str::trim).filter(|t| !t.is_empty()))
            .map(|t| t.map(|t| if upper { t.to_ascii_uppercase() } else { t.to_string() }))
            .collect();
        words.map(Some).ok_or_else(|| format!("`{name}` must be a list of strings"))
    };
    Ok(Bound { orgs: list("orgs", true)?, scopes: list("scopes", false)? })
}

/// The key set, shared by every worker and reloaded in place.
#[derive(Clone)]
pub struct Jwks(Arc<Inner>);

struct Inner {
    path: PathBuf,
    keys: RwLock<Arc<HashMap<String, PartnerKey>>>,
    /// Bumped whenever the keys change, so tokens verified under old keys are checked again.
    generation: AtomicU64,
    /// The file's modification time and length when last read.
    stamp: Mutex<Option<(SystemTime, u64)>>,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The signing keys of a JWKS document, by `kid`. Keys without a `kid`, for encryption, of
/// other types or curves, or symmetric (`oct`, which would let a published key sign) are
/// passed over; a document with no usable key is an error.
pub fn parse(text: &str) -> Result<HashMap<String, PartnerKey>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
    // The library's keys drop members it does not know; `orgs` and `scopes` are read here.
    let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
    let raw_keys = raw.get("keys").and_then(|k| k.as_array()).cloned().unwrap_or_default();
    let mut keys = HashMap::new();
    for (jwk, raw) in set.keys.iter().zip(raw_keys.iter()) {
        let Some(kid) = jwk.common.key_id.clone().filter(|k| !k.is_empty()) else { continue };
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                if p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => continue,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|_| format!("key `{kid}` is not a valid public key"))?;
        let bound = bound_of(raw).map_err(|e| format!("key `{kid}`: {e}"))?;
        if keys.insert(kid.clone(), PartnerKey { algorithm, key, bound }).is_some() {
            return Err(format!("two keys have the kid `{kid}`"));
        }
    }
    if keys.is_empty() {
        return Err("it has no RS256 or ES256 signing key with a kid".into());
    }
    Ok(keys)
}

impl Jwks {
    /// Reads the file; an unreadable file or one without a usable key stops start-up.
    pub fn load(path: &Path) -> Result<Jwks, String> {
        let before = stamp(path);
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let keys = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Jwks(Arc::new(Inner {
            path: path.to_path_buf(),
            keys: RwLock::new(Arc::new(keys)),
            generation: AtomicU64::new(0),
            stamp: Mutex::new(before),
        })))
    }

    pub fn key(&self, kid: &str) -> Option<PartnerKey> {
        self.0.keys.read().unwrap_or_else(|p| p.into_inner()).get(kid).cloned()
    }

    /// Which key set this is (clones share it).
    pub fn identity(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// How many times the keys have been replaced.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    /// Reads the file again. On failure the keys last read stay in use.
    pub fn reload(&self) -> Result<usize, String> {
        let inner = &self.0;
        let before = stamp(&inner.path);
        let text =
            std::fs::read_to_string(&inner.path).map_err(|e| format!("cannot read {}: {e}", inner.path.display()))?;
        *inner.stamp.lock().unwrap_or_else(|p| p.into_inner()) = before;
        let keys = parse(&text).map_err(|e| format!("{}: {e}", inner.path.display()))?;
        let n = keys.len();
        *inner.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        inner.generation.fetch_add(1, Ordering::AcqRel);
        Ok(n)
    }

    /// Reloads when the file's modification time or length has changed since it was read.
    pub fn reload_if_changed(&self) {
        let now = stamp(&self.0.path);
        if now.is_none() || now == *self.0.stamp.lock().unwrap_or_else(|p| p.into_inner()) {
            return;
        }
        self.reload_logged("the file changed");
    }

    pub fn reload_logged(&self, why: &str) {
        match self.reload() {
            Ok(n) => tracing::info!(keys = n, "partner keys reloaded: {why}"),
            Err(e) => tracing::error!("partner keys not reloaded ({why}), the previous keys stay in use: {e}"),
        }
    }

    /// Polls the file every `every` on a thread of its own, for as long as the process runs.
    pub fn watch(&self, every: Duration) {
        let jwks = self.clone();
        let spawned = std::thread::Builder::new().name("jwks-watch".into()).spawn(move || loop {
            std::thread::sleep(every);
            jwks.reload_if_changed();
        });
        if let Err(e) = spawned {
            tracing::error!("cannot watch the partner key file: {e}");
        }
    }
}
