//! Stored notifications: written with the change that caused them, read newest first.

use chrono::NaiveDateTime;
use convene_domain::ids::{EventId, NotificationId, UserId, Version};
use convene_domain::notification::{
    Notification, NotificationBody, NotificationData, NotificationKind,
};
use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::db::per_backend;
use crate::error::time::{naive, utc};
use crate::error::{StoreError, StoreResult};
use crate::events::role_of;
use crate::permissions::IN_CHUNK;
use crate::schema::notifications;
use crate::DbConnection;

/// A stored notification, as its columns come back (in `notifications::all_columns`
/// order).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
struct NotificationRow {
    id: i64,
    user_id: i64,
    kind: String,
    event_id: Option<i64>,
    actor_id: i64,
    message: String,
    data: String,
    is_read: bool,
    created_at: NaiveDateTime,
}

/// The `data` column: a JSON object of the set details (keys in name order).
fn encode(data: &NotificationData) -> String {
    let mut map = Map::new();
    if let Some(rid) = data.recurrence_id {
        map.insert(
            "recurrence_id".into(),
            rid.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                .into(),
        );
    }
    if let Some(v) = data.restored_from {
        map.insert("restored_from".into(), v.0.into());
    }
    if let Some(role) = data.role {
        map.insert("role".into(), role.as_str().into());
    }
    if let Some(title) = &data.title {
        map.insert("title".into(), title.clone().into());
    }
    if let Some(v) = data.version {
        map.insert("version".into(), v.0.into());
    }
    Value::Object(map).to_string()
}

fn decode(id: i64, text: &str) -> StoreResult<NotificationData> {
    let bad = |what: &str| StoreError::Other(format!("notification {id}: data {what}"));
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err(bad("is not a JSON object"));
    };
    let version = |key: &str| {
        map.get(key)
            .map(|v| {
                v.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .map(Version)
                    .ok_or_else(|| bad(key))
            })
            .transpose()
    };
    Ok(NotificationData {
        restored_from: version("restored_from")?,
        version: version("version")?,
        role: map
            .get("role")
            .map(|v| v.as_str().ok_or_else(|| bad("role")).and_then(role_of))
            .transpose()?,
        title: map
            .get("title")
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad("title")))
            .transpose()?,
        recurrence_id: map
            .get("recurrence_id")
            .map(|v| {
                v.as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .ok_or_else(|| bad("recurrence_id"))
            })
            .transpose()?,
    })
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;

    fn try_from(row: NotificationRow) -> StoreResult<Self> {
        Ok(Notification {
            id: NotificationId(row.id),
            body: NotificationBody {
                user_id: UserId(row.user_id),
                kind: NotificationKind::parse(&row.kind)
                    .ok_or_else(|| StoreError::Other(format!("stored kind {:?}", row.kind)))?,
                event_id: row.event_id.map(EventId),
                actor_id: UserId(row.actor_id),
                message: row.message,
                data: decode(row.id, &row.data)?,
                is_read: row.is_read,
                created_at: utc(row.created_at),
            },
        })
    }
}

fn stored(rows: Vec<NotificationRow>) -> StoreResult<Vec<Notification>> {
    rows.into_iter().map(Notification::try_from).collect()
}

/// Rows per INSERT statement (8 parameters each).
const INSERT_CHUNK: usize = 1_000;

/// Stores notifications in one statement per 1,000 and returns them with their ids, in
/// the order given.
pub fn insert_many(
    conn: &mut DbConnection,
    notes: Vec<NotificationBody>,
) -> StoreResult<Vec<Notification>> {
    let rows: Vec<_> = notes
        .iter()
        .map(|n| {
            (
                notifications::user_id.eq(n.user_id.0),
                notifications::kind.eq(n.kind.as_str()),
                notifications::event_id.eq(n.event_id.map(|e| e.0)),
                notifications::actor_id.eq(n.actor_id.0),
                notifications::message.eq(&n.message),
                notifications::data.eq(encode(&n.data)),
                notifications::is_read.eq(n.is_read),
                notifications::created_at.eq(naive(n.created_at)),
            )
        })
        .collect();
    // Chunks keep each statement well under both backends' bind-parameter limits.
    let mut ids: Vec<i64> = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut chunk_ids: Vec<i64> =
            per_backend!(conn, |c| diesel::insert_into(notifications::table)
                .values(chunk)
                .returning(notifications::id)
                .get_results(c))?;
        ids.append(&mut chunk_ids);
    }
    // Ids come from one sequence in VALUES order; sorting makes that order explicit.
    ids.sort_unstable();
    Ok(ids
        .into_iter()
        .zip(notes)
        .map(|(id, body)| Notification {
            id: NotificationId(id),
            body,
        })
        .collect())
}

