//! `/healthz` and `/readyz`.

use std::time::Duration;

use actix_web::web;
use convene_service::Services;

use crate::dto::Status;
use crate::error::{blocking, ApiError, Problem};
use crate::negotiate::Reply;

/// How long readiness waits for a database connection.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "getHealth", tag = "health",
    responses((status = 200, description = "Up", body = Status)))]
pub async fn healthz() -> Reply<Status> {
    Reply::ok(Status { status: "ok" })
}

/// The database is reachable; 503 `unavailable` otherwise.
#[utoipa::path(get, path = "/readyz", operation_id = "getReadiness", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "Database unreachable", body = Problem),
    ))]
pub async fn readyz(services: web::Data<Services>) -> Result<Reply<Status>, ApiError> {
    blocking(move || services.ping(READY_TIMEOUT)).await?;
    Ok(Reply::ok(Status { status: "ready" }))
}
