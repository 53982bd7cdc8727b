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

/// The version an ETag names: `"<version>"` exactly (`"01"` names none: RFC 9110
/// compares the opaque tags character by character).
fn version_of(tag: &EntityTag) -> Option<Version> {
    let version: i32 = tag.tag().parse().ok()?;
    (version.to_string() == tag.tag()).then_some(Version(version))
}

/// A write's precondition from the request's `If-Match` and `If-None-Match`, `None`
/// when neither is given. `If-Match` is `*` or a list of strong ETags (weak or
/// unparsable tags match no version: strong comparison, RFC 9110 §13.1.1);
/// `If-None-Match` is `*` (the event exists, so it fails) or a list of tags that must
/// not match (weak comparison, §13.1.2). When both are given, both must hold.
pub fn precondition(req: &HttpRequest) -> Option<Precondition> {
    let if_match =
        req.headers()
            .contains_key(header::IF_MATCH)
            .then(|| match IfMatch::parse(req) {
                Ok(IfMatch::Any) => Precondition::Any,
                Ok(IfMatch::Items(tags)) => Precondition::OneOf(
                    tags.iter()
                        .filter(|t| !t.weak)
                        .filter_map(version_of)
                        .collect(),
                ),
                Err(_) => Precondition::OneOf(Vec::new()),
            });
    let none_of = if_none_match(req).map(|condition| match condition {
        IfNoneMatch::Any => None,
        IfNoneMatch::Items(tags) => Some(tags.iter().filter_map(version_of).collect::<Vec<_>>()),
    });
    match (if_match, none_of) {
        (if_match, None) => if_match,
        // `If-None-Match: *`: there is a current version, so nothing passes.
        (_, Some(None)) => Some(Precondition::OneOf(Vec::new())),
        (None | Some(Precondition::Any), Some(Some(excluded))) => {
            Some(Precondition::NoneOf(excluded))
        }
        (Some(Precondition::OneOf(allowed)), Some(Some(excluded))) => Some(Precondition::OneOf(
            allowed
                .into_iter()
                .filter(|v| !excluded.contains(v))
                .collect(),
        )),
        (Some(Precondition::NoneOf(mut a)), Some(Some(b))) => {
            a.extend(b);
            Some(Precondition::NoneOf(a))
        }
    }
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
