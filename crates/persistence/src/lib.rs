//! Convene's storage: one Diesel schema and one set of queries over PostgreSQL and
//! SQLite, a connection pool, and the embedded migrations of both backends.
//!
//! Repository functions take `&mut DbConnection`, make no business decisions, and speak
//! domain types (typed ids, `Role`, UTC instants, `StoredEvent`, …) and [`StoreError`]:
//! Diesel stays inside this crate. The service crate owns transactions and rules.

mod content;
pub mod db;
pub mod error;
pub mod events;
pub mod feed_tokens;
pub mod live;
pub mod notifications;
pub mod occurrences;
pub mod permissions;
pub mod retention;
pub mod schema;
pub mod sessions;
pub mod users;
pub mod versions;

pub use db::{Backend, Database, DbConnection, DbError, Pool, PooledConnection};
pub use error::{StoreError, StoreResult};
