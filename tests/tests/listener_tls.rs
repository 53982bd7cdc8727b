//! PostgreSQL over TLS with certificate checks (hardening finding 7): the live listener
//! honours libpq's `sslmode=verify-ca`/`verify-full` and `sslrootcert`, as the pool does.
//! The local server's certificate is Debian's snakeoil one, issued to `localhost`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_live::target::{Target, Verify};
use convene_persistence::Backend as DbBackend;
use convene_tests::{app, backend_tests, id_of, slot, Backend, StatusCode, TestApp, TestDb};
use diesel::{Connection, RunQueryDsl};
use futures_util::StreamExt;
use serde_json::Value;

backend_tests!(; postgres_only:
    the_listener_connects_with_verify_full,
    the_listener_refuses_a_certificate_it_cannot_trust,
);

/// The certificate the local PostgreSQL presents (`ssl_cert_file`), self-signed.
const SERVER_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn postgres_url(app_db: &TestDb) -> &str {
    let TestDb::Postgres { url, .. } = app_db else {
        panic!("a PostgreSQL-only test got another database");
    };
    url
}

/// `url` (on 127.0.0.1, no query) addressed to `host`, with `query`.
fn tls_url(url: &str, host: &str, query: &str) -> String {
    assert!(url.contains("@127.0.0.1:") && !url.contains('?'), "{url}");
    format!(
        "{}?{query}",
        url.replacen("@127.0.0.1:", &format!("@{host}:"), 1)
    )
}

/// Whether the listener's connection to the database `name` is encrypted.
fn listener_uses_tls(app: &TestApp) -> Vec<bool> {
    let TestDb::Postgres {
        admin_url, name, ..
    } = &app.db
    else {
        unreachable!()
    };
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
    diesel::sql_query(format!(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = '{name}' AND a.application_name = 'convene-listener'"
    ))
    .load::<Row>(&mut admin)
    .unwrap()
    .into_iter()
    .map(|r| r.ssl)
    .collect()
}

/// The whole service on `sslmode=verify-full`: pool and listener connect, and a change
/// is pushed through the (encrypted) listener.
async fn the_listener_connects_with_verify_full(backend: Backend) {
    assert!(std::path::Path::new(SERVER_CERT).exists(), "{SERVER_CERT}");
    let app = app!(backend, |s| {
        let DbBackend::Postgres(url) = &s.database.database_url else {
            panic!("PostgreSQL only");
        };
        let url = tls_url(
            url,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={SERVER_CERT}"),
        );
        s.database.database_url = DbBackend::Postgres(url);
    });
    let (_, alice) = app.user("tlsalice").await;
    let (bob, bob_token) = app.user("tlsbob").await;
    let ws = format!(
        "{}/ws/notifications?token={bob_token}",
        app.address.replacen("http://", "ws://", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
    let event = app
        .create_event(&alice, "Encrypted", &slot(9), &slot(10))
        .await;
    app.share(&alice, id_of(&event), bob, "viewer").await;
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .expect("a notification within 10 s")
        .unwrap()
        .unwrap();
    let doc: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert_eq!(doc["type"], "event_shared");
    assert_eq!(listener_uses_tls(&app), vec![true]);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
}

/// `Target` alone: verify-full fails on a host the certificate does not name,
/// verify-ca accepts it, and neither accepts a server signed by an untrusted root.
async fn the_listener_refuses_a_certificate_it_cannot_trust(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let url = postgres_url(&db);
    let other_root = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(other_root.path(), self_signed_pem()).unwrap();
    let other = other_root.path().display().to_string();
    let cases = [
        ("localhost", "verify-full", SERVER_CERT, true),
        ("127.0.0.1", "verify-ca", SERVER_CERT, true),
        ("127.0.0.1", "verify-full", SERVER_CERT, false),
        ("localhost", "verify-full", other.as_str(), false),
        ("localhost", "verify-ca", other.as_str(), false),
    ];
    for (host, mode, root, accepted) in cases {
        let target = Target::from_url(&tls_url(
            url,
            host,
            &format!("sslmode={mode}&sslrootcert={root}"),
        ))
        .unwrap();
        assert_ne!(target.verify(), Verify::Nothing);
        let connected = target
            .config("tls-probe")
            .connect(target.tls().unwrap())
            .await;
        match connected {
            Ok((client, connection)) => {
                assert!(accepted, "{host} {mode} {root} should be refused");
                let driver = tokio::spawn(connection);
                client.simple_query("SELECT 1").await.unwrap();
                drop(client);
                driver.await.unwrap().unwrap();
            }
            Err(e) => assert!(!accepted, "{host} {mode} {root}: {e}"),
        }
    }
}

/// A fresh self-signed certificate in PEM: a root the server's certificate does not
/// chain to.
fn self_signed_pem() -> Vec<u8> {
    use openssl::{asn1::Asn1Time, ec, hash::MessageDigest, nid::Nid, pkey::PKey, x509};
    let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut cert = x509::X509Builder::new().unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    cert.build().to_pem().unwrap()
}
