//! The request log: the last N requests ecsd answered, kept in memory so a test can read back
//! how its tool behaved (how often it polled, whether it retried, which body fields were
//! ignored). Filled by [`crate::observe::access_log`], where the request's log line is written;
//! read through `GET /_ecsd/requests` ([`requests_view`]).
//!
//! An entry holds what the log line holds (never a secret, token, signature or body): the
//! access key names the caller, like a user name. The admin API's own calls (`/_ecsd/…`,
//! `/metrics`) are not recorded: a test polling this log would otherwise fill it with itself.

use crate::body::query_pairs;
use crate::error::ApiError;
use crate::error_codes;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock, PoisonError};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The default bound of the ring (`--request-log-size`): at about 640 bytes an entry (measured:
/// RSS grew 4.9 MiB over 8,000 entries), 6 MB.
pub const DEFAULT_REQUEST_LOG_SIZE: usize = 10_000;

/// The default and the largest `limit` of one read.
pub const DEFAULT_READ_LIMIT: usize = 1000;
pub const MAX_READ_LIMIT: usize = 10_000;

/// One answered request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestEntry {
    /// 1, 2, 3… in the order the answers were recorded; never reused while ecsd runs.
    pub seq: u64,
    /// When the request arrived, on the engine's clock (RFC 3339).
    #[serde(serialize_with = "rfc3339")]
    pub time: OffsetDateTime,
    pub method: String,
    /// The path as received, without the query.
    pub path: String,
    /// The matched route's template (`/v1/{project_id}/jobs/{job_id}`), or `null`.
    pub route: Option<String>,
    /// The route table's operation id (`ShowJob`, `CreateServers`…), or `null`.
    pub operation: Option<&'static str>,
    pub status: u16,
    /// The error code of an error answer.
    pub code: Option<&'static str>,
    /// Time to answer (to the response head), in milliseconds with microsecond precision.
    pub duration_ms: f64,
    pub request_id: String,
    /// The job the answer accepted.
    pub job_id: Option<String>,
    /// The access key the request presented (or its token belongs to).
    pub access_key: Option<String>,
    /// The `{project_id}` of the path.
    pub project_id: Option<String>,
    /// Dotted paths of body fields ecsd does not model and ignored (`server.availabilty_zone`).
    pub ignored_fields: Vec<String>,
}

fn rfc3339<S: serde::Serializer>(time: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    let text = time.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
    serializer.serialize_str(&text)
}

/// The bounded ring of [`RequestEntry`]s. Size 0 records nothing.
#[derive(Debug)]
pub struct RequestLog {
    capacity: usize,
    ring: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<RequestEntry>,
    /// The `seq` of the last entry recorded (0: none yet).
    last_seq: u64,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self::new(DEFAULT_REQUEST_LOG_SIZE)
    }
}

/// Which entries a read wants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestFilter {
    pub since: Option<Since>,
    pub project_id: Option<String>,
    pub limit: Option<usize>,
}

/// `since`: entries after a sequence number, or after a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Since {
    Seq(u64),
    Time(OffsetDateTime),
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ring: Mutex::new(Ring {
                // Grown as entries come: a large bound costs nothing until it is used.
                entries: VecDeque::new(),
                last_seq: 0,
            }),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        // An entry is pushed whole; a panic elsewhere cannot leave the ring half-written.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `entry` (its `seq` is assigned here), dropping the oldest beyond the bound.
    pub fn record(&self, mut entry: RequestEntry) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = self.ring();
        ring.last_seq += 1;
        entry.seq = ring.last_seq;
        if ring.entries.len() == self.capacity {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry);
    }

    /// The entries matching `filter`, oldest first, and the `seq` of the last entry recorded.
    pub fn read(&self, filter: &RequestFilter) -> (Vec<RequestEntry>, u64) {
        let limit = filter.limit.unwrap_or(DEFAULT_READ_LIMIT);
        let ring = self.ring();
        let entries = ring
            .entries
            .iter()
            .filter(|entry| match &filter.since {
                None => true,
                Some(Since::Seq(seq)) => entry.seq > *seq,
                Some(Since::Time(time)) => entry.time > *time,
            })
            .filter(|entry| match &filter.project_id {
                None => true,
                Some(project) => entry.project_id.as_deref() == Some(project.as_str()),
            })
            .take(limit)
            .cloned()
            .collect();
        (entries, ring.last_seq)
    }
}

/// Whether `path` is the admin API's (not recorded: see the module's documentation).
pub fn is_admin_path(path: &str) -> bool {
    path.starts_with("/_ecsd/") || path == crate::routes::METRICS_PATH
}

/// The route table's operation id of `method` on the route `template`.
pub fn operation_of(method: &str, template: &str) -> Option<&'static str> {
    static IDS: OnceLock<HashMap<(&'static str, &'static str), &'static str>> = OnceLock::new();
    IDS.get_or_init(|| {
        crate::routes::all()
            .map(|operation| ((operation.method, operation.path), operation.id))
            .collect()
    })
    .get(&(method, template))
    .copied()
}

/// The `{project_id}` segment of `path`, matched against its route `template`.
pub fn project_of(template: &str, path: &str) -> Option<String> {
    template
        .split('/')
        .zip(path.split('/'))
        .find(|(pattern, _)| *pattern == "{project_id}")
        .map(|(_, segment)| segment.to_owned())
}

