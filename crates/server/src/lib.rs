//! Wiring of the `convene` binary: configuration → pool (migrated) → services → HTTP
//! server. Kept as a library so black-box tests can start the real application on a
//! random port.

pub mod config;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use convene_http::client::TrustedProxies;
use convene_http::negotiate::problem_responses;
use convene_http::ws::Heartbeat;
use convene_http::AuthRateLimit;
use convene_live::hub::Limits;
use convene_live::Hub;
use convene_persistence::db::{self, DbError};
use convene_persistence::Backend;
use convene_service::fanout::Fanout;
use convene_service::horizon;
use convene_service::occurrences::RecurrenceLimits;
use convene_service::retention::{self, Purged, Retention};
use convene_service::{AuthSettings, ServiceError, Services};
use tracing_actix_web::TracingLogger;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub use config::{ConfigError, DatabaseSettings, LogFormat, Settings};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A configuration value is invalid (the message names the key).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The database cannot be reached or migrated.
    #[error("DATABASE_URL: {0}")]
    Database(#[from] DbError),
    /// Setting up the services failed.
    #[error("{0}")]
    Service(#[from] ServiceError),
    /// The listen address cannot be bound.
    #[error("BIND: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The metrics registry cannot be set up (a bug).
    #[error("metrics: {0}")]
    Metrics(String),
}

/// A configured server bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    /// Tasks started with the server: the retention task, and with PostgreSQL the live
    /// listener.
    background: Vec<Task>,
    /// The live hub, told first when the server stops.
    hub: Arc<Hub>,
    /// How many migrations start-up applied.
    migrations_applied: usize,
}

/// What start-up derives from the settings before it touches the network.
struct Checked {
    secret: Vec<u8>,
    listener_target: Option<convene_live::target::Target>,
}

impl Checked {
    fn new(settings: &Settings) -> Result<Self, StartupError> {
        let secret = settings.resolve_secret()?;
        let listener_target = match &settings.database.database_url {
            Backend::Postgres(url) => Some(
                convene_live::target::Target::from_url(url)
                    .map_err(|e| ConfigError(format!("DATABASE_URL: {e}")))?,
            ),
            Backend::Sqlite(_) => None,
        };
        Ok(Self {
            secret,
            listener_target,
        })
    }
}

