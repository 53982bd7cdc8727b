//! Where and how the listener connects. The listener uses the pool's `DATABASE_URL`, but
//! through tokio-postgres, which understands only the `sslmode`s that do not check
//! certificates (`disable`, `prefer`, `require`). libpq's certificate-checking modes
//! (`verify-ca`, `verify-full`) and its `sslrootcert` are taken out of the URL here and
//! become an OpenSSL connector that checks the server as libpq would:
//!
//! - `sslrootcert=/path/root.crt`: only the certificates in that file are trusted;
//! - `sslrootcert=system`: the system's trusted roots (OpenSSL's default paths);
//! - no `sslrootcert`: libpq's default, `~/.postgresql/root.crt`, which must exist;
//! - `verify-full` also checks that the certificate names the host; `verify-ca` does not;
//! - as in libpq, `sslmode=require` with an `sslrootcert` checks the chain (as `verify-ca`).

use std::path::PathBuf;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;
use postgres_openssl::MakeTlsConnector;
use tokio_postgres::config::SslMode;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Nothing (`disable`, `prefer`, `require` without a root: encryption only).
    Nothing,
    /// The chain, up to a trusted root (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    ChainAndHost,
}

/// The listener's connection settings: tokio-postgres's config and the TLS connector.
pub struct Target {
    config: tokio_postgres::Config,
    verify: Verify,
    roots: Option<Roots>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    System,
    File(PathBuf),
}

impl Target {
    /// Reads `url` (a `postgres://` or `postgresql://` URL). Errors are one line, for the
    /// start-up message.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let mut parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
        let mut sslmode = None;
        let mut rootcert = None;
        let mut kept = Vec::new();
        for (key, value) in parsed.query_pairs().into_owned() {
            match key.as_str() {
                "sslmode" if value == "verify-ca" || value == "verify-full" => {
                    sslmode = Some(value);
                }
                "sslrootcert" => rootcert = Some(value),
                _ => kept.push((key, value)),
            }
        }
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        let mut config: tokio_postgres::Config = parsed.as_str().parse().map_err(|e| {
            format!(
                "the live-notification listener cannot use this URL ({e}); \
                 use sslmode=disable, prefer, require, verify-ca or verify-full"
            )
        })?;
        let verify = match sslmode.as_deref() {
            Some("verify-full") => Verify::ChainAndHost,
            Some(_) => Verify::Chain,
            None if rootcert.is_some() && config.get_ssl_mode() == SslMode::Require => {
                Verify::Chain
            }
            None => Verify::Nothing,
        };
        let roots = match verify {
            Verify::Nothing => None,
            Verify::Chain | Verify::ChainAndHost => {
                config.ssl_mode(SslMode::Require);
                let home = std::env::var_os("HOME").map(PathBuf::from);
                Some(roots(rootcert, home)?)
            }
        };
        let target = Self {
            config,
            verify,
            roots,
        };
        // Reads the root file now, so that a missing or broken one stops start-up.
        target.tls()?;
        Ok(target)
    }

    /// How much of the server's certificate is checked.
    pub fn verify(&self) -> Verify {
        self.verify
    }

    /// tokio-postgres's config, with `application_name` set to `name`.
    pub fn config(&self, name: &str) -> tokio_postgres::Config {
        let mut config = self.config.clone();
        config.application_name(name);
        config
    }

    /// A TLS connector that checks what [`Self::verify`] says (built for each connection,
    /// so that a rotated root file is read again).
    pub fn tls(&self) -> Result<MakeTlsConnector, String> {
        let tls_error = |e: openssl::error::ErrorStack| format!("TLS set-up failed: {e}");
        let mut builder = SslConnector::builder(SslMethod::tls()).map_err(tls_error)?;
        match &self.roots {
            None => builder.set_verify(SslVerifyMode::NONE),
            Some(Roots::System) => builder.set_verify(SslVerifyMode::PEER),
            Some(Roots::File(path)) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("sslrootcert {} cannot be read: {e}", path.display()))?;
                let certs = X509::stack_from_pem(&pem).map_err(|e| {
                    format!(
                        "sslrootcert {} holds no PEM certificate: {e}",
                        path.display()
                    )
                })?;
                if certs.is_empty() {
                    return Err(format!(
                        "sslrootcert {} holds no PEM certificate",
                        path.display()
                    ));
                }
                let mut store = X509StoreBuilder::new().map_err(tls_error)?;
                for cert in certs {
                    store.add_cert(cert).map_err(tls_error)?;
                }
                builder.set_cert_store(store.build());
                builder.set_verify(SslVerifyMode::PEER);
            }
        }
        let mut tls = MakeTlsConnector::new(builder.build());
        if self.verify != Verify::ChainAndHost {
            tls.set_callback(|config, _host| {
                config.set_verify_hostname(false);
                Ok(())
            });
        }
        Ok(tls)
    }
}

