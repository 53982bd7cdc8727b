//! Configuration: environment variables (or a `.env` file), also settable as flags.
//! Parsing and range checks are clap's; an invalid value stops start-up with one line
//! naming the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use convene_persistence::Backend;
use convene_service::tokens::JwtAlgorithm;
use ipnet::IpNet;

/// Shortest accepted `SECRET_KEY`, in bytes (HMAC keys shorter than the hash are weak).
pub const MIN_SECRET_BYTES: usize = 32;

/// The JWT signing algorithm (`ALGORITHM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Algorithm {
    /// HMAC-SHA256.
    #[value(name = "HS256")]
    Hs256,
    /// HMAC-SHA384.
    #[value(name = "HS384")]
    Hs384,
    /// HMAC-SHA512.
    #[value(name = "HS512")]
    Hs512,
}

impl From<Algorithm> for JwtAlgorithm {
    fn from(a: Algorithm) -> Self {
        match a {
            Algorithm::Hs256 => Self::Hs256,
            Algorithm::Hs384 => Self::Hs384,
            Algorithm::Hs512 => Self::Hs512,
        }
    }
}

fn parse_database_url(url: &str) -> Result<Backend, String> {
    Backend::from_url(url)
}

/// The database setting, shared by `serve` and `migrate`.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (embedded, the default) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", value_name = "DATABASE_URL",
          default_value = "sqlite://data/convene.db", value_parser = parse_database_url)]
    pub database_url: Backend,
}

/// Everything `convene serve` reads.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// JWT signing secret (at least 32 bytes); required with PostgreSQL. With SQLite it
    /// is generated once and kept beside the database file (mode 0600).
    #[arg(
        long,
        env = "SECRET_KEY",
        value_name = "SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// JWT algorithm.
    #[arg(
        long,
        env = "ALGORITHM",
        value_name = "ALGORITHM",
        default_value = "HS256",
        ignore_case = true
    )]
    pub algorithm: Algorithm,
    /// Access token lifetime in minutes.
    #[arg(long, env = "ACCESS_TOKEN_EXPIRE_MINUTES", value_name = "ACCESS_TOKEN_EXPIRE_MINUTES",
          default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=525_600))]
    pub access_token_expire_minutes: u32,
    /// Refresh token lifetime in days.
    #[arg(long, env = "REFRESH_TOKEN_EXPIRE_DAYS", value_name = "REFRESH_TOKEN_EXPIRE_DAYS",
          default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub refresh_token_expire_days: u32,
    /// Listen address, `IP:PORT`.
    #[arg(
        long,
        env = "BIND",
        value_name = "BIND",
        default_value = "127.0.0.1:8000"
    )]
    pub bind: SocketAddr,
    /// Database connection pool size.
    #[arg(long, env = "DATABASE_POOL_SIZE", value_name = "DATABASE_POOL_SIZE",
          default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool_size: u32,
    /// bcrypt cost of new password hashes.
    #[arg(long, env = "BCRYPT_COST", value_name = "BCRYPT_COST",
          default_value_t = 12, value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,
    /// Register/login/refresh attempts per client IP per minute; 0 disables the limit.
    #[arg(
        long,
        env = "AUTH_RATE_LIMIT_PER_MINUTE",
        value_name = "AUTH_RATE_LIMIT_PER_MINUTE",
        default_value_t = 10
    )]
    pub auth_rate_limit_per_minute: u32,
    /// Reverse proxies (addresses or CIDR networks, comma-separated) whose
    /// `X-Forwarded-For`/`Forwarded` headers name the client; empty: those headers are
    /// ignored and the peer address is the client.
    #[arg(long, env = "TRUSTED_PROXIES", value_name = "TRUSTED_PROXIES",
          value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,
    /// Seconds a request waits for a database connection (beyond: 503). While the
    /// database is known to be unreachable, requests wait at most 0.25 s.
    #[arg(long, env = "DATABASE_CONNECT_TIMEOUT", value_name = "DATABASE_CONNECT_TIMEOUT",
          default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub database_connect_timeout: u32,
    /// Most users one event may be shared with, besides its owner (beyond: 422).
    #[arg(long, env = "MAX_GRANTEES_PER_EVENT", value_name = "MAX_GRANTEES_PER_EVENT",
          default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_grantees_per_event: u32,
    /// Days ahead that occurrences are materialised and conflict-checked.
    #[arg(long, env = "RECURRENCE_HORIZON_DAYS", value_name = "RECURRENCE_HORIZON_DAYS",
          default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=3_660))]
    pub recurrence_horizon_days: u32,
    /// Most occurrences of one series within the horizon (and most `COUNT`).
    #[arg(long, env = "MAX_OCCURRENCES", value_name = "MAX_OCCURRENCES",
          default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub max_occurrences: u32,
    /// Days read notifications are kept (0: purged at the next run).
    #[arg(long, env = "NOTIFICATION_RETENTION_DAYS", value_name = "NOTIFICATION_RETENTION_DAYS",
          default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub notification_retention_days: u32,
    /// Days ended sessions and expired refresh tokens are kept.
    #[arg(long, env = "SESSION_RETENTION_DAYS", value_name = "SESSION_RETENTION_DAYS",
          default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub session_retention_days: u32,
    /// Seconds between two runs of the retention task.
    #[arg(long, env = "RETENTION_INTERVAL_SECONDS", value_name = "RETENTION_INTERVAL_SECONDS",
          default_value_t = 3600, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub retention_interval_seconds: u32,
    /// Most open WebSocket connections of one user (beyond: 429).
    #[arg(long, env = "WS_MAX_CONNECTIONS_PER_USER", value_name = "WS_MAX_CONNECTIONS_PER_USER",
          default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ws_max_connections_per_user: u32,
    /// Most open WebSocket connections of this instance (beyond: 429).
    #[arg(long, env = "WS_MAX_CONNECTIONS", value_name = "WS_MAX_CONNECTIONS",
          default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub ws_max_connections: u32,
    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(
        long,
        env = "RUST_LOG",
        value_name = "RUST_LOG",
        default_value = "info"
    )]
    pub rust_log: String,
    /// Log line format: `text` (human-readable; colours only on a terminal) or `json`
    /// (one JSON object per line, for log shippers).
    #[arg(long, env = "LOG_FORMAT", value_name = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// An address (`10.0.0.1`, a network of one) or a CIDR network (`10.0.0.0/8`).
