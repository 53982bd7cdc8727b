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

/// `POST /api/events/{id}/share` body: 1–100 entries (more: 413).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct ShareList(pub Vec<ShareEntry>);

// By hand: utoipa takes no item bounds on a newtype's field.
impl utoipa::PartialSchema for ShareList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name("ShareEntry"))
            .min_items(Some(1))
            .max_items(Some(convene_domain::permission::SHARE_MAX))
            .description(Some("1–100 entries, applied atomically (more: 413)."))
            .into()
    }
}

impl ToSchema for ShareList {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            "ShareEntry".to_owned(),
            <ShareEntry as utoipa::PartialSchema>::schema(),
        ));
        <ShareEntry as ToSchema>::schemas(schemas);
    }
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
