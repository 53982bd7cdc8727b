//! Live notifications: the in-process hub of open WebSocket connections, the
//! `/ws/notifications` route, and (with PostgreSQL) the `LISTEN` connection that feeds
//! the hub with changes committed by any instance.

pub mod hub;
pub mod listener;
pub mod ws;

pub use hub::Hub;
