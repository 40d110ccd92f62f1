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

/// Claims `key` for `subject`'s request with this `fingerprint` (a digest of its method,
/// target and body), or finds the answer an earlier request with the same key was given.
/// The same key with another request is 422; one still running is 409.
pub fn claim(db: &Db, subject: &str, key: &str, fingerprint: &str, ttl: std::time::Duration) -> DomainResult<Claimed> {
    check_key(key)?;
    let now = crate::now();
    let ttl = Duration::from_std(ttl).unwrap_or(Duration::days(1));
    let token = super::crud::new_id();
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
                Ok(_) => Ok(Claimed::New(Claim { subject: subject.into(), key: key.into(), token })),
                // Another replica claimed it between our read and our insert.
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Err(in_progress()),
                Err(e) => Err(e.into()),
            };
        };
        if row.fingerprint != fingerprint {
            return Err(DomainError::invalid(
                "Idempotency-Key",
                "was used for a different request (another body or target); use a new key for a new request",
            ));
        }
        if let Some(status) = row.status {
            let headers = row.headers.as_deref().and_then(|h| serde_json::from_str(h).ok()).unwrap_or_default();
            return Ok(Claimed::Replay(StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                headers,
                body: row.body.unwrap_or_default(),
            }));
        }
        if row.claimed_at + Duration::seconds(LEASE_SECS) > now {
            return Err(in_progress());
        }
        // The holder lapsed (its replica died, or it is very slow): take the key over.
        let taken = diesel::update(ik::table.find((subject, key)).filter(ik::claim.eq(&row.claim)))
            .set((ik::claim.eq(&token), ik::claimed_at.eq(now)))
            .execute(c)?;
        match taken {
            1 => Ok(Claimed::New(Claim { subject: subject.into(), key: key.into(), token })),
            _ => Err(in_progress()),
        }
    })
}

/// Records the answer to a claimed key, inside the transaction of the write it answers for.
/// A claim taken over meanwhile fails the transaction, so the write is not made twice.
pub fn complete(c: &mut DbConnection, claim: &Claim, response: &StoredResponse) -> DomainResult<()> {
    let headers = serde_json::to_string(&response.headers).unwrap_or_else(|_| "[]".into());
    let n = diesel::update(
        ik::table.find((&claim.subject, &claim.key)).filter(ik::claim.eq(&claim.token)).filter(ik::status.is_null()),
    )
    .set((ik::status.eq(i32::from(response.status)), ik::headers.eq(headers), ik::body.eq(&response.body)))
    .execute(c)?;
    match n {
        1 => Ok(()),
        _ => Err(DomainError::Conflict(
            "this request's Idempotency-Key was taken over by a retry after it ran too long; nothing was written"
                .into(),
        )),
    }
}

/// Records the answer of a request that wrote nothing (a refusal), to give again.
pub fn complete_alone(db: &Db, claim: &Claim, response: &StoredResponse) -> DomainResult<()> {
    db.write(|c| complete(c, claim, response))
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
