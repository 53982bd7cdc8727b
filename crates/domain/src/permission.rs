//! Roles on an event and what each may do, decided in one table ([`can`]).

use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{EventId, UserId};

/// Most users one share request may list.
pub const SHARE_MAX: usize = 100;

/// A participant of an event and their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// The event.
    pub event_id: EventId,
    /// The participant.
    pub user_id: UserId,
    /// Their username.
    pub username: String,
    /// Their role.
    pub role: Role,
    /// Who granted it (the owner's own entry names the owner).
    pub granted_by: UserId,
    /// When it was granted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A participant's role on one event. Every event has exactly one owner (its creator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The creator: may do everything, including sharing and deleting.
    Owner,
    /// May read, update and roll back.
    Editor,
    /// May read the event, its history and its participants.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 3] = [Role::Owner, Role::Editor, Role::Viewer];

    /// The wire and storage name: `owner`, `editor` or `viewer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    /// The role with that exact wire name, if any.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a participant may attempt on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read the event.
    Read,
    /// Change its fields (PUT/PATCH).
    Update,
    /// Restore an earlier version.
    Rollback,
    /// Delete it with its permissions and versions.
    Delete,
    /// Read its changelog, versions and diffs.
    ViewHistory,
    /// List who has access.
    ViewPermissions,
    /// Grant access to other users.
    Share,
    /// Change another participant's role.
    ChangeRole,
    /// Remove another participant's access (leaving is [`can_revoke`]'s concern).
    Revoke,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 9] = [
        Action::Read,
        Action::Update,
        Action::Rollback,
        Action::Delete,
        Action::ViewHistory,
        Action::ViewPermissions,
        Action::Share,
        Action::ChangeRole,
        Action::Revoke,
    ];
}

/// Whether `role` may perform `action`: the single permission table of the service.
pub fn can(role: Role, action: Action) -> bool {
    use Action::*;
    // Editor and viewer rows list every action, so a new action forces a decision.
    match (role, action) {
        (Role::Owner, _) => true,
        (Role::Editor, Read | Update | Rollback | ViewHistory | ViewPermissions) => true,
        (Role::Editor, Delete | Share | ChangeRole | Revoke) => false,
        (Role::Viewer, Read | ViewHistory | ViewPermissions) => true,
        (Role::Viewer, Update | Rollback | Delete | Share | ChangeRole | Revoke) => false,
    }
}

/// Whether `actor` may remove `target`'s permission: the owner may remove anyone's, and
/// a non-owner may remove their own (leave the event).
///
/// The owner's own permission is never removable; check the target with [`revocable`].
pub fn can_revoke(actor_role: Role, actor: UserId, target: UserId) -> bool {
    actor_role == Role::Owner || actor == target
}

/// Whether a permission with `target_role` may be removed at all: the owner's may not,
/// since every event keeps exactly one owner.
pub fn revocable(target_role: Role) -> bool {
    target_role != Role::Owner
}

/// Whether `role` may be granted by sharing or a role change: only editor and viewer;
/// ownership is never transferred this way.
pub fn grantable(role: Role) -> bool {
    match role {
        Role::Owner => false,
        Role::Editor | Role::Viewer => true,
    }
}

/// The caller's relation to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// No permission at all: the event must look nonexistent.
    Stranger,
    /// Holds a permission with this role.
    Participant(Role),
}

impl Access {
    /// The caller's access to an event owned by `owner`, given the role a permission
    /// grants them (if any): the owner is always a participant as [`Role::Owner`].
    pub fn of(owner: UserId, caller: UserId, granted: Option<Role>) -> Self {
        if owner == caller {
            Access::Participant(Role::Owner)
        } else {
            granted.into()
        }
    }
}

