//! Route handlers, one module per resource.

pub mod auth;
pub mod events;
pub mod feeds;
pub mod freebusy;
pub mod health;
pub mod history;
pub mod notifications;
pub mod occurrences;
pub mod sharing;
pub mod users;
