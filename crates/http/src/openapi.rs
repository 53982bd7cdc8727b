//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes,
    SecurityScheme,
};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};

use crate::error::{ConflictProblem, FieldProblem, Problem, PROBLEM_JSON};
use crate::negotiate::MSGPACK;
use crate::{dto, routes};

/// Convene's API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Convene",
        description = "Collaborative events: share, version, never double-book, live notifications.\n\n\
Every body may be JSON or MessagePack (`Content-Type`); responses follow `Accept` \
(q-values honoured; MessagePack only when ranked strictly above JSON). Errors are RFC 9457 \
problem details with a stable `code`. Syntactically invalid bodies (bad JSON/MessagePack) \
answer 400 `malformed_body`; well-formed but invalid values answer 422 \
`validation_failed` listing every field problem (at most 100; `detail` gives the total). \
A value of the wrong type (`{\"title\": 5}`) is such a field problem, named by its path \
from the body's root (`title`, `events[3].title` with `index` 3, `[0].user_id`; `body` \
when the body itself has the wrong shape); each is listed, up to 16 per body. A batch \
item's other problems are named by their path too (`events[3].end_time`, `index` 3). A \
MessagePack body must be exactly one document (trailing bytes: 400).\n\n\
Error codes: 400 `malformed_body`, `invalid_cursor`, `invalid_query`; 401 `unauthorized` \
(checked before the body is read); 403 `forbidden`; 404 `not_found`; 405 \
`method_not_allowed` (the `Allow` header lists the resource's methods); 409 \
`event_conflict` (at most 50 `conflicts`, `detail` gives the total; for events the caller \
cannot read, `id` and `title` are null), `username_taken`, `email_taken`; 412 \
`precondition_failed`; 413 `payload_too_large` (body over 1 MiB, more than 500 batch \
items or 100 share entries); 415 `unsupported_media_type`; 422 `validation_failed`; 429 \
`rate_limited`; 500 `internal`; 503 `unavailable`."
    ),
    paths(
        routes::auth::register,
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::me,
        routes::users::find,
        routes::events::create,
        routes::events::create_batch,
        routes::events::import,
        routes::events::list,
        routes::events::get,
        routes::events::update,
        routes::events::patch,
        routes::events::delete,
        routes::occurrences::list,
        routes::occurrences::update,
        routes::occurrences::cancel,
        routes::occurrences::split,
        routes::feeds::calendar,
        routes::feeds::create,
        routes::feeds::list,
        routes::feeds::revoke,
        routes::freebusy::freebusy,
        routes::freebusy::slots,
        routes::sharing::share,
        routes::sharing::list,
        routes::sharing::change_role,
        routes::sharing::revoke,
        routes::history::changelog,
        routes::history::version,
        routes::history::diff,
        routes::history::rollback,
        routes::notifications::list,
        routes::notifications::read,
        routes::notifications::read_all,
        crate::ws::notifications_ws,
        routes::health::healthz,
        routes::health::readyz,
        crate::metrics::metrics,
    ),
    components(schemas(Problem, FieldProblem, ConflictProblem, dto::UserRead, dto::Token, dto::UserSummary, dto::RoleName, dto::GrantedRole, dto::FrameFormat, dto::ExceptionRead, convene_live::wire::WsNotification, convene_live::wire::DataDoc)),
    modifiers(&SecuritySchemes, &WireFormats, &WebSocketRoute, &NotificationTypes),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "users", description = "Finding people to share with"),
        (name = "events", description = "Events and conflict-free scheduling"),
        (name = "calendar", description = "iCalendar: the subscription feed and its tokens"),
        (name = "sharing", description = "Participants and their roles"),
        (name = "history", description = "Versions, diffs and rollback"),
        (name = "notifications", description = "The caller's notifications"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// The generated document as pretty JSON (what `convene openapi` prints).
pub fn openapi_json() -> Result<String, serde_json::Error> {
    let mut json = ApiDoc::openapi().to_pretty_json()?;
    json.push('\n');
    Ok(json)
}

/// Adds the bearer scheme and the OAuth2 password flow (Swagger UI's Authorize button).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "feedToken",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "A feed token (`POST /api/feed-tokens`): read-only, good for the subscription feed only",
            ))),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::new(
                "/api/auth/login",
                Scopes::new(),
            ))])),
        );
    }
}

