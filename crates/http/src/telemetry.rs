//! What a request's log line records: its method, route, path (secrets redacted),
//! client address (the same one the rate limit uses), status and request id.
//!
//! The path is logged without the values of query parameters that carry credentials
//! (`token`: an access token on the WebSocket URL, a feed token), so reading the logs
//! never yields a credential.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

use crate::client::TrustedProxies;

/// Query parameters whose values are never logged.
const SECRET_PARAMS: [&str; 1] = ["token"];

/// What stands in a log for a redacted value.
pub const REDACTED: &str = "[redacted]";

/// The root span of every request (for `tracing_actix_web::TracingLogger`).
pub struct RequestSpans;

impl RootSpanBuilder for RequestSpans {
    fn on_request_start(req: &ServiceRequest) -> Span {
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let client = TrustedProxies::of(req.request())
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %req.method(),
            http.route = req.match_pattern().unwrap_or_default(),
            http.target = %redacted_target(req.uri()),
            http.client_ip = %client,
            http.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The path and query of `uri` with the values of [`SECRET_PARAMS`] replaced by
/// [`REDACTED`] (also when percent-encoded or repeated).
pub fn redacted_target(uri: &Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode(name);
            if !value.is_empty() && SECRET_PARAMS.contains(&decoded.as_str()) {
                format!("{name}={REDACTED}")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// A query parameter name as a server reads it (`+` is a space, `%xx` a byte).
fn percent_decode(name: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(name)
        .ok()
        .and_then(|mut pairs| pairs.pop())
        .map_or_else(|| name.to_owned(), |(decoded, _)| decoded)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn target(s: &str) -> String {
        redacted_target(&s.parse::<Uri>().unwrap())
    }

    #[test]
    fn token_values_are_redacted_wherever_they_stand() {
        assert_eq!(target("/ws/notifications"), "/ws/notifications");
        assert_eq!(
            target("/ws/notifications?token=eyJ.abc.def"),
            "/ws/notifications?token=[redacted]"
        );
        assert_eq!(
            target("/ws/notifications?since=4&token=s3cret&format=msgpack"),
            "/ws/notifications?since=4&token=[redacted]&format=msgpack"
        );
        assert_eq!(
            target("/api/calendar.ics?%74oken=s3cret&token=again"),
            "/api/calendar.ics?%74oken=[redacted]&token=[redacted]"
        );
        assert_eq!(target("/api/events?tokens=1&x"), "/api/events?tokens=1&x");
        assert_eq!(target("/a?token="), "/a?token=");
    }
}
