//! Accounts.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use convene_domain::account::User;
use convene_domain::ids::UserId;
use diesel::prelude::*;

use crate::error::time::{naive, utc};
use crate::error::StoreResult;
use crate::permissions::IN_CHUNK;
use crate::schema::{lower, users};
use crate::DbConnection;

/// A stored account, as its columns come back.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    email: String,
    password_hash: String,
    created_at: NaiveDateTime,
}

impl UserRow {
    pub(crate) fn user(self) -> User {
        User {
            id: UserId(self.id),
            username: self.username,
            email: self.email,
            created_at: utc(self.created_at),
        }
    }
}

/// An account with its password hash, for checking a login.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account.
    pub user: User,
    /// Its bcrypt password hash.
    pub password_hash: String,
}

/// Inserts an account and returns it as stored. A username taken already (compared
/// case-insensitively by an expression index) or an email whose key is (its lowercase,
/// `account::email_key`) is `StoreError::Duplicate`.
pub fn insert(
    conn: &mut DbConnection,
    username: &str,
    email: &str,
    email_key: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    let row: UserRow = diesel::insert_into(users::table)
        .values((
            users::username.eq(username),
            users::email.eq(email),
            users::email_key.eq(email_key),
            users::password_hash.eq(password_hash),
            users::created_at.eq(naive(now)),
        ))
        .returning((
            users::id,
            users::username,
            users::email,
            users::password_hash,
            users::created_at,
        ))
        .get_result(conn)?;
    Ok(row.user())
}

/// Whether a username is taken, compared case-insensitively.
pub fn username_taken(conn: &mut DbConnection, username: &str) -> StoreResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(lower(users::username).eq(lower(username))),
    ))
    .get_result(conn)?)
}

/// Whether an email is taken: one with the same key (`account::email_key`).
pub fn email_taken(conn: &mut DbConnection, email_key: &str) -> StoreResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(users::email_key.eq(email_key)),
    ))
    .get_result(conn)?)
}

/// Finds an account by username (case-insensitive) or, when `by_email`, by the key of
/// its email (`login` is then `account::email_key` of what was typed).
pub fn find_by_login(
    conn: &mut DbConnection,
    login: &str,
    by_email: bool,
) -> StoreResult<Option<Credentials>> {
    if login.contains('\0') {
        // No stored name holds one (PostgreSQL's text cannot): nobody, not an error.
        return Ok(None);
    }
    let query = users::table.select(UserRow::as_select()).into_boxed();
    let query = if by_email {
        query.filter(users::email_key.eq(login))
    } else {
        query.filter(lower(users::username).eq(lower(login)))
    };
    Ok(query.first(conn).optional()?.map(|row: UserRow| {
        let password_hash = row.password_hash.clone();
        Credentials {
            user: row.user(),
            password_hash,
        }
    }))
}

/// Finds an account by id.
pub fn find(conn: &mut DbConnection, id: UserId) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = users::table
        .find(id.0)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(UserRow::user))
}

/// Accounts whose username equals `username` case-insensitively: `(id, username)`.
pub fn search_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> StoreResult<Vec<(UserId, String)>> {
    if username.contains('\0') {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String)> = users::table
        .filter(lower(users::username).eq(lower(username)))
        .select((users::id, users::username))
        .order(users::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (UserId(id), name))
        .collect())
}

/// Which of `ids` are registered users.
pub fn existing(conn: &mut DbConnection, ids: &[UserId]) -> StoreResult<HashSet<UserId>> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let raw: Vec<i64> = chunk.iter().map(|u| u.0).collect();
        let rows: Vec<i64> = users::table
            .filter(users::id.eq_any(raw))
            .select(users::id)
            .load(conn)?;
        found.extend(rows.into_iter().map(UserId));
    }
    Ok(found)
}
