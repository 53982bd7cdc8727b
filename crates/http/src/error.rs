//! RFC 9457 problem details: the one shape of every error response.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use convene_domain::validation::FieldError;
use convene_service::error::Conflict;
use convene_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// At most this many field problems are listed in one `validation_failed` answer.
pub const ERRORS_LISTED: usize = 100;

/// When a client may retry after a 503.
pub const UNAVAILABLE_RETRY_SECONDS: u64 = 1;

/// The media type of error bodies in JSON.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document with Convene's extension members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `code` carries the machine-readable kind.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: String,
    /// The status code's reason phrase.
    #[schema(example = "Unprocessable Entity")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 422)]
    pub status: u16,
    /// A stable machine-readable code, e.g. `validation_failed`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// A human explanation of this occurrence.
    pub detail: String,
    /// Every field problem, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldProblem>>,
    /// The owner's events the write would overlap, for `event_conflict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<ConflictProblem>>,
    /// The event's current ETag, for `precondition_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "\"3\"")]
    pub current_etag: Option<String>,
}

/// An event that a write would overlap.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConflictProblem {
    /// The stored event's id; null when the overlap is with another item of the same
    /// batch, or with an event of the owner's that the caller cannot read.
    pub id: Option<i64>,
    /// The conflicting occurrence's identity in its event: its original start (UTC); a
    /// single event's is its start. For an event the caller cannot read, the start of
    /// the busy interval (where a moved occurrence came from is not revealed).
    #[serde(serialize_with = "crate::dto::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub recurrence_id: DateTime<Utc>,
    /// Its title; null for an event the caller cannot read (only its busy interval is
    /// revealed).
    pub title: Option<String>,
    /// Its start (UTC).
    #[serde(serialize_with = "crate::dto::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub start_time: DateTime<Utc>,
    /// Its end (UTC).
    #[serde(serialize_with = "crate::dto::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub end_time: DateTime<Utc>,
    /// In a batch: the index of the request item that conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// In a batch: the index of the other request item it overlaps (when `id` is null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_index: Option<usize>,
}

impl From<Conflict> for ConflictProblem {
    fn from(c: Conflict) -> Self {
        Self {
            id: c.id.map(|id| id.0),
            recurrence_id: c.recurrence_id,
            title: c.title,
            start_time: c.start_time,
            end_time: c.end_time,
            index: c.index,
            batch_index: c.batch_index,
        }
    }
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field's path in the request body (`end_time`; in a batch `events[3].end_time`;
    /// in an import, which has no JSON path, the field's name).
    #[schema(example = "end_time")]
    pub field: String,
    /// What is wrong with it.
    pub message: String,
    /// The item's position, in a batch request (or the component's, in an import).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl From<FieldError> for FieldProblem {
    fn from(e: FieldError) -> Self {
        Self {
            field: e.field,
            message: e.message,
            index: e.index,
        }
    }
}

/// An error answered as problem details.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// Extension members and headers, boxed to keep `Result<_, ApiError>` small.
    ext: Box<Extensions>,
}

