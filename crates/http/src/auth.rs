//! The bearer-token extractor and the per-IP rate limit of the auth routes.

use std::future::Future;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use convene_service::auth::{caller, verify, Credential, Principal};
use convene_service::Services;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::client::{limit_key, TrustedProxies};
use crate::error::{blocking, ApiError};

/// The bearer token of a request, from `Authorization: Bearer <token>`.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The authenticated caller; extracting it answers 401 for a missing, invalid, expired
/// or revoked token.
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Routes wrapped in `require_auth` authenticated before anything else ran.
        if let Some(principal) = req.extensions().get::<Principal>().cloned() {
            return Box::pin(async move { Ok(Authenticated(principal)) });
        }
        Box::pin(authenticate_request(req))
    }
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

fn authenticate_request(
    req: &HttpRequest,
) -> impl Future<Output = Result<Authenticated, ApiError>> + 'static {
    let verified = verified(req);
    async move {
        let (credential, services) = verified?;
        let principal = blocking(move || caller(&services, credential)).await?;
        Ok(Authenticated(principal))
    }
}

/// Lets the request on to its handler with `admitted` (what the check found) in its
/// extensions, or answers the refusal. The refusal is a response, not an error, so that
/// the problem middleware outside sees it and encodes it as the client prefers.
async fn admit<T: 'static>(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    admitted: Result<T, ApiError>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match admitted {
        Ok(found) => {
            req.extensions_mut().insert(found);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(refused) => Ok(req.error_response(refused).map_into_boxed_body()),
    }
}

/// Route middleware: authenticates the caller before the handler's extractors run, so a
/// bad token answers 401 whatever is wrong with the body (its type, size or syntax),
/// and the body of an unauthenticated request is never read.
pub async fn require_auth(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let admitted = authenticate_request(req.request())
        .await
        .map(|Authenticated(principal)| principal);
    admit(req, next, admitted).await
}

/// The verified access token of a route wrapped in [`require_token`]: its handler checks
/// the session in the statement that reads what it answers (401 when it is over).
pub struct Token(pub Credential);

impl FromRequest for Token {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<Credential>()
                .copied()
                .map(Token)
                .ok_or_else(|| ApiError::internal("route not wrapped in require_token")),
        )
    }
}

/// Route middleware for reads that check the session themselves: verifies the token's
/// signature, algorithm and expiry (401) before anything else of the request is looked
/// at, without the database. The handler (through [`Token`]) answers 401 for a token
/// whose session is over, in the statement that reads.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let admitted = verified(req.request()).map(|(credential, _)| credential);
    admit(req, next, admitted).await
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
