//! The `convene` binary: subcommands, the committed OpenAPI document, and start-up
//! failing with one clear line naming the bad configuration key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn convene(args: &[&str], env: &[(&str, &str)]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_convene"));
    cmd.args(args).current_dir(dir.path()).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    // Never the default port: another process may hold it.
    cmd.env("BIND", "127.0.0.1:0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd.output().unwrap(), dir)
}

/// `convene openapi | head`: the reader goes away early; the command ends quietly.
#[test]
fn openapi_to_a_closed_pipe_exits_quietly() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_convene"))
        .arg("openapi")
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe is closed here, long before the document (over 64 KiB) is written.
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&first).starts_with('{'));
}

#[test]
fn committed_openapi_matches_the_generated_one() {
    let (out, _dir) = convene(&["openapi"], &[]);
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/openapi.json"
    ))
    .unwrap();
    assert!(
        generated == committed,
        "openapi/openapi.json is stale: run `cargo run -p convene-server -- openapi > openapi/openapi.json`"
    );
    let spec: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
}

#[test]
fn help_is_available_on_every_command() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["openapi", "--help"],
    ] {
        let (out, _dir) = convene(&args, &[]);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

/// `openapi` and `migrate` read only what they use: a bad server setting in the
/// environment does not stop them (it still stops `serve`).
#[test]
fn tools_ignore_server_settings() {
    let bad = [("BCRYPT_COST", "99"), ("AUTH_RATE_LIMIT_PER_MINUTE", "x")];
    let (out, _dir) = convene(&["openapi"], &bad);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with('{'));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/convene.db", dir.path().display());
    let mut env = bad.to_vec();
    env.push(("DATABASE_URL", &url));
    let (out, _dir) = convene(&["migrate"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (out, _dir) = convene(&[], &bad);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn migrate_applies_the_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db/convene.db", dir.path().display());
    let (first, _d) = convene(&["migrate"], &[("DATABASE_URL", &url)]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(dir.path().join("db/convene.db").exists());
    let (second, _d) = convene(&["migrate"], &[("DATABASE_URL", &url)]);
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/sqlite"
    ))
    .unwrap()
    .count();
    assert!(migrations >= 5);
    assert!(
        String::from_utf8_lossy(&first.stderr)
            .contains(&format!("{migrations} migration(s) applied")),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("0 migration(s) applied"));
}

/// Every invalid setting stops start-up with exactly one line that names the key.
#[test]
fn invalid_configuration_names_the_key() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("BCRYPT_COST", "99")], "BCRYPT_COST"),
        (&[("BCRYPT_COST", "abc")], "BCRYPT_COST"),
        (&[("ALGORITHM", "RS256")], "ALGORITHM"),
        (
            &[("ACCESS_TOKEN_EXPIRE_MINUTES", "0")],
            "ACCESS_TOKEN_EXPIRE_MINUTES",
        ),
        (
            &[("REFRESH_TOKEN_EXPIRE_DAYS", "-1")],
            "REFRESH_TOKEN_EXPIRE_DAYS",
        ),
        (&[("DATABASE_POOL_SIZE", "0")], "DATABASE_POOL_SIZE"),
        (
            &[("AUTH_RATE_LIMIT_PER_MINUTE", "lots")],
            "AUTH_RATE_LIMIT_PER_MINUTE",
        ),
        (&[("BIND", "not-an-address")], "BIND"),
        (&[("DATABASE_URL", "mysql://localhost/db")], "DATABASE_URL"),
        (&[("RUST_LOG", "[[[")], "RUST_LOG"),
        (&[("LOG_FORMAT", "xml")], "LOG_FORMAT"),
        (
            &[("RECURRENCE_HORIZON_DAYS", "0")],
            "RECURRENCE_HORIZON_DAYS",
        ),
        (&[("MAX_OCCURRENCES", "many")], "MAX_OCCURRENCES"),
        (&[("SECRET_KEY", "too-short")], "SECRET_KEY"),
        (
            &[
                (
                    "DATABASE_URL",
                    "postgres://127.0.0.1:1/x?sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
                ),
                ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ],
            "DATABASE_URL",
        ),
        (
            &[("DATABASE_URL", "postgres://127.0.0.1:1/nowhere")],
            "SECRET_KEY",
        ),
    ];
    for (env, key) in cases {
        let (out, _dir) = convene(&[], env);
        assert!(!out.status.success(), "{env:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{env:?}: {stderr}");
        assert!(lines[0].contains(key), "{env:?}: {stderr}");
    }
    // A key with a fixed set of values lists them on that line.
    let (out, _dir) = convene(&[], &[("ALGORITHM", "RS256")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HS256, HS384, HS512"), "{stderr}");
}

/// A configuration error is reported as such even when the listen port is taken:
/// every setting is checked before the address is bound.
#[test]
fn configuration_is_checked_before_the_port_is_bound() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    let (out, _dir) = convene(
        &[],
        &[
            ("BIND", &bind),
            (
                "DATABASE_URL",
                "postgres://127.0.0.1:1/x?sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
            ),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("BIND"), "{stderr}");
}

#[test]
fn unreachable_database_is_one_line_naming_database_url() {
    let secret = "s".repeat(40);
    let (out, _dir) = convene(
        &[],
        &[
            ("DATABASE_URL", "postgres://127.0.0.1:1/nowhere"),
            ("SECRET_KEY", &secret),
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("DATABASE_URL"), "{stderr}");
}

/// `RUST_LOG=` (set but empty) logs at the default level, not nothing.
#[test]
fn an_empty_rust_log_is_the_default_level() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_convene"))
        .current_dir(dir.path())
        .env_clear()
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "")
        .env("BCRYPT_COST", "4")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let found = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("convene listening"));
        let _ = tx.send(found);
    });
    let listening = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap_or(false);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(listening, "no start-up line at the default level");
}
