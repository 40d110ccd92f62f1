//! The write flow every entity shares: authorise, validate, check the version, write,
//! audit — in one transaction. REST and GraphQL both call these.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::actor::{require, Actor, Scope};
use crate::audit::{self, Action};
use crate::db::{Db, DbConnection};
use crate::error::{DomainError, DomainResult, FieldError};

/// What the shared write flow needs to know about one kind of record.
pub trait Entity: Sized + Clone {
    /// The entity's name in audit rows and errors, e.g. `practice`.
    const NAME: &'static str;
    /// The scope a writer needs.
    const WRITE_SCOPE: Scope;
    /// The scope a reader needs; `None` for public reference data.
    const READ_SCOPE: Option<Scope> = None;
    /// The writable fields, as clients send them (PUT body; PATCH merges into it).
    type Input: Serialize + DeserializeOwned;
    /// The representation clients read.
    type View: Serialize;

    fn id(&self) -> &str;
    fn version(&self) -> i32;
    fn view(&self) -> Self::View;
    fn to_input(&self) -> Self::Input;

    /// Finds by id or natural key (ODS code, code).
    fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>>;
    /// Validates `input` and builds the record; `current` is the record being replaced.
    fn build(conn: &mut DbConnection, input: Self::Input, current: Option<&Self>) -> DomainResult<Self>;
    fn insert(&self, conn: &mut DbConnection) -> DomainResult<()>;
    /// Writes `self` over the row at `expected_version`; returns rows changed (0 = lost a race).
    fn update(&self, conn: &mut DbConnection, expected_version: i32) -> DomainResult<usize>;
    fn delete(&self, conn: &mut DbConnection) -> DomainResult<usize>;

    /// Stamps a new record with its creator, where the entity records one.
    fn on_create(&mut self, _actor: &Actor) {}

    /// Rules about which records this actor may write beyond the scope (partner scoping).
    fn authorize(_actor: &Actor, _record: &Self, _conn: &mut DbConnection) -> DomainResult<()> {
        Ok(())
    }
}

/// Context-free parts of a new record.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn get<E: Entity>(db: &Db, actor: Option<&Actor>, key: &str) -> DomainResult<E> {
    if let Some(scope) = E::READ_SCOPE {
        require(actor, scope)?;
    }
    db.read(|c| E::find(c, key)?.ok_or_else(|| DomainError::not_found(E::NAME, key)))
}

pub fn create<E: Entity>(db: &Db, actor: Option<&Actor>, input: E::Input) -> DomainResult<E> {
    let actor = require(actor, E::WRITE_SCOPE)?;
    db.write(|c| {
        let mut record = E::build(c, input, None)?;
        record.on_create(actor);
        E::authorize(actor, &record, c)?;
        record.insert(c)?;
        audit::record::<E::View, E::View>(c, actor, Action::Create, E::NAME, record.id(), None, Some(&record.view()))?;
        Ok(record)
    })
}

fn check_version(current: i32, expected: i32) -> DomainResult<()> {
    if current != expected {
        return Err(DomainError::VersionMismatch { current, expected });
    }
    Ok(())
}

fn replace<E: Entity>(
    c: &mut DbConnection,
    actor: &Actor,
    current: E,
    expected_version: i32,
    input: E::Input,
    action: Action,
) -> DomainResult<E> {
    let record = E::build(c, input, Some(&current))?;
    E::authorize(actor, &current, c)?;
    E::authorize(actor, &record, c)?;
    if record.update(c, expected_version)? == 0 {
        // Someone committed between our read and our write.
        let now = E::find(c, current.id())?.ok_or_else(|| DomainError::not_found(E::NAME, current.id()))?;
        return Err(DomainError::VersionMismatch { current: now.version(), expected: expected_version });
    }
    audit::record(c, actor, action, E::NAME, record.id(), Some(&current.view()), Some(&record.view()))?;
    Ok(record)
}

fn load<E: Entity>(c: &mut DbConnection, key: &str) -> DomainResult<E> {
    E::find(c, key)?.ok_or_else(|| DomainError::not_found(E::NAME, key))
}

/// Full replacement (PUT).
pub fn update<E: Entity>(
    db: &Db,
    actor: Option<&Actor>,
    key: &str,
    expected_version: i32,
    input: E::Input,
) -> DomainResult<E> {
    let actor = require(actor, E::WRITE_SCOPE)?;
    db.write(|c| {
        let current: E = load(c, key)?;
        check_version(current.version(), expected_version)?;
        replace(c, actor, current, expected_version, input, Action::Update)
    })
}

/// JSON merge patch (RFC 7396) over the record's writable fields.
pub fn patch<E: Entity>(
    db: &Db,
    actor: Option<&Actor>,
    key: &str,
    expected_version: i32,
    patch: serde_json::Value,
) -> DomainResult<E> {
    patch_as(db, actor, key, expected_version, patch, Action::Update)
}

pub(crate) fn patch_as<E: Entity>(
    db: &Db,
    actor: Option<&Actor>,
    key: &str,
    expected_version: i32,
    patch: serde_json::Value,
    action: Action,
) -> DomainResult<E> {
    let actor = require(actor, E::WRITE_SCOPE)?;
    if !patch.is_object() {
        return Err(DomainError::invalid("body", "a merge patch must be a JSON object"));
    }
    db.write(|c| {
        let current: E = load(c, key)?;
        check_version(current.version(), expected_version)?;
        let mut doc = serde_json::to_value(current.to_input())
            .map_err(|e| DomainError::BadRequest(format!("cannot represent the record: {e}")))?;
        merge_patch(&mut doc, &patch);
        let input: E::Input = from_json_value(doc)?;
        replace(c, actor, current, expected_version, input, action)
    })
}

pub fn delete<E: Entity>(db: &Db, actor: Option<&Actor>, key: &str, expected_version: i32) -> DomainResult<()> {
    let actor = require(actor, E::WRITE_SCOPE)?;
    db.write(|c| {
        let current: E = load(c, key)?;
        check_version(current.version(), expected_version)?;
        E::authorize(actor, &current, c)?;
        if current.delete(c)? == 0 {
            return Err(DomainError::VersionMismatch { current: -1, expected: expected_version });
        }
        audit::record::<E::View, E::View>(
            c,
            actor,
            Action::Delete,
            E::NAME,
            current.id(),
            Some(&current.view()),
            None,
        )?;
        Ok(())
    })
}

/// RFC 7396: objects merge recursively, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Deserialises an input, naming the field at fault (`hoursPerWeek`, `addressLines/1`).
pub fn from_json_value<T: DeserializeOwned>(v: serde_json::Value) -> DomainResult<T> {
    serde_path_to_error::deserialize(v).map_err(json_field_error)
}

/// Deserialises a request body; syntax errors are 400, shape errors 422 with the field.
pub fn from_json_slice<T: DeserializeOwned>(body: &[u8]) -> DomainResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let out = serde_path_to_error::deserialize(de).map_err(|e| {
        if e.inner().is_syntax() || e.inner().is_eof() {
            DomainError::BadRequest(format!("the body is not valid JSON: {}", e.inner()))
        } else {
            json_field_error(e)
        }
    })?;
    Ok(out)
}

fn json_field_error(e: serde_path_to_error::Error<serde_json::Error>) -> DomainError {
    let path = e.path().to_string();
    let field = if path == "." || path.is_empty() { "body".to_string() } else { path.replace('.', "/") };
    let msg = e.inner().to_string();
    // serde_json appends " at line X column Y"; the field path says where.
    let msg = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    DomainError::Invalid(vec![FieldError::new(field, msg)])
}
