//! Crash points: a testing aid that aborts the process at a named point of the write path, so
//! the crash tests can prove what survives a crash *there* (`tests/it/crash.rs`).
//!
//! The plan is set once, at start, from the hidden `--crash-at POINT[:N]` flag of `ecsd serve`
//! (no environment variable, so nobody trips it by accident; not listed in `--help`). Without it
//! every point is one relaxed atomic load. With it, the `N`th time `POINT` is reached the process
//! writes one line to stderr and calls [`std::process::abort`]: no destructor runs, nothing is
//! flushed or answered, the writer's queue is lost — what `kill -9` or a kernel panic leaves,
//! minus the page cache (power loss is tested separately, with a VFS that drops unsynced
//! writes: `store::sqlite::tests::power_loss`).
//!
//! Points are counted in the unit a test chooses them by: a task end point counts task ends
//! (a commit writing three ends counts three), every other point counts commands or steps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Every point the write path reaches, each checked by the crash tests. `*.before_commit`: the
/// writer applied the group's commands and is about to commit; `*.after_commit`: the commit
/// returned and no caller has been answered yet.
pub const POINTS: &[&str] = &[
    // Job acceptance (`Store::job_insert`): after it commits, before `{"job_id"}` is sent.
    "job_insert.before_commit",
    "job_insert.after_commit",
    // A task's end (`Store::task_end`): its outcome and its effect on the server.
    "task_end.before_commit",
    "task_end.after_commit",
    // The retention purge (`Store::job_purge`).
    "job_purge.before_commit",
    "job_purge.after_commit",
    // Synchronous edits: tags, metadata, name (`Store::server_edit`); Nova's document edits
    // (`Store::server_update`); server groups and their members; key pairs and images.
    "server_edit.before_commit",
    "server_edit.after_commit",
    "server_update.before_commit",
    "server_update.after_commit",
    "group_write.before_commit",
    "group_write.after_commit",
    "catalog_write.before_commit",
    "catalog_write.after_commit",
    // A schema migration step at open, counted per step applied (with a version 1 file, the
    // 5th is 5 → 6, which moves tasks into their job's row).
    "migration.before_commit",
    "migration.after_commit",
    // The checkpoint at shutdown, after the writer's queue is drained.
    "checkpoint.before",
    "checkpoint.after",
];

/// Where to crash: the `after`th time `point` is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashPlan {
    pub point: &'static str,
    pub after: u64,
}

impl CrashPlan {
    /// Parses `POINT` or `POINT:N` (N ≥ 1; 1 when absent), `POINT` one of [`POINTS`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, count) = match text.rsplit_once(':') {
            Some((name, count)) => {
                let count: u64 = count
                    .parse()
                    .map_err(|_| format!("{count:?} is not a count (1 or more)"))?;
                (name, count)
            }
            None => (text, 1),
        };
        if count == 0 {
            return Err("the count starts at 1".to_owned());
        }
        let point = POINTS
            .iter()
            .copied()
            .find(|point| *point == name)
            .ok_or_else(|| format!("{name:?} is not a crash point ({})", POINTS.join(", ")))?;
        Ok(Self {
            point,
            after: count,
        })
    }
}

struct Armed {
    plan: CrashPlan,
    reached: AtomicU64,
}

static ARMED: OnceLock<Armed> = OnceLock::new();

/// Arms `plan` for the life of the process. Only the first call counts (the flag is read once).
pub fn arm(plan: CrashPlan) {
    let _ = ARMED.set(Armed {
        plan,
        reached: AtomicU64::new(0),
    });
}

/// Records that point `{what}.{when}` was reached `times` times (a task end point: the ends in
/// the commit); aborts the process if that brings it to the armed count. Takes the name in two
/// parts so the write path builds no string when nothing is armed.
pub fn reached(what: &str, when: &str, times: u64) {
    let Some(armed) = ARMED.get() else {
        return;
    };
    if armed.plan.point.split_once('.') != Some((what, when)) || times == 0 {
        return;
    }
    let point = armed.plan.point;
    let before = armed.reached.fetch_add(times, Ordering::SeqCst);
    if before < armed.plan.after && before + times >= armed.plan.after {
        // One line the tests look for, then the abort: no unwinding, no destructor, no flush
        // of anything but this line (stderr is unbuffered).
        eprintln!(
            "ecsd: crash point {point}:{} reached, aborting",
            armed.plan.after
        );
        // Every point is on the thread that commits (the writer, or the open), which waits
        // here, so no other commit happens; other threads run on for a moment, so an answer
        // released before this point (a bug: answering before the commit) reaches its client
        // and the test sees it, instead of racing the abort.
        std::thread::sleep(std::time::Duration::from_millis(200));
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_name_a_known_point_and_a_count_from_one() {
        assert_eq!(
            CrashPlan::parse("task_end.after_commit:3"),
            Ok(CrashPlan {
                point: "task_end.after_commit",
                after: 3
            })
        );
        assert_eq!(
            CrashPlan::parse("checkpoint.before").map(|plan| plan.after),
            Ok(1)
        );
        assert!(CrashPlan::parse("task_end.after_commit:0").is_err());
        assert!(CrashPlan::parse("task_end.after_commit:x").is_err());
        assert!(CrashPlan::parse("nowhere").is_err());
    }
}
