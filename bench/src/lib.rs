//! Helpers of Convene's benchmarks: latency statistics and scratch PostgreSQL databases.
//!
//! The benchmarks live in `benches/`; see the crate README for how to run them.

use std::time::Duration;

use convene_persistence::db::{self, Backend};
use convene_service::fanout::Fanout;
use convene_service::tokens::{JwtAlgorithm, TokenKeys};
use convene_service::{AuthSettings, Services};
use convene_tests::with_database;
use diesel::{Connection, PgConnection, RunQueryDsl};

/// The PostgreSQL server the benchmarks create their databases on, unless
/// `BENCH_DATABASE_URL` names another.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// A size benchmark passes when the median on the large data set is under this times the
/// median on the small one.
pub const MAX_RATIO: f64 = 1.5;
/// Warm-up and measured iterations of each operation per size in the size benchmarks.
pub const WARMUP: usize = 20;
/// See [`WARMUP`].
pub const ITERATIONS: usize = 200;

/// One operation of a size benchmark: its timings on the small and the large data set.
pub struct SizeRow {
    /// What was timed.
    pub name: &'static str,
    /// On the small data set.
    pub small: Summary,
    /// On the large data set.
    pub large: Summary,
}

/// Prints a size benchmark's table (medians, p95s, the ratio of the medians, large over
/// small, and whether it is under [`MAX_RATIO`]) and its verdict; returns whether every
/// ratio is under the bound. `sizes` names the two data sets (e.g. `["1k", "1M"]`).
pub fn print_ratios(title: &str, sizes: [&str; 2], rows: &[SizeRow]) -> bool {
    let [small, large] = sizes;
    println!();
    println!(
        "{title:<26} {:>12} {:>12} {:>12} {:>12} {:>8}  result",
        format!("{small} median"),
        format!("{small} p95"),
        format!("{large} median"),
        format!("{large} p95"),
        "ratio"
    );
    let mut passed = true;
    for r in rows {
        let ratio = r.large.median_us / r.small.median_us;
        let ok = ratio < MAX_RATIO;
        passed &= ok;
        println!(
            "{:<26} {:>12.1} {:>12.1} {:>12.1} {:>12.1} {:>8.3}  {}",
            r.name,
            r.small.median_us,
            r.small.p95_us,
            r.large.median_us,
            r.large.p95_us,
            ratio,
            if ok { "PASS" } else { "FAIL" }
        );
    }
    println!();
    if passed {
        println!("PASS: every ratio ({large} median / {small} median) is under {MAX_RATIO}");
    } else {
        println!("FAIL: a ratio ({large} median / {small} median) is {MAX_RATIO} or more");
    }
    passed
}

/// A benchmark's `main`: runs `run` with the PostgreSQL admin URL when `cargo bench`
/// invoked it (it passes `--bench`; `cargo test --benches` does not, and a debug build
/// loading a million rows is no smoke test); exits non-zero when a target was missed
/// (`Ok(false)`) or the run failed.
pub fn bench_main<E: std::fmt::Display>(
    name: &str,
    run: impl FnOnce(&str) -> Result<bool, E>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    if !std::env::args().any(|a| a == "--bench") {
        println!("{name}: run with `cargo bench -p convene-bench --bench {name}`; skipped");
        return ExitCode::SUCCESS;
    }
    let admin_url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.into());
    match run(&admin_url) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The use cases on the PostgreSQL database at `url`, wired as the server wires them
/// (changes NOTIFY inside their transaction), with a pool of `pool` connections.
pub fn services(url: &str, pool: u32) -> Result<Services, Box<dyn std::error::Error>> {
    let database = db::connect(&Backend::Postgres(url.to_owned()), pool)?;
    Ok(Services::new(
        database,
        AuthSettings {
            keys: TokenKeys::new(b"convene-bench-secret-0123456789", JwtAlgorithm::Hs256),
            access_ttl: chrono::Duration::minutes(30),
            refresh_ttl: chrono::Duration::days(14),
            bcrypt_cost: 4,
        },
        Fanout::Postgres,
    )?)
}

/// Median, 95th and 99th percentile of a set of timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The median, in microseconds.
    pub median_us: f64,
    /// The 95th percentile (nearest rank), in microseconds.
    pub p95_us: f64,
    /// The 99th percentile (nearest rank), in microseconds.
    pub p99_us: f64,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let n = us.len();
        let median_us = if n % 2 == 1 {
            us[n / 2]
        } else {
            (us[n / 2 - 1] + us[n / 2]) / 2.0
        };
        // Nearest rank: the smallest sample with at least p% of samples at or below it.
        let rank = |p: usize| us[(n * p).div_ceil(100).max(1) - 1];
        Some(Self {
            median_us,
            p95_us: rank(95),
            p99_us: rank(99),
        })
    }
}

/// A database created for one run on the server of an admin URL, dropped (`WITH
/// (FORCE)`, closing any connection still open) when this value is dropped.
#[derive(Debug)]
pub struct ScratchDb {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDb {
    /// Creates `convene_bench_<pid>_<random>` through `admin_url`.
    pub fn create(admin_url: &str) -> Result<Self, diesel::result::Error> {
        let name = format!(
            "convene_bench_{}_{:016x}",
            std::process::id(),
            rand::random::<u64>()
        );
        let mut admin = PgConnection::establish(admin_url).map_err(|e| {
            diesel::result::Error::QueryBuilderError(
                format!("cannot connect to {admin_url}: {e}").into(),
            )
        })?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        Ok(Self {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL that connects to it.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.admin_url)
            .map_err(|e| e.to_string())
            .and_then(|mut admin| {
                diesel::sql_query(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .execute(&mut admin)
                .map_err(|e| e.to_string())
            });
        if let Err(e) = dropped {
            eprintln!("warning: could not drop database {}: {e}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_micros(v)).collect()
    }

    #[test]
    fn median_and_p95() {
        assert_eq!(Summary::of(&[]), None);
        let one = Summary::of(&us(&[7])).unwrap();
        assert_eq!((one.median_us, one.p95_us), (7.0, 7.0));
        let odd = Summary::of(&us(&[5, 1, 3])).unwrap();
        assert_eq!((odd.median_us, odd.p95_us), (3.0, 5.0));
        let even = Summary::of(&us(&[4, 1, 3, 2])).unwrap();
        assert_eq!(even.median_us, 2.5);
        let hundred: Vec<u64> = (1..=100).rev().collect();
        let s = Summary::of(&us(&hundred)).unwrap();
        assert_eq!((s.median_us, s.p95_us, s.p99_us), (50.5, 95.0, 99.0));
    }
}
