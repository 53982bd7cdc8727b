//! Lists must not depend on other people's data (issue "Performance", goal 3).
//!
//! Two fresh PostgreSQL databases hold the same user, Alice, with 1,000 events of her own
//! (every tenth a weekly series of 52) and 1,000 events of others shared with her (as
//! editor and viewer, alternately), 1,000 notifications (half read) and a version per
//! event — beside 10,000 events of 1,000 other users in one database and 1,000,000 in the
//! other (each with its version, a notification of its owner and a grant to another
//! user). Ids follow the load order: the 1,000 events shared with Alice are the first. The rows are
//! bulk-loaded (conflict rules are not checked: no list reads them).
//!
//! Through the service layer, iterations alternating between the databases, this times:
//! `GET /api/events?limit=50` plain, with `from`/`to` (30 days), with `role=editor`, and
//! at a deep cursor (the 21st page); `GET /api/occurrences` over 30 days; the
//! notification inbox (page and unread count); an event's changelog. Each passes when
//! its median at 1,000,000 is less than 1.5 times its median at 10,000; the process exits
//! non-zero otherwise. Then it prints PostgreSQL's plans of the statements each list
//! ran on the large database (captured from Diesel, explained with the generic plans the
//! server uses).
//!
//! Run with `cargo bench -p convene-bench --bench lists`; `BENCH_DATABASE_URL` names the
//! server (default `postgres://postgres@127.0.0.1:5432/test`).

use std::error::Error;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use convene_bench::{print_ratios, ScratchDb, SizeRow, Summary, ITERATIONS, WARMUP};
use convene_domain::account::{RegistrationInput, User};
use convene_domain::event::EventFilter;
use convene_domain::ids::EventId;
use convene_domain::permission::Role;
use convene_domain::schedule::TimeRange;
use convene_service::occurrences::OccurrenceFilter;
use convene_service::{auth, events, history, notifications, occurrences, Services};
use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

type BenchResult<T> = Result<T, Box<dyn Error>>;

const OTHERS: [i64; 2] = [10_000, 1_000_000];
const LIMIT: u32 = 50;

/// Alice's calendar beside `others` events of other users.
struct Calendar {
    // Dropped in declaration order: the pool closes before the database is dropped.
    services: Services,
    alice: User,
    /// One of Alice's events, for the changelog.
    event: EventId,
    others: i64,
    db: ScratchDb,
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The 30 days the windowed lists read, in the middle of Alice's events.
fn window() -> BenchResult<TimeRange> {
    let from = base() + chrono::Duration::days(400);
    Ok(TimeRange::new(from, from + chrono::Duration::days(30))?)
}

fn calendar(admin_url: &str, others: i64) -> BenchResult<Calendar> {
    let db = ScratchDb::create(admin_url)?;
    let services = convene_bench::services(db.url(), 2)?;
    let alice = auth::register(
        &services,
        RegistrationInput {
            username: Some("alice".into()),
            email: Some("alice@example.com".into()),
            password: Some("benchmark-password".into()),
        },
    )?;
    let started = Instant::now();
    let mut conn = PgConnection::establish(db.url())?;
    conn.batch_execute(&format!(
        "INSERT INTO users (username, email, password_hash, created_at)
         SELECT 'other_' || g, 'other_' || g || '@example.com', 'x', now()
         FROM generate_series(1, 1000) g;
         -- Others' events: the first 1,000 are shared with Alice (in her part of the
         -- calendar), the rest spread over three years.
         INSERT INTO events (owner_id, title, description, start_time, end_time, version,
                             created_at, updated_at, series_start, series_end)
         SELECT o.owner, 'other ' || g, '', t.ts, t.ts + interval '1 hour', 1, now(), now(),
                t.ts, t.ts + interval '1 hour'
         FROM generate_series(1, {others}) g,
              LATERAL (SELECT {alice} + 1 + g % 1000 AS owner) o,
              LATERAL (SELECT CASE WHEN g <= 1000
                                   THEN timestamp '2000-01-01 13:00' + g * interval '1 day'
                                   ELSE timestamp '2000-01-01'
                                        + (g::bigint * 94608000 / {others}) * interval '1 second'
                              END AS ts) t;
         INSERT INTO event_permissions (event_id, user_id, role, granted_by, created_at,
                                        updated_at)
         SELECT id, {alice}, CASE WHEN id % 2 = 0 THEN 'editor' ELSE 'viewer' END, owner_id,
                now(), now()
         FROM events WHERE id <= 1000;
         -- Others share the rest among themselves: grants of other users, too.
         INSERT INTO event_permissions (event_id, user_id, role, granted_by, created_at,
                                        updated_at)
         SELECT id, {alice} + 1 + (owner_id - {alice}) % 1000, 'viewer', owner_id, now(), now()
         FROM events WHERE id > 1000;
         -- Alice's own: daily at 09:00, every tenth a weekly series of 52 at 07:00.
         INSERT INTO events (owner_id, title, description, start_time, end_time, version,
                             created_at, updated_at, recurrence, series_start, series_end)
         SELECT {alice}, 'own ' || k, '', t.ts, t.ts + interval '1 hour', 1, now(), now(),
                CASE WHEN k % 10 = 0 THEN 'FREQ=WEEKLY;COUNT=52' END, t.ts,
                t.ts + interval '1 hour'
                     + CASE WHEN k % 10 = 0 THEN interval '51 weeks' ELSE interval '0' END
         FROM generate_series(1, 1000) k,
              LATERAL (SELECT timestamp '2000-01-01' + k * interval '1 day'
                              + CASE WHEN k % 10 = 0 THEN interval '7 hours'
                                     ELSE interval '9 hours' END AS ts) t;
         INSERT INTO event_versions (event_id, version, title, description, start_time,
                                     end_time, location, change, changed_by, changed_at)
         SELECT id, 1, title, description, start_time, end_time, location, 'created',
                owner_id, created_at
         FROM events;
         INSERT INTO notifications (user_id, kind, event_id, actor_id, message, is_read,
                                    created_at)
         SELECT owner_id, 'event_updated', id, owner_id, 'changed', id % 2 = 0, now()
         FROM events;",
        alice = alice.id.0,
    ))?;
    conn.batch_execute("VACUUM (ANALYZE)")?;
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let event: Id = diesel::sql_query(format!(
        "SELECT id FROM events WHERE owner_id = {} ORDER BY id LIMIT 1 OFFSET 500",
        alice.id.0
    ))
    .get_result(&mut conn)?;
    println!(
        "  Alice beside {others:>9} events of others: loaded into {} in {:.1} s",
        db.name(),
        started.elapsed().as_secs_f64()
    );
    Ok(Calendar {
        services,
        alice,
        event: EventId(event.id),
        others,
        db,
    })
}

