//! `/api/events`: create (one or a batch), list, get, update, delete.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, Either, HttpMessage, HttpRequest, HttpResponse};
use convene_domain::event::{EventFilter, EventInput};
use convene_domain::ids::EventId;
use convene_domain::permission::Role;
use convene_domain::recurrence::{parse_time_zone, DEFAULT_TIME_ZONE};
use convene_domain::validation::FieldError;
use convene_service::auth::Credential;
use convene_service::events;
use convene_service::{Event, ServiceError, Services};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Session;
use crate::coalesce::Coalesced;
use crate::dto::{
    BatchCreate, CalendarFile, EventCreate, EventList, EventRead, EventUpdate, EventsImported,
};
use crate::error::{blocking, ApiError, Problem};
use crate::etag::{etag, none_match_hits, precondition};
use crate::ical;
use crate::ical::import::{ImportError, MAX_COMPONENTS};
use crate::negotiate::{prefers_calendar, read_bytes, Body, Reply, CALENDAR};
use crate::paging;

/// A single event with its `ETag`.
pub(crate) fn event_reply(event: Event, status: StatusCode) -> Reply<EventRead> {
    let tag = etag(event.event.version);
    let reply = Reply::with_status(status, EventRead::from(event));
    match HeaderValue::from_str(&tag) {
        Ok(v) => reply.header(header::ETAG, v),
        Err(_) => reply,
    }
}

/// Create an event owned by the caller (version 1).
///
/// With `recurrence` (an RRULE) it is a series whose first occurrence is
/// `start_time`–`end_time`, repeating on the wall clock of `time_zone`. Rejected with 409
/// `event_conflict` when any of its busy occurrences (through the horizon,
/// `RECURRENCE_HORIZON_DAYS`) overlaps a busy occurrence of the caller's events
/// (intervals are half-open: touching is fine; `transparent` time never conflicts);
/// `conflicts` lists them with their `recurrence_id`. Rules no schema can state (422
/// naming the field): `end_time` after `start_time`; `time_zone` a known IANA zone;
/// `recurrence` a supported rule that produces occurrences which do not overlap one
/// another, at most `MAX_OCCURRENCES` of them within the horizon (and `COUNT` at most
/// that).
#[utoipa::path(
    post, path = "/api/events", operation_id = "createEvent", tag = "events",
    request_body = EventCreate,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 201, description = "Created", body = EventRead,
            headers(("Location" = String, description = "The event's URL: `/api/events/{id}`"),
                    ("ETag" = String, description = "The event's version, quoted (`\"1\"`)"))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 409, description = "`event_conflict`", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    )
)]
pub async fn create(
    services: web::Data<Services>,
    session: Session,
    Body(body): Body<EventCreate>,
) -> Result<Reply<EventRead>, ApiError> {
    let event =
        blocking(move || events::create(&services, &session.user(&services)?, body.into())).await?;
    let location = format!("/api/events/{}", event.event.id);
    let reply = event_reply(event, StatusCode::CREATED);
    Ok(match HeaderValue::from_str(&location) {
        Ok(v) => reply.header(header::LOCATION, v),
        Err(_) => reply,
    })
}

/// Create 1–500 events atomically.
///
/// Every item is validated and checked against the caller's stored events and against
/// the other items; if any fails nothing is stored. `errors` and `conflicts` entries
/// carry the failing item's `index` (an in-batch overlap names the other item as
/// `batch_index`) and, for occurrences of series, their `recurrence_id`. More than 500
/// items answers 413. The rules of `createEvent` hold per item (422 naming `end_time`,
/// `time_zone` or `recurrence` with `index`).
#[utoipa::path(
    post, path = "/api/events/batch", operation_id = "createEventBatch", tag = "events",
    request_body = BatchCreate,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 201, description = "All created, in request order", body = [EventRead]),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 409, description = "`event_conflict`; nothing stored", body = Problem),
        (status = 413, description = "More than 500 items or body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Invalid items; nothing stored", body = Problem),
    )
)]
pub async fn create_batch(
    services: web::Data<Services>,
    session: Session,
    Body(body): Body<BatchCreate>,
) -> Result<Reply<Vec<EventRead>>, ApiError> {
    let inputs = body
        .events
        .map(|items| items.into_iter().map(EventInput::from).collect());
    let created = blocking(move || {
        events::create_batch(&services, &session.user(&services)?, inputs).map_err(item_paths)
    })
    .await?;
    Ok(Reply::with_status(
        StatusCode::CREATED,
        created.into_iter().map(EventRead::from).collect(),
    ))
}