fn parse_network(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{raw:?} is not an IP address or CIDR network"))
}

/// A configuration problem: one line naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// The JWT secret: `SECRET_KEY`, or with SQLite the generated one kept beside the
    /// database file (created on first start, mode 0600).
    pub fn resolve_secret(&self) -> Result<Vec<u8>, ConfigError> {
        let secret = match (&self.secret_key, &self.database.database_url) {
            (Some(key), _) => key.clone().into_bytes(),
            (None, Backend::Postgres(_)) => {
                return Err(ConfigError(
                    "SECRET_KEY is required with PostgreSQL (at least 32 bytes)".into(),
                ))
            }
            (None, Backend::Sqlite(path)) => return secret_beside(path),
        };
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError(format!(
                "SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        Ok(secret)
    }
}

/// Where the generated secret of a SQLite database lives.
pub fn secret_path(database: &Path) -> PathBuf {
    database.with_extension("secret")
}

fn secret_beside(database: &Path) -> Result<Vec<u8>, ConfigError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let path = secret_path(database);
    // Where the secret goes follows from DATABASE_URL: a path it cannot take is that
    // key's problem (the user may not have heard of SECRET_KEY).
    let fail = |what: &str, e: std::io::Error| {
        ConfigError(format!(
            "DATABASE_URL: cannot {what} {}, the generated secret kept beside the database (or set SECRET_KEY): {e}",
            path.display()
        ))
    };
    let read = |path: &Path| match std::fs::read(path) {
        Ok(secret) if secret.len() >= MIN_SECRET_BYTES => {
            convene_persistence::db::warn_if_exposed(path);
            Ok(Some(secret))
        }
        Ok(_) => Err(ConfigError(format!(
            "SECRET_KEY: {} holds fewer than {MIN_SECRET_BYTES} bytes",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail("read", e)),
    };
    if let Some(secret) = read(&path)? {
        return Ok(secret);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail("create the directory of", e))?;
    }
    // Written whole under a name of its own, then linked into place: a process starting
    // at the same moment sees either no secret file or a complete one, never a part.
    let secret = convene_service::tokens::random_token(48).into_bytes();
    let tmp = path.with_extension(format!(
        "secret.{}.{}",
        std::process::id(),
        convene_service::tokens::random_token(6)
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| file.write_all(&secret).and_then(|()| file.sync_all()));
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, &path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(secret),
        // Another process won the race: its secret is complete, use it.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(&path)?.ok_or_else(|| fail("read", e))
        }
        Err(e) => Err(fail("create", e)),
    }
}
