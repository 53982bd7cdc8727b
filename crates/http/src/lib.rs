//! Convene's HTTP layer: extract (auth, body in JSON or MessagePack, query), call a use
//! case on the blocking pool, map errors to problem details, encode per `Accept`.
//! This crate never writes SQL.

pub mod auth;
pub mod docs;
pub mod dto;
pub mod error;
pub mod negotiate;
pub mod openapi;
pub mod routes;

use actix_web::web;

pub use auth::AuthRateLimit;
pub use openapi::{openapi_json, ApiDoc};

use crate::error::ApiError;
use crate::negotiate::Reply;

/// Registers every route, the docs, and the JSON/query/path error handlers. The caller
/// provides `web::Data<Services>` and `web::Data<AuthRateLimit>` and wraps the app in
/// [`negotiate::problem_responses`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    use routes::{auth, health, users};
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| ApiError::invalid_query(e.to_string()).into()),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .service(
            web::scope("/api")
                .route("/auth/register", web::post().to(auth::register))
                .route("/auth/login", web::post().to(auth::login))
                .route("/auth/refresh", web::post().to(auth::refresh))
                .route("/auth/logout", web::post().to(auth::logout))
                .route("/auth/me", web::get().to(auth::me))
                .route("/users", web::get().to(users::find)),
        )
        .configure(docs::configure);
}

/// The answer for routes that do not exist: a 404 problem.
pub async fn not_found() -> Result<Reply<()>, ApiError> {
    Err(ApiError::not_found())
}
