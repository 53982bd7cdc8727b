//! Request and response documents (the wire format) with their OpenAPI schemas, one
//! module per resource. Domain types carry no serde; these convert to and from them.

mod accounts;
mod events;
mod feeds;
mod freebusy;
mod history;
mod notifications;
mod occurrences;
mod sharing;

pub use accounts::*;
pub use convene_live::wire::rfc3339;
pub use events::*;
pub use feeds::*;
pub use freebusy::*;
pub use history::*;
pub use notifications::*;
pub use occurrences::*;
use serde::Serialize;
pub use sharing::*;
use utoipa::ToSchema;

// The enums below are schemas only: requests carry these values as text, so that an
// unknown one is a 422 naming the field rather than a decoding failure.

/// A participant's role.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RoleName {
    /// The creator: every action, the only one who deletes and shares.
    Owner,
    /// Read, update, roll back.
    Editor,
    /// Read only.
    Viewer,
}

/// Whether an event's time is busy.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum TransparencyName {
    /// Busy: conflict-checked (the default).
    Opaque,
    /// Free: never conflicts.
    Transparent,
}

/// A role that can be granted.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum GrantedRole {
    /// Read, update, roll back.
    Editor,
    /// Read only.
    Viewer,
}

/// The frames of the WebSocket route.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum FrameFormat {
    /// Text frames holding JSON documents.
    Json,
    /// Binary frames holding MessagePack documents.
    Msgpack,
}

/// Health and readiness answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok` (process up) or `ready` (database reachable).
    #[schema(example = "ok")]
    pub status: &'static str,
}
