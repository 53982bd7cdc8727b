//! Convene's storage: one Diesel schema and one set of queries over PostgreSQL and
//! SQLite, a connection pool, and the embedded migrations of both backends.
//!
//! Repository functions take `&mut DbConnection` and make no business decisions; the
//! service crate owns transactions and rules.

pub mod db;
pub mod events;
pub mod live;
pub mod notifications;
pub mod permissions;
pub mod schema;
pub mod sessions;
pub mod users;
pub mod versions;

pub use db::{Backend, Database, DbConnection, DbError, Pool, PooledConnection};
pub use diesel::result::Error as QueryError;
