//! Regions: each has its availability zones and its flavor catalogue, and a project's region
//! chooses both.
//!
//! # Built-in regions
//!
//! [`Regions::builtin`] reads `data/regions.json` (compiled in): for each region its name, its
//! zones (the first is where a create without `availability_zone` goes) and the catalogue files
//! (`data/flavors/*.json`, in the ListFlavors shape) whose flavors make its catalogue, in that
//! order. The files are copies of the sourced tables of the reference folder
//! (`../shared/reference/flavors/`, refreshed by `scripts/update-flavors.sh`); where each fact
//! comes from is in `data/README.md` and `data/flavors/provenance.json`.
//!
//! * Open Telekom Cloud `eu-de` and `eu-nl`: the 329 flavors of the OTC user guide, sold in the
//!   region's three AZs, plus 68 retired ones (`cond:operation:status` `abandon`).
//! * Huawei Cloud `cn-north-4`, `ap-southeast-1`, `ap-southeast-3`, `la-south-2`,
//!   `af-south-1`: the 127 Huawei Cloud flavors, with no per-AZ list (sold in every zone).
//!
//! # Retired flavors
//!
//! A flavor is retired ([`Flavor::is_retired`]) when its region-wide status is `abandon` and no
//! AZ of its `cond:operation:az` sells it. ListFlavors does not list it (the page: `abandon`
//! flavors are "not displayed"), create and resize refuse it, and servers that already have it
//! keep showing it (a server stores its flavor).
//!
//! # Overrides
//!
//! [`Regions::replace_all_catalogues`] (`--flavors FILE`) gives every region the same
//! catalogue; [`Regions::configure`] (a `[[regions]]` table of the accounts file) replaces one
//! region's catalogue or zones, or adds a region.

use crate::flavors::{Flavor, FlavorCatalogue, FlavorCatalogueError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// The region of the built-in account, and of every request with `--auth off`.
pub const DEFAULT_REGION: &str = "eu-de";

const REGIONS_JSON: &str = include_str!("../data/regions.json");

/// The catalogue files `regions.json` may name, compiled in.
const CATALOGUE_FILES: &[(&str, &str)] = &[
    (
        "otc-eu-de.json",
        include_str!("../data/flavors/otc-eu-de.json"),
    ),
    (
        "otc-eu-nl.json",
        include_str!("../data/flavors/otc-eu-nl.json"),
    ),
    (
        "otc-retired.json",
        include_str!("../data/flavors/otc-retired.json"),
    ),
    (
        "huaweicloud.json",
        include_str!("../data/flavors/huaweicloud.json"),
    ),
];

/// One region: its name, its availability zones and its flavors.
#[derive(Debug, Clone)]
pub struct Region {
    name: String,
    zones: Vec<String>,
    flavors: Arc<FlavorCatalogue>,
}

/// Why a region could not be built or configured.
#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    #[error("region {0:?}: the name must be 1 to 64 letters, digits, '-' or '_'")]
    InvalidName(String),
    #[error("region {0:?} has no availability zones")]
    NoZones(String),
    #[error("region {region:?}: availability zone {zone:?} is not valid (1 to 64 letters, digits, '-', '_' or '.', each once)")]
    InvalidZone { region: String, zone: String },
    #[error("region {0:?} is not built in: give both its zones and its flavors")]
    Incomplete(String),
    #[error("region {region:?}: {source}")]
    Catalogue {
        region: String,
        #[source]
        source: FlavorCatalogueError,
    },
    #[error("the built-in regions.json names an unknown catalogue file {0:?}")]
    UnknownFile(String),
}

