//! `/api/events/{id}/changelog`, `/versions/{v}`, `/diff/{v1}/{v2}`, `/rollback/{v}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use convene_domain::ids::{EventId, Version};
use convene_service::{history, Services};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Session;
use crate::dto::{Changelog, Diff, EventRead, VersionRead};
use crate::error::{blocking, ApiError, Problem};
use crate::etag::precondition;
use crate::negotiate::Reply;
use crate::paging;
use crate::routes::events::event_reply;

/// Page query of the changelog and the notification list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^v[0-9]{1,9}$")]
    pub cursor: Option<String>,
}

/// Every version of the event in order, a page at a time (any participant).
#[utoipa::path(
    get, path = "/api/events/{id}/changelog", operation_id = "listEventVersions", tag = "history",
    params(("id" = i64, Path, description = "Event id"), PageQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Versions in order", body = Changelog),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 404, description = "No such event, or no access to it", body = Problem),
        (status = 422, description = "`limit` out of range", body = Problem),
    )
)]
pub async fn changelog(
    services: web::Data<Services>,
    session: Session,
    id: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<Reply<Changelog>, ApiError> {
    let id = EventId(id.into_inner());
    let limit = paging::limit(query.limit.as_deref())?;
    let after = query
        .cursor
        .as_deref()
        .map(paging::parse_version_cursor)
        .transpose()?;
    let page = blocking(move || {
        history::changelog(&services, &session.user(&services)?, id, after, limit)
    })
    .await?;
    Ok(Reply::ok(Changelog {
        items: page.items.into_iter().map(VersionRead::from).collect(),
        next_cursor: page.next.map(paging::version_cursor),
    }))
}

/// One version (any participant).
#[utoipa::path(
    get, path = "/api/events/{id}/versions/{version}", operation_id = "getEventVersion", tag = "history",
    params(("id" = i64, Path, description = "Event id"), ("version" = i32, Path, description = "Version number")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The version", body = VersionRead),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 404, description = "No such event or version, or no access", body = Problem),
    )
)]
pub async fn version(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<(i64, i32)>,
) -> Result<Reply<VersionRead>, ApiError> {
    let (id, v) = path.into_inner();
    let info = blocking(move || {
        history::version(
            &services,
            &session.user(&services)?,
            EventId(id),
            Version(v),
        )
    })
    .await?;
    Ok(Reply::ok(info.into()))
}

/// The fields that differ between two versions (either order; any participant).
#[utoipa::path(
    get, path = "/api/events/{id}/diff/{v1}/{v2}", operation_id = "diffEventVersions", tag = "history",
    params(("id" = i64, Path, description = "Event id"),
           ("v1" = i32, Path, description = "From version"), ("v2" = i32, Path, description = "To version")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Each differing field as {from, to}", body = Diff),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 404, description = "No such event or version, or no access", body = Problem),
    )
)]
pub async fn diff(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<(i64, i32, i32)>,
) -> Result<Reply<Diff>, ApiError> {
    let (id, v1, v2) = path.into_inner();
    let changes = blocking(move || {
        history::diff(
            &services,
            &session.user(&services)?,
            EventId(id),
            Version(v1),
            Version(v2),
        )
    })
    .await?;
    Ok(Reply::ok(Diff::new(id, v1, v2, changes)))
}

/// Restore a version's content as a new version (owner or editor).
///
/// History is never rewritten: the new version has `change: rolled_back` and
/// `restored_from`. Conflict-checked (409) and `If-Match`-aware (412). Restoring content
/// equal to the current state creates no version.
#[utoipa::path(
    post, path = "/api/events/{id}/rollback/{version}", operation_id = "rollbackEvent", tag = "history",
    params(("id" = i64, Path, description = "Event id"), ("version" = i32, Path, description = "Version to restore"),
           ("If-Match" = Option<String>, Header, nullable = false, description = "`\"<version>\"` or `*`")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The event after the rollback", body = EventRead,
            headers(("ETag" = String, description = "The event's version, quoted (`\"3\"`): send it as `If-Match` or `If-None-Match`"))),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Viewers cannot roll back", body = Problem),
        (status = 404, description = "No such event or version, or no access", body = Problem),
        (status = 409, description = "`event_conflict`", body = Problem),
        (status = 412, description = "`precondition_failed`", body = Problem),
    )
)]
pub async fn rollback(
    req: HttpRequest,
    services: web::Data<Services>,
    session: Session,
    path: web::Path<(i64, i32)>,
) -> Result<Reply<EventRead>, ApiError> {
    let (id, v) = path.into_inner();
    let precondition = precondition(&req);
    let event = blocking(move || {
        history::rollback(
            &services,
            &session.user(&services)?,
            EventId(id),
            Version(v),
            precondition,
        )
    })
    .await?;
    Ok(event_reply(event, StatusCode::OK))
}