/// Marks the WebSocket route as what it is: an upgrade, not a plain GET. Generators and
/// fuzzers should leave it alone (Schemathesis excludes it by this extension), clients
/// open it with a WebSocket library.
struct WebSocketRoute;

impl Modify for WebSocketRoute {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(op) = openapi
            .paths
            .paths
            .get_mut("/ws/notifications")
            .and_then(|item| item.get.as_mut())
        else {
            return;
        };
        let extension = utoipa::openapi::extensions::ExtensionsBuilder::new()
            .add(
                "x-websocket",
                serde_json::json!({
                    "protocol": "websocket",
                    "frames": {
                        "text": "#/components/schemas/WsNotification",
                        "binary (format=msgpack)": "#/components/schemas/WsNotification"
                    },
                    "close_codes": {
                        "1000": "closed by the client",
                        "1001": "going away: silent peer or server shutdown; reconnect with since",
                        "1008": "session revoked or token expired; get a token, reconnect with since",
                        "1011": "replay failed; reconnect with since later",
                        "1013": "fell behind (1,024 queued); reconnect with since"
                    }
                }),
            )
            .build();
        op.extensions
            .get_or_insert_with(Default::default)
            .merge(extension);
    }
}

/// Types each notification's `data` by its `type`: `NotificationRead` and
/// `WsNotification` become a `oneOf` of one variant per group of types, told apart by
/// the `type` discriminator, each with its own `data` schema (the Rust documents stay one
/// struct each; only their schemas are split).
struct NotificationTypes;

impl NotificationTypes {
    /// (variant suffix, the `type` values, the `data` schema's name).
    const VARIANTS: [(&'static str, &'static [&'static str], &'static str); 6] = [
        (
            "EventChanged",
            &["event_created", "event_updated"],
            "EventChangeData",
        ),
        ("EventRolledBack", &["event_rolled_back"], "RollbackData"),
        ("EventDeleted", &["event_deleted"], "DeletionData"),
        (
            "PermissionGranted",
            &["event_shared", "permission_changed"],
            "RoleData",
        ),
        ("PermissionRevoked", &["permission_revoked"], "NoData"),
        (
            "OccurrenceSkipped",
            &["occurrence_skipped"],
            "OccurrenceSkippedData",
        ),
    ];

    fn data_schemas() -> [(&'static str, serde_json::Value); 6] {
        use serde_json::json;
        let version = json!({"type": "integer", "format": "int32", "minimum": 1,
            "description": "The version the change made."});
        let title = json!({"type": "string", "description": "The event's title."});
        let recurrence_id = json!({"type": "string", "format": "date-time",
            "description": "The occurrence concerned: its original start (UTC)."});
        [
            (
                "EventChangeData",
                json!({"type": "object",
                "description": "`data` of `event_created` and `event_updated` (with \
                    `recurrence_id` when one occurrence of a series was changed).",
                "required": ["version", "title"],
                "properties": {"version": version, "title": title,
                    "recurrence_id": recurrence_id}}),
            ),
            (
                "RollbackData",
                json!({"type": "object",
                "description": "`data` of `event_rolled_back`.",
                "required": ["version", "title", "restored_from"],
                "properties": {"version": version, "title": title,
                    "restored_from": {"type": "integer", "format": "int32", "minimum": 1,
                        "description": "The version restored."}}}),
            ),
            (
                "DeletionData",
                json!({"type": "object",
                "description": "`data` of `event_deleted`.",
                "required": ["title"], "properties": {"title": title}}),
            ),
            (
                "RoleData",
                json!({"type": "object",
                "description": "`data` of `event_shared` and `permission_changed`.",
                "required": ["role"],
                "properties": {"role": {"$ref": "#/components/schemas/GrantedRole"}}}),
            ),
            (
                "NoData",
                json!({"type": "object",
                "description": "`data` of `permission_revoked`: no details.",
                "properties": {}, "additionalProperties": false}),
            ),
            (
                "OccurrenceSkippedData",
                json!({"type": "object",
                "description": "`data` of `occurrence_skipped`: the occurrence cancelled.",
                "required": ["recurrence_id", "title"],
                "properties": {"recurrence_id": recurrence_id, "title": title}}),
            ),
        ]
    }
}

impl Modify for NotificationTypes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use serde_json::json;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let schema = |value: serde_json::Value| {
            serde_json::from_value::<RefOr<utoipa::openapi::schema::Schema>>(value)
        };
        for (name, value) in Self::data_schemas() {
            if let Ok(data) = schema(value) {
                components.schemas.insert(name.to_owned(), data);
            }
        }
        for base in ["NotificationRead", "WsNotification"] {
            let Some(Ok(document)) = components.schemas.get(base).map(serde_json::to_value) else {
                continue;
            };
            let mut one_of = Vec::new();
            let mut mapping = serde_json::Map::new();
            for (suffix, types, data) in Self::VARIANTS {
                let name = format!("{base}{suffix}");
                let reference = format!("#/components/schemas/{name}");
                let mut variant = document.clone();
                variant["description"] = json!(format!("{base} of type {}.", types.join(" or ")));
                variant["properties"]["type"] = json!({"type": "string", "enum": types});
                variant["properties"]["data"] =
                    json!({"$ref": format!("#/components/schemas/{data}")});
                if let Ok(variant) = schema(variant) {
                    components.schemas.insert(name, variant);
                }
                one_of.push(json!({"$ref": reference}));
                for kind in types {
                    mapping.insert((*kind).to_owned(), json!(reference));
                }
            }
            let union = json!({
                "oneOf": one_of,
                "discriminator": {"propertyName": "type", "mapping": mapping},
                "description": document["description"],
            });
            if let Ok(union) = schema(union) {
                components.schemas.insert(base.to_owned(), union);
            }
        }
        components.schemas.remove("DataDoc");
    }
}

