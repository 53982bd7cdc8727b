//! Wire formats: request bodies in JSON or MessagePack (plus the OAuth2 form on login),
//! responses in the format the `Accept` header prefers, errors included.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, Accept, Header, HeaderValue, Quality};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::mime::{self, Mime};
use actix_web::{
    FromRequest, HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder, Responder,
};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use convene_domain::validation::FieldError;

use crate::error::{ApiError, PROBLEM_JSON};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The MessagePack media type Convene answers with.
pub const MSGPACK: &str = "application/msgpack";
const MSGPACK_TYPES: [&str; 2] = [MSGPACK, "application/x-msgpack"];

/// A response encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json` (the default).
    Json,
    /// `application/msgpack`: the same document, maps with named fields.
    MsgPack,
}

/// The iCalendar media type (`GET /api/events/{id}` can answer in it).
pub const CALENDAR: &str = "text/calendar";

/// The quality the `Accept` list gives one of `targets` (all of one type), from its most
/// specific matching range (`type/subtype` over `type/*` over `*/*`).
fn quality_of(accept: &Accept, targets: &[&str]) -> Option<Quality> {
    let mut best: Option<(u8, Quality)> = None;
    for item in accept.iter() {
        let range = &item.item;
        let same_type = targets
            .iter()
            .any(|t| t.split('/').next() == Some(range.type_().as_str()));
        let specificity = if targets.contains(&range.essence_str()) {
            3
        } else if same_type && range.subtype() == mime::STAR {
            2
        } else if range.type_() == mime::STAR {
            1
        } else {
            continue;
        };
        // The most specific range decides; of equally specific ones (a type's aliases,
        // e.g. `application/x-msgpack` beside `application/msgpack`), the higher quality.
        if best.is_none_or(|(s, q)| specificity > s || (specificity == s && item.quality > q)) {
            best = Some((specificity, item.quality));
        }
    }
    best.map(|(_, q)| q)
}

/// Whether `Accept` ranks iCalendar strictly above JSON and MessagePack (a route that
/// can answer in iCalendar then does).
pub fn prefers_calendar<M: HttpMessage>(msg: &M) -> bool {
    let Ok(accept) = Accept::parse(msg) else {
        return false;
    };
    let calendar = quality_of(&accept, &[CALENDAR]).unwrap_or(Quality::ZERO);
    calendar > Quality::ZERO && calendar > documents_quality(&accept)
}

/// The best quality `Accept` gives a JSON or MessagePack document.
fn documents_quality(accept: &Accept) -> Quality {
    let json = quality_of(accept, &["application/json", PROBLEM_JSON]).unwrap_or(Quality::ZERO);
    let msgpack = quality_of(accept, &MSGPACK_TYPES).unwrap_or(Quality::ZERO);
    json.max(msgpack)
}

/// Whether `Accept` admits iCalendar (an absent or unparsable header admits anything):
/// what a route that answers only in iCalendar checks.
pub fn accepts_calendar<M: HttpMessage>(msg: &M) -> bool {
    if !msg.headers().contains_key(header::ACCEPT) {
        return true;
    }
    Accept::parse(msg).map_or(true, |accept| {
        quality_of(&accept, &[CALENDAR]).is_some_and(|q| q > Quality::ZERO)
    })
}

impl Format {
    /// MessagePack when `Accept` ranks it strictly above JSON; JSON otherwise (also when
    /// the header is absent or unparsable). Ties go to JSON.
    pub fn preferred<M: HttpMessage>(msg: &M) -> Self {
        let Ok(accept) = Accept::parse(msg) else {
            return Self::Json;
        };
        let msgpack = quality_of(&accept, &MSGPACK_TYPES).unwrap_or(Quality::ZERO);
        let json =
            quality_of(&accept, &["application/json", PROBLEM_JSON]).unwrap_or(Quality::ZERO);
        if msgpack > Quality::ZERO && msgpack > json {
            Self::MsgPack
        } else {
            Self::Json
        }
    }

    /// Encodes `value` in this format.
    pub fn encode<T: Serialize>(self, value: &T) -> Result<Vec<u8>, ApiError> {
        match self {
            Self::Json => serde_json::to_vec(value).map_err(ApiError::internal),
            Self::MsgPack => rmp_serde::to_vec_named(value).map_err(ApiError::internal),
        }
    }
}

/// A successful response whose body is encoded per `Accept`.
pub struct Reply<T> {
    status: StatusCode,
    body: Option<T>,
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl<T: Serialize> Reply<T> {
    /// 200 with `body`.
    pub fn ok(body: T) -> Self {
        Self::with_status(StatusCode::OK, body)
    }

    /// `status` with `body`.
    pub fn with_status(status: StatusCode, body: T) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }
}

