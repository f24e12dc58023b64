//! State control for the SQLite backend: reset, snapshots (save, list, restore, delete,
//! export) and the import at start.
//!
//! Snapshots are copies of the whole database made with SQLite's online backup API, one step
//! for the whole file, on the writer's connection between two write groups: so the copy holds
//! exactly the commits acknowledged before it and nothing half-written, while readers keep
//! reading. A restore runs the backup the other way, from the snapshot into the writer's
//! connection, in one step too: readers (WAL) see the state before it or after it, never a mix.
//! Snapshots live in a `snapshots/` folder beside the database, one `NAME.db` file each
//! (rollback-journal mode, so one file is the whole copy), and survive restarts.

use engine::store::{ResetCounts, SnapshotError, SnapshotInfo, StoreError};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{params, Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The folder of the snapshots of the database at `database`.
pub(crate) fn snapshot_dir(database: &Path) -> PathBuf {
    database
        .parent()
        .map_or_else(|| PathBuf::from("snapshots"), |dir| dir.join("snapshots"))
}

pub(crate) fn snapshot_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.db"))
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn io(what: &str, path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Backend(format!("cannot {what} {}: {error}", path.display()))
}

/// Every table a reset empties, with how a project's rows are found. Settings (the token
/// signing key) are not state a test makes, and stay.
const RESET_TABLES: &[(&str, &str)] = &[
    // The version-1 tasks table is empty since migration 6; kept here so nothing lingers.
    (
        "tasks",
        "job_id IN (SELECT id FROM jobs WHERE project_id = ?1)",
    ),
    ("jobs", "project_id = ?1"),
    ("servers", "project_id = ?1"),
    ("server_groups", "project_id = ?1"),
    ("keypairs", "project_id = ?1"),
    ("images", "project_id = ?1"),
    ("client_tokens", "project_id = ?1"),
];

/// Deletes the state of one project or of all, in one transaction.
pub(crate) fn reset(
    connection: &mut Connection,
    project_id: Option<&str>,
) -> Result<ResetCounts, StoreError> {
    let transaction = connection.transaction().map_err(backend)?;
    let mut counts = ResetCounts::default();
    for (table, condition) in RESET_TABLES {
        let deleted = match project_id {
            Some(project_id) => transaction
                .execute(
                    &format!("DELETE FROM {table} WHERE {condition}"),
                    params![project_id],
                )
                .map_err(backend)?,
            None => transaction
                .execute(&format!("DELETE FROM {table}"), [])
                .map_err(backend)?,
        } as u64;
        match *table {
            "jobs" => counts.jobs = deleted,
            "servers" => counts.servers = deleted,
            "server_groups" => counts.server_groups = deleted,
            "keypairs" => counts.keypairs = deleted,
            "images" => counts.images = deleted,
            "client_tokens" => counts.client_tokens = deleted,
            _ => {}
        }
    }
    transaction.commit().map_err(backend)?;
    Ok(counts)
}

/// Copies the whole database behind `source` into `target` (a new file), in one backup step,
/// then turns the copy into a single self-contained file (rollback journal, not WAL). Written
/// under a temporary name and renamed, so a half-written copy never carries a snapshot's name.
pub(crate) fn save(source: &Connection, target: &Path) -> Result<(), SnapshotError> {
    // Checked here, on the writer, which runs one state command at a time: two saves of one
    // name cannot both pass.
    if target.exists() {
        let name = target
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Err(SnapshotError::Exists(name));
    }
    let partial = target.with_extension("db.partial");
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let mut copy = Connection::open(&partial).map_err(backend)?;
        backup_all(source, &mut copy)?;
        copy.execute_batch("PRAGMA journal_mode = DELETE;")
            .map_err(backend)?;
        drop(copy);
        std::fs::rename(&partial, target).map_err(|error| io("write", target, error))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    Ok(result?)
}

/// Replaces the content of the database behind `target` (the writer's connection) with the
/// snapshot at `source`, after checking it is an ecsd database of this schema version.
pub(crate) fn restore(
    target: &mut Connection,
    source: &Path,
    schema_version: i64,
) -> Result<(), SnapshotError> {
    let snapshot = open_snapshot(source, schema_version..=schema_version)?;
    backup_all(&snapshot, target)?;
    // The copied header carries the snapshot's journal mode; the live database stays in WAL.
    target
        .execute_batch("PRAGMA journal_mode = WAL;")
        .map_err(backend)?;
    Ok(())
}

/// Opens a snapshot read-only and checks that it is an ecsd database whose schema version is
/// in `versions` (a restore needs this version; an import may be older: it is migrated).
pub(crate) fn open_snapshot(
    path: &Path,
    versions: std::ops::RangeInclusive<i64>,
) -> Result<Connection, SnapshotError> {
    let not_ecsd = |why: String| SnapshotError::Invalid(format!("{} {why}", path.display()));
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| not_ecsd(format!("cannot be opened: {error}")))?;
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|error| not_ecsd(format!("is not an SQLite database: {error}")))?;
    let has_jobs: bool = connection
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'",
            [],
            |row| row.get(0),
        )
        .map_err(|error| not_ecsd(format!("is not an SQLite database: {error}")))?;
    if !has_jobs {
        return Err(not_ecsd(
            "is not an ecsd database (it has no jobs table)".to_owned(),
        ));
    }
    if !versions.contains(&version) {
        return Err(not_ecsd(format!(
            "has schema version {version}; this ecsd reads {}..={}",
            versions.start(),
            versions.end()
        )));
    }
    Ok(connection)
}

