//! Fuzzes what an unauthenticated client controls in AK/SK verification: the `Authorization`
//! header, the raw path and query, header values and the body. The parser and the
//! canonicalisation must never panic, and verification must never accept a request that was not
//! signed with the secret (the fuzzer cannot guess an HMAC, so any success is a bug).

#![no_main]

use api::signature::{canonical_query, canonical_uri, check_date, parse_authorization, verify};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Split the input into fields at 0xff bytes: authorization, path, query, a header value,
    // and the body.
    let mut fields = data.split(|byte| *byte == 0xff);
    let text = |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
    let authorization = text(fields.next());
    let path = text(fields.next());
    let query = text(fields.next());
    let header_value = text(fields.next());
    let body = fields.next().unwrap_or_default();

    let _ = canonical_uri(&path);
    let _ = canonical_query(&query);
    let _ = check_date(Some(&header_value), time::OffsetDateTime::UNIX_EPOCH, time::Duration::minutes(15));

    let Ok(parsed) = parse_authorization(&authorization) else {
        return;
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&header_value) {
        for name in &parsed.signed_headers {
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                headers.insert(name, value.clone());
            }
        }
    }
    let verdict = verify("fuzzSecretKey000000000000000000000000001", &parsed, "POST", &path, &query, &headers, body);
    assert!(verdict.is_err(), "a request the fuzzer made up was accepted");
});
