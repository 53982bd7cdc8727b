//! Sharing: grant, change and revoke editor/viewer roles (owner only; a participant may
//! leave), and list who participates.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use convene_domain::account::User;
use convene_domain::ids::{EventId, UserId};
use convene_domain::notification::{message, permission_change_recipient, NotificationKind};
use convene_domain::permission::{can_revoke, grantable, Action, Role};
use convene_domain::validation::FieldError;
use convene_persistence::events::EventRow;
use convene_persistence::notifications::NewNotification;
use convene_persistence::permissions::{self, PermissionRow};
use convene_persistence::{users, DbConnection};

use crate::events::authorized;
use crate::time::{now, utc};
use crate::{ServiceError, Services};

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
    /// Who granted it (the owner grants themself).
    pub granted_by: UserId,
    /// When it was granted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One requested grant, as received.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Whom to share with.
    pub user_id: Option<i64>,
    /// `editor` or `viewer`.
    pub role: Option<String>,
}

fn permission_of(row: PermissionRow) -> Result<Permission, ServiceError> {
    Ok(Permission {
        event_id: EventId(row.event_id),
        user_id: UserId(row.user_id),
        username: row.username,
        role: Role::parse(&row.role)
            .ok_or_else(|| ServiceError::Internal(format!("stored role {:?}", row.role)))?,
        granted_by: UserId(row.granted_by),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
    })
}

fn permission_notification(
    event: &EventRow,
    actor: &User,
    affected: UserId,
    kind: NotificationKind,
    role: Option<Role>,
    at: DateTime<Utc>,
) -> NewNotification {
    let recipient = permission_change_recipient(affected, actor.id);
    let data = match role {
        Some(role) => serde_json::json!({"role": role.as_str()}),
        None => serde_json::json!({}),
    };
    NewNotification {
        user_id: recipient.user_id.0,
        kind: kind.as_str().to_owned(),
        event_id: Some(event.id),
        actor_id: actor.id.0,
        message: message(kind, &actor.username, &event.title, role),
        data: data.to_string(),
        is_read: recipient.is_read,
        created_at: at.naive_utc(),
    }
}

fn parse_role(
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
    index: Option<usize>,
) -> Option<Role> {
    let locate = |e: FieldError| match index {
        Some(i) => e.at(i),
        None => e,
    };
    match raw.map(|r| (r, Role::parse(r))) {
        None => errors.push(locate(FieldError::new("role", "is required"))),
        Some((_, Some(role))) if grantable(role) => return Some(role),
        Some((raw, _)) => errors.push(locate(FieldError::new(
            "role",
            format!("must be \"editor\" or \"viewer\", not {raw:?}"),
        ))),
    }
    None
}

