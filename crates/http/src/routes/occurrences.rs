//! Occurrences: the list of a user's occurrences in a time window, one occurrence's
//! change or cancellation, and "this and following" (split).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use chrono::{DateTime, Utc};
use convene_domain::ids::EventId;
use convene_domain::schedule;
use convene_domain::time::parse_timestamp;
use convene_domain::validation::FieldError;
use convene_service::occurrences::{self, OccurrenceFilter};
use convene_service::{events, Services};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Session;
use crate::dto::{EventRead, OccurrenceList, OccurrenceRead, OccurrenceUpdate, SplitRequest};
use crate::error::{blocking, ApiError, Problem};
use crate::etag::{etag, precondition};
use crate::negotiate::{Body, Reply};
use crate::paging;
use crate::routes::events::{event_reply, query_time, role_filter};

/// Query of the occurrence list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OccurrenceQuery {
    /// Occurrences overlapping `[from, to)` (RFC 3339, as `EventCreate.start_time`).
    #[param(value_type = String, format = DateTime, required = true, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2027-03-01T00:00:00Z")]
    pub from: Option<String>,
    /// The end of the window: after `from`, at most 366 days after it (else 422).
    #[param(value_type = String, format = DateTime, required = true, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2027-04-01T00:00:00Z")]
    pub to: Option<String>,
    /// Only this event's occurrences.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub event_id: Option<String>,
    /// Only of events where the caller has this role.
    #[param(value_type = Option<crate::dto::RoleName>)]
    pub role: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^o[0-9]{1,18}_[0-9]{1,18}_[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// List the occurrences of the caller's events in a window.
///
/// Every occurrence overlapping `[from, to)` of the events the caller owns or that are
/// shared with them (transparent ones included), by `start_time`, then `event_id`;
/// computed from each series' rule and exceptions, also beyond the horizon; cancelled
/// occurrences are not listed, moved ones are listed where they now are. `from` and
/// `to` are required (422 when missing; 400 `invalid_query` when malformed); `to` must
/// be after `from` and at most 366 days after it (422); a `limit` outside 1–200 or an
/// unknown `role` answer 422.
#[utoipa::path(
    get, path = "/api/occurrences", operation_id = "listOccurrences", tag = "events",
    params(OccurrenceQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "A page of occurrences", body = OccurrenceList),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 422, description = "Out-of-range values", body = Problem),
    )
)]
pub async fn list(
    services: web::Data<Services>,
    session: Session,
    query: web::Query<OccurrenceQuery>,
) -> Result<Reply<OccurrenceList>, ApiError> {
    let q = query.into_inner();
    let limit = paging::limit(q.limit.as_deref())?;
    let from = query_time("from", q.from.as_deref())?;
    let to = query_time("to", q.to.as_deref())?;
    let event = q
        .event_id
        .as_deref()
        .map(|raw| {
            raw.trim().parse::<i64>().map(EventId).map_err(|_| {
                ApiError::invalid_query(format!("event_id must be an integer, not {raw:?}"))
            })
        })
        .transpose()?;
    let after = q
        .cursor
        .as_deref()
        .map(paging::parse_occurrence_cursor)
        .transpose()?;
    let mut errors = Vec::new();
    for (name, value) in [("from", from), ("to", to)] {
        if value.is_none() {
            errors.push(FieldError::new(name, "is required"));
        }
    }
    let role = role_filter(q.role.as_deref(), &mut errors);
    let window = match (from, to) {
        (Some(from), Some(to)) => schedule::window(from, to).map_err(|e| errors.push(e)).ok(),
        _ => None,
    };
    if event.is_some_and(|e| e.0 < 1) {
        errors.push(FieldError::new("event_id", "must be at least 1"));
    }
    let (Some(window), true) = (window, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let filter = OccurrenceFilter {
        window,
        event,
        role,
        after,
    };
    let page =
        blocking(move || occurrences::list(&services, &session.user(&services)?, &filter, limit))
            .await?;
    Ok(Reply::ok(OccurrenceList {
        next_cursor: page.next.map(paging::occurrence_cursor),
        items: page.items.into_iter().map(OccurrenceRead::from).collect(),
    }))
}

/// The `recurrence_id` of the path: 404 when it is no instant (no occurrence has it).
fn recurrence_id(raw: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_timestamp(raw).map_err(|_| ApiError::not_found())
}

/// Edit or move one occurrence (owner or editor).
///
/// Sets what this occurrence has apart from its series: title, description, location,
/// start, end (absent fields unchanged). It keeps its `recurrence_id` when moved. A new
/// version of the series (`If-Match` applies: 412); conflict-checked (409), also against
/// the series' other occurrences (422 naming `start_time`). A `recurrence_id` the event
/// does not produce, or a cancelled one, is 404. On a single event it changes the event
/// itself. A rule between fields: the resulting `end_time` must be after the resulting
/// `start_time` (422 naming `end_time`).
#[utoipa::path(
    patch, path = "/api/events/{id}/occurrences/{recurrence_id}", operation_id = "updateOccurrence", tag = "events",
    params(("id" = i64, Path, description = "Event id"),
           ("recurrence_id" = String, Path, format = DateTime, description = "The occurrence's original start (UTC, RFC 3339)", example = "2027-03-29T07:00:00Z"),
           ("If-Match" = Option<String>, Header, nullable = false, description = "`\"<version>\"` or `*`")),
    request_body = OccurrenceUpdate,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The occurrence as it now is", body = OccurrenceRead,
            headers(("ETag" = String, description = "The series' new version, quoted"))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Viewers cannot change occurrences", body = Problem),
        (status = 404, description = "No such event or occurrence, or no access to it", body = Problem),
        (status = 409, description = "`event_conflict` with the owner's events", body = Problem),
        (status = 412, description = "`precondition_failed`; `current_etag` given", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    )
)]
pub async fn update(
    req: HttpRequest,
    services: web::Data<Services>,
    session: Session,
    path: web::Path<(i64, String)>,
    Body(body): Body<OccurrenceUpdate>,
) -> Result<Reply<OccurrenceRead>, ApiError> {
    let (id, raw) = path.into_inner();
    let rid = recurrence_id(&raw)?;
    let precondition = precondition(&req);
    let item = blocking(move || {
        events::update_occurrence(
            &services,
            &session.user(&services)?,
            EventId(id),
            rid,
            body.into(),
            precondition,
        )
    })
    .await?;
    let tag = etag(item.event.event.version);
    let reply = Reply::ok(OccurrenceRead::from(item));
    Ok(match HeaderValue::from_str(&tag) {
        Ok(v) => reply.header(header::ETAG, v),
        Err(_) => reply,
    })
}