/// Documents the wire formats in one place: every JSON body is also offered as
/// MessagePack, and error responses are `application/problem+json`.
struct WireFormats;

impl WireFormats {
    fn operation(op: &mut Operation) {
        if let Some(body) = op.request_body.as_mut() {
            if let Some(json) = body.content.get("application/json").cloned() {
                body.content.entry(MSGPACK.to_owned()).or_insert(json);
            }
        }
        let takes_body = op.request_body.is_some();
        let operation_id = op.operation_id.clone().unwrap_or_default();
        // Whatever reads or writes the database may find it unavailable.
        if !["getHealth", "getMetrics"].contains(&operation_id.as_str()) {
            op.responses
                .responses
                .entry("503".to_owned())
                .or_insert_with(|| {
                    utoipa::openapi::ResponseBuilder::new()
                        .description("`unavailable`: the database cannot be reached or written")
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build()
                        .into()
                });
        }
        for (status, response) in op.responses.responses.iter_mut() {
            let RefOr::T(response) = response else {
                continue;
            };
            let Some(mut json) = response.content.shift_remove("application/json") else {
                continue;
            };
            let is_error = status.starts_with('4') || status.starts_with('5');
            let json_type = if is_error {
                if let Ok(code) = status.parse::<u16>() {
                    json.example = Some(problem_example(code, &operation_id, takes_body));
                    if let Some((name, description)) = problem_header(code) {
                        response.headers.entry(name.to_owned()).or_insert_with(|| {
                            utoipa::openapi::HeaderBuilder::new()
                                .schema(
                                    utoipa::openapi::ObjectBuilder::new()
                                        .schema_type(utoipa::openapi::schema::Type::String),
                                )
                                .description(Some(description))
                                .build()
                        });
                    }
                }
                PROBLEM_JSON
            } else {
                "application/json"
            };
            response.content.insert(json_type.to_owned(), json.clone());
            response.content.insert(MSGPACK.to_owned(), json);
        }
    }
}

/// The header an error status always carries, if any.
fn problem_header(status: u16) -> Option<(&'static str, &'static str)> {
    match status {
        401 => Some(("WWW-Authenticate", "`Bearer`: send an access token")),
        429 | 503 => Some(("Retry-After", "Seconds to wait before trying again")),
        _ => None,
    }
}