/// A batch's field problems named by their path from the body's root, like its type
/// errors: `events[3].title`, with `index: 3`.
fn item_paths(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::Validation(errors) => ServiceError::Validation(
            errors
                .into_iter()
                .map(|mut e| {
                    if let Some(i) = e.index {
                        if !e.field.starts_with("events[") {
                            e.field = format!("events[{i}].{}", e.field);
                        }
                    }
                    e
                })
                .collect(),
        ),
        other => other,
    }
}

/// Query of the event list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only events overlapping `[from, to)`: those ending after `from` (RFC 3339, as
    /// `EventCreate.start_time`).
    #[param(value_type = Option<String>, format = DateTime, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$")]
    pub from: Option<String>,
    /// ...and starting before `to` (as `from`; a rule between the two: `to` must be
    /// after `from`, else 422).
    #[param(value_type = Option<String>, format = DateTime, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$")]
    pub to: Option<String>,
    /// Only events where the caller has this role.
    #[param(value_type = Option<crate::dto::RoleName>)]
    pub role: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^e[0-9]{1,18}_[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// The `role` filter of a list: `None` when absent; an unknown role is a field problem
/// added to `errors`.
pub(crate) fn role_filter(raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Role> {
    let role = Role::parse(raw?);
    if role.is_none() {
        errors.push(FieldError::new("role", "must be owner, editor or viewer"));
    }
    role
}

/// A time of the query (`from`, `to`), if given; malformed → 400 `invalid_query`.
pub(crate) fn query_time(
    name: &str,
    raw: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    raw.map(|r| {
        convene_domain::time::parse_timestamp(&unescaped_plus(r))
            .map_err(|m| ApiError::invalid_query(format!("{name} {m}")))
    })
    .transpose()
}

/// A query string decodes `+` as a space, so an offset written unencoded
/// (`from=2030-01-07T09:00:00+01:00`, as a URL built by pasting a timestamp reads)
/// arrives as `…09:00:00 01:00`: a space before a trailing `hh:mm` after the time is
/// read as the `+` it was.
fn unescaped_plus(raw: &str) -> std::borrow::Cow<'_, str> {
    let b = raw.as_bytes();
    let n = b.len();
    let offset_like = n >= 7
        && b[n - 6] == b' '
        && b[n - 7].is_ascii_digit()
        && b[n - 5].is_ascii_digit()
        && b[n - 4].is_ascii_digit()
        && b[n - 3] == b':'
        && b[n - 2].is_ascii_digit()
        && b[n - 1].is_ascii_digit();
    if offset_like {
        format!("{}+{}", &raw[..n - 6], &raw[n - 5..]).into()
    } else {
        raw.into()
    }
}

/// List the events the caller owns or that are shared with them.
///
/// Ordered by `start_time`, then `id`; keyset-paginated (a deep page costs the same as
/// the first). Malformed values answer 400 (`invalid_query`, `invalid_cursor`); a `limit`
/// outside 1–200, an unknown `role` or `from` not before `to` answer 422.
#[utoipa::path(
    get, path = "/api/events", operation_id = "listEvents", tag = "events",
    params(ListQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "A page of events", body = EventList),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 422, description = "Out-of-range values", body = Problem),
    )
)]
pub async fn list(
    services: web::Data<Services>,
    session: Session,
    query: web::Query<ListQuery>,
) -> Result<Reply<EventList>, ApiError> {
    let q = query.into_inner();
    let limit = paging::limit(q.limit.as_deref())?;
    let from = query_time("from", q.from.as_deref())?;
    let to = query_time("to", q.to.as_deref())?;
    let after = q
        .cursor
        .as_deref()
        .map(paging::parse_event_cursor)
        .transpose()?;
    let mut errors = Vec::new();
    let role = role_filter(q.role.as_deref(), &mut errors);
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            errors.push(FieldError::new("to", "must be after from"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let filter = EventFilter {
        ends_after: from,
        starts_before: to,
        role,
        after,
    };
    let page = blocking(move || events::list(&services, &session.user(&services)?, &filter, limit))
        .await?;
    Ok(Reply::ok(EventList {
        items: page.items.into_iter().map(EventRead::from).collect(),
        next_cursor: page.next.map(paging::event_cursor),
    }))
}

/// The GETs of one event waiting: each asks for event `.1` with the token
/// `.0`, and waiting ones are answered together ([`events::get_by_tokens`]).
pub type EventReads = Coalesced<Services, (Credential, EventId), Result<Event, ServiceError>>;

/// Get one event (any participant). `If-None-Match` with the current ETag answers 304.
#[utoipa::path(
    get, path = "/api/events/{id}", operation_id = "getEvent", tag = "events",
    params(("id" = i64, Path, description = "Event id"),
           ("If-None-Match" = Option<String>, Header, nullable = false, description = "An ETag (`\"<version>\"`) or `*`: 304 when it matches")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The event; with `Accept: text/calendar`, its iCalendar document (RFC 5545): one `VCALENDAR` with the event's `VEVENT` (`UID` stable per event, `DTSTART`/`DTEND` with `TZID` = its zone, `RRULE`, an `EXDATE` per cancelled occurrence, `SUMMARY`, `DESCRIPTION`, `LOCATION`, `TRANSP`, `SEQUENCE` = version − 1, `DTSTAMP`, `LAST-MODIFIED`) and one `VEVENT` with `RECURRENCE-ID` per moved or edited occurrence",
            content(
                (EventRead = "application/json"),
                (EventRead = "application/msgpack"),
                (String = "text/calendar", example = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Convene//Convene//EN\r\nCALSCALE:GREGORIAN\r\nBEGIN:VEVENT\r\nUID:event-1@convene\r\nDTSTAMP:20270301T120000Z\r\nSEQUENCE:0\r\nSUMMARY:Team sync\r\nDTSTART;TZID=Europe/Berlin:20270315T090000\r\nDTEND;TZID=Europe/Berlin:20270315T100000\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
            ),
            headers(("ETag" = String, description = "The event's version, quoted (`\"3\"`): send it as `If-Match` or `If-None-Match`"))),
        (status = 304, description = "Not modified"),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 404, description = "No such event, or no access to it", body = Problem),
    )
)]
pub async fn get(
    req: HttpRequest,
    services: web::Data<Services>,
    reads: web::Data<EventReads>,
    session: Session,
    id: web::Path<i64>,
) -> Result<Either<Reply<EventRead>, HttpResponse>, ApiError> {
    // The session is checked in the statements that read the event, with the other
    // GETs of one waiting meanwhile.
    let id = EventId(id.into_inner());
    let event = session
        .checked_by(|credential| reads.ask(&services, (credential, id)))
        .await??;
    if none_match_hits(&req, event.event.version) {
        let tag = etag(event.event.version);
        // A 304 carries the headers the 200 would (RFC 9110 §15.4.5), Vary among them.
        let reply = Reply::empty(StatusCode::NOT_MODIFIED)
            .header(header::VARY, HeaderValue::from_static("Accept"));
        return Ok(Either::Left(match HeaderValue::from_str(&tag) {
            Ok(v) => reply.header(header::ETAG, v),
            Err(_) => reply,
        }));
    }
    if prefers_calendar(&req) {
        return Ok(Either::Right(
            HttpResponse::Ok()
                .content_type(ical::MEDIA_TYPE)
                .insert_header((header::ETAG, etag(event.event.version)))
                .insert_header((header::VARY, "Accept"))
                .body(ical::calendar(std::slice::from_ref(&event.event))),
        ));
    }
    Ok(Either::Left(event_reply(event, StatusCode::OK)))
}

