//! TLS for `serve` (issue 12): the SDKs default to https, and users point them at the real
//! endpoint names. Either a certificate and key from PEM files (`--tls-cert`, `--tls-key`), or
//! a self-signed mode (`--tls-self-signed CA_FILE`) that makes a CA and a server certificate
//! for `--tls-name`s at each start and writes the CA's certificate for clients to trust.
//!
//! rustls with the `ring` provider only: no C toolchain beyond what SQLite needs, no cmake.

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// The names every self-signed certificate holds, beside `--tls-name`.
pub const DEFAULT_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// A server configuration from a PEM certificate chain (leaf first) and its PEM private key
/// (PKCS#8, PKCS#1 or SEC1).
pub fn from_pem_files(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the certificate {}", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "no certificate in {} (expected PEM: -----BEGIN CERTIFICATE-----)",
        cert.display()
    );
    // The error of a key file never quotes its content.
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| anyhow::anyhow!("{}", describe_pem_error(&error)))
        .with_context(|| format!("cannot read the private key {}", key.display()))?;
    acceptor(chain, key)
}

fn describe_pem_error(error: &tokio_rustls::rustls::pki_types::pem::Error) -> String {
    use tokio_rustls::rustls::pki_types::pem::Error;
    match error {
        Error::NoItemsFound => {
            "no private key found (expected PEM: -----BEGIN PRIVATE KEY-----)".to_owned()
        }
        Error::Io(error) => error.to_string(),
        _ => "not a valid PEM private key".to_owned(),
    }
}

/// Makes a CA and a server certificate it signs for `names` (DNS names or IP addresses) and
/// [`DEFAULT_NAMES`], writes the CA's certificate (PEM) to `ca_file`, and serves with the
/// server certificate. The CA's key stays in memory and is gone at exit: nothing on disk can
/// sign for the names a client that trusts the CA file accepts. A new CA is made at each
/// start, so clients take the new file.
pub fn self_signed(names: &[String], ca_file: &Path) -> anyhow::Result<TlsAcceptor> {
    // Certificates are valid in the clients' wall-clock time, not the engine's.
    #[allow(clippy::disallowed_methods)]
    let now = time::OffsetDateTime::now_utc();
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "ecsd local CA (self-signed mode)");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let (not_before, not_after) = (
        now - time::Duration::days(1),
        now + time::Duration::days(365),
    );
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;

    let mut all_names: Vec<String> = DEFAULT_NAMES
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    for name in names {
        anyhow::ensure!(
            is_certificate_name(name),
            "--tls-name {name:?} is neither a DNS name (letters, digits and '-' between dots, optionally starting with '*.') nor an IP address"
        );
        if !all_names.contains(name) {
            all_names.push(name.clone());
        }
    }
    let mut leaf = CertificateParams::new(all_names.clone())
        .with_context(|| format!("not valid certificate names: {all_names:?}"))?;
    leaf.distinguished_name.push(DnType::CommonName, "ecsd");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;

    if let Some(folder) = ca_file
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the folder {}", folder.display()))?;
    }
    std::fs::write(ca_file, ca_cert.pem())
        .with_context(|| format!("cannot write the CA certificate {}", ca_file.display()))?;
    tracing::info!(
        ca_file = %ca_file.display(),
        names = ?all_names,
        "self-signed TLS: clients trust the CA certificate in ca_file"
    );
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    acceptor(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)
}

fn acceptor(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> anyhow::Result<TlsAcceptor> {
    // rustls deprecates its ring provider because ring has no post-quantum key exchange;
    // aws-lc-rs has, but needs cmake and builds several times longer. Classical key exchange
    // is what a local emulator's clients need.
    #[allow(deprecated)]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the private key do not fit together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// An IP address, or a DNS name: labels of 1–63 letters, digits and inner '-', the first
/// label optionally `*` (a wildcard for one label).
fn is_certificate_name(name: &str) -> bool {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Whether the first bytes of a connection are a TLS handshake record (content type 22,
/// version 3.x): a client speaking https to the plain-HTTP port.
pub fn looks_like_tls(first_bytes: &[u8]) -> bool {
    matches!(first_bytes, [0x16, 0x03, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_client_hello_is_told_from_http() {
        assert!(looks_like_tls(&[0x16, 0x03, 0x01, 0x02, 0x00]));
        assert!(!looks_like_tls(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_tls(b"PRI * HTTP/2.0"));
        assert!(!looks_like_tls(&[]));
    }

    #[test]
    fn the_self_signed_mode_writes_a_ca_and_key_files_are_checked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = dir.path().join("ca/ecsd-ca.pem");
        self_signed(&["ecs.eu-de.otc.t-systems.com".to_owned()], &ca).expect("made");
        let written = std::fs::read_to_string(&ca).expect("CA written");
        assert!(
            written.starts_with("-----BEGIN CERTIFICATE-----"),
            "{written}"
        );
        assert!(
            !written.contains("PRIVATE KEY"),
            "only the CA's certificate"
        );
        for bad in ["not a name!", "", "a..b", "-a.b", "*"] {
            assert!(self_signed(&[bad.to_owned()], &ca).is_err(), "{bad:?}");
        }
        assert!(is_certificate_name("*.eu-de.otc.t-systems.com"));
        assert!(is_certificate_name("::1"));

        // A certificate file as key: refused without quoting the file.
        let Err(error) = from_pem_files(&ca, &ca) else {
            panic!("a certificate file is not a key")
        };
        let message = format!("{error:#}");
        assert!(message.contains("no private key found"), "{message}");
        assert!(!message.contains("BEGIN CERTIFICATE-----\n"), "{message}");
    }
}
