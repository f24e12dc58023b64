//! Glance v2 image reads over a catalogue of public images per region, and the project's own
//! images made with Nova's `createImage`: what `openstack server create` (which always looks
//! its image up), `server show` and `server list` read. Read-only; it exists only to serve the
//! compute clients.
//!
//! The catalogue is built in (`images.json`: the ids the ECS examples use) or replaced with
//! `--images FILE` (the same shape). An image without `regions` is offered in every region.
//! Creating a server does not require the image to be listed (as with ECS, image ids are
//! checked for shape, not looked up), so servers with other images still show and list.

use super::{project_region, NovaError, NovaResult};
use crate::body::query_pairs;
use crate::identity::auth::Caller;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

const BUILTIN: &str = include_str!("images.json");

/// One public image.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub os_distro: String,
    #[serde(default)]
    pub os_version: String,
    /// GiB.
    #[serde(default)]
    pub min_disk: u64,
    /// MiB.
    #[serde(default)]
    pub min_ram: u64,
    /// The regions offering it; empty: every region.
    #[serde(default)]
    pub regions: Vec<String>,
    /// A project's own image (`createImage`), not one of the public catalogue.
    #[serde(skip)]
    pub private: Option<PrivateImage>,
}

/// What a private image adds: its owner, the server it was made from, its properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrivateImage {
    pub owner: String,
    pub server_id: String,
    pub properties: std::collections::BTreeMap<String, String>,
    pub created_at: String,
}

impl From<engine::store::ImageRecord> for Image {
    fn from(record: engine::store::ImageRecord) -> Self {
        Image {
            id: record.id,
            name: record.name,
            os_distro: record.os_distro,
            os_version: String::new(),
            min_disk: u64::try_from(record.min_disk).unwrap_or(0),
            min_ram: u64::try_from(record.min_ram).unwrap_or(0),
            regions: Vec::new(),
            private: Some(PrivateImage {
                owner: record.project_id,
                server_id: record.server_id,
                properties: record.metadata,
                created_at: crate::time_format::server_time(record.created_at),
            }),
        }
    }
}

impl Image {
    fn offered_in(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|offered| offered == region)
    }
}

/// The public images, `{"images": [...]}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImageCatalogue {
    images: Vec<Image>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageCatalogueError {
    #[error("cannot read the image catalogue {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the image catalogue is not {{\"images\": [{{\"id\", \"name\", ...}}]}}: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("the image catalogue has the id {0:?} twice, or an id that is not a UUID")]
    BadId(String),
}

impl ImageCatalogue {
    pub fn builtin() -> Self {
        // The built-in file is checked by a test; an empty catalogue is the safe fallback.
        Self::from_json(BUILTIN).unwrap_or(Self { images: Vec::new() })
    }

