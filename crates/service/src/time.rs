//! The service's clock.

use chrono::{DateTime, SubsecRound, Utc};

/// Now, at the microsecond precision both databases store.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
