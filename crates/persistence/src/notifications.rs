//! Stored notifications: written with the change that caused them, read newest first
//! (the inbox) or in delivery order (the live feed).
//!
//! Delivery order is `(xact, id)`: `xact` is the writing transaction (PostgreSQL's
//! `pg_current_xact_id()`; 0 on SQLite, whose writers run one at a time so that ids
//! commit in order). Ids come from a sequence and can commit out of order (7 handed out
//! before 8, 8 committed first); transaction ids can too, but a transaction below the
//! oldest one still running (`pg_snapshot_xmin`, the frontier) has ended: the feed
//! gives only those rows, so every row committed later sorts after what a reader has
//! seen, and no writer waits for another to keep that order.

use chrono::NaiveDateTime;
use convene_domain::ids::{EventId, NotificationId, UserId, Version};
use convene_domain::notification::{
    Notification, NotificationBody, NotificationData, NotificationKind,
};
use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::db::{insert_rows, per_backend, KeepPrepared};
use crate::error::time::{naive, utc};
use crate::error::{StoreError, StoreResult};
use crate::events::role_of;
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
    xact: i64,
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
        let mut chunk_ids: Vec<i64> = insert_rows!(conn, notifications::table, chunk, |q, c| q
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

/// A place in the delivery order of notifications (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedPosition {
    /// The writing transaction.
    pub xact: i64,
    /// The notification's id.
    pub id: NotificationId,
}

/// Notifications in delivery order.
#[derive(Debug, Default)]
pub struct Feed {
    /// Final notifications (written by ended transactions), each with its position.
    pub items: Vec<(FeedPosition, Notification)>,
    /// Whether committed notifications follow that are not final yet: a transaction
    /// older than theirs is still running. Reading again later delivers them.
    pub held_back: bool,
}

/// The frontier as a column: every transaction below it had ended when the statement's
/// snapshot was taken (PostgreSQL: `pg_snapshot_xmin`); on SQLite every row is final
/// (its writers commit one at a time, in id order).
fn frontier(conn: &DbConnection) -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql(match conn {
        // A scalar subquery: computed once per statement, not per row.
        DbConnection::Postgresql(_) => {
            "(SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"
        }
        DbConnection::Sqlite(_) => "9223372036854775807",
    })
}

/// The position where a feed starts that treats everything final now as delivered.
pub fn start(conn: &mut DbConnection) -> StoreResult<FeedPosition> {
    let frontier: i64 = diesel::select(frontier(conn)).get_result(conn)?;
    Ok(FeedPosition {
        xact: frontier.saturating_sub(1),
        id: NotificationId(i64::MAX),
    })
}

/// The position of notification `id`. One that no longer exists (retention removed it)
/// stands right after the last one at or below its id: a feed resumed from it repeats
/// nothing older, and may repeat a notification written concurrently with it.
pub fn position_of(conn: &mut DbConnection, id: NotificationId) -> StoreResult<FeedPosition> {
    let xact: Option<i64> = notifications::table
        .filter(notifications::id.le(id.0))
        .order(notifications::id.desc())
        .select(notifications::xact)
        .first(conn)
        .optional()?;
    Ok(FeedPosition {
        xact: xact.unwrap_or(i64::MIN),
        id,
    })
}

/// The notifications after `after` in delivery order — `user`'s, or everyone's (a live
/// listener) — final ones only, at most `limit`.
pub fn feed(
    conn: &mut DbConnection,
    user: Option<UserId>,
    after: FeedPosition,
    limit: i64,
) -> StoreResult<Feed> {
    // The frontier comes with the rows, read in the same statement's snapshot: every
    // transaction below it had ended when the snapshot was taken, so all its rows are
    // in this answer, and any transaction that commits later has an id at or above it.
    // One round trip per step (each instance's listener reads one per wake-up), kept
    // prepared (one shape with a user, one without).
    let frontier = frontier(conn);
    let rows: Vec<(NotificationRow, i64)> = per_backend!(conn, |c| {
        let mut query = notifications::table
            .filter(notifications::xact.ge(after.xact))
            .filter(
                notifications::xact.gt(after.xact).or(notifications::xact
                    .eq(after.xact)
                    .and(notifications::id.gt(after.id.0))),
            )
            .order((notifications::xact.asc(), notifications::id.asc()))
            .limit(limit)
            .select((NotificationRow::as_select(), frontier))
            .into_boxed();
        if let Some(user) = user {
            query = query.filter(notifications::user_id.eq(user.0));
        }
        KeepPrepared(query).load(c)?
    });
    let mut feed = Feed::default();
    for (row, frontier) in rows {
        if row.xact >= frontier {
            feed.held_back = true;
            break;
        }
        let position = FeedPosition {
            xact: row.xact,
            id: NotificationId(row.id),
        };
        feed.items.push((position, row.try_into()?));
    }
    Ok(feed)
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