    pub fn from_json(text: &str) -> Result<Self, ImageCatalogueError> {
        let catalogue: ImageCatalogue = serde_json::from_str(text)?;
        let mut seen = std::collections::HashSet::new();
        for image in &catalogue.images {
            if uuid::Uuid::parse_str(&image.id).is_err() || !seen.insert(image.id.as_str()) {
                return Err(ImageCatalogueError::BadId(image.id.clone()));
            }
        }
        Ok(catalogue)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self, ImageCatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| ImageCatalogueError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// The images of `region`.
    pub fn in_region<'a>(&'a self, region: &'a str) -> impl Iterator<Item = &'a Image> {
        self.images
            .iter()
            .filter(move |image| image.offered_in(region))
    }

    pub fn get<'a>(&'a self, region: &'a str, id: &str) -> Option<&'a Image> {
        self.in_region(region)
            .find(|image| image.id.eq_ignore_ascii_case(id))
    }
}

impl Default for ImageCatalogue {
    fn default() -> Self {
        Self::builtin()
    }
}

/// Glance's image view (no envelope: the SDK reads the bare object).
pub fn image_json(image: &Image, project_id: &str) -> Value {
    let windows = image.os_distro.eq_ignore_ascii_case("windows");
    let mut view = json!({
        "id": image.id,
        "name": image.name,
        "status": "active",
        "visibility": "public",
        "protected": false,
        "os_hidden": false,
        "owner": project_id,
        "container_format": "bare",
        "disk_format": "zvhd2",
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "size": 2_147_483_648u64,
        "virtual_size": null,
        "checksum": null,
        "os_distro": image.os_distro,
        "os_version": image.os_version,
        "__os_type": if windows { "Windows" } else { "Linux" },
        "__platform": image.os_distro,
        "__imagetype": "gold",
        "tags": [],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "self": format!("/v2/images/{}", image.id),
        "file": format!("/v2/images/{}/file", image.id),
        "schema": "/v2/schemas/image"
    });
    if let Some(private) = &image.private {
        view["visibility"] = json!("private");
        view["owner"] = json!(private.owner);
        view["__imagetype"] = json!("private");
        view["instance_uuid"] = json!(private.server_id);
        view["created_at"] = json!(private.created_at);
        view["updated_at"] = json!(private.created_at);
        for (key, value) in &private.properties {
            if view.get(key).is_none() {
                view[key.as_str()] = json!(value);
            }
        }
    }
    view
}

/// The images a project sees: the public ones of its region, then its own.
async fn visible(state: &AppState, project_id: &str) -> NovaResult<Vec<Image>> {
    let region = project_region(state, project_id);
    let mut images: Vec<Image> = state.images.in_region(&region).cloned().collect();
    if !project_id.is_empty() {
        images.extend(
            state
                .engine
                .images(project_id)
                .await?
                .into_iter()
                .map(Image::from),
        );
    }
    Ok(images)
}

fn caller_project(caller: Option<Extension<Caller>>) -> String {
    caller
        .and_then(|Extension(caller)| caller.project_id)
        .unwrap_or_default()
}

/// `GET /image/v2/images/{image_id}`.
pub async fn image_show(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(image_id): Path<String>,
) -> NovaResult<Json<Value>> {
    let project_id = caller_project(caller);
    visible(&state, &project_id)
        .await?
        .iter()
        .find(|image| image.id.eq_ignore_ascii_case(&image_id))
        .map(|image| Json(image_json(image, &project_id)))
        .ok_or_else(|| NovaError::not_found(format!("No image found with ID {image_id}")))
}

/// `GET /image/v2/images`: filters `name`, `id` (`in:a,b` too), `status`, `visibility`,
/// `os_distro`; `limit`/`marker` page the list. Other parameters are ignored.
pub async fn image_list(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    RawQuery(query): RawQuery,
) -> NovaResult<Json<Value>> {
    let project_id = caller_project(caller);
    let pairs = query_pairs(query.as_deref()).map_err(NovaError::from)?;
    let all = visible(&state, &project_id).await?;
    let mut images: Vec<&Image> = all.iter().collect();
    let mut limit = usize::MAX;
    let mut marker = None;
    for (key, value) in pairs {
        match key.as_str() {
            "name" => images.retain(|image| image.name == value),
            "id" => {
                let ids: Vec<&str> = value
                    .strip_prefix("in:")
                    .map(|list| list.split(',').collect())
                    .unwrap_or_else(|| vec![value.as_str()]);
                images.retain(|image| ids.iter().any(|id| image.id.eq_ignore_ascii_case(id)));
            }
            "status" if !value.eq_ignore_ascii_case("active") => images.clear(),
            "visibility" if value == "public" => images.retain(|image| image.private.is_none()),
            "visibility" if value == "private" => images.retain(|image| image.private.is_some()),
            "os_distro" => images.retain(|image| image.os_distro == value),
            "limit" => {
                limit = value
                    .parse()
                    .map_err(|_| NovaError::bad_request("limit must be an integer"))?
            }
            "marker" => marker = Some(value),
            _ => {}
        }
    }
    if let Some(marker) = marker {
        let position = images
            .iter()
            .position(|image| image.id == marker)
            .ok_or_else(|| NovaError::bad_request(format!("marker {marker} not found")))?;
        images.drain(..=position);
    }
    let more = images.len() > limit;
    images.truncate(limit);
    let mut body = json!({
        "images": images.iter().map(|image| image_json(image, &project_id)).collect::<Vec<_>>(),
        "first": "/v2/images",
        "schema": "/v2/schemas/images"
    });
    if let (true, Some(last)) = (more, images.last()) {
        body["next"] = json!(format!("/v2/images?marker={}&limit={limit}", last.id));
    }
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_loads_and_is_filtered_by_region() {
        let catalogue = ImageCatalogue::from_json(BUILTIN).expect("the built-in file is valid");
        let everywhere = catalogue.in_region("eu-de").count();
        let elsewhere = catalogue.in_region("somewhere-else").count();
        assert!(
            everywhere > elsewhere && elsewhere > 0,
            "{everywhere} {elsewhere}"
        );
        assert!(catalogue
            .get("eu-de", "1CE5800F-6FBC-4BB0-A0E5-0D7B5F4C4C4E")
            .is_some());
    }

    #[test]
    fn duplicate_or_malformed_ids_are_refused() {
        let twice = r#"{"images": [{"id": "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e", "name": "a"},
                                   {"id": "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e", "name": "b"}]}"#;
        assert!(matches!(
            ImageCatalogue::from_json(twice),
            Err(ImageCatalogueError::BadId(_))
        ));
        let bad = r#"{"images": [{"id": "nope", "name": "a"}]}"#;
        assert!(ImageCatalogue::from_json(bad).is_err());
    }
}
