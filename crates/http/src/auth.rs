//! The bearer-token check of authenticated routes and the per-IP rate limit of the auth
//! routes.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, ResponseError};
use convene_domain::account::User;
use convene_service::auth::{caller, verify, Credential, Principal};
use convene_service::{ServiceError, Services};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::client::{limit_key, TrustedProxies};
use crate::coalesce::Coalesced;
use crate::error::{blocking, ApiError};

/// The bearer token of a request, from `Authorization: Bearer <token>`.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The verified access token of a route wrapped in [`require_auth`]. For a request
/// without a body the handler checks the session in the same hand-off to the blocking
/// pool as the work it does ([`Session::caller`], or statements that check it as they
/// read: [`Session::checked_by`]), so the request costs one hand-off, not one for the
/// session and one for the work. A request with a body had its session checked before
/// the body was read; `caller` then answers what that check found.
pub struct Session {
    credential: Credential,
    /// The caller, when the middleware checked the session already.
    known: Option<Principal>,
    /// Set once the session was checked (live or not); what [`require_auth`] reads
    /// after the handler answered.
    checked: Arc<AtomicBool>,
}

impl Session {
    /// The caller, if the session is live (else 401). Call it before anything else the
    /// handler does with the database.
    pub fn caller(&self, services: &Services) -> Result<Principal, ServiceError> {
        match &self.known {
            Some(principal) => Ok(principal.clone()),
            None => {
                let answer = caller(services, self.credential);
                self.was_checked();
                answer
            }
        }
    }

    /// The caller's account: [`Session::caller`]'s user.
    pub fn user(&self, services: &Services) -> Result<User, ServiceError> {
        self.caller(services).map(|principal| principal.user)
    }

    /// `read`'s answer, where `read` checks the session itself (401 when it is over), in
    /// the statements that read what it answers.
    pub async fn checked_by<T, E, F>(&self, read: impl FnOnce(Credential) -> F) -> Result<T, E>
    where
        F: std::future::Future<Output = Result<T, E>>,
    {
        let answer = read(self.credential).await;
        self.was_checked();
        answer
    }

    /// Records that the session was checked, whatever the answer: the session was
    /// live, or the 401 (or the failure of the database, a 5xx) is the answer.
    fn was_checked(&self) {
        self.checked.store(true, Ordering::Release);
    }
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<Pending>()
                .map(|pending| Session {
                    credential: pending.credential,
                    known: pending.known.clone(),
                    checked: pending.checked.clone(),
                })
                .ok_or_else(|| ApiError::internal("route not wrapped in require_auth")),
        )
    }
}

/// What [`require_auth`] leaves its handler: the verified token, the caller if the
/// session was checked already, and whether it has been checked yet.
struct Pending {
    credential: Credential,
    known: Option<Principal>,
    checked: Arc<AtomicBool>,
}

/// Whether the request carries a body (a length above zero, or a chunked one).
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// Route middleware: every credential is checked before the body is read. The access
/// token's signature, algorithm and expiry are verified without the database (401), and
/// for a request with a body the session too, before the handler reads it. For a request
/// without one the handler checks the session in the hand-off that does its work
/// ([`Session`]); if it answered without doing so (a malformed path or query it refused),
/// the session is checked here, after it: a session that is over answers 401 whatever
/// else is wrong with the request.
pub async fn require_auth(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (credential, services) = match verified(req.request()) {
        Ok(verified) => verified,
        Err(refused) => return Ok(req.error_response(refused).map_into_boxed_body()),
    };
    let known = if has_body(&req) {
        match check_session(&req, &services, credential).await {
            Ok(principal) => Some(principal),
            Err(refused) => return Ok(req.error_response(refused).map_into_boxed_body()),
        }
    } else {
        None
    };
    let checked = Arc::new(AtomicBool::new(known.is_some()));
    req.extensions_mut().insert(Pending {
        credential,
        known,
        checked: checked.clone(),
    });
    let request = req.request().clone();
    let answered = next.call(req).await.map(|res| res.map_into_boxed_body());
    if checked.load(Ordering::Acquire) {
        return answered;
    }
    match blocking(move || caller(&services, credential)).await {
        Err(refused) if refused.status_code() == StatusCode::UNAUTHORIZED => {
            Ok(ServiceResponse::from_err(refused, request))
        }
        _ => answered,
    }
}

/// The session checks of requests with a body waiting, answered together
/// ([`convene_service::auth::callers`]; see [`Coalesced`]).
pub type SessionChecks = Coalesced<Services, Credential, Result<Principal, ServiceError>>;

/// The caller of `credential`, if its session is live (else 401), checked in the next
/// round of the server's [`SessionChecks`].
async fn check_session(
    req: &ServiceRequest,
    services: &web::Data<Services>,
    credential: Credential,
) -> Result<Principal, ApiError> {
    let checks = req
        .app_data::<web::Data<SessionChecks>>()
        .ok_or_else(|| ApiError::internal("session checks not configured"))?;
    Ok(checks.ask(services, credential).await??)
}

/// The request's access token, verified without the database (signature, pinned
/// algorithm, expiry), and the use cases that can check its session.
fn verified(req: &HttpRequest) -> Result<(Credential, web::Data<Services>), ApiError> {
    let token = bearer_token(req).ok_or_else(ApiError::unauthorized)?;
    let services = req
        .app_data::<web::Data<Services>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("services not configured"))?;
    let credential = verify(&services, token)?;
    Ok((credential, services))
}

/// A per-client-IP limit on register, login and refresh (one shared budget).
pub struct AuthRateLimit {
    limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
}

/// How many distinct client addresses are tracked before idle ones are forgotten.
const TRACKED_CLIENTS: usize = 10_000;

impl AuthRateLimit {
    /// `per_minute` attempts per IP per minute (bursting up to that many); 0 disables.
    pub fn new(per_minute: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(per_minute)
                .map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n)))),
        }
    }

    /// Counts one attempt from the request's client; 429 with the wait when over.
    ///
    /// The client is the peer address, or behind a trusted proxy the address it
    /// forwarded for ([`TrustedProxies`]); an IPv6 client counts by its /64.
    pub fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let (Some(limiter), Some(client)) = (&self.limiter, TrustedProxies::of(req)) else {
            return Ok(());
        };
        if limiter.len() > TRACKED_CLIENTS {
            limiter.retain_recent();
        }
        limiter.check_key(&limit_key(client)).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        })
    }
}
