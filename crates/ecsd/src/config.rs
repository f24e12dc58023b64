//! The accounts file (`--config` / `ECSD_CONFIG`) and the bootstrap account from the flags.
//!
//! ```toml
//! [[accounts]]
//! access_key = "TEAMAACCESSKEY000001"
//! secret_key = "team-a-secret-key-0000000000000000000001"
//! domain = "team-a"
//! rate_limit = 50              # requests per second for this key (optional; 0 = none)
//!
//! [[accounts.users]]           # IAM users for POST /v3/auth/tokens (optional)
//! name = "alice"
//! password = "alice-password"
//!
//! [[accounts.projects]]
//! id = "a0000000000000000000000000000001"
//! name = "eu-de_team-a"
//! region = "eu-de"
//!
//! [accounts.projects.quotas]   # the project above's limits (optional; absent = none)
//! instances = 10               # maxTotalInstances
//! cores = 40                   # maxTotalCores
//! ram = 81920                  # maxTotalRAMSize, MiB
//! nics = 40                    # NICs over all servers
//! volumes = 60                 # disks over all servers, system disks included
//! server_groups = 5            # maxServerGroups
//! server_group_members = 16    # maxServerGroupMembers
//! ```
//!
//! Regions (optional): a `[[regions]]` table replaces a region's flavor catalogue or zones, or
//! adds a region (see [`RegionConfig`]):
//!
//! ```toml
//! [[regions]]
//! name = "eu-ch2"                    # a new region needs zones and flavors
//! zones = ["eu-ch2a", "eu-ch2b"]     # the first is where a create without an AZ goes
//! flavors = "flavors-eu-ch2.json"    # ListFlavors shape; relative to this file's folder
//! ```
//!
//! The latency to start with (optional; the shape of `PUT /_ecsd/latency`, changeable at runtime):
//!
//! ```toml
//! [latency]
//! profile = "realistic"              # absent: --latency's
//! [latency.operations]               # job type = what each of its sub-jobs takes in all
//! createServer = "5s"
//! batchRebootServers = "3s"
//! ```
//!
//! The bootstrap account (`--access-key`, `--secret-key`, `--project-id`, `--domain`,
//! `--user`, `--password`, `--project-name`, `--region`) is always added beside the file's.

use crate::{BootstrapIdentityArgs, DEFAULT_SECRET_KEY};
use anyhow::Context;
use api::identity::accounts::{Account, Accounts, Project, Secret, User};
use serde::Deserialize;
use std::path::Path;

/// The documented default password of the bootstrap user.
pub const DEFAULT_PASSWORD: &str = "ecsdLocalPassword01";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    accounts: Vec<Account>,
    #[serde(default)]
    regions: Vec<RegionConfig>,
    /// `[[faults]]`: fault rules, the keys of `POST /_ecsd/faults` ([`read_faults`]).
    #[serde(default)]
    faults: Vec<toml::Spanned<engine::faults::FaultSpec>>,
    /// The starting latency (`PUT /_ecsd/latency`'s shape): `profile` and `operations`.
    #[serde(default)]
    latency: Option<api::admin::latency::LatencyRequest>,
}

/// The latency to start with: the config file's `[latency]` table (its `profile` absent: the
/// `--latency` flag's), else the flag's profile alone.
pub fn latency(
    flag: engine::compute::LatencyProfile,
    config: Option<&Path>,
) -> anyhow::Result<engine::compute::LatencySettings> {
    let table = match config {
        Some(path) => read_config_file(path)?.latency.map(|table| (path, table)),
        None => None,
    };
    match table {
        None => Ok(engine::compute::LatencySettings::profile(flag)),
        Some((path, table)) => table.settings(flag).map_err(|(field, problem)| {
            anyhow::anyhow!(
                "the config file {} is not valid: latency.{field}: {problem}",
                path.display()
            )
        }),
    }
}

