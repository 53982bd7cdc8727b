//! The one `table!` schema shared by both backends (written by hand, see diesel.toml).

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        email_key -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> BigInt,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        owner_id -> BigInt,
        title -> Text,
        description -> Text,
        start_time -> Timestamp,
        end_time -> Timestamp,
        location -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        time_zone -> Text,
        recurrence -> Nullable<Text>,
        transparency -> Text,
        exceptions -> Text,
        series_start -> Nullable<Timestamp>,
        series_end -> Nullable<Timestamp>,
    }
}

diesel::table! {
    horizons (event_id) {
        event_id -> BigInt,
        materialized_until -> Timestamp,
    }
}

diesel::table! {
    event_permissions (event_id, user_id) {
        event_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        granted_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        start_time -> Nullable<Timestamp>,
        series_start -> Nullable<Timestamp>,
        series_end -> Nullable<Timestamp>,
    }
}

diesel::table! {
    event_versions (event_id, version) {
        event_id -> BigInt,
        version -> Integer,
        title -> Text,
        description -> Text,
        start_time -> Timestamp,
        end_time -> Timestamp,
        location -> Nullable<Text>,
        change -> Text,
        restored_from -> Nullable<Integer>,
        changed_by -> BigInt,
        changed_at -> Timestamp,
        time_zone -> Text,
        recurrence -> Nullable<Text>,
        transparency -> Text,
        exceptions -> Text,
    }
}

diesel::table! {
    occurrences (event_id, recurrence_id) {
        event_id -> BigInt,
        recurrence_id -> Timestamp,
        owner_id -> BigInt,
        start_time -> Timestamp,
        end_time -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        event_id -> Nullable<BigInt>,
        actor_id -> BigInt,
        message -> Text,
        data -> Text,
        is_read -> Bool,
        created_at -> Timestamp,
        xact -> BigInt,
    }
}

diesel::table! {
    feed_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(feed_tokens -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(events -> users (owner_id));
diesel::joinable!(event_versions -> events (event_id));
diesel::joinable!(occurrences -> events (event_id));
diesel::joinable!(horizons -> events (event_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    refresh_tokens,
    events,
    event_permissions,
    event_versions,
    occurrences,
    horizons,
    notifications,
    feed_tokens,
);

diesel::define_sql_function! {
    /// SQL `lower(text)`, for case-insensitive lookups served by expression indexes.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
