//! Versions: the changelog, one version, the diff of two, and rollback as a new version.

use convene_domain::account::User;
use convene_domain::ids::{EventId, Version};
use convene_domain::permission::Action;
use convene_domain::version::{diff as diff_contents, FieldChange, VersionRecord};
use convene_persistence::{versions, DbConnection};

use crate::access::{authorized, Event, Precondition};
use crate::page::{self, Page};
use crate::revise::revise;
use crate::{ServiceError, Services};

fn load(
    conn: &mut DbConnection,
    id: EventId,
    version: Version,
) -> Result<VersionRecord, ServiceError> {
    versions::find(conn, id, version)?.ok_or(ServiceError::NotFound)
}

/// The versions of an event in order, a page at a time (any participant).
pub fn changelog(
    services: &Services,
    actor: &User,
    id: EventId,
    after: Option<Version>,
    limit: u32,
) -> Result<Page<VersionRecord, Version>, ServiceError> {
    let mut conn = services.conn()?;
    authorized(&mut conn, id, actor.id, Action::ViewHistory)?;
    let rows = versions::list(&mut conn, id, after, page::fetch(limit))?;
    Ok(Page::of(rows, limit, |v| v.version))
}

/// One version (any participant).
pub fn version(
    services: &Services,
    actor: &User,
    id: EventId,
    version: Version,
) -> Result<VersionRecord, ServiceError> {
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
    revise(
        services,
        actor,
        id,
        precondition.as_ref(),
        Action::Rollback,
        None,
        |conn, _| Ok((load(conn, id, target)?.content, Some(target))),
    )
}
