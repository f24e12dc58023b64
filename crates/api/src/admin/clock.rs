//! `GET /_ecsd/clock` and `POST /_ecsd/clock`: the engine's clock, and moving a virtual one.
//!
//! ```json
//! GET  → {"mode": "virtual", "now": "2026-12-06T08:00:00.000Z"}
//! POST {"advance": "10m"}  or  {"set": "2026-12-07T00:00:00Z"}  → the same shape, moved
//! ```
//!
//! Only a virtual clock (`--clock virtual`) moves: with the system clock a move is 409
//! `Ecsd.0409`. A move backwards (a `set` before now, a negative `advance`) is 400 `Ecsd.0400`
//! and changes nothing. An advance wakes the engine, so every task it makes due ends at once.

use crate::error::ApiError;
use crate::error_codes;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use engine::engine::ClockChangeError;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The clock as the admin API shows it.
fn view(state: &AppState) -> Value {
    json!({
        "mode": state.engine.clock_mode().as_str(),
        "now": rfc3339(state.engine.now()),
    })
}

/// RFC 3339 in UTC with milliseconds, the precision ecsd keeps times in.
pub fn rfc3339(at: OffsetDateTime) -> String {
    crate::time_format::job_time(engine::clock::to_unix_ms(at))
}

pub async fn clock_view(State(state): State<AppState>) -> Json<Value> {
    Json(view(&state))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockMove {
    #[serde(default)]
    advance: Option<String>,
    #[serde(default)]
    set: Option<String>,
}

pub async fn clock_move(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let request: ClockMove = read_json(&state, &headers, body).await?;
    let moved = match (request.advance, request.set) {
        (Some(advance), None) => {
            let by = parse_duration(&advance).map_err(|problem| bad_request("advance", problem))?;
            state.engine.clock_advance(by)
        }
        (None, Some(set)) => {
            let to = OffsetDateTime::parse(&set, &Rfc3339).map_err(|_| {
                bad_request(
                    "set",
                    format!("{set:?} is not an RFC 3339 time such as 2026-12-07T00:00:00Z"),
                )
            })?;
            state.engine.clock_set(to)
        }
        _ => return Err(ApiError::new(
            error_codes::ECSD_BAD_REQUEST,
            "Give exactly one of advance (a duration such as \"10m\") and set (an RFC 3339 time).",
        )),
    };
    match moved {
        Ok(now) => {
            tracing::info!(now = %rfc3339(now), "the virtual clock moved");
            Ok(Json(view(&state)))
        }
        Err(ClockChangeError::SystemClock) => Err(ApiError::new(
            error_codes::ECSD_CONFLICT,
            "The clock is the system clock and cannot be moved; start ecsd with --clock virtual.",
        )),
        Err(ClockChangeError::Move(error)) => Err(ApiError::new(
            error_codes::ECSD_BAD_REQUEST,
            format!("The clock did not move: {error}."),
        )),
    }
}

/// `Ecsd.0400` naming the field at fault.
pub(crate) fn bad_request(field: &str, problem: impl std::fmt::Display) -> ApiError {
    ApiError::new(error_codes::ECSD_BAD_REQUEST, format!("{field}: {problem}"))
}

/// Reads and parses an admin API body: the ECS parser's field-naming messages, with the admin
/// API's code (`Ecsd.0400`) rather than the ECS API's `Ecs.0005`.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = crate::body::read_limited(body, state.max_body_bytes).await?;
    crate::body::parse_json(headers, &bytes).map_err(|error| {
        if error.code.code.starts_with("Ecsd.") {
            error
        } else {
            ApiError::new(error_codes::ECSD_BAD_REQUEST, error.message)
        }
    })
}

/// A duration as the admin API takes it: a whole number and a unit, `ms`, `s`, `m`, `h` or `d`
/// (`"10m"`, `"90s"`, `"1500ms"`). Zero is allowed; a sign is not.
pub fn parse_duration(text: &str) -> Result<time::Duration, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let wrong = || {
        format!("{text:?} is not a duration such as \"1500ms\", \"30s\", \"10m\", \"2h\" or \"7d\"")
    };
    let number: i64 = number.parse().map_err(|_| wrong())?;
    let duration = match unit {
        "ms" => time::Duration::milliseconds(number),
        "s" => time::Duration::seconds(number),
        "m" => time::Duration::minutes(number),
        "h" => time::Duration::hours(number),
        "d" => time::Duration::days(number),
        _ => return Err(wrong()),
    };
    // About 2,700 years of days fit; far beyond that the clock itself would overflow.
    if duration > time::Duration::days(1_000_000) {
        return Err(format!("{text:?} is too long"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_whole_number_and_a_unit() {
        assert_eq!(parse_duration("10m"), Ok(time::Duration::minutes(10)));
        assert_eq!(
            parse_duration("1500ms"),
            Ok(time::Duration::milliseconds(1500))
        );
        assert_eq!(parse_duration("0s"), Ok(time::Duration::ZERO));
        for bad in ["", "10", "-5m", "1.5h", "10 minutes", "5w", "99999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
