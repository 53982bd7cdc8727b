//! Request and response documents (the wire format) with their OpenAPI schemas.
//! Domain types carry no serde; these convert to and from them.

use chrono::{DateTime, SecondsFormat, Utc};
use convene_domain::account::User;
use convene_domain::event::{EventInput, PatchInput};
use convene_domain::notification::Notification;
use convene_domain::permission::Permission;
use convene_domain::version::{FieldChange, FieldValue, VersionRecord};
pub use convene_live::wire::rfc3339;
use convene_live::wire::DataDoc;
use convene_service::auth::{TokenPair, UserSummary as DomainUserSummary};
use convene_service::Event;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/auth/register` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3–50 characters of `[A-Za-z0-9_.-]`, unique case-insensitively.
    #[schema(value_type = String, required = true, example = "alice")]
    pub username: Option<String>,
    /// A valid email address, unique case-insensitively.
    #[schema(value_type = String, required = true, example = "alice@example.com")]
    pub email: Option<String>,
    /// 8–72 bytes; longer passwords are refused, never truncated.
    #[schema(value_type = String, required = true, format = Password, example = "correct horse")]
    pub password: Option<String>,
}

/// `POST /api/auth/login` body (JSON, MessagePack or the OAuth2 password form).
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username or email.
    #[schema(value_type = String, required = true, example = "alice")]
    pub username: Option<String>,
    /// The password.
    #[schema(value_type = String, required = true, format = Password)]
    pub password: Option<String>,
    /// OAuth2 `grant_type`; optional, must be `password` when given.
    #[schema(example = "password")]
    pub grant_type: Option<String>,
}

/// `POST /api/auth/refresh` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from the last `Token`; single use.
    #[schema(value_type = String, required = true)]
    pub refresh_token: Option<String>,
}

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserRead {
    /// The user's id.
    pub id: i64,
    /// Username as registered.
    pub username: String,
    /// Email as registered.
    pub email: String,
    /// Always `user`.
    #[schema(example = "user")]
    pub role: &'static str,
    /// Registration time, UTC.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserRead {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
            email: u.email,
            role: "user",
            created_at: u.created_at,
        }
    }
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    /// JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 1800)]
    pub expires_in: i64,
    /// Single-use token for `POST /api/auth/refresh`.
    pub refresh_token: String,
}

impl From<TokenPair> for Token {
    fn from(t: TokenPair) -> Self {
        Self {
            access_token: t.access_token,
            token_type: "bearer",
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
        }
    }
}

/// A user found by username; never exposes the email.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummary {
    /// The user's id.
    pub id: i64,
    /// Their username.
    pub username: String,
}

impl From<DomainUserSummary> for UserSummary {
    fn from(u: DomainUserSummary) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
        }
    }
}

/// Health and readiness answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok` (process up) or `ready` (database reachable).
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /api/events` body (also each item of a batch).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EventCreate {
    /// 1–200 characters, not blank.
    #[schema(value_type = String, required = true, example = "Standup")]
    pub title: Option<String>,
    /// Up to 10,000 characters; defaults to "".
    pub description: Option<String>,
    /// RFC 3339; any offset (none means UTC); at most microseconds.
    #[schema(value_type = String, format = DateTime, required = true, example = "2030-01-31T09:30:00Z")]
    pub start_time: Option<String>,
    /// RFC 3339, strictly after `start_time`.
    #[schema(value_type = String, format = DateTime, required = true, example = "2030-01-31T09:45:00Z")]
    pub end_time: Option<String>,
    /// Up to 500 characters.
    pub location: Option<String>,
}

impl From<EventCreate> for EventInput {
    fn from(e: EventCreate) -> Self {
        Self {
            title: e.title,
            description: e.description,
            start_time: e.start_time,
            end_time: e.end_time,
            location: e.location,
        }
    }
}

/// `PUT`/`PATCH /api/events/{id}` body: any subset of the fields; absent fields are
/// unchanged and `location: null` clears the location.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EventUpdate {
    /// New title.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub title: Option<Option<String>>,
    /// New description.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub description: Option<Option<String>>,
    /// New start.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = DateTime)]
    pub start_time: Option<Option<String>>,
    /// New end.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = DateTime)]
    pub end_time: Option<Option<String>>,
    /// New location; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
}

impl From<EventUpdate> for PatchInput {
    fn from(e: EventUpdate) -> Self {
        Self {
            title: e.title,
            description: e.description,
            start_time: e.start_time,
            end_time: e.end_time,
            location: e.location,
        }
    }
}

/// `POST /api/events/batch` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchCreate {
    /// 1–500 events, created atomically.
    #[schema(value_type = Vec<EventCreate>, required = true)]
    pub events: Option<Vec<EventCreate>>,
}

/// An event as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventRead {
    /// The event's id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description ("" when none).
    pub description: String,
    /// Start (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub start_time: DateTime<Utc>,
    /// End (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub end_time: DateTime<Utc>,
    /// Location, or null.
    pub location: Option<String>,
    /// The owner's id.
    pub owner_id: i64,
    /// Current version (also the ETag).
    pub version: i32,
    /// Creation time (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Last effective change (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// The caller's role: `owner`, `editor` or `viewer`.
    #[schema(example = "owner")]
    pub role: &'static str,
}

impl From<Event> for EventRead {
    fn from(Event { event: e, role }: Event) -> Self {
        Self {
            id: e.id.0,
            start_time: e.content.range.start(),
            end_time: e.content.range.end(),
            title: e.content.title,
            description: e.content.description,
            location: e.content.location,
            owner_id: e.owner.0,
            version: e.version.0,
            created_at: e.created_at,
            updated_at: e.updated_at,
            role: role.as_str(),
        }
    }
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Events by start time, then id.
    pub items: Vec<EventRead>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One entry of a share request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ShareEntry {
    /// Whom to share with.
    #[schema(value_type = i64, required = true)]
    pub user_id: Option<i64>,
    /// `editor` or `viewer`.
    #[schema(value_type = String, required = true, example = "editor")]
    pub role: Option<String>,
}

/// `PUT /api/events/{id}/permissions/{user_id}` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleUpdate {
    /// `editor` or `viewer`.
    #[schema(value_type = String, required = true, example = "viewer")]
    pub role: Option<String>,
}

/// A participant of an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionRead {
    /// The event.
    pub event_id: i64,
    /// The participant.
    pub user_id: i64,
    /// Their username.
    pub username: String,
    /// `owner`, `editor` or `viewer`.
    pub role: &'static str,
    /// Who granted it (the owner's own entry names the owner).
    pub granted_by: i64,
    /// When granted.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When last changed.
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
}

impl From<Permission> for PermissionRead {
    fn from(p: Permission) -> Self {
        Self {
            event_id: p.event_id.0,
            user_id: p.user_id.0,
            username: p.username,
            role: p.role.as_str(),
            granted_by: p.granted_by.0,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// One version of an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionRead {
    /// The event.
    pub event_id: i64,
    /// Version number (1 = created).
    pub version: i32,
    /// Title at this version.
    pub title: String,
    /// Description at this version.
    pub description: String,
    /// Start at this version.
    #[serde(serialize_with = "rfc3339")]
    pub start_time: DateTime<Utc>,
    /// End at this version.
    #[serde(serialize_with = "rfc3339")]
    pub end_time: DateTime<Utc>,
    /// Location at this version.
    pub location: Option<String>,
    /// `created`, `updated` or `rolled_back`.
    #[schema(example = "updated")]
    pub change: &'static str,
    /// The version restored, for `rolled_back`.
    pub restored_from: Option<i32>,
    /// Who made the change.
    pub changed_by: i64,
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub changed_at: DateTime<Utc>,
}

impl From<VersionRecord> for VersionRead {
    fn from(v: VersionRecord) -> Self {
        Self {
            event_id: v.event_id.0,
            version: v.version.0,
            start_time: v.content.range.start(),
            end_time: v.content.range.end(),
            title: v.content.title,
            description: v.content.description,
            location: v.content.location,
            change: v.change.as_str(),
            restored_from: v.restored_from.map(|r| r.0),
            changed_by: v.changed_by.0,
            changed_at: v.changed_at,
        }
    }
}

/// A page of versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Changelog {
    /// Versions in order.
    pub items: Vec<VersionRead>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One field's change between two versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldDiff {
    /// Value in `from_version` (string or null).
    #[schema(value_type = Option<String>)]
    pub from: serde_json::Value,
    /// Value in `to_version` (string or null).
    #[schema(value_type = Option<String>)]
    pub to: serde_json::Value,
}

/// The differences between two versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Diff {
    /// The event.
    pub event_id: i64,
    /// The first version.
    pub from_version: i32,
    /// The second version.
    pub to_version: i32,
    /// Each differing field among title, description, start_time, end_time, location.
    pub changes: std::collections::BTreeMap<&'static str, FieldDiff>,
}

fn field_value(v: FieldValue) -> serde_json::Value {
    match v {
        FieldValue::Text(t) => t.into(),
        FieldValue::Time(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true).into(),
        FieldValue::Null => serde_json::Value::Null,
    }
}

impl Diff {
    /// The document for `changes` between two versions of `event_id`.
    pub fn new(
        event_id: i64,
        from_version: i32,
        to_version: i32,
        changes: Vec<FieldChange>,
    ) -> Self {
        Self {
            event_id,
            from_version,
            to_version,
            changes: changes
                .into_iter()
                .map(|c| {
                    (
                        c.field.as_str(),
                        FieldDiff {
                            from: field_value(c.from),
                            to: field_value(c.to),
                        },
                    )
                })
                .collect(),
        }
    }
}

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationRead {
    /// Its id (ids grow with time).
    pub id: i64,
    /// `event_created`, `event_updated`, `event_rolled_back`, `event_deleted`,
    /// `event_shared`, `permission_changed` or `permission_revoked`.
    #[serde(rename = "type")]
    #[schema(example = "event_updated")]
    pub kind: &'static str,
    /// The event concerned.
    pub event_id: Option<i64>,
    /// Who caused it.
    pub actor_id: i64,
    /// A human sentence.
    pub message: String,
    /// Details, e.g. `{"role": "editor"}`.
    #[schema(value_type = Object)]
    pub data: DataDoc,
    /// Whether it has been read.
    pub is_read: bool,
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<Notification> for NotificationRead {
    fn from(Notification { id, body: n }: Notification) -> Self {
        Self {
            id: id.0,
            kind: n.kind.as_str(),
            event_id: n.event_id.map(|e| e.0),
            actor_id: n.actor_id.0,
            message: n.message,
            data: DataDoc::from(&n.data),
            is_read: n.is_read,
            created_at: n.created_at,
        }
    }
}

/// A page of notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    /// Newest first.
    pub items: Vec<NotificationRead>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// The caller's unread notifications, in all.
    pub unread_count: i64,
}

/// The answer of read-all.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadAll {
    /// How many notifications were marked read.
    pub updated: usize,
}
