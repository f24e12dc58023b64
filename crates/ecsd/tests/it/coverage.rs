//! The coverage matrix `docs/coverage.md`: every operation of the reference and whether ecsd
//! implements it, rendered from the reference's facts (`tests/reference/pages.json`, kept equal
//! to the reference by `reference_data`) and the router, so it cannot drift from either.
//!
//! An operation is implemented when, for each of its URIs, the router has a route for it: the
//! in-process router is asked `METHOD path` (placeholders replaced by well-formed dummy ids, a
//! `{}` body for POST and PUT) and
//! - the answer is not the router's own "no such API" (`APIGW.0101`, the gateway's answer to an
//!   unknown path or method): any other answer, even a 400 or an ECS 404, comes from a handler; and
//! - the route that answered has the URI's own template. Without this check a page at
//!   `GET /v1/{project_id}/cloudservers/<name>` would count as implemented before its route
//!   exists, because `/v1/{project_id}/cloudservers/{server_id}` takes `<name>` as a server id
//!   (as it took `limits` until the quota page was implemented).
//!
//! Pages that share a method and path (batch start, stop and reboot; adding and deleting tags;
//! the native `…/servers/{server_id}/action`) are told apart by their body, which this probe does
//! not look at: they are implemented together, and `fidelity` then sends each page's own
//! example.
//!
//! `cargo test -p ecsd --test it coverage` fails when `docs/coverage.md` differs from the
//! rendering; `ECSD_UPDATE_COVERAGE=1` rewrites the file instead.

use crate::http::Api;
use crate::reference::{Part, Uri};
use crate::reference_data::{self, Page};
use crate::support::PROJECT;
use axum::http::Method;
use engine::compute::LatencyProfile;

const MATRIX_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/coverage.md");
const UPDATE_VARIABLE: &str = "ECSD_UPDATE_COVERAGE";

/// The number of asynchronous operations in `apis_recommended/` (ASYNC-OPERATIONS.md §0.5).
const ASYNC_OPERATIONS: usize = 13;

/// A well-formed value for each placeholder of the reference's URIs; anything else gets
/// [`DUMMY_NAME`].
const DUMMY_IDS: &[(&str, &str)] = &[
    ("{project_id}", PROJECT),
    ("{server_id}", "3f8f2a64-5d1c-4c59-9e31-6d2a9e0c7b11"),
    ("{job_id}", "0123456789abcdef0123456789abcdef"),
    ("{volume_id}", "6d4e1a52-1b8c-4f0e-a1d7-2c9b8e3f4a21"),
    ("{port_id}", "9b2c7d4e-3f1a-4e6b-8c5d-1a2b3c4d5e61"),
    ("{server_group_id}", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e51"),
    ("{flavor_id}", "s6.small.1"),
    ("{api_version}", "v2.1"),
];
const DUMMY_NAME: &str = "dummy-name";

/// Whether ecsd implements one URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routed {
    Yes,
    No,
}

/// `path` with every `{placeholder}` replaced by a dummy value.
pub(crate) fn with_dummy_ids(path: &str) -> String {
    let mut concrete = path.to_owned();
    for (placeholder, value) in DUMMY_IDS {
        concrete = concrete.replace(placeholder, value);
    }
    while let (Some(open), Some(close)) = (concrete.find('{'), concrete.find('}')) {
        if close < open {
            break;
        }
        concrete.replace_range(open..=close, DUMMY_NAME);
    }
    concrete
}

/// The template with each placeholder's name dropped: `/v1/{}/cloudservers/{}`.
fn shape(template: &str) -> String {
    let mut shape = String::with_capacity(template.len());
    let mut in_placeholder = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_placeholder = true;
                shape.push('{');
            }
            '}' => {
                in_placeholder = false;
                shape.push('}');
            }
            _ if in_placeholder => {}
            _ => shape.push(c),
        }
    }
    shape
}

/// Asks the router for `uri` (see the module comment). Returns the decision and the answer, for
/// messages.
pub(crate) async fn probe(api: &Api, uri: &Uri) -> (Routed, String) {
    let method = Method::from_bytes(uri.method.as_bytes()).unwrap_or(Method::GET);
    let with_body = method == Method::POST || method == Method::PUT;
    let (status, body, route) = api
        .send_and_route(
            method,
            &with_dummy_ids(&uri.path),
            with_body.then_some("application/json"),
            if with_body { "{}" } else { "" },
        )
        .await;
    let code = crate::support::error_code(&body);
    let answer = format!("{status} {code} (route {route:?})");
    let router_refused = code == api::error_codes::APIGW_0101.code;
    let same_route = route.is_some_and(|route| shape(&route) == shape(&uri.path));
    let routed = if !router_refused && same_route {
        Routed::Yes
    } else {
        Routed::No
    };
    (routed, answer)
}

