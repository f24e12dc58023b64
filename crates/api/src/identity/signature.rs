//! The `SDK-HMAC-SHA256` request signature of the Huawei Cloud SDKs: parsing the
//! `Authorization` header, canonicalising a request exactly as the SDK does, signing, and
//! verifying (`../shared/reference/SDK-CLIENT.md`, "AK/SK signature").
//!
//! Both directions live here so that the verifier and the clients ecsd ships (`ecsd call`)
//! cannot drift apart. Not yet wired into the router: request verification comes with the
//! identity feature, which also brings accounts, tokens and tenancy.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// SHA-256 of an empty body.
pub const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SDK_DATE: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// RFC 3986 unreserved characters stay; everything else is `%XX` (upper-case hex).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("unsupported signing algorithm {0:?}; use {ALGORITHM}")]
    UnsupportedAlgorithm(String),
    #[error("malformed Authorization header: {0}")]
    Malformed(&'static str),
    #[error("the signed header {0:?} is not in the request")]
    MissingSignedHeader(String),
    #[error("X-Sdk-Date is missing or not like 20250101T120000Z")]
    BadDate,
    #[error("X-Sdk-Date is more than {0} minutes away from the server's time")]
    DateOutOfWindow(i64),
    #[error("the signature does not match")]
    Mismatch,
}

/// A parsed `Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key: &'a str,
    /// Lower-case header names, in the order given.
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, SignatureError> {
    let (algorithm, rest) = value.split_once(' ').ok_or(SignatureError::Malformed(
        "no credentials after the algorithm",
    ))?;
    if algorithm != ALGORITHM {
        return Err(SignatureError::UnsupportedAlgorithm(algorithm.to_owned()));
    }
    let mut access_key = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(", ") {
        let (key, value) = part
            .split_once('=')
            .ok_or(SignatureError::Malformed("a part is not key=value"))?;
        let slot = match key {
            "Access" => &mut access_key,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => {
                return Err(SignatureError::Malformed(
                    "unknown part (expected Access, SignedHeaders, Signature)",
                ))
            }
        };
        if slot.replace(value).is_some() {
            return Err(SignatureError::Malformed("a part is repeated"));
        }
    }
    let access_key = access_key
        .filter(|key| !key.is_empty())
        .ok_or(SignatureError::Malformed("no Access"))?;
    if !access_key
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    {
        return Err(SignatureError::Malformed(
            "Access is not an access key (letters, digits, '-', '_')",
        ));
    }
    let signed_headers = signed_headers
        .filter(|list| !list.is_empty())
        .ok_or(SignatureError::Malformed("no SignedHeaders"))?;
    let signature = signature.ok_or(SignatureError::Malformed("no Signature"))?;
    if signature.len() != 64 || !signature.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(SignatureError::Malformed(
            "Signature is not 64 hex characters",
        ));
    }
    let signed_headers: Vec<&str> = signed_headers.split(';').collect();
    if signed_headers
        .iter()
        .any(|name| name.is_empty() || name.bytes().any(|byte| byte.is_ascii_uppercase()))
    {
        return Err(SignatureError::Malformed(
            "SignedHeaders must be lower-case names separated by ';'",
        ));
    }
    Ok(Authorization {
        access_key,
        signed_headers,
        signature,
    })
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, ENCODE).to_string()
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The raw path, fully percent-decoded, split on `/`, each segment re-encoded, with a trailing `/`.
pub fn canonical_uri(raw_path: &str) -> String {
    let mut uri = String::with_capacity(raw_path.len() + 1);
    push_canonical_uri(&mut uri, raw_path);
    uri
}

/// Whether decoding then re-encoding `byte` gives `byte` back: RFC 3986's unreserved
/// characters (what [`ENCODE`] leaves alone) and the `/` between segments.
fn is_canonical_path_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/')
}