/// One `[[regions]]` table: `name`, and `zones` and/or `flavors` (a file in the shape of the
/// ListFlavors response). For a built-in region either replaces what is built in; a new
/// region needs both.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    pub name: String,
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    #[serde(default)]
    pub flavors: Option<std::path::PathBuf>,
}

/// Reads the `[[regions]]` of a config file; a relative `flavors` path is taken from the
/// file's folder.
pub fn read_regions(path: &Path) -> anyhow::Result<Vec<RegionConfig>> {
    let file = read_config_file(path)?;
    let folder = path.parent().unwrap_or_else(|| Path::new("."));
    Ok(file
        .regions
        .into_iter()
        .map(|mut region| {
            region.flavors = region.flavors.map(|file| folder.join(file));
            region
        })
        .collect())
}

/// The regions: the built-in ones, every catalogue replaced by `--flavors` if given, then the
/// config file's `[[regions]]` (which win over `--flavors` for their region).
pub fn regions(
    flavors: Option<&Path>,
    config: Option<&Path>,
) -> anyhow::Result<engine::regions::Regions> {
    use engine::flavors::FlavorCatalogue;
    let mut regions = engine::regions::Regions::builtin();
    if let Some(path) = flavors {
        let catalogue = FlavorCatalogue::from_file(path)
            .with_context(|| format!("cannot load the flavor catalogue {}", path.display()))?;
        regions.replace_all_catalogues(catalogue);
    }
    if let Some(path) = config {
        for region in read_regions(path)? {
            let catalogue = match &region.flavors {
                Some(file) => Some(FlavorCatalogue::from_file(file).with_context(|| {
                    format!(
                        "cannot load the flavor catalogue {} of region {}",
                        file.display(),
                        region.name
                    )
                })?),
                None => None,
            };
            regions
                .configure(&region.name, region.zones.clone(), catalogue)
                .with_context(|| format!("in the config file {}", path.display()))?;
        }
    }
    Ok(regions)
}

/// Refuses a project whose region ecsd does not know: its flavors and zones would be a guess.
pub fn check_project_regions(
    accounts: &Accounts,
    regions: &engine::regions::Regions,
) -> anyhow::Result<()> {
    for account in accounts.iter() {
        for project in &account.projects {
            if regions.get(&project.region).is_none() {
                let known: Vec<&str> = regions.iter().map(|region| region.name()).collect();
                anyhow::bail!(
                    "project {} has region {:?}, which ecsd does not know (known: {}); add a [[regions]] table with its zones and flavors to the config file",
                    project.id,
                    project.region,
                    known.join(", ")
                );
            }
        }
    }
    Ok(())
}

/// Reads the accounts of a config file. A file that does not parse is reported as
/// `FILE:LINE:COLUMN: what is wrong`, without the text of the line (it may hold a secret).
pub fn read_accounts(path: &Path) -> anyhow::Result<Vec<Account>> {
    Ok(read_config_file(path)?.accounts)
}

/// Reads the `[[faults]]` of a config file, each checked as `POST /_ecsd/faults` checks a
/// rule; a bad one refuses the start as `FILE:LINE:COLUMN: …`, at its table.
pub fn read_faults(path: &Path) -> anyhow::Result<Vec<engine::faults::FaultSpec>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let file = read_config_file(path)?;
    let scratch = engine::faults::FaultRules::new(0);
    let mut specs = Vec::with_capacity(file.faults.len());
    for spanned in file.faults {
        let (line, column) = line_and_column(&text, spanned.span().start);
        let spec = api::faults::prepare_spec(spanned.into_inner())
            .and_then(|spec| scratch.add(spec.clone()).map(|_| spec))
            .map_err(|error| {
                anyhow::anyhow!(
                    "the config file {} is not valid: {}:{line}:{column}: [[faults]] {error}",
                    path.display(),
                    path.display()
                )
            })?;
        specs.push(spec);
    }
    Ok(specs)
}