impl From<Option<Role>> for Access {
    /// `None` (no permission row) is a stranger.
    fn from(role: Option<Role>) -> Self {
        role.map_or(Access::Stranger, Access::Participant)
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Denied {
    /// The caller is a stranger: answer 404, never revealing the event exists.
    NotFound,
    /// The caller participates but their role lacks the action: answer 403.
    Forbidden,
}

/// Decides `action` for the caller, returning their role when allowed.
pub fn authorize(access: Access, action: Action) -> Result<Role, Denied> {
    match access {
        Access::Stranger => Err(Denied::NotFound),
        Access::Participant(role) if can(role, action) => Ok(role),
        Access::Participant(_) => Err(Denied::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_resolved_before_any_grant() {
        let (owner, other) = (UserId(1), UserId(2));
        assert_eq!(
            Access::of(owner, owner, None),
            Access::Participant(Role::Owner)
        );
        assert_eq!(
            Access::of(owner, owner, Some(Role::Viewer)),
            Access::Participant(Role::Owner)
        );
        assert_eq!(
            Access::of(owner, other, Some(Role::Editor)),
            Access::Participant(Role::Editor)
        );
        assert_eq!(Access::of(owner, other, None), Access::Stranger);
    }

    /// The expected table, written out cell by cell independently of [`can`].
    /// Columns follow `Action::ALL`: Read, Update, Rollback, Delete, ViewHistory,
    /// ViewPermissions, Share, ChangeRole, Revoke.
    const EXPECTED: [(Role, [bool; 9]); 3] = [
        (
            Role::Owner,
            [true, true, true, true, true, true, true, true, true],
        ),
        (
            Role::Editor,
            [true, true, true, false, true, true, false, false, false],
        ),
        (
            Role::Viewer,
            [true, false, false, false, true, true, false, false, false],
        ),
    ];

    #[test]
    fn every_cell_of_the_table() {
        for (role, row) in EXPECTED {
            for (action, expected) in Action::ALL.into_iter().zip(row) {
                assert_eq!(can(role, action), expected, "{role:?} × {action:?}");
            }
        }
        assert_eq!(EXPECTED.len() * Action::ALL.len(), 27);
    }

    #[test]
    fn specific_cells() {
        assert!(can(Role::Owner, Action::Delete));
        assert!(can(Role::Editor, Action::Rollback));
        assert!(!can(Role::Editor, Action::Delete));
        assert!(!can(Role::Editor, Action::Share));
        assert!(can(Role::Viewer, Action::ViewHistory));
        assert!(!can(Role::Viewer, Action::Update));
    }

    #[test]
    fn role_names_round_trip() {
        assert_eq!(Role::ALL.map(Role::as_str), ["owner", "editor", "viewer"]);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        for bad in ["", "Owner", "admin", " viewer"] {
            assert_eq!(Role::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn strangers_get_not_found_for_everything() {
        for action in Action::ALL {
            assert_eq!(authorize(Access::Stranger, action), Err(Denied::NotFound));
        }
    }

    #[test]
    fn participants_get_role_or_forbidden() {
        assert_eq!(
            authorize(Access::Participant(Role::Viewer), Action::Read),
            Ok(Role::Viewer)
        );
        assert_eq!(
            authorize(Access::Participant(Role::Viewer), Action::Update),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            authorize(Access::Participant(Role::Editor), Action::Delete),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            authorize(Access::Participant(Role::Owner), Action::Share),
            Ok(Role::Owner)
        );
        for role in Role::ALL {
            for action in Action::ALL {
                let decided = authorize(Access::Participant(role), action);
                assert_eq!(decided.is_ok(), can(role, action));
            }
        }
    }

    #[test]
    fn access_from_optional_role() {
        assert_eq!(Access::from(None), Access::Stranger);
        assert_eq!(
            Access::from(Some(Role::Editor)),
            Access::Participant(Role::Editor)
        );
    }

    #[test]
    fn revoking() {
        let (alice, bob) = (UserId(1), UserId(2));
        assert!(can_revoke(Role::Owner, alice, bob));
        assert!(can_revoke(Role::Editor, bob, bob));
        assert!(can_revoke(Role::Viewer, bob, bob));
        assert!(!can_revoke(Role::Editor, bob, alice));
        assert!(!can_revoke(Role::Viewer, bob, UserId(3)));
        assert!(!revocable(Role::Owner));
        assert!(revocable(Role::Editor));
        assert!(revocable(Role::Viewer));
    }

    #[test]
    fn only_editor_and_viewer_are_grantable() {
        assert!(!grantable(Role::Owner));
        assert!(grantable(Role::Editor));
        assert!(grantable(Role::Viewer));
    }
}