/// A user's notifications with id below `before`, newest first, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    user: UserId,
    unread_only: bool,
    before: Option<NotificationId>,
    limit: i64,
) -> StoreResult<Vec<Notification>> {
    let mut query = notifications::table
        .filter(notifications::user_id.eq(user.0))
        .order(notifications::id.desc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::is_read.eq(false));
    }
    if let Some(id) = before {
        query = query.filter(notifications::id.lt(id.0));
    }
    stored(query.load(conn)?)
}

/// A user's notifications with id above `after`, oldest first (resuming a feed).
pub fn after(
    conn: &mut DbConnection,
    user: UserId,
    after: NotificationId,
    limit: i64,
) -> StoreResult<Vec<Notification>> {
    stored(
        notifications::table
            .filter(notifications::user_id.eq(user.0))
            .filter(notifications::id.gt(after.0))
            .order(notifications::id.asc())
            .limit(limit)
            .select(NotificationRow::as_select())
            .load(conn)?,
    )
}

/// How many unread notifications a user has.
pub fn unread_count(conn: &mut DbConnection, user: UserId) -> StoreResult<i64> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user.0))
        .filter(notifications::is_read.eq(false))
        .count()
        .get_result(conn)?)
}

/// Marks one of a user's notifications read and returns it; `None` if it is not theirs.
pub fn mark_read(
    conn: &mut DbConnection,
    user: UserId,
    id: NotificationId,
) -> StoreResult<Option<Notification>> {
    let row: Option<NotificationRow> = diesel::update(
        notifications::table
            .find(id.0)
            .filter(notifications::user_id.eq(user.0)),
    )
    .set(notifications::is_read.eq(true))
    .returning(notifications::all_columns)
    .get_result(conn)
    .optional()?;
    row.map(Notification::try_from).transpose()
}

/// Marks all of a user's notifications read; returns how many changed.
pub fn mark_all_read(conn: &mut DbConnection, user: UserId) -> StoreResult<usize> {
    Ok(diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user.0))
            .filter(notifications::is_read.eq(false)),
    )
    .set(notifications::is_read.eq(true))
    .execute(conn)?)
}

/// Notifications by id, in id order.
pub fn by_ids(conn: &mut DbConnection, ids: &[NotificationId]) -> StoreResult<Vec<Notification>> {
    let mut sorted: Vec<i64> = ids.iter().map(|n| n.0).collect();
    sorted.sort_unstable();
    let mut found = Vec::with_capacity(sorted.len());
    for chunk in sorted.chunks(IN_CHUNK) {
        found.extend(stored(
            notifications::table
                .filter(notifications::id.eq_any(chunk))
                .order(notifications::id.asc())
                .select(NotificationRow::as_select())
                .load(conn)?,
        )?);
    }
    Ok(found)
}

/// Everyone's notifications with id above `after`, oldest first (a live listener
/// catching up after reconnecting).
pub fn all_after(
    conn: &mut DbConnection,
    after: NotificationId,
    limit: i64,
) -> StoreResult<Vec<Notification>> {
    stored(
        notifications::table
            .filter(notifications::id.gt(after.0))
            .order(notifications::id.asc())
            .limit(limit)
            .select(NotificationRow::as_select())
            .load(conn)?,
    )
}

/// The highest notification id (0 when there is none).
pub fn latest_id(conn: &mut DbConnection) -> StoreResult<NotificationId> {
    let max: Option<i64> = notifications::table
        .select(diesel::dsl::max(notifications::id))
        .first(conn)?;
    Ok(NotificationId(max.unwrap_or(0)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use convene_domain::permission::Role;

    #[test]
    fn data_round_trips_and_refuses_what_it_cannot_type() {
        let full = NotificationData {
            restored_from: Some(Version(2)),
            role: Some(Role::Editor),
            title: Some("Standup".into()),
            version: Some(Version(4)),
            recurrence_id: chrono::DateTime::from_timestamp(1_800_000_000, 0),
        };
        let text = encode(&full);
        assert_eq!(
            text,
            r#"{"recurrence_id":"2027-01-15T08:00:00Z","restored_from":2,"role":"editor","title":"Standup","version":4}"#
        );
        assert_eq!(decode(1, &text).unwrap(), full);
        assert_eq!(encode(&NotificationData::default()), "{}");
        assert_eq!(decode(1, "{}").unwrap(), NotificationData::default());
        for bad in [
            "",
            "[]",
            r#"{"role":"boss"}"#,
            r#"{"version":"x"}"#,
            r#"{"title":1}"#,
        ] {
            assert!(decode(1, bad).is_err(), "{bad}");
        }
    }
}