/// Grants or changes roles for a list of users at once (owner only). Atomic: an unknown
/// user, the owner themself, a duplicate user or a bad role fails the whole request.
pub fn share(
    services: &Services,
    actor: &User,
    id: EventId,
    grants: Vec<Grant>,
) -> Result<Vec<Permission>, ServiceError> {
    let at = now();
    services.write(|conn, notes| {
        let (event, _) = authorized(conn, id, actor.id, Action::Share)?;
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        let mut wanted = Vec::new();
        let ids: Vec<i64> = grants.iter().filter_map(|g| g.user_id).collect();
        let known: HashMap<i64, String> = permissions::existing_users(conn, &ids)?
            .into_iter()
            .collect();
        if grants.is_empty() {
            errors.push(FieldError::new(
                "body",
                "must list at least one {user_id, role}",
            ));
        }
        for (i, grant) in grants.iter().enumerate() {
            let role = parse_role(grant.role.as_deref(), &mut errors, Some(i));
            let user = match grant.user_id {
                None => {
                    errors.push(FieldError::new("user_id", "is required").at(i));
                    None
                }
                Some(u) if u == event.owner_id => {
                    errors.push(
                        FieldError::new("user_id", "is the owner, who has every right already")
                            .at(i),
                    );
                    None
                }
                Some(u) if !seen.insert(u) => {
                    errors.push(
                        FieldError::new("user_id", "appears more than once in this request").at(i),
                    );
                    None
                }
                Some(u) if !known.contains_key(&u) => {
                    errors.push(FieldError::new("user_id", "no such user").at(i));
                    None
                }
                Some(u) => Some(u),
            };
            if let (Some(user), Some(role)) = (user, role) {
                wanted.push((user, role));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Validation(errors));
        }
        let mut result = Vec::new();
        for &(user, role) in &wanted {
            let previous = permissions::find(conn, event.id, user)?;
            let kind = match previous.as_ref().map(|p| p.role.as_str()) {
                None => Some(NotificationKind::EventShared),
                Some(r) if r != role.as_str() => Some(NotificationKind::PermissionChanged),
                Some(_) => None,
            };
            if let Some(kind) = kind {
                permissions::upsert(
                    conn,
                    event.id,
                    user,
                    role.as_str(),
                    actor.id.0,
                    at.naive_utc(),
                )?;
                notes.push(permission_notification(
                    &event,
                    actor,
                    UserId(user),
                    kind,
                    Some(role),
                    at,
                ));
            }
            let row = permissions::find(conn, event.id, user)?
                .ok_or_else(|| ServiceError::Internal("permission vanished".into()))?;
            result.push(permission_of(row)?);
        }
        Ok(result)
    })
}

fn owner_entry(conn: &mut DbConnection, event: &EventRow) -> Result<Permission, ServiceError> {
    let owner = users::find(conn, event.owner_id)?
        .ok_or_else(|| ServiceError::Internal("event without owner".into()))?;
    Ok(Permission {
        event_id: EventId(event.id),
        user_id: UserId(owner.id),
        username: owner.username,
        role: Role::Owner,
        granted_by: UserId(owner.id),
        created_at: utc(event.created_at),
        updated_at: utc(event.created_at),
    })
}

/// Everyone with access to the event, the owner first (any participant may look).
pub fn list(
    services: &Services,
    actor: &User,
    id: EventId,
) -> Result<Vec<Permission>, ServiceError> {
    let mut conn = services.conn()?;
    let (event, _) = authorized(&mut conn, id, actor.id, Action::ViewPermissions)?;
    let mut all = vec![owner_entry(&mut conn, &event)?];
    for row in permissions::list(&mut conn, event.id)? {
        all.push(permission_of(row)?);
    }
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
        let (event, _) = authorized(conn, id, actor.id, Action::ChangeRole)?;
        let mut errors = Vec::new();
        let role = parse_role(role.as_deref(), &mut errors, None);
        let Some(role) = role else {
            return Err(ServiceError::Validation(errors));
        };
        let current = permissions::find(conn, event.id, user.0)?.ok_or(ServiceError::NotFound)?;
        if current.role != role.as_str() {
            permissions::upsert(
                conn,
                event.id,
                user.0,
                role.as_str(),
                actor.id.0,
                at.naive_utc(),
            )?;
            notes.push(permission_notification(
                &event,
                actor,
                user,
                NotificationKind::PermissionChanged,
                Some(role),
                at,
            ));
        }
        let row = permissions::find(conn, event.id, user.0)?.ok_or(ServiceError::NotFound)?;
        permission_of(row)
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
        let (event, role) = authorized(conn, id, actor.id, Action::Read)?;
        if !can_revoke(role, actor.id, user) {
            return Err(ServiceError::Forbidden(
                "only the owner removes other participants",
            ));
        }
        if user.0 == event.owner_id {
            return Err(ServiceError::Validation(vec![FieldError::new(
                "user_id",
                "the owner's access cannot be revoked; delete the event instead",
            )]));
        }
        if !permissions::delete(conn, event.id, user.0)? {
            return Err(ServiceError::NotFound);
        }
        notes.push(permission_notification(
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