/// The roots `sslrootcert` names, or libpq's default file under `home`.
fn roots(rootcert: Option<String>, home: Option<PathBuf>) -> Result<Roots, String> {
    match rootcert.as_deref() {
        Some("system") => Ok(Roots::System),
        Some(path) => Ok(Roots::File(PathBuf::from(path))),
        None => {
            let default = home
                .map(|home| home.join(".postgresql/root.crt"))
                .filter(|path| path.exists());
            default.map(Roots::File).ok_or_else(|| {
                "a certificate-checking sslmode needs trusted roots: add sslrootcert=/path/to/root.crt \
                 or sslrootcert=system (libpq's default ~/.postgresql/root.crt does not exist)"
                    .to_owned()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn root_file() -> tempfile::NamedTempFile {
        let key = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap();
        let key = openssl::pkey::PKey::from_ec_key(key).unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "test root").unwrap();
        let name = name.build();
        let mut cert = openssl::x509::X509Builder::new().unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&key).unwrap();
        cert.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        cert.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        cert.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), cert.build().to_pem().unwrap()).unwrap();
        file
    }

    #[test]
    fn modes_without_certificate_checks_pass_through() {
        for mode in ["disable", "prefer", "require"] {
            let target = Target::from_url(&format!("postgres://u@h/db?sslmode={mode}")).unwrap();
            assert_eq!(target.verify(), Verify::Nothing, "{mode}");
        }
        let target = Target::from_url("postgresql://u:p@h:5433/db").unwrap();
        assert_eq!(target.verify(), Verify::Nothing);
        assert_eq!(target.config("x").get_dbname(), Some("db"));
        assert_eq!(target.config("x").get_application_name(), Some("x"));
    }

    #[test]
    fn verify_modes_take_the_root_file_out_of_the_url() {
        let root = root_file();
        let path = root.path().display().to_string();
        for (mode, verify) in [
            ("verify-ca", Verify::Chain),
            ("verify-full", Verify::ChainAndHost),
            ("require", Verify::Chain),
        ] {
            let url = format!(
                "postgres://u@h/db?connect_timeout=3&sslmode={mode}&sslrootcert={}",
                url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
            );
            let target = Target::from_url(&url).unwrap();
            assert_eq!(target.verify(), verify, "{mode}");
            assert_eq!(target.roots, Some(Roots::File(root.path().to_owned())));
            let config = target.config("x");
            assert_eq!(config.get_ssl_mode(), SslMode::Require);
            assert_eq!(
                config.get_connect_timeout(),
                Some(&std::time::Duration::from_secs(3))
            );
        }
        let target =
            Target::from_url("postgres://u@h/db?sslmode=verify-full&sslrootcert=system").unwrap();
        assert_eq!(target.roots, Some(Roots::System));
    }

    #[test]
    fn unusable_roots_stop_start_up_with_a_reason() {
        let missing = Target::from_url(
            "postgres://u@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/root.crt",
        )
        .err()
        .unwrap();
        assert!(missing.contains("/nonexistent/root.crt"), "{missing}");
        let junk = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(junk.path(), "not a certificate").unwrap();
        let url = format!(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert={}",
            junk.path().display()
        );
        let broken = Target::from_url(&url).err().unwrap();
        assert!(broken.contains("PEM"), "{broken}");
        // No sslrootcert: libpq's default file, or a message saying how to fix it.
        let home = tempfile::tempdir().unwrap();
        let none = roots(None, Some(home.path().to_owned())).err().unwrap();
        assert!(none.contains("sslrootcert=system"), "{none}");
        std::fs::create_dir(home.path().join(".postgresql")).unwrap();
        std::fs::write(home.path().join(".postgresql/root.crt"), "x").unwrap();
        assert_eq!(
            roots(None, Some(home.path().to_owned())),
            Ok(Roots::File(home.path().join(".postgresql/root.crt")))
        );
    }

    #[test]
    fn other_unsupported_parameters_are_still_refused() {
        let err = Target::from_url("postgres://u@h/db?sslmode=allow")
            .err()
            .unwrap();
        assert!(err.contains("verify-full"), "{err}");
    }
}