/// Reads and parses the config file; every part of ecsd that needs it reads it through here,
/// so a parse error is reported one way (`FILE:LINE:COLUMN: …`, no quoted values).
fn read_config_file(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    parse_config(&text).map_err(|error| {
        anyhow::anyhow!(
            "the config file {} is not valid: {}:{error}",
            path.display(),
            path.display()
        )
    })
}

/// A parse error of the config file: where it is, and what is wrong with every quoted value
/// left out.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn parse_config(text: &str) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|error| {
        let offset = error.span().map(|span| span.start).unwrap_or(0);
        let (line, column) = line_and_column(text, offset);
        ConfigError {
            line,
            column,
            message: without_quoted_values(error.message().trim()),
        }
    })
}

#[cfg(test)]
fn parse_accounts(text: &str) -> Result<Vec<Account>, ConfigError> {
    Ok(parse_config(text)?.accounts)
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The parser's message with each quoted value (`"…"` or `'…'`) replaced by `"…"`: a value may
/// be a secret key or a password put on the wrong line. Key names (in backticks) stay.
fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(character) = chars.next() {
        if character == '"' || character == '\'' {
            for inner in chars.by_ref() {
                if inner == character {
                    break;
                }
            }
            out.push_str("\"…\"");
        } else {
            out.push(character);
        }
    }
    out
}

/// The account described by the bootstrap flags.
pub fn bootstrap_account(args: &BootstrapIdentityArgs) -> Account {
    Account {
        access_key: args.account.access_key.clone(),
        secret_key: Secret::new(args.account.secret_key.clone()),
        domain: args.domain.clone(),
        users: vec![User {
            name: args.user.clone(),
            password: Secret::new(args.password.clone()),
        }],
        projects: vec![Project {
            id: args.account.project_id.clone(),
            name: args.project_name.clone(),
            region: args.region.clone(),
            quotas: Default::default(),
        }],
        rate_limit: None,
    }
}

/// All accounts: the bootstrap one first, then the file's.
pub fn accounts(args: &BootstrapIdentityArgs, config: Option<&Path>) -> anyhow::Result<Accounts> {
    let mut all = vec![bootstrap_account(args)];
    if let Some(path) = config {
        all.extend(read_accounts(path)?);
    }
    Accounts::new(all).context("the accounts are not valid")
}

