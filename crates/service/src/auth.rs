//! Accounts and sessions: register, login, refresh (rotation with reuse detection),
//! logout, authentication of access tokens, user lookup.

use chrono::{DateTime, Utc};
use convene_domain::account::{
    email_key, is_email_login, Registration, RegistrationInput, User, PASSWORD_BYTES,
};
use convene_domain::ids::{SessionId, UserId};
use convene_persistence::db::write_transaction;
use convene_persistence::error::UniqueKey;
use convene_persistence::DbConnection;
use convene_persistence::{sessions, users, StoreError};

use crate::time::now;
use crate::tokens::{hash_refresh_token, random_token, Claims};
use crate::{ServiceError, Services};

/// A fresh access + refresh token pair.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The signed JWT.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token (single use).
    pub refresh_token: String,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The caller's account.
    pub user: User,
    /// The session the access token belongs to.
    pub session_id: SessionId,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
}

/// A user found by lookup: never exposes the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// The account's id.
    pub id: UserId,
    /// Its username.
    pub username: String,
}

/// Registers an account. Duplicate username or email (case-insensitive) → taken errors.
pub fn register(services: &Services, input: RegistrationInput) -> Result<User, ServiceError> {
    let reg = Registration::parse(input).map_err(ServiceError::Validation)?;
    {
        // Answer duplicates before paying for bcrypt; the unique indexes still decide
        // races. The connection goes back to the pool before hashing.
        if let Some(taken) = taken(&mut *services.conn()?, &reg)? {
            return Err(taken);
        }
    }
    // The domain caps passwords at 72 bytes, all of which bcrypt uses (only its NUL
    // terminator is cut at exactly 72), so nothing the user typed is dropped. No
    // connection is held meanwhile: slow hashing never starves the pool.
    let hash = bcrypt::hash(&reg.password, services.auth.bcrypt_cost)
        .map_err(|e| ServiceError::Internal(format!("bcrypt: {e}")))?;
    let mut conn = services.conn()?;
    let inserted = write_transaction(&mut conn, |c| {
        users::insert(
            c,
            &reg.username,
            &reg.email,
            &email_key(&reg.email),
            &hash,
            now(),
        )
    });
    match inserted {
        // A concurrent registration won: answered as if it had come first, whichever
        // index the database checked first.
        Err(StoreError::Duplicate(UniqueKey::Username | UniqueKey::Email)) => {
            Err(taken(&mut conn, &reg)?.unwrap_or(ServiceError::EmailTaken))
        }
        other => other.map_err(ServiceError::from),
    }
}

/// Which 409 a registration meets, if any: the username's when both are taken. The
/// email is looked at first, so that an account committed between the two reads is
/// still named by its username.
fn taken(
    conn: &mut DbConnection,
    reg: &Registration,
) -> Result<Option<ServiceError>, ServiceError> {
    let email = users::email_taken(conn, &email_key(&reg.email))?;
    if users::username_taken(conn, &reg.username)? {
        Ok(Some(ServiceError::UsernameTaken))
    } else if email {
        Ok(Some(ServiceError::EmailTaken))
    } else {
        Ok(None)
    }
}

/// Checks a username-or-email and password and opens a session. Unknown logins cost one
/// bcrypt verification too, so timing does not reveal which accounts exist.
pub fn login(services: &Services, login: &str, password: &str) -> Result<TokenPair, ServiceError> {
    // Emails are stored trimmed and no username holds white space. The connection goes
    // back to the pool before bcrypt runs.
    let login = login.trim();
    let by_email = is_email_login(login);
    let key = if by_email {
        email_key(login)
    } else {
        login.to_owned()
    };
    let found = users::find_by_login(&mut *services.conn()?, &key, by_email)?;
    let hash = found
        .as_ref()
        .map_or(services.dummy_hash.as_str(), |c| c.password_hash.as_str());
    // Passwords longer than 72 bytes were never accepted; refusing (not truncating)
    // them here keeps a 73-byte guess from matching a 72-byte password. The verify still
    // runs, so the answer takes the same time.
    let fits = password.len() <= PASSWORD_BYTES.1;
    let verified = bcrypt::verify(password, hash).unwrap_or(false) && fits;
    let Some(account) = found.filter(|_| verified) else {
        return Err(ServiceError::Unauthorized("bad credentials"));
    };
    let now = now();
    let refresh = random_token(32);
    let refresh_expires = now + services.auth.refresh_ttl;
    let session_id = write_transaction(&mut *services.conn()?, |conn| {
        let id = sessions::create(conn, account.user.id, now, refresh_expires)?;
        sessions::add_refresh_token(conn, id, &hash_refresh_token(&refresh), refresh_expires)?;
        Ok::<_, ServiceError>(id)
    })?;
    issue(services, account.user.id, session_id, now, refresh)
}

fn issue(
    services: &Services,
    user_id: UserId,
    session_id: SessionId,
    now: DateTime<Utc>,
    refresh_token: String,
) -> Result<TokenPair, ServiceError> {
    let ttl = services.auth.access_ttl;
    let claims = Claims {
        sub: user_id.to_string(),
        sid: session_id.0,
        iat: now.timestamp(),
        exp: (now + ttl).timestamp(),
        jti: random_token(16),
    };
    let access_token = services
        .auth
        .keys
        .sign(&claims)
        .map_err(|e| ServiceError::Internal(format!("jwt: {e}")))?;
    Ok(TokenPair {
        access_token,
        expires_in: ttl.num_seconds(),
        refresh_token,
    })
}