/// One row of the matrix.
struct Operation<'a> {
    page: &'a Page,
    routed: Vec<Routed>,
}

impl Operation<'_> {
    /// Routed, and not a documented refusal.
    fn implemented(&self) -> bool {
        self.routed_everywhere() && self.refusal().is_none()
    }

    fn routed_everywhere(&self) -> bool {
        !self.routed.is_empty() && self.routed.iter().all(|routed| *routed == Routed::Yes)
    }

    /// Why ecsd answers this page with a documented refusal (`fidelity::REFUSED_PAGES`), if it
    /// does.
    fn refusal(&self) -> Option<&'static str> {
        crate::fidelity::REFUSED_PAGES
            .iter()
            .find(|(file, _)| *file == self.page.file)
            .map(|(_, reason)| *reason)
    }

    fn cell(&self) -> String {
        if let (true, Some(reason)) = (self.routed_everywhere(), self.refusal()) {
            return format!("refused (501): {}", escape(reason));
        }
        let yes = self.routed.iter().filter(|r| **r == Routed::Yes).count();
        match yes {
            0 => "no".to_owned(),
            _ if yes == self.routed.len() => "**yes**".to_owned(),
            _ => format!("partly ({yes} of {} URIs)", self.routed.len()),
        }
    }
}

/// Every operation page of `part`, probed; pages without a URI come back separately.
async fn classify<'a>(api: &Api, pages: &'a [Page]) -> (Vec<Operation<'a>>, Vec<&'a Page>) {
    let mut operations = Vec::new();
    let mut without_uri = Vec::new();
    for page in pages {
        if page.uris.is_empty() {
            without_uri.push(page);
            continue;
        }
        let mut routed = Vec::with_capacity(page.uris.len());
        for uri in &page.uris {
            routed.push(probe(api, uri).await.0);
        }
        operations.push(Operation { page, routed });
    }
    (operations, without_uri)
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}