/// Update any subset of the fields (owner or editor); `PUT` and `PATCH` are the same.
///
/// Absent fields are unchanged; `location: null` clears it. A change makes a new
/// version; a change that alters nothing makes none. Conflict-checked against the
/// owner's events, on every busy occurrence. `If-Match` (`"<version>"` or `*`) is
/// honoured: mismatch → 412. `recurrence: null` makes a series a single event; changing
/// a series' `start_time`, `time_zone` or `recurrence` drops its individually changed or
/// cancelled occurrences. The rules of `createEvent` hold for the result (422 naming
/// `end_time`, `time_zone` or `recurrence`).
#[utoipa::path(
    put, path = "/api/events/{id}", operation_id = "replaceEvent", tag = "events",
    params(("id" = i64, Path, description = "Event id"),
           ("If-Match" = Option<String>, Header, nullable = false, description = "`\"<version>\"` or `*`")),
    request_body = EventUpdate,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The updated event", body = EventRead,
            headers(("ETag" = String, description = "The event's version, quoted (`\"3\"`): send it as `If-Match` or `If-None-Match`"))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Viewers cannot update", body = Problem),
        (status = 404, description = "No such event, or no access to it", body = Problem),
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
    id: web::Path<i64>,
    Body(body): Body<EventUpdate>,
) -> Result<Reply<EventRead>, ApiError> {
    let id = EventId(id.into_inner());
    let precondition = precondition(&req);
    let event = blocking(move || {
        events::update(
            &services,
            &session.user(&services)?,
            id,
            body.into(),
            precondition,
        )
    })
    .await?;
    Ok(event_reply(event, StatusCode::OK))
}

