//! Notifications: their kinds, who receives them, and their human message.
//!
//! Event changes notify every participant, the actor included (their own copy already
//! read); permission changes notify the affected user only.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::ids::{EventId, NotificationId, UserId, Version};
use crate::permission::Role;
use crate::version::ChangeKind;

/// The details of a notification (its `data` object); which are set depends on the kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationData {
    /// The version a rollback restored.
    pub restored_from: Option<Version>,
    /// The role granted (sharing, role change).
    pub role: Option<Role>,
    /// The event's title (event changes and deletion).
    pub title: Option<String>,
    /// The version an event change made (create, update, rollback).
    pub version: Option<Version>,
    /// The occurrence concerned (a change of one occurrence, a skipped occurrence).
    pub recurrence_id: Option<DateTime<Utc>>,
}

/// A notification for one user, as stored with the change that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationBody {
    /// The recipient.
    pub user_id: UserId,
    /// What happened.
    pub kind: NotificationKind,
    /// The event concerned.
    pub event_id: Option<EventId>,
    /// Who did it.
    pub actor_id: UserId,
    /// A human sentence.
    pub message: String,
    /// Details.
    pub data: NotificationData,
    /// Stored already read (the actor's own copy).
    pub is_read: bool,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A stored notification: its id and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id (ids grow with time).
    pub id: NotificationId,
    /// Everything else.
    pub body: NotificationBody,
}

/// What happened, as the notification's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// An event was created.
    EventCreated,
    /// An event's fields changed.
    EventUpdated,
    /// An event was restored to an earlier version.
    EventRolledBack,
    /// An event was deleted.
    EventDeleted,
    /// The recipient was given access to an event.
    EventShared,
    /// The recipient's role on an event changed.
    PermissionChanged,
    /// The recipient's access to an event was removed.
    PermissionRevoked,
    /// An occurrence of the recipient's series was cancelled as the horizon advanced:
    /// it would have overlapped another event.
    OccurrenceSkipped,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 8] = [
        NotificationKind::EventCreated,
        NotificationKind::EventUpdated,
        NotificationKind::EventRolledBack,
        NotificationKind::EventDeleted,
        NotificationKind::EventShared,
        NotificationKind::PermissionChanged,
        NotificationKind::PermissionRevoked,
        NotificationKind::OccurrenceSkipped,
    ];

    /// The wire and storage name, e.g. `event_rolled_back`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::EventCreated => "event_created",
            NotificationKind::EventUpdated => "event_updated",
            NotificationKind::EventRolledBack => "event_rolled_back",
            NotificationKind::EventDeleted => "event_deleted",
            NotificationKind::EventShared => "event_shared",
            NotificationKind::PermissionChanged => "permission_changed",
            NotificationKind::PermissionRevoked => "permission_revoked",
            NotificationKind::OccurrenceSkipped => "occurrence_skipped",
        }
    }

    /// The kind with that exact name, if any.
    pub fn parse(s: &str) -> Option<NotificationKind> {
        NotificationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind announcing a new version of this kind.
    pub fn for_change(change: ChangeKind) -> NotificationKind {
        match change {
            ChangeKind::Created => NotificationKind::EventCreated,
            ChangeKind::Updated => NotificationKind::EventUpdated,
            ChangeKind::RolledBack => NotificationKind::EventRolledBack,
        }
    }
}

/// Who gets one copy of a notification, and whether it starts out read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Recipient {
    /// The user notified.
    pub user_id: UserId,
    /// Already read: true for the actor's own copy.
    pub is_read: bool,
}

/// Recipients of an event change: every participant once, sorted by id, the actor
/// included (added if missing) with their copy already read.
pub fn event_change_recipients(participants: &[UserId], actor: UserId) -> Vec<Recipient> {
    let mut users: BTreeSet<UserId> = participants.iter().copied().collect();
    users.insert(actor);
    users
        .into_iter()
        .map(|user_id| Recipient {
            user_id,
            is_read: user_id == actor,
        })
        .collect()
}

/// The recipient of a permission change: the affected user only, unread unless they
/// made the change themself (leaving an event).
pub fn permission_change_recipient(affected: UserId, actor: UserId) -> Recipient {
    Recipient {
        user_id: affected,
        is_read: affected == actor,
    }
}

