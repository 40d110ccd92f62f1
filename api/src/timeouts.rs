//! Time limits on a request, beyond the header timeout the HTTP server applies itself: the
//! whole body must arrive within the body timeout (a body trickled at a byte a second no
//! longer holds a connection open indefinitely), and the request must be answered within its
//! deadline. A batch of placements may be large and has longer limits of its own.
//!
//! The deadline bounds what the client waits for. Work already handed to the database is
//! bounded by the database's statement timeout (see `DATABASE_STATEMENT_TIMEOUT`), and a
//! write either commits whole or not at all: a client answered 503 here retries with the same
//! `Idempotency-Key` and learns which.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::rt::time::{sleep_until, Instant, Sleep};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, ResponseError};
use futures_util::Stream;

use crate::error::ApiError;

/// The limits, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long the whole request body may take to arrive.
    pub body: Duration,
    /// How long a request may take from its headers to its answer.
    pub deadline: Duration,
    /// Both, for a batch of placements.
    pub batch: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { body: Duration::from_secs(30), deadline: Duration::from_secs(30), batch: Duration::from_secs(600) }
    }
}

/// The routes that take a large body and long work by design.
const LONG_RUNNING: &[&str] = &["/api/v1/placements/batch"];

impl Timeouts {
    fn for_path(&self, path: &str) -> (Duration, Duration) {
        match LONG_RUNNING.contains(&path) {
            true => (self.batch, self.batch),
            false => (self.body, self.deadline),
        }
    }
}

/// The request body, failing once its time is up.
struct TimedBody {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
}

impl Stream for TimedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.expired.store(true, Ordering::Relaxed);
                let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "the request body took too long");
                Poll::Ready(Some(Err(PayloadError::Io(e))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// When the request's headers were read (set by [`body`]).
#[derive(Clone, Copy)]
struct Started(Instant);

/// Times the request body (around everything that reads it), and answers 408 when it ran
/// out of time, however the handler took the failed read.
pub async fn body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limits = req.app_data::<web::Data<Timeouts>>().map(|t| *t.get_ref()).unwrap_or_default();
    let (body, _) = limits.for_path(req.path());
    let started = Instant::now();
    req.extensions_mut().insert(Started(started));
    // A request without a body (most reads) needs no timer for one.
    let headers = req.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers.get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0");
    if !has_body {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    let expired = Arc::new(AtomicBool::new(false));
    let inner = req.take_payload();
    let timed = TimedBody { inner, sleep: Box::pin(sleep_until(started + body)), expired: expired.clone() };
    req.set_payload(Payload::from(Box::pin(timed) as Pin<Box<dyn Stream<Item = _>>>));
    let answered = next.call(req).await;
    if !expired.load(Ordering::Relaxed) {
        return answered.map(ServiceResponse::map_into_left_body);
    }
    let late = ApiError::RequestTimeout(format!("the request body did not arrive within {} s", body.as_secs()));
    let Ok(res) = answered else { return Err(late.into()) };
    let mut answer = late.error_response();
    // The rest of the body may still be on its way: the connection is not reused.
    answer.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, answer).map_into_right_body())
}

/// Answers 503 when the request is not answered within its deadline, counted from its
/// headers. It wraps each resource rather than the app: the request may be shared only
/// once it has been routed.
pub async fn deadline(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limits = req.app_data::<web::Data<Timeouts>>().map(|t| *t.get_ref()).unwrap_or_default();
    let (_, deadline) = limits.for_path(req.path());
    let started = req.extensions().get::<Started>().map(|s| s.0).unwrap_or_else(Instant::now);
    let request = req.request().clone();
    match tokio::time::timeout_at(started + deadline, next.call(req)).await {
        Ok(answered) => answered.map(ServiceResponse::map_into_left_body),
        Err(_) => {
            let late = ApiError::Domain(pcr_schema::DomainError::Unavailable(format!(
                "the request was not answered within its deadline of {} s; if it was a write, it may have been made: retry it with the same Idempotency-Key",
                deadline.as_secs()
            )));
            Ok(ServiceResponse::new(request, late.error_response()).map_into_right_body())
        }
    }
}