/// Same as `PUT /api/events/{id}`: any subset of the fields; 409 on overlap, 412 on a
/// stale `If-Match`, 422 when the resulting `end_time` is not after the resulting
/// `start_time`.
#[utoipa::path(
    patch, path = "/api/events/{id}", operation_id = "updateEvent", tag = "events",
    params(("id" = i64, Path, description = "Event id"),
           ("If-Match" = Option<String>, Header, nullable = false, description = "`\"<version>\"` or `*`")),
    request_body = EventUpdate,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The updated event", body = EventRead,
            headers(("ETag" = String, description = "The event's version, quoted (`\"3\"`): send it as `If-Match` or `If-None-Match`"))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Viewers cannot update", body = Problem),
        (status = 404, description = "No such event, or no access to it", body = Problem),
        (status = 409, description = "`event_conflict` with the owner's events", body = Problem),
        (status = 412, description = "`precondition_failed`; `current_etag` given", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Unsupported media type", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    )
)]
pub async fn patch(
    req: HttpRequest,
    services: web::Data<Services>,
    session: Session,
    id: web::Path<i64>,
    body: Body<EventUpdate>,
) -> Result<Reply<EventRead>, ApiError> {
    update(req, services, session, id, body).await
}

/// Delete an event (owner only); its permissions and versions go with it.
#[utoipa::path(
    delete, path = "/api/events/{id}", operation_id = "deleteEvent", tag = "events",
    params(("id" = i64, Path, description = "Event id"),
           ("If-Match" = Option<String>, Header, nullable = false, description = "`\"<version>\"` or `*`")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 403, description = "Only the owner deletes", body = Problem),
        (status = 404, description = "No such event, or no access to it", body = Problem),
        (status = 412, description = "`precondition_failed`", body = Problem),
    )
)]
pub async fn delete(
    req: HttpRequest,
    services: web::Data<Services>,
    session: Session,
    id: web::Path<i64>,
) -> Result<Reply<()>, ApiError> {
    let id = EventId(id.into_inner());
    let precondition = precondition(&req);
    blocking(move || events::delete(&services, &session.user(&services)?, id, precondition))
        .await?;
    Ok(Reply::no_content())
}

/// Query of an import.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The IANA zone of all-day events and of floating times when the file has no
    /// `X-WR-TIMEZONE` (default `UTC`).
    #[param(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
}

/// The import's problem with every event position replaced by its `VEVENT`'s index.
fn by_component(e: ServiceError, components: &[usize]) -> ServiceError {
    let component = |i: Option<usize>| i.map(|i| components.get(i).copied().unwrap_or(i));
    match e {
        ServiceError::Validation(errors) => ServiceError::Validation(
            errors
                .into_iter()
                .map(|e| FieldError {
                    index: component(e.index),
                    ..e
                })
                .collect(),
        ),
        ServiceError::Conflict(mut conflicts) => {
            for c in &mut conflicts.listed {
                c.index = component(c.index);
                c.batch_index = component(c.batch_index);
            }
            ServiceError::Conflict(conflicts)
        }
        other => other,
    }
}

