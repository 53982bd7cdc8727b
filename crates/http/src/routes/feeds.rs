//! The subscription feed (`/api/calendar.ics`) and its tokens (`/api/feed-tokens`).

use actix_web::http::header::{self, EntityTag};
use actix_web::http::StatusCode;
use std::future::ready;
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use convene_domain::ids::{EventId, FeedTokenId, UserId};
use convene_service::feeds::{self, Feed};
use convene_service::Services;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Session;
use crate::client::public_origin;
use crate::dto::{FeedTokenCreated, FeedTokenRead};
use crate::error::{blocking, ApiError, Problem};
use crate::etag::{if_none_match, none_match};
use crate::ical;
use crate::negotiate::{accepts_calendar, Reply};

/// Make a feed token: a read-only secret for the subscription feed's URL (calendar
/// applications cannot send headers). The token and URL are shown once; only a hash
/// is kept. At most 20 per user (422 beyond).
#[utoipa::path(
    post, path = "/api/feed-tokens", operation_id = "createFeedToken", tag = "calendar",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 201, description = "The token and the feed URL to paste into a calendar application (shown once)", body = FeedTokenCreated),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 422, description = "The caller holds 20 feed tokens already", body = Problem),
    )
)]
pub async fn create(
    req: HttpRequest,
    services: web::Data<Services>,
    session: Session,
) -> Result<Reply<FeedTokenCreated>, ApiError> {
    let issued = blocking(move || feeds::issue(&services, &session.user(&services)?)).await?;
    let url = format!(
        "{}/api/calendar.ics?token={}",
        public_origin(&req),
        issued.token
    );
    Ok(Reply::with_status(
        StatusCode::CREATED,
        FeedTokenCreated {
            id: issued.stored.id.0,
            token: issued.token,
            url,
            created_at: issued.stored.created_at,
        },
    ))
}

/// The caller's feed tokens, oldest first (ids and use, never the tokens).
#[utoipa::path(
    get, path = "/api/feed-tokens", operation_id = "listFeedTokens", tag = "calendar",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The caller's feed tokens", body = [FeedTokenRead]),
        (status = 401, description = "Not authenticated", body = Problem),
    )
)]
pub async fn list(
    services: web::Data<Services>,
    session: Session,
) -> Result<Reply<Vec<FeedTokenRead>>, ApiError> {
    let tokens = blocking(move || feeds::list(&services, &session.user(&services)?)).await?;
    Ok(Reply::ok(
        tokens.into_iter().map(FeedTokenRead::from).collect(),
    ))
}

/// Revoke a feed token: its URL answers 401 from now on.
#[utoipa::path(
    delete, path = "/api/feed-tokens/{id}", operation_id = "revokeFeedToken", tag = "calendar",
    params(("id" = i64, Path, description = "Feed token id")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not authenticated", body = Problem),
        (status = 404, description = "The caller has no such feed token", body = Problem),
    )
)]
pub async fn revoke(
    services: web::Data<Services>,
    session: Session,
    id: web::Path<i64>,
) -> Result<Reply<()>, ApiError> {
    let id = FeedTokenId(id.into_inner());
    blocking(move || feeds::revoke(&services, &session.user(&services)?, id)).await?;
    Ok(Reply::no_content())
}

/// Query of the feed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// A feed token (`POST /api/feed-tokens`); a wrong or revoked one answers 401.
    #[param(example = "cvf_Jq3vV0m4m0xL9a3Yt8Zk1H2QfE7pR5sWuXyBcDnGhIk")]
    pub token: Option<String>,
}

/// The subscription feed: every event the token's user owns or that is shared with
/// them, as one iCalendar document (each event as `GET /api/events/{id}` with
/// `Accept: text/calendar` writes it). For calendar applications, which poll it: the
/// `ETag` changes exactly when the document does, and `If-None-Match` with it answers
/// 304 without reading the events. A 200 is sent as it is written, 100 events at a
/// time (chunked transfer), so a long calendar is never held whole. Authenticated by the `token` query parameter only
/// (never logged); a missing, wrong or revoked token answers 401.
#[utoipa::path(
    get, path = "/api/calendar.ics", operation_id = "calendarFeed", tag = "calendar",
    params(FeedQuery,
           ("If-None-Match" = Option<String>, Header, nullable = false, description = "The feed's last `ETag`: 304 when nothing changed")),
    security(("feedToken" = [])),
    responses(
        (status = 200, description = "The feed: one `VCALENDAR` with the `VEVENT`s of every event the user owns or that is shared with them",
            content((String = "text/calendar", example = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Convene//Convene//EN\r\nCALSCALE:GREGORIAN\r\nBEGIN:VEVENT\r\nUID:event-1@convene\r\nDTSTAMP:20270301T120000Z\r\nSEQUENCE:0\r\nSUMMARY:Team sync\r\nDTSTART;TZID=Europe/Berlin:20270315T090000\r\nDTEND;TZID=Europe/Berlin:20270315T100000\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")),
            headers(("ETag" = String, description = "Changes exactly when the feed does: send it as `If-None-Match`"))),
        (status = 304, description = "Not modified since the `ETag` sent in `If-None-Match`"),
        (status = 401, description = "Missing, wrong or revoked feed token", body = Problem),
        (status = 406, description = "`Accept` does not admit `text/calendar`", body = Problem),
    )
)]
pub async fn calendar(
    req: HttpRequest,
    services: web::Data<Services>,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let token = query
        .into_inner()
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(ApiError::unauthorized)?;
    if !accepts_calendar(&req) {
        return Err(ApiError::not_acceptable(
            "the feed is available as text/calendar only",
        ));
    }
    let condition = if_none_match(&req);
    let reader = services.clone();
    let feed = blocking(move || {
        feeds::read(&reader, &token, |tag| {
            none_match(condition.as_ref(), &EntityTag::new_strong(tag.to_owned()))
        })
    })
    .await?;
    Ok(match feed {
        Feed::NotModified { tag } => HttpResponse::NotModified()
            .insert_header((header::ETAG, EntityTag::new_strong(tag)))
            .finish(),
        Feed::Events { tag, user, ids } => HttpResponse::Ok()
            .content_type(ical::MEDIA_TYPE)
            .insert_header((header::ETAG, EntityTag::new_strong(tag)))
            .insert_header((header::CACHE_CONTROL, "private, no-cache"))
            .streaming(document(services, user, ids.into())),
    })
}

/// The feed's document, written a page of events at a time ([`feeds::FEED_PAGE`]), each
/// page read when the previous one has been sent: a long calendar is never held whole.
/// A failure after the first bytes can only cut the response short (the status is
/// sent); it is logged, and the calendar application keeps its copy and polls again.
fn document(
    services: web::Data<Services>,
    user: UserId,
    ids: Arc<[EventId]>,
) -> impl Stream<Item = Result<web::Bytes, actix_web::Error>> {
    let (head, tail) = ical::envelope();
    let pages = stream::unfold(Some(0), move |next| {
        let services = services.clone();
        let ids = ids.clone();
        async move {
            let start = next.filter(|start| *start < ids.len())?;
            let end = ids.len().min(start + feeds::FEED_PAGE);
            let page = ids[start..end].to_vec();
            match blocking(move || feeds::events(&services, user, &page)).await {
                Ok(events) => Some((Ok(ical::vevents(&events).into()), Some(end))),
                Err(e) => {
                    tracing::error!(error = %e, "the feed was cut short");
                    Some((Err(e.into()), None))
                }
            }
        }
    });
    stream::once(ready(Ok(head.into())))
        .chain(pages)
        .chain(stream::once(ready(Ok(tail.into()))))
}
