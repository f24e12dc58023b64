//! The three time formats of the ECS API.

use engine::clock::from_unix_ms;
use time::format_description::FormatItem;
use time::macros::format_description;

/// Jobs: `2016-04-25T20:04:34.604Z` (UTC, milliseconds).
const JOB_TIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
/// Server `created` / `updated`: `2018-09-13T07:03:44Z`.
const SERVER_TIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
/// `OS-SRV-USG:launched_at`: `2018-09-13T07:04:09.197749` (microseconds, no zone).
const LAUNCH_TIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");

fn format(ms: i64, description: &[FormatItem<'static>]) -> String {
    from_unix_ms(ms).format(description).unwrap_or_default()
}

pub fn job_time(ms: i64) -> String {
    format(ms, JOB_TIME)
}

pub fn server_time(ms: i64) -> String {
    format(ms, SERVER_TIME)
}

pub fn launch_time(ms: i64) -> String {
    format(ms, LAUNCH_TIME)
}

/// IAM token times (`expires_at`, `issued_at`): `2026-11-29T22:00:00.000000Z`.
const TOKEN_TIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

pub fn iso8601_micros(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(TOKEN_TIME)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_reference_examples() {
        let ms = 1_461_614_674_604; // 2016-04-25T20:04:34.604Z
        assert_eq!(job_time(ms), "2016-04-25T20:04:34.604Z");
        assert_eq!(server_time(ms), "2016-04-25T20:04:34Z");
        assert_eq!(launch_time(ms), "2016-04-25T20:04:34.604000");
        assert_eq!(
            iso8601_micros(from_unix_ms(ms)),
            "2016-04-25T20:04:34.604000Z"
        );
    }
}