/// Import a calendar file (`Content-Type: text/calendar`), e.g. one exported by Google
/// Calendar, Apple Calendar, Outlook or Thunderbird.
///
/// Each master `VEVENT` becomes an event: `SUMMARY` (`(No title)` when missing),
/// `DESCRIPTION`, `LOCATION`, `DTSTART` and `DTEND` or `DURATION`, `RRULE`, `EXDATE`s,
/// `TRANSP`; its zone is the `TZID` of `DTSTART` (an IANA name, or a `VTIMEZONE` whose
/// `X-LIC-LOCATION` names one), UTC for `Z` times, and for floating times the calendar's
/// `X-WR-TIMEZONE` or else `time_zone`. A `VEVENT` with `RECURRENCE-ID` moves or edits
/// that occurrence of the series with its `UID` (`STATUS:CANCELLED` cancels it); if the
/// series is not in the file it becomes an event of its own. All-day (`VALUE=DATE`)
/// events cover their days midnight to midnight in `time_zone` and are transparent.
/// Cancelled masters are skipped. Atomic like a batch: any invalid or conflicting
/// component and nothing is stored; `errors` and `conflicts` carry the component's
/// `index` (0-based, among the file's `VEVENT`s, in file order). At most 500 `VEVENT`s
/// (413). Not iCalendar → 400 `malformed_body`; an unknown zone → 422 naming
/// `time_zone` with the component's `index`.
#[utoipa::path(
    post, path = "/api/events/import", operation_id = "importEvents", tag = "calendar",
    params(ImportQuery),
    request_body(description = "An iCalendar (RFC 5545) file: one VCALENDAR, as `text/calendar` (or the same bytes as `application/octet-stream`)",
        content((String = "text/calendar", example = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nX-WR-TIMEZONE:Europe/Berlin\r\nBEGIN:VEVENT\r\nUID:standup@google.com\r\nDTSTART;TZID=Europe/Berlin:20270301T090000\r\nDTEND;TZID=Europe/Berlin:20270301T093000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10\r\nSUMMARY:Team standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
            (CalendarFile = "application/octet-stream"))),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 201, description = "Every event of the file created", body = EventsImported),
        (status = 400, description = "`malformed_body`: not iCalendar (or not UTF-8)", body = Problem),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 409, description = "`event_conflict`: components overlap the caller's events or one another (`index`, `batch_index`); nothing stored", body = Problem),
        (status = 413, description = "More than 500 VEVENTs, or a body over 1 MiB", body = Problem),
        (status = 415, description = "Neither `text/calendar` nor `application/octet-stream`", body = Problem),
        (status = 422, description = "Invalid components (`index`) or `time_zone`; nothing stored", body = Problem),
    )
)]
pub async fn import(
    req: HttpRequest,
    services: web::Data<Services>,
    session: Session,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<Reply<EventsImported>, ApiError> {
    let is_calendar = req
        .mime_type()
        .ok()
        .flatten()
        .is_some_and(|m| [CALENDAR, "application/octet-stream"].contains(&m.essence_str()));
    if !is_calendar {
        return Err(ApiError::unsupported_media_type(
            "send the calendar file as text/calendar (or application/octet-stream)",
        ));
    }
    let zone = match query.into_inner().time_zone {
        Some(zone) => parse_time_zone(&zone).map_err(|e| ApiError::validation(vec![e]))?,
        None => DEFAULT_TIME_ZONE,
    };
    let body = read_bytes(&req, &mut payload.into_inner()).await?;
    let imported = ical::import::decode(body)
        .and_then(|text| ical::import::parse(&text, zone))
        .map_err(|e| match e {
            ImportError::Malformed(why) => ApiError::malformed_body(why),
            ImportError::TooMany(n) => ApiError::payload_too_large(format!(
                "{n} VEVENTs; at most {MAX_COMPONENTS} per import"
            )),
            ImportError::Invalid(errors) => ApiError::validation(errors),
        })?;
    let components = imported.components;
    let contents = imported.events;
    let created = blocking(move || {
        events::import(&services, &session.user(&services)?, contents)
            .map_err(|e| by_component(e, &components))
    })
    .await?;
    Ok(Reply::with_status(
        StatusCode::CREATED,
        EventsImported {
            created: created.into_iter().map(EventRead::from).collect(),
        },
    ))
}
