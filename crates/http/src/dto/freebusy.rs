//! Free/busy and common free slots: requests and answers.

use chrono::{DateTime, Utc};
use convene_domain::schedule::TimeRange;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rfc3339;

/// A whole number as JSON and MessagePack may carry it: an integer, or a float without a
/// fraction (JSON Schema's `integer` admits `30.0`).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged, expecting = "a whole number")]
pub enum WholeNumber {
    /// An integer.
    Int(i64),
    /// A float, whole or not.
    Float(f64),
}

impl WholeNumber {
    /// The number, if it is whole and fits in an `i64`.
    pub fn value(self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(n),
            // Strictly between ±2^63 (exactly representable): the cast is exact there, and
            // a float of -2^63 may stand for a smaller integer it was rounded from.
            Self::Float(f) if f.fract() == 0.0 && f > -(2f64.powi(63)) && f < 2f64.powi(63) => {
                Some(f as i64)
            }
            Self::Float(_) => None,
        }
    }
}

/// `POST /api/freebusy` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct FreeBusyRequest {
    /// The users to look at: the caller, their collaborators (others answer
    /// `not_visible`); 1 to 50, repeats answered once.
    #[schema(value_type = Vec<i64>, required = true, min_items = 1, max_items = 50, example = json!([1, 2]))]
    pub user_ids: Option<Vec<WholeNumber>>,
    /// The window's start (RFC 3339).
    #[schema(value_type = String, format = DateTime, required = true, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2027-03-01T00:00:00Z")]
    pub from: Option<String>,
    /// The window's end: after `from`, at most 366 days after it.
    #[schema(value_type = String, format = DateTime, required = true, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2027-03-08T00:00:00Z")]
    pub to: Option<String>,
}

/// `POST /api/freebusy/slots` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SlotsRequest {
    /// The users who must all be free (those the caller may not see are left out); 1 to
    /// 50.
    #[schema(value_type = Vec<i64>, required = true, min_items = 1, max_items = 50, example = json!([1, 2]))]
    pub user_ids: Option<Vec<WholeNumber>>,
    /// The window's start (RFC 3339).
    #[schema(value_type = String, format = DateTime, required = true, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2027-03-01T08:00:00Z")]
    pub from: Option<String>,
    /// The window's end: after `from`, at most 366 days after it.
    #[schema(value_type = String, format = DateTime, required = true, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2027-03-01T18:00:00Z")]
    pub to: Option<String>,
    /// The slot's length in minutes, 1 to 527,040 (366 days).
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 527040, example = 30)]
    pub duration_minutes: Option<WholeNumber>,
    /// Slots start on multiples of this many minutes from the Unix epoch (UTC): 15
    /// puts them on :00, :15, :30 and :45. 1 to 1440; default 15.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1440, example = 15)]
    pub step_minutes: Option<WholeNumber>,
    /// Most slots returned, 1 to 100; default 20.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<WholeNumber>,
}

/// A span of time.
#[derive(Debug, Serialize, ToSchema)]
pub struct Interval {
    /// Start (UTC).
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2027-03-01T09:00:00Z")]
    pub start_time: DateTime<Utc>,
    /// End (UTC), exclusive.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2027-03-01T10:30:00Z")]
    pub end_time: DateTime<Utc>,
}

impl From<TimeRange> for Interval {
    fn from(range: TimeRange) -> Self {
        Self {
            start_time: range.start(),
            end_time: range.end(),
        }
    }
}

/// One user's busy time.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBusy {
    /// The user.
    pub user_id: i64,
    /// When they are busy in the window: merged intervals of the busy (opaque)
    /// occurrences of the events they own, clipped to the window, in time order; at
    /// most 2,000.
    pub busy: Vec<Interval>,
    /// Present (`true`) only when more busy time follows the last interval's end within
    /// the window than the 2,000 listed: ask again with `from` at that end.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    pub truncated: bool,
}

/// A user whose time the caller may not see.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserNotVisible {
    /// The user id as asked.
    pub user_id: i64,
    /// Why not: neither the caller nor a collaborator (a user sharing at least one event
    /// with the caller, either way), or no such user.
    pub error: NotVisibleCode,
}

/// Why a user's time is not shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotVisibleCode {
    /// Not the caller, not a collaborator, or no such user.
    NotVisible,
}

/// One entry of a free/busy answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FreeBusyUser {
    /// Visible: the busy time.
    Busy(UserBusy),
    /// Not visible.
    NotVisible(UserNotVisible),
}

/// `POST /api/freebusy` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct FreeBusyRead {
    /// The window's start, as given (UTC).
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2027-03-01T00:00:00Z")]
    pub from: DateTime<Utc>,
    /// The window's end (UTC).
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2027-03-08T00:00:00Z")]
    pub to: DateTime<Utc>,
    /// One entry per requested user, in request order.
    pub users: Vec<FreeBusyUser>,
}

/// `POST /api/freebusy/slots` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotsRead {
    /// The earliest free slots, in time order.
    pub slots: Vec<Interval>,
}

#[cfg(test)]
mod tests {
    use super::WholeNumber;

    #[test]
    fn whole_numbers_are_integers_or_whole_floats_within_i64() {
        assert_eq!(WholeNumber::Int(i64::MIN).value(), Some(i64::MIN));
        assert_eq!(WholeNumber::Float(30.0).value(), Some(30));
        assert_eq!(WholeNumber::Float(-7.0).value(), Some(-7));
        assert_eq!(WholeNumber::Float(30.5).value(), None);
        assert_eq!(WholeNumber::Float(-(2f64.powi(63))).value(), None);
        assert_eq!(WholeNumber::Float(2f64.powi(63)).value(), None);
        assert_eq!(WholeNumber::Float(f64::NAN).value(), None);
    }

    /// JSON text is read correctly rounded: whole numbers written as floats stay whole
    /// (Schemathesis sent this one, which serde_json's fast float parser read with a
    /// fraction).
    #[test]
    fn whole_floats_in_json_read_back_whole() {
        #[allow(clippy::unwrap_used)]
        let n: WholeNumber = serde_json::from_str("-2251799813685247.0").unwrap();
        assert_eq!(n.value(), Some(-2_251_799_813_685_247));
        #[allow(clippy::unwrap_used)]
        let n: WholeNumber = serde_json::from_str("362881.0").unwrap();
        assert_eq!(n.value(), Some(362_881));
    }
}