fn name_like(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

impl Region {
    /// A region with these zones (at least one, unique) and flavors.
    pub fn new(
        name: &str,
        zones: Vec<String>,
        flavors: Arc<FlavorCatalogue>,
    ) -> Result<Self, RegionError> {
        if !name_like(name) || name.contains('.') {
            return Err(RegionError::InvalidName(name.to_owned()));
        }
        if zones.is_empty() {
            return Err(RegionError::NoZones(name.to_owned()));
        }
        for (index, zone) in zones.iter().enumerate() {
            if !name_like(zone) || zones[..index].contains(zone) {
                return Err(RegionError::InvalidZone {
                    region: name.to_owned(),
                    zone: zone.clone(),
                });
            }
        }
        Ok(Self {
            name: name.to_owned(),
            zones,
            flavors,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The availability zones, in their documented order.
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    /// Where a create without `availability_zone` goes: the first zone.
    pub fn default_zone(&self) -> &str {
        // `Region::new` refuses an empty list.
        self.zones.first().map(String::as_str).unwrap_or_default()
    }

    pub fn has_zone(&self, zone: &str) -> bool {
        self.zones.iter().any(|known| known == zone)
    }

    /// The whole catalogue, retired flavors included (a server may still have one).
    pub fn flavors(&self) -> &FlavorCatalogue {
        &self.flavors
    }

    /// What an unfiltered ListFlavors shows: every flavor but the retired ones.
    pub fn listed_flavors(&self) -> impl Iterator<Item = &Flavor> {
        self.flavors.all().iter().filter(|f| !f.is_retired())
    }
}

/// Every region ecsd knows, by name.
#[derive(Debug, Clone)]
pub struct Regions {
    regions: BTreeMap<String, Arc<Region>>,
}

#[derive(Deserialize)]
struct RegionsFile {
    regions: Vec<RegionEntry>,
}

#[derive(Deserialize)]
struct RegionEntry {
    name: String,
    zones: Vec<String>,
    catalogues: Vec<String>,
}

impl Regions {
    /// The built-in regions (`data/regions.json`), parsed once per process.
    pub fn builtin() -> Self {
        static BUILTIN: OnceLock<Regions> = OnceLock::new();
        BUILTIN
            .get_or_init(|| match Self::parse_builtin() {
                Ok(regions) => regions,
                // A unit test proves the compiled-in data parses, so a tested build cannot fail.
                Err(e) => panic!("the built-in region data is invalid: {e}"),
            })
            .clone()
    }

    fn parse_builtin() -> Result<Self, RegionError> {
        let file: RegionsFile =
            serde_json::from_str(REGIONS_JSON).map_err(|e| RegionError::Catalogue {
                region: "*".into(),
                source: FlavorCatalogueError::InvalidJson(e),
            })?;
        // Each file is parsed once and shared by the regions that name the same list.
        let mut parsed: BTreeMap<&str, Vec<Flavor>> = BTreeMap::new();
        let mut shared: BTreeMap<Vec<String>, Arc<FlavorCatalogue>> = BTreeMap::new();
        let mut regions = BTreeMap::new();
        for entry in file.regions {
            let catalogue = match shared.get(&entry.catalogues) {
                Some(catalogue) => catalogue.clone(),
                None => {
                    let mut flavors = Vec::new();
                    for name in &entry.catalogues {
                        let (file_name, text) = CATALOGUE_FILES
                            .iter()
                            .find(|(file_name, _)| file_name == name)
                            .ok_or_else(|| RegionError::UnknownFile(name.clone()))?;
                        if !parsed.contains_key(file_name) {
                            let catalogue = FlavorCatalogue::from_json(text).map_err(|source| {
                                RegionError::Catalogue {
                                    region: entry.name.clone(),
                                    source,
                                }
                            })?;
                            parsed.insert(file_name, catalogue.all().to_vec());
                        }
                        flavors.extend(parsed[file_name].iter().cloned());
                    }
                    let catalogue =
                        Arc::new(FlavorCatalogue::from_flavors(flavors).map_err(|source| {
                            RegionError::Catalogue {
                                region: entry.name.clone(),
                                source,
                            }
                        })?);
                    shared.insert(entry.catalogues.clone(), catalogue.clone());
                    catalogue
                }
            };
            let region = Region::new(&entry.name, entry.zones, catalogue)?;
            regions.insert(entry.name, Arc::new(region));
        }
        Ok(Self { regions })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Region>> {
        self.regions.get(name)
    }

    /// The region of [`DEFAULT_REGION`] (always there: built in, and never removed).
    pub fn default_region(&self) -> Arc<Region> {
        match self.regions.get(DEFAULT_REGION) {
            Some(region) => region.clone(),
            // Not reached: regions are added or changed, never removed.
            None => Self::builtin().regions[DEFAULT_REGION].clone(),
        }
    }

    /// `name`'s region, or the default one for a name ecsd does not know (`ecsd serve` refuses
    /// such projects at start, so only hand-built states meet this).
    pub fn region_or_default(&self, name: &str) -> Arc<Region> {
        self.get(name)
            .cloned()
            .unwrap_or_else(|| self.default_region())
    }

    /// Every region, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Region>> {
        self.regions.values()
    }

    /// `--flavors FILE`: every region gets `catalogue` (its zones stay).
    pub fn replace_all_catalogues(&mut self, catalogue: FlavorCatalogue) {
        let catalogue = Arc::new(catalogue);
        for region in self.regions.values_mut() {
            let mut changed = region.as_ref().clone();
            changed.flavors = catalogue.clone();
            *region = Arc::new(changed);
        }
    }

    /// A `[[regions]]` table: replaces the zones and/or the catalogue of a region, or adds a
    /// region (which needs both).
    pub fn configure(
        &mut self,
        name: &str,
        zones: Option<Vec<String>>,
        catalogue: Option<FlavorCatalogue>,
    ) -> Result<(), RegionError> {
        let (zones, flavors) = match (self.regions.get(name), zones, catalogue) {
            (Some(known), zones, catalogue) => (
                zones.unwrap_or_else(|| known.zones.clone()),
                catalogue.map_or_else(|| known.flavors.clone(), Arc::new),
            ),
            (None, Some(zones), Some(catalogue)) => (zones, Arc::new(catalogue)),
            (None, _, _) => return Err(RegionError::Incomplete(name.to_owned())),
        };
        let region = Region::new(name, zones, flavors)?;
        self.regions.insert(name.to_owned(), Arc::new(region));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashSet;

    fn region(name: &str) -> Arc<Region> {
        Regions::builtin()
            .get(name)
            .unwrap_or_else(|| panic!("{name} is built in"))
            .clone()
    }

    #[test]
    fn the_builtin_regions_have_their_zones_and_catalogue_sizes() {
        let expected: &[(&str, &[&str], usize, usize)] = &[
            ("eu-de", &["eu-de-01", "eu-de-02", "eu-de-03"], 397, 329),
            ("eu-nl", &["eu-nl-01", "eu-nl-02", "eu-nl-03"], 397, 329),
            (
                "cn-north-4",
                &["cn-north-4a", "cn-north-4b", "cn-north-4c", "cn-north-4g"],
                127,
                127,
            ),
            (
                "ap-southeast-1",
                &["ap-southeast-1a", "ap-southeast-1b"],
                127,
                127,
            ),
            (
                "ap-southeast-3",
                &["ap-southeast-3a", "ap-southeast-3b", "ap-southeast-3c"],
                127,
                127,
            ),
            ("la-south-2", &["la-south-2a"], 127, 127),
            ("af-south-1", &["af-south-1a", "af-south-1b"], 127, 127),
        ];
        let regions = Regions::builtin();
        assert_eq!(regions.iter().count(), expected.len());
        for (name, zones, all, listed) in expected {
            let region = region(name);
            assert_eq!(region.zones(), *zones, "{name}");
            assert_eq!(region.default_zone(), zones[0]);
            assert_eq!(region.flavors().all().len(), *all, "{name}");
            assert_eq!(region.listed_flavors().count(), *listed, "{name}");
            for zone in *zones {
                assert!(region.has_zone(zone));
                // Every listed flavor is sold in every zone (no per-AZ facts are public).
                assert_eq!(region.flavors().in_availability_zone(zone).count(), *listed);
            }
        }
        assert_eq!(regions.default_region().name(), DEFAULT_REGION);
    }

    /// OTC names are OTC's; Huawei Cloud names are Huawei Cloud's: the names users write.
    #[test]
    fn each_cloud_has_its_own_names() {
        let eu_de = region("eu-de");
        let cn = region("cn-north-4");
        for name in [
            "s3.medium.1",
            "s2.large.2",
            "s2.medium.1",
            "c3.large.2",
            "m3.large.8",
        ] {
            let flavor = eu_de.flavors().get(name).expect(name);
            assert!(!flavor.is_retired(), "{name}");
        }
        for name in ["s3.small.1", "s6.small.1", "c7.large.2", "m7.large.8"] {
            assert!(eu_de.flavors().get(name).is_none(), "{name} is not OTC's");
            assert!(cn.flavors().get(name).is_some(), "{name} is Huawei's");
        }
        assert!(cn.flavors().get("s3.medium.1").is_none());
        let s3 = eu_de.flavors().get("s3.medium.1").expect("s3.medium.1");
        assert_eq!((s3.vcpu_count(), s3.ram), (1, 1024));
        let eu_nl = region("eu-nl");
        let nl = eu_nl.flavors().get("s3.medium.1").expect("in eu-nl");
        assert!(nl.is_offered_in("eu-nl-02"));
    }

    #[test]
    fn retired_flavors_are_in_the_catalogue_but_not_listed() {
        let eu_de = region("eu-de");
        let retired = eu_de
            .flavors()
            .get("hl1.8xlarge.8")
            .expect("retired OTC flavor");
        assert!(retired.is_retired());
        assert!(!retired.is_offered_in("eu-de-01"));
        assert!(eu_de.listed_flavors().all(|f| f.id != retired.id));
        assert!(eu_de
            .flavors()
            .resize_targets(eu_de.flavors().get("s2.large.2").expect("s2"))
            .iter()
            .all(|f| !f.is_retired()));
    }

    /// The built-in files are the reference's tables as they are, so that they can be
    /// refreshed by copying (`scripts/update-flavors.sh`). Skipped, and says so, without the
    /// reference folder beside the repository.
    #[test]
    fn the_data_equals_the_reference_tables_when_they_are_there() {
        // `ECSD_FLAVORS_REFERENCE` names the folder (as for scripts/update-flavors.sh); CI
        // points it nowhere to show the crate's tests pass without it.
        let folder = std::env::var_os("ECSD_FLAVORS_REFERENCE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/reference/flavors")
            });
        if !folder.is_dir() {
            println!(
                "skipped: {} is absent, the copies cannot be compared",
                folder.display()
            );
            return;
        }
        for (name, text) in CATALOGUE_FILES {
            let original = std::fs::read_to_string(folder.join(name)).expect("readable");
            assert!(
                original == *text,
                "data/flavors/{name} differs from {}; run scripts/update-flavors.sh",
                folder.display()
            );
        }
    }

    fn catalogue(ids: &[&str]) -> FlavorCatalogue {
        let flavors: Vec<_> = ids
            .iter()
            .map(|id| json!({"id": id, "name": id, "vcpus": "1", "ram": 1024}))
            .collect();
        FlavorCatalogue::from_json(&json!({ "flavors": flavors }).to_string()).expect("valid")
    }

    #[test]
    fn overrides_replace_catalogues_and_add_regions() {
        let mut regions = Regions::builtin();
        regions.replace_all_catalogues(catalogue(&["x1.large.2"]));
        for region in regions.iter() {
            assert_eq!(region.flavors().all().len(), 1, "{}", region.name());
        }
        assert_eq!(region("eu-de").zones().len(), 3, "the builtin is untouched");

        let mut regions = Regions::builtin();
        regions
            .configure("eu-nl", None, Some(catalogue(&["y1.large.2"])))
            .expect("replaces eu-nl's catalogue");
        let eu_nl = regions.get("eu-nl").expect("eu-nl");
        assert_eq!(eu_nl.zones()[0], "eu-nl-01");
        assert!(eu_nl.flavors().get("y1.large.2").is_some());
        assert!(regions.get("eu-de").expect("eu-de").flavors().all().len() > 300);

        assert!(matches!(
            regions.configure("eu-ch2", Some(vec!["eu-ch2a".into()]), None),
            Err(RegionError::Incomplete(_))
        ));
        regions
            .configure(
                "eu-ch2",
                Some(vec!["eu-ch2a".into(), "eu-ch2b".into()]),
                Some(catalogue(&["z1.large.2"])),
            )
            .expect("a new region");
        assert_eq!(
            regions.get("eu-ch2").expect("added").default_zone(),
            "eu-ch2a"
        );
        for zones in [vec![], vec!["a".into(), "a".into()], vec!["a b".into()]] {
            assert!(regions.configure("eu-de", Some(zones), None).is_err());
        }
        let names: HashSet<&str> = regions.iter().map(|r| r.name()).collect();
        assert!(names.contains("eu-ch2") && names.contains("cn-north-4"));
    }
}
