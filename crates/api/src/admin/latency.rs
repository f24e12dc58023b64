//! `GET /_ecsd/latency` and `PUT /_ecsd/latency`: how long simulated work takes, changed while
//! ecsd runs.
//!
//! ```json
//! PUT {"profile": "realistic"}
//! PUT {"profile": "fast", "operations": {"createServer": "5s", "batchRebootServers": "3s"}}
//!   → {"profile": "fast", "operations": {"batchRebootServers": "3000ms", "createServer": "5000ms"}}
//! ```
//!
//! A `PUT` replaces the settings: `profile` absent keeps the current profile, `operations`
//! absent means none. An operation is a job type's wire name (`createServer`, `deleteVMs`,
//! `batchStopServers`, …, as `job_type` shows it); its duration is what each of its sub-jobs
//! takes in all, spread over the phases in the profile's proportions. Jobs accepted from then on
//! use the new settings; accepted jobs keep their schedules (fixed at acceptance). The same
//! shape is the `[latency]` table of the `--config` file.

use super::clock::{bad_request, parse_duration, read_json};
use crate::error::ApiError;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use engine::compute::{LatencyProfile, LatencySettings};
use engine::job::JobKind;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The body of `PUT /_ecsd/latency`, and the config file's `[latency]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LatencyRequest {
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub operations: BTreeMap<String, String>,
}

impl LatencyRequest {
    /// The settings it asks for; `current` gives the profile when it names none. The error
    /// names the field at fault.
    pub fn settings(&self, current: LatencyProfile) -> Result<LatencySettings, (String, String)> {
        let profile = match &self.profile {
            None => current,
            Some(name) => LatencyProfile::parse(name).ok_or_else(|| {
                (
                    "profile".to_owned(),
                    format!("{name:?} is not a latency profile (instant, fast, realistic)"),
                )
            })?,
        };
        let mut per_operation = BTreeMap::new();
        for (operation, duration) in &self.operations {
            let field = format!("operations.{operation}");
            let kind = JobKind::from_job_type(operation).ok_or_else(|| {
                (
                    field.clone(),
                    format!("{operation:?} is not a job type (createServer, deleteVMs, batchStartServers, batchStopServers, batchRebootServers, resizeServer, …)"),
                )
            })?;
            let duration = parse_duration(duration).map_err(|problem| (field, problem))?;
            per_operation.insert(kind.job_type().to_owned(), duration);
        }
        Ok(LatencySettings {
            profile,
            per_operation,
        })
    }
}

fn view(settings: &LatencySettings) -> Value {
    let operations: BTreeMap<&str, String> = settings
        .per_operation
        .iter()
        .map(|(operation, duration)| {
            (
                operation.as_str(),
                format!("{}ms", duration.whole_milliseconds()),
            )
        })
        .collect();
    json!({"profile": settings.profile.as_str(), "operations": operations})
}

pub async fn latency_view(State(state): State<AppState>) -> Json<Value> {
    Json(view(&state.engine.latency()))
}

pub async fn latency_set(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let request: LatencyRequest = read_json(&state, &headers, body).await?;
    let settings = request
        .settings(state.engine.latency().profile)
        .map_err(|(field, problem)| bad_request(&field, problem))?;
    tracing::info!(
        profile = settings.profile.as_str(),
        operations = settings.per_operation.len(),
        "latency changed"
    );
    state.engine.set_latency(settings.clone());
    Ok(Json(view(&settings)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_a_profile_and_durations_per_job_type() {
        let request = LatencyRequest {
            profile: None,
            operations: BTreeMap::from([("createServer".to_owned(), "5s".to_owned())]),
        };
        let settings = request.settings(LatencyProfile::Realistic).expect("valid");
        assert_eq!(settings.profile, LatencyProfile::Realistic);
        assert_eq!(
            settings.per_operation.get("createServer"),
            Some(&time::Duration::seconds(5))
        );
        let bad = LatencyRequest {
            profile: Some("slow".to_owned()),
            ..LatencyRequest::default()
        };
        assert_eq!(
            bad.settings(LatencyProfile::Fast).err().map(|e| e.0),
            Some("profile".to_owned())
        );
        let bad = LatencyRequest {
            profile: None,
            operations: BTreeMap::from([("createServers".to_owned(), "5s".to_owned())]),
        };
        assert_eq!(
            bad.settings(LatencyProfile::Fast).err().map(|e| e.0),
            Some("operations.createServers".to_owned())
        );
    }
}
