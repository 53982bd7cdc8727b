//! Subscription feeds: read-only tokens a calendar application puts in the feed's URL
//! (it cannot send headers), stored only as a hash, revocable; and the feed itself.

use convene_domain::account::User;
use convene_domain::event::StoredEvent;
use convene_domain::ids::{EventId, FeedTokenId, UserId};
use convene_domain::validation::FieldError;
use convene_persistence::db::write_transaction;
use convene_persistence::{events, feed_tokens};
use sha2::{Digest, Sha256};

pub use convene_persistence::feed_tokens::FeedToken;

use crate::time::now;
use crate::tokens::{hash_refresh_token, random_token};
use crate::{ServiceError, Services};

/// Most feed tokens one user may hold at once.
pub const MAX_FEED_TOKENS: i64 = 20;

/// What feed tokens begin with, so that secret scanners (and people) recognise one.
pub const FEED_TOKEN_PREFIX: &str = "cvf_";

/// A new feed token: the token itself is shown once, then only its hash is kept.
#[derive(Debug, Clone)]
pub struct IssuedFeedToken {
    /// What is stored.
    pub stored: FeedToken,
    /// The token (256 random bits).
    pub token: String,
}

/// Makes a feed token for the caller (at most [`MAX_FEED_TOKENS`] at once: 422).
pub fn issue(services: &Services, actor: &User) -> Result<IssuedFeedToken, ServiceError> {
    let token = format!("{FEED_TOKEN_PREFIX}{}", random_token(32));
    let hash = hash_refresh_token(&token);
    let mut conn = services.conn()?;
    let stored = write_transaction(&mut conn, |conn| {
        if feed_tokens::count(conn, actor.id)? >= MAX_FEED_TOKENS {
            return Err(ServiceError::Validation(vec![FieldError::new(
                "body",
                format!("a user can hold at most {MAX_FEED_TOKENS} feed tokens; revoke one first"),
            )]));
        }
        Ok(feed_tokens::create(conn, actor.id, &hash, now())?)
    })?;
    Ok(IssuedFeedToken { stored, token })
}

/// The caller's feed tokens, oldest first (never the tokens themselves).
pub fn list(services: &Services, actor: &User) -> Result<Vec<FeedToken>, ServiceError> {
    let mut conn = services.conn()?;
    Ok(feed_tokens::list(&mut conn, actor.id)?)
}

/// Revokes one of the caller's feed tokens: its URL stops working at once. Others'
/// tokens are not found.
pub fn revoke(services: &Services, actor: &User, id: FeedTokenId) -> Result<(), ServiceError> {
    let mut conn = services.conn()?;
    if write_transaction(&mut conn, |conn| feed_tokens::delete(conn, actor.id, id))? {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// A feed read.
#[derive(Debug)]
pub enum Feed {
    /// The client's copy (its `If-None-Match`) is current.
    NotModified {
        /// The feed's entity tag.
        tag: String,
    },
    /// The feed's events, to read in pages with [`events`].
    Events {
        /// The feed's entity tag.
        tag: String,
        /// The token's user.
        user: UserId,
        /// Every event the token's user owns or that is shared with them, by id.
        ids: Vec<EventId>,
    },
}

/// How many events one read of [`events`] may ask for: the feed is written a page at a
/// time, so that neither a long calendar nor many feed requests at once hold whole
/// calendars in memory.
pub const FEED_PAGE: usize = 100;

/// Changes whenever the feed's document would: the exporter's format (bump it when the
/// document changes shape) plus the id and version of every event in the feed.
const FEED_FORMAT: &[u8] = b"convene-feed-1";

/// The feed of the user `token` belongs to (a wrong or revoked token: 401). `cached`
/// says whether the client holds the feed with a given entity tag already; if so, the
/// events are not read.
pub fn read(
    services: &Services,
    token: &str,
    cached: impl Fn(&str) -> bool,
) -> Result<Feed, ServiceError> {
    let mut conn = services.conn()?;
    let (id, user) = feed_tokens::find(&mut conn, &hash_refresh_token(token))?
        .ok_or(ServiceError::Unauthorized("unknown or revoked feed token"))?;
    write_transaction(&mut conn, |conn| feed_tokens::touch(conn, id, now()))?;
    let versions = events::versions_of_user(&mut conn, user)?;
    let mut digest = Sha256::new();
    digest.update(FEED_FORMAT);
    for (event, version) in &versions {
        digest.update(event.0.to_be_bytes());
        digest.update(version.0.to_be_bytes());
    }
    let tag = format!("{:x}", digest.finalize())[..32].to_owned();
    if cached(&tag) {
        return Ok(Feed::NotModified { tag });
    }
    Ok(Feed::Events {
        tag,
        user,
        ids: versions.into_iter().map(|(id, _)| id).collect(),
    })
}

/// The events of a feed's page `ids` (at most [`FEED_PAGE`]) as they are now, those
/// `user` can still see: read after the tag, so at least as new as it (a change in
/// between makes the next poll fetch again, never keep a stale copy); by id, so that
/// an event moved meanwhile is neither written twice nor left out.
pub fn events(
    services: &Services,
    user: UserId,
    ids: &[EventId],
) -> Result<Vec<StoredEvent>, ServiceError> {
    debug_assert!(ids.len() <= FEED_PAGE);
    let mut conn = services.conn()?;
    let mut page = events::visible_of_user(&mut conn, user, ids)?;
    page.sort_unstable_by_key(|event| event.id);
    Ok(page)
}