/// One list the benchmark reads.
#[derive(Clone, Copy)]
enum Op {
    Events,
    EventsWindow,
    EventsEditor,
    EventsDeep,
    Occurrences,
    Inbox,
    Changelog,
}

impl Op {
    const ALL: [Op; 7] = [
        Op::Events,
        Op::EventsWindow,
        Op::EventsEditor,
        Op::EventsDeep,
        Op::Occurrences,
        Op::Inbox,
        Op::Changelog,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Events => "events",
            Op::EventsWindow => "events, from/to 30 days",
            Op::EventsEditor => "events, role=editor",
            Op::EventsDeep => "events, 21st page",
            Op::Occurrences => "occurrences, 30 days",
            Op::Inbox => "notification inbox",
            Op::Changelog => "changelog",
        }
    }
}

/// Where the 21st page of Alice's events starts (read once, untimed).
fn deep_cursor(c: &Calendar) -> BenchResult<(DateTime<Utc>, EventId)> {
    let mut filter = EventFilter::default();
    for _ in 0..20 {
        let page = events::list(&c.services, &c.alice, &filter, LIMIT)?;
        filter.after = Some(page.next.ok_or("fewer than 21 pages")?);
    }
    filter.after.ok_or_else(|| "no cursor".into())
}

/// Runs `op` once on `c`; returns how many items it listed.
fn run_op(c: &Calendar, op: Op, deep: (DateTime<Utc>, EventId)) -> BenchResult<usize> {
    let window = window()?;
    let listed = match op {
        Op::Events | Op::EventsWindow | Op::EventsEditor | Op::EventsDeep => {
            let filter = match op {
                Op::EventsWindow => EventFilter {
                    ends_after: Some(window.start()),
                    starts_before: Some(window.end()),
                    ..EventFilter::default()
                },
                Op::EventsEditor => EventFilter {
                    role: Some(Role::Editor),
                    ..EventFilter::default()
                },
                Op::EventsDeep => EventFilter {
                    after: Some(deep),
                    ..EventFilter::default()
                },
                _ => EventFilter::default(),
            };
            events::list(&c.services, &c.alice, &filter, LIMIT)?
                .items
                .len()
        }
        Op::Occurrences => {
            let filter = OccurrenceFilter {
                window,
                event: None,
                role: None,
                after: None,
            };
            occurrences::list(&c.services, &c.alice, &filter, LIMIT)?
                .items
                .len()
        }
        Op::Inbox => notifications::list(&c.services, &c.alice, false, None, LIMIT)?
            .page
            .items
            .len(),
        Op::Changelog => history::changelog(&c.services, &c.alice, c.event, None, LIMIT)?
            .items
            .len(),
    };
    Ok(listed)
}