/// The whole database in one backup step, so nothing can change between pages.
fn backup_all(source: &Connection, target: &mut Connection) -> Result<(), StoreError> {
    let backup = Backup::new(source, target).map_err(backend)?;
    match backup.step(-1).map_err(backend)? {
        StepResult::Done => Ok(()),
        // Another connection held a lock on the target: cannot happen on files only this
        // process opens, but is a failure, not a partial copy.
        other => Err(StoreError::Backend(format!(
            "the backup did not complete in one step ({other:?})"
        ))),
    }
}

/// The snapshots in `dir`, oldest first (then by name).
pub(crate) fn list(dir: &Path) -> Result<Vec<SnapshotInfo>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io("read", dir, error)),
    };
    let mut snapshots = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| io("read", dir, error))?;
        let path = entry.path();
        let Some(name) = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".db"))
        else {
            continue;
        };
        // Partial copies and exports in progress have names no snapshot can have.
        if engine::store::check_snapshot_name(name).is_err() {
            continue;
        }
        snapshots.push(info(name, &path)?);
    }
    snapshots.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
    Ok(snapshots)
}

/// A snapshot file's name, size and time.
pub(crate) fn info(name: &str, path: &Path) -> Result<SnapshotInfo, StoreError> {
    let metadata = std::fs::metadata(path).map_err(|error| io("read", path, error))?;
    let created_at = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_millis() as i64);
    Ok(SnapshotInfo {
        name: name.to_owned(),
        bytes: metadata.len(),
        created_at,
    })
}

/// Copies `import` over the database at `database` before the store opens it (`ecsd serve
/// --import FILE`): checked first, so a file that is not an ecsd database leaves the database
/// as it was. An older schema version is migrated by the normal open afterwards.
pub(crate) fn import(
    database: &Path,
    import: &Path,
    schema_version: i64,
) -> Result<(), StoreError> {
    let source = open_snapshot(import, 1..=schema_version).map_err(|error| match error {
        SnapshotError::Store(error) => error,
        other => StoreError::Backend(format!("cannot import: {other}")),
    })?;
    let mut target = Connection::open(database).map_err(backend)?;
    backup_all(&source, &mut target)
}

