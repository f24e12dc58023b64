//! HTML building blocks of the dashboard: escaping and the page frame. Pages are plain
//! strings built by small functions; every value that comes from a request or the store goes
//! through [`escape`] (names, ids, reasons are tenant input), so no template engine is needed.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Percent-encodes a value for a URL query or path segment (then [`escape`] it for HTML).
pub fn url_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Jobs,
    Servers,
    Control,
    None,
}

/// A whole page: `title` (plain text), the `main` element's attributes (already escaped) and
/// its content (HTML). `logout` shows the log-out button (sessions exist only with a token).
pub fn page(title: &str, nav: Nav, main_attributes: &str, content: &str, logout: bool) -> String {
    let link = |entry: Nav, href: &str, label: &str| {
        let current = if entry == nav {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{href}\"{current}>{label}</a>")
    };
    let logout = if logout {
        "<form method=\"post\" action=\"/_ecsd/ui/logout\" class=\"logout\"><button type=\"submit\">Log out</button></form>"
    } else {
        ""
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · ecsd</title><link rel=\"icon\" href=\"data:,\">\
<link rel=\"stylesheet\" href=\"/_ecsd/ui/assets/dashboard.css\">\
<script src=\"/_ecsd/ui/assets/dashboard.js\" defer></script></head>\
<body><header><span class=\"brand\">ecsd</span><nav>{jobs}{servers}{control}</nav>\
<span id=\"live\" class=\"live\" title=\"server-sent events from /_ecsd/events\"></span>{logout}</header>\
<main {main_attributes}>{content}</main></body></html>",
        title = escape(title),
        jobs = link(Nav::Jobs, "/_ecsd/ui", "Jobs"),
        servers = link(Nav::Servers, "/_ecsd/ui/servers", "Servers"),
        control = link(Nav::Control, "/_ecsd/ui/control", "Faults · clock · snapshots"),
    )
}

/// An HTML answer, with the headers every dashboard page gets: no caching (it shows live
/// state), no framing (clickjacking), scripts and styles from ecsd only.
pub fn respond(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A duration in milliseconds as people read it: `850 ms`, `12.3 s`, `4 min 05 s`.
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {:02} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_what_breaks_out_of_content_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(url_part("a b/<c>"), "a%20b%2F%3Cc%3E");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_340), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
        assert_eq!(duration(-5), "0 ms");
    }
}
