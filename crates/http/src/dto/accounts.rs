//! Accounts and tokens: register, login, refresh, the user documents.

use chrono::{DateTime, Utc};
use convene_domain::account::User;
use convene_service::auth::{TokenPair, UserSummary as DomainUserSummary};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rfc3339;

/// `POST /api/auth/register` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3–50 characters of `[A-Za-z0-9_.-]`, unique case-insensitively.
    #[schema(value_type = String, required = true, min_length = 3, max_length = 50, pattern = "^[A-Za-z0-9_.-]+$", example = "alice")]
    pub username: Option<String>,
    /// A valid email address (internationalised ones too), at most 254 characters,
    /// unique case-insensitively.
    #[schema(value_type = String, required = true, format = Email, max_length = 254, example = "alice@example.com")]
    pub email: Option<String>,
    /// 8–72 bytes of UTF-8; longer passwords are refused, never truncated. A schema
    /// counts characters, so it says 2–72 (every string of 8–72 bytes has that many);
    /// the byte bounds themselves are checked by the server (422 naming `password`).
    #[schema(value_type = String, required = true, format = Password, min_length = 2, max_length = 72, example = "correct horse")]
    pub password: Option<String>,
}

/// `POST /api/auth/login` body (JSON, MessagePack or the OAuth2 password form).
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username or email.
    #[schema(value_type = String, required = true, example = "alice")]
    pub username: Option<String>,
    /// The password.
    #[schema(value_type = String, required = true, format = Password)]
    pub password: Option<String>,
    /// OAuth2 `grant_type`; optional, must be `password` when given.
    #[schema(pattern = "^password$", example = "password")]
    pub grant_type: Option<String>,
}

/// `POST /api/auth/refresh` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from the last `Token`; single use.
    #[schema(value_type = String, required = true)]
    pub refresh_token: Option<String>,
}

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserRead {
    /// The user's id.
    pub id: i64,
    /// Username as registered.
    pub username: String,
    /// Email as registered.
    pub email: String,
    /// Always `user`.
    #[schema(example = "user")]
    pub role: &'static str,
    /// Registration time, UTC.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserRead {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
            email: u.email,
            role: "user",
            created_at: u.created_at,
        }
    }
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    /// JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 1800)]
    pub expires_in: i64,
    /// Single-use token for `POST /api/auth/refresh`.
    pub refresh_token: String,
}

impl From<TokenPair> for Token {
    fn from(t: TokenPair) -> Self {
        Self {
            access_token: t.access_token,
            token_type: "bearer",
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
        }
    }
}

/// A user found by username; never exposes the email.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummary {
    /// The user's id.
    pub id: i64,
    /// Their username.
    pub username: String,
}

impl From<DomainUserSummary> for UserSummary {
    fn from(u: DomainUserSummary) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
        }
    }
}