fn render_table(out: &mut String, operations: &[Operation<'_>], with_async_column: bool) {
    if with_async_column {
        out.push_str("| operation | method and path | async | implemented | reference page |\n");
        out.push_str("|---|---|---|---|---|\n");
    } else {
        out.push_str("| operation | method and path | implemented | reference page |\n");
        out.push_str("|---|---|---|---|\n");
    }
    for operation in operations {
        let page = operation.page;
        let uris: Vec<String> = page
            .uris
            .iter()
            .map(|uri| format!("`{} {}`", uri.method, uri.path))
            .collect();
        let title = if page.title.is_empty() {
            "(no title)"
        } else {
            &page.title
        };
        out.push_str(&format!("| {} | {} |", escape(title), uris.join("<br>")));
        if with_async_column {
            out.push_str(if page.is_async { " async |" } else { " |" });
        }
        out.push_str(&format!(" {} | `{}` |\n", operation.cell(), page.file));
    }
}

/// The whole of `docs/coverage.md`.
fn render(
    recommended: &[Operation<'_>],
    native: &[Operation<'_>],
    without_uri: &[&Page],
) -> String {
    let count = |operations: &[Operation<'_>]| {
        operations
            .iter()
            .filter(|operation| operation.implemented())
            .count()
    };
    let asynchronous: Vec<&Operation<'_>> = recommended
        .iter()
        .filter(|operation| operation.page.is_async)
        .collect();
    let async_implemented = asynchronous
        .iter()
        .filter(|operation| operation.implemented())
        .count();
    let mut out = String::new();
    out.push_str("# Coverage of the ECS API reference\n\n");
    out.push_str(
        "Generated by `crates/ecsd/tests/it/coverage.rs` from the reference's facts \
         (`tests/reference/pages.json`, extracted from `shared/reference/ecs-api-ref/`) and \
         ecsd's router; do not edit by hand. When the \
         router or the reference changes, `cargo test -p ecsd --test it coverage` fails until \
         the file is rewritten with:\n\n",
    );
    out.push_str(&format!(
        "```sh\n{UPDATE_VARIABLE}=1 cargo test -p ecsd --test it coverage\n```\n\n"
    ));
    out.push_str(
        "\"Implemented\" means that the router has a route for each of the page's URIs (the \
         request reaches a handler, whatever it answers). Pages that share a method and path \
         (batch start, stop and reboot; adding and deleting tags; the native \
         `…/servers/{server_id}/action`) differ only by their body and count as implemented \
         together. The wire shape of each implemented operation is checked against its page by \
         `crates/ecsd/tests/it/fidelity.rs`.\n\n",
    );
    out.push_str("## Summary\n\n");
    out.push_str(&format!(
        "- Recommended ECS APIs (`apis_recommended/`): **{} / {}** operations implemented\n",
        count(recommended),
        recommended.len()
    ));
    out.push_str(&format!(
        "- of which asynchronous (answer a `job_id`): **{async_implemented} / {}** implemented\n",
        asynchronous.len()
    ));
    let refused = native
        .iter()
        .filter(|operation| operation.routed_everywhere() && operation.refusal().is_some())
        .count();
    out.push_str(&format!(
        "- Native OpenStack Nova APIs (`native_openstack_nova_apis/`): **{} / {}** operations \
         implemented, {refused} answered with a documented refusal (501 `notImplemented`, \
         reason in the table)\n\n",
        count(native),
        native.len()
    ));
    out.push_str("## Recommended ECS APIs\n\n");
    render_table(&mut out, recommended, true);
    out.push_str("\n## Native OpenStack Nova APIs\n\n");
    render_table(&mut out, native, false);
    if !without_uri.is_empty() {
        out.push_str("\n## Pages without a URI\n\n");
        out.push_str(
            "These pages have no `METHOD /path` line in a URI section and are not counted:\n\n",
        );
        for page in without_uri {
            out.push_str(&format!("- {} (`{}`)\n", escape(&page.title), page.file));
        }
    }
    out
}

#[tokio::test]
async fn coverage_matrix_in_docs_matches_the_router_and_the_reference() {
    let recommended_pages =
        reference_data::pages(Part::Recommended).expect("tests/reference/pages.json is readable");
    let native_pages =
        reference_data::pages(Part::Native).expect("tests/reference/pages.json is readable");
    let api = Api::new(LatencyProfile::Instant);
    let (recommended, mut without_uri) = classify(&api, &recommended_pages).await;
    let (native, native_without_uri) = classify(&api, &native_pages).await;
    without_uri.extend(native_without_uri);

    let asynchronous = recommended.iter().filter(|o| o.page.is_async).count();
    assert_eq!(
        asynchronous, ASYNC_OPERATIONS,
        "the reference has {ASYNC_OPERATIONS} asynchronous operations; the pages saying \
         \"This API is an asynchronous API.\" are {asynchronous}"
    );
    let rendered = render(&recommended, &native, &without_uri);
    if std::env::var_os(UPDATE_VARIABLE).is_some_and(|value| value == "1") {
        std::fs::write(MATRIX_FILE, &rendered).expect("docs/coverage.md is writable");
        println!("rewrote {MATRIX_FILE}");
        return;
    }
    let on_disk = std::fs::read_to_string(MATRIX_FILE).unwrap_or_default();
    if on_disk != rendered {
        let first_difference = on_disk
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| on_disk.lines().count().min(rendered.lines().count()));
        panic!(
            "docs/coverage.md is out of date (first difference at line {}: on disk {:?}, \
             rendered {:?}).\nRewrite it with: {UPDATE_VARIABLE}=1 cargo test -p ecsd --test it \
             coverage",
            first_difference + 1,
            on_disk
                .lines()
                .nth(first_difference)
                .unwrap_or("<end of file>"),
            rendered
                .lines()
                .nth(first_difference)
                .unwrap_or("<end of file>"),
        );
    }
}

#[tokio::test]
async fn a_path_taken_by_another_routes_placeholder_is_not_implemented() {
    let api = Api::new(LatencyProfile::Instant);
    let uri = |method: &str, path: &str| Uri {
        method: method.to_owned(),
        path: path.to_owned(),
    };
    // `/v1/{project_id}/cloudservers/{server_id}` answers `no-such-api` (a malformed server
    // id) … (an invented path, so that the test outlives whichever page is implemented next)
    let (status, body, route) = api
        .send_and_route(
            Method::GET,
            &format!("/v1/{PROJECT}/cloudservers/no-such-api"),
            None,
            "",
        )
        .await;
    assert_eq!(
        route.as_deref(),
        Some("/v1/{project_id}/cloudservers/{server_id}"),
        "{status} {body}"
    );
    assert_ne!(crate::support::error_code(&body), "APIGW.0101");
    // … but such a page would not count as implemented.
    let shadowed = uri("GET", "/v1/{project_id}/cloudservers/no-such-api");
    assert_eq!(probe(&api, &shadowed).await.0, Routed::No);
    // A static route beside `{server_id}` is found.
    let limits = uri("GET", "/v1/{project_id}/cloudservers/limits");
    assert_eq!(probe(&api, &limits).await.0, Routed::Yes);
    // A wrong method and an unknown path are refused by the router.
    let wrong_method = uri("DELETE", "/v1/{project_id}/cloudservers/{server_id}");
    assert_eq!(probe(&api, &wrong_method).await.0, Routed::No);
    let resize = uri(
        "POST",
        "/v1/{project_id}/cloudservers/{server_id}/no-such-action",
    );
    assert_eq!(probe(&api, &resize).await.0, Routed::No);
    // Implemented routes are found whatever the handler answers to dummy ids.
    let show = uri("GET", "/v1/{project_id}/cloudservers/{server_id}");
    assert_eq!(probe(&api, &show).await.0, Routed::Yes);
    let job = uri("GET", "/v1/{project_id}/jobs/{job_id}");
    assert_eq!(probe(&api, &job).await.0, Routed::Yes);
    let create = uri("POST", "/v1/{project_id}/cloudservers");
    assert_eq!(probe(&api, &create).await.0, Routed::Yes);
}

#[test]
fn placeholders_get_well_formed_dummies() {
    assert_eq!(
        with_dummy_ids("/v2.1/{project_id}/servers/{server_id}/tags/{tag}"),
        format!("/v2.1/{PROJECT}/servers/3f8f2a64-5d1c-4c59-9e31-6d2a9e0c7b11/tags/dummy-name")
    );
    assert_eq!(shape("/v1/{project_id}/jobs/{job_id}"), "/v1/{}/jobs/{}");
}

/// ecsd's own extensions among the ECS routes (`api::routes::ECS_EXTENSIONS`): each is in the
/// route table, says "ecsd extension" in its summary, is served, and is on no reference page
/// (so it is not counted in `docs/coverage.md`, nor claimed as the reference's).
#[tokio::test]
async fn ecsd_extensions_are_marked_served_and_not_from_the_reference() {
    let mut pages =
        reference_data::pages(Part::Recommended).expect("tests/reference/pages.json is readable");
    pages.extend(
        reference_data::pages(Part::Native).expect("tests/reference/pages.json is readable"),
    );
    let api = Api::new(LatencyProfile::Instant);
    assert!(!api::routes::ECS_EXTENSIONS.is_empty());
    for id in api::routes::ECS_EXTENSIONS {
        let operation = api::routes::ECS
            .iter()
            .find(|operation| operation.id == *id)
            .unwrap_or_else(|| panic!("{id} is not in routes::ECS"));
        assert!(
            operation.summary.starts_with("ecsd extension"),
            "{id}: {}",
            operation.summary
        );
        let uri = Uri {
            method: operation.method.to_owned(),
            path: operation.path.to_owned(),
        };
        let in_reference = pages.iter().find(|page| {
            page.uris.iter().any(|page_uri| {
                page_uri.method == uri.method && shape(&page_uri.path) == shape(&uri.path)
            })
        });
        assert!(
            in_reference.is_none(),
            "{id} ({} {}) is on the reference page {:?}: it is not an extension",
            uri.method,
            uri.path,
            in_reference.map(|page| &page.file)
        );
        let (routed, answer) = probe(&api, &uri).await;
        assert_eq!(routed, Routed::Yes, "{id}: {answer}");
    }
    // The other ECS operations do not claim to be extensions.
    for operation in api::routes::ECS {
        if !api::routes::ECS_EXTENSIONS.contains(&operation.id) {
            assert!(
                !operation.summary.contains("ecsd extension"),
                "{} says it is an extension but is not in ECS_EXTENSIONS",
                operation.id
            );
        }
    }
}
