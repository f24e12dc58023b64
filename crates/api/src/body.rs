//! Request bodies and queries: JSON only, size-limited, read before a deadline, and every parse
//! failure an [`ApiError`] that names the offending field.
//!
//! Keys a body carries that its type does not model are ignored (real clients send fields ecsd
//! does not model), but noticed: [`parse_json`] lists their dotted paths in the request's
//! [`BodyNotes`] (read by the request log) and a `warn!` line, and refuses them with `Ecs.0005`
//! when the server runs with `--strict-bodies`.

use crate::error::ApiError;
use crate::error_codes;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{header, HeaderMap};
use http_body::{Frame, SizeHint};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

/// Reads the whole body, refusing more than `limit` bytes with 413, and a body whose deadline
/// ([`with_read_deadline`]) passes before it has arrived with 408 `Ecsd.0408`.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|error| match read_timeout_in(&error) {
            Some(BodyReadTimeout(timeout)) => ApiError::new(
                error_codes::ECSD_BODY_TIMEOUT,
                format!(
                    "The request body did not arrive within {} s (the body-read timeout).",
                    timeout.as_secs_f64()
                ),
            ),
            None => ApiError::new(
                error_codes::ECSD_BODY_TOO_LARGE,
                format!("The request body exceeds the limit of {limit} bytes."),
            ),
        })
}

/// What a body under [`with_read_deadline`] yields once its deadline has passed: the timeout
/// it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyReadTimeout(pub Duration);

impl std::fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body did not arrive within {:?}", self.0)
    }
}

impl std::error::Error for BodyReadTimeout {}

/// Finds a [`BodyReadTimeout`] in an error's chain. Body errors reach `read_limited` wrapped by
/// axum and by the size limit, so the chain is walked rather than the top error downcast.
fn read_timeout_in(error: &axum::Error) -> Option<&BodyReadTimeout> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(timeout) = error.downcast_ref::<BodyReadTimeout>() {
            return Some(timeout);
        }
        current = error.source();
    }
    None
}

/// Gives `body` a deadline `timeout` from now: a body still arriving then fails with
/// [`BodyReadTimeout`]. The deadline is for the whole body, not per chunk, so a client that
/// trickles one byte at a time cannot hold a request open. An empty body needs no timer.
pub fn with_read_deadline(body: Body, timeout: Duration) -> Body {
    if body.is_end_stream() {
        return body;
    }
    Body::new(DeadlineBody {
        inner: body,
        deadline: Box::pin(tokio::time::sleep(timeout)),
        timeout,
    })
}

struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        // What has arrived is taken first: the deadline refuses only waiting for more.
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match this.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Some(Err(axum::Error::new(BodyReadTimeout(this.timeout)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Checks that a body, if it has a Content-Type, says JSON (`application/json`, any parameters,
/// any case: the SDK sends `application/json;charset=utf-8`).
pub fn require_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let media_type = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/json" || media_type.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::new(
            error_codes::ECSD_UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Unsupported Content-Type {:?}; send application/json.",
                value.to_str().unwrap_or("<not text>")
            ),
        ))
    }
}

/// Parses a JSON body into `T`; an empty body is `Common.0002`, anything else that does not fit is
/// `Ecs.0005` with the path of the field at fault (e.g. `server.nics[0].subnet_id`).
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, ApiError> {
    require_json_content_type(headers)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            error_codes::COMMON_0002,
            "The request body is empty; this API needs a JSON body.",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let mut ignored = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| {
        let name = match &path {
            serde_ignored::Path::Map { key, .. } => key.clone(),
            _ => String::new(),
        };
        ignored.push(Ignored {
            path: dotted(&path),
            name,
        });
    };
    let parsed: Result<T, _> = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        &mut deserializer,
        &mut note,
    ));
    let value = parsed.map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::invalid_field("body", format!("malformed JSON ({inner})"))
        } else {
            let field = if path == "." { "body".to_owned() } else { path };
            let message = strip_position(&inner.to_string());
            // A missing key is named as the field it is, not as a problem of its parent.
            if let Some(name) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
            {
                let field = if field == "body" {
                    name.to_owned()
                } else {
                    format!("{field}.{name}")
                };
                return ApiError::invalid_field(&field, "is required");
            }
            ApiError::invalid_field(&field, in_user_terms(&message))
        }
    })?;
    deserializer.end().map_err(|error| {
        ApiError::invalid_field(
            "body",
            format!("trailing characters after the JSON value ({error})"),
        )
    })?;
    if !ignored.is_empty() {
        note_ignored(ignored)?;
    }
    Ok(value)
}

