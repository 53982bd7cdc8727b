//! Convene's live notifications, apart from any transport: the in-process [`Hub`] of
//! open connections (user id → bounded queues), the PostgreSQL [`listener`] that feeds it
//! with what any instance committed (connecting as its [`target`] says), and the [`wire`] form of a pushed notification.
//! The WebSocket route that drains the hub lives in the HTTP crate.

pub mod hub;
pub mod listener;
pub mod target;
pub mod wire;

pub use hub::Hub;
