//! TLS of the real binary (issue 12, part 5): the self-signed mode serves the real endpoint
//! names to a client that trusts the CA file it wrote (as a hosts entry would send them to
//! 127.0.0.1), and a TLS handshake on the plain-HTTP port is logged and closed. Every read is
//! bounded by [`BOUND`].

use crate::e2e::Ecsd;
use crate::support::{signed_request, LOCAL, PROJECT};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

const BOUND: Duration = Duration::from_secs(30);

/// A TLS client that trusts only the certificates in `ca_file` (none: an empty store).
fn client_config(ca_file: Option<&std::path::Path>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    if let Some(ca_file) = ca_file {
        for cert in CertificateDer::pem_file_iter(ca_file).expect("CA file") {
            roots.add(cert.expect("PEM certificate")).expect("trusted");
        }
    }
    // ring, as ecsd's own TLS (see `ecsd::tls`).
    #[allow(deprecated)]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Connects to `ecsd` over TLS, verifying its certificate for `name`.
fn connect_tls(
    ecsd: &Ecsd,
    config: Arc<ClientConfig>,
    name: &str,
) -> StreamOwned<ClientConnection, TcpStream> {
    let address = ecsd.endpoint.trim_start_matches("http://");
    let socket = TcpStream::connect(address).expect("connects");
    socket.set_read_timeout(Some(BOUND)).expect("timeout");
    socket.set_write_timeout(Some(BOUND)).expect("timeout");
    let name = ServerName::try_from(name.to_owned()).expect("a name");
    StreamOwned::new(ClientConnection::new(config, name).expect("client"), socket)
}

#[test]
fn the_self_signed_mode_serves_the_real_endpoint_names_to_clients_trusting_its_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = dir.path().join("ecsd-ca.pem");
    let ca = ca_file.display().to_string();
    let ecsd = Ecsd::start_with(
        dir.path(),
        "instant",
        &[
            "--tls-self-signed",
            &ca,
            "--tls-name",
            "ecs.eu-de.otc.t-systems.com,iam.eu-de.otc.t-systems.com",
        ],
    );
    let trusting = client_config(Some(&ca_file));

    // A signed list over TLS, to the name a hosts entry points at ecsd.
    let path = format!("/v1/{PROJECT}/cloudservers/detail");
    let request = signed_request(
        LOCAL,
        crate::support::wall_clock_now(),
        &axum::http::Method::GET,
        &path,
        None,
        b"",
    );
    let mut head = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in request.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().expect("ASCII")));
    }
    head.push_str("\r\n");
    let mut stream = connect_tls(&ecsd, trusting.clone(), "ecs.eu-de.otc.t-systems.com");
    stream.write_all(head.as_bytes()).expect("sent over TLS");
    let mut answer = Vec::new();
    // ecsd ends with close_notify; a bare close would be an error here, not an empty read.
    stream.read_to_end(&mut answer).expect("answered over TLS");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body: Value =
        serde_json::from_str(answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)).expect("JSON");
    assert_eq!(body["count"], 0, "{body}");

    // The certificate is for the names asked for, not for any name...
    let mut other = connect_tls(&ecsd, trusting, "ecs.example.com");
    assert!(
        other.write_all(b"GET / HTTP/1.1\r\n\r\n").is_err(),
        "a name the certificate does not hold is refused by the client"
    );
    // ...and a client that does not trust the CA refuses it.
    let mut untrusting = connect_tls(&ecsd, client_config(None), "localhost");
    assert!(untrusting.write_all(b"GET / HTTP/1.1\r\n\r\n").is_err());
}

#[test]
fn a_tls_handshake_on_the_plain_port_is_logged_and_closed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let mut stream = connect_tls(&ecsd, client_config(None), "ecs.eu-de.otc.t-systems.com");
    assert!(
        stream.write_all(b"GET / HTTP/1.1\r\n\r\n").is_err(),
        "no TLS on the plain port"
    );
    let deadline = Instant::now() + BOUND;
    loop {
        let logged = ecsd
            .log
            .lock()
            .expect("log")
            .iter()
            .any(|line| line.contains("TLS handshake arrived on the plain-HTTP port"));
        if logged {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{:?}",
            ecsd.log.lock().expect("log")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `--tls-cert` / `--tls-key` as an operator passes them: a chain from their own CA.
#[test]
fn a_certificate_and_key_from_pem_files_are_served() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).expect("CA");
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["ecs.eu-nl.otc.t-systems.com".to_owned()])
        .expect("params")
        .signed_by(&key, &ca, &ca_key)
        .expect("signed");
    let (cert_file, key_file, ca_file) = (
        dir.path().join("server.pem"),
        dir.path().join("server.key"),
        dir.path().join("ca.pem"),
    );
    std::fs::write(&cert_file, leaf.pem()).expect("written");
    std::fs::write(&key_file, key.serialize_pem()).expect("written");
    std::fs::write(&ca_file, ca.pem()).expect("written");
    let (cert, key) = (
        cert_file.display().to_string(),
        key_file.display().to_string(),
    );
    let ecsd = Ecsd::start_with(
        dir.path(),
        "instant",
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    let mut stream = connect_tls(
        &ecsd,
        client_config(Some(&ca_file)),
        "ecs.eu-nl.otc.t-systems.com",
    );
    stream
        .write_all(b"GET /v1/p/jobs/x HTTP/1.1\r\nHost: ecs.eu-nl.otc.t-systems.com\r\nConnection: close\r\n\r\n")
        .expect("sent over TLS");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("answered over TLS");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}