/// What the parsing of one request's body noticed, shared between the request log (which
/// creates it, [`with_body_notes`]) and [`parse_json`]. A task-local rather than a parameter:
/// `parse_json` is called by many handlers with the headers and bytes only, and the request log
/// runs in the same task around them.
#[derive(Debug, Default)]
pub struct BodyNotes {
    /// `--strict-bodies`: refuse ignored fields instead of noting them.
    strict: bool,
    ignored: Mutex<Vec<String>>,
}

impl BodyNotes {
    pub fn new(strict: bool) -> Self {
        Self {
            strict,
            ignored: Mutex::default(),
        }
    }

    /// The dotted paths of the body fields that were ignored, in the order met.
    pub fn ignored_fields(&self) -> Vec<String> {
        self.ignored
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

tokio::task_local! {
    static BODY_NOTES: Arc<BodyNotes>;
}

/// Runs `future` (a request's handling) with `notes` as the place [`parse_json`] reports to.
pub async fn with_body_notes<F: Future>(notes: Arc<BodyNotes>, future: F) -> F::Output {
    BODY_NOTES.scope(notes, future).await
}

/// A body field the parse ignored: its dotted path and its own name (the last key).
struct Ignored {
    path: String,
    name: String,
}

/// Notes (or, in strict mode, refuses) the ignored fields of a body that parsed. Strict mode
/// refuses only names the reference does not document
/// ([`crate::documented_fields`]): a documented field ecsd does not model is what real
/// clients send, a name the reference does not know is a typo.
fn note_ignored(ignored: Vec<Ignored>) -> Result<(), ApiError> {
    let strict = BODY_NOTES
        .try_with(|notes| notes.strict)
        .unwrap_or_default();
    if strict {
        let unknown: Vec<&str> = ignored
            .iter()
            .filter(|field| !crate::documented_fields::is_documented(&field.name))
            .map(|field| field.path.as_str())
            .collect();
        if let Some(first) = unknown.first() {
            return Err(ApiError::invalid_field(
                first,
                format!(
                    "unknown field; ecsd runs with --strict-bodies, which refuses body fields the API does not document (unknown: {})",
                    unknown.join(", ")
                ),
            ));
        }
    }
    let ignored: Vec<String> = ignored.into_iter().map(|field| field.path).collect();
    tracing::warn!(
        target: "ecsd::request",
        ignored_fields = display(ignored.join(",")),
        "request body fields ecsd does not model were ignored"
    );
    let _ = BODY_NOTES.try_with(|notes| {
        notes
            .ignored
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(ignored);
    });
    Ok(())
}

/// A path of `serde_ignored` in the form of the parse errors' paths: `server.nics[0].cont`.
fn dotted(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", dotted(parent)),
        Path::Map { parent, key } => {
            let parent = dotted(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => dotted(parent),
    }
}

/// serde's data errors in the words of the API's users (JSON types, not Rust's):
/// `invalid type: string "2", expected i64` becomes `must be an integer, not the string "2"`.
/// Messages of another form are kept.
fn in_user_terms(message: &str) -> String {
    let (found, expected) = match message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|rest| rest.split_once(", expected "))
    {
        Some(parts) => parts,
        None => {
            if let Some(rest) = message.strip_prefix("unknown field ") {
                return format!("unknown field {}", rest.replace("`", "\""));
            }
            return message.to_owned();
        }
    };
    format!(
        "must be {}, not {}",
        expected_terms(expected),
        found_terms(found)
    )
}

/// serde's "expected" part as a JSON type.
fn expected_terms(expected: &str) -> &str {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "an integer of 0 or more",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" | "a borrowed string" | "a character" => "a string",
        "a sequence" => "an array",
        "a map" => "an object",
        struct_name if struct_name.starts_with("struct ") => "an object",
        other => other,
    }
}

/// serde's "found" part as the JSON value the user sent.
fn found_terms(found: &str) -> String {
    let literal = |prefix: &str| {
        found
            .strip_prefix(prefix)
            .map(|rest| rest.trim_matches('`').to_owned())
    };
    if let Some(text) = found.strip_prefix("string ") {
        format!("the string {text}")
    } else if let Some(number) = literal("integer ").or_else(|| literal("floating point ")) {
        format!("the number {number}")
    } else if let Some(value) = literal("boolean ") {
        value
    } else {
        match found {
            "map" => "an object".to_owned(),
            "sequence" => "an array".to_owned(),
            "null" | "unit value" => "null".to_owned(),
            other => other.to_owned(),
        }
    }
}

/// serde_json appends " at line L column C" to data errors; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// The most items a list page holds (`limit`), on every list API of the reference.
pub const MAX_LIST_LIMIT: usize = 1000;

/// A list's `limit` query value: an integer from 1 to [`MAX_LIST_LIMIT`].
pub fn list_limit(value: &str) -> Result<usize, ApiError> {
    value
        .parse()
        .ok()
        .filter(|limit| (1..=MAX_LIST_LIMIT).contains(limit))
        .ok_or_else(|| {
            ApiError::invalid_field(
                "limit",
                format!("must be an integer from 1 to {MAX_LIST_LIMIT}"),
            )
        })
}

/// The query string as ordered pairs (percent-decoded).
pub fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or_default()).map_err(|error| {
        ApiError::invalid_field("query", format!("malformed query string ({error})"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// A body whose bytes never come: a client that sent its headers and stopped.
    struct NeverArrives;

    impl HttpBody for NeverArrives {
        type Data = Bytes;
        type Error = axum::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
            Poll::Pending
        }
    }

    // Paused time: the runtime jumps to the next timer when nothing else can run, so the
    // 30 s deadline passes at once and the test does not depend on the wall clock.
    #[tokio::test(start_paused = true)]
    async fn a_body_that_does_not_arrive_before_its_deadline_is_408() {
        let body = with_read_deadline(Body::new(NeverArrives), Duration::from_secs(30));
        // Bounded: without the deadline, the paused clock jumps here and the test fails.
        let read = tokio::time::timeout(Duration::from_secs(24 * 3600), read_limited(body, 1024));
        let error = read
            .await
            .expect("refused before the test's bound")
            .expect_err("times out");
        assert_eq!(
            (error.code.code, error.code.status),
            ("Ecsd.0408", 408),
            "{error:?}"
        );
        assert!(error.message.contains("30 s"), "{error:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_arrives_is_read_and_an_oversized_one_is_still_413() {
        let body = with_read_deadline(Body::from("{\"a\": 1}"), Duration::from_secs(30));
        let bytes = read_limited(body, 1024).await.expect("read");
        assert_eq!(&bytes[..], b"{\"a\": 1}");
        let body = with_read_deadline(Body::from(vec![b'x'; 2048]), Duration::from_secs(30));
        let error = read_limited(body, 1024).await.expect_err("too large");
        assert_eq!(error.code.code, "Ecsd.0413");
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        server: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
        nics: Vec<Nic>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Nic {
        subnet_id: String,
    }

    fn json_headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("header"),
        );
        headers
    }

    fn error_of(content_type: &str, body: &str) -> ApiError {
        parse_json::<Outer>(&json_headers(content_type), body.as_bytes()).expect_err("must fail")
    }

    fn notes_of(strict: bool, body: &str) -> (Result<Outer, ApiError>, Vec<String>) {
        let notes = Arc::new(BodyNotes::new(strict));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let parsed = runtime.block_on(with_body_notes(notes.clone(), async {
            parse_json::<Outer>(&json_headers("application/json"), body.as_bytes())
        }));
        (parsed, notes.ignored_fields())
    }

    const TYPOS: &str = r#"{"server": {"count": 1, "cont": 3, "nics": [{"subnet_id": "s", "ipp": 1}]}, "extra": {}}"#;

    #[test]
    fn ignored_fields_are_noted_with_their_dotted_paths() {
        let (parsed, ignored) = notes_of(false, TYPOS);
        assert_eq!(parsed.expect("parses").server.count, 1);
        assert_eq!(ignored, ["server.cont", "server.nics[0].ipp", "extra"]);
        let (parsed, ignored) = notes_of(false, r#"{"server": {"count": 1, "nics": []}}"#);
        assert!(parsed.is_ok());
        assert!(ignored.is_empty());
    }

    #[test]
    fn strict_bodies_refuse_an_ignored_field_naming_it() {
        let (parsed, ignored) = notes_of(true, TYPOS);
        let error = parsed.expect_err("refused");
        assert_eq!((error.code.code, error.code.status), ("Ecs.0005", 400));
        assert!(
            error.details[0]
                .message
                .starts_with("server.cont: unknown field"),
            "{error:?}"
        );
        assert!(error.message.contains("server.nics[0].ipp"), "{error:?}");
        assert!(ignored.is_empty(), "a refused body notes nothing");
        // A body with only modelled fields passes in strict mode; so does one with a field
        // the reference documents but this type does not model, which is still noted.
        let (parsed, _) = notes_of(true, r#"{"server": {"count": 1, "nics": []}}"#);
        assert!(parsed.is_ok());
        let (parsed, ignored) = notes_of(
            true,
            r#"{"server": {"count": 1, "nics": [{"subnet_id": "s", "extra_dhcp_opts": []}]}}"#,
        );
        assert!(parsed.is_ok(), "{parsed:?}");
        assert_eq!(ignored, ["server.nics[0].extra_dhcp_opts"]);
    }

    #[test]
    fn wrong_types_name_the_field_path() {
        let error = error_of(
            "application/json",
            r#"{"server": {"count": "two", "nics": []}}"#,
        );
        assert_eq!(error.code.code, "Ecs.0005");
        assert_eq!(
            error.details[0].message,
            "server.count: must be an integer of 0 or more, not the string \"two\""
        );
        let error = error_of(
            "application/json",
            r#"{"server": {"count": 1, "nics": [{}]}}"#,
        );
        assert_eq!(
            error.details[0].message,
            "server.nics[0].subnet_id: is required"
        );
        let error = error_of("application/json", r#"{}"#);
        assert_eq!(error.details[0].message, "server: is required");
    }

    /// Rust's type names never reach the user: every JSON type mismatch says what the field
    /// must be and what was sent, in JSON's words.
    #[test]
    fn type_errors_speak_json() {
        for (body, expected) in [
            (
                r#"{"server": {"count": -1, "nics": []}}"#,
                "server.count: must be an integer of 0 or more, not the number -1",
            ),
            (
                r#"{"server": {"count": 1.5, "nics": []}}"#,
                "server.count: must be an integer of 0 or more, not the number 1.5",
            ),
            (
                r#"{"server": {"count": 1, "nics": {}}}"#,
                "server.nics: must be an array, not an object",
            ),
            (
                r#"{"server": {"count": 1, "nics": [{"subnet_id": 5}]}}"#,
                "server.nics[0].subnet_id: must be a string, not the number 5",
            ),
            (
                r#"{"server": {"count": 1, "nics": [{"subnet_id": null}]}}"#,
                "server.nics[0].subnet_id: must be a string, not null",
            ),
            (
                r#"{"server": "x"}"#,
                "server: must be an object, not the string \"x\"",
            ),
            (
                r#"{"server": {"count": true, "nics": []}}"#,
                "server.count: must be an integer of 0 or more, not true",
            ),
        ] {
            let error = error_of("application/json", body);
            assert_eq!(error.code.code, "Ecs.0005");
            assert_eq!(error.details[0].message, expected, "{body}");
            for rust in ["i64", "u32", "struct", "sequence", "map", "`"] {
                assert!(!error.message.contains(rust), "{rust} in {}", error.message);
            }
        }
        assert_eq!(
            in_user_terms("invalid type: string \"2\", expected i64"),
            "must be an integer, not the string \"2\""
        );
        assert_eq!(
            in_user_terms("invalid type: string \"x\", expected a boolean"),
            "must be true or false, not the string \"x\""
        );
        assert_eq!(
            in_user_terms("unknown field `sizee`, expected `size`"),
            "unknown field \"sizee\", expected \"size\""
        );
    }

    #[test]
    fn malformed_and_empty_bodies_are_refused() {
        assert_eq!(
            error_of("application/json", r#"{"server": "#).code.code,
            "Ecs.0005"
        );
        assert_eq!(error_of("application/json", "  ").code.code, "Common.0002");
        assert_eq!(
            error_of(
                "application/json",
                r#"{"server": {"count": 1, "nics": []}} x"#
            )
            .code
            .code,
            "Ecs.0005"
        );
    }

    #[test]
    fn content_types_other_than_json_get_415() {
        assert_eq!(error_of("text/plain", "{}").code.code, "Ecsd.0415");
        let ok =
            parse_json::<serde_json::Value>(&json_headers("application/json;charset=utf-8"), b"{}");
        assert!(ok.is_ok());
        let ok = parse_json::<serde_json::Value>(&HeaderMap::new(), b"{}");
        assert!(ok.is_ok(), "a missing Content-Type is taken as JSON");
    }
}
