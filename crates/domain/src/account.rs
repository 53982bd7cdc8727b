//! Account rules: what a valid username, email and password are.

use chrono::{DateTime, Utc};

use crate::ids::UserId;
use crate::validation::{check_text, FieldError};

/// A registered account as the rest of the system sees it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// Username as registered (unique case-insensitively).
    pub username: String,
    /// Email as registered (unique case-insensitively).
    pub email: String,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// Shortest and longest username, in characters.
pub const USERNAME_LEN: (usize, usize) = (3, 50);
/// Shortest and longest password, in bytes (bcrypt reads at most 72 bytes; longer
/// passwords are refused rather than silently truncated).
pub const PASSWORD_BYTES: (usize, usize) = (8, 72);
/// Longest email address, in characters.
pub const EMAIL_MAX_LEN: usize = 254;

/// The validated input of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Username as typed (uniqueness is case-insensitive).
    pub username: String,
    /// Email as typed, trimmed (uniqueness is case-insensitive).
    pub email: String,
    /// The plain password, to be hashed by the caller.
    pub password: String,
}

/// Raw registration fields as they arrived; `None` when absent.
#[derive(Debug, Clone, Default)]
pub struct RegistrationInput {
    /// Requested username.
    pub username: Option<String>,
    /// Requested email.
    pub email: Option<String>,
    /// Requested password.
    pub password: Option<String>,
}

impl Registration {
    /// Validates every field and reports every problem at once.
    pub fn parse(input: RegistrationInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let username = match input.username {
            Some(u) => {
                check_username(&mut errors, &u);
                u
            }
            None => {
                errors.push(FieldError::new("username", "is required"));
                String::new()
            }
        };
        let email = match input.email {
            Some(e) => {
                let e = e.trim().to_owned();
                check_email(&mut errors, &e);
                e
            }
            None => {
                errors.push(FieldError::new("email", "is required"));
                String::new()
            }
        };
        let password = match input.password {
            Some(p) => {
                check_password(&mut errors, &p);
                p
            }
            None => {
                errors.push(FieldError::new("password", "is required"));
                String::new()
            }
        };
        if errors.is_empty() {
            Ok(Self {
                username,
                email,
                password,
            })
        } else {
            Err(errors)
        }
    }
}

fn check_username(errors: &mut Vec<FieldError>, username: &str) {
    let before = errors.len();
    check_text(errors, "username", username, USERNAME_LEN.0, USERNAME_LEN.1);
    if errors.len() == before
        && !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        errors.push(FieldError::new(
            "username",
            "may contain only letters, digits, '_', '.' and '-'",
        ));
    }
}

fn check_email(errors: &mut Vec<FieldError>, email: &str) {
    if email.chars().count() > EMAIL_MAX_LEN {
        errors.push(FieldError::new(
            "email",
            format!("must be at most {EMAIL_MAX_LEN} characters"),
        ));
    } else if !email_address::EmailAddress::is_valid(email) || !email.contains('@') {
        errors.push(FieldError::new("email", "is not a valid email address"));
    }
}

fn check_password(errors: &mut Vec<FieldError>, password: &str) {
    let len = password.len();
    if len < PASSWORD_BYTES.0 {
        errors.push(FieldError::new(
            "password",
            format!("must be at least {} bytes", PASSWORD_BYTES.0),
        ));
    } else if len > PASSWORD_BYTES.1 {
        errors.push(FieldError::new(
            "password",
            format!(
                "must be at most {} bytes (longer passwords would be silently truncated)",
                PASSWORD_BYTES.1
            ),
        ));
    }
}

/// Whether a login name is an email address rather than a username: usernames
/// cannot contain `@`.
pub fn is_email_login(login: &str) -> bool {
    login.contains('@')
}

/// What makes two emails the same account: the email in lower case, by Unicode's rules
/// (`Ädam@x.com` and `ädam@X.com` are one), so both databases compare alike.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(u: &str, e: &str, p: &str) -> RegistrationInput {
        RegistrationInput {
            username: Some(u.into()),
            email: Some(e.into()),
            password: Some(p.into()),
        }
    }

    fn fields(r: Result<Registration, Vec<FieldError>>) -> Vec<String> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn accepts_valid_registration() {
        let r = Registration::parse(input("al.ice-_9", " alice@example.com ", "password"));
        assert_eq!(
            r,
            Ok(Registration {
                username: "al.ice-_9".into(),
                email: "alice@example.com".into(),
                password: "password".into()
            })
        );
    }

    #[test]
    fn username_length_bounds() {
        assert_eq!(
            fields(Registration::parse(input("ab", "a@b.co", "password"))),
            ["username"]
        );
        assert!(Registration::parse(input("abc", "a@b.co", "password")).is_ok());
        assert!(Registration::parse(input(&"a".repeat(50), "a@b.co", "password")).is_ok());
        assert_eq!(
            fields(Registration::parse(input(
                &"a".repeat(51),
                "a@b.co",
                "password"
            ))),
            ["username"]
        );
    }

    #[test]
    fn username_charset() {
        for bad in ["al ice", "al@ice", "älice", "al/ice"] {
            assert_eq!(
                fields(Registration::parse(input(bad, "a@b.co", "password"))),
                ["username"],
                "{bad}"
            );
        }
    }

    #[test]
    fn email_must_be_valid() {
        for bad in ["", "plain", "a@", "@b.co", "a b@c.co"] {
            assert_eq!(
                fields(Registration::parse(input("alice", bad, "password"))),
                ["email"],
                "{bad}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            fields(Registration::parse(input("alice", &long, "password"))),
            ["email"]
        );
    }

    #[test]
    fn password_bounds_are_bytes() {
        assert_eq!(
            fields(Registration::parse(input("alice", "a@b.co", "short12"))),
            ["password"]
        );
        assert!(Registration::parse(input("alice", "a@b.co", &"p".repeat(72))).is_ok());
        assert_eq!(
            fields(Registration::parse(input(
                "alice",
                "a@b.co",
                &"p".repeat(73)
            ))),
            ["password"]
        );
        // 25 three-byte characters are 75 bytes: too long even though only 25 chars.
        assert_eq!(
            fields(Registration::parse(input(
                "alice",
                "a@b.co",
                &"€".repeat(25)
            ))),
            ["password"]
        );
    }

    #[test]
    fn reports_every_problem_at_once() {
        let r = Registration::parse(RegistrationInput::default());
        assert_eq!(fields(r), ["username", "email", "password"]);
        assert_eq!(
            fields(Registration::parse(input("a", "x", "y"))),
            ["username", "email", "password"]
        );
    }

    #[test]
    fn email_logins_are_recognised() {
        assert!(is_email_login("a@b.co"));
        assert!(!is_email_login("alice"));
    }
}