/// Cancel one occurrence of a series (owner or editor).
///
/// A new version of the series (`If-Match` applies: 412). A `recurrence_id` the series
/// does not produce, or one cancelled already, is 404; a single event's one occurrence
/// cannot be cancelled (422 naming `recurrence_id`: delete the event instead).
#[utoipa::path(
    delete, path = "/api/events/{id}/occurrences/{recurrence_id}", operation_id = "cancelOccurrence", tag = "events",
    params(("id" = i64, Path, description = "Event id"),
           ("recurrence_id" = String, Path, format = DateTime, description = "The occurrence's original start (UTC, RFC 3339)", example = "2027-03-29T07:00:00Z"),
           ("If-Match" = Option<String>, Header, nullable = false, description = "`\"<version>\"` or `*`")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Viewers cannot cancel occurrences", body = Problem),
        (status = 404, description = "No such event or occurrence, or no access to it", body = Problem),
        (status = 412, description = "`precondition_failed`", body = Problem),
        (status = 422, description = "A single event's occurrence", body = Problem),
    )
)]
pub async fn cancel(
    req: HttpRequest,
    services: web::Data<Services>,
    session: Session,
    path: web::Path<(i64, String)>,
) -> Result<Reply<()>, ApiError> {
    let (id, raw) = path.into_inner();
    let rid = recurrence_id(&raw)?;
    let precondition = precondition(&req);
    blocking(move || {
        events::cancel_occurrence(
            &services,
            &session.user(&services)?,
            EventId(id),
            rid,
            precondition,
        )
    })
    .await?;
    Ok(Reply::no_content())
}

/// Split a series: "this and following" (owner or editor).
///
/// The series ends before the occurrence `at` and a new series with the same rule,
/// content, zone and participants starts at `at` (a `COUNT` is divided between the
/// two; the occurrences' own changes go with them). Answers the new series (201, with
/// `Location`). `at` must be an occurrence of the series (404 otherwise) and not its
/// first (422 naming `at`); a single event cannot be split (422). `If-Match` applies
/// to the series being split.
#[utoipa::path(
    post, path = "/api/events/{id}/split", operation_id = "splitEvent", tag = "events",
    params(("id" = i64, Path, description = "Event id"),
           ("If-Match" = Option<String>, Header, nullable = false, description = "`\"<version>\"` or `*`")),
    request_body = SplitRequest,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 201, description = "The new series", body = EventRead,
            headers(("Location" = String, description = "The new series' URL"),
                    ("ETag" = String, description = "Its version, quoted (`\"1\"`)"))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Viewers cannot split", body = Problem),
        (status = 404, description = "No such event or occurrence, or no access to it", body = Problem),
        (status = 409, description = "`event_conflict`", body = Problem),
        (status = 412, description = "`precondition_failed`; `current_etag` given", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Invalid `at`", body = Problem),
    )
)]
pub async fn split(
    req: HttpRequest,
    services: web::Data<Services>,
    session: Session,
    id: web::Path<i64>,
    Body(body): Body<SplitRequest>,
) -> Result<Reply<EventRead>, ApiError> {
    let at = match body.at.as_deref() {
        None => Err(FieldError::new("at", "is required")),
        Some(raw) => parse_timestamp(raw).map_err(|m| FieldError::new("at", m)),
    }
    .map_err(|e| ApiError::validation(vec![e]))?;
    let precondition = precondition(&req);
    let id = EventId(id.into_inner());
    let created =
        blocking(move || events::split(&services, &session.user(&services)?, id, at, precondition))
            .await?;
    let location = format!("/api/events/{}", created.event.id.0);
    let reply = event_reply(created, StatusCode::CREATED);
    Ok(match HeaderValue::from_str(&location) {
        Ok(v) => reply.header(header::LOCATION, v),
        Err(_) => reply,
    })
}
