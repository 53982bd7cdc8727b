//! Conflict detection must cost the same whatever the size of the calendar (DESIGN.md,
//! "Conflict detection: correct, race-free, O(log n)").
//!
//! Two calendars, each in its own fresh PostgreSQL database: one owner with 1,000 events
//! and one owner with 1,000,000, bulk-loaded in one statement each. Event `g` (1-based)
//! runs from `2000-01-01 00:00 + g hours` for 30 minutes, so every hour has a free
//! half-hour. Near the middle of each calendar this times, through the service layer:
//!
//! - `events::conflicts` for a range inside one event (exactly one conflict);
//! - `events::conflicts` for a free half-hour (no conflict; it touches both neighbours);
//! - `events::create` of an event filling a free half-hour (a different one each time);
//! - `events::create` of a weekly series of 104 occurrences, each in a free half-hour
//!   (deleted again, untimed, so that the next iteration finds the same calendar; the
//!   dead rows are vacuumed every 20 series, untimed).
//!
//! Iterations alternate between the two calendars (swapping which goes first), so load
//! from elsewhere on the machine hits both alike. Each operation passes when the median
//! on 1,000,000 events is less than 1.5 times the median on 1,000; the process exits
//! non-zero otherwise.
//!
//! Run with `cargo bench -p convene-bench`; `BENCH_DATABASE_URL` names the server
//! (default `postgres://postgres@127.0.0.1:5432/test`).

use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use convene_bench::{print_ratios, ScratchDb, SizeRow, Summary, ITERATIONS, WARMUP};
use convene_domain::account::{RegistrationInput, User};
use convene_domain::event::EventInput;
use convene_domain::schedule::TimeRange;
use convene_service::occurrences::RecurrenceLimits;
use convene_service::{auth, events, Services};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

type BenchResult<T> = Result<T, Box<dyn Error>>;

const SIZES: [i64; 2] = [1_000, 1_000_000];
/// How many series are created and deleted between two `VACUUM occurrences`.
const SERIES_PER_VACUUM: usize = 20;

/// One owner's calendar in its own database.
struct Calendar {
    // Dropped in declaration order: the pool closes before the database is dropped.
    services: Services,
    owner: User,
    size: i64,
    /// Series created and deleted again so far (see [`time_series`]).
    series_deleted: std::cell::Cell<usize>,
    db: ScratchDb,
}

impl Calendar {
    /// The first event whose neighbourhood the measurements use: the slots they touch
    /// (one per warm-up and measured iteration) are centred on the calendar's middle.
    fn first_slot(&self) -> i64 {
        self.size / 2 - (WARMUP + ITERATIONS) as i64 / 2
    }
}

/// The start of bulk-loaded event `g`.
fn start_of(g: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + chrono::Duration::hours(g)
}

fn minutes(m: i64) -> chrono::Duration {
    chrono::Duration::minutes(m)
}

/// A fresh database holding one owner with `size` non-overlapping events.
fn calendar(admin_url: &str, size: i64) -> BenchResult<Calendar> {
    let scratch = ScratchDb::create(admin_url)?;
    let services = convene_bench::services(scratch.url(), 2)?
        // The calendars reach decades ahead: check series through all of it.
        .with_recurrence(RecurrenceLimits {
            horizon: chrono::Duration::days(200 * 365),
            ..RecurrenceLimits::default()
        });
    let owner = auth::register(
        &services,
        RegistrationInput {
            username: Some(format!("bench_{size}")),
            email: Some(format!("bench_{size}@example.com")),
            password: Some("benchmark-password".into()),
        },
    )?;

    let started = Instant::now();
    let mut conn = PgConnection::establish(scratch.url())?;
    // One statement per table; each event also gets its version-1 snapshot, as events
    // created through the service have.
    conn.batch_execute(&format!(
        "INSERT INTO events (owner_id, title, description, start_time, end_time, version,
                             created_at, updated_at, series_end)
         SELECT {owner}, 'e' || g, '', t.ts, t.ts + interval '30 minutes', 1, now(), now(),
                t.ts + interval '30 minutes'
         FROM generate_series(1, {size}) g,
              LATERAL (SELECT timestamp '2000-01-01' + g * interval '1 hour' AS ts) t;
         INSERT INTO occurrences (event_id, recurrence_id, owner_id, start_time, end_time)
         SELECT id, start_time, owner_id, start_time, end_time
         FROM events WHERE owner_id = {owner};
         INSERT INTO event_versions (event_id, version, title, description, start_time,
                                     end_time, location, change, changed_by, changed_at)
         SELECT id, 1, title, description, start_time, end_time, location, 'created',
                owner_id, created_at
         FROM events WHERE owner_id = {owner};",
        owner = owner.id.0,
    ))?;
    conn.batch_execute("VACUUM (ANALYZE) events, event_versions, occurrences;")?;
    println!(
        "  {size:>9} events loaded into {} in {:.1} s",
        scratch.name(),
        started.elapsed().as_secs_f64()
    );
    Ok(Calendar {
        services,
        owner,
        size,
        series_deleted: std::cell::Cell::new(0),
        db: scratch,
    })
}