/// What a refresh attempt found, decided inside its transaction.
enum Refresh {
    Rotated {
        user_id: UserId,
        session_id: SessionId,
    },
    Reused(SessionId),
    Invalid(&'static str),
}

/// Exchanges a refresh token for a new pair; the presented token is spent. Presenting a
/// spent token revokes its whole session (the token was stolen or replayed).
pub fn refresh(services: &Services, refresh_token: &str) -> Result<TokenPair, ServiceError> {
    let mut conn = services.conn()?;
    let now = now();
    let presented = hash_refresh_token(refresh_token);
    let next = random_token(32);
    let next_expires = now + services.auth.refresh_ttl;
    let outcome = write_transaction(&mut conn, |conn| {
        let Some(row) = sessions::find_refresh_token(conn, &presented)? else {
            return Ok(Refresh::Invalid("unknown refresh token"));
        };
        if row.session_revoked {
            return Ok(Refresh::Invalid("session revoked"));
        }
        if row.spent || !sessions::spend_refresh_token(conn, &presented, now)? {
            return Ok(Refresh::Reused(row.session));
        }
        if row.expires_at <= now {
            return Ok(Refresh::Invalid("refresh token expired"));
        }
        sessions::add_refresh_token(conn, row.session, &hash_refresh_token(&next), next_expires)?;
        Ok::<_, ServiceError>(Refresh::Rotated {
            user_id: row.user,
            session_id: row.session,
        })
    })?;
    match outcome {
        Refresh::Rotated {
            user_id,
            session_id,
        } => issue(services, user_id, session_id, now, next),
        Refresh::Reused(session) => {
            revoke_session(services, session)?;
            tracing::warn!(
                session = session.0,
                "spent refresh token presented again; session revoked"
            );
            Err(ServiceError::Unauthorized("refresh token reused"))
        }
        Refresh::Invalid(why) => Err(ServiceError::Unauthorized(why)),
    }
}

/// Revokes the caller's session: its refresh token and access tokens stop working, and
/// its live connections are closed (on every instance).
pub fn logout(services: &Services, principal: &Principal) -> Result<(), ServiceError> {
    revoke_session(services, principal.session_id)
}

fn revoke_session(services: &Services, session: SessionId) -> Result<(), ServiceError> {
    let mut conn = services.conn()?;
    write_transaction(&mut conn, |conn| {
        sessions::revoke(conn, session, now())?;
        services.fanout.revoke_in_transaction(conn, session)
    })?;
    services.fanout.revoked(session);
    Ok(())
}

/// What a verified access token says: signature, pinned algorithm and expiry hold.
/// Whether its session is still live is a database read: [`caller`], or a query that
/// checks it with what it reads (`events::get_by_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    /// The account the token was issued to.
    pub user: UserId,
    /// The session the token belongs to.
    pub session_id: SessionId,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
}

impl Credential {
    /// The caller, once the session is known to be live and `user` is its account.
    pub(crate) fn principal(self, user: User) -> Principal {
        Principal {
            user,
            session_id: self.session_id,
            expires_at: self.expires_at,
        }
    }
}

/// The refusal of a well-signed token whose session is over.
pub(crate) const SESSION_ENDED: ServiceError =
    ServiceError::Unauthorized("session revoked or unknown");

/// Checks an access token without the database: signature, pinned algorithm, expiry.
pub fn verify(services: &Services, token: &str) -> Result<Credential, ServiceError> {
    let claims = services
        .auth
        .keys
        .verify(token)
        .map_err(|_| ServiceError::Unauthorized("invalid token"))?;
    Ok(Credential {
        user: UserId(
            claims
                .sub
                .parse()
                .map_err(|_| ServiceError::Unauthorized("invalid subject"))?,
        ),
        session_id: SessionId(claims.sid),
        expires_at: DateTime::from_timestamp(claims.exp, 0)
            .ok_or(ServiceError::Unauthorized("invalid expiry"))?,
    })
}

/// Resolves an access token to its caller: [`verify`], and a live session, checked in
/// one indexed query.
pub fn authenticate(services: &Services, token: &str) -> Result<Principal, ServiceError> {
    caller(services, verify(services, token)?)
}

/// The caller of a verified token, if its session is live.
pub fn caller(services: &Services, credential: Credential) -> Result<Principal, ServiceError> {
    let mut conn = services.conn()?;
    let user = sessions::active_user(&mut conn, credential.session_id, credential.user, now())?
        .ok_or(SESSION_ENDED)?;
    Ok(credential.principal(user))
}

/// [`caller`] for many verified tokens at once, in one statement however many there are
/// (so that concurrent requests can share it): `answers[i]` for `credentials[i]`.
pub fn callers(
    services: &Services,
    credentials: &[Credential],
) -> Vec<Result<Principal, ServiceError>> {
    let asked: Vec<(SessionId, UserId)> = credentials
        .iter()
        .map(|credential| (credential.session_id, credential.user))
        .collect();
    services.each(
        credentials,
        |conn| sessions::active_users(conn, &asked, now()),
        |credential, user| Ok(credential.principal(user.ok_or(SESSION_ENDED)?)),
    )
}

/// Accounts whose username equals `username`, case-insensitively.
pub fn find_users(services: &Services, username: &str) -> Result<Vec<UserSummary>, ServiceError> {
    let mut conn = services.conn()?;
    Ok(users::search_by_username(&mut conn, username)?
        .into_iter()
        .map(|(id, username)| UserSummary { id, username })
        .collect())
}

/// Which of `sessions` have ended (revoked, expired or gone): what a live listener that
/// was away, or not listening, re-checks, since a logout announced meanwhile never
/// reached it.
pub fn ended_sessions(
    services: &Services,
    sessions: &[SessionId],
) -> Result<Vec<SessionId>, ServiceError> {
    let mut conn = services.conn()?;
    Ok(sessions::ended_among(&mut conn, sessions, now())?)
}