/// The statements Diesel starts while capturing is on (SQL and binds, as Diesel shows
/// them).
static CAPTURING: AtomicBool = AtomicBool::new(false);
static CAPTURED: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl Instrumentation for Capture {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            if CAPTURING.load(Ordering::Relaxed) {
                if let Ok(mut captured) = CAPTURED.lock() {
                    captured.push(query.to_string());
                }
            }
        }
    }
}

/// Splits Diesel's `[a, "b", Some(c), [1, 2]]` bind list into SQL literals (a nested
/// list becomes an array literal).
fn literals(binds: &str) -> Vec<String> {
    let binds = binds.trim();
    let inner = binds
        .strip_prefix('[')
        .and_then(|b| b.strip_suffix(']'))
        .unwrap_or(binds);
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut depth) = (false, 0);
    for ch in inner.chars() {
        match ch {
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out.into_iter()
        .map(|v| {
            let v = v.trim();
            let v = v
                .strip_prefix("Some(")
                .and_then(|v| v.strip_suffix(')'))
                .unwrap_or(v);
            if let Some(list) = v.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
                return format!("'{{{}}}'", list.replace(' ', ""));
            }
            let v = v.trim_matches('"');
            format!("'{}'", v.replace('\'', "''"))
        })
        .collect()
}

/// Prints PostgreSQL's generic plan of each statement `op` runs on `c`.
fn print_plans(c: &Calendar, op: Op, deep: (DateTime<Utc>, EventId)) -> BenchResult<()> {
    CAPTURED.lock().map_err(|_| "poisoned")?.clear();
    CAPTURING.store(true, Ordering::Relaxed);
    let ran = run_op(c, op, deep);
    CAPTURING.store(false, Ordering::Relaxed);
    ran?;
    let statements = std::mem::take(&mut *CAPTURED.lock().map_err(|_| "poisoned")?);
    let mut conn = PgConnection::establish(c.db.url())?;
    conn.batch_execute("SET plan_cache_mode = force_generic_plan")?;
    println!("\n== {} ==", op.name());
    for statement in statements {
        let Some((sql, binds)) = statement.split_once(" -- binds: ") else {
            continue;
        };
        if !sql.trim_start().starts_with("SELECT") {
            continue;
        }
        #[derive(QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
            line: String,
        }
        conn.batch_execute(&format!("PREPARE plan_of AS {sql}"))?;
        let args = literals(binds).join(", ");
        let execute = if args.is_empty() {
            "EXPLAIN EXECUTE plan_of".to_owned()
        } else {
            format!("EXPLAIN EXECUTE plan_of({args})")
        };
        let plan: Vec<Line> = diesel::sql_query(execute).load(&mut conn)?;
        conn.batch_execute("DEALLOCATE plan_of")?;
        let shown: String = sql.chars().take(110).collect();
        println!("{shown}…");
        for line in plan {
            println!("    {}", line.line);
        }
    }
    Ok(())
}

fn run(admin_url: &str) -> BenchResult<bool> {
    println!("Convene list benchmark (PostgreSQL, release build)");
    println!("server: {admin_url}");
    let calendars = [
        calendar(admin_url, OTHERS[0])?,
        calendar(admin_url, OTHERS[1])?,
    ];
    let deep = [deep_cursor(&calendars[0])?, deep_cursor(&calendars[1])?];
    println!(
        "{ITERATIONS} measured iterations per list and size, after {WARMUP} warm-up; \
         sizes interleaved"
    );
    let mut rows = Vec::new();
    for op in Op::ALL {
        let mut samples = [Vec::new(), Vec::new()];
        let mut listed = [0, 0];
        for k in 0..WARMUP + ITERATIONS {
            let order = if k % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let started = Instant::now();
                listed[i] = run_op(&calendars[i], op, deep[i])?;
                let elapsed: Duration = started.elapsed();
                if k >= WARMUP {
                    samples[i].push(elapsed);
                }
            }
        }
        if listed[0] != listed[1] || listed[0] == 0 {
            return Err(format!(
                "{}: listed {} at {} and {} at {}",
                op.name(),
                listed[0],
                calendars[0].others,
                listed[1],
                calendars[1].others
            )
            .into());
        }
        rows.push(SizeRow {
            name: op.name(),
            small: Summary::of(&samples[0]).ok_or("no samples")?,
            large: Summary::of(&samples[1]).ok_or("no samples")?,
        });
    }

    let passed = print_ratios("list (µs)", ["10k", "1M"], &rows);

    println!("\nPlans on the database with 1,000,000 events of others:");
    for op in Op::ALL {
        print_plans(&calendars[1], op, deep[1])?;
    }
    Ok(passed)
}

fn main() -> ExitCode {
    convene_bench::bench_main("lists", |admin_url| {
        diesel::connection::set_default_instrumentation(|| Some(Box::new(Capture)))
            .map_err(|e| format!("cannot instrument Diesel's connections: {e}"))?;
        run(admin_url).map_err(|e| e.to_string())
    })
}