/// Runs `op` on both calendars, alternating, and returns the measured timings of each
/// (warm-up iterations discarded). `op` gets the calendar and the slot to use and
/// returns how long the timed call took, after checking its result.
fn measure(
    calendars: &[Calendar; 2],
    mut op: impl FnMut(&Calendar, i64) -> BenchResult<Duration>,
) -> BenchResult<[Vec<Duration>; 2]> {
    let mut samples = [
        Vec::with_capacity(ITERATIONS),
        Vec::with_capacity(ITERATIONS),
    ];
    for k in 0..WARMUP + ITERATIONS {
        let order = if k % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let calendar = &calendars[i];
            let elapsed = op(calendar, calendar.first_slot() + k as i64)?;
            if k >= WARMUP {
                samples[i].push(elapsed);
            }
        }
    }
    Ok(samples)
}

/// Times the read-only conflict check of `range`, expecting `expected` conflicts
/// starting at `expected_start`.
fn time_conflicts(
    calendar: &Calendar,
    range: TimeRange,
    expected: Option<DateTime<Utc>>,
) -> BenchResult<Duration> {
    let started = Instant::now();
    let found = events::conflicts(&calendar.services, calendar.owner.id, &range)?;
    let elapsed = started.elapsed();
    let starts: Vec<DateTime<Utc>> = found.listed.iter().map(|c| c.start_time).collect();
    if found.total != starts.len() {
        return Err(format!(
            "{} events: total {} for {starts:?}",
            calendar.size, found.total
        )
        .into());
    }
    if starts != Vec::from_iter(expected) {
        return Err(format!(
            "{} events: conflicts of {range:?} were {starts:?}, expected {expected:?}",
            calendar.size
        )
        .into());
    }
    Ok(elapsed)
}

/// Times creating an event filling the free half-hour after event `g`.
fn time_create(calendar: &Calendar, g: i64) -> BenchResult<Duration> {
    let input = EventInput {
        title: Some(format!("bench {g}")),
        start_time: Some((start_of(g) + minutes(30)).to_rfc3339()),
        end_time: Some((start_of(g) + minutes(60)).to_rfc3339()),
        ..EventInput::default()
    };
    let started = Instant::now();
    let created = events::create(&calendar.services, &calendar.owner, input);
    let elapsed = started.elapsed();
    created.map_err(|e| format!("{} events: creating after event {g}: {e:?}", calendar.size))?;
    Ok(elapsed)
}

/// Times creating a weekly series of 104 half-hour occurrences in the free half-hours
/// from the one after event `g`, then deletes it (untimed).
fn time_series(calendar: &Calendar, g: i64) -> BenchResult<Duration> {
    let input = EventInput {
        title: Some(format!("series {g}")),
        start_time: Some((start_of(g) + minutes(30)).to_rfc3339()),
        end_time: Some((start_of(g) + minutes(60)).to_rfc3339()),
        recurrence: Some("FREQ=WEEKLY;COUNT=104".into()),
        ..EventInput::default()
    };
    let started = Instant::now();
    let created = events::create(&calendar.services, &calendar.owner, input);
    let elapsed = started.elapsed();
    let created =
        created.map_err(|e| format!("{} events: series after event {g}: {e:?}", calendar.size))?;
    events::delete(&calendar.services, &calendar.owner, created.event.id, None)?;
    // Vacuum the deleted occurrences away now and then, as autovacuum would: otherwise
    // thousands of dead index entries pile up where the next series goes — on the small
    // calendar autovacuum clears them (its threshold is 50 + 20 % of the rows), on the
    // large one it never does (200,000), and the benchmark would time dead rows.
    let deleted = calendar.series_deleted.get() + 1;
    calendar.series_deleted.set(deleted);
    if deleted.is_multiple_of(SERIES_PER_VACUUM) {
        PgConnection::establish(calendar.db.url())?.batch_execute("VACUUM occurrences")?;
    }
    Ok(elapsed)
}

fn run(admin_url: &str) -> BenchResult<bool> {
    println!("Convene conflict-detection benchmark (PostgreSQL, release build)");
    println!("server: {admin_url}");
    let [small, large] = SIZES;
    let calendars = [calendar(admin_url, small)?, calendar(admin_url, large)?];
    println!(
        "{ITERATIONS} measured iterations per operation and size, after {WARMUP} warm-up; \
         sizes interleaved"
    );

    let mut rows = Vec::new();
    let mut row = |name, [s, l]: [Vec<Duration>; 2]| -> BenchResult<()> {
        rows.push(SizeRow {
            name,
            small: Summary::of(&s).ok_or("no samples")?,
            large: Summary::of(&l).ok_or("no samples")?,
        });
        Ok(())
    };
    // Reads first: the creates then fill the free half-hours the second check uses.
    row(
        "conflicts, overlaps one",
        measure(&calendars, |c, g| {
            let range = TimeRange::new(start_of(g) + minutes(10), start_of(g) + minutes(20))?;
            time_conflicts(c, range, Some(start_of(g)))
        })?,
    )?;
    row(
        "conflicts, overlaps none",
        measure(&calendars, |c, g| {
            let range = TimeRange::new(start_of(g) + minutes(30), start_of(g) + minutes(60))?;
            time_conflicts(c, range, None)
        })?,
    )?;
    row(
        "create, weekly series x104",
        measure(&calendars, time_series)?,
    )?;
    row("create, free slot", measure(&calendars, time_create)?)?;
    drop(calendars);

    let passed = print_ratios("operation (µs)", ["1k", "1M"], &rows);
    Ok(passed)
}

fn main() -> ExitCode {
    convene_bench::bench_main("conflicts", run)
}
