//! Request and response documents (the wire format) with their OpenAPI schemas, one
//! module per resource. Domain types carry no serde; these convert to and from them.

mod accounts;
mod events;
mod history;
mod notifications;
mod sharing;

pub use accounts::*;
pub use convene_live::wire::rfc3339;
pub use events::*;
pub use history::*;
pub use notifications::*;
use serde::Serialize;
pub use sharing::*;
use utoipa::ToSchema;

/// Health and readiness answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok` (process up) or `ready` (database reachable).
    #[schema(example = "ok")]
    pub status: &'static str,
}
