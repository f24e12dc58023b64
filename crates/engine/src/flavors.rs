//! The flavor catalogue: which ECS flavors (instance types) exist, and which a server may be
//! resized to.
//!
//! # Source and shape
//!
//! A [`Flavor`] is one element of the `flavors` array of ListFlavors
//! (`GET /v1/{project_id}/cloudservers/flavors`, reference page
//! `apis_recommended/flavor_management/listing_flavor_details_and_extended_information.rst`),
//! field for field and with the page's JSON types: `vcpus`, `disk` and `swap` are strings, `ram`
//! is an integer (MiB), `OS-FLV-DISABLED:disabled` and `os-flavor-access:is_public` are real
//! booleans, `rxtx_factor` is a float, `rxtx_quota` and `rxtx_cap` are strings that are always
//! `null` in practice, and every value in `os_extra_specs` is a string. Serializing a [`Flavor`]
//! gives exactly that wire shape, so the API layer can send it as it is.
//!
//! # Catalogues
//!
//! Each region has its catalogue ([`crate::regions`]); [`FlavorCatalogue::builtin`] is the one of
//! the default region, Open Telekom Cloud's `eu-de` (the flavors of the OTC user guide, and the
//! retired ones). Names follow the usual `<family>.<size>.<GiB of RAM per vCPU>` scheme
//! (`s3.medium.1`: 1 vCPU, 1 GiB).
//!
//! Users can replace a catalogue with a file of the same shape
//! ([`FlavorCatalogue::from_file`], [`FlavorCatalogue::from_json`]). In such a file only `id`,
//! `name`, `vcpus` and `ram` are required; the fields the reference calls unused default to the
//! values the reference gives (`disk` `"0"`, `swap` `""`, ephemeral `0`, disabled `false`,
//! `rxtx_factor` `1.0`, `rxtx_quota`/`rxtx_cap` `null`, public `true`, `links` `[]`,
//! `os_extra_specs` `{}`). `vcpus` and `disk` may also be given as JSON integers (the
//! resize-flavors page types them so); they are always sent back as strings. Unknown fields are
//! ignored. A flavor whose `vcpus` is not a whole number of at least 1 is refused at load
//! ([`FlavorCatalogueError::BadVcpus`]): the `cores` quota counts `vcpus`, so a flavor read as
//! 0 vCPUs would create servers the quota never sees.
//!
//! # Availability zones
//!
//! [`FlavorCatalogue::in_availability_zone`] follows the page's rules for
//! `cond:operation:status` (region-wide, default `normal`) and `cond:operation:az` (per AZ,
//! `"az(status), az(status), ..."`, which overrides the region-wide status for the AZs it names;
//! an entry with empty parentheses is invalid and ignored). A flavor is offered in an AZ when
//! its status there is `normal`, `obt` or `promotion`, the three states the page says a query
//! with `availability_zone` returns. So a flavor with no `cond:operation:az` is offered
//! everywhere its region-wide status allows, and `sellout`, `obt_sellout` and `abandon` flavors
//! are not offered. Callers check the AZ name against the region's zones first: an AZ that no
//! flavor names falls back to each flavor's region-wide status.
//!
//! A flavor is **retired** ([`Flavor::is_retired`]) when its region-wide status is `abandon` and
//! its `cond:operation:az` sells it nowhere: ListFlavors does not show it, and it is no resize
//! target.
//!
//! # Resize targets
//!
//! [`FlavorCatalogue::resize_targets`] implements ecsd's rule for the allowed targets of a
//! resize (`GET /v2.1/{project_id}/resize_flavors`, and the check done by the resize job): **every
//! flavor of the same family, except the source flavor itself and retired flavors**. The family is the part of the
//! flavor name before the first `.` (`s3` for `s3.medium.1`). Sizes may go up or down; a resize
//! across families (`s3` → `c3`) is refused. The reference page does not state the real cloud's
//! rule (it only says that "an ECS flavor cannot be changed to certain flavors"); this rule is
//! ecsd's own, simple and predictable choice.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

