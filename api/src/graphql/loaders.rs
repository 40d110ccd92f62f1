//! Request-scoped loaders: every relation resolves through one of these, so a nested
//! query costs one statement per relation per level, however many parents it has.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::dataloader::Loader;
use chrono::NaiveDate;
use pcr_schema::domain::lookups;
use pcr_schema::domain::placements::{self as placement_queries, PlacementParent, PlacementQuery};
use pcr_schema::domain::practices::{self as practice_queries, GroupKind, PracticeQuery};
use pcr_schema::models::federation::Federation;
use pcr_schema::models::ict::IntegratedCareTeam;
use pcr_schema::models::membership::{FederationMembership, IctMembership, PartnerService};
use pcr_schema::models::placement::Placement;
use pcr_schema::models::practice::Practice;
use pcr_schema::models::programme::Programme;
use pcr_schema::models::role::Role;
use pcr_schema::pagination::Page;
use pcr_schema::{Actor, Db};
use tokio::sync::oneshot;

use super::errors::blocking;

/// The loaders of one request: they share the request's database handle and caller.
pub struct Loaders {
    db: Db,
    actor: Option<Actor>,
}

/// A request's loader. Keys asked for while the request resolves one level of the query are
/// collected per key type and loaded in one call. A batch closes when the request stops
/// asking for keys — not after a timer: a fixed delay splits a level's keys into several
/// batches whenever resolving the level takes longer than the delay (200 practices in a
/// debug build, say), and a timer costs a hop through the timer's thread for every batch.
pub struct RequestLoader {
    shared: Arc<Shared>,
}

struct Shared {
    loaders: Loaders,
    /// Keys asked for so far; a batch waits until this stops moving.
    requested: AtomicU64,
    /// The open batch of each key type (`Batch<K, V>` behind `Any`).
    open: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
}

type Loaded<K, V> = Result<Arc<HashMap<K, V>>, async_graphql::Error>;

struct Batch<K, V> {
    keys: HashSet<K>,
    waiters: Vec<oneshot::Sender<Loaded<K, V>>>,
}

impl RequestLoader {
    pub async fn load_one<K>(&self, key: K) -> Result<Option<<Loaders as Loader<K>>::Value>, async_graphql::Error>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        Loaders: Loader<K, Error = async_graphql::Error>,
    {
        type V<K> = <Loaders as Loader<K>>::Value;
        self.shared.requested.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel::<Loaded<K, V<K>>>();
        let start = {
            let mut open = self.shared.open.lock().unwrap_or_else(|p| p.into_inner());
            let entry = open
                .entry(TypeId::of::<K>())
                .or_insert_with(|| Box::new(Batch::<K, V<K>> { keys: HashSet::new(), waiters: Vec::new() }));
            match entry.downcast_mut::<Batch<K, V<K>>>() {
                Some(batch) => {
                    let first = batch.waiters.is_empty();
                    batch.keys.insert(key.clone());
                    batch.waiters.push(tx);
                    first
                }
                None => return Err(async_graphql::Error::new("loader batch of the wrong type")),
            }
        };
        if start {
            let shared = self.shared.clone();
            actix_web::rt::spawn(async move { shared.run::<K>().await });
        }
        match rx.await {
            Ok(loaded) => Ok(loaded?.get(&key).cloned()),
            Err(_) => Err(async_graphql::Error::new("the loader stopped before answering")),
        }
    }
}

impl Shared {
    /// Waits for the level to settle, then loads the batch's keys in one call.
    async fn run<K>(self: Arc<Self>)
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        Loaders: Loader<K, Error = async_graphql::Error>,
    {
        settle(&self.requested).await;
        let batch = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            open.remove(&TypeId::of::<K>()).and_then(|b| b.downcast::<Batch<K, <Loaders as Loader<K>>::Value>>().ok())
        };
        let Some(batch) = batch else { return };
        let keys: Vec<K> = batch.keys.into_iter().collect();
        let loaded = self.loaders.load(&keys).await.map(Arc::new);
        for waiter in batch.waiters {
            let _ = waiter.send(loaded.clone());
        }
    }
}

/// Yields to the request's own task until it has asked for every key it is going to ask
/// for at this point of the query.
async fn settle(requested: &AtomicU64) {
    loop {
        let seen = requested.load(Ordering::Relaxed);
        actix_web::rt::task::yield_now().await;
        actix_web::rt::task::yield_now().await;
        if requested.load(Ordering::Relaxed) == seen {
            return;
        }
    }
}

pub fn request_loader(db: Db, actor: Option<Actor>) -> RequestLoader {
    RequestLoader {
        shared: Arc::new(Shared {
            loaders: Loaders { db, actor },
            requested: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }),
    }
}

/// Keys naming one record by natural key; one type per table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PracticeKey(pub String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FederationKey(pub String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IctKey(pub String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleKey(pub String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProgrammeKey(pub String);

/// A practice's federations on a day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FederationsOf(pub String, pub NaiveDate);
/// A practice's ICTs on a day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IctsOf(pub String, pub NaiveDate);
/// A federation's membership periods.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FederationMembershipsOf(pub String);
/// An ICT's membership periods.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IctMembershipsOf(pub String);
/// An ICT's partner services.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartnerServicesOf(pub String);