#[cfg(test)]
mod tests {
    use crate::conformance::create_job_insert;
    use crate::sqlite::SqliteStore;
    use engine::store::{SnapshotError, Store};

    #[tokio::test]
    async fn snapshots_save_restore_list_delete_and_export_through_the_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("ecsd.db")).expect("opens");
        let first = create_job_insert("p1", 1, 0);
        let first_id = first.job.id.clone();
        store.job_insert(first).await.expect("inserted");

        let saved = store.snapshot_save("one".into()).await.expect("saved");
        assert!(saved.bytes > 0);
        assert!(matches!(
            store.snapshot_save("one".into()).await,
            Err(SnapshotError::Exists(name)) if name == "one"
        ));
        let second = create_job_insert("p1", 1, 0);
        let second_id = second.job.id.clone();
        store.job_insert(second).await.expect("inserted");

        store
            .snapshot_restore("one".into())
            .await
            .expect("restored");
        assert!(store
            .job_get("p1", &first_id)
            .await
            .expect("reads")
            .is_some());
        assert!(store
            .job_get("p1", &second_id)
            .await
            .expect("reads")
            .is_none());
        // The live database is still in WAL mode, and writable.
        let third = create_job_insert("p1", 1, 0);
        store
            .job_insert(third)
            .await
            .expect("writable after a restore");
        let probe = rusqlite::Connection::open(dir.path().join("ecsd.db")).expect("opens");
        let mode: String = probe
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("reads");
        assert_eq!(mode, "wal");
        drop(probe);

        let (_, bytes) = store.snapshot_export(None).await.expect("exported");
        assert!(bytes > 0);
        let names: Vec<String> = store
            .snapshot_list()
            .await
            .expect("lists")
            .into_iter()
            .map(|snapshot| snapshot.name)
            .collect();
        assert_eq!(names, ["one"], "the export left no file behind");
        let files = std::fs::read_dir(dir.path().join("snapshots"))
            .expect("readable")
            .count();
        assert_eq!(files, 1);

        // A file of another schema version is refused, and nothing changes.
        let foreign = dir.path().join("snapshots/foreign.db");
        let connection = rusqlite::Connection::open(&foreign).expect("made");
        connection
            .execute_batch("CREATE TABLE jobs (id TEXT); PRAGMA user_version = 99;")
            .expect("written");
        drop(connection);
        assert!(matches!(
            store.snapshot_restore("foreign".into()).await,
            Err(SnapshotError::Invalid(message)) if message.contains("schema version 99")
        ));
        assert!(store
            .job_get("p1", &first_id)
            .await
            .expect("reads")
            .is_some());

        store.snapshot_delete("one".into()).await.expect("deleted");
        assert!(matches!(
            store.snapshot_delete("one".into()).await,
            Err(SnapshotError::NotFound(_))
        ));
        assert!(matches!(
            store.snapshot_restore("one".into()).await,
            Err(SnapshotError::NotFound(_))
        ));
        assert!(matches!(
            store.snapshot_save("../up".into()).await,
            Err(SnapshotError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn a_reset_of_one_project_leaves_the_others() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("ecsd.db")).expect("opens");
        let mine = create_job_insert("p1", 2, 0);
        let theirs = create_job_insert("p2", 1, 0);
        let theirs_id = theirs.job.id.clone();
        store.job_insert(mine).await.expect("inserted");
        store.job_insert(theirs).await.expect("inserted");
        let counts = store.state_reset(Some("p1".into())).await.expect("reset");
        assert_eq!((counts.jobs, counts.servers), (1, 2));
        assert!(store
            .job_get("p2", &theirs_id)
            .await
            .expect("reads")
            .is_some());
        let counts = store.state_reset(None).await.expect("reset");
        assert_eq!((counts.jobs, counts.servers), (1, 1));
        assert!(store
            .job_get("p2", &theirs_id)
            .await
            .expect("reads")
            .is_none());
    }
}
