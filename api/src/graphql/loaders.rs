//! Request-scoped loaders: every relation resolves through one of these, so a nested
//! query costs one statement per relation per level, however many parents it has.

use std::any::{Any, TypeId};
use std::collections::HashMap;

// foldhash for the request's own maps (the Loader trait fixes the std map it returns).
use foldhash::{HashMap as FastMap, HashMapExt, HashSet as FastSet, HashSetExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::dataloader::Loader;
use chrono::NaiveDate;
use pcr_schema::domain::lookups::{self, KindRecord};
use pcr_schema::domain::placements::{self as placement_queries, PlacementParent, PlacementQuery};
use pcr_schema::domain::practices::{self as practice_queries, PracticeQuery};
use pcr_schema::models::federation::{Federation, Pcn};
use pcr_schema::models::ict::IntegratedCareTeam;
use pcr_schema::models::membership::{FederationMembership, IctMembership, PartnerService, PcnMembership};
use pcr_schema::models::organisation::Affiliation;
use pcr_schema::models::placement::Placement;
use pcr_schema::models::practice::Practice;
use pcr_schema::models::programme::Programme;
use pcr_schema::models::role::Role;
use pcr_schema::pagination::Page;
use pcr_schema::{Actor, Db};
use tokio::sync::oneshot;

use super::errors::domain;

/// The loaders of one request: they share the request's database handle and caller.
pub struct Loaders {
    db: Db,
    actor: Option<Actor>,
    /// Records a loader's statement brought along for another loader (the roles joined onto
    /// a page of placements), by key type (`HashMap<K, V>` behind `Any`).
    primed: Mutex<FastMap<TypeId, Box<dyn Any + Send>>>,
}

impl Loaders {
    fn prime<K, V>(&self, entries: impl IntoIterator<Item = (K, V)>)
    where
        K: std::hash::Hash + Eq + Send + 'static,
        V: Send + 'static,
    {
        let mut primed = self.primed.lock().unwrap_or_else(|p| p.into_inner());
        let map = primed.entry(TypeId::of::<K>()).or_insert_with(|| Box::new(FastMap::<K, V>::new()));
        if let Some(map) = map.downcast_mut::<FastMap<K, V>>() {
            map.extend(entries);
        }
    }

    fn primed<K, V>(&self, key: &K) -> Option<V>
    where
        K: std::hash::Hash + Eq + 'static,
        V: Clone + 'static,
    {
        let primed = self.primed.lock().unwrap_or_else(|p| p.into_inner());
        primed.get(&TypeId::of::<K>())?.downcast_ref::<FastMap<K, V>>()?.get(key).cloned()
    }
}

/// A request's loader. Keys asked for while the request resolves one level of the query are
/// collected per key type and loaded in one call. A batch closes when the request stops
/// asking for keys — not after a timer: a fixed delay splits a level's keys into several
/// batches whenever resolving the level takes longer than the delay (200 practices in a
/// debug build, say). The first caller of a batch waits for the level to settle and then
/// loads it, on the request's own thread and connection, for every caller.
pub struct RequestLoader {
    shared: Arc<Shared>,
}

struct Shared {
    loaders: Loaders,
    /// Keys asked for so far; a batch waits until this stops moving.
    requested: AtomicU64,
    /// The open batch of each key type (`Batch<K, V>` behind `Any`).
    open: Mutex<FastMap<TypeId, Box<dyn Any + Send>>>,
}

type Loaded<K, V> = Result<Arc<HashMap<K, V>>, async_graphql::Error>;

struct Batch<K, V> {
    keys: FastSet<K>,
    waiters: Vec<oneshot::Sender<Loaded<K, V>>>,
}

impl RequestLoader {
    pub async fn load_one<K>(&self, key: K) -> Result<Option<<Loaders as Loader<K>>::Value>, async_graphql::Error>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        Loaders: Loader<K, Error = async_graphql::Error>,
    {
        if let Some(v) = self.shared.loaders.primed::<K, <Loaders as Loader<K>>::Value>(&key) {
            return Ok(Some(v));
        }
        loop {
            let (first, rx) = self.shared.ask(key.clone())?;
            if first {
                let mut lead = Lead::<K> { shared: &self.shared, armed: true, key: std::marker::PhantomData };
                settle(&self.shared.requested).await;
                let batch = self.shared.close::<K>();
                lead.armed = false;
                if let Some(batch) = batch {
                    self.shared.answer(batch).await;
                }
            }
            match rx.await {
                Ok(loaded) => return Ok(loaded?.get(&key).cloned()),
                // The caller that was to load this batch was dropped with its part of the
                // query (an error elsewhere cut it short): ask again, in a new batch.
                Err(_) => continue,
            }
        }
    }
}

/// The first caller of a batch. If it is dropped before closing the batch, the batch goes
/// too, so its other callers ask again rather than wait for ever.
struct Lead<'a, K: 'static> {
    shared: &'a Shared,
    armed: bool,
    key: std::marker::PhantomData<K>,
}

impl<K: 'static> Drop for Lead<'_, K> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.open.lock().unwrap_or_else(|p| p.into_inner()).remove(&TypeId::of::<K>());
        }
    }
}

