//! The one error type of every use case; the HTTP layer maps it to problem details.

use chrono::{DateTime, Utc};
use convene_domain::ids::EventId;
use convene_domain::validation::FieldError;
use convene_persistence::occurrences::Busy;
use convene_persistence::StoreError;

/// A stored occurrence (or one of another item of the same batch) that a write would
/// overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The stored event's id; `None` for another item of the same batch, or for an event
    /// the caller cannot read (only its busy interval is revealed).
    pub id: Option<EventId>,
    /// The occurrence's identity in its event (its original start).
    pub recurrence_id: DateTime<Utc>,
    /// Its title; `None` for an event the caller cannot read.
    pub title: Option<String>,
    /// Its start.
    pub start_time: DateTime<Utc>,
    /// Its end.
    pub end_time: DateTime<Utc>,
    /// In a batch: the index of the item that conflicts.
    pub index: Option<usize>,
    /// In a batch: the index of the other item it overlaps, when that is not stored.
    pub batch_index: Option<usize>,
}

impl Conflict {
    /// A stored busy occurrence found in the way, with its event's title.
    pub(crate) fn stored(busy: Busy, title: Option<String>) -> Self {
        Self {
            id: Some(busy.event_id),
            recurrence_id: busy.recurrence_id,
            start_time: busy.range.start(),
            end_time: busy.range.end(),
            title,
            index: None,
            batch_index: None,
        }
    }

    /// The same conflict with what the caller may not read removed: only the busy
    /// interval stays (API.md), so `recurrence_id` is its start, not the occurrence's
    /// original one (which would tell where a moved occurrence came from).
    pub(crate) fn redacted(self) -> Self {
        Self {
            id: None,
            title: None,
            recurrence_id: self.start_time,
            ..self
        }
    }
}

/// At most this many conflicts are listed in one answer; the total is always given.
pub const CONFLICTS_LISTED: usize = 50;

/// The conflicts of a refused write: the first [`CONFLICTS_LISTED`] found, and how many
/// there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conflicts {
    /// The listed conflicts.
    pub listed: Vec<Conflict>,
    /// How many conflicts there are, listed or not.
    pub total: usize,
}

impl Conflicts {
    /// Room left in the list.
    pub(crate) fn room(&self) -> usize {
        CONFLICTS_LISTED.saturating_sub(self.listed.len())
    }

    /// Adds conflicts found for one occurrence of a request item (`index` in a batch);
    /// `total` counts those that did not fit as well. An entry listed already (a stored
    /// occurrence in the way of several occurrences of one item) is not listed or
    /// counted again.
    pub(crate) fn extend(&mut self, found: Found, index: Option<usize>) {
        let complete = found.listed.len() == found.total;
        let fresh: Vec<Conflict> = found
            .listed
            .into_iter()
            .map(|c| Conflict { index, ..c })
            .filter(|c| !self.listed.contains(c))
            .collect();
        self.total += if complete { fresh.len() } else { found.total };
        let room = self.room();
        self.listed.extend(fresh.into_iter().take(room));
    }

    /// Whether nothing conflicts.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// What one conflict scan found: at most the room it was given, and the total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The conflicts listed, in start order.
    pub listed: Vec<Conflict>,
    /// How many there are in all.
    pub total: usize,
}

/// Why a use case did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// Well-formed input that breaks a rule; every field problem is listed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Missing, invalid, expired or revoked credentials. The text is for logs only.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// The username is registered already (case-insensitively).
    #[error("username taken")]
    UsernameTaken,
    /// The email is registered already (case-insensitively).
    #[error("email taken")]
    EmailTaken,
    /// No such resource, or the caller may not know it exists.
    #[error("not found")]
    NotFound,
    /// The caller participates but lacks the role for the action.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The change would overlap the owner's events listed here (at most
    /// [`CONFLICTS_LISTED`] of them).
    #[error("conflicts with {} event(s)", .0.total)]
    Conflict(Conflicts),
    /// A concurrent writer changed the same rows first; retried internally and only
    /// surfaced when it persists.
    #[error("contended write")]
    Contended,
    /// `If-Match` did not match; the current version is given.
    #[error("precondition failed")]
    PreconditionFailed {
        /// The event's current version (its ETag).
        current: convene_domain::ids::Version,
    },
    /// A batch has more items than allowed.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The database cannot be reached right now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected database failure; details are logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            // A concurrent writer won, or the database refused an overlap the write did
            // not probe for; the write is retried (see `write::write_attempts`).
            StoreError::Overlap | StoreError::Aborted(_) => Self::Contended,
            StoreError::Unavailable(why) => Self::Unavailable(why),
            // What the write refers to was deleted meanwhile.
            StoreError::Missing => Self::NotFound,
            StoreError::Duplicate(_) | StoreError::Other(_) => Self::Internal(e.to_string()),
        }
    }
}
