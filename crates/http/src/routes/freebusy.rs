//! Free/busy of users and their common free slots.

use actix_web::web;
use chrono::{DateTime, Duration, Utc};
use convene_domain::freebusy::{
    self, DEFAULT_SLOTS, DEFAULT_STEP_MINUTES, MAX_SLOTS, MAX_STEP_MINUTES,
};
use convene_domain::ids::UserId;
use convene_domain::schedule::{self, TimeRange, MAX_WINDOW_DAYS};
use convene_domain::time::parse_timestamp;
use convene_domain::validation::FieldError;
use convene_service::freebusy::{self as service, Availability, SlotSearch};
use convene_service::Services;

use crate::auth::Session;
use crate::dto::{
    FreeBusyRead, FreeBusyRequest, FreeBusyUser, Interval, NotVisibleCode, SlotsRead, SlotsRequest,
    UserBusy, UserNotVisible, WholeNumber,
};
use crate::error::{blocking, ApiError, Problem};
use crate::negotiate::{Body, Reply};

/// A required timestamp of the body; problems go to `errors`.
fn body_time(
    field: &str,
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    match raw {
        None => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
        Some(raw) => parse_timestamp(raw)
            .map_err(|m| errors.push(FieldError::new(field, m)))
            .ok(),
    }
}

/// The users and window every free/busy request names, checked together.
fn users_and_window(
    user_ids: Option<&[WholeNumber]>,
    from: Option<&str>,
    to: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> (Vec<UserId>, Option<TimeRange>) {
    let users = match user_ids {
        None => {
            errors.push(FieldError::new("user_ids", "is required"));
            Vec::new()
        }
        Some(ids) => {
            let ids: Option<Vec<UserId>> = ids.iter().map(|id| id.value().map(UserId)).collect();
            match ids.map(|ids| freebusy::users(&ids)) {
                Some(Ok(users)) => users,
                Some(Err(e)) => {
                    errors.push(e);
                    Vec::new()
                }
                None => {
                    errors.push(FieldError::new("user_ids", "must hold integer user ids"));
                    Vec::new()
                }
            }
        }
    };
    let from = body_time("from", from, errors);
    let to = body_time("to", to, errors);
    let window = match (from, to) {
        (Some(from), Some(to)) => schedule::window(from, to).map_err(|e| errors.push(e)).ok(),
        _ => None,
    };
    (users, window)
}

/// Free/busy of users.
///
/// For each requested user (1–50; repeats answered once) that the caller may see —
/// themselves and their collaborators, users who share at least one event with them
/// either way — the merged busy intervals within `[from, to)`: the busy (opaque)
/// occurrences of the events that user owns, clipped to the window, without titles.
/// Anyone else, and ids of no user, answer `{user_id, error: "not_visible"}`. `to` must
/// be after `from` and at most 366 days after it (422). An entry lists at most 2,000
/// intervals; one with more busy time after its last interval says `truncated: true`
/// (ask again with `from` at that interval's end).
#[utoipa::path(
    post, path = "/api/freebusy", operation_id = "freeBusy", tag = "events",
    request_body = FreeBusyRequest,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Busy time per user, in request order", body = FreeBusyRead),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Missing or out-of-range fields", body = Problem),
    )
)]
pub async fn freebusy(
    services: web::Data<Services>,
    session: Session,
    Body(body): Body<FreeBusyRequest>,
) -> Result<Reply<FreeBusyRead>, ApiError> {
    let mut errors = Vec::new();
    let (users, window) = users_and_window(
        body.user_ids.as_deref(),
        body.from.as_deref(),
        body.to.as_deref(),
        &mut errors,
    );
    let (Some(window), true) = (window, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let answers =
        blocking(move || service::freebusy(&services, &session.user(&services)?, &users, &window))
            .await?;
    Ok(Reply::ok(FreeBusyRead {
        from: window.start(),
        to: window.end(),
        users: answers
            .into_iter()
            .map(|(user, availability)| match availability {
                Availability::Busy(busy) => FreeBusyUser::Busy(UserBusy {
                    user_id: user.0,
                    busy: busy.intervals.into_iter().map(Interval::from).collect(),
                    truncated: busy.truncated,
                }),
                Availability::NotVisible => FreeBusyUser::NotVisible(UserNotVisible {
                    user_id: user.0,
                    error: NotVisibleCode::NotVisible,
                }),
            })
            .collect(),
    }))
}

/// Common free slots of users.
///
/// The earliest intervals of `duration_minutes` within `[from, to)` when every listed
/// user the caller may see (themselves and their collaborators; others are left out) is
/// free, starting on multiples of `step_minutes` (default 15) from the Unix epoch, so on
/// :00, :15, :30 and :45 UTC by default; at most `limit` (default 20, at most 100).
/// `user_ids` 1–50; `to` after `from`, at most 366 days after it; `duration_minutes`
/// 1–527,040; `step_minutes` 1–1440 (422 otherwise).
#[utoipa::path(
    post, path = "/api/freebusy/slots", operation_id = "freeSlots", tag = "events",
    request_body = SlotsRequest,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The earliest common free slots", body = SlotsRead),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Missing or out-of-range fields", body = Problem),
    )
)]
pub async fn slots(
    services: web::Data<Services>,
    session: Session,
    Body(body): Body<SlotsRequest>,
) -> Result<Reply<SlotsRead>, ApiError> {
    let mut errors = Vec::new();
    let (users, window) = users_and_window(
        body.user_ids.as_deref(),
        body.from.as_deref(),
        body.to.as_deref(),
        &mut errors,
    );
    let mut bounded =
        |field: &str, value: Option<WholeNumber>, default: Option<i64>, max: i64| match value
            // A fraction (not schema-valid) reads as 0: out of range.
            .map(|v| v.value().unwrap_or(0))
            .or(default)
        {
            None => {
                errors.push(FieldError::new(field, "is required"));
                None
            }
            Some(v) if !(1..=max).contains(&v) => {
                errors.push(FieldError::new(field, format!("must be from 1 to {max}")));
                None
            }
            Some(v) => Some(v),
        };
    let length = bounded(
        "duration_minutes",
        body.duration_minutes,
        None,
        MAX_WINDOW_DAYS * 24 * 60,
    );
    let step = bounded(
        "step_minutes",
        body.step_minutes,
        Some(DEFAULT_STEP_MINUTES),
        MAX_STEP_MINUTES,
    );
    let limit = bounded("limit", body.limit, Some(DEFAULT_SLOTS), MAX_SLOTS);
    let (Some(window), Some(length), Some(step), Some(limit), true) =
        (window, length, step, limit, errors.is_empty())
    else {
        return Err(ApiError::validation(errors));
    };
    let search = SlotSearch {
        length: Duration::minutes(length),
        step: Duration::minutes(step),
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    };
    let slots = blocking(move || {
        service::slots(
            &services,
            &session.user(&services)?,
            &users,
            &window,
            search,
        )
    })
    .await?;
    Ok(Reply::ok(SlotsRead {
        slots: slots.into_iter().map(Interval::from).collect(),
    }))
}