/// The query of `GET /_ecsd/requests`; unknown parameters are refused (a typo would otherwise
/// silently read everything).
pub fn parse_filter(raw: Option<&str>) -> Result<RequestFilter, ApiError> {
    let mut filter = RequestFilter::default();
    for (name, value) in query_pairs(raw)? {
        match name.as_str() {
            "since" => filter.since = Some(parse_since(&value)?),
            "project_id" => filter.project_id = Some(value),
            "limit" => {
                let limit = value
                    .parse()
                    .ok()
                    .filter(|limit| (1..=MAX_READ_LIMIT).contains(limit))
                    .ok_or_else(|| {
                        bad_request(format!(
                            "limit: must be an integer from 1 to {MAX_READ_LIMIT}, not {value:?}"
                        ))
                    })?;
                filter.limit = Some(limit);
            }
            other => {
                return Err(bad_request(format!(
                    "{other}: unknown query parameter (since, project_id, limit)"
                )))
            }
        }
    }
    Ok(filter)
}

fn parse_since(value: &str) -> Result<Since, ApiError> {
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return value
            .parse()
            .map(Since::Seq)
            .map_err(|_| bad_request(format!("since: {value:?} is too large")));
    }
    OffsetDateTime::parse(value, &Rfc3339)
        .map(Since::Time)
        .map_err(|_| {
            bad_request(format!(
                "since: {value:?} is neither a sequence number (seq) nor an RFC 3339 time"
            ))
        })
}

fn bad_request(message: String) -> ApiError {
    ApiError::new(error_codes::ECSD_BAD_REQUEST, message)
}

/// The answer of `GET /_ecsd/requests`.
#[derive(Debug, Serialize)]
pub struct RequestsAnswer {
    /// Oldest first, at most `limit`.
    pub requests: Vec<RequestEntry>,
    /// The `seq` of the last request recorded, matching or not: pass it as `since` to read only
    /// what comes after now.
    pub last_seq: u64,
    /// The ring's bound (`--request-log-size`).
    pub capacity: usize,
}

/// `GET /_ecsd/requests?since=&project_id=&limit=`.
pub async fn requests_view(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<RequestsAnswer>, ApiError> {
    let filter = parse_filter(query.as_deref())?;
    let (requests, last_seq) = state.requests.read(&filter);
    Ok(Json(RequestsAnswer {
        requests,
        last_seq,
        capacity: state.requests.capacity(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry(project: &str, time: OffsetDateTime) -> RequestEntry {
        RequestEntry {
            seq: 0,
            time,
            method: "GET".into(),
            path: format!("/v1/{project}/cloudservers/detail"),
            route: Some("/v1/{project_id}/cloudservers/detail".into()),
            operation: Some("ListServersDetails"),
            status: 200,
            code: None,
            duration_ms: 1.0,
            request_id: "r".into(),
            job_id: None,
            access_key: None,
            project_id: Some(project.into()),
            ignored_fields: Vec::new(),
        }
    }

    #[test]
    fn the_ring_keeps_the_last_n_and_numbers_them_in_order() {
        let log = RequestLog::new(3);
        let at = datetime!(2026-12-06 08:00 UTC);
        for _ in 0..5 {
            log.record(entry("p", at));
        }
        let (entries, last) = log.read(&RequestFilter::default());
        assert_eq!(last, 5);
        let seqs: Vec<u64> = entries.iter().map(|entry| entry.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
    }

    #[test]
    fn a_size_of_zero_records_nothing() {
        let log = RequestLog::new(0);
        log.record(entry("p", datetime!(2026-12-06 08:00 UTC)));
        let (entries, last) = log.read(&RequestFilter::default());
        assert!(entries.is_empty());
        assert_eq!(last, 0);
    }

    #[test]
    fn filters_take_since_a_seq_or_a_time_a_project_and_a_limit() {
        let log = RequestLog::new(10);
        log.record(entry("a", datetime!(2026-12-06 08:00 UTC)));
        log.record(entry("b", datetime!(2026-12-06 08:01 UTC)));
        log.record(entry("a", datetime!(2026-12-06 08:02 UTC)));
        log.record(entry("a", datetime!(2026-12-06 08:03 UTC)));
        let seqs = |query: &str| -> Vec<u64> {
            let filter = parse_filter(Some(query)).expect("valid query");
            log.read(&filter).0.iter().map(|entry| entry.seq).collect()
        };
        assert_eq!(seqs("since=2"), [3, 4]);
        assert_eq!(seqs("since=2026-12-06T08:01:00Z"), [3, 4]);
        assert_eq!(seqs("project_id=a"), [1, 3, 4]);
        assert_eq!(seqs("project_id=a&since=1&limit=1"), [3]);
        assert_eq!(seqs("project_id=c"), Vec::<u64>::new());
    }

    #[test]
    fn entries_name_the_operation_and_the_project_of_their_route() {
        assert_eq!(
            operation_of("GET", "/v1/{project_id}/jobs/{job_id}"),
            Some("ShowJob")
        );
        assert_eq!(
            operation_of("DELETE", "/v1/{project_id}/jobs/{job_id}"),
            None
        );
        assert_eq!(
            project_of("/v1/{project_id}/jobs/{job_id}", "/v1/abc/jobs/j").as_deref(),
            Some("abc")
        );
        assert_eq!(
            project_of("/v2.1/servers/{server_id}", "/v2.1/servers/s"),
            None
        );
        assert!(is_admin_path("/_ecsd/requests"));
        assert!(is_admin_path("/metrics"));
        assert!(!is_admin_path("/v1/p/cloudservers"));
    }

    #[test]
    fn bad_queries_are_400_naming_the_parameter() {
        for (query, field) in [
            ("since=yesterday", "since"),
            ("limit=0", "limit"),
            ("limit=10001", "limit"),
            ("projectid=a", "projectid"),
        ] {
            let error = parse_filter(Some(query)).expect_err(query);
            assert_eq!(error.code.code, "Ecsd.0400", "{query}");
            assert!(error.message.starts_with(field), "{query}: {error:?}");
        }
    }
}