/// The flavor statuses under which a flavor is offered in an AZ (`normal`, `obt`, `promotion`).
pub const SELLABLE_STATUSES: &[&str] = &["normal", "obt", "promotion"];

/// The `os_extra_specs` key of the region-wide flavor status.
pub const SPEC_OPERATION_STATUS: &str = "cond:operation:status";

/// The `os_extra_specs` key of the per-AZ flavor status.
pub const SPEC_OPERATION_AZ: &str = "cond:operation:az";

/// One flavor, in the wire shape of an element of ListFlavors' `flavors` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flavor {
    /// The flavor ID, e.g. `"s3.medium.1"` (on this cloud the ID is the name).
    pub id: String,
    /// The flavor name, e.g. `"s3.medium.1"`.
    pub name: String,
    /// Number of vCPUs, as a string (`"1"`). See [`Flavor::vcpu_count`].
    #[serde(deserialize_with = "string_or_integer")]
    pub vcpus: String,
    /// Memory in MiB.
    pub ram: u64,
    /// System disk size; unused, always `"0"`.
    #[serde(default = "default_disk", deserialize_with = "string_or_integer")]
    pub disk: String,
    /// Swap size; unused, always `""`.
    #[serde(default)]
    pub swap: String,
    /// Shortcut links; empty in the built-in catalogue (they would name a project).
    #[serde(default)]
    pub links: Vec<FlavorLink>,
    /// Temporary disk size; unused, always 0.
    #[serde(rename = "OS-FLV-EXT-DATA:ephemeral", default)]
    pub ephemeral: u64,
    /// Network bandwidth ratio; unused, always 1.0.
    #[serde(default = "default_rxtx_factor")]
    pub rxtx_factor: f64,
    /// Whether the flavor is disabled; unused, always false.
    #[serde(rename = "OS-FLV-DISABLED:disabled", default)]
    pub disabled: bool,
    /// Software bandwidth constraint; unused, always `null`.
    #[serde(default)]
    pub rxtx_quota: Option<String>,
    /// Hardware bandwidth constraint; unused, always `null`.
    #[serde(default)]
    pub rxtx_cap: Option<String>,
    /// Whether every tenant may use the flavor.
    #[serde(rename = "os-flavor-access:is_public", default = "default_true")]
    pub is_public: bool,
    /// Extended specifications (`ecs:performancetype`, `cond:operation:az`, ...): all strings.
    #[serde(default)]
    pub os_extra_specs: BTreeMap<String, String>,
}

/// One element of a flavor's `links` array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlavorLink {
    /// `"self"` or `"bookmark"`.
    pub rel: String,
    /// The link.
    pub href: String,
    /// Unused; always `null`.
    #[serde(rename = "type", default)]
    pub link_type: Option<String>,
}

fn default_disk() -> String {
    "0".to_string()
}

fn default_rxtx_factor() -> f64 {
    1.0
}

fn default_true() -> bool {
    true
}

/// Accepts `"4"` or `4` and keeps it as the string `"4"`.
fn string_or_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StringOrInteger {
        String(String),
        Integer(u64),
    }
    Ok(match StringOrInteger::deserialize(deserializer)? {
        StringOrInteger::String(s) => s,
        StringOrInteger::Integer(n) => n.to_string(),
    })
}

impl Flavor {
    /// The number of vCPUs (`vcpus` parsed); 0 if `vcpus` is not a number, which a catalogue
    /// never holds ([`FlavorCatalogue::from_flavors`] refuses such a flavor).
    pub fn vcpu_count(&self) -> u32 {
        self.vcpus.trim().parse().unwrap_or(0)
    }

    /// The family: the part of the name before the first `.` (`"s3"` for `"s3.medium.1"`); the
    /// whole name if it has no `.`.
    pub fn family(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }

    /// The flavor's status in availability zone `az`: the status `cond:operation:az` gives for
    /// that AZ, else `cond:operation:status`, else `"normal"`.
    pub fn status_in_az(&self, az: &str) -> &str {
        self.os_extra_specs
            .get(SPEC_OPERATION_AZ)
            .and_then(|spec| az_status(spec, az))
            .or_else(|| {
                self.os_extra_specs
                    .get(SPEC_OPERATION_STATUS)
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or("normal")
    }

    /// Whether the flavor is offered in `az` (its [`status_in_az`](Self::status_in_az) is one
    /// of [`SELLABLE_STATUSES`]).
    pub fn is_offered_in(&self, az: &str) -> bool {
        SELLABLE_STATUSES.contains(&self.status_in_az(az))
    }

    /// Retired: `abandon` region-wide, and no entry of `cond:operation:az` sells it (real
    /// answers mark a flavor `abandon` region-wide and `normal` in the AZs that still sell it).
    pub fn is_retired(&self) -> bool {
        let region_wide = self
            .os_extra_specs
            .get(SPEC_OPERATION_STATUS)
            .map(|s| s.trim())
            .unwrap_or_default();
        region_wide == "abandon"
            && !self
                .os_extra_specs
                .get(SPEC_OPERATION_AZ)
                .is_some_and(|spec| {
                    spec.split(',').any(|entry| {
                        entry
                            .trim()
                            .split_once('(')
                            .and_then(|(_, rest)| rest.strip_suffix(')'))
                            .is_some_and(|status| SELLABLE_STATUSES.contains(&status.trim()))
                    })
                })
    }
}

/// The status `spec` (`"az0(normal), az1(sellout)"`) gives for `az`, if it names it with a
/// non-empty status.
fn az_status<'s>(spec: &'s str, az: &str) -> Option<&'s str> {
    spec.split(',').find_map(|entry| {
        let (name, rest) = entry.trim().split_once('(')?;
        let status = rest.strip_suffix(')')?.trim();
        (name.trim() == az && !status.is_empty()).then_some(status)
    })
}

/// Why a flavor catalogue could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FlavorCatalogueError {
    /// The catalogue file could not be read.
    #[error("cannot read the flavor catalogue {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not JSON of the shape `{"flavors": [ ... ]}`.
    #[error("invalid flavor catalogue JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The `flavors` array is empty.
    #[error("the flavor catalogue has no flavors")]
    Empty,
    /// Two flavors have the same `id`.
    #[error("the flavor catalogue lists flavor id {0:?} more than once")]
    DuplicateId(String),
    /// A flavor's `vcpus` is not a whole number of at least 1.
    #[error("flavor {id:?} has vcpus {vcpus:?}; expected a whole number of at least 1")]
    BadVcpus {
        /// The flavor's id.
        id: String,
        /// The `vcpus` as given.
        vcpus: String,
    },
}

/// The body of a ListFlavors response, which is also the catalogue file's shape.
#[derive(Deserialize)]
struct CatalogueFile {
    flavors: Vec<Flavor>,
}

/// The flavors ecsd knows, in catalogue order, with an index by ID.
#[derive(Debug, Clone)]
pub struct FlavorCatalogue {
    flavors: Vec<Flavor>,
    by_id: HashMap<String, usize>,
}

impl FlavorCatalogue {
    /// The built-in catalogue of the default region (`eu-de`, see [`crate::regions`]).
    pub fn builtin() -> Self {
        crate::regions::Regions::builtin()
            .default_region()
            .flavors()
            .clone()
    }

    /// A catalogue from JSON text in the shape of a ListFlavors response (`{"flavors": [ ... ]}`).
    pub fn from_json(text: &str) -> Result<Self, FlavorCatalogueError> {
        let file: CatalogueFile =
            serde_json::from_str(text).map_err(FlavorCatalogueError::InvalidJson)?;
        Self::from_flavors(file.flavors)
    }

