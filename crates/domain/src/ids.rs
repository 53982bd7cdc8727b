//! Identifier newtypes, so a user id is never passed where an event id belongs.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user's id.
    UserId(i64)
);
id_type!(
    /// An event's id.
    EventId(i64)
);
id_type!(
    /// A login session's id (the JWT `sid`).
    SessionId(i64)
);
id_type!(
    /// A subscription-feed token's id.
    FeedTokenId(i64)
);
id_type!(
    /// A notification's id; ids grow with time, so they order the feed.
    NotificationId(i64)
);
id_type!(
    /// An event's version number: 1 at creation, +1 per effective change.
    Version(i32)
);
