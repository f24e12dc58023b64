//! What a project owns beside servers, in SQLite: key pairs (Nova's `os-keypairs`, migration
//! 3 → 4; a public key under a name) and the private images made from servers (Nova's
//! `createImage`, migration 4 → 5). Their tables, the writer's inserts and deletes, the reads.

use engine::store::{ImageRecord, KeyPairRecord, StoreError};
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

/// 4 → 5: private images made from servers.
pub const MIGRATION_IMAGES: &str = "
CREATE TABLE images (
    project_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    server_id  TEXT NOT NULL,
    min_disk   INTEGER NOT NULL,
    min_ram    INTEGER NOT NULL,
    os_distro  TEXT NOT NULL,
    metadata   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
);
";

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// A write to the key pairs, run by the writer thread.
#[derive(Debug)]
pub enum CatalogWrite {
    Insert(KeyPairRecord),
    Delete { project_id: String, name: String },
    ImageInsert(ImageRecord),
}

/// Applies `write`: `true` if it inserted (the name or id was free) or deleted (it existed).
pub fn apply(connection: &Connection, write: &CatalogWrite) -> Result<bool, StoreError> {
    match write {
        CatalogWrite::Insert(keypair) => {
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
        CatalogWrite::ImageInsert(image) => {
            let metadata = serde_json::to_string(&image.metadata)
                .map_err(|error| StoreError::Backend(error.to_string()))?;
            let inserted = connection
                .prepare_cached(
                    "INSERT OR IGNORE INTO images (project_id, id, name, server_id, min_disk,
                                                   min_ram, os_distro, metadata, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(backend)?
                .execute(params![
                    image.project_id,
                    image.id,
                    image.name,
                    image.server_id,
                    image.min_disk,
                    image.min_ram,
                    image.os_distro,
                    metadata,
                    image.created_at
                ])
                .map_err(backend)?;
            Ok(inserted > 0)
        }
        CatalogWrite::Delete { project_id, name } => {
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

/// The project's private images, oldest first.
pub fn images(connection: &Connection, project_id: &str) -> Result<Vec<ImageRecord>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT project_id, id, name, server_id, min_disk, min_ram, os_distro, metadata,
                    created_at
             FROM images WHERE project_id = ?1 ORDER BY created_at, id",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![project_id], |row| {
            let metadata: String = row.get(7)?;
            Ok(ImageRecord {
                project_id: row.get(0)?,
                id: row.get(1)?,
                name: row.get(2)?,
                server_id: row.get(3)?,
                min_disk: row.get(4)?,
                min_ram: row.get(5)?,
                os_distro: row.get(6)?,
                metadata: serde_json::from_str(&metadata).unwrap_or_default(),
                created_at: row.get(8)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
}
