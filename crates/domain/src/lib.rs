//! Convene's pure rules: everything that can be decided without I/O.
//!
//! Nothing here knows about Diesel, Actix or wire formats; types carry no serde.
//! Outer layers parse raw input into these types (`parse`, never raw strings past
//! the edge) and ask these modules for decisions.

pub mod account;
pub mod event;
pub mod freebusy;
pub mod ids;
pub mod notification;
pub mod permission;
pub mod recurrence;
pub mod schedule;
pub mod time;
pub mod validation;
pub mod version;