/// [`canonical_uri`] into `out`. A path made only of unreserved characters and `/` (every
/// ECS path ecsd routes, ids included) is its own canonical form: it is copied, not decoded
/// and re-encoded segment by segment.
fn push_canonical_uri(out: &mut String, raw_path: &str) {
    if raw_path.bytes().all(is_canonical_path_byte) {
        out.push_str(raw_path);
    } else {
        let decoded = decode(raw_path);
        for (index, segment) in decoded.split('/').enumerate() {
            if index > 0 {
                out.push('/');
            }
            out.extend(utf8_percent_encode(segment, ENCODE));
        }
    }
    if !out.ends_with('/') {
        out.push('/');
    }
}

/// Pairs decoded, sorted by (key, value), re-encoded, joined with `&`; a key without `=` is `k=`.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            (decode(key), decode(value))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lower-case hex, written into one buffer: the verifier hexes two SHA-256 digests and a MAC per
/// request, and a `format!` per byte (96 small strings) showed in the job query's profile.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The SHA-256 of a body, in lower-case hex.
pub fn body_hash(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

/// The payload hash: `X-Sdk-Content-Sha256` verbatim if sent, else SHA-256 of the raw body.
/// (The verifier checks, before this, that a sent header is the body's hash or
/// `UNSIGNED-PAYLOAD` with no body.)
pub fn payload_hash(headers: &HeaderMap, body: &[u8]) -> String {
    match headers
        .get("x-sdk-content-sha256")
        .and_then(|value| value.to_str().ok())
    {
        Some(value) => value.to_owned(),
        // Most requests (every GET and DELETE) have no body: its hash is a constant.
        None if body.is_empty() => EMPTY_BODY_SHA256.to_owned(),
        None => body_hash(body),
    }
}

/// The canonical request: method, URI, query, the signed headers' `name:value` lines (values
/// trimmed, from the request as received), the signed header list, the payload hash. Written
/// into one buffer: the verifier builds one per request.
pub fn canonical_request(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    signed_headers: &[&str],
    payload_hash: &str,
) -> Result<String, SignatureError> {
    let mut canonical = String::with_capacity(256 + raw_path.len() + raw_query.len());
    canonical.extend(method.chars().map(|c| c.to_ascii_uppercase()));
    canonical.push('\n');
    push_canonical_uri(&mut canonical, raw_path);
    canonical.push('\n');
    if !raw_query.is_empty() {
        canonical.push_str(&canonical_query(raw_query));
    }
    canonical.push('\n');
    for name in signed_headers {
        let value = headers
            .get(*name)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| SignatureError::MissingSignedHeader((*name).to_owned()))?;
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(value.trim());
        canonical.push('\n');
    }
    canonical.push('\n');
    for (index, name) in signed_headers.iter().enumerate() {
        if index > 0 {
            canonical.push(';');
        }
        canonical.push_str(name);
    }
    canonical.push('\n');
    canonical.push_str(payload_hash);
    Ok(canonical)
}

pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    )
}

