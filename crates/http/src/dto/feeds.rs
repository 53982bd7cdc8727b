//! Subscription-feed tokens.

use chrono::{DateTime, Utc};
use convene_service::feeds::FeedToken;
use serde::Serialize;
use utoipa::ToSchema;

use super::rfc3339;

/// A new feed token: the token and its URL are shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedTokenCreated {
    /// Its id (to revoke it).
    #[schema(example = 1)]
    pub id: i64,
    /// The token: read-only, good for the feed and nothing else. Only its hash is kept.
    #[schema(example = "cvf_Jq3vV0m4m0xL9a3Yt8Zk1H2QfE7pR5sWuXyBcDnGhIk")]
    pub token: String,
    /// The feed's URL with the token: paste it into a calendar application's "subscribe
    /// by URL".
    #[schema(
        example = "https://convene.example.com/api/calendar.ics?token=cvf_Jq3vV0m4m0xL9a3Yt8Zk1H2QfE7pR5sWuXyBcDnGhIk"
    )]
    pub url: String,
    /// When it was made.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

/// A feed token as listed (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedTokenRead {
    /// Its id.
    #[schema(example = 1)]
    pub id: i64,
    /// When it was made.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// When the feed was last read with it (to the minute); null if never.
    #[serde(serialize_with = "optional_rfc3339")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
}

fn optional_rfc3339<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

impl From<FeedToken> for FeedTokenRead {
    fn from(t: FeedToken) -> Self {
        Self {
            id: t.id.0,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
        }
    }
}
