//! `/api/auth/*`: register, login, refresh, logout, me.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use convene_domain::account::RegistrationInput;
use convene_domain::validation::FieldError;
use convene_service::{auth, Services};

use crate::auth::{AuthRateLimit, Session};
use crate::dto::{LoginRequest, RefreshRequest, RegisterRequest, Token, UserRead};
use crate::error::{blocking, ApiError, Problem};
use crate::negotiate::{Body, FormOrBody, Reply};

/// Register an account.
///
/// A rule no schema can state: the password is 8–72 bytes of UTF-8 (the schema's 2–72
/// characters is the closest it can say); outside that, 422 naming `password`. A taken
/// username or email is 409.
#[utoipa::path(
    post, path = "/api/auth/register", operation_id = "registerUser", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = UserRead),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 409, description = "`username_taken` or `email_taken`", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
    )
)]
pub async fn register(
    req: HttpRequest,
    services: web::Data<Services>,
    limit: web::Data<AuthRateLimit>,
    Body(body): Body<RegisterRequest>,
) -> Result<Reply<UserRead>, ApiError> {
    limit.check(&req)?;
    let input = RegistrationInput {
        username: body.username,
        email: body.email,
        password: body.password,
    };
    let user = blocking(move || auth::register(&services, input)).await?;
    Ok(Reply::with_status(StatusCode::CREATED, user.into()))
}

/// Log in with username (or email) and password.
///
/// Accepts JSON or MessagePack. The OAuth2 password form
/// (`application/x-www-form-urlencoded` with `username` and `password`, `grant_type=password`
/// optional) is accepted too, so that OAuth2 clients and Swagger UI's Authorize button
/// work; it is described here and by the `oauth2` security scheme rather than as a third
/// body type, so that generated clients send JSON.
#[utoipa::path(
    post, path = "/api/auth/login", operation_id = "loginUser", tag = "auth",
    request_body(content(
        (LoginRequest = "application/json"),
        (LoginRequest = "application/msgpack"),
    )),
    responses(
        (status = 200, description = "Logged in", body = Token),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Wrong username or password", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Missing fields", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
    )
)]
pub async fn login(
    req: HttpRequest,
    services: web::Data<Services>,
    limit: web::Data<AuthRateLimit>,
    FormOrBody(body): FormOrBody<LoginRequest>,
) -> Result<Reply<Token>, ApiError> {
    limit.check(&req)?;
    let mut errors = Vec::new();
    if body.grant_type.as_deref().is_some_and(|g| g != "password") {
        errors.push(FieldError::new("grant_type", "must be \"password\""));
    }
    if body.username.is_none() {
        errors.push(FieldError::new("username", "is required"));
    }
    if body.password.is_none() {
        errors.push(FieldError::new("password", "is required"));
    }
    let (Some(username), Some(password), true) = (body.username, body.password, errors.is_empty())
    else {
        return Err(ApiError::validation(errors));
    };
    let pair = blocking(move || auth::login(&services, &username, &password)).await?;
    Ok(Reply::ok(pair.into()))
}

/// Exchange a refresh token for a new pair.
///
/// The presented token is spent. Presenting a spent token again revokes the whole
/// session (theft detection) and answers 401.
#[utoipa::path(
    post, path = "/api/auth/refresh", operation_id = "refreshTokens", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = Token),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Unknown, expired, spent or revoked refresh token", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Missing field", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
    )
)]
pub async fn refresh(
    req: HttpRequest,
    services: web::Data<Services>,
    limit: web::Data<AuthRateLimit>,
    Body(body): Body<RefreshRequest>,
) -> Result<Reply<Token>, ApiError> {
    limit.check(&req)?;
    let token = body.refresh_token.ok_or_else(|| {
        ApiError::validation(vec![FieldError::new("refresh_token", "is required")])
    })?;
    let pair = blocking(move || auth::refresh(&services, &token)).await?;
    Ok(Reply::ok(pair.into()))
}

/// Log out: revoke this session's refresh and access tokens at once.
#[utoipa::path(
    post, path = "/api/auth/logout", operation_id = "logoutUser", tag = "auth",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Session revoked"),
        (status = 401, description = "Not authenticated", body = Problem),
    )
)]
pub async fn logout(
    services: web::Data<Services>,
    session: Session,
) -> Result<Reply<()>, ApiError> {
    blocking(move || auth::logout(&services, &session.caller(&services)?)).await?;
    Ok(Reply::no_content())
}

/// The caller's account.
#[utoipa::path(
    get, path = "/api/auth/me", operation_id = "getCurrentUser", tag = "auth",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The caller", body = UserRead),
        (status = 401, description = "Not authenticated", body = Problem),
    )
)]
pub async fn me(
    services: web::Data<Services>,
    session: Session,
) -> Result<Reply<UserRead>, ApiError> {
    let principal = blocking(move || session.caller(&services)).await?;
    Ok(Reply::ok(principal.user.into()))
}
