//! The wire form of a notification: one document shape, typed, shared by the REST inbox
//! and the WebSocket (which sends it with `timestamp` for `created_at` and no `is_read`).

use chrono::{DateTime, SecondsFormat, Utc};
#[cfg(test)]
use convene_domain::notification::NotificationBody;
use convene_domain::notification::{Notification, NotificationData};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

/// Serialises a UTC time as RFC 3339 with `Z` and only the sub-second digits needed
/// (up to microseconds, as stored).
pub fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// A notification's `data` object: the details its type sets, and nothing else (absent
/// members are not sent). `event_created`, `event_updated`: `version`, `title`;
/// `event_rolled_back`: `version`, `title`, `restored_from`; `event_deleted`: `title`;
/// `event_shared`, `permission_changed`: `role`; `permission_revoked`: none (`{}`);
/// `occurrence_skipped`: `recurrence_id`, `title`. A change of one occurrence of a series
/// (`event_updated`) also names it: `recurrence_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DataDoc {
    /// The version a rollback restored (`event_rolled_back`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    pub restored_from: Option<i32>,
    /// The role granted (`event_shared`, `permission_changed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable = false, example = "editor")]
    pub role: Option<&'static str>,
    /// The event's title (event changes and deletion).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub title: Option<String>,
    /// The version the change made (`event_created`, `event_updated`,
    /// `event_rolled_back`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    pub version: Option<i32>,
    /// The occurrence concerned: its original start (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, nullable = false)]
    pub recurrence_id: Option<String>,
}

impl From<&NotificationData> for DataDoc {
    fn from(d: &NotificationData) -> Self {
        Self {
            restored_from: d.restored_from.map(|v| v.0),
            role: d.role.map(|r| r.as_str()),
            title: d.title.clone(),
            version: d.version.map(|v| v.0),
            recurrence_id: d
                .recurrence_id
                .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// One notification as pushed over the WebSocket.
#[derive(Debug, Serialize, ToSchema)]
pub struct WsNotification {
    /// The notification's id (use it as `since` when reconnecting).
    pub id: i64,
    /// What happened, e.g. `event_updated`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The event concerned; it stays set once the event is deleted.
    #[schema(required = true)]
    pub event_id: Option<i64>,
    /// Who did it.
    pub actor_id: i64,
    /// A human sentence.
    pub message: String,
    /// Details, e.g. `{"version": 2, "title": "Standup"}` or `{"role": "editor"}`.
    pub data: DataDoc,
    /// When it happened (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
}

impl From<&Notification> for WsNotification {
    fn from(Notification { id, body: n }: &Notification) -> Self {
        Self {
            id: id.0,
            kind: n.kind.as_str(),
            event_id: n.event_id.map(|e| e.0),
            actor_id: n.actor_id.0,
            message: n.message.clone(),
            data: DataDoc::from(&n.data),
            timestamp: n.created_at,
        }
    }
}

/// The JSON text frame of a notification.
pub fn json_frame(n: &Notification) -> Option<String> {
    serde_json::to_string(&WsNotification::from(n)).ok()
}

/// The MessagePack binary frame of a notification (a map with named fields).
pub fn msgpack_frame(n: &Notification) -> Option<Vec<u8>> {
    rmp_serde::to_vec_named(&WsNotification::from(n)).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use convene_domain::ids::{EventId, NotificationId, UserId, Version};
    use convene_domain::notification::NotificationKind;
    use convene_domain::permission::Role;

    #[test]
    fn frames_carry_the_typed_data() {
        let body = NotificationBody {
            user_id: UserId(1),
            kind: NotificationKind::EventRolledBack,
            event_id: Some(EventId(9)),
            actor_id: UserId(2),
            message: "m".into(),
            data: NotificationData {
                restored_from: Some(Version(1)),
                title: Some("T".into()),
                version: Some(Version(3)),
                ..NotificationData::default()
            },
            is_read: false,
            created_at: DateTime::UNIX_EPOCH,
        };
        let n = Notification {
            id: NotificationId(3),
            body: body.clone(),
        };
        assert_eq!(
            json_frame(&n).unwrap(),
            r#"{"id":3,"type":"event_rolled_back","event_id":9,"actor_id":2,"message":"m","data":{"restored_from":1,"title":"T","version":3},"timestamp":"1970-01-01T00:00:00Z"}"#
        );
        let shared = Notification {
            id: NotificationId(4),
            body: NotificationBody {
                data: NotificationData {
                    role: Some(Role::Viewer),
                    ..NotificationData::default()
                },
                ..body
            },
        };
        let doc: serde_json::Value =
            rmp_serde::from_slice(&msgpack_frame(&shared).unwrap()).unwrap();
        assert_eq!(doc["data"], serde_json::json!({"role": "viewer"}));
    }
}
