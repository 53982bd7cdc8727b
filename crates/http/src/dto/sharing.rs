//! Sharing: the share and role bodies, and the permission document.

use chrono::{DateTime, Utc};
use convene_domain::permission::Permission;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rfc3339;

/// One entry of a share request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ShareEntry {
    /// Whom to share with.
    #[schema(value_type = i64, required = true)]
    pub user_id: Option<i64>,
    /// `editor` or `viewer`.
    #[schema(value_type = super::GrantedRole, required = true, example = "editor")]
    pub role: Option<String>,
}

/// `PUT /api/events/{id}/permissions/{user_id}` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleUpdate {
    /// `editor` or `viewer`.
    #[schema(value_type = super::GrantedRole, required = true, example = "viewer")]
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
    #[schema(value_type = super::RoleName)]
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
