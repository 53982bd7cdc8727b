//! Sharing: grant, change and revoke editor/viewer roles (owner only; a participant may
//! leave), and list who participates.

use std::collections::HashSet;

use convene_domain::account::User;
use convene_domain::event::StoredEvent;
use convene_domain::ids::{EventId, UserId};
use convene_domain::notification::NotificationKind;
use convene_domain::permission::{can_revoke, grantable, Action, Permission, Role, SHARE_MAX};
use convene_domain::validation::FieldError;
use convene_persistence::{events, permissions, users, DbConnection};

use crate::access::{authorized, Event};
use crate::notify::permission_changed;
use crate::time::now;
use crate::{ServiceError, Services};

/// One requested grant, as received.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Whom to share with.
    pub user_id: Option<UserId>,
    /// `editor` or `viewer`.
    pub role: Option<String>,
}

/// Why an entry names a user the event cannot be shared with.
const NOT_SHAREABLE: &str = "is not a user this event can be shared with";

/// A requested role: `editor` or `viewer` (the owner is never granted).
fn parse_role(raw: Option<&str>) -> Result<Role, FieldError> {
    match raw.map(|r| (r, Role::parse(r))) {
        None => Err(FieldError::new("role", "is required")),
        Some((_, Some(role))) if grantable(role) => Ok(role),
        Some((raw, _)) => Err(FieldError::new(
            "role",
            format!("must be \"editor\" or \"viewer\", not {raw:?}"),
        )),
    }
}

/// Grants or changes roles for a list of 1–[`SHARE_MAX`] users at once (owner only).
/// Atomic: an unknown user, the owner themself, a duplicate user or a bad role fails the
/// whole request; a longer list is refused before anything is looked up.
pub fn share(
    services: &Services,
    actor: &User,
    id: EventId,
    grants: Vec<Grant>,
) -> Result<Vec<Permission>, ServiceError> {
    if grants.len() > SHARE_MAX {
        return Err(ServiceError::TooLarge(format!(
            "a share request lists at most {SHARE_MAX} users"
        )));
    }
    let at = now();
    services.write(|conn, notes| {
        // Like every write of an existing event: its grants' copied times, who is told of
        // its deletion and whether a grant exists are then read after the last writer.
        events::lock_event(conn, id)?;
        let Event { event, .. } = authorized(conn, id, actor.id, Action::Share)?;
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        let mut wanted = Vec::new();
        let ids: Vec<UserId> = grants.iter().filter_map(|g| g.user_id).collect();
        let known = users::existing(conn, &ids)?;
        if grants.is_empty() {
            errors.push(FieldError::new(
                "body",
                "must list at least one {user_id, role}",
            ));
        }
        for (i, grant) in grants.iter().enumerate() {
            let role = parse_role(grant.role.as_deref())
                .map_err(|e| errors.push(e.at(i)))
                .ok();
            let problem = match grant.user_id {
                None => Some("is required"),
                Some(u) if u == event.owner => Some("is the owner, who has every right already"),
                Some(u) if !seen.insert(u) => Some("appears more than once in this request"),
                // The same words for an id nobody has and for any other user that cannot
                // be added, so the answer does not tell which ids exist.
                Some(u) if !known.contains(&u) => Some(NOT_SHAREABLE),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                errors.push(FieldError::new("user_id", problem).at(i));
            }
            if let (Some(user), None, Some(role)) = (grant.user_id, problem, role) {
                wanted.push((user, role));
            }
        }
        if errors.is_empty() {
            let current = permissions::grantees(conn, event.id)?;
            let added = wanted.iter().filter(|(u, _)| !current.contains(u)).count();
            if current.len() + added > services.max_grantees {
                errors.push(FieldError::new(
                    "body",
                    format!(
                        "an event can be shared with at most {} users; it has {}",
                        services.max_grantees,
                        current.len()
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Validation(errors));
        }
        let mut result = Vec::new();
        for &(user, role) in &wanted {
            let kind = match permissions::find(conn, event.id, user)?.map(|p| p.role) {
                None => Some(NotificationKind::EventShared),
                Some(r) if r != role => Some(NotificationKind::PermissionChanged),
                Some(_) => None,
            };
            if let Some(kind) = kind {
                permissions::upsert(conn, event.id, user, role, actor.id, at)?;
                notes.push(permission_changed(
                    &event,
                    actor,
                    user,
                    kind,
                    Some(role),
                    at,
                ));
            }
            // Gone only when the event was deleted meanwhile (its permissions went with
            // it): then it is not found.
            result.push(permissions::find(conn, event.id, user)?.ok_or(ServiceError::NotFound)?);
        }
        Ok(result)
    })
}

fn owner_entry(conn: &mut DbConnection, event: &StoredEvent) -> Result<Permission, ServiceError> {
    let owner = users::find(conn, event.owner)?
        .ok_or_else(|| ServiceError::Internal("event without owner".into()))?;
    Ok(Permission {
        event_id: event.id,
        user_id: owner.id,
        username: owner.username,
        role: Role::Owner,
        granted_by: owner.id,
        created_at: event.created_at,
        updated_at: event.created_at,
    })
}

/// Everyone with access to the event, the owner first (any participant may look).
pub fn list(
    services: &Services,
    actor: &User,
    id: EventId,
) -> Result<Vec<Permission>, ServiceError> {
    let mut conn = services.conn()?;
    let Event { event, .. } = authorized(&mut conn, id, actor.id, Action::ViewPermissions)?;
    let mut all = vec![owner_entry(&mut conn, &event)?];
    all.extend(permissions::list(&mut conn, event.id)?);
    Ok(all)
}

/// Changes an existing participant's role (owner only); 404 if they have none.
pub fn change_role(
    services: &Services,
    actor: &User,
    id: EventId,
    user: UserId,
    role: Option<String>,
) -> Result<Permission, ServiceError> {
    let at = now();
    services.write(|conn, notes| {
        events::lock_event(conn, id)?;
        let Event { event, .. } = authorized(conn, id, actor.id, Action::ChangeRole)?;
        let role = parse_role(role.as_deref()).map_err(|e| ServiceError::Validation(vec![e]))?;
        let current = permissions::find(conn, event.id, user)?.ok_or(ServiceError::NotFound)?;
        if current.role == role {
            return Ok(current);
        }
        permissions::upsert(conn, event.id, user, role, actor.id, at)?;
        notes.push(permission_changed(
            &event,
            actor,
            user,
            NotificationKind::PermissionChanged,
            Some(role),
            at,
        ));
        permissions::find(conn, event.id, user)?.ok_or(ServiceError::NotFound)
    })
}

/// Removes a participant: the owner removes anyone, a participant removes themself.
pub fn revoke(
    services: &Services,
    actor: &User,
    id: EventId,
    user: UserId,
) -> Result<(), ServiceError> {
    let at = now();
    services.write(|conn, notes| {
        events::lock_event(conn, id)?;
        let Event { event, role } = authorized(conn, id, actor.id, Action::Read)?;
        if !can_revoke(role, actor.id, user) {
            return Err(ServiceError::Forbidden(
                "only the owner removes other participants",
            ));
        }
        if user == event.owner {
            return Err(ServiceError::Validation(vec![FieldError::new(
                "user_id",
                "the owner's access cannot be revoked; delete the event instead",
            )]));
        }
        if !permissions::delete(conn, event.id, user)? {
            return Err(ServiceError::NotFound);
        }
        notes.push(permission_changed(
            &event,
            actor,
            user,
            NotificationKind::PermissionRevoked,
            None,
            at,
        ));
        Ok(())
    })
}
