//! ETags (the event version) and the conditional headers `If-Match` / `If-None-Match`,
//! parsed by actix's typed headers.

use actix_web::http::header::{self, EntityTag, Header, IfMatch, IfNoneMatch};
use actix_web::HttpRequest;
use convene_domain::ids::Version;
use convene_service::Precondition;

/// The ETag of a version: `"<version>"`.
pub fn etag(version: Version) -> String {
    format!("\"{}\"", version.0)
}

fn version_of(tag: &EntityTag) -> Option<Version> {
    tag.tag().parse().ok().map(Version)
}

/// The request's `If-Match`: `None` when absent; `*` or a list of strong ETags. Weak or
/// unparsable tags match no version (RFC 9110 uses strong comparison here).
pub fn if_match(req: &HttpRequest) -> Option<Precondition> {
    if !req.headers().contains_key(header::IF_MATCH) {
        return None;
    }
    Some(match IfMatch::parse(req) {
        Ok(IfMatch::Any) => Precondition::Any,
        Ok(IfMatch::Items(tags)) => Precondition::OneOf(
            tags.iter()
                .filter(|t| !t.weak)
                .filter_map(version_of)
                .collect(),
        ),
        Err(_) => Precondition::OneOf(Vec::new()),
    })
}

/// The request's `If-None-Match`: `None` when absent or unparsable.
pub fn if_none_match(req: &HttpRequest) -> Option<IfNoneMatch> {
    if !req.headers().contains_key(header::IF_NONE_MATCH) {
        return None;
    }
    IfNoneMatch::parse(req).ok()
}

/// Whether an `If-None-Match` condition matches `current` (weak comparison), so a GET
/// can answer 304.
pub fn none_match(condition: Option<&IfNoneMatch>, current: &EntityTag) -> bool {
    match condition {
        None => false,
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(current)),
    }
}

/// Whether the request's `If-None-Match` matches `version`.
pub fn none_match_hits(req: &HttpRequest, version: Version) -> bool {
    none_match(
        if_none_match(req).as_ref(),
        &EntityTag::new_strong(version.0.to_string()),
    )
}
