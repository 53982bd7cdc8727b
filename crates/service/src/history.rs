//! Versions: the changelog, one version, the diff of two, and rollback as a new version.

use chrono::{DateTime, Utc};
use convene_domain::account::User;
use convene_domain::event::EventContent;
use convene_domain::ids::{EventId, UserId, Version};
use convene_domain::permission::Action;
use convene_domain::schedule::TimeRange;
use convene_domain::version::{diff as diff_contents, ChangeKind, FieldChange};
use convene_persistence::versions::{self, VersionRow};
use convene_persistence::DbConnection;

use crate::events::{authorized, change, Event, Page, Precondition};
use crate::time::utc;
use crate::{ServiceError, Services};

/// One stored version of an event: its full content and how it came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The event.
    pub event_id: EventId,
    /// The version number.
    pub version: Version,
    /// The content at this version.
    pub content: EventContent,
    /// How it was made.
    pub change: ChangeKind,
    /// The version it restored, for a rollback.
    pub restored_from: Option<Version>,
    /// Who made it.
    pub changed_by: UserId,
    /// When.
    pub changed_at: DateTime<Utc>,
}

fn info_of(row: VersionRow) -> Result<VersionInfo, ServiceError> {
    let bad = |what: &str| {
        ServiceError::Internal(format!("version {}/{}: {what}", row.event_id, row.version))
    };
    Ok(VersionInfo {
        event_id: EventId(row.event_id),
        version: Version(row.version),
        content: EventContent {
            range: TimeRange::new(utc(row.start_time), utc(row.end_time))
                .map_err(|_| bad("empty range"))?,
            title: row.title,
            description: row.description,
            location: row.location,
        },
        change: ChangeKind::parse(&row.change).ok_or_else(|| bad("unknown change"))?,
        restored_from: row.restored_from.map(Version),
        changed_by: UserId(row.changed_by),
        changed_at: utc(row.changed_at),
    })
}

fn load(
    conn: &mut DbConnection,
    id: EventId,
    version: Version,
) -> Result<VersionInfo, ServiceError> {
    info_of(versions::find(conn, id.0, version.0)?.ok_or(ServiceError::NotFound)?)
}

/// The versions of an event in order, a page at a time (any participant).
pub fn changelog(
    services: &Services,
    actor: &User,
    id: EventId,
    after: Option<Version>,
    limit: u32,
) -> Result<Page<VersionInfo, Version>, ServiceError> {
    let mut conn = services.conn()?;
    authorized(&mut conn, id, actor.id, Action::ViewHistory)?;
    let limit = limit as usize;
    let mut rows = versions::list(&mut conn, id.0, after.map(|v| v.0), limit as i64 + 1)?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let items = rows
        .into_iter()
        .map(info_of)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if more {
        items.last().map(|v| v.version)
    } else {
        None
    };
    Ok(Page { items, next })
}

/// One version (any participant).
pub fn version(
    services: &Services,
    actor: &User,
    id: EventId,
    version: Version,
) -> Result<VersionInfo, ServiceError> {
    let mut conn = services.conn()?;
    authorized(&mut conn, id, actor.id, Action::ViewHistory)?;
    load(&mut conn, id, version)
}

/// The fields that differ from version `from` to version `to` (either order).
pub fn diff(
    services: &Services,
    actor: &User,
    id: EventId,
    from: Version,
    to: Version,
) -> Result<Vec<FieldChange>, ServiceError> {
    let mut conn = services.conn()?;
    authorized(&mut conn, id, actor.id, Action::ViewHistory)?;
    let a = load(&mut conn, id, from)?;
    let b = load(&mut conn, id, to)?;
    Ok(diff_contents(&a.content, &b.content))
}

/// Restores `version`'s content as a new version (owner or editor), conflict-checked and
/// `If-Match`-aware. Restoring content equal to the current state creates no version.
pub fn rollback(
    services: &Services,
    actor: &User,
    id: EventId,
    target: Version,
    precondition: Option<Precondition>,
) -> Result<Event, ServiceError> {
    change(
        services,
        actor,
        id,
        precondition.as_ref(),
        Action::Rollback,
        |conn, _| {
            let restored = load(conn, id, target)?;
            Ok((restored.content, Some(target.0)))
        },
    )
}
