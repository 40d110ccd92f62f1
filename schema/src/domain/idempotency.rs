//! Idempotency keys: a client retrying a POST (a network error, a timeout) sends the same
//! `Idempotency-Key` and gets the first answer, without a second write. Keys belong to the
//! token's subject and live in the database, shared by every replica, until they expire.
//!
//! The first request claims its key in a transaction of its own (the primary key makes the
//! claim exclusive on every replica), then writes its answer beside its write, in the write's
//! transaction: the write and the record of it commit together or not at all. A claim whose
//! holder died before committing lapses after [`LEASE_SECS`] and may be taken over; the old
//! holder, if it was only slow, then finds its claim gone and rolls back instead of writing
//! twice.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::db::{Db, DbConnection};
use crate::error::{DomainError, DomainResult};
use crate::tables::idempotency_keys as ik;

/// How long a request may hold its key before a retry may take it over: longer than any
/// write runs, short enough that a crashed replica does not block the client for long.
pub const LEASE_SECS: i64 = 60;

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// An answer as it was given, to give again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A key held by the request running now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    subject: String,
    key: String,
    token: String,
}

/// What claiming a key found.
#[derive(Debug)]
pub enum Claimed {
    /// The key is this request's: run it, and complete the claim with its answer.
    New(Claim),
    /// The key was used by the same request before: its answer.
    Replay(StoredResponse),
}

/// Keys are visible ASCII, 1 to 255 characters (a UUID is the usual choice).
pub fn check_key(key: &str) -> DomainResult<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DomainError::invalid(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters, e.g. a UUID"),
        ));
    }
    Ok(())
}

#[derive(Queryable)]
struct Row {
    fingerprint: String,
    claim: String,
    claimed_at: NaiveDateTime,
    status: Option<i32>,
    headers: Option<String>,
    body: Option<String>,
}

fn in_progress() -> DomainError {
    DomainError::Conflict(
        "a request with this Idempotency-Key is still being processed; retry it shortly for its answer".into(),
    )
}

/// What claiming a key for a request whose body has not arrived yet found (a batch, read
/// as it streams in): the key is free, or it was answered for the request with this
/// fingerprint, to compare once the body is read.
#[derive(Debug)]
pub enum ClaimedUnread {
    New(Claim),
    Answered { fingerprint: String, response: StoredResponse },
}

/// The fingerprint kept while an unread request holds its key; its own is written with its
/// answer.
const UNREAD: &str = "unread";

/// A request's fingerprint (a digest of its method, target and body) bound to the caller. A
/// key belongs to its subject, and its answer to the caller as it was: the same subject
/// acting for another organisation, or with other scopes, makes another request (else a
/// replay would hand one organisation's answer to a token for another).
pub fn caller_bound(caller: &Actor, fingerprint: &str) -> String {
    let mut scopes = caller.scopes.clone();
    scopes.sort();
    format!("{fingerprint} org={} scopes={}", caller.org.as_deref().unwrap_or(""), scopes.join(","))
}

fn reused() -> DomainError {
    DomainError::invalid(
        "Idempotency-Key",
        "was used for a different request (another body, target or caller); use a new key for a new request",
    )
}

/// What was found under a key.
enum Taken {
    /// Claimed for this request.
    New(Claim),
    /// Answered, for the request with this fingerprint.
    Answered(String, StoredResponse),
    /// Held by a running request with this fingerprint.
    Running(String),
}

/// Claims `key` for the caller with `fingerprint` kept beside it, or says what holds it. A
/// lapsed holder is taken over when `may_take_over` says its fingerprint allows.
fn take(
    db: &Db,
    caller: &Actor,
    key: &str,
    fingerprint: &str,
    ttl: std::time::Duration,
    may_take_over: impl Fn(&str) -> bool,
) -> DomainResult<Taken> {
    check_key(key)?;
    let subject = caller.subject.as_str();
    let now = crate::now();
    let ttl = Duration::from_std(ttl).unwrap_or(Duration::days(1));
    let token = super::crud::new_id();
    let claim = || Claim { subject: subject.into(), key: key.into(), token: token.clone() };
    db.write(|c| {
        diesel::delete(ik::table.filter(ik::expires_at.lt(now))).execute(c)?;
        let found: Option<Row> = ik::table
            .find((subject, key))
            .select((ik::fingerprint, ik::claim, ik::claimed_at, ik::status, ik::headers, ik::body))
            .first(c)
            .optional()?;
        let Some(row) = found else {
            let inserted = diesel::insert_into(ik::table)
                .values((
                    ik::subject.eq(subject),
                    ik::idempotency_key.eq(key),
                    ik::fingerprint.eq(fingerprint),
                    ik::claim.eq(&token),
                    ik::claimed_at.eq(now),
                    ik::expires_at.eq(now + ttl),
                ))
                .execute(c);
            return match inserted {
                Ok(_) => Ok(Taken::New(claim())),
                // Another replica claimed it between our read and our insert.
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Err(in_progress()),
                Err(e) => Err(e.into()),
            };
        };
        if let Some(status) = row.status {
            let headers = row.headers.as_deref().and_then(|h| serde_json::from_str(h).ok()).unwrap_or_default();
            let response = StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                headers,
                body: row.body.unwrap_or_default(),
            };
            return Ok(Taken::Answered(row.fingerprint, response));
        }
        if row.claimed_at + Duration::seconds(LEASE_SECS) > now || !may_take_over(&row.fingerprint) {
            return Ok(Taken::Running(row.fingerprint));
        }
        // The holder lapsed (its replica died, or it is very slow): take the key over.
        let taken = diesel::update(ik::table.find((subject, key)).filter(ik::claim.eq(&row.claim)))
            .set((ik::claim.eq(&token), ik::claimed_at.eq(now)))
            .execute(c)?;
        match taken {
            1 => Ok(Taken::New(claim())),
            _ => Err(in_progress()),
        }
    })
}

