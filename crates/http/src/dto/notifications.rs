//! Notifications: the inbox documents (the pushed one is `convene_live::wire`).

use chrono::{DateTime, Utc};
use convene_domain::notification::Notification;
use convene_live::wire::DataDoc;
use serde::Serialize;
use utoipa::ToSchema;

use super::rfc3339;

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationRead {
    /// Its id (ids grow with time).
    pub id: i64,
    /// `event_created`, `event_updated`, `event_rolled_back`, `event_deleted`,
    /// `event_shared`, `permission_changed`, `permission_revoked` or
    /// `occurrence_skipped`.
    #[serde(rename = "type")]
    #[schema(example = "event_updated")]
    pub kind: &'static str,
    /// The event concerned; it stays set once the event is deleted.
    #[schema(required = true)]
    pub event_id: Option<i64>,
    /// Who caused it.
    pub actor_id: i64,
    /// A human sentence.
    pub message: String,
    /// Details, e.g. `{"version": 2, "title": "Standup"}` or `{"role": "editor"}`.
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
    #[schema(required = true)]
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