/// A problem document as `operation` answers with `status`: each error response shows
/// its own example, not one shared by all.
fn problem_example(status: u16, operation: &str, takes_body: bool) -> serde_json::Value {
    use serde_json::json;
    let (code, detail) = match status {
        400 if takes_body => (
            "malformed_body",
            "invalid JSON: EOF while parsing an object at line 1 column 1",
        ),
        400 => ("invalid_query", "limit must be an integer, not \"ten\""),
        401 if operation == "loginUser" => ("unauthorized", "wrong username or password"),
        401 => (
            "unauthorized",
            "missing, invalid, expired or revoked access token",
        ),
        403 => ("forbidden", "only the owner may do this"),
        404 => ("not_found", "no such resource"),
        409 if operation == "registerUser" => ("username_taken", "the username is taken"),
        409 => ("event_conflict", "overlaps 1 existing event"),
        412 => (
            "precondition_failed",
            "If-Match does not match the event's current ETag",
        ),
        413 => ("payload_too_large", "the body exceeds 1048576 bytes"),
        415 => (
            "unsupported_media_type",
            "text/plain is not supported; send application/json or application/msgpack",
        ),
        422 => ("validation_failed", "1 field problem"),
        429 => ("rate_limited", "too many attempts; retry after 6 s"),
        503 => (
            "unavailable",
            "the database cannot be reached; retry shortly",
        ),
        _ => ("internal", "an internal error occurred"),
    };
    let title = actix_web::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut example = json!({
        "type": "about:blank", "title": title, "status": status, "code": code, "detail": detail,
    });
    match status {
        409 if code == "event_conflict" => {
            example["conflicts"] = json!([{"id": 7, "title": "Standup",
                "start_time": "2030-01-31T09:30:00Z", "end_time": "2030-01-31T09:45:00Z"}]);
        }
        412 => example["current_etag"] = json!("\"3\""),
        422 => {
            example["errors"] =
                json!([{"field": "end_time", "message": "must be after start_time"}]);
        }
        _ => {}
    }
    example
}

impl Modify for WireFormats {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                Self::operation(op);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::{BTreeSet, HashSet};

    use serde_json::Value;

    use super::openapi_json;

    fn document() -> Value {
        serde_json::from_str(&openapi_json().unwrap()).unwrap()
    }