/// A page of a parent's placements; `args` is the query, serialised, so that keys with the
/// same arguments batch together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlacementsOf {
    pub parent: PlacementParent,
    pub key: String,
    pub args: Arc<str>,
}
/// The number of a parent's placements matching a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlacementCountOf(pub PlacementsOf);
/// A page of a group's member practices, with the group's total.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MembersOf {
    pub kind: GroupKind,
    pub code: String,
    pub args: Arc<str>,
}

/// Groups keys that share their arguments, so each group is one statement.
fn by_args<K: Clone, A: Clone + Eq + std::hash::Hash>(keys: &[K], args: impl Fn(&K) -> A) -> HashMap<A, Vec<K>> {
    let mut out: HashMap<A, Vec<K>> = HashMap::new();
    for k in keys {
        out.entry(args(k)).or_default().push(k.clone());
    }
    out
}

fn parse_args<T: serde::de::DeserializeOwned>(args: &str) -> Result<T, async_graphql::Error> {
    serde_json::from_str(args).map_err(|e| async_graphql::Error::new(format!("internal loader key: {e}")))
}

macro_rules! simple_loader {
    ($key:ty, $value:ty, $lookup:path) => {
        impl Loader<$key> for Loaders {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let db = self.db.clone();
                let codes: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                let found = blocking(move || $lookup(&db, &codes)).await?;
                Ok(found.into_iter().map(|(k, v)| (<$key>::from(k), v)).collect())
            }
        }
        impl From<String> for $key {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

simple_loader!(PracticeKey, Practice, lookups::practices_by_ods);
simple_loader!(FederationKey, Federation, lookups::federations_by_code);
simple_loader!(IctKey, IntegratedCareTeam, lookups::icts_by_code);
simple_loader!(RoleKey, Role, lookups::roles_by_code);
simple_loader!(ProgrammeKey, Programme, lookups::programmes_by_code);
simple_loader!(FederationMembershipsOf, Vec<FederationMembership>, lookups::federation_memberships);
simple_loader!(IctMembershipsOf, Vec<IctMembership>, lookups::ict_memberships);
simple_loader!(PartnerServicesOf, Vec<PartnerService>, lookups::partner_services);

macro_rules! on_day_loader {
    ($key:ident, $value:ty, $lookup:path) => {
        impl Loader<$key> for Loaders {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let mut out = HashMap::new();
                for (day, group) in by_args(keys, |k| k.1) {
                    let db = self.db.clone();
                    let codes: Vec<String> = group.iter().map(|k| k.0.clone()).collect();
                    let mut found = blocking(move || $lookup(&db, &codes, day)).await?;
                    for k in group {
                        let v = found.remove(&k.0).unwrap_or_default();
                        out.insert(k, v);
                    }
                }
                Ok(out)
            }
        }
    };
}

on_day_loader!(FederationsOf, Vec<Federation>, lookups::federations_of_practices);
on_day_loader!(IctsOf, Vec<IntegratedCareTeam>, lookups::icts_of_practices);

impl Loader<PlacementsOf> for Loaders {
    type Value = Page<Placement>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[PlacementsOf]) -> Result<HashMap<PlacementsOf, Page<Placement>>, Self::Error> {
        let mut out = HashMap::new();
        for ((parent, args), group) in by_args(keys, |k| (k.parent, k.args.clone())) {
            let query: PlacementQuery = parse_args(&args)?;
            let (db, actor) = (self.db.clone(), self.actor.clone());
            let codes: Vec<String> = group.iter().map(|k| k.key.clone()).collect();
            let mut pages =
                blocking(move || placement_queries::pages_by_parent(&db, actor.as_ref(), parent, &codes, &query))
                    .await?;
            for k in group {
                if let Some(p) = pages.remove(&k.key) {
                    out.insert(k, p);
                }
            }
        }
        Ok(out)
    }
}

impl Loader<PlacementCountOf> for Loaders {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[PlacementCountOf]) -> Result<HashMap<PlacementCountOf, i64>, Self::Error> {
        let mut out = HashMap::new();
        for ((parent, args), group) in by_args(keys, |k| (k.0.parent, k.0.args.clone())) {
            let query: PlacementQuery = parse_args(&args)?;
            let (db, actor) = (self.db.clone(), self.actor.clone());
            let codes: Vec<String> = group.iter().map(|k| k.0.key.clone()).collect();
            let mut counts =
                blocking(move || placement_queries::counts_by_parent(&db, actor.as_ref(), parent, &codes, &query))
                    .await?;
            for k in group {
                let n = counts.remove(&k.0.key).unwrap_or(0);
                out.insert(k, n);
            }
        }
        Ok(out)
    }
}

impl Loader<MembersOf> for Loaders {
    type Value = (Page<Practice>, i64);
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MembersOf]) -> Result<HashMap<MembersOf, (Page<Practice>, i64)>, Self::Error> {
        let mut out = HashMap::new();
        for ((kind, args), group) in by_args(keys, |k| (k.kind, k.args.clone())) {
            let query: PracticeQuery = parse_args(&args)?;
            let db = self.db.clone();
            let codes: Vec<String> = group.iter().map(|k| k.code.clone()).collect();
            let mut pages = blocking(move || practice_queries::members_by_group(&db, kind, &codes, &query)).await?;
            for k in group {
                if let Some(p) = pages.remove(&k.code) {
                    out.insert(k, p);
                }
            }
        }
        Ok(out)
    }
}
