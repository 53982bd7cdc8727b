//! `/api/notifications`: the caller's inbox.

use actix_web::web;
use convene_domain::ids::NotificationId;
use convene_service::{notifications, Services};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Session;
use crate::dto::{NotificationList, NotificationRead, ReadAll};
use crate::error::{blocking, ApiError, Problem};
use crate::negotiate::Reply;
use crate::paging;

/// Query of the notification list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only unread notifications (`true`/`false`, any case, or `1`/`0`; default `false`).
    #[param(value_type = Option<bool>)]
    pub unread_only: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^n[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// The caller's notifications, newest first, with the unread total.
#[utoipa::path(
    get, path = "/api/notifications", operation_id = "listNotifications", tag = "notifications",
    params(InboxQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "A page of notifications", body = NotificationList),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 422, description = "`limit` out of range", body = Problem),
    )
)]
pub async fn list(
    services: web::Data<Services>,
    session: Session,
    query: web::Query<InboxQuery>,
) -> Result<Reply<NotificationList>, ApiError> {
    let limit = paging::limit(query.limit.as_deref())?;
    let before = query
        .cursor
        .as_deref()
        .map(paging::parse_notification_cursor)
        .transpose()?;
    let unread_only = paging::flag("unread_only", query.unread_only.as_deref())?;
    let inbox = blocking(move || {
        notifications::list(
            &services,
            &session.user(&services)?,
            unread_only,
            before,
            limit,
        )
    })
    .await?;
    Ok(Reply::ok(NotificationList {
        items: inbox
            .page
            .items
            .into_iter()
            .map(NotificationRead::from)
            .collect(),
        next_cursor: inbox.page.next.map(paging::notification_cursor),
        unread_count: inbox.unread_count,
    }))
}

/// Mark one of the caller's notifications read (idempotent); others' answer 404.
#[utoipa::path(
    post, path = "/api/notifications/{id}/read", operation_id = "markNotificationRead", tag = "notifications",
    params(("id" = i64, Path, description = "Notification id")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The notification, read", body = NotificationRead),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 404, description = "No such notification of the caller's", body = Problem),
    )
)]
pub async fn read(
    services: web::Data<Services>,
    session: Session,
    id: web::Path<i64>,
) -> Result<Reply<NotificationRead>, ApiError> {
    let id = NotificationId(id.into_inner());
    let n = blocking(move || notifications::mark_read(&services, &session.user(&services)?, id))
        .await?;
    Ok(Reply::ok(n.into()))
}

/// Mark all of the caller's notifications read.
#[utoipa::path(
    post, path = "/api/notifications/read-all", operation_id = "markAllNotificationsRead", tag = "notifications",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "How many were marked", body = ReadAll),
        (status = 401, description = "Not authenticated", body = Problem),
    )
)]
pub async fn read_all(
    services: web::Data<Services>,
    session: Session,
) -> Result<Reply<ReadAll>, ApiError> {
    let updated =
        blocking(move || notifications::mark_all_read(&services, &session.user(&services)?))
            .await?;
    Ok(Reply::ok(ReadAll { updated }))
}