    /// Every operation of the document with its method and path.
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
        out
    }

    #[test]
    fn operation_ids_are_present_unique_and_camel_case() {
        let doc = document();
        let mut seen = HashSet::new();
        for (method, path, op) in operations(&doc) {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}"));
            assert!(seen.insert(id.to_owned()), "operationId {id} twice");
            assert!(
                id.chars().next().unwrap().is_ascii_lowercase()
                    && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "{id}"
            );
        }
    }

    #[test]
    fn path_parameters_match_the_template_and_the_rest_are_query_parameters() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            let in_template: BTreeSet<String> = path
                .split('{')
                .skip(1)
                .map(|s| s.split('}').next().unwrap().to_owned())
                .collect();
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let declared: BTreeSet<String> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(in_template, declared, "{method} {path}");
            for p in params.iter().filter(|p| p["in"] == "path") {
                assert_eq!(p["required"], true, "{method} {path} {p}");
            }
        }
        let list = &doc["paths"]["/api/events"]["get"]["parameters"];
        let by_name = |name: &str| {
            list.as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .cloned()
                .unwrap()
        };
        for name in ["from", "to", "role", "limit", "cursor"] {
            let p = by_name(name);
            assert_eq!(p["in"], "query", "{p}");
            assert_ne!(p["required"], true, "{p}");
        }
        let limit = by_name("limit")["schema"].clone();
        assert!(limit["type"].to_string().contains("integer"), "{limit}");
        assert_eq!(
            (limit["minimum"].clone(), limit["maximum"].clone()),
            (1.into(), 200.into())
        );
        assert_eq!(by_name("from")["schema"]["format"], "date-time");
        let unread = &doc["paths"]["/api/notifications"]["get"]["parameters"][0];
        assert_eq!(
            (unread["name"].as_str(), unread["in"].as_str()),
            (Some("unread_only"), Some("query"))
        );
        assert!(unread["schema"]["type"].to_string().contains("boolean"));
    }

    #[test]
    fn headers_and_the_websocket_route_are_documented() {
        let doc = document();
        let created = &doc["paths"]["/api/events"]["post"]["responses"]["201"]["headers"];
        assert!(
            created["Location"].is_object() && created["ETag"].is_object(),
            "{created}"
        );
        for (path, method, status) in [
            ("/api/events/{id}", "get", "200"),
            ("/api/events/{id}", "patch", "200"),
            ("/api/events/{id}", "put", "200"),
            ("/api/events/{id}/rollback/{version}", "post", "200"),
        ] {
            let headers = &doc["paths"][path][method]["responses"][status]["headers"];
            assert!(headers["ETag"].is_object(), "{method} {path}");
        }
        let get = &doc["paths"]["/api/events/{id}"]["get"]["parameters"];
        assert!(get
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "If-None-Match"
                && p["in"] == "header"
                && p["schema"]["type"] == "string"));
        let me = &doc["paths"]["/api/auth/me"]["get"]["responses"]["401"]["headers"];
        assert!(me["WWW-Authenticate"].is_object(), "{me}");
        let created = &doc["paths"]["/api/events"]["post"]["responses"]["503"]["headers"];
        assert!(created["Retry-After"].is_object(), "{created}");
        let login = &doc["paths"]["/api/auth/login"]["post"]["responses"]["429"]["headers"];
        assert!(login["Retry-After"].is_object(), "{login}");
        let ws = &doc["paths"]["/ws/notifications"]["get"]["x-websocket"];
        assert_eq!(ws["protocol"], "websocket");
        assert!(ws["close_codes"]["1008"].is_string());
    }

    #[test]
    fn each_error_response_has_its_own_example() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            for (status, response) in op["responses"].as_object().unwrap() {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let example = &response["content"]["application/problem+json"]["example"];
                assert_eq!(
                    example["status"].as_u64().map(|s| s.to_string()).as_deref(),
                    Some(status.as_str()),
                    "{method} {path} {status}"
                );
                assert!(example["code"].is_string(), "{method} {path} {status}");
            }
        }
    }

    #[test]
    fn properties_keep_their_declaration_order() {
        // The text, not a parsed map (which would sort the keys).
        let text = openapi_json().unwrap();
        let schema = &text[text.find("\"EventCreate\": {").unwrap()..];
        let properties = &schema[schema.find("\"properties\"").unwrap()..];
        let at = |key: &str| properties.find(&format!("\"{key}\": {{")).unwrap();
        let order = ["title", "description", "start_time", "end_time", "location"].map(at);
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }

    #[test]
    fn cursor_patterns_are_the_ones_the_server_parses() {
        use crate::paging;
        let doc = document();
        for (path, pattern) in [
            ("/api/events", paging::EVENT_CURSOR_PATTERN),
            ("/api/events/{id}/changelog", paging::VERSION_CURSOR_PATTERN),
            ("/api/notifications", paging::NOTIFICATION_CURSOR_PATTERN),
            ("/api/occurrences", paging::OCCURRENCE_CURSOR_PATTERN),
        ] {
            let cursor = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "cursor")
                .cloned()
                .unwrap();
            assert_eq!(cursor["schema"]["pattern"], pattern, "{path}");
        }
    }

    #[test]
    fn every_operation_with_a_body_documents_the_body_errors() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            if op.get("requestBody").is_none() {
                continue;
            }
            for status in ["400", "413", "415", "422"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} lacks {status}"
                );
            }
        }
    }

    #[test]
    fn notification_data_is_typed_by_the_notification_type() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for base in ["NotificationRead", "WsNotification"] {
            let union = &schemas[base];
            assert_eq!(union["discriminator"]["propertyName"], "type", "{base}");
            let mapping = union["discriminator"]["mapping"].as_object().unwrap();
            for kind in convene_domain::notification::NotificationKind::ALL.map(|k| k.as_str()) {
                let reference = mapping[kind].as_str().unwrap();
                let variant = &schemas[reference.rsplit('/').next().unwrap()];
                let kinds = variant["properties"]["type"]["enum"].as_array().unwrap();
                assert!(kinds.iter().any(|k| k == kind), "{base} {kind}");
                let data = variant["properties"]["data"]["$ref"].as_str().unwrap();
                assert!(
                    schemas[data.rsplit('/').next().unwrap()].is_object(),
                    "{data}"
                );
            }
        }
        assert_eq!(
            schemas["RollbackData"]["required"],
            serde_json::json!(["version", "title", "restored_from"])
        );
        assert!(schemas.get("DataDoc").is_none());
    }
}