fn mac(secret_key: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

/// The lower-case hex signature of `string_to_sign` under `secret_key`.
pub fn sign(secret_key: &str, string_to_sign: &str) -> String {
    let mut mac = mac(secret_key);
    mac.update(string_to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The headers a client signs (all that ecsd's own clients set), in `SignedHeaders` order.
pub const CLIENT_SIGNED_HEADERS: [&str; 4] = ["content-type", "host", "x-project-id", "x-sdk-date"];

/// The `X-Sdk-Date` value for `at`.
pub fn sdk_date(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(SDK_DATE)
        .unwrap_or_default()
}

/// The `Authorization` header value for a request whose `headers` already hold every name in
/// `signed_headers` (lower-case, sorted), as the SDK computes it.
#[allow(clippy::too_many_arguments)]
pub fn authorization_header(
    access_key: &str,
    secret_key: &str,
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    signed_headers: &[&str],
    body: &[u8],
) -> Result<String, SignatureError> {
    let to_sign =
        request_string_to_sign(method, raw_path, raw_query, headers, signed_headers, body)?;
    Ok(format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={}",
        signed_headers.join(";"),
        sign(secret_key, &to_sign)
    ))
}

/// The string to sign for a request as received (or about to be sent): its `X-Sdk-Date`, and
/// the canonical request over `signed_headers` and the body's hash. Signing and verifying both
/// start here, so they cannot disagree.
fn request_string_to_sign(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    signed_headers: &[&str],
    body: &[u8],
) -> Result<String, SignatureError> {
    let sdk_date = headers
        .get("x-sdk-date")
        .and_then(|value| value.to_str().ok())
        .ok_or(SignatureError::BadDate)?;
    let canonical = canonical_request(
        method,
        raw_path,
        raw_query,
        headers,
        signed_headers,
        &payload_hash(headers, body),
    )?;
    Ok(string_to_sign(sdk_date, &canonical))
}

/// Checks `X-Sdk-Date` against `now` (the injected clock), within ± `window`.
pub fn check_date(
    sdk_date: Option<&str>,
    now: OffsetDateTime,
    window: Duration,
) -> Result<(), SignatureError> {
    let date = sdk_date
        .and_then(|text| PrimitiveDateTime::parse(text, SDK_DATE).ok())
        .ok_or(SignatureError::BadDate)?
        .assume_utc();
    if (date - now).abs() > window {
        return Err(SignatureError::DateOutOfWindow(window.whole_minutes()));
    }
    Ok(())
}

/// Verifies a request's signature with `secret_key`, comparing in constant time.
pub fn verify(
    secret_key: &str,
    authorization: &Authorization<'_>,
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), SignatureError> {
    let to_sign = request_string_to_sign(
        method,
        raw_path,
        raw_query,
        headers,
        &authorization.signed_headers,
        body,
    )?;
    let expected: Vec<u8> = (0..authorization.signature.len())
        .step_by(2)
        .filter_map(|at| u8::from_str_radix(&authorization.signature[at..at + 2], 16).ok())
        .collect();
    let mut mac = mac(secret_key);
    mac.update(to_sign.as_bytes());
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const AK: &str = "ACCEPTANCEAK00000001";
    const SK: &str = "acceptanceSecretKey0000000000000000000001";
    const PROJECT: &str = "0123456789abcdef0123456789abcdef";
    const SIGNED: &str = "content-type;host;user-agent;x-project-id;x-sdk-date";

    fn vector_headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", content_type),
            ("host", "127.0.0.1:8080"),
            ("user-agent", "huaweicloud-usdk-python/3.0"),
            ("x-project-id", PROJECT),
            ("x-sdk-date", "20250101T120000Z"),
        ] {
            headers.insert(name, HeaderValue::from_str(value).expect("header"));
        }
        headers
    }

    fn authorization(signature: &str) -> String {
        format!("{ALGORITHM} Access={AK}, SignedHeaders={SIGNED}, Signature={signature}")
    }

    const VECTOR_1_PATH: &str = "/v1/0123456789abcdef0123456789abcdef/cloudservers/detail";
    const VECTOR_1_QUERY: &str = "limit=10&name=acc%20web";
    const VECTOR_1_SIGNATURE: &str =
        "fd3ed2231588f6f3768824f87faaa4641e4786d31406ff2172a94046af9159bc";
    const VECTOR_2_PATH: &str = "/v1/0123456789abcdef0123456789abcdef/cloudservers/action";
    const VECTOR_2_BODY: &[u8] =
        br#"{"os-stop": {"servers": [{"id": "616fb98f-46ca-475e-917e-2563e5a8cd19"}], "type": "SOFT"}}"#;
    const VECTOR_2_SIGNATURE: &str =
        "08830a2bbed50809aec2432fd53305f7b84623362005ed7e5f4210119b0c2ccf";

    #[test]
    fn vector_1_get_with_a_query() {
        let headers = vector_headers("application/json");
        let signed: Vec<&str> = SIGNED.split(';').collect();
        let canonical = canonical_request(
            "GET",
            VECTOR_1_PATH,
            VECTOR_1_QUERY,
            &headers,
            &signed,
            EMPTY_BODY_SHA256,
        )
        .expect("canonical");
        let expected_canonical = "GET\n/v1/0123456789abcdef0123456789abcdef/cloudservers/detail/\nlimit=10&name=acc%20web\ncontent-type:application/json\nhost:127.0.0.1:8080\nuser-agent:huaweicloud-usdk-python/3.0\nx-project-id:0123456789abcdef0123456789abcdef\nx-sdk-date:20250101T120000Z\n\ncontent-type;host;user-agent;x-project-id;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(canonical, expected_canonical);
        let to_sign = string_to_sign("20250101T120000Z", &canonical);
        assert_eq!(to_sign, "SDK-HMAC-SHA256\n20250101T120000Z\n83ec32fe97b617ae9547f68b03f7a9c3daa91abe977d16ac3d26112ab5ee8520");
        assert_eq!(sign(SK, &to_sign), VECTOR_1_SIGNATURE);
        let header = authorization(VECTOR_1_SIGNATURE);
        let parsed = parse_authorization(&header).expect("parses");
        assert_eq!(
            verify(
                SK,
                &parsed,
                "GET",
                VECTOR_1_PATH,
                VECTOR_1_QUERY,
                &headers,
                b""
            ),
            Ok(())
        );
    }

    #[test]
    fn vector_2_post_with_a_body() {
        let headers = vector_headers("application/json;charset=utf-8");
        assert_eq!(
            payload_hash(&headers, VECTOR_2_BODY),
            "5be3664d5d13a8edaea3cfd96342a4b4b11a6590e9d92d29b76af938dcb124ad"
        );
        let signed: Vec<&str> = SIGNED.split(';').collect();
        let canonical = canonical_request(
            "POST",
            VECTOR_2_PATH,
            "",
            &headers,
            &signed,
            &payload_hash(&headers, VECTOR_2_BODY),
        )
        .expect("canonical");
        let to_sign = string_to_sign("20250101T120000Z", &canonical);
        assert!(
            to_sign.ends_with("9f3c3f1119185dfd15ed7fd307c98368b8661caa0928dd25cf43a20f070cf5af")
        );
        assert_eq!(sign(SK, &to_sign), VECTOR_2_SIGNATURE);
        let header = authorization(VECTOR_2_SIGNATURE);
        let parsed = parse_authorization(&header).expect("parses");
        assert_eq!(
            verify(
                SK,
                &parsed,
                "POST",
                VECTOR_2_PATH,
                "",
                &headers,
                VECTOR_2_BODY
            ),
            Ok(())
        );
    }

    /// Every part of a signed request, changed, breaks the signature.
    #[test]
    fn any_mutation_of_a_signed_request_is_refused() {
        let header = authorization(VECTOR_2_SIGNATURE);
        let parsed = parse_authorization(&header).expect("parses");
        let headers = vector_headers("application/json;charset=utf-8");
        let check = |method: &str, path: &str, query: &str, headers: &HeaderMap, body: &[u8]| {
            verify(SK, &parsed, method, path, query, headers, body)
        };
        assert_eq!(
            check("POST", VECTOR_2_PATH, "", &headers, VECTOR_2_BODY),
            Ok(()),
            "the original passes"
        );
        for name in SIGNED.split(';') {
            let mut changed = headers.clone();
            changed.insert(name, HeaderValue::from_static("tampered"));
            assert_eq!(
                check("POST", VECTOR_2_PATH, "", &changed, VECTOR_2_BODY),
                Err(SignatureError::Mismatch),
                "{name} changed"
            );
            let mut dropped = headers.clone();
            dropped.remove(name);
            assert!(
                check("POST", VECTOR_2_PATH, "", &dropped, VECTOR_2_BODY).is_err(),
                "{name} dropped"
            );
        }
        let mut body = VECTOR_2_BODY.to_vec();
        body[20] ^= 1;
        assert_eq!(
            check("POST", VECTOR_2_PATH, "", &headers, &body),
            Err(SignatureError::Mismatch),
            "one body byte"
        );
        let other_project = VECTOR_2_PATH.replace("0123456789abcdef", "fedcba9876543210");
        assert_eq!(
            check("POST", &other_project, "", &headers, VECTOR_2_BODY),
            Err(SignatureError::Mismatch),
            "path"
        );
        assert_eq!(
            check("POST", VECTOR_2_PATH, "x=1", &headers, VECTOR_2_BODY),
            Err(SignatureError::Mismatch),
            "query"
        );
        assert_eq!(
            check("PUT", VECTOR_2_PATH, "", &headers, VECTOR_2_BODY),
            Err(SignatureError::Mismatch),
            "method"
        );
        assert_eq!(
            verify(
                "anotherSecret",
                &parsed,
                "POST",
                VECTOR_2_PATH,
                "",
                &headers,
                VECTOR_2_BODY
            ),
            Err(SignatureError::Mismatch),
            "another key's secret"
        );
    }

    #[test]
    fn what_ecsd_signs_it_verifies() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("host", HeaderValue::from_static("127.0.0.1:8774"));
        headers.insert("x-project-id", HeaderValue::from_static(PROJECT));
        let at = OffsetDateTime::from_unix_timestamp(1_735_732_800).expect("time");
        headers.insert(
            "x-sdk-date",
            HeaderValue::from_str(&sdk_date(at)).expect("date"),
        );
        assert_eq!(sdk_date(at), "20250101T120000Z");
        let body = br#"{"os-start":{"servers":[{"id":"x"}]}}"#;
        let header = authorization_header(
            AK,
            SK,
            "POST",
            VECTOR_2_PATH,
            "b=2&a=1",
            &headers,
            &CLIENT_SIGNED_HEADERS,
            body,
        )
        .expect("signs");
        let parsed = parse_authorization(&header).expect("parses");
        assert_eq!(parsed.access_key, AK);
        assert_eq!(
            verify(
                SK,
                &parsed,
                "POST",
                VECTOR_2_PATH,
                "a=1&b=2",
                &headers,
                body
            ),
            Ok(()),
            "query order is canonical"
        );
        assert_eq!(
            verify(
                SK,
                &parsed,
                "POST",
                VECTOR_2_PATH,
                "a=1&b=3",
                &headers,
                body
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn canonical_forms_follow_the_sdk() {
        assert_eq!(
            canonical_uri("/v1/p/cloudservers/action"),
            "/v1/p/cloudservers/action/"
        );
        assert_eq!(
            canonical_uri("/cloudservers/x%2Fy"),
            "/cloudservers/x/y/",
            "decoded before splitting"
        );
        assert_eq!(canonical_uri("/a b/%7Ec"), "/a%20b/~c/");
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("q=a+b&r=%2B"), "q=a%2Bb&r=%2B");
        assert_eq!(canonical_query(""), "");
    }

    /// The copy of plain paths must give what decoding and re-encoding each segment gives.
    #[test]
    fn plain_paths_are_their_own_canonical_form() {
        let decoded_and_reencoded = |raw: &str| {
            let decoded = decode(raw);
            let uri = decoded.split('/').map(encode).collect::<Vec<_>>().join("/");
            if uri.ends_with('/') {
                uri
            } else {
                uri + "/"
            }
        };
        for raw in [
            "/v1/0123456789abcdef0123456789abcdef/jobs/ff80808288d41e1b018990260955686a",
            "/v1/p/cloudservers/",
            "/v2.1/p/servers/a-b_c.d~e",
            "/",
            "//double//slashes",
            "/with%20space/%41",
            "/plus+sign/and:colon",
            "/caf\u{e9}/x",
        ] {
            assert_eq!(canonical_uri(raw), decoded_and_reencoded(raw), "{raw}");
        }
        assert_eq!(canonical_uri("/plus+sign"), "/plus%2Bsign/");
    }

    #[test]
    fn malformed_authorizations_are_refused_with_a_reason() {
        let good = authorization(VECTOR_1_SIGNATURE);
        assert!(parse_authorization(&good).is_ok());
        let cases = [
            (
                "SDK-HMAC-SM3 Access=a, SignedHeaders=host, Signature=00",
                "unsupported",
            ),
            ("Basic dXNlcjpwYXNz", "unsupported"),
            ("SDK-HMAC-SHA256", "no credentials"),
            (
                "SDK-HMAC-SHA256 Access=a,SignedHeaders=host, Signature=00",
                "not an access key",
            ),
            ("SDK-HMAC-SHA256 Access=a, SignedHeaders", "not key=value"),
            (&good.replace(", Signature=", ", Sig="), "unknown part"),
            (&good.replace(VECTOR_1_SIGNATURE, "xyz"), "64 hex"),
            (&good.replace("content-type", "Content-Type"), "lower-case"),
            (&format!("{good}, Access=b"), "repeated"),
        ];
        for (header, reason) in cases {
            let error = parse_authorization(header).expect_err(header);
            assert!(
                error.to_string().to_lowercase().contains(reason),
                "{header}: {error}"
            );
        }
    }

    /// The edges of each part's rule, one condition at a time: an access key may hold `-` and
    /// `_` as well as letters and digits; a signature must be 64 characters *and* hex.
    #[test]
    fn each_rule_of_the_authorization_parts_holds_on_its_own() {
        let with_key = |key: &str| {
            format!(
                "{ALGORITHM} Access={key}, SignedHeaders={SIGNED}, Signature={VECTOR_1_SIGNATURE}"
            )
        };
        for key in ["AK_with_underscore", "AK-with-dash", "_", "-"] {
            let header = with_key(key);
            let parsed = parse_authorization(&header).expect(key);
            assert_eq!(parsed.access_key, key);
        }
        for key in ["AK.dot", "AK/slash", "AK+plus"] {
            assert!(parse_authorization(&with_key(key)).is_err(), "{key}");
        }
        let signed_with = |signature: &str| {
            format!("{ALGORITHM} Access={AK}, SignedHeaders={SIGNED}, Signature={signature}")
        };
        let not_hex = "g".repeat(64);
        let short = &VECTOR_1_SIGNATURE[..63];
        let long = format!("{VECTOR_1_SIGNATURE}0");
        for signature in [not_hex.as_str(), short, long.as_str()] {
            let header = signed_with(signature);
            let error = parse_authorization(&header).expect_err(signature);
            assert!(error.to_string().contains("64 hex"), "{signature}: {error}");
        }
        assert!(parse_authorization(&signed_with(&VECTOR_1_SIGNATURE.to_uppercase())).is_ok());
    }

    #[test]
    fn dates_outside_fifteen_minutes_are_refused() {
        let now = OffsetDateTime::from_unix_timestamp(1_735_732_800).expect("time"); // 2025-01-01T12:00:00Z
        let window = Duration::minutes(15);
        assert_eq!(check_date(Some("20250101T120000Z"), now, window), Ok(()));
        assert_eq!(check_date(Some("20250101T121500Z"), now, window), Ok(()));
        assert_eq!(
            check_date(Some("20250101T121501Z"), now, window),
            Err(SignatureError::DateOutOfWindow(15))
        );
        assert_eq!(
            check_date(Some("20250101T114459Z"), now, window),
            Err(SignatureError::DateOutOfWindow(15))
        );
        assert_eq!(
            check_date(Some("2025-01-01T12:00:00Z"), now, window),
            Err(SignatureError::BadDate)
        );
        assert_eq!(check_date(None, now, window), Err(SignatureError::BadDate));
    }
}
