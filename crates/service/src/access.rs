//! Who may do what to an event, and `If-Match` preconditions: checked inside the
//! transaction of every use case that touches an event.

use convene_domain::event::StoredEvent;
use convene_domain::ids::{EventId, UserId, Version};
use convene_domain::permission::{authorize, Access, Action, Denied, Role};
use convene_persistence::{events, DbConnection};

use crate::ServiceError;

/// An event as one caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event as stored.
    pub event: StoredEvent,
    /// The caller's role on it.
    pub role: Role,
}

/// A write's precondition on the event's version (`If-Match`, `If-None-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `If-Match: *`: the event must exist.
    Any,
    /// One of these versions must be current (an ETag that is no version matches none).
    OneOf(Vec<Version>),
    /// None of these versions may be current (`If-None-Match` on a write).
    NoneOf(Vec<Version>),
}

impl Precondition {
    /// Checks the current version; 412 with it otherwise.
    pub fn check(this: Option<&Self>, current: Version) -> Result<(), ServiceError> {
        let holds = match this {
            None | Some(Self::Any) => true,
            Some(Self::OneOf(versions)) => versions.contains(&current),
            Some(Self::NoneOf(versions)) => !versions.contains(&current),
        };
        if holds {
            Ok(())
        } else {
            Err(ServiceError::PreconditionFailed { current })
        }
    }
}

/// The caller's role if they may perform `action`: strangers get NotFound (existence is
/// never revealed), participants without the role Forbidden.
fn decide(
    event: &StoredEvent,
    granted: Option<Role>,
    user: UserId,
    action: Action,
) -> Result<Role, ServiceError> {
    match authorize(Access::of(event.owner, user, granted), action) {
        Ok(role) => Ok(role),
        Err(Denied::NotFound) => Err(ServiceError::NotFound),
        Err(Denied::Forbidden) => Err(ServiceError::Forbidden("your role does not allow this")),
    }
}

/// Loads an event and checks that `user` may perform `action` on it.
pub(crate) fn authorized(
    conn: &mut DbConnection,
    id: EventId,
    user: UserId,
    action: Action,
) -> Result<Event, ServiceError> {
    judged(events::find_with_role(conn, id, user)?, user, action)
}

/// An event found with the role granted to `user` (`None`: there is none), if `user` may
/// perform `action` on it.
pub(crate) fn judged(
    found: Option<convene_persistence::events::WithRole>,
    user: UserId,
    action: Action,
) -> Result<Event, ServiceError> {
    let (event, granted) = found.ok_or(ServiceError::NotFound)?;
    let role = decide(&event, granted, user, action)?;
    Ok(Event { event, role })
}

/// The caller's view of an event listed for them (owned, or shared with them).
pub(crate) fn listed(
    event: StoredEvent,
    granted: Option<Role>,
    user: UserId,
) -> Result<Event, ServiceError> {
    match Access::of(event.owner, user, granted) {
        Access::Participant(role) => Ok(Event { event, role }),
        Access::Stranger => Err(ServiceError::Internal(format!(
            "listed event {} without access",
            event.id
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{DateTime, TimeDelta};
    use convene_domain::event::EventContent;
    use convene_domain::schedule::TimeRange;

    use super::*;

    fn event(owner: i64) -> StoredEvent {
        let t = DateTime::UNIX_EPOCH;
        StoredEvent {
            id: EventId(7),
            owner: UserId(owner),
            content: EventContent {
                title: "t".into(),
                description: String::new(),
                range: TimeRange::new(t, t + TimeDelta::hours(1)).unwrap(),
                location: None,
                time_zone: chrono_tz::UTC,
                recurrence: None,
                transparency: Default::default(),
                exceptions: Default::default(),
            },
            version: Version(3),
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn strangers_learn_nothing_and_viewers_are_forbidden() {
        let e = event(1);
        assert_eq!(
            decide(&e, None, UserId(1), Action::Delete).unwrap(),
            Role::Owner
        );
        assert!(matches!(
            decide(&e, None, UserId(2), Action::Read),
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            decide(&e, Some(Role::Viewer), UserId(2), Action::Update),
            Err(ServiceError::Forbidden(_))
        ));
        assert_eq!(
            decide(&e, Some(Role::Editor), UserId(2), Action::Update).unwrap(),
            Role::Editor
        );
    }

    #[test]
    fn listed_events_carry_the_callers_role() {
        assert_eq!(listed(event(1), None, UserId(1)).unwrap().role, Role::Owner);
        assert_eq!(
            listed(event(1), Some(Role::Viewer), UserId(2))
                .unwrap()
                .role,
            Role::Viewer
        );
        assert!(listed(event(1), None, UserId(2)).is_err());
    }

    #[test]
    fn preconditions() {
        let v = Version(3);
        assert!(Precondition::check(None, v).is_ok());
        assert!(Precondition::check(Some(&Precondition::Any), v).is_ok());
        assert!(Precondition::check(Some(&Precondition::OneOf(vec![Version(2), v])), v).is_ok());
        assert!(matches!(
            Precondition::check(Some(&Precondition::OneOf(vec![Version(2)])), v),
            Err(ServiceError::PreconditionFailed { current }) if current == v
        ));
        assert!(Precondition::check(Some(&Precondition::OneOf(vec![])), v).is_err());
        assert!(Precondition::check(Some(&Precondition::NoneOf(vec![Version(2)])), v).is_ok());
        assert!(Precondition::check(Some(&Precondition::NoneOf(vec![v])), v).is_err());
    }
}