/// The human sentence of a notification, e.g. `alice updated “Standup”`; `role` is the
/// granted role for sharing and role changes, and ignored otherwise.
pub fn message(
    kind: NotificationKind,
    actor_name: &str,
    event_title: &str,
    role: Option<Role>,
) -> String {
    let event = format!("“{event_title}”");
    match (kind, role) {
        (NotificationKind::EventCreated, _) => format!("{actor_name} created {event}"),
        (NotificationKind::EventUpdated, _) => format!("{actor_name} updated {event}"),
        (NotificationKind::EventRolledBack, _) => format!("{actor_name} rolled back {event}"),
        (NotificationKind::EventDeleted, _) => format!("{actor_name} deleted {event}"),
        (NotificationKind::EventShared, Some(role)) => {
            format!("{actor_name} shared {event} with you as {role}")
        }
        (NotificationKind::EventShared, None) => format!("{actor_name} shared {event} with you"),
        (NotificationKind::PermissionChanged, Some(role)) => {
            format!("{actor_name} changed your role on {event} to {role}")
        }
        (NotificationKind::PermissionChanged, None) => {
            format!("{actor_name} changed your role on {event}")
        }
        (NotificationKind::PermissionRevoked, _) => {
            format!("{actor_name} removed your access to {event}")
        }
        (NotificationKind::OccurrenceSkipped, _) => {
            format!("an occurrence of {event} was skipped: it would overlap another event")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        assert_eq!(
            NotificationKind::ALL.map(NotificationKind::as_str),
            [
                "event_created",
                "event_updated",
                "event_rolled_back",
                "event_deleted",
                "event_shared",
                "permission_changed",
                "permission_revoked",
                "occurrence_skipped",
            ]
        );
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NotificationKind::parse("EventCreated"), None);
    }

    #[test]
    fn kinds_for_changes() {
        assert_eq!(
            ChangeKind::ALL.map(NotificationKind::for_change),
            [
                NotificationKind::EventCreated,
                NotificationKind::EventUpdated,
                NotificationKind::EventRolledBack,
            ]
        );
    }

    fn r(id: i64, is_read: bool) -> Recipient {
        Recipient {
            user_id: UserId(id),
            is_read,
        }
    }

    #[test]
    fn event_change_notifies_everyone_once_actor_read() {
        let got = event_change_recipients(&[UserId(3), UserId(1), UserId(2), UserId(3)], UserId(2));
        assert_eq!(got, [r(1, false), r(2, true), r(3, false)]);
    }

    #[test]
    fn actor_is_included_even_if_missing() {
        assert_eq!(
            event_change_recipients(&[UserId(5)], UserId(1)),
            [r(1, true), r(5, false)]
        );
        assert_eq!(event_change_recipients(&[], UserId(1)), [r(1, true)]);
    }

    #[test]
    fn permission_change_notifies_affected_user() {
        assert_eq!(
            permission_change_recipient(UserId(2), UserId(1)),
            r(2, false)
        );
        assert_eq!(
            permission_change_recipient(UserId(2), UserId(2)),
            r(2, true)
        );
    }

    #[test]
    fn messages() {
        use NotificationKind::*;
        let m = |kind, role| message(kind, "alice", "Standup", role);
        assert_eq!(m(EventCreated, None), "alice created “Standup”");
        assert_eq!(m(EventUpdated, None), "alice updated “Standup”");
        assert_eq!(m(EventRolledBack, None), "alice rolled back “Standup”");
        assert_eq!(m(EventDeleted, None), "alice deleted “Standup”");
        assert_eq!(
            m(EventShared, Some(Role::Editor)),
            "alice shared “Standup” with you as editor"
        );
        assert_eq!(m(EventShared, None), "alice shared “Standup” with you");
        assert_eq!(
            m(PermissionChanged, Some(Role::Viewer)),
            "alice changed your role on “Standup” to viewer"
        );
        assert_eq!(
            m(PermissionChanged, None),
            "alice changed your role on “Standup”"
        );
        assert_eq!(
            m(PermissionRevoked, Some(Role::Viewer)),
            "alice removed your access to “Standup”"
        );
        assert_eq!(
            m(EventUpdated, Some(Role::Owner)),
            "alice updated “Standup”"
        );
        assert_eq!(
            m(OccurrenceSkipped, None),
            "an occurrence of “Standup” was skipped: it would overlap another event"
        );
    }
}
