//! Convene's HTTP layer: extract (auth, body in JSON or MessagePack, query), call a use
//! case on the blocking pool, map errors to problem details, encode per `Accept`.
//! This crate never writes SQL.

pub mod auth;
pub mod client;
pub mod coalesce;
pub mod docs;
pub mod dto;
pub mod error;
pub mod etag;
pub mod ical;
pub mod metrics;
pub mod negotiate;
pub mod openapi;
pub mod paging;
pub mod routes;
pub mod telemetry;
pub mod ws;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{web, FromRequest, Handler, Resource, Responder, Route};

pub use auth::AuthRateLimit;
pub use openapi::{openapi_json, ApiDoc};

use crate::coalesce::Coalesced;
use crate::error::ApiError;
use crate::negotiate::Reply;

/// One method of a resource and its handler.
struct Endpoint {
    method: Method,
    route: Route,
}

/// `method` answered by `handler`, with no authentication of its own.
fn open<F, Args>(method: Method, handler: F) -> Endpoint
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    Endpoint {
        route: web::route().method(method.clone()).to(handler),
        method,
    }
}

/// `method` answered by `handler` for an authenticated caller: the token's signature and
/// expiry are checked (401) before anything else of the request is, its session by the
/// handler ([`auth::Session`]) or, if the handler answered without, right after it.
fn authed<F, Args>(method: Method, handler: F) -> Endpoint
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let Endpoint { method, route } = open(method, handler);
    Endpoint {
        method,
        route: route.wrap(from_fn(auth::require_auth)),
    }
}

/// A resource answering `endpoints`; any other method answers 405 with `Allow` listing
/// these (not the app's 404).
fn resource<const N: usize>(path: &str, endpoints: [Endpoint; N]) -> Resource {
    let allow = endpoints
        .iter()
        .map(|e| e.method.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut resource = web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move { Err::<Reply<()>, _>(ApiError::method_not_allowed(allow)) }
    }));
    for endpoint in endpoints {
        resource = resource.route(endpoint.route);
    }
    resource
}

/// The requests a server answers together ([`coalesce`]): the GETs of one event and the
/// session checks of requests with a body. Make them once per server and give every
/// worker's app both, so that a round gathers the requests of all the workers.
///
/// Runners, measured on two cores (`cargo bench -p convene-bench --bench http`): GETs of
/// one event with one runner for the whole server were 25 % faster than with one per
/// worker, and two were slower than one (52–53 % of a point read against 56–59 %). Session
/// checks sit on a write's path, where a second runner spares a check the wait for a
/// whole round ahead of it (PostgreSQL updates at 64–67 % of their limit with one, 69–71 %
/// with two).
pub fn coalesced() -> (
    web::Data<routes::events::EventReads>,
    web::Data<auth::SessionChecks>,
) {
    (
        web::Data::new(Coalesced::new(convene_service::events::get_by_tokens, 1)),
        web::Data::new(Coalesced::new(convene_service::auth::callers, 2)),
    )
}

/// Registers every route, the docs, and the query/path error handlers. The caller
/// provides `web::Data<Services>`, `web::Data<convene_live::Hub>`,
/// `web::Data<AuthRateLimit>` and the two of [`coalesced`], and wraps the app in
/// [`negotiate::problem_responses`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    use routes::{
        auth, events, feeds, freebusy, health, history, notifications, occurrences, sharing, users,
    };
    use Method as M;
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            // actix's "Query deserialize error: " prefix names its own parts.
            let text = e.to_string();
            let why = text
                .strip_prefix("Query deserialize error: ")
                .unwrap_or(&text);
            ApiError::invalid_query(format!("invalid query: {why}")).into()
        }))
        .service(resource("/healthz", [open(M::GET, health::healthz)]))
        .service(resource("/readyz", [open(M::GET, health::readyz)]))
        .service(resource("/metrics", [open(M::GET, metrics::metrics)]))
        .service(resource(
            "/ws/notifications",
            [open(M::GET, ws::notifications_ws)],
        ))
        .service(
            web::scope("/api")
                .service(resource("/auth/register", [open(M::POST, auth::register)]))
                .service(resource("/auth/login", [open(M::POST, auth::login)]))
                .service(resource("/auth/refresh", [open(M::POST, auth::refresh)]))
                .service(resource("/auth/logout", [authed(M::POST, auth::logout)]))
                .service(resource("/auth/me", [authed(M::GET, auth::me)]))
                .service(resource("/users", [authed(M::GET, users::find)]))
                .service(resource(
                    "/events",
                    [
                        authed(M::GET, events::list),
                        authed(M::POST, events::create),
                    ],
                ))
                .service(resource(
                    "/events/import",
                    [authed(M::POST, events::import)],
                ))
                .service(resource(
                    "/events/batch",
                    [authed(M::POST, events::create_batch)],
                ))
                .service(resource(
                    "/occurrences",
                    [authed(M::GET, occurrences::list)],
                ))
                .service(resource("/calendar.ics", [open(M::GET, feeds::calendar)]))
                .service(resource(
                    "/feed-tokens",
                    [authed(M::GET, feeds::list), authed(M::POST, feeds::create)],
                ))
                .service(resource(
                    "/feed-tokens/{id}",
                    [authed(M::DELETE, feeds::revoke)],
                ))
                .service(resource("/freebusy", [authed(M::POST, freebusy::freebusy)]))
                .service(resource(
                    "/freebusy/slots",
                    [authed(M::POST, freebusy::slots)],
                ))
                .service(resource(
                    "/events/{id}/occurrences/{recurrence_id}",
                    [
                        authed(M::PATCH, occurrences::update),
                        authed(M::DELETE, occurrences::cancel),
                    ],
                ))
                .service(resource(
                    "/events/{id}/split",
                    [authed(M::POST, occurrences::split)],
                ))
                .service(resource(
                    "/events/{id}",
                    [
                        authed(M::GET, events::get),
                        authed(M::PUT, events::update),
                        authed(M::PATCH, events::patch),
                        authed(M::DELETE, events::delete),
                    ],
                ))
                .service(resource(
                    "/events/{id}/share",
                    [authed(M::POST, sharing::share)],
                ))
                .service(resource(
                    "/events/{id}/permissions",
                    [authed(M::GET, sharing::list)],
                ))
                .service(resource(
                    "/events/{id}/permissions/{user_id}",
                    [
                        authed(M::PUT, sharing::change_role),
                        authed(M::DELETE, sharing::revoke),
                    ],
                ))
                .service(resource(
                    "/events/{id}/changelog",
                    [authed(M::GET, history::changelog)],
                ))
                .service(resource(
                    "/events/{id}/versions/{version}",
                    [authed(M::GET, history::version)],
                ))
                .service(resource(
                    "/events/{id}/diff/{v1}/{v2}",
                    [authed(M::GET, history::diff)],
                ))
                .service(resource(
                    "/events/{id}/rollback/{version}",
                    [authed(M::POST, history::rollback)],
                ))
                .service(resource(
                    "/notifications",
                    [authed(M::GET, notifications::list)],
                ))
                .service(resource(
                    "/notifications/read-all",
                    [authed(M::POST, notifications::read_all)],
                ))
                .service(resource(
                    "/notifications/{id}/read",
                    [authed(M::POST, notifications::read)],
                )),
        )
        .configure(docs::configure);
}

/// The answer for routes that do not exist: a 404 problem.
pub async fn not_found() -> Result<Reply<()>, ApiError> {
    Err(ApiError::not_found())
}