type Asked<K> = (bool, oneshot::Receiver<Loaded<K, <Loaders as Loader<K>>::Value>>);

impl Shared {
    /// Adds `key` to the open batch of its type; true when it opened the batch.
    fn ask<K>(&self, key: K) -> Result<Asked<K>, async_graphql::Error>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        Loaders: Loader<K, Error = async_graphql::Error>,
    {
        type V<K> = <Loaders as Loader<K>>::Value;
        self.requested.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel::<Loaded<K, V<K>>>();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let entry = open
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Box::new(Batch::<K, V<K>> { keys: FastSet::new(), waiters: Vec::new() }));
        match entry.downcast_mut::<Batch<K, V<K>>>() {
            Some(batch) => {
                let first = batch.waiters.is_empty();
                batch.keys.insert(key);
                batch.waiters.push(tx);
                Ok((first, rx))
            }
            None => Err(async_graphql::Error::new("loader batch of the wrong type")),
        }
    }

    /// Takes the open batch of `K`; keys asked for from now on start a new one.
    fn close<K>(&self) -> Option<Box<Batch<K, <Loaders as Loader<K>>::Value>>>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        Loaders: Loader<K, Error = async_graphql::Error>,
    {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.remove(&TypeId::of::<K>()).and_then(|b| b.downcast::<Batch<K, <Loaders as Loader<K>>::Value>>().ok())
    }

    /// Loads a closed batch in one call and answers every caller.
    async fn answer<K>(&self, batch: Box<Batch<K, <Loaders as Loader<K>>::Value>>)
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        Loaders: Loader<K, Error = async_graphql::Error>,
    {
        let Batch { keys, waiters } = *batch;
        let keys: Vec<K> = keys.into_iter().collect();
        let loaded = self.loaders.load(&keys).await.map(Arc::new);
        for waiter in waiters {
            let _ = waiter.send(loaded.clone());
        }
    }
}

/// Lets the rest of the request run until it has asked for every key it is going to ask
/// for at this point of the query: the count of keys stops moving between two turns.
async fn settle(requested: &AtomicU64) {
    loop {
        let seen = requested.load(Ordering::Relaxed);
        super::executor::yield_now().await;
        super::executor::yield_now().await;
        if requested.load(Ordering::Relaxed) == seen {
            return;
        }
    }
}

pub fn request_loader(db: Db, actor: Option<Actor>) -> RequestLoader {
    RequestLoader {
        shared: Arc::new(Shared {
            loaders: Loaders { db, actor, primed: Mutex::new(FastMap::new()) },
            requested: AtomicU64::new(0),
            open: Mutex::new(FastMap::new()),
        }),
    }
}

/// Keys naming one record by natural key; one type per table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PracticeKey(pub String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FederationKey(pub String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PcnKey(pub String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IctKey(pub String);
/// An organisation of any kind, as its kind's record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrganisationKey(pub String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleKey(pub String);
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProgrammeKey(pub String);

/// A practice's federations on a day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FederationsOf(pub String, pub NaiveDate);
/// A practice's PCNs on a day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PcnsOf(pub String, pub NaiveDate);
/// A PCN's membership periods.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PcnMembershipsOf(pub String);
/// An organisation's affiliations, on a day or all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AffiliationsOf(pub String, pub Option<NaiveDate>);
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

/// A page of a parent's placements; keys with the same arguments (`args`) batch together.
/// `with_roles`: the query goes on to the placements' roles, so the page's statement brings
/// them too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementsOf {
    pub parent: PlacementParent,
    pub key: String,
    pub args: Arc<PlacementQuery>,
    pub with_roles: bool,
}

// The arguments are compared but not hashed: hashing a whole query for every parent's key
// cost more than the rare clash of one parent's pages with different arguments.
impl std::hash::Hash for PlacementsOf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.parent, &self.key, self.with_roles).hash(state);
    }
}
/// The number of a parent's placements matching a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlacementCountOf(pub PlacementsOf);
/// A page of a group's member practices, with the group's total. `placements`: the query
/// goes on to one page of each member's placements, with these arguments; the members'
/// statement brings those pages too and they wait in the placement loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersOf {
    pub code: String,
    pub args: Arc<PracticeQuery>,
    pub placements: Option<NestedPlacements>,
}

// As for PlacementsOf: the arguments are compared, not hashed.
impl std::hash::Hash for MembersOf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.code.hash(state);
    }
}