    /// A catalogue from a file in the shape of a ListFlavors response.
    pub fn from_file(path: &Path) -> Result<Self, FlavorCatalogueError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| FlavorCatalogueError::Unreadable {
                path: path.to_path_buf(),
                source,
            })?;
        Self::from_json(&text)
    }

    /// A catalogue from a list of flavors, kept in that order.
    pub fn from_flavors(flavors: Vec<Flavor>) -> Result<Self, FlavorCatalogueError> {
        if flavors.is_empty() {
            return Err(FlavorCatalogueError::Empty);
        }
        let mut by_id = HashMap::with_capacity(flavors.len());
        for (index, flavor) in flavors.iter().enumerate() {
            if by_id.insert(flavor.id.clone(), index).is_some() {
                return Err(FlavorCatalogueError::DuplicateId(flavor.id.clone()));
            }
            // Quotas count `vcpus` (the engine's and the store's checks parse it): one that
            // does not parse would count as 0 and escape the `cores` quota.
            if flavor.vcpu_count() == 0 {
                return Err(FlavorCatalogueError::BadVcpus {
                    id: flavor.id.clone(),
                    vcpus: flavor.vcpus.clone(),
                });
            }
        }
        Ok(Self { flavors, by_id })
    }

    /// The flavor with this ID.
    pub fn get(&self, id: &str) -> Option<&Flavor> {
        self.by_id.get(id).map(|&index| &self.flavors[index])
    }

    /// Every flavor, in catalogue order.
    pub fn all(&self) -> &[Flavor] {
        &self.flavors
    }

    /// The flavors offered in availability zone `az`, in catalogue order (see the module doc:
    /// the flavor's status in that AZ, from `cond:operation:az` or else
    /// `cond:operation:status`, must be `normal`, `obt` or `promotion`).
    pub fn in_availability_zone<'a>(&'a self, az: &'a str) -> impl Iterator<Item = &'a Flavor> {
        self.flavors.iter().filter(move |f| f.is_offered_in(az))
    }

    /// The flavors `source` may be resized to, in catalogue order: every flavor of the same
    /// family (name prefix before the first `.`) except `source` itself (same `id`) and retired
    /// flavors.
    pub fn resize_targets(&self, source: &Flavor) -> Vec<&Flavor> {
        let family = source.family();
        self.flavors
            .iter()
            .filter(|f| f.id != source.id && f.family() == family && !f.is_retired())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use std::collections::HashSet;

    const EU_DE_JSON: &str = include_str!("../data/flavors/otc-eu-de.json");
    const RETIRED_JSON: &str = include_str!("../data/flavors/otc-retired.json");
    const HUAWEI_JSON: &str = include_str!("../data/flavors/huaweicloud.json");
    const EU_DE_ZONES: &[&str] = &["eu-de-01", "eu-de-02", "eu-de-03"];

    fn ids<'a>(flavors: impl IntoIterator<Item = &'a Flavor>) -> Vec<&'a str> {
        flavors.into_iter().map(|f| f.id.as_str()).collect()
    }

    fn minimal(id: &str) -> Value {
        json!({"id": id, "name": id, "vcpus": "2", "ram": 4096})
    }

    #[test]
    fn builtin_parses_with_unique_ids() {
        let catalogue = FlavorCatalogue::builtin();
        let all = catalogue.all();
        assert_eq!(
            all.len(),
            329 + 68,
            "eu-de: the OTC guide's flavors and the retired ones"
        );
        let unique: HashSet<&str> = all.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(unique.len(), all.len());
        for f in all {
            assert_eq!(f.id, f.name);
            assert_eq!(catalogue.get(&f.id), Some(f));
            assert!(f.vcpu_count() > 0 && f.ram > 0, "{}", f.name);
        }
    }

    /// The OTC names most used in public Terraform and Ansible code (the reference's
    /// `flavors/README.md`), with their vCPUs and RAM.
    #[test]
    fn builtin_has_the_names_users_write() {
        let catalogue = FlavorCatalogue::builtin();
        for (id, vcpus, ram) in [
            ("s2.large.2", 2, 4096),
            ("s3.medium.1", 1, 1024),
            ("s2.medium.1", 1, 1024),
            ("s3.large.2", 2, 4096),
            ("c3.large.2", 2, 4096),
            ("c3.xlarge.2", 4, 8192),
            ("s2.medium.2", 1, 2048),
            ("s3.medium.2", 1, 2048),
            ("m3.large.8", 2, 16384),
            ("c3.15xlarge.2", 60, 131072),
        ] {
            let f = catalogue
                .get(id)
                .unwrap_or_else(|| panic!("{id} is missing"));
            assert_eq!((f.vcpu_count(), f.ram), (vcpus, ram), "{id}");
            assert!(!f.is_retired(), "{id}");
        }
        assert!(catalogue.get("s3.small.1").is_none(), "a Huawei Cloud name");
    }

    /// Sold flavors name the three AZs; retired ones are `abandon` and sold nowhere.
    #[test]
    fn builtin_flavors_are_consistent() {
        for f in FlavorCatalogue::builtin().all() {
            let status = f
                .os_extra_specs
                .get(SPEC_OPERATION_STATUS)
                .map(String::as_str);
            if f.is_retired() {
                assert_eq!(status, Some("abandon"), "{}", f.name);
                assert!(EU_DE_ZONES.iter().all(|az| !f.is_offered_in(az)));
            } else {
                assert_eq!(status, Some("normal"), "{}", f.name);
                for az in EU_DE_ZONES {
                    assert_eq!(f.status_in_az(az), "normal", "{} in {az}", f.name);
                }
            }
        }
    }

    /// Serializing the parsed catalogue gives back exactly the files: nothing is lost or
    /// re-typed.
    #[test]
    fn builtin_round_trips_to_the_same_json() {
        let mut flavors = Vec::new();
        for text in [EU_DE_JSON, RETIRED_JSON] {
            let file: Value = serde_json::from_str(text).expect("JSON");
            flavors.extend(
                file["flavors"]
                    .as_array()
                    .expect("an array")
                    .iter()
                    .cloned(),
            );
        }
        let again = json!(FlavorCatalogue::builtin().all());
        assert_eq!(again, Value::Array(flavors));
    }

    /// The JSON types are those of the ListFlavors page's field table.
    #[test]
    fn data_json_types_match_the_reference() {
        for text in [EU_DE_JSON, RETIRED_JSON, HUAWEI_JSON] {
            let file: Value = serde_json::from_str(text).expect("JSON");
            let flavors = file["flavors"].as_array().expect("flavors is an array");
            for f in flavors {
                let obj = f.as_object().expect("a flavor is an object");
                assert_eq!(obj.len(), 14, "unexpected field set: {:?}", obj.keys());
                for key in ["id", "name", "vcpus", "disk", "swap"] {
                    assert!(obj[key].is_string(), "{key} must be a string");
                }
                assert!(obj["ram"].is_u64());
                assert!(obj["OS-FLV-EXT-DATA:ephemeral"].is_u64());
                assert!(obj["rxtx_factor"].is_f64());
                assert!(obj["OS-FLV-DISABLED:disabled"].is_boolean());
                assert!(obj["os-flavor-access:is_public"].is_boolean());
                assert!(obj["rxtx_quota"].is_null());
                assert!(obj["rxtx_cap"].is_null());
                assert!(obj["links"].is_array());
                let specs = obj["os_extra_specs"].as_object().expect("an object");
                assert!(specs.values().all(Value::is_string));
                assert_eq!(obj["disk"], "0");
                assert_eq!(obj["swap"], "");
            }
        }
    }

    #[test]
    fn get_finds_by_id() {
        let catalogue = FlavorCatalogue::builtin();
        let f = catalogue.get("s3.medium.2").expect("s3.medium.2");
        assert_eq!(f.vcpus, "1");
        assert_eq!(f.ram, 2048);
        assert_eq!(f.family(), "s3");
        assert!(catalogue.get("s3.small.1").is_none());
        assert!(catalogue.get("").is_none());
    }

    #[test]
    fn vcpu_count_and_family() {
        let mut f: Flavor = serde_json::from_value(minimal("x1.large.2")).expect("flavor");
        assert_eq!(f.vcpu_count(), 2);
        f.vcpus = "many".to_string();
        assert_eq!(f.vcpu_count(), 0);
        assert_eq!(f.family(), "x1");
        f.name = "plain".to_string();
        assert_eq!(f.family(), "plain");
    }

    #[test]
    fn builtin_flavors_are_offered_in_every_az() {
        let catalogue = FlavorCatalogue::builtin();
        let sold = catalogue.all().iter().filter(|f| !f.is_retired()).count();
        assert_eq!(sold, 329);
        for az in EU_DE_ZONES {
            assert_eq!(catalogue.in_availability_zone(az).count(), sold);
        }
    }

    #[test]
    fn in_availability_zone_follows_the_cond_operation_specs() {
        let mut flavors = Vec::new();
        for (id, status, az) in [
            ("a.no.specs", None, None),
            ("b.az.listed", None, Some("eu-de-01(normal), eu-de-02(obt)")),
            (
                "c.sold.out.in.2",
                None,
                Some("eu-de-01(normal), eu-de-02(sellout), eu-de-03(promotion)"),
            ),
            (
                "d.abandoned.but.01",
                Some("abandon"),
                Some("eu-de-01(normal)"),
            ),
            ("e.sold.out", Some("sellout"), None),
            ("f.blank.status", Some("abandon"), Some("eu-de-02()")),
        ] {
            let mut f = minimal(id);
            if let Some(status) = status {
                f["os_extra_specs"][SPEC_OPERATION_STATUS] = json!(status);
            }
            if let Some(az) = az {
                f["os_extra_specs"][SPEC_OPERATION_AZ] = json!(az);
            }
            flavors.push(f);
        }
        let text = json!({ "flavors": flavors }).to_string();
        let catalogue = FlavorCatalogue::from_json(&text).expect("valid catalogue");

        assert_eq!(
            ids(catalogue.in_availability_zone("eu-de-01")),
            [
                "a.no.specs",
                "b.az.listed",
                "c.sold.out.in.2",
                "d.abandoned.but.01"
            ]
        );
        assert_eq!(
            ids(catalogue.in_availability_zone("eu-de-02")),
            ["a.no.specs", "b.az.listed"]
        );
        // Not named by b's spec: b falls back to its region-wide status (default normal).
        assert_eq!(
            ids(catalogue.in_availability_zone("eu-de-03")),
            ["a.no.specs", "b.az.listed", "c.sold.out.in.2"]
        );
        let c = catalogue.get("c.sold.out.in.2").expect("c");
        assert_eq!(c.status_in_az("eu-de-02"), "sellout");
        assert_eq!(c.status_in_az("eu-de-03"), "promotion");
        let f = catalogue.get("f.blank.status").expect("f");
        assert_eq!(f.status_in_az("eu-de-02"), "abandon");
    }

    #[test]
    fn resize_targets_are_the_rest_of_the_family() {
        let catalogue = FlavorCatalogue::builtin();
        let source = catalogue.get("s3.large.2").expect("s3.large.2");
        let targets = catalogue.resize_targets(source);
        let s3_count = catalogue
            .all()
            .iter()
            .filter(|f| f.family() == "s3")
            .count();
        assert_eq!(targets.len(), s3_count - 1);
        assert!(targets.iter().all(|f| f.family() == "s3"));
        assert!(targets.iter().all(|f| f.id != "s3.large.2"));
        assert!(targets.iter().any(|f| f.id == "s3.medium.1"));
        assert!(targets.iter().any(|f| f.id == "s3.4xlarge.4"));

        let m3 = catalogue.get("m3.large.8").expect("m3.large.8");
        let m3_targets = ids(catalogue.resize_targets(m3));
        assert!(!m3_targets.is_empty());
        assert!(m3_targets.iter().all(|id| id.starts_with("m3.")));
        assert!(!m3_targets.contains(&"m3.large.8"));
        assert!(!m3_targets.contains(&"c3.large.2"));

        // A source that is not in the catalogue still gets its family's flavors.
        let mut foreign = catalogue.get("c3.large.2").expect("c3.large.2").clone();
        foreign.id = "c3.custom".to_string();
        foreign.name = "c3.custom".to_string();
        let c3_count = catalogue
            .all()
            .iter()
            .filter(|f| f.family() == "c3")
            .count();
        assert_eq!(catalogue.resize_targets(&foreign).len(), c3_count);

        // Retired flavors are no targets: a retired family has none left.
        let retired = catalogue.get("hl1.8xlarge.8").expect("retired");
        assert!(retired.is_retired());
        assert!(catalogue.resize_targets(retired).is_empty());
    }

    #[test]
    fn a_flavor_is_retired_only_where_no_az_still_sells_it() {
        let mut f: Flavor = serde_json::from_value(minimal("x.y.1")).expect("flavor");
        assert!(!f.is_retired(), "no status: normal");
        f.os_extra_specs
            .insert(SPEC_OPERATION_STATUS.into(), "abandon".into());
        assert!(f.is_retired());
        f.os_extra_specs
            .insert(SPEC_OPERATION_AZ.into(), "az1(sellout), az2()".into());
        assert!(f.is_retired());
        f.os_extra_specs
            .insert(SPEC_OPERATION_AZ.into(), "az1(sellout), az2(normal)".into());
        assert!(!f.is_retired(), "still sold in az2");
        f.os_extra_specs
            .insert(SPEC_OPERATION_STATUS.into(), "sellout".into());
        f.os_extra_specs.remove(SPEC_OPERATION_AZ);
        assert!(!f.is_retired(), "sold out is not retired");
    }

    #[test]
    fn from_json_fills_defaults_and_accepts_integers() {
        let text = json!({"flavors": [
            {"id": "x1.large.2", "name": "x1.large.2", "vcpus": 2, "ram": 4096, "disk": 0,
             "rxtx_factor": 1, "unknown_field": "ignored"},
        ]})
        .to_string();
        let catalogue = FlavorCatalogue::from_json(&text).expect("valid catalogue");
        let f = &catalogue.all()[0];
        assert_eq!(f.vcpus, "2");
        assert_eq!(f.disk, "0");
        assert_eq!(f.swap, "");
        assert_eq!(f.ephemeral, 0);
        assert_eq!(f.rxtx_factor, 1.0);
        assert!(!f.disabled);
        assert!(f.is_public);
        assert_eq!(f.rxtx_quota, None);
        assert!(f.links.is_empty());
        assert!(f.os_extra_specs.is_empty());

        let text = json!({"flavors": [minimal("x1.large.2")]}).to_string();
        let f = FlavorCatalogue::from_json(&text).expect("valid").all()[0].clone();
        let wire = serde_json::to_value(&f).expect("serializes");
        assert_eq!(wire["vcpus"], "2");
        assert_eq!(wire["disk"], "0");
        assert_eq!(wire["rxtx_factor"], 1.0);
        assert_eq!(wire["rxtx_cap"], Value::Null);
        assert_eq!(wire["os-flavor-access:is_public"], true);
    }

    #[test]
    fn from_json_keeps_links() {
        let mut f = minimal("x1.large.2");
        f["links"] =
            json!([{"rel": "self", "href": "https://example.com/flavors/x1", "type": null}]);
        let text = json!({ "flavors": [f] }).to_string();
        let catalogue = FlavorCatalogue::from_json(&text).expect("valid catalogue");
        let link = &catalogue.all()[0].links[0];
        assert_eq!(link.rel, "self");
        assert_eq!(link.link_type, None);
        let wire = serde_json::to_value(&catalogue.all()[0]).expect("serializes");
        assert_eq!(wire["links"][0]["type"], Value::Null);
    }

    #[test]
    fn from_json_rejects_bad_json() {
        for text in [
            "",
            "not json",
            "{\"flavors\": [",
            "[]",
            "{}",
            "{\"flavors\": {}}",
            "{\"flavors\": [{\"id\": \"x\"}]}",
            "{\"flavors\": [{\"id\": \"x\", \"name\": \"x\", \"vcpus\": \"1\", \"ram\": \"1024\"}]}",
            "{\"flavors\": [{\"id\": \"x\", \"name\": \"x\", \"vcpus\": \"1\", \"ram\": 1024, \"os_extra_specs\": {\"k\": 1}}]}",
        ] {
            match FlavorCatalogue::from_json(text) {
                Err(FlavorCatalogueError::InvalidJson(e)) => {
                    let message = FlavorCatalogueError::InvalidJson(e).to_string();
                    assert!(message.starts_with("invalid flavor catalogue JSON: "));
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn from_json_rejects_an_empty_list() {
        assert!(matches!(
            FlavorCatalogue::from_json("{\"flavors\": []}"),
            Err(FlavorCatalogueError::Empty)
        ));
    }

    #[test]
    fn from_json_rejects_duplicate_ids() {
        let text =
            json!({"flavors": [minimal("a.b.1"), minimal("c.d.2"), minimal("a.b.1")]}).to_string();
        match FlavorCatalogue::from_json(&text) {
            Err(FlavorCatalogueError::DuplicateId(id)) => assert_eq!(id, "a.b.1"),
            other => panic!("expected DuplicateId, got {other:?}"),
        }
    }

    /// The `cores` quota counts `vcpus`: a flavor whose `vcpus` reads as 0 would escape it.
    #[test]
    fn from_json_rejects_vcpus_that_are_not_a_positive_whole_number() {
        for vcpus in [
            json!("many"),
            json!(""),
            json!("0"),
            json!(0),
            json!("-1"),
            json!("1.5"),
        ] {
            let mut flavor = minimal("x1.large.2");
            flavor["vcpus"] = vcpus.clone();
            let text = json!({"flavors": [minimal("a.b.1"), flavor]}).to_string();
            match FlavorCatalogue::from_json(&text) {
                Err(FlavorCatalogueError::BadVcpus { id, .. }) => assert_eq!(id, "x1.large.2"),
                other => panic!("vcpus {vcpus}: expected BadVcpus, got {other:?}"),
            }
        }
        let mut flavor = minimal("x1.large.2");
        flavor["vcpus"] = json!(" 4 ");
        let text = json!({ "flavors": [flavor] }).to_string();
        let catalogue = FlavorCatalogue::from_json(&text).expect("spaces around a number are kept");
        assert_eq!(catalogue.all()[0].vcpu_count(), 4);
    }

    #[test]
    fn from_file_reads_and_reports_unreadable_files() {
        let dir = std::env::temp_dir().join(format!("ecsd-flavors-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("flavors.json");
        std::fs::write(&path, EU_DE_JSON).expect("write");
        let catalogue = FlavorCatalogue::from_file(&path).expect("readable");
        assert_eq!(catalogue.all(), &FlavorCatalogue::builtin().all()[..329]);

        let missing = dir.join("missing.json");
        match FlavorCatalogue::from_file(&missing) {
            Err(FlavorCatalogueError::Unreadable { path, .. }) => assert_eq!(path, missing),
            other => panic!("expected Unreadable, got {other:?}"),
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
