//! The facts the tests take from the ECS API reference, as data files of the repository
//! (`tests/reference/` at its root), so that a clone with nothing beside it passes its tests:
//!
//! - `pages.json`: every operation page of `apis_recommended/` and
//!   `native_openstack_nova_apis/` (in that order, each sorted by path), with its file, title,
//!   whether it is asynchronous, its `METHOD /path` URIs, its example requests (method, path
//!   and query, JSON body), its response field tables (name, type, `Mandatory` where the table
//!   has that column, and the fields of the table a field's description points to), whether
//!   its response is `None`, and from its example response the keys shown `null` and a stated
//!   status. Read by `coverage` and `fidelity`.
//! - `error_codes.json`: the appendix's error-code table, code and HTTP status per row, in the
//!   appendix's order. Read by `api::error_codes`' catalogue test.
//!
//! **Facts only.** Descriptions, explanations, messages and solutions are prose and are not
//! kept. Where a test used to read a description, the fact it drew from it is kept instead:
//! `null_mentioned` (the description mentions null, which `fidelity` takes as "may be null")
//! and `fields` (the table its `:ref:` points to). The error messages are not kept: the
//! catalogue test compares codes, statuses and order only, and `api::error_codes` keeps its
//! own transcription of the messages.
//!
//! The files are extracted with the reader of `reference` from the reference folder
//! (`ECSD_REFERENCE`, or `../shared/reference/ecs-api-ref` beside the repository):
//!
//! ```sh
//! ECSD_UPDATE_REFERENCE=1 cargo test -p ecsd --test it reference_data
//! ```
//!
//! Without `ECSD_UPDATE_REFERENCE`, the same test re-extracts and fails on any difference, so
//! the data cannot drift from the reference; without the folder it passes and says that it
//! was skipped, and why.

use crate::reference::{self, AnchorIndex, ErrorCodeRow, Example, Part, Row, Uri};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

/// The folder of the data files.
const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference");
const PAGES_FILE: &str = "pages.json";
const ERROR_CODES_FILE: &str = "error_codes.json";
const UPDATE_VARIABLE: &str = "ECSD_UPDATE_REFERENCE";
const UPDATE_COMMAND: &str = "ECSD_UPDATE_REFERENCE=1 cargo test -p ecsd --test it reference_data";

/// One operation page's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Page {
    /// Relative to the reference folder, with `/` (`apis_recommended/…/creating_ecss.rst`).
    pub(crate) file: String,
    /// The operation's name, the page's title.
    pub(crate) title: String,
    /// The page says "This API is an asynchronous API." (a `job_id` answer).
    #[serde(rename = "async")]
    pub(crate) is_async: bool,
    pub(crate) uris: Vec<Uri>,
    pub(crate) example_requests: Vec<Example>,
    /// Why the example requests could not be read (then `example_requests` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) example_requests_problem: Option<String>,
    /// The "Response" section is `None`: no body.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) response_none: bool,
    /// The parameter tables of the "Response" section, in page order; the first is the top
    /// level.
    pub(crate) response_tables: Vec<Vec<Field>>,
    /// The keys the example response shows as `null`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) example_response_null_keys: BTreeSet<String>,
    /// The status the example response states ("Status code 200, …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) example_response_status: Option<u16>,
}

/// One row of a response table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Field {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// The `Mandatory` cell, where the table has that column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mandatory: Option<String>,
    /// The description mentions null (`fault`: "If the ECS status is normal, **NULL** is
    /// displayed").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) null_mentioned: bool,
    /// The fields of the table the description's `:ref:` points to (the first that resolves to
    /// a parameter table), for an object or an array of objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fields: Option<Vec<Field>>,
}

impl Page {
    /// The example requests, or why they could not be read.
    pub(crate) fn example_requests(&self) -> Result<&[Example], String> {
        match &self.example_requests_problem {
            Some(problem) => Err(format!("{}: {problem}", self.file)),
            None => Ok(&self.example_requests),
        }
    }