impl<T> Reply<T> {
    /// Adds a response header.
    pub fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// `status` with no body (204, 304).
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            headers: Vec::new(),
        }
    }
}

impl Reply<()> {
    /// 204 No Content.
    pub fn no_content() -> Self {
        Self::empty(StatusCode::NO_CONTENT)
    }
}

impl<T: Serialize> Responder for Reply<T> {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        let mut res = HttpResponseBuilder::new(self.status);
        for (name, value) in self.headers {
            res.insert_header((name, value));
        }
        let Some(body) = self.body else {
            return res.finish();
        };
        let format = Format::preferred(req);
        match format.encode(&body) {
            Ok(bytes) => {
                let content_type = match format {
                    Format::Json => "application/json",
                    Format::MsgPack => MSGPACK,
                };
                res.insert_header((header::CONTENT_TYPE, content_type));
                res.insert_header((header::VARY, "Accept"));
                res.body(bytes)
            }
            Err(e) => actix_web::ResponseError::error_response(&e),
        }
    }
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    MsgPack,
    Form,
}

/// A `Content-Type` with white space around its `;` (`application/json ; charset=utf-8`,
/// which RFC 9110 allows and the media-type parser refuses), read without it.
fn spaced_media_type(req: &HttpRequest) -> Option<Mime> {
    let raw = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    raw.split(';')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
        .parse()
        .ok()
}

async fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    allow_form: bool,
) -> Result<(BodyKind, Vec<u8>), ApiError> {
    let mime: Option<Mime> = match req.mime_type() {
        Ok(mime) => mime,
        Err(_) => Some(
            spaced_media_type(req)
                .ok_or_else(|| ApiError::unsupported_media_type("unparsable Content-Type"))?,
        ),
    };
    let kind = match mime.as_ref().map(Mime::essence_str) {
        None | Some("application/json") => BodyKind::Json,
        Some(t) if MSGPACK_TYPES.contains(&t) => BodyKind::MsgPack,
        Some("application/x-www-form-urlencoded") if allow_form => BodyKind::Form,
        Some(other) => {
            let accepted = if allow_form {
                "application/json, application/msgpack or application/x-www-form-urlencoded"
            } else {
                "application/json or application/msgpack"
            };
            return Err(ApiError::unsupported_media_type(format!(
                "{other} is not supported; send {accepted}"
            )));
        }
    };
    Ok((kind, read_bytes(req, payload).await?))
}

