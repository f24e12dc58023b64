//! Key pairs (`key_and_password_management/`, Nova's `os-keypairs`), stored per project.
//!
//! An imported key (`public_key`) is checked for the OpenSSH shape (`<type> <base64>
//! [comment]`) or a PEM certificate (`type: x509`). Without `public_key` Nova generates a key
//! pair and answers its private key once; ecsd answers a key pair of the right shape that is
//! **not a usable key** (ecsd has no cryptography, and its servers are simulated: nothing can
//! log in with it). The fingerprint has Nova's shape (16 colon-separated bytes) but is taken
//! from a SHA-256 of the key, not MD5.

use super::{json_body, NovaError, NovaResult};
use crate::body::read_limited;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use engine::store::KeyPairRecord;
use serde_json::{json, Value};
use sha2::Digest;

const USER_ID: &str = "ecsd-local-user";
const SSH_TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
];

/// Nova's key pair names: 1–255 of letters, digits, space, `-`, `_`, `.`, `@`.
fn check_name(name: &str) -> NovaResult<()> {
    let ok = (1..=255).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(NovaError::bad_request(
            "Keypair name must be 1 to 255 letters, digits, spaces, '-', '_', '.' or '@'.",
        ))
    }
}

fn check_public_key(key: &str, key_type: &str) -> NovaResult<()> {
    let invalid = || NovaError::bad_request("Keypair data is invalid: not a public key.");
    if key_type == "x509" {
        return if key.contains("-----BEGIN CERTIFICATE-----") {
            Ok(())
        } else {
            Err(invalid())
        };
    }
    let mut fields = key.split_whitespace();
    let (Some(kind), Some(blob)) = (fields.next(), fields.next()) else {
        return Err(invalid());
    };
    let base64 = blob
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'='));
    if SSH_TYPES.contains(&kind) && base64 && blob.len() >= 16 {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn fingerprint(key: &str) -> String {
    let blob = key.split_whitespace().nth(1).unwrap_or(key);
    sha2::Sha256::digest(blob.as_bytes())
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Standard base64 with padding (the generated keys' blobs).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (index, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn random_bytes(count: usize) -> Vec<u8> {
    std::iter::repeat_with(|| uuid::Uuid::new_v4().into_bytes())
        .flatten()
        .take(count)
        .collect()
}

/// A generated pair: an `ssh-ed25519` public key and an OpenSSH-armoured private key, both of
/// random bytes (see the module comment).
fn generated_pair() -> (String, String) {
    let public = format!(
        "ssh-ed25519 {} Generated-by-Nova",
        base64(&random_bytes(51))
    );
    let body = base64(&random_bytes(300));
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(70)
        .filter_map(|line| std::str::from_utf8(line).ok())
        .collect();
    let private = format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (public, private)
}

fn keypair_json(keypair: &KeyPairRecord) -> Value {
    json!({
        "name": keypair.name,
        "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint,
        "type": keypair.key_type,
    })
}

/// `POST …/os-keypairs`: imports `public_key`, or generates a pair (`private_key` is answered
/// this once); a name taken in the project is 409.
pub async fn keypair_create(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    body: Body,
) -> NovaResult<Json<Value>> {
    crate::project_from_path(&project_id).map_err(NovaError::from)?;
    let bytes = read_limited(body, state.max_body_bytes)
        .await
        .map_err(NovaError::from)?;
    let body = json_body(&bytes)?;
    let request = &body["keypair"];
    let name = request["name"]
        .as_str()
        .ok_or_else(|| NovaError::bad_request("keypair.name is required."))?;
    check_name(name)?;
    let key_type = request["type"].as_str().unwrap_or("ssh");
    if key_type != "ssh" && key_type != "x509" {
        return Err(NovaError::bad_request("keypair.type must be ssh or x509."));
    }
    let (public_key, private_key) = match request["public_key"].as_str() {
        Some(key) => {
            check_public_key(key, key_type)?;
            (key.trim_end().to_owned(), None)
        }
        None if key_type == "ssh" => {
            let (public, private) = generated_pair();
            (public, Some(private))
        }
        None => {
            return Err(NovaError::bad_request(
                "An x509 key pair must be imported (public_key).",
            ))
        }
    };
    let record = KeyPairRecord {
        project_id: project_id.clone(),
        name: name.to_owned(),
        fingerprint: fingerprint(&public_key),
        public_key,
        key_type: key_type.to_owned(),
        user_id: USER_ID.to_owned(),
        created_at: engine::clock::to_unix_ms(state.engine.now()),
    };
    if !state.engine.keypair_insert(record.clone()).await? {
        return Err(NovaError::conflict(format!(
            "Key pair '{name}' already exists."
        )));
    }
    let mut view = keypair_json(&record);
    view["user_id"] = json!(record.user_id);
    if let Some(private_key) = private_key {
        view["private_key"] = json!(private_key);
    }
    Ok(Json(json!({ "keypair": view })))
}

/// `GET …/os-keypairs`: `{"keypairs": [{"keypair": {...}}]}`.
pub async fn keypair_list(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
) -> NovaResult<Json<Value>> {
    crate::project_from_path(&project_id).map_err(NovaError::from)?;
    let keypairs: Vec<Value> = state
        .engine
        .keypairs(&project_id)
        .await?
        .iter()
        .map(|keypair| json!({ "keypair": keypair_json(keypair) }))
        .collect();
    Ok(Json(json!({ "keypairs": keypairs })))
}

async fn find(state: &AppState, project_id: &str, name: &str) -> NovaResult<KeyPairRecord> {
    crate::project_from_path(project_id).map_err(NovaError::from)?;
    state
        .engine
        .keypairs(project_id)
        .await?
        .into_iter()
        .find(|keypair| keypair.name == name)
        .ok_or_else(|| NovaError::not_found(format!("Keypair {name} not found.")))
}

/// `GET …/os-keypairs/{keypair_name}`.
pub async fn keypair_show(
    State(state): State<AppState>,
    Path((project_id, name)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let keypair = find(&state, &project_id, &name).await?;
    let id = i64::from_be_bytes(
        sha2::Sha256::digest(format!("{}/{}", keypair.project_id, keypair.name).as_bytes())[..8]
            .try_into()
            .unwrap_or([0; 8]),
    ) & 0x7fff_ffff;
    let mut view = keypair_json(&keypair);
    for (key, value) in [
        ("user_id", json!(keypair.user_id)),
        ("id", json!(id)),
        (
            "created_at",
            json!(crate::time_format::iso8601_micros(
                engine::clock::from_unix_ms(keypair.created_at)
            )),
        ),
        ("deleted", json!(false)),
        ("deleted_at", Value::Null),
        ("updated_at", Value::Null),
    ] {
        view[key] = value;
    }
    Ok(Json(json!({ "keypair": view })))
}

/// `DELETE …/os-keypairs/{keypair_name}`: 204; an unknown name 404.
pub async fn keypair_delete(
    State(state): State<AppState>,
    Path((project_id, name)): Path<(String, String)>,
) -> NovaResult<StatusCode> {
    crate::project_from_path(&project_id).map_err(NovaError::from)?;
    if state.engine.keypair_delete(&project_id, &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(NovaError::not_found(format!("Keypair {name} not found.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn public_keys_need_the_openssh_shape() {
        let (public, _) = generated_pair();
        assert!(check_public_key(&public, "ssh").is_ok(), "{public}");
        assert!(check_public_key("ssh-rsaAAAAB3***", "ssh").is_err());
        assert!(check_public_key("ssh-rsa", "ssh").is_err());
        assert!(check_public_key("ssh-rsa AAAA****AAAAAAAAAAAA", "ssh").is_err());
        assert_eq!(fingerprint(&public).split(':').count(), 16);
    }
}
