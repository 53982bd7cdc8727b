//! `/api/events/{id}/share` and `/api/events/{id}/permissions`.

use actix_web::web;
use convene_domain::ids::{EventId, UserId};
use convene_service::sharing::{self, Grant};
use convene_service::Services;

use crate::auth::Session;
use crate::dto::{PermissionRead, RoleUpdate, ShareList};
use crate::error::{blocking, ApiError, Problem};
use crate::negotiate::{Body, ListBody, Reply};

/// Share the event with users as `editor` or `viewer` (owner only).
///
/// Upsert: an existing participant's role is changed. Atomic: an unknown user, the owner
/// themself, a user listed twice or a role other than editor/viewer fails the whole
/// request with 422 (`errors` carry the entry's `index`). At most 100 entries: a longer
/// list answers 413.
#[utoipa::path(
    post, path = "/api/events/{id}/share", operation_id = "shareEvent", tag = "sharing",
    params(("id" = i64, Path, description = "Event id")),
    request_body = ShareList,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The permissions of the entries given", body = [PermissionRead]),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Only the owner shares", body = Problem),
        (status = 404, description = "No such event, or no access to it", body = Problem),
        (status = 413, description = "More than 100 entries, or body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Invalid entries; nothing stored", body = Problem),
    )
)]
pub async fn share(
    services: web::Data<Services>,
    session: Session,
    id: web::Path<i64>,
    ListBody(ShareList(entries)): ListBody<ShareList>,
) -> Result<Reply<Vec<PermissionRead>>, ApiError> {
    let id = EventId(id.into_inner());
    let grants = entries
        .into_iter()
        .map(|e| Grant {
            user_id: e.user_id.map(UserId),
            role: e.role,
        })
        .collect();
    let granted =
        blocking(move || sharing::share(&services, &session.user(&services)?, id, grants)).await?;
    Ok(Reply::ok(
        granted.into_iter().map(PermissionRead::from).collect(),
    ))
}

/// Everyone with access to the event, the owner first (any participant).
#[utoipa::path(
    get, path = "/api/events/{id}/permissions", operation_id = "listEventPermissions", tag = "sharing",
    params(("id" = i64, Path, description = "Event id")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Owner first, then grants oldest first", body = [PermissionRead]),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 404, description = "No such event, or no access to it", body = Problem),
    )
)]
pub async fn list(
    services: web::Data<Services>,
    session: Session,
    id: web::Path<i64>,
) -> Result<Reply<Vec<PermissionRead>>, ApiError> {
    let id = EventId(id.into_inner());
    let all = blocking(move || sharing::list(&services, &session.user(&services)?, id)).await?;
    Ok(Reply::ok(
        all.into_iter().map(PermissionRead::from).collect(),
    ))
}

/// Change a participant's role (owner only); 404 if that user has no permission (the
/// owner included: the owner's role never changes).
#[utoipa::path(
    put, path = "/api/events/{id}/permissions/{user_id}", operation_id = "setEventPermission", tag = "sharing",
    params(("id" = i64, Path, description = "Event id"), ("user_id" = i64, Path, description = "Participant")),
    request_body = RoleUpdate,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The changed permission", body = PermissionRead),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Only the owner changes roles", body = Problem),
        (status = 404, description = "No such event or permission", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Invalid role", body = Problem),
    )
)]
pub async fn change_role(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<(i64, i64)>,
    Body(body): Body<RoleUpdate>,
) -> Result<Reply<PermissionRead>, ApiError> {
    let (id, user) = path.into_inner();
    let permission = blocking(move || {
        sharing::change_role(
            &services,
            &session.user(&services)?,
            EventId(id),
            UserId(user),
            body.role,
        )
    })
    .await?;
    Ok(Reply::ok(permission.into()))
}

/// Revoke a participant (the owner), or leave the event (the participant themself).
///
/// A rule no schema can state: `user_id` naming the owner answers 422 (the owner
/// cannot be removed).
#[utoipa::path(
    delete, path = "/api/events/{id}/permissions/{user_id}", operation_id = "revokeEventPermission", tag = "sharing",
    params(("id" = i64, Path, description = "Event id"), ("user_id" = i64, Path, description = "Participant")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Only the owner removes others", body = Problem),
        (status = 404, description = "No such event or permission", body = Problem),
        (status = 422, description = "The owner's access cannot be revoked", body = Problem),
    )
)]
pub async fn revoke(
    services: web::Data<Services>,
    session: Session,
    path: web::Path<(i64, i64)>,
) -> Result<Reply<()>, ApiError> {
    let (id, user) = path.into_inner();
    blocking(move || {
        sharing::revoke(
            &services,
            &session.user(&services)?,
            EventId(id),
            UserId(user),
        )
    })
    .await?;
    Ok(Reply::no_content())
}
