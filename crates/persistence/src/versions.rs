//! Full snapshots of every version of an event.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::per_backend;
use crate::schema::event_versions;
use crate::DbConnection;

/// A stored version.
// `treat_none_as_default_value = false`: `None` is NULL, so SQLite can take a batch's
// snapshots in one multi-row INSERT instead of one statement per row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = event_versions, treat_none_as_default_value = false)]
pub struct VersionRow {
    /// The event.
    pub event_id: i64,
    /// Version number (1 = created).
    pub version: i32,
    /// Title at this version.
    pub title: String,
    /// Description at this version.
    pub description: String,
    /// Start at this version.
    pub start_time: NaiveDateTime,
    /// End at this version.
    pub end_time: NaiveDateTime,
    /// Location at this version.
    pub location: Option<String>,
    /// `created`, `updated` or `rolled_back`.
    pub change: String,
    /// The version restored, for `rolled_back`.
    pub restored_from: Option<i32>,
    /// Who made the change.
    pub changed_by: i64,
    /// When.
    pub changed_at: NaiveDateTime,
}

/// Stores versions in one statement.
pub fn insert_many(conn: &mut DbConnection, rows: &[VersionRow]) -> QueryResult<()> {
    per_backend!(conn, |c| diesel::insert_into(event_versions::table)
        .values(rows)
        .execute(c))?;
    Ok(())
}

/// One version.
pub fn find(
    conn: &mut DbConnection,
    event_id: i64,
    version: i32,
) -> QueryResult<Option<VersionRow>> {
    event_versions::table
        .find((event_id, version))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

/// Versions after `after` (exclusive), in version order, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    event_id: i64,
    after: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<VersionRow>> {
    event_versions::table
        .filter(event_versions::event_id.eq(event_id))
        .filter(event_versions::version.gt(after.unwrap_or(0)))
        .order(event_versions::version.asc())
        .limit(limit)
        .select(VersionRow::as_select())
        .load(conn)
}