/// A request body of at most [`MAX_BODY_BYTES`] (413 beyond, told by `Content-Length`
/// before reading when it is declared).
pub async fn read_bytes(req: &HttpRequest, payload: &mut Payload) -> Result<Vec<u8>, ApiError> {
    let too_large =
        || ApiError::payload_too_large(format!("the body exceeds {MAX_BODY_BYTES} bytes"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::malformed_body(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Decodes a body in two steps: the syntax into a document (else 400 `malformed_body`),
/// then the document into `T`, where a value of the wrong type is a field problem like
/// any other (422 `validation_failed`, naming the field's path, e.g. `events[3].title`).
fn decode<T: DeserializeOwned>(kind: BodyKind, body: &[u8], shape: Shape) -> Result<T, ApiError> {
    let document: serde_json::Value = match kind {
        BodyKind::Json => serde_json::from_slice(body)
            .map_err(|e| ApiError::malformed_body(format!("invalid JSON: {e}")))?,
        BodyKind::MsgPack => msgpack_document(body)?,
        // Form fields are all text: nothing can have the wrong type.
        BodyKind::Form => {
            return serde_urlencoded::from_bytes(body)
                .map_err(|e| ApiError::malformed_body(format!("invalid form: {e}")))
        }
    };
    let fits = match shape {
        Shape::Object => document.is_object(),
        Shape::List => document.is_array(),
    };
    if !fits {
        return Err(ApiError::validation(vec![FieldError::new(
            "body",
            match shape {
                Shape::Object => "must be an object (a JSON object or MessagePack map)",
                Shape::List => "must be a list (a JSON array or MessagePack array)",
            },
        )]));
    }
    typed(document).map_err(ApiError::validation)
}

/// Most decoding passes over one document: each pass finds one value of the wrong type,
/// so at most this many are listed (a body of one object has fewer fields than this).
const TYPE_PASSES: usize = 16;

/// `document` as a `T`, or every value of the wrong type in it (up to [`TYPE_PASSES`]):
/// serde stops at the first, so each pass takes the one it found out and decodes again.
fn typed<T: DeserializeOwned>(mut document: serde_json::Value) -> Result<T, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut taken_out: Vec<String> = Vec::new();
    while errors.len() < TYPE_PASSES {
        let e = match serde_path_to_error::deserialize::<_, T>(&document) {
            Ok(value) if errors.is_empty() => return Ok(value),
            Ok(_) => break,
            Err(e) => e,
        };
        let path = e.path().to_string();
        // A field this loop took out may have been required ("missing field"): that is
        // not the client's problem, and the ones found so far are the answer.
        if taken_out
            .iter()
            .any(|t| parent_path(t) == Some(path.as_str()))
        {
            break;
        }
        errors.push(type_error(&e));
        if !take_out(&mut document, e.path()) {
            break;
        }
        taken_out.push(path);
    }
    Err(errors)
}

/// The path of the value holding `path` (`events[3]` of `events[3].title`, `.` of
/// `title`), as `serde_path_to_error` writes paths.
fn parent_path(path: &str) -> Option<&str> {
    match path.rfind(['.', '[']) {
        Some(0) | None => Some("."),
        Some(at) => Some(&path[..at]),
    }
}

/// Removes the member `path` names from `document`; false when `path` does not end in
/// a member of an object (a list item or the root cannot be taken out).
fn take_out(document: &mut serde_json::Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((Segment::Map { key }, parents)) = segments.split_last() else {
        return false;
    };
    let mut value = document;
    for segment in parents {
        let next = match segment {
            Segment::Seq { index } => value.get_mut(*index),
            Segment::Map { key } => value.get_mut(key.as_str()),
            _ => None,
        };
        let Some(next) = next else { return false };
        value = next;
    }
    value
        .as_object_mut()
        .is_some_and(|object| object.remove(key.as_str()).is_some())
}

/// The deepest nesting a body may have, in either format.
const MAX_DEPTH: usize = 128;

/// One MessagePack document filling the whole body: bytes after it are a syntax error
/// too (every ASCII byte is a whole MessagePack integer, so a text body would otherwise
/// decode as its first character).
fn msgpack_document(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    use serde::Deserialize;
    let mut rest = body;
    let mut decoder = rmp_serde::Deserializer::new(&mut rest);
    // As deep as JSON's parser goes (serde_json: 128); deeper nesting would take the
    // decoder's recursion past a worker's stack.
    decoder.set_max_depth(MAX_DEPTH);
    let Lenient(document) = Lenient::deserialize(&mut decoder)
        .map_err(|e| ApiError::malformed_body(format!("invalid MessagePack: {e}")))?;
    if rest.is_empty() {
        Ok(document)
    } else {
        Err(ApiError::malformed_body(format!(
            "invalid MessagePack: {} bytes after the document",
            rest.len()
        )))
    }
}

/// A MessagePack value as the JSON document it stands for. A `bin` or an `ext` value
/// has no JSON counterpart: it is read as the list of its bytes, so that an unknown
/// member holding one is ignored like any other and a known one is of the wrong type
/// (422), not a syntax error.
struct Lenient(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Lenient {
    fn deserialize<D: serde::Deserializer<'de>>(decoder: D) -> Result<Self, D::Error> {
        decoder.deserialize_any(LenientVisitor)
    }
}

struct LenientVisitor;

impl<'de> serde::de::Visitor<'de> for LenientVisitor {
    type Value = Lenient;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a MessagePack value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Lenient, E> {
        Ok(Lenient(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Lenient, E> {
        Ok(Lenient(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Lenient, E> {
        Ok(Lenient(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Lenient, E> {
        Ok(Lenient(
            serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Lenient, E> {
        Ok(Lenient(v.into()))
    }

    fn visit_string<E>(self, v: String) -> Result<Lenient, E> {
        Ok(Lenient(v.into()))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Lenient, E> {
        Ok(Lenient(
            v.iter().map(|b| serde_json::Value::from(*b)).collect(),
        ))
    }

    fn visit_none<E>(self) -> Result<Lenient, E> {
        Ok(Lenient(serde_json::Value::Null))
    }

    fn visit_unit<E>(self) -> Result<Lenient, E> {
        Ok(Lenient(serde_json::Value::Null))
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Lenient, D::Error> {
        serde::Deserialize::deserialize(d)
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Lenient, D::Error> {
        serde::Deserialize::deserialize(d)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Lenient(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Lenient(serde_json::Value::Array(items)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Lenient, A::Error> {
        let mut members = serde_json::Map::new();
        while let Some((key, Lenient(value))) = map.next_entry::<String, Lenient>()? {
            members.insert(key, value);
        }
        Ok(Lenient(serde_json::Value::Object(members)))
    }
}

/// What a body's document must be at its root. (Decoding alone would take a list for
/// an object: serde reads a struct from a sequence of its fields in order.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Object,
    List,
}

/// The field problem of a document whose `path` holds a value of the wrong type. Inside
/// a list (`events[3].title`, `[3].role`) the item's position is also given as `index`.
fn type_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let path = e.path().to_string();
    let field = if path == "." { "body".to_owned() } else { path };
    let message = e.inner().to_string();
    let index = field
        .strip_prefix("events[")
        .or_else(|| field.strip_prefix('['))
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse().ok());
    let error = FieldError::new(field, message);
    match index {
        Some(i) => error.at(i),
        None => error,
    }
}

type BodyFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// A request body in JSON or MessagePack (by `Content-Type`; JSON when absent) whose
/// root is an object.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = BodyFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, false, Shape::Object, Body)
    }
}

/// Like [`Body`], for a body whose root is a list.
pub struct ListBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ListBody<T> {
    type Error = ApiError;
    type Future = BodyFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, false, Shape::List, ListBody)
    }
}

/// Reads and decodes a body (`form`: the OAuth2 form is accepted too), then `wrap`s it.
fn extract<T: DeserializeOwned + 'static, W: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    form: bool,
    shape: Shape,
    wrap: fn(T) -> W,
) -> BodyFuture<W> {
    let req = req.clone();
    let mut payload = payload.take();
    Box::pin(async move {
        let (kind, bytes) = read_body(&req, &mut payload, form).await?;
        decode(kind, &bytes, shape).map(wrap)
    })
}

/// Like [`Body`], but also accepts `application/x-www-form-urlencoded` (OAuth2 login).
pub struct FormOrBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for FormOrBody<T> {
    type Error = ApiError;
    type Future = BodyFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, true, Shape::Object, FormOrBody)
    }
}

/// Middleware making every error a problem document in the preferred format: problems
/// become MessagePack when the client prefers it, and bare errors from routing (404,
/// 405) or the framework become problem documents.
pub async fn problem_responses(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let format = Format::preferred(&req);
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem && format == Format::Json {
        // Negotiated like the rest: the answer depends on `Accept`.
        let mut res = res;
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let problem: serde_json::Value = if is_problem {
        let bytes = to_bytes(body).await.unwrap_or_default();
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::json!(ApiError::from_status(status).problem()))
    } else {
        serde_json::json!(ApiError::from_status(status).problem())
    };
    let (content_type, bytes) = match format {
        Format::Json => (
            PROBLEM_JSON,
            serde_json::to_vec(&problem).unwrap_or_default(),
        ),
        Format::MsgPack => (
            MSGPACK,
            rmp_serde::to_vec_named(&problem).unwrap_or_default(),
        ),
    };
    let mut res = head.set_body(BoxBody::new(bytes));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().remove(header::CONTENT_LENGTH);
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(ServiceResponse::new(req, res))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn pref(accept: Option<&str>) -> Format {
        let mut req = TestRequest::default();
        if let Some(a) = accept {
            req = req.insert_header((header::ACCEPT, a));
        }
        Format::preferred(&req.to_http_request())
    }

    #[test]
    fn negotiation_honours_q_values() {
        assert_eq!(pref(None), Format::Json);
        assert_eq!(pref(Some("application/msgpack")), Format::MsgPack);
        assert_eq!(pref(Some("application/x-msgpack")), Format::MsgPack);
        assert_eq!(pref(Some("application/json")), Format::Json);
        assert_eq!(pref(Some("*/*")), Format::Json);
        assert_eq!(
            pref(Some("application/msgpack, application/json")),
            Format::Json
        );
        assert_eq!(
            pref(Some("application/json;q=0.5, application/msgpack")),
            Format::MsgPack
        );
        assert_eq!(
            pref(Some("application/msgpack;q=0.4, application/json;q=0.9")),
            Format::Json
        );
        assert_eq!(
            pref(Some("application/msgpack;q=0.9, */*;q=0.1")),
            Format::MsgPack
        );
        assert_eq!(
            pref(Some("application/msgpack;q=0, application/json")),
            Format::Json
        );
        assert_eq!(pref(Some("application/msgpack;q=0")), Format::Json);
        // Two names of one format: the better q counts, wherever it stands.
        assert_eq!(
            pref(Some(
                "application/x-msgpack;q=0.1, application/msgpack;q=0.9, application/json;q=0.5"
            )),
            Format::MsgPack
        );
        assert_eq!(
            pref(Some(
                "application/problem+json;q=0.1, application/msgpack;q=0.5, application/json"
            )),
            Format::Json
        );
        assert_eq!(pref(Some("text/html")), Format::Json);
        assert_eq!(pref(Some("garbage;;;")), Format::Json);
    }
}