/// Claims `key` for the caller's request with this `fingerprint`, or finds the answer an
/// earlier request with the same key was given. The same key with another request is 422;
/// one still running is 409.
pub fn claim(db: &Db, caller: &Actor, key: &str, fingerprint: &str, ttl: std::time::Duration) -> DomainResult<Claimed> {
    let print = caller_bound(caller, fingerprint);
    match take(db, caller, key, &print, ttl, |f| f == print)? {
        Taken::New(claim) => Ok(Claimed::New(claim)),
        Taken::Answered(f, response) if f == print => Ok(Claimed::Replay(response)),
        Taken::Running(f) if f == print => Err(in_progress()),
        Taken::Answered(..) | Taken::Running(_) => Err(reused()),
    }
}

/// Claims `key` for a request whose body is still to come: the caller reads it, and either
/// completes the claim with the body's fingerprint ([`complete_as`]) or compares the
/// fingerprint of an earlier answer with [`caller_bound`] of its own.
pub fn claim_unread(db: &Db, caller: &Actor, key: &str, ttl: std::time::Duration) -> DomainResult<ClaimedUnread> {
    match take(db, caller, key, UNREAD, ttl, |f| f == UNREAD)? {
        Taken::New(claim) => Ok(ClaimedUnread::New(claim)),
        Taken::Answered(fingerprint, response) => Ok(ClaimedUnread::Answered { fingerprint, response }),
        Taken::Running(f) if f == UNREAD => Err(in_progress()),
        Taken::Running(_) => Err(reused()),
    }
}

/// Whether an earlier answer's fingerprint is this caller's request's.
pub fn same_request(caller: &Actor, answered: &str, fingerprint: &str) -> DomainResult<()> {
    match answered == caller_bound(caller, fingerprint) {
        true => Ok(()),
        false => Err(reused()),
    }
}

/// Records the answer to a claimed key, inside the transaction of the write it answers for.
/// A claim taken over meanwhile fails the transaction, so the write is not made twice.
pub fn complete(c: &mut DbConnection, claim: &Claim, response: &StoredResponse) -> DomainResult<()> {
    complete_as(c, claim, None, response)
}

/// [`complete`], writing the request's fingerprint too (bound to `caller`), for a claim made
/// before the body was read.
pub fn complete_as(
    c: &mut DbConnection,
    claim: &Claim,
    fingerprint: Option<(&Actor, &str)>,
    response: &StoredResponse,
) -> DomainResult<()> {
    let headers = serde_json::to_string(&response.headers).unwrap_or_else(|_| "[]".into());
    let row =
        ik::table.find((&claim.subject, &claim.key)).filter(ik::claim.eq(&claim.token)).filter(ik::status.is_null());
    let answer = (ik::status.eq(i32::from(response.status)), ik::headers.eq(headers), ik::body.eq(&response.body));
    let n = match fingerprint {
        Some((caller, print)) => {
            diesel::update(row).set((answer, ik::fingerprint.eq(caller_bound(caller, print)))).execute(c)?
        }
        None => diesel::update(row).set(answer).execute(c)?,
    };
    match n {
        1 => Ok(()),
        _ => Err(DomainError::Conflict(
            "this request's Idempotency-Key was taken over by a retry after it ran too long; nothing was written"
                .into(),
        )),
    }
}

/// Records the answer of a request that wrote nothing (a refusal), to give again.
pub fn complete_alone(
    db: &Db,
    claim: &Claim,
    fingerprint: Option<(&Actor, &str)>,
    response: &StoredResponse,
) -> DomainResult<()> {
    db.write(|c| complete_as(c, claim, fingerprint, response))
}

/// Gives a key back, after a failure of this server's (5xx): the retry runs it afresh.
pub fn release(db: &Db, claim: &Claim) -> DomainResult<()> {
    db.write(|c| {
        diesel::delete(
            ik::table
                .find((&claim.subject, &claim.key))
                .filter(ik::claim.eq(&claim.token))
                .filter(ik::status.is_null()),
        )
        .execute(c)?;
        Ok(())
    })
}