/// Whether any account still uses a documented default secret (key or password).
pub fn uses_default_credentials(accounts: &Accounts) -> bool {
    accounts.iter().any(|account| {
        account.secret_key.expose() == DEFAULT_SECRET_KEY
            || account
                .users
                .iter()
                .any(|user| user.password.expose() == DEFAULT_PASSWORD)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_table_sets_the_starting_latency_and_bad_values_name_their_field() {
        use engine::compute::LatencyProfile;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ecsd.toml");
        std::fs::write(
            &path,
            "[latency]\n[latency.operations]\ncreateServer = \"5s\"\n",
        )
        .expect("written");
        let settings = latency(LatencyProfile::Realistic, Some(&path)).expect("valid");
        assert_eq!(
            settings.profile,
            LatencyProfile::Realistic,
            "the flag's profile"
        );
        assert_eq!(
            settings.per_operation.get("createServer"),
            Some(&time::Duration::seconds(5))
        );
        std::fs::write(&path, "[latency]\nprofile = \"instant\"\n").expect("written");
        assert_eq!(
            latency(LatencyProfile::Fast, Some(&path))
                .expect("valid")
                .profile,
            LatencyProfile::Instant
        );
        std::fs::write(&path, "[latency]\nprofile = \"slow\"\n").expect("written");
        let error = latency(LatencyProfile::Fast, Some(&path)).expect_err("refused");
        assert!(error.to_string().contains("latency.profile"), "{error}");
        std::fs::write(&path, "[latency]\nspeed = 2\n").expect("written");
        assert!(latency(LatencyProfile::Fast, Some(&path)).is_err());
        assert_eq!(
            latency(LatencyProfile::Fast, None).expect("valid"),
            engine::compute::LatencySettings::profile(LatencyProfile::Fast)
        );
    }

    const EXAMPLE: &str = r#"
[[accounts]]
access_key = "TEAMAACCESSKEY000001"
secret_key = "team-a-secret-key-0000000000000000000001"
domain = "team-a"
rate_limit = 50

[[accounts.users]]
name = "alice"
password = "alice-password"

[[accounts.projects]]
id = "a0000000000000000000000000000001"
name = "eu-de_team-a"
region = "eu-de"

[accounts.projects.quotas]
instances = 10
cores = 40
ram = 81920
nics = 40
volumes = 60
server_groups = 5
server_group_members = 16

[[accounts.projects]]
id = "a0000000000000000000000000000002"
name = "eu-nl_team-a"
region = "eu-nl"

[[accounts]]
access_key = "TEAMBACCESSKEY000001"
secret_key = "team-b-secret-key-0000000000000000000001"
domain = "team-b"

[[accounts.projects]]
id = "b0000000000000000000000000000001"
name = "eu-de"
region = "eu-de"
"#;

    #[test]
    fn the_documented_shape_parses() {
        let accounts = parse_accounts(EXAMPLE).expect("parses");
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[0].access_key, "TEAMAACCESSKEY000001");
        assert_eq!(accounts[0].projects.len(), 2);
        assert_eq!(accounts[0].projects[1].region, "eu-nl");
        assert_eq!(accounts[0].users[0].name, "alice");
        assert_eq!(accounts[0].rate_limit, Some(50));
        assert_eq!(accounts[1].rate_limit, None);
        assert!(accounts[1].users.is_empty());
    }

    #[test]
    fn a_quotas_table_sets_the_projects_limits_and_its_absence_sets_none() {
        let accounts = parse_accounts(EXAMPLE).expect("parses");
        assert_eq!(
            accounts[0].projects[0].quotas,
            engine::quota::Quotas {
                instances: Some(10),
                cores: Some(40),
                ram: Some(81920),
                nics: Some(40),
                volumes: Some(60),
                server_groups: Some(5),
                server_group_members: Some(16),
            }
        );
        assert_eq!(
            accounts[0].projects[1].quotas,
            engine::quota::Quotas::default(),
            "no quotas table: no limits"
        );
        let partial = EXAMPLE
            .replace("cores = 40\n", "")
            .replace("nics = 40\n", "");
        let quotas = parse_accounts(&partial).expect("parses")[0].projects[0].quotas;
        assert_eq!(
            (quotas.instances, quotas.cores, quotas.nics),
            (Some(10), None, None)
        );
    }

    #[test]
    fn quota_keys_and_values_are_checked() {
        let error = parse_accounts(&EXAMPLE.replace("instances = 10", "servers = 10"))
            .expect_err("unknown quota")
            .to_string();
        assert!(error.contains("servers"), "{error}");
        assert!(parse_accounts(&EXAMPLE.replace("instances = 10", "instances = -1")).is_err());
        assert!(parse_accounts(&EXAMPLE.replace("instances = 10", "instances = \"10\"")).is_err());
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let error = parse_accounts(&EXAMPLE.replace("rate_limit", "ratelimit"))
            .expect_err("unknown key")
            .to_string();
        assert!(error.contains("ratelimit"), "{error}");
    }

    /// A `--flavors` file with a flavor whose `vcpus` is not a number is refused at start
    /// (read as 0 it would escape the `cores` quota), naming the file and the flavor.
    #[test]
    fn a_flavor_file_with_unparsable_vcpus_is_refused_at_load() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("flavors.json");
        let file = serde_json::json!({"flavors": [{"id": "x1.big", "name": "x1.big", "vcpus": "lots", "ram": 1024}]});
        std::fs::write(&path, file.to_string()).expect("write");
        let error = format!("{:#}", regions(Some(&path), None).expect_err("refused"));
        assert!(error.contains("flavors.json"), "{error}");
        assert!(
            error.contains("x1.big") && error.contains("lots"),
            "{error}"
        );
    }

    /// A `[[regions]]` table replaces a built-in region's catalogue (a relative file is read
    /// from the config file's folder) or adds a region; `--flavors` is overridden by it.
    #[test]
    fn regions_tables_override_and_add_regions() {
        let dir = tempfile::tempdir().expect("temp dir");
        let catalogue = |id: &str| {
            serde_json::json!({"flavors": [{"id": id, "name": id, "vcpus": "1", "ram": 1024}]})
                .to_string()
        };
        std::fs::write(dir.path().join("nl.json"), catalogue("n1.large.2")).expect("write");
        std::fs::write(dir.path().join("ch.json"), catalogue("h1.large.2")).expect("write");
        std::fs::write(dir.path().join("all.json"), catalogue("a1.large.2")).expect("write");
        let config = dir.path().join("ecsd.toml");
        std::fs::write(
            &config,
            format!(
                "{EXAMPLE}\n[[regions]]\nname = \"eu-nl\"\nflavors = \"nl.json\"\n\n[[regions]]\nname = \"eu-ch2\"\nzones = [\"eu-ch2a\", \"eu-ch2b\"]\nflavors = \"ch.json\"\n"
            ),
        )
        .expect("write");
        let regions = regions(Some(&dir.path().join("all.json")), Some(&config)).expect("valid");
        let flavor_ids = |name: &str| -> Vec<String> {
            let region = regions.get(name).expect(name);
            region
                .flavors()
                .all()
                .iter()
                .map(|f| f.id.clone())
                .collect()
        };
        assert_eq!(flavor_ids("eu-nl"), ["n1.large.2"], "the table wins");
        assert_eq!(
            flavor_ids("eu-de"),
            ["a1.large.2"],
            "--flavors for the rest"
        );
        assert_eq!(flavor_ids("eu-ch2"), ["h1.large.2"]);
        assert_eq!(
            regions.get("eu-ch2").expect("added").default_zone(),
            "eu-ch2a"
        );
        assert_eq!(regions.get("eu-nl").expect("kept").zones()[0], "eu-nl-01");
        // The accounts of the same file still parse.
        assert_eq!(read_accounts(&config).expect("accounts").len(), 2);

        // A new region needs zones and flavors; a project needs a known region.
        std::fs::write(&config, "[[regions]]\nname = \"eu-ch2\"\nzones = [\"a\"]\n")
            .expect("write");
        let error = format!("{:#}", regions_error(&config));
        assert!(error.contains("eu-ch2"), "{error}");
        let accounts = Accounts::new(
            parse_accounts(&EXAMPLE.replace("region = \"eu-nl\"", "region = \"mars-1\""))
                .expect("parses"),
        )
        .expect("valid");
        let error = check_project_regions(&accounts, &engine::regions::Regions::builtin())
            .expect_err("unknown region")
            .to_string();
        assert!(
            error.contains("mars-1") && error.contains("[[regions]]"),
            "{error}"
        );
        let accounts = Accounts::new(parse_accounts(EXAMPLE).expect("parses")).expect("valid");
        check_project_regions(&accounts, &engine::regions::Regions::builtin()).expect("known");
    }

    fn regions_error(config: &Path) -> anyhow::Error {
        match regions(None, Some(config)) {
            Ok(_) => panic!("must fail"),
            Err(error) => error,
        }
    }

    #[test]
    fn parse_errors_name_line_and_column_and_never_the_secret_on_that_line() {
        for (broken, line, what) in [
            // A syntax error on the secret's line.
            (
                EXAMPLE.replace(
                    "secret_key = \"team-b-secret-key-0000000000000000000001\"",
                    "secret_key = \"team-b-secret-key-0000000000000000000001\" oops",
                ),
                33,
                "syntax",
            ),
            // An unterminated string: the secret runs to the end of the line.
            (
                EXAMPLE.replace(
                    "secret_key = \"team-b-secret-key-0000000000000000000001\"",
                    "secret_key = \"team-b-secret-key-0000000000000000000001",
                ),
                33,
                "unterminated",
            ),
            // A password where a number belongs: the type error quotes the value.
            (
                EXAMPLE.replace(
                    "rate_limit = 50",
                    "rate_limit = \"team-b-secret-key-0000000000000000000001\"",
                ),
                6,
                "type",
            ),
        ] {
            let error = parse_accounts(&broken).expect_err(what);
            assert_eq!(error.line, line, "{what}: {error}");
            assert!(error.column >= 1, "{what}: {error}");
            assert!(
                !error.to_string().contains("team-b-secret"),
                "{what}: {error}"
            );
            assert!(!error.message.is_empty(), "{what}: {error}");
        }
    }

    #[test]
    fn a_config_file_error_names_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("accounts.toml");
        std::fs::write(&path, "[[accounts]]\nsecret_key = \"hunter2-hunter2\" x\n").expect("write");
        let error = format!("{:#}", read_accounts(&path).expect_err("broken"));
        assert!(error.contains(&format!("{}:2:", path.display())), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn faults_tables_are_rules_checked_like_the_admin_api_takes_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ecsd.toml");
        std::fs::write(
            &path,
            "[[faults]]\noperation = \"createServer\"\nsub_jobs = [1]\neffect = \"fail\"\nerror_code = \"Ecs.0204\"\n\n[[faults]]\noperation = \"ShowJob\"\nafter = 1\ntimes = 1\neffect = \"throttle\"\n",
        )
        .expect("write");
        let rules = read_faults(&path).expect("valid rules");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].sub_jobs, Some(vec![1]));
        assert_eq!(rules[1].after, Some(1));

        for (text, place, field) in [
            // An unknown key: the parser's place, at the key.
            ("[[faults]]\neffect = \"fail\"\ntmes = 1\n", ":3:1:", "tmes"),
            // A code outside the catalogue: the table's place.
            (
                "\n[[faults]]\neffect = \"fail\"\nerror_code = \"Ecs.9999\"\n",
                ":2:1:",
                "error_code",
            ),
            // An operation ecsd does not know.
            (
                "[[faults]]\noperation = \"CreateServer\"\neffect = \"fail\"\n",
                ":1:1:",
                "operation",
            ),
        ] {
            std::fs::write(&path, text).expect("write");
            let error = format!("{:#}", read_faults(&path).expect_err(field));
            assert!(
                error.contains(&format!("{}{place}", path.display())),
                "{error}"
            );
            assert!(error.contains(field), "{error}");
        }
    }

    #[test]
    fn quoted_values_are_left_out_of_messages() {
        assert_eq!(
            without_quoted_values("invalid type: string \"s3cret\", expected u32"),
            "invalid type: string \"…\", expected u32"
        );
        assert_eq!(
            without_quoted_values("unknown field `ratelimit`, expected 'x'"),
            "unknown field `ratelimit`, expected \"…\""
        );
        assert_eq!(line_and_column("a\nbc\nd", 4), (2, 3));
        assert_eq!(line_and_column("a", 99), (1, 2));
    }

    #[test]
    fn errors_never_show_secrets() {
        let text = EXAMPLE.replace("domain = \"team-b\"", "domain = \"team-a\"");
        let error = format!(
            "{:?}",
            Accounts::new(parse_accounts(&text).expect("parses"))
        );
        assert!(error.contains("team-a"), "{error}");
        assert!(!error.contains("secret-key-0000"), "{error}");
    }
}
