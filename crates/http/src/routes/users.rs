//! `/api/users`: finding whom to share with.

use actix_web::web;
use convene_service::{auth, Services};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Session;
use crate::dto::UserSummary;
use crate::error::{blocking, ApiError, Problem};
use crate::negotiate::Reply;

/// Query of the user lookup.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Exact username, compared case-insensitively (no match: an empty list).
    pub username: String,
}

/// Find users by exact username (case-insensitive). Never exposes emails.
#[utoipa::path(
    get, path = "/api/users", operation_id = "findUsers", tag = "users",
    params(UserQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Matching users (zero or one)", body = [UserSummary]),
        (status = 400, description = "`invalid_query`: missing username", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
    )
)]
pub async fn find(
    services: web::Data<Services>,
    session: Session,
    query: web::Query<UserQuery>,
) -> Result<Reply<Vec<UserSummary>>, ApiError> {
    let username = query.into_inner().username;
    let users = blocking(move || {
        session.caller(&services)?;
        auth::find_users(&services, &username)
    })
    .await?;
    Ok(Reply::ok(
        users.into_iter().map(UserSummary::from).collect(),
    ))
}
