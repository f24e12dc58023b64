//! The state of the emulated cloud under the user's control: reset, snapshots, export.
//!
//! - `POST /_ecsd/reset` (optionally `?project_id=`): removes every job, server, server group,
//!   key pair, private image and client token (`X-Client-Token` records) — of that project, or
//!   of all — and, for a full reset, the tokens' side state (the rate-limit buckets and the
//!   login limits' counters); accounts and configuration stay. Answers what it removed.
//! - `POST /_ecsd/snapshots {"name"}` saves a consistent copy (201), `GET /_ecsd/snapshots`
//!   lists them, `POST /_ecsd/snapshots/{name}/restore` replaces the whole state with one,
//!   `DELETE /_ecsd/snapshots/{name}` deletes one (204).
//! - `GET /_ecsd/export` sends a fresh snapshot of the current state as a file
//!   (`?snapshot=NAME`: a saved one), which `ecsd serve --import FILE` starts from.
//!
//! After a reset or a restore the job views cached in memory are dropped, so a job query never
//! answers from before it.

use super::clock::{bad_request, read_json, rfc3339};
use crate::error::ApiError;
use crate::error_codes;
use crate::identity::auth::Auth;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::store::{SnapshotError, SnapshotInfo};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

fn snapshot_view(snapshot: &SnapshotInfo) -> Value {
    json!({
        "name": snapshot.name,
        "bytes": snapshot.bytes,
        "created_at": rfc3339(engine::clock::from_unix_ms(snapshot.created_at)),
    })
}

fn snapshot_error(error: SnapshotError) -> ApiError {
    match error {
        SnapshotError::NotFound(name) => ApiError::new(
            error_codes::ECSD_NOT_FOUND,
            format!("There is no snapshot named {name:?}."),
        ),
        SnapshotError::Exists(name) => ApiError::new(
            error_codes::ECSD_CONFLICT,
            format!(
                "A snapshot named {name:?} exists already; delete it first or choose another name."
            ),
        ),
        SnapshotError::Invalid(message) => {
            ApiError::new(error_codes::ECSD_BAD_REQUEST, format!("name: {message}"))
        }
        SnapshotError::Unsupported => ApiError::new(
            error_codes::ECSD_CONFLICT,
            "This storage backend keeps no snapshots.",
        ),
        SnapshotError::Store(error) => error.into(),
    }
}

/// Drops what the HTTP layer remembers of the state a reset or a restore replaced.
fn forget_cached_state(state: &AppState, full: bool) {
    state.finished_jobs.clear();
    if full {
        if let Auth::Verify(identity) = &state.auth {
            identity.reset_limits();
        }
    }
}

fn project_query(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let mut project_id = None;
    for (key, value) in crate::body::query_pairs(raw)? {
        match key.as_str() {
            "project_id" => {
                let valid = !value.is_empty()
                    && value.len() <= 64
                    && value
                        .bytes()
                        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
                if !valid {
                    return Err(bad_request(
                        "project_id",
                        format!("{value:?} is not a project id"),
                    ));
                }
                project_id = Some(value);
            }
            other => {
                return Err(bad_request(
                    other,
                    "is not a parameter of this call (project_id is)",
                ))
            }
        }
    }
    Ok(project_id)
}

pub async fn reset(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let project_id = project_query(query.as_deref())?;
    let removed = state.engine.reset(project_id.as_deref()).await?;
    forget_cached_state(&state, project_id.is_none());
    tracing::info!(
        project_id = project_id.as_deref().unwrap_or("*"),
        ?removed,
        "state reset"
    );
    Ok(Json(json!({"project_id": project_id, "removed": removed})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotRequest {
    name: String,
}

pub async fn snapshot_save(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let request: SnapshotRequest = read_json(&state, &headers, body).await?;
    let saved = state
        .engine
        .snapshot_save(&request.name)
        .await
        .map_err(snapshot_error)?;
    tracing::info!(name = saved.name, bytes = saved.bytes, "snapshot saved");
    Ok((StatusCode::CREATED, Json(snapshot_view(&saved))).into_response())
}

pub async fn snapshot_list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let snapshots = state.engine.snapshots().await.map_err(snapshot_error)?;
    Ok(Json(json!({
        "snapshots": snapshots.iter().map(snapshot_view).collect::<Vec<_>>(),
    })))
}

pub async fn snapshot_restore(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let restored = state
        .engine
        .snapshot_restore(&name)
        .await
        .map_err(snapshot_error)?;
    forget_cached_state(&state, true);
    tracing::info!(name = restored.name, "snapshot restored");
    Ok(Json(json!({"restored": snapshot_view(&restored)})))
}

pub async fn snapshot_delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .engine
        .snapshot_delete(&name)
        .await
        .map_err(snapshot_error)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn export(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut name = None;
    for (key, value) in crate::body::query_pairs(query.as_deref())? {
        match key.as_str() {
            "snapshot" => name = Some(value),
            other => {
                return Err(bad_request(
                    other,
                    "is not a parameter of this call (snapshot is)",
                ))
            }
        }
    }
    let (file, bytes) = state
        .engine
        .snapshot_export(name.as_deref())
        .await
        .map_err(snapshot_error)?;
    let filename = format!("{}.db", name.as_deref().unwrap_or("ecsd-export"));
    let mut response = Body::new(FileBody::spawn(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.sqlite3"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A file sent in chunks, read on the blocking pool (tokio's `fs` feature is not enabled, and
/// a database file may be far larger than one should hold in memory).
struct FileBody {
    chunks: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
}

impl FileBody {
    const CHUNK: usize = 64 * 1024;

    fn spawn(mut file: std::fs::File) -> Self {
        // A few chunks ahead: the reader waits for a slow client instead of filling memory.
        let (sender, chunks) = tokio::sync::mpsc::channel(4);
        tokio::task::spawn_blocking(move || loop {
            let mut buffer = vec![0u8; Self::CHUNK];
            let chunk = match file.read(&mut buffer) {
                Ok(0) => return,
                Ok(read) => {
                    buffer.truncate(read);
                    Ok(Bytes::from(buffer))
                }
                Err(error) => Err(error),
            };
            let failed = chunk.is_err();
            // The client went away: stop reading.
            if sender.blocking_send(chunk).is_err() || failed {
                return;
            }
        });
        Self { chunks }
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        self.chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}
