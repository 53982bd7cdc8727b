//! Prometheus metrics at `GET /metrics`: requests by route and status with their
//! latency, the database pool, open WebSockets, notifications pushed and dropped, and
//! the live listener's reconnections. Each application has its own registry.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use convene_live::Hub;
use convene_service::Services;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The route label of requests that matched no route (bounded, whatever the path).
const UNMATCHED: &str = "unmatched";
/// The method label of a method outside RFC 9110's (bounded, whatever the client sends).
const OTHER_METHOD: &str = "OTHER";

/// The method label: RFC 9110's methods by name, any other as [`OTHER_METHOD`], so that
/// a client inventing methods cannot grow the label set (and memory) without bound.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or(OTHER_METHOD)
}
/// Latency buckets, in seconds: from a cached read to a slow batch.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The application's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    websockets: IntGauge,
    pushed: IntCounter,
    dropped: IntCounter,
    reconnects: IntCounter,
    polling: IntGauge,
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("convene".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by route and status",
            )
            .buckets(BUCKETS.to_vec()),
            &["method", "route", "status"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections in use, idle, and requests waiting for one",
            ),
            &["state"],
        )?;
        let websockets = IntGauge::new("websockets_open", "Open WebSocket connections")?;
        let pushed = IntCounter::new(
            "notifications_pushed_total",
            "Notifications queued to a live connection",
        )?;
        let dropped = IntCounter::new(
            "notifications_dropped_total",
            "Notifications not pushed because the connection fell behind (it is closed, 1013)",
        )?;
        let reconnects = IntCounter::new(
            "live_listener_reconnects_total",
            "Times the PostgreSQL live listener lost its connection and reconnected",
        )?;
        let polling = IntGauge::new(
            "live_listener_polling",
            "1 while the PostgreSQL live listener reads the feed on a timer (writes are frequent), 0 while it waits to be woken",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        registry.register(Box::new(websockets.clone()))?;
        registry.register(Box::new(pushed.clone()))?;
        registry.register(Box::new(dropped.clone()))?;
        registry.register(Box::new(reconnects.clone()))?;
        registry.register(Box::new(polling.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
            websockets,
            pushed,
            dropped,
            reconnects,
            polling,
        })
    }

    fn observe(&self, method: &str, route: &str, status: &str, seconds: f64) {
        let labels = [method, route, status];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition, with the gauges and counters kept elsewhere read now.
    fn render(&self, services: &Services, hub: &Hub) -> Result<String, String> {
        let pool = services.pool_stats();
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(pool.in_use));
        self.pool
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        self.pool
            .with_label_values(&["waiting"])
            .set(i64::try_from(pool.waiting).unwrap_or(i64::MAX));
        let live = hub.stats();
        self.websockets
            .set(i64::try_from(live.open).unwrap_or(i64::MAX));
        self.polling.set(i64::from(live.listener_polling));
        // The hub's counts only grow: bring each counter up to them.
        for (counter, total) in [
            (&self.pushed, live.pushed),
            (&self.dropped, live.dropped),
            (&self.reconnects, live.listener_reconnects),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

/// Middleware counting and timing every request by method, route pattern and status.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = res.request().match_pattern();
        metrics.observe(
            method_label(res.request().method()),
            route.as_deref().unwrap_or(UNMATCHED),
            res.status().as_str(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// Prometheus metrics (text exposition format 0.0.4).
///
/// `convene_http_requests_total` and `convene_http_request_duration_seconds` (by `method`,
/// `route` pattern and `status`), `convene_db_pool_connections` (`state`: `in_use`,
/// `idle`, `waiting`), `convene_websockets_open`, `convene_notifications_pushed_total`,
/// `convene_notifications_dropped_total`, `convene_live_listener_reconnects_total`,
/// `convene_live_listener_polling` (1 while the listener reads on a timer). Per
/// instance; unauthenticated, like the health checks: expose it to the scraper only.
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "health",
    responses((status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics(
    metrics: web::Data<Metrics>,
    services: web::Data<Services>,
    hub: web::Data<Hub>,
) -> HttpResponse {
    match metrics.render(&services, &hub) {
        Ok(text) => HttpResponse::Ok()
            .content_type(TextEncoder::new().format_type())
            .body(text),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}