/// The optional parts of a problem.
#[derive(Debug, Clone, Default)]
struct Extensions {
    errors: Option<Vec<FieldProblem>>,
    conflicts: Option<Vec<ConflictProblem>>,
    current_etag: Option<String>,
    retry_after: Option<u64>,
    allow: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ApiError {
    /// An error with a status, a stable code and a human detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            ext: Box::default(),
        }
    }

    /// 400 `malformed_body`.
    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_body", detail)
    }

    /// 400 `invalid_query`.
    pub fn invalid_query(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", detail)
    }

    /// 401 `unauthorized`; the detail never says which check failed.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing, invalid, expired or revoked credentials",
        )
    }

    /// 406 `not_acceptable`: the route cannot answer in any format `Accept` admits.
    pub fn not_acceptable(detail: &'static str) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, "not_acceptable", detail)
    }

    /// 405 `method_not_allowed`, with the resource's methods in `Allow` (RFC 9110).
    pub fn method_not_allowed(allow: String) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this resource allows {allow}"),
        );
        e.ext.allow = Some(allow);
        e
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            detail,
        )
    }

    /// 422 `validation_failed` listing every field problem.
    /// At most [`ERRORS_LISTED`] field problems are listed; `detail` gives the total.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut detail = format!("{} invalid field(s)", errors.len());
        if errors.len() > ERRORS_LISTED {
            detail.push_str(&format!("; the first {ERRORS_LISTED} are listed"));
        }
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        );
        e.ext.errors = Some(
            errors
                .into_iter()
                .take(ERRORS_LISTED)
                .map(FieldProblem::from)
                .collect(),
        );
        e
    }

    /// 429 `rate_limited`, retry after `seconds`.
    pub fn rate_limited(seconds: u64) -> Self {
        Self::rate_limited_because(seconds, "too many attempts")
    }

    /// 429 `rate_limited` for `why`, retry after `seconds`.
    pub fn rate_limited_because(seconds: u64, why: &str) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("{why}; retry in {seconds} s"),
        );
        e.ext.retry_after = Some(seconds);
        e
    }

    /// 500 `internal`; the cause is logged here and never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred",
        )
    }

    /// 503 `unavailable`; the cause is logged here and never sent.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(%cause, "service unavailable");
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is temporarily unavailable",
        );
        e.ext.retry_after = Some(UNAVAILABLE_RETRY_SECONDS);
        e
    }

    /// A generic problem for a status nobody described (e.g. 405 from routing).
    pub fn from_status(status: StatusCode) -> Self {
        let code = match status.as_u16() {
            400 => "malformed_body",
            401 => "unauthorized",
            403 => "forbidden",
            409 => "event_conflict",
            412 => "precondition_failed",
            404 => "not_found",
            405 => "method_not_allowed",
            413 => "payload_too_large",
            415 => "unsupported_media_type",
            406 => "not_acceptable",
            429 => "rate_limited",
            503 => "unavailable",
            s if s >= 500 => "internal",
            _ => "error",
        };
        Self::new(status, code, status.canonical_reason().unwrap_or("error"))
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").into(),
            status: self.status.as_u16(),
            code: self.code.into(),
            detail: self.detail.clone(),
            errors: self.ext.errors.clone(),
            conflicts: self.ext.conflicts.clone(),
            current_etag: self.ext.current_etag.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// Always JSON here; the negotiation middleware re-encodes it as MessagePack when
    /// the client prefers that.
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(etag) = &self.ext.current_etag {
            if let Ok(value) = HeaderValue::from_str(etag) {
                res.insert_header((header::ETAG, value));
            }
        }
        if let Some(allow) = &self.ext.allow {
            if let Ok(value) = HeaderValue::from_str(allow) {
                res.insert_header((header::ALLOW, value));
            }
        }
        if let Some(seconds) = self.ext.retry_after {
            res.insert_header((header::RETRY_AFTER, seconds));
        }
        match serde_json::to_vec(&self.problem()) {
            Ok(body) => res.body(body),
            Err(_) => res.finish(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Validation(errors) => Self::validation(errors),
            ServiceError::Unauthorized(why) => {
                tracing::debug!(why, "authentication failed");
                Self::unauthorized()
            }
            ServiceError::UsernameTaken => Self::new(
                StatusCode::CONFLICT,
                "username_taken",
                "that username is already registered",
            ),
            ServiceError::EmailTaken => Self::new(
                StatusCode::CONFLICT,
                "email_taken",
                "that email is already registered",
            ),
            ServiceError::NotFound => Self::not_found(),
            ServiceError::Forbidden(why) => Self::new(StatusCode::FORBIDDEN, "forbidden", why),
            ServiceError::Conflict(conflicts) => {
                let listed = conflicts.listed.len();
                let mut detail = format!("overlaps {} existing event(s)", conflicts.total);
                if listed < conflicts.total {
                    detail.push_str(&format!("; the first {listed} are listed"));
                }
                let mut e = Self::new(StatusCode::CONFLICT, "event_conflict", detail);
                e.ext.conflicts = Some(
                    conflicts
                        .listed
                        .into_iter()
                        .map(ConflictProblem::from)
                        .collect(),
                );
                e
            }
            ServiceError::Contended => {
                let mut e = Self::new(
                    StatusCode::CONFLICT,
                    "event_conflict",
                    "a concurrent change to the same calendar won; retry",
                );
                e.ext.conflicts = Some(Vec::new());
                e
            }
            ServiceError::PreconditionFailed { current } => {
                let mut e = Self::new(
                    StatusCode::PRECONDITION_FAILED,
                    "precondition_failed",
                    "If-Match does not match the event's current ETag",
                );
                e.ext.current_etag = Some(crate::etag::etag(current));
                e
            }
            ServiceError::TooLarge(detail) => Self::payload_too_large(detail),
            ServiceError::Unavailable(cause) => Self::unavailable(cause),
            ServiceError::Internal(cause) => Self::internal(cause),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(e)
    }
}

/// Runs a synchronous use case on the blocking pool, so Diesel and bcrypt never block an
/// Actix worker.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    Ok(actix_web::web::block(f).await??)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status the framework answers by itself gets the contract's code for it.
    #[test]
    fn statuses_nobody_described_get_the_contract_codes() {
        for (status, code) in [
            (StatusCode::BAD_REQUEST, "malformed_body"),
            (StatusCode::NOT_FOUND, "not_found"),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            (StatusCode::NOT_ACCEPTABLE, "not_acceptable"),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            (StatusCode::BAD_GATEWAY, "internal"),
        ] {
            let problem = ApiError::from_status(status).problem();
            assert_eq!(problem.code, code, "{status}");
            assert_eq!(problem.status, status.as_u16(), "{status}");
        }
    }
}
