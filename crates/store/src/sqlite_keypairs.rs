//! Key pairs (Nova's `os-keypairs`) in SQLite: their table (migration 3 → 4), the writer's
//! insert and delete, and the reads. A key pair is a public key under a name, per project.

use engine::store::{KeyPairRecord, StoreError};
use rusqlite::{params, Connection, OptionalExtension};

/// 3 → 4: the key pairs.
pub const MIGRATION_KEYPAIRS: &str = "
CREATE TABLE keypairs (
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    key_type    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
);
";

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// A write to the key pairs, run by the writer thread.
#[derive(Debug)]
pub enum KeyPairWrite {
    Insert(KeyPairRecord),
    Delete { project_id: String, name: String },
}

/// Applies `write`: `true` if it inserted (the name was free) or deleted (the name existed).
pub fn apply(connection: &Connection, write: &KeyPairWrite) -> Result<bool, StoreError> {
    match write {
        KeyPairWrite::Insert(keypair) => {
            let taken = connection
                .prepare_cached("SELECT 1 FROM keypairs WHERE project_id = ?1 AND name = ?2")
                .map_err(backend)?
                .query_row(params![keypair.project_id, keypair.name], |_| Ok(()))
                .optional()
                .map_err(backend)?
                .is_some();
            if taken {
                return Ok(false);
            }
            connection
                .prepare_cached(
                    "INSERT INTO keypairs (project_id, name, public_key, fingerprint, key_type,
                                           user_id, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(backend)?
                .execute(params![
                    keypair.project_id,
                    keypair.name,
                    keypair.public_key,
                    keypair.fingerprint,
                    keypair.key_type,
                    keypair.user_id,
                    keypair.created_at
                ])
                .map_err(backend)?;
            Ok(true)
        }
        KeyPairWrite::Delete { project_id, name } => {
            let deleted = connection
                .prepare_cached("DELETE FROM keypairs WHERE project_id = ?1 AND name = ?2")
                .map_err(backend)?
                .execute(params![project_id, name])
                .map_err(backend)?;
            Ok(deleted > 0)
        }
    }
}

/// The project's key pairs, by name.
pub fn list(connection: &Connection, project_id: &str) -> Result<Vec<KeyPairRecord>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT project_id, name, public_key, fingerprint, key_type, user_id, created_at
             FROM keypairs WHERE project_id = ?1 ORDER BY name",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![project_id], |row| {
            Ok(KeyPairRecord {
                project_id: row.get(0)?,
                name: row.get(1)?,
                public_key: row.get(2)?,
                fingerprint: row.get(3)?,
                key_type: row.get(4)?,
                user_id: row.get(5)?,
                created_at: row.get(6)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
}
