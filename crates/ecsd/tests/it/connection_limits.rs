//! Connection limits of the real binary (issue 9, finding 4), over raw sockets on 127.0.0.1:
//! half-sent requests and idle connections are closed after the header-read timeout, a body
//! that does not arrive is answered 408, and at the connection cap new connections wait until
//! held ones are closed. The timeouts are set to 1 s; every read is bounded by [`BOUND`], and
//! nothing asserts on how long anything took.

use crate::e2e::Ecsd;
use crate::support::{create_body, signed_request, LOCAL, PROJECT};
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long a test waits for the server to answer or close: far above the 1 s timeouts.
const BOUND: Duration = Duration::from_secs(30);

fn connect(ecsd: &Ecsd) -> TcpStream {
    let address = ecsd.endpoint.trim_start_matches("http://");
    let stream = TcpStream::connect(address).expect("connects");
    stream.set_read_timeout(Some(BOUND)).expect("read timeout");
    stream
}

/// Everything the server sends until it closes the connection, or an error if it is still
/// open after [`BOUND`].
fn read_until_closed(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(received),
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return Ok(received),
            Err(error) => {
                return Err(format!(
                    "still open after {BOUND:?} ({error}); received {:?}",
                    String::from_utf8_lossy(&received)
                ))
            }
        }
    }
}

/// Whether the server has already closed `stream` (its end-of-stream or reset has arrived),
/// without waiting.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).expect("non-blocking");
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) if error.kind() == ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// The status and the JSON body of one raw HTTP/1.1 answer.
fn status_and_body(answer: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {text:?}")),
    )
}

#[test]
fn half_sent_requests_and_idle_connections_are_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "instant", &["--header-read-timeout", "1s"]);
    // Connected, nothing sent.
    let mut silent = connect(&ecsd);
    // Headers begun, never finished.
    let mut half_sent = connect(&ecsd);
    half_sent
        .write_all(
            format!("POST /v1/{PROJECT}/cloudservers HTTP/1.1\r\nHost: ecsd.test\r\nContent-Type: application/json\r\n")
                .as_bytes(),
        )
        .expect("sent");
    // One request answered, then kept alive without a next one.
    let mut idle = connect(&ecsd);
    idle.write_all(
        format!("GET /v1/{PROJECT}/cloudservers/detail HTTP/1.1\r\nHost: ecsd.test\r\n\r\n")
            .as_bytes(),
    )
    .expect("sent");

    assert_eq!(read_until_closed(&mut silent), Ok(Vec::new()));
    let sent_back = read_until_closed(&mut half_sent).expect("closed by the server");
    assert!(
        !sent_back.starts_with(b"HTTP/1.1 2"),
        "{:?}",
        String::from_utf8_lossy(&sent_back)
    );
    let answer = read_until_closed(&mut idle).expect("closed by the server once idle");
    let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 401"), "{text}");
    assert!(
        !text.contains("connection: close"),
        "the answer itself kept the connection alive: {text}"
    );

    // Meanwhile, ecsd serves as usual.
    let mut fresh = connect(&ecsd);
    fresh
        .write_all(
            format!("GET /v1/{PROJECT}/cloudservers/detail HTTP/1.1\r\nHost: ecsd.test\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .expect("sent");
    let (status, body) = status_and_body(&read_until_closed(&mut fresh).expect("answered"));
    assert_eq!(
        (status, body["error_code"].as_str()),
        (401, Some("APIGW.0301")),
        "the API gateway's answer to a request without credentials"
    );
}

/// At `--max-connections 2`, four connections holding half-sent requests and then a normal
/// request: ecsd accepts in order and only while it has a free slot, so the normal request
/// is answered, but only once at least three of the four (all but one slot's worth) were
/// closed by the header timeout. Without a cap it would be answered while all four are open.
#[test]
fn at_the_connection_cap_new_connections_wait_until_held_ones_are_closed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(
        dir.path(),
        "instant",
        &["--max-connections", "2", "--header-read-timeout", "1s"],
    );
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut stream = connect(&ecsd);
            stream
                .write_all(b"GET /v1/x/jobs/y HTTP/1.1\r\nHost: ecsd.test\r\n")
                .expect("sent");
            stream
        })
        .collect();
    let mut normal = connect(&ecsd);
    normal
        .write_all(
            format!("GET /v1/{PROJECT}/cloudservers/detail HTTP/1.1\r\nHost: ecsd.test\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .expect("sent");
    let answer = read_until_closed(&mut normal).expect("answered once slots were free");
    let (status, _) = status_and_body(&answer);
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&answer));
    // The server closed each held connection before it freed the slot the normal one took,
    // so their ends of stream are already here.
    let closed = held
        .iter_mut()
        .map(closed_by_server)
        .filter(|closed| *closed)
        .count();
    assert!(
        closed >= 3,
        "only {closed} of 4 held connections were closed before the normal request was served"
    );
}

#[test]
fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "instant", &["--body-read-timeout", "1s"]);
    let body = create_body("late", 1).to_string();
    let path = format!("/v1/{PROJECT}/cloudservers");
    // Correctly signed for the whole body, so it is the body's absence that is refused.
    let request = signed_request(
        LOCAL,
        crate::support::wall_clock_now(),
        &axum::http::Method::POST,
        &path,
        Some("application/json"),
        body.as_bytes(),
    );
    let mut head = format!("POST {path} HTTP/1.1\r\n");
    for (name, value) in request.headers() {
        head.push_str(&format!(
            "{name}: {}\r\n",
            value.to_str().expect("ASCII header")
        ));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut stream = connect(&ecsd);
    stream.write_all(head.as_bytes()).expect("head sent");
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .expect("half the body sent");

    let answer = read_until_closed(&mut stream).expect("answered and closed");
    let (status, error) = status_and_body(&answer);
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (408, Some("Ecsd.0408")),
        "{error}"
    );
    assert!(String::from_utf8_lossy(&answer)
        .to_ascii_lowercase()
        .contains("connection: close"));
}
