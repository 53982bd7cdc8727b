//! Full snapshots of every version of an event.

use chrono::NaiveDateTime;
use convene_domain::event::EventContent;
use convene_domain::ids::{EventId, UserId, Version};
use convene_domain::schedule::TimeRange;
use convene_domain::version::{ChangeKind, VersionRecord};
use diesel::prelude::*;

use crate::content::{decode_exceptions, encode_exceptions, rule_of, transparency_of, zone_of};
use crate::db::insert_rows;
use crate::error::time::{naive, utc};
use crate::error::{StoreError, StoreResult};
use crate::schema::event_versions;
use crate::DbConnection;

/// A stored version, as its columns come and go.
// `treat_none_as_default_value = false`: `None` is NULL, so SQLite can take a batch's
// snapshots in one multi-row INSERT instead of one statement per row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = event_versions, treat_none_as_default_value = false)]
struct VersionRow {
    event_id: i64,
    version: i32,
    title: String,
    description: String,
    start_time: NaiveDateTime,
    end_time: NaiveDateTime,
    location: Option<String>,
    change: String,
    restored_from: Option<i32>,
    changed_by: i64,
    changed_at: NaiveDateTime,
    time_zone: String,
    recurrence: Option<String>,
    transparency: String,
    exceptions: String,
}

impl From<&VersionRecord> for VersionRow {
    fn from(v: &VersionRecord) -> Self {
        Self {
            event_id: v.event_id.0,
            version: v.version.0,
            title: v.content.title.clone(),
            description: v.content.description.clone(),
            start_time: naive(v.content.range.start()),
            end_time: naive(v.content.range.end()),
            location: v.content.location.clone(),
            change: v.change.as_str().to_owned(),
            restored_from: v.restored_from.map(|r| r.0),
            changed_by: v.changed_by.0,
            changed_at: naive(v.changed_at),
            time_zone: v.content.time_zone.name().to_owned(),
            recurrence: v.content.recurrence.as_ref().map(|r| r.as_str().to_owned()),
            transparency: v.content.transparency.as_str().to_owned(),
            exceptions: encode_exceptions(&v.content.exceptions),
        }
    }
}

impl TryFrom<VersionRow> for VersionRecord {
    type Error = StoreError;

    fn try_from(row: VersionRow) -> StoreResult<Self> {
        let bad = |what: &str| {
            StoreError::Other(format!("version {}/{}: {what}", row.event_id, row.version))
        };
        Ok(VersionRecord {
            event_id: EventId(row.event_id),
            version: Version(row.version),
            change: ChangeKind::parse(&row.change).ok_or_else(|| bad("unknown change"))?,
            content: EventContent {
                range: TimeRange::new(utc(row.start_time), utc(row.end_time))
                    .map_err(|_| bad("empty range"))?,
                title: row.title,
                description: row.description,
                location: row.location,
                time_zone: zone_of(&row.time_zone)?,
                recurrence: rule_of(row.recurrence.as_deref())?,
                transparency: transparency_of(&row.transparency)?,
                exceptions: decode_exceptions(&row.exceptions)?,
            },
            restored_from: row.restored_from.map(Version),
            changed_by: UserId(row.changed_by),
            changed_at: utc(row.changed_at),
        })
    }
}

/// Stores versions in one statement.
pub fn insert_many(conn: &mut DbConnection, versions: &[VersionRecord]) -> StoreResult<()> {
    let rows: Vec<VersionRow> = versions.iter().map(VersionRow::from).collect();
    insert_rows!(conn, event_versions::table, rows.as_slice(), |q, c| q
        .execute(c))?;
    Ok(())
}

/// One version.
pub fn find(
    conn: &mut DbConnection,
    event: EventId,
    version: Version,
) -> StoreResult<Option<VersionRecord>> {
    let row: Option<VersionRow> = event_versions::table
        .find((event.0, version.0))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()?;
    row.map(VersionRecord::try_from).transpose()
}

/// Versions after `after` (exclusive), in version order, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    event: EventId,
    after: Option<Version>,
    limit: i64,
) -> StoreResult<Vec<VersionRecord>> {
    let rows: Vec<VersionRow> = event_versions::table
        .filter(event_versions::event_id.eq(event.0))
        .filter(event_versions::version.gt(after.map_or(0, |v| v.0)))
        .order(event_versions::version.asc())
        .limit(limit)
        .select(VersionRow::as_select())
        .load(conn)?;
    rows.into_iter().map(VersionRecord::try_from).collect()
}
