//! Accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{lower, users};
use crate::DbConnection;

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Primary key.
    pub id: i64,
    /// Username as registered.
    pub username: String,
    /// Email as registered.
    pub email: String,
    /// bcrypt hash of the password.
    pub password_hash: String,
    /// Registration time (UTC).
    pub created_at: NaiveDateTime,
}

/// Inserts an account and returns it. Unique violations (username or email, compared
/// case-insensitively by expression indexes) surface as `DatabaseError(UniqueViolation)`;
/// see [`unique_violation_field`].
pub fn insert(
    conn: &mut DbConnection,
    username: &str,
    email: &str,
    password_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<UserRow> {
    let id = diesel::insert_into(users::table)
        .values((
            users::username.eq(username),
            users::email.eq(email),
            users::password_hash.eq(password_hash),
            users::created_at.eq(now),
        ))
        .returning(users::id)
        .get_result(conn)?;
    Ok(UserRow {
        id,
        username: username.to_owned(),
        email: email.to_owned(),
        password_hash: password_hash.to_owned(),
        created_at: now,
    })
}

/// Which unique field a unique violation is about (`username` or `email`), judged from
/// the constraint name PostgreSQL reports or the column text SQLite reports.
pub fn unique_violation_field(error: &diesel::result::Error) -> Option<&'static str> {
    use diesel::result::{DatabaseErrorKind, Error};
    let Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = error else {
        return None;
    };
    let text = format!(
        "{} {}",
        info.constraint_name().unwrap_or(""),
        info.message()
    );
    if text.contains("username") {
        Some("username")
    } else if text.contains("email") {
        Some("email")
    } else {
        None
    }
}

/// Whether a username is taken, compared case-insensitively.
pub fn username_taken(conn: &mut DbConnection, username: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(lower(users::username).eq(lower(username))),
    ))
    .get_result(conn)
}

/// Whether an email is taken, compared case-insensitively.
pub fn email_taken(conn: &mut DbConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(lower(users::email).eq(lower(email))),
    ))
    .get_result(conn)
}

/// Finds an account by username or, when `by_email`, by email; case-insensitive.
pub fn find_by_login(
    conn: &mut DbConnection,
    login: &str,
    by_email: bool,
) -> QueryResult<Option<UserRow>> {
    let query = users::table.select(UserRow::as_select()).into_boxed();
    let query = if by_email {
        query.filter(lower(users::email).eq(lower(login)))
    } else {
        query.filter(lower(users::username).eq(lower(login)))
    };
    query.first(conn).optional()
}

/// Finds an account by id.
pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Accounts whose username equals `username` case-insensitively: `(id, username)`.
pub fn search_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(lower(users::username).eq(lower(username)))
        .select((users::id, users::username))
        .order(users::id)
        .load(conn)
}
