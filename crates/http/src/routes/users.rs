//! `/api/users`: finding whom to share with.

use actix_web::web;
use convene_domain::validation::FieldError;
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
    /// Exact username, compared case-insensitively (no match: an empty list). Required
    /// (422 without it, like every missing required value).
    #[param(value_type = String, required = true)]
    pub username: Option<String>,
}

/// Find users by exact username (case-insensitive). Never exposes emails.
#[utoipa::path(
    get, path = "/api/users", operation_id = "findUsers", tag = "users",
    params(UserQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Matching users (zero or one)", body = [UserSummary]),
        (status = 400, description = "`invalid_query`: the query cannot be parsed", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 422, description = "`validation_failed`: no `username`", body = Problem),
    )
)]
pub async fn find(
    services: web::Data<Services>,
    session: Session,
    query: web::Query<UserQuery>,
) -> Result<Reply<Vec<UserSummary>>, ApiError> {
    let Some(username) = query.into_inner().username else {
        return Err(ApiError::validation(vec![FieldError::new(
            "username",
            "is required",
        )]));
    };
    let users = blocking(move || {
        session.caller(&services)?;
        auth::find_users(&services, &username)
    })
    .await?;
    Ok(Reply::ok(
        users.into_iter().map(UserSummary::from).collect(),
    ))
}