/// The page of placements asked for under every member practice, keyed as [`PlacementsOf`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NestedPlacements {
    pub args: Arc<PlacementQuery>,
    pub with_roles: bool,
}

/// Groups keys that share their arguments, so each group is one statement.
fn by_args<K: Clone, A: Clone + Eq + std::hash::Hash>(keys: &[K], args: impl Fn(&K) -> A) -> FastMap<A, Vec<K>> {
    let mut out: FastMap<A, Vec<K>> = FastMap::new();
    for k in keys {
        out.entry(args(k)).or_default().push(k.clone());
    }
    out
}

macro_rules! simple_loader {
    ($key:ty, $value:ty, $lookup:path) => {
        impl Loader<$key> for Loaders {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let db = self.db.clone();
                let codes: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                let found = domain(move || $lookup(&db, &codes))?;
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
simple_loader!(PcnKey, Pcn, lookups::pcns_by_code);
simple_loader!(IctKey, IntegratedCareTeam, lookups::icts_by_code);
simple_loader!(OrganisationKey, KindRecord, lookups::records_by_code);
simple_loader!(PcnMembershipsOf, Vec<PcnMembership>, lookups::pcn_memberships);
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
                    let mut found = domain(move || $lookup(&db, &codes, day))?;
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
on_day_loader!(PcnsOf, Vec<Pcn>, lookups::pcns_of_practices);
on_day_loader!(AffiliationsOf, Vec<Affiliation>, affiliations_on);

/// Every affiliation of each organisation, or those holding on `day`.
fn affiliations_on(
    db: &Db,
    codes: &[String],
    day: Option<NaiveDate>,
) -> pcr_schema::DomainResult<std::collections::HashMap<String, Vec<Affiliation>>> {
    let query = pcr_schema::domain::organisations::AffiliationQuery { active_on: day, kind: None };
    pcr_schema::domain::organisations::affiliations_of(db, codes, &query)
}

impl Loader<PlacementsOf> for Loaders {
    type Value = Page<Placement>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[PlacementsOf]) -> Result<HashMap<PlacementsOf, Page<Placement>>, Self::Error> {
        let mut out = HashMap::new();
        for ((parent, args), group) in by_args(keys, |k| (k.parent, k.args.clone())) {
            let query: &PlacementQuery = &args;
            let (db, actor) = (&self.db, self.actor.as_ref());
            let codes: Vec<String> = group.iter().map(|k| k.key.clone()).collect();
            let with_roles = group.iter().any(|k| k.with_roles);
            let found = domain(|| placement_queries::pages_by_parent(db, actor, parent, &codes, query, with_roles))?;
            self.prime(found.roles.into_iter().map(|(code, role)| (RoleKey(code), role)));
            let mut pages = found.pages;
            // The same parent may be asked for with and without its roles: hand a page over
            // to its last key and copy it for the others.
            let mut group = group;
            group.sort_by(|a, b| a.key.cmp(&b.key));
            for i in 0..group.len() {
                let last = group.get(i + 1).is_none_or(|next| next.key != group[i].key);
                let page = if last { pages.remove(&group[i].key) } else { pages.get(&group[i].key).cloned() };
                if let Some(p) = page {
                    out.insert(group[i].clone(), p);
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
            let query: &PlacementQuery = &args;
            let (db, actor) = (self.db.clone(), self.actor.clone());
            let codes: Vec<String> = group.iter().map(|k| k.0.key.clone()).collect();
            let mut counts =
                domain(|| placement_queries::counts_by_parent(&db, actor.as_ref(), parent, &codes, query))?;
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
        for ((args, nested), group) in by_args(keys, |k| (k.args.clone(), k.placements.clone())) {
            let query: &PracticeQuery = &args;
            let codes: Vec<String> = group.iter().map(|k| k.code.clone()).collect();
            let mut pages = match &nested {
                None => domain(|| practice_queries::members_by_group(&self.db, &codes, query))?,
                Some(n) => {
                    let pq: &PlacementQuery = &n.args;
                    let (pages, placements) = domain(|| {
                        practice_queries::members_with_placements(&self.db, self.actor.as_ref(), &codes, query, pq)
                    })?;
                    if let Some(found) = placements {
                        self.prime(found.roles.into_iter().map(|(code, role)| (RoleKey(code), role)));
                        self.prime(found.pages.into_iter().map(|(ods, page)| {
                            let key = PlacementsOf {
                                parent: PlacementParent::Host,
                                key: ods,
                                args: n.args.clone(),
                                with_roles: n.with_roles,
                            };
                            (key, page)
                        }));
                    }
                    pages
                }
            };
            for k in group {
                if let Some(p) = pages.remove(&k.code) {
                    out.insert(k, p);
                }
            }
        }
        Ok(out)
    }
}
