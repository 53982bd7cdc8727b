//! Convene's HTTP layer: extract (auth, body in JSON or MessagePack, query), call a use
//! case on the blocking pool, map errors to problem details, encode per `Accept`.
//! This crate never writes SQL.

pub mod auth;
pub mod docs;
pub mod dto;
pub mod error;
pub mod etag;
pub mod negotiate;
pub mod openapi;
pub mod paging;
pub mod routes;
pub mod ws;

use actix_web::web;

pub use auth::AuthRateLimit;
pub use openapi::{openapi_json, ApiDoc};

use crate::error::ApiError;
use crate::negotiate::Reply;

/// A resource whose other methods answer 405 (not the app's 404).
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Registers every route, the docs, and the query/path error handlers. The caller
/// provides `web::Data<Services>`, `web::Data<convene_live::Hub>` and `web::Data<AuthRateLimit>` and wraps the app in
/// [`negotiate::problem_responses`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    use routes::{auth, events, health, history, notifications, sharing, users};
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| ApiError::invalid_query(e.to_string()).into()),
        )
        .service(resource("/healthz").route(web::get().to(health::healthz)))
        .service(resource("/readyz").route(web::get().to(health::readyz)))
        .service(resource("/ws/notifications").route(web::get().to(ws::notifications_ws)))
        .service(
            web::scope("/api")
                .service(resource("/auth/register").route(web::post().to(auth::register)))
                .service(resource("/auth/login").route(web::post().to(auth::login)))
                .service(resource("/auth/refresh").route(web::post().to(auth::refresh)))
                .service(resource("/auth/logout").route(web::post().to(auth::logout)))
                .service(resource("/auth/me").route(web::get().to(auth::me)))
                .service(resource("/users").route(web::get().to(users::find)))
                .service(
                    resource("/events")
                        .route(web::get().to(events::list))
                        .route(web::post().to(events::create)),
                )
                .service(resource("/events/batch").route(web::post().to(events::create_batch)))
                .service(
                    resource("/events/{id}")
                        .route(web::get().to(events::get))
                        .route(web::put().to(events::update))
                        .route(web::patch().to(events::patch))
                        .route(web::delete().to(events::delete)),
                )
                .service(resource("/events/{id}/share").route(web::post().to(sharing::share)))
                .service(resource("/events/{id}/permissions").route(web::get().to(sharing::list)))
                .service(
                    resource("/events/{id}/permissions/{user_id}")
                        .route(web::put().to(sharing::change_role))
                        .route(web::delete().to(sharing::revoke)),
                )
                .service(
                    resource("/events/{id}/changelog").route(web::get().to(history::changelog)),
                )
                .service(
                    resource("/events/{id}/versions/{version}")
                        .route(web::get().to(history::version)),
                )
                .service(
                    resource("/events/{id}/diff/{v1}/{v2}").route(web::get().to(history::diff)),
                )
                .service(
                    resource("/events/{id}/rollback/{version}")
                        .route(web::post().to(history::rollback)),
                )
                .service(resource("/notifications").route(web::get().to(notifications::list)))
                .service(
                    resource("/notifications/read-all")
                        .route(web::post().to(notifications::read_all)),
                )
                .service(
                    resource("/notifications/{id}/read").route(web::post().to(notifications::read)),
                ),
        )
        .configure(docs::configure);
}

async fn method_not_allowed() -> Result<Reply<()>, ApiError> {
    Err(ApiError::from_status(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
    ))
}

/// The answer for routes that do not exist: a 404 problem.
pub async fn not_found() -> Result<Reply<()>, ApiError> {
    Err(ApiError::not_found())
}