type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl Application {
    /// Connects (and migrates) the database and binds the listen address from `settings`.
    /// Every setting is checked before the address is bound, so that a configuration
    /// error is reported as such even when the port is taken.
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
        let checked = Checked::new(settings)?;
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            addr: settings.bind.to_string(),
            source,
        })?;
        Self::start(settings, checked, listener, Heartbeat::default())
    }

    /// Like [`Application::build`] on an already bound listener (tests bind port 0).
    pub fn build_with_listener(
        settings: &Settings,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        Self::build_with_heartbeat(settings, listener, Heartbeat::default())
    }

    /// Like [`Application::build_with_listener`] with another WebSocket heartbeat timing
    /// (tests shorten it; the contract's 30 s / 90 s is the default).
    pub fn build_with_heartbeat(
        settings: &Settings,
        listener: TcpListener,
        heartbeat: Heartbeat,
    ) -> Result<Self, StartupError> {
        Self::start(settings, Checked::new(settings)?, listener, heartbeat)
    }

    fn start(
        settings: &Settings,
        Checked {
            secret,
            listener_target,
        }: Checked,
        listener: TcpListener,
        heartbeat: Heartbeat,
    ) -> Result<Self, StartupError> {
        let backend = settings.database.database_url.clone();
        let database = db::connect(&backend, settings.database_pool_size)?.with_checkout_timeout(
            std::time::Duration::from_secs(settings.database_connect_timeout.into()),
        );
        let migrations_applied = database.migrations_applied();
        let hub = Arc::new(Hub::new(Limits {
            per_user: settings.ws_max_connections_per_user as usize,
            total: settings.ws_max_connections as usize,
        }));
        let fanout = match &backend {
            Backend::Postgres(_) => Fanout::Postgres,
            Backend::Sqlite(_) => Fanout::Local(hub.clone()),
        };
        let services = Services::new(
            database,
            AuthSettings {
                keys: convene_service::tokens::TokenKeys::new(&secret, settings.algorithm.into()),
                access_ttl: chrono::Duration::minutes(settings.access_token_expire_minutes.into()),
                refresh_ttl: chrono::Duration::days(settings.refresh_token_expire_days.into()),
                bcrypt_cost: settings.bcrypt_cost,
            },
            fanout,
        )?
        .with_max_grantees(settings.max_grantees_per_event as usize)
        .with_recurrence(RecurrenceLimits {
            horizon: chrono::Duration::days(settings.recurrence_horizon_days.into()),
            max_occurrences: settings.max_occurrences as usize,
        });
        let services = Arc::new(services);
        let mut background: Vec<Task> = vec![Box::pin(retention_task(
            services.clone(),
            Retention {
                read_notifications: chrono::Duration::days(
                    settings.notification_retention_days.into(),
                ),
                ended_sessions: chrono::Duration::days(settings.session_retention_days.into()),
            },
            std::time::Duration::from_secs(settings.retention_interval_seconds.into()),
        ))];
        background.push(Box::pin(horizon_task(services.clone(), HORIZON_INTERVAL)));
        if let Some(target) = listener_target {
            background.push(Box::pin(convene_live::listener::run(
                target,
                services.clone(),
                hub.clone(),
            )));
        }
        let services = web::Data::from(services);
        let hub_handle = hub.clone();
        let hub = web::Data::from(hub);
        let heartbeat = web::Data::new(heartbeat);
        let rate_limit = web::Data::new(AuthRateLimit::new(settings.auth_rate_limit_per_minute));
        let proxies = web::Data::new(TrustedProxies(settings.trusted_proxies.clone()));
        let metrics = web::Data::new(
            convene_http::metrics::Metrics::new()
                .map_err(|e| StartupError::Metrics(e.to_string()))?,
        );
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.bind.to_string(),
            source,
        })?;
        let (event_reads, session_checks) = convene_http::coalesced();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(services.clone())
                .app_data(event_reads.clone())
                .app_data(session_checks.clone())
                .app_data(hub.clone())
                .app_data(heartbeat.clone())
                .app_data(rate_limit.clone())
                .app_data(proxies.clone())
                .app_data(metrics.clone())
                .wrap(from_fn(problem_responses))
                .wrap(TracingLogger::<convene_http::telemetry::RequestSpans>::new())
                .wrap(from_fn(convene_http::metrics::record))
                .configure(convene_http::configure)
                .default_service(web::to(convene_http::not_found))
        })
        .shutdown_timeout(10)
        .disable_signals()
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: addr.to_string(),
            source,
        })?
        .run();
        Ok(Self {
            port: addr.port(),
            server,
            background,
            hub: hub_handle,
            migrations_applied,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many migrations start-up applied (0 when the schema was up to date).
    pub fn migrations_applied(&self) -> usize {
        self.migrations_applied
    }

    /// Serves until SIGTERM or Ctrl-C, then stops as [`Application::run_until`] does.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(stop_signal()).await
    }

    /// Serves until `stop` completes, then closes every WebSocket with 1001 ("going
    /// away") at once and stops gracefully: requests in flight complete, for at most
    /// 10 s. (Tests that must not take over the process's signals pass their own `stop`.)
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let background: Vec<_> = self.background.into_iter().map(tokio::spawn).collect();
        let handle = self.server.handle();
        let hub = self.hub;
        let stopper = tokio::spawn(async move {
            stop.await;
            tracing::info!("stopping: closing live connections, finishing requests");
            hub.shut_down();
            handle.stop(true).await;
        });
        let result = self.server.await;
        stopper.abort();
        for task in background {
            task.abort();
        }
        result
    }
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for stop signals; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Purges what `policy` no longer keeps, now and then every `every`, for as long as the
/// server runs. Every instance runs it; the deletes are idempotent.
async fn retention_task(services: Arc<Services>, policy: Retention, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let services = services.clone();
        let now = chrono::Utc::now();
        match tokio::task::spawn_blocking(move || retention::purge(&services, now, policy)).await {
            Ok(Ok(purged)) if purged != Purged::default() => {
                tracing::info!(?purged, "retention: purged");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "retention: purge failed; retrying later"),
            Err(e) => tracing::warn!(error = %e, "retention: task failed"),
        }
    }
}

/// How often each instance moves the recurrence horizon on (the contract asks for at
/// least daily; hourly keeps a restart or a failed run from costing a day).
const HORIZON_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Materialises the newly in-horizon occurrences of open-ended series, at start-up and
/// then every `every` (see `convene_service::horizon`).
async fn horizon_task(services: Arc<Services>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let services = services.clone();
        let now = chrono::Utc::now();
        match tokio::task::spawn_blocking(move || horizon::advance(&services, now)).await {
            Ok(Ok(done)) if done != horizon::Advanced::default() => {
                tracing::info!(?done, "horizon: advanced");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "horizon: run failed; retrying later"),
            Err(e) => tracing::warn!(error = %e, "horizon: task failed"),
        }
    }
}

/// Applies pending migrations to the configured database; returns how many ran.
pub fn migrate(settings: &DatabaseSettings) -> Result<usize, StartupError> {
    Ok(db::connect(&settings.database_url, 1)?.migrations_applied())
}

/// The log output of the server: one line per event and per finished request (its span,
/// with method, route, redacted path, client address, status and request id), filtered
/// by `RUST_LOG`, written to `writer` as text or, with [`LogFormat::Json`], one JSON
/// object per line (the event's fields at the top level). Text has colours only when
/// `ansi` (the binary passes whether stdout is a terminal).
pub fn log_subscriber<W>(
    filter: EnvFilter,
    writer: W,
    format: LogFormat,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        // A log line that cannot be written (the reader of stdout went away) is dropped:
        // reporting it on stderr would panic when stderr is gone too, and a panicking
        // task can stall shutdown.
        .log_internal_errors(false)
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .finish(),
        ),
    }
}