    fn part(&self) -> Option<Part> {
        [Part::Recommended, Part::Native].into_iter().find(|part| {
            self.file
                .strip_prefix(part.dir())
                .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

/// The pages of `part`, from the checked-in `pages.json`, in the file's order.
pub(crate) fn pages(part: Part) -> Result<Vec<Page>, String> {
    let path = Path::new(DATA_DIR).join(PAGES_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let all: Vec<Page> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not valid: {e} (regenerate it: {UPDATE_COMMAND})",
            path.display()
        )
    })?;
    Ok(all
        .into_iter()
        .filter(|page| page.part() == Some(part))
        .collect())
}

/// The contents of each data file, extracted from the reference at `root`.
fn extract(root: &Path) -> Result<Vec<(&'static str, String)>, String> {
    let index = AnchorIndex::build(root)?;
    let mut pages = Vec::new();
    for part in [Part::Recommended, Part::Native] {
        for page in reference::pages(root, part)? {
            pages.push(page_facts(&page, &index));
        }
    }
    let error_codes: Vec<ErrorCodeRow> = reference::error_codes(root)?;
    Ok(vec![
        (PAGES_FILE, to_json(&pages)?),
        (ERROR_CODES_FILE, to_json(&error_codes)?),
    ])
}

fn to_json(value: &impl Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(value)
        .map(|json| json + "\n")
        .map_err(|e| format!("cannot serialise the facts: {e}"))
}

fn page_facts(page: &reference::Page, index: &AnchorIndex) -> Page {
    let (example_requests, example_requests_problem) = match page.example_requests() {
        Ok(examples) => (examples, None),
        Err(problem) => {
            // The reader names the file first; the data names it once, in `file`.
            let problem = problem
                .strip_prefix(&format!("{}: ", page.file))
                .unwrap_or(&problem)
                .to_owned();
            (Vec::new(), Some(problem))
        }
    };
    Page {
        file: page.file.clone(),
        title: page.title.clone(),
        is_async: page.is_async,
        uris: page.uris.clone(),
        example_requests,
        example_requests_problem,
        response_none: page.response_is_none(),
        response_tables: page
            .response_tables()
            .iter()
            .map(|table| fields(&table.rows, index, &mut Vec::new()))
            .collect(),
        example_response_null_keys: page.null_keys_in_example_response(),
        example_response_status: page.example_response_status(),
    }
}

/// The rows as fields, each with the fields of the table its description points to;
/// `through` holds the anchors followed to get here, so that a table pointing back at one of
/// them ends the descent instead of looping.
fn fields(rows: &[Row], index: &AnchorIndex, through: &mut Vec<String>) -> Vec<Field> {
    rows.iter()
        .map(|row| {
            let sub = reference::referenced_anchors(&row.description)
                .into_iter()
                .find_map(|anchor| index.get(&anchor).map(|table| (anchor, table)));
            let fields = match sub {
                Some((anchor, table)) if !through.contains(&anchor) => {
                    through.push(anchor);
                    let fields = fields(&table.rows, index, through);
                    through.pop();
                    Some(fields)
                }
                _ => None,
            };
            Field {
                name: row.name.clone(),
                kind: row.kind.clone(),
                mandatory: row.mandatory.clone(),
                null_mentioned: row.description.to_ascii_lowercase().contains("null"),
                fields,
            }
        })
        .collect()
}

/// Writes a line to the real stderr: the test harness captures `println!` and `eprintln!`
/// of passing tests, and the skip must be seen without `--nocapture`.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[test]
fn reference_data_matches_the_reference_folder() {
    let root = reference::reference_dir();
    let update = std::env::var_os(UPDATE_VARIABLE).is_some_and(|value| value == "1");
    if !root.is_dir() {
        assert!(
            !update,
            "{UPDATE_VARIABLE}=1 needs the reference folder, and there is none at {} (set \
             {} to its path)",
            root.display(),
            reference::REFERENCE_VARIABLE
        );
        let variable = reference::REFERENCE_VARIABLE;
        let source = match std::env::var_os(variable) {
            Some(value) if !value.is_empty() => format!("named by {variable}"),
            _ => format!("the default beside the repository; {variable} names another"),
        };
        say(&format!(
            "reference_data: SKIPPED, no reference folder at {} ({source}): the checked-in \
             facts of tests/reference/ are used unchecked",
            root.display(),
        ));
        return;
    }
    let extracted = extract(&root)
        .unwrap_or_else(|problem| panic!("cannot extract the reference facts: {problem}"));
    let mut differences = Vec::new();
    for (name, text) in extracted {
        let path = Path::new(DATA_DIR).join(name);
        if update {
            // Written aside and renamed, so that the tests reading the file meanwhile (same
            // filter, same binary) see the old file or the new one, never half of one.
            let aside = path.with_extension("json.new");
            std::fs::create_dir_all(DATA_DIR).expect("tests/reference is creatable");
            std::fs::write(&aside, &text).expect("tests/reference is writable");
            std::fs::rename(&aside, &path).expect("tests/reference is writable");
            say(&format!("reference_data: rewrote {}", path.display()));
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != text {
            let line = on_disk
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| on_disk.lines().count().min(text.lines().count()));
            // In pages.json, the page the line belongs to: the last `file` above it.
            let page = text
                .lines()
                .take(line + 1)
                .filter_map(|above| above.strip_prefix("    \"file\": "))
                .last()
                .map(|file| format!(" (page {})", file.trim_end_matches(',')))
                .unwrap_or_default();
            differences.push(format!(
                "tests/reference/{name} differs from the reference at line {}{page}: checked \
                 in {:?}, extracted {:?}",
                line + 1,
                on_disk.lines().nth(line).unwrap_or("<end of file>"),
                text.lines().nth(line).unwrap_or("<end of file>"),
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "the facts extracted from {} differ from the checked-in ones:\n{}\nRegenerate them \
         with: {UPDATE_COMMAND}\n(then rerun the tests: docs/coverage.md may change too)",
        root.display(),
        differences.join("\n")
    );
}

#[test]
fn the_checked_in_facts_cover_both_parts_and_every_page_has_a_title() {
    let recommended = pages(Part::Recommended).expect("pages.json is readable");
    let native = pages(Part::Native).expect("pages.json is readable");
    assert!(!recommended.is_empty() && !native.is_empty());
    for page in recommended.iter().chain(&native) {
        assert!(!page.title.is_empty(), "{} has no title", page.file);
    }
    // The create page: its URI, an example with a body, and the top-level response field.
    let create = recommended
        .iter()
        .find(|page| page.file == "apis_recommended/lifecycle_management/creating_ecss.rst")
        .expect("the create page");
    assert!(create.is_async);
    assert_eq!(
        create.uris,
        [Uri {
            method: "POST".into(),
            path: "/v1/{project_id}/cloudservers".into()
        }]
    );
    let examples = create.example_requests().expect("create has examples");
    assert!(examples.iter().all(|example| example.body.is_some()));
    assert!(create.response_tables[0]
        .iter()
        .any(|field| field.name == "job_id" && field.kind == "String"));
}
