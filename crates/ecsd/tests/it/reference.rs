//! The ECS API reference (`shared/reference/ecs-api-ref`, reStructuredText) read with plain
//! string code: each operation page's title, URI lines, example requests and responses, and
//! parameter tables, and the appendix's error-code table. Only the extraction in
//! `reference_data` uses it; the tests read the facts it extracted from the checked-in files.
//!
//! The folder is found by [`reference_dir`] alone (`ECSD_REFERENCE`, or the folder beside the
//! repository), so that setting `ECSD_REFERENCE` to a missing path proves that no test needs it.
//!
//! The shapes read, learnt from the pages themselves:
//! - the title is the line above a line of `=`; sections (`URI`, `Response`, `Example Request`,
//!   …) are lines above a line of `-`, matched case-insensitively (`Response parameters` too);
//! - a URI is a line `METHOD /path` in the `URI` section; native pages give two (`/v2.1/…` and
//!   `/v2/…`). A query (`?flavor={flavor}`) or template (`{?reserve_port}`) is cut off the path;
//! - an example is a `.. code-block::` whose first line is `METHOD https://{endpoint}/path`,
//!   followed by an optional JSON body;
//! - tables are grid tables (`+---+`) or simple tables (`=== ===`), optionally preceded by
//!   `.. _anchor:` and `.. table:: **Table N** title`. A field's own table is found through the
//!   `:ref:` in its description, across every page (the anchor index);
//! - the error codes are the grid table of `appendix/error_codes.rst` whose header has
//!   `HTTP Status Code` and `Error Code`.
//!
//! Nothing here panics on an unexpected page: what cannot be read is returned as an `Err` naming
//! the page, for the caller to report.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The variable naming the reference folder, instead of [`DEFAULT_REFERENCE_DIR`].
pub(crate) const REFERENCE_VARIABLE: &str = "ECSD_REFERENCE";

/// The reference where the project's layout puts it: `shared/` beside the repository.
const DEFAULT_REFERENCE_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/ecs-api-ref"
);

/// The reference folder: `ECSD_REFERENCE` if set and not empty, else the one beside the
/// repository. The only place a test learns where the reference is; it may not exist.
pub(crate) fn reference_dir() -> PathBuf {
    match std::env::var_os(REFERENCE_VARIABLE) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_REFERENCE_DIR),
    }
}

/// The two parts of the reference the coverage matrix covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Part {
    /// `apis_recommended/`: the ECS APIs.
    Recommended,
    /// `native_openstack_nova_apis/`: the OpenStack Nova compatible APIs.
    Native,
}

impl Part {
    pub(crate) fn dir(self) -> &'static str {
        match self {
            Part::Recommended => "apis_recommended",
            Part::Native => "native_openstack_nova_apis",
        }
    }
}

/// One `METHOD /path` line of a page's URI section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Uri {
    pub(crate) method: String,
    /// The path with its `{placeholders}`, without query.
    pub(crate) path: String,
}

/// One page of the reference.
#[derive(Debug)]
pub(crate) struct Page {
    /// Relative to the reference folder, with `/`.
    pub(crate) file: String,
    pub(crate) title: String,
    pub(crate) uris: Vec<Uri>,
    /// The page says "This API is an asynchronous API." (a `job_id` answer).
    pub(crate) is_async: bool,
    text: String,
}

/// One example request: method, path (with query, without the endpoint) and body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Example {
    pub(crate) method: String,
    pub(crate) path_and_query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<Value>,
}

/// One row of a parameter table.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) kind: String,
    /// The `Mandatory` cell (`Yes`, `No`), if the table has that column.
    pub(crate) mandatory: Option<String>,
    pub(crate) description: String,
}

/// A parameter table that has a `Type` column.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) anchors: Vec<String>,
    /// The `.. table::` caption, e.g. `**Table 3** **server** field description`.
    pub(crate) caption: String,
    pub(crate) rows: Vec<Row>,
}

/// Every operation page of one part of the reference at `root`, sorted by file; `index.rst`
/// files are left out.
pub(crate) fn pages(root: &Path, part: Part) -> Result<Vec<Page>, String> {
    let mut files = Vec::new();
    rst_files(&root.join(part.dir()), &mut files)
        .map_err(|e| format!("cannot read {}/{}: {e}", root.display(), part.dir()))?;
    files.retain(|file| file.file_name().is_some_and(|name| name != "index.rst"));
    files.sort();
    let mut pages = Vec::with_capacity(files.len());
    for path in files {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        pages.push(Page::parse(file, text));
    }
    Ok(pages)
}

fn rst_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rst_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "rst") {
            out.push(path);
        }
    }
    Ok(())
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];

/// `("POST", "/v1/…")` from `POST /v1/…` or `POST https://{endpoint}/v1/…`.
fn method_and_target(line: &str) -> Option<(&str, &str)> {
    let (method, rest) = line.trim().split_once(char::is_whitespace)?;
    if !METHODS.contains(&method) {
        return None;
    }
    let target = rest.trim();
    let target = match target.split_once("://") {
        Some((_, after_scheme)) => &after_scheme[after_scheme.find('/')?..],
        None => target,
    };
    target.starts_with('/').then_some((method, target))
}

impl Page {
    fn parse(file: String, text: String) -> Page {
        let lines: Vec<&str> = text.lines().collect();
        let title = lines
            .windows(2)
            .find(|pair| is_underline(pair[0], pair[1], '='))
            .map(|pair| pair[0].trim().to_owned())
            .unwrap_or_default();
        let mut page = Page {
            file,
            title,
            uris: Vec::new(),
            is_async: text.contains("This API is an asynchronous API."),
            text: String::new(),
        };
        page.text = text;
        page.uris = page
            .section(&["URI"])
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.starts_with(char::is_whitespace))
            .filter_map(method_and_target)
            .map(|(method, target)| {
                let path = target.split("{?").next().unwrap_or(target);
                let path = path.split('?').next().unwrap_or(path);
                Uri {
                    method: method.to_owned(),
                    path: path.trim().to_owned(),
                }
            })
            .collect();
        page
    }

    /// The text of the first section whose heading is one of `names` (case-insensitive), up to
    /// the next section heading.
    pub(crate) fn section(&self, names: &[&str]) -> Option<String> {
        let lines: Vec<&str> = self.text.lines().collect();
        let headings: Vec<usize> = (0..lines.len().saturating_sub(1))
            .filter(|&i| is_underline(lines[i], lines[i + 1], '-'))
            .collect();
        let start = headings.iter().position(|&i| {
            names
                .iter()
                .any(|name| lines[i].trim().eq_ignore_ascii_case(name))
        })?;
        let from = headings[start] + 2;
        let to = headings.get(start + 1).copied().unwrap_or(lines.len());
        Some(lines[from..to].join("\n"))
    }

    /// The example requests, one per code block of the "Example Request" section.
    pub(crate) fn example_requests(&self) -> Result<Vec<Example>, String> {
        let section = self
            .section(&["Example Request"])
            .ok_or_else(|| format!("{}: no \"Example Request\" section", self.file))?;
        let mut examples = Vec::new();
        for block in code_blocks(&section) {
            let mut lines = block
                .lines()
                .skip_while(|line| line.trim().is_empty())
                .peekable();
            let Some(first) = lines.next() else { continue };
            let Some(request) = method_and_target(first) else {
                return Err(format!(
                    "{}: an example request starts with {first:?}, not METHOD URL",
                    self.file
                ));
            };
            // A block may list the same request on several paths, one per line
            // (`DELETE /v2/…` then `DELETE /v2.1/…`): each is an example.
            let mut requests = vec![request];
            while let Some(request) = lines.peek().and_then(|line| method_and_target(line)) {
                requests.push(request);
                lines.next();
            }
            let rest: String = lines.collect::<Vec<_>>().join("\n");
            let body: Option<serde_json::Value> = if rest.trim().is_empty() {
                None
            } else {
                let (method, target) = request;
                Some(serde_json::from_str(rest.trim()).map_err(|e| {
                    format!(
                        "{}: the example body of {method} {target} is not JSON: {e}",
                        self.file
                    )
                })?)
            };
            for (method, target) in requests {
                examples.push(Example {
                    method: method.to_owned(),
                    path_and_query: target.to_owned(),
                    body: body.clone(),
                });
            }
        }
        if examples.is_empty() {
            return Err(format!("{}: no example request found", self.file));
        }
        Ok(examples)
    }

    /// The parameter tables of the "Response" section, in page order.
    pub(crate) fn response_tables(&self) -> Vec<Table> {
        self.section(&["Response", "Response parameters"])
            .map(|section| tables(&section))
            .unwrap_or_default()
    }

    /// The "Response" section is just `None` (no body: delete an ECS group, add a member).
    pub(crate) fn response_is_none(&self) -> bool {
        self.section(&["Response", "Response parameters"])
            .is_some_and(|section| section.trim() == "None")
    }

    /// The keys shown as `"key": null` in the "Example Response" section, read textually,
    /// because some example responses are not valid JSON (`querying_details_about_an_ecs.rst`
    /// misses a comma).
    pub(crate) fn null_keys_in_example_response(&self) -> BTreeSet<String> {
        self.section(&["Example Response"])
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                // The key may itself hold ':' ("OS-EXT-STS:task_state"): split at '":'.
                let line = line.trim().trim_end_matches(',');
                let end = line.find("\":")?;
                let key = line[..end].trim_start_matches('"');
                (line[end + 2..].trim() == "null" && !key.is_empty()).then(|| key.to_owned())
            })
            .collect()
    }

    /// The status of a "Status code 200, indicating …" line in the "Example Response" section
    /// (the pages whose response is `None` but whose answer is not 204).
    pub(crate) fn example_response_status(&self) -> Option<u16> {
        let section = self.section(&["Example Response"])?;
        let after = section.split("Status code ").nth(1)?;
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }
}

fn is_underline(line: &str, next: &str, mark: char) -> bool {
    let title = line.trim_end();
    !title.is_empty()
        && !title.starts_with(char::is_whitespace)
        && !next.is_empty()
        && next.chars().all(|c| c == mark)
        && next.chars().count() >= title.chars().count()
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The dedented contents of every `.. code-block::` in `text`.
fn code_blocks(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].trim_start().starts_with(".. code-block::") {
            i += 1;
            continue;
        }
        let directive_indent = indentation(lines[i]);
        let mut body = Vec::new();
        i += 1;
        while i < lines.len()
            && (lines[i].trim().is_empty() || indentation(lines[i]) > directive_indent)
        {
            body.push(lines[i]);
            i += 1;
        }
        let indent = body
            .iter()
            .filter(|line| !line.trim().is_empty())
            .map(|line| indentation(line))
            .min()
            .unwrap_or(0);
        let text: Vec<&str> = body
            .iter()
            .map(|line| line.get(indent..).unwrap_or(""))
            .collect();
        blocks.push(text.join("\n"));
    }
    blocks
}

/// A table as read, before its columns are interpreted: the anchors and caption above it, its
/// header cells, and for each row, for each column, the lines of the cell.
#[derive(Debug, Clone)]
struct RawTable {
    anchors: Vec<String>,
    caption: String,
    header: Vec<String>,
    rows: Vec<Vec<Vec<String>>>,
}

/// Every table of `text` that has a `Type` column, with the anchors and caption above it.
pub(crate) fn tables(text: &str) -> Vec<Table> {
    raw_tables(text)
        .into_iter()
        .filter_map(|raw| {
            let (parameter, kind, description) = columns(&raw.header)?;
            let mandatory = column(&raw.header, "Mandatory");
            let rows = raw
                .rows
                .iter()
                .map(|cells| row_from(cells, parameter, kind, mandatory, description))
                .filter(|row| !row.name.is_empty())
                .collect();
            Some(Table {
                anchors: raw.anchors,
                caption: raw.caption,
                rows,
            })
        })
        .collect()
}

/// Every grid or simple table of `text` that has a header.
fn raw_tables(text: &str) -> Vec<RawTable> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut anchors = Vec::new();
    let mut caption = String::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim();
        if let Some(anchor) = trimmed
            .strip_prefix(".. _")
            .and_then(|rest| rest.strip_suffix(':'))
        {
            anchors.push(anchor.to_owned());
            i += 1;
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix(".. table::") {
            caption = rest.trim().to_owned();
            i += 1;
            continue;
        }
        let is_grid = trimmed.starts_with("+-") || trimmed.starts_with("+=");
        // A simple table's border has two columns at least; a title's underline has one.
        let is_simple = trimmed.starts_with("==")
            && trimmed.contains(' ')
            && trimmed.chars().all(|c| c == '=' || c == ' ');
        if !(is_grid || is_simple) {
            i += 1;
            continue;
        }
        let indent = indentation(lines[i]);
        let start = i;
        let cells = if is_grid {
            while i < lines.len()
                && indentation(lines[i]) == indent
                && lines[i].trim_start().starts_with(['+', '|'])
            {
                i += 1;
            }
            grid_cells(&lines[start..i], indent)
        } else {
            // border, header, border, rows…, border: the table ends after its third border.
            let mut borders = 0;
            while i < lines.len() {
                let line = lines[i].trim();
                if !line.is_empty() && line.chars().all(|c| c == '=' || c == ' ') {
                    borders += 1;
                }
                i += 1;
                if borders == 3 {
                    break;
                }
            }
            simple_cells(&lines[start..i], indent)
        };
        match cells {
            Some((header, rows)) => found.push(RawTable {
                anchors: std::mem::take(&mut anchors),
                caption: std::mem::take(&mut caption),
                header,
                rows,
            }),
            None => {
                anchors.clear();
                caption.clear();
            }
        }
    }
    found
}

/// The cells of `line` between the column boundaries `cuts` (character positions).
fn cells(line: &str, indent: usize, cuts: &[usize]) -> Vec<String> {
    let chars: Vec<char> = line.chars().skip(indent).collect();
    cuts.windows(2)
        .map(|pair| {
            let (from, to) = (pair[0] + 1, pair[1].min(chars.len()));
            if from >= to {
                String::new()
            } else {
                chars[from..to].iter().collect::<String>().trim().to_owned()
            }
        })
        .collect()
}

/// The position of the header cell `name` (case-insensitive).
fn column(header: &[String], name: &str) -> Option<usize> {
    header
        .iter()
        .position(|cell| cell.eq_ignore_ascii_case(name))
}

/// Finds the `Parameter` and `Type` columns (and `Description` if any) in a header.
fn columns(header: &[String]) -> Option<(usize, usize, Option<usize>)> {
    Some((
        column(header, "Parameter")?,
        column(header, "Type")?,
        column(header, "Description"),
    ))
}

/// The non-empty lines of a cell joined with `separator` (empty if there is no such column).
fn joined(cells: &[Vec<String>], column: usize, separator: &str) -> String {
    cells
        .get(column)
        .map(|lines| {
            lines
                .iter()
                .filter(|line| !line.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(separator)
        })
        .unwrap_or_default()
}

fn row_from(
    cells: &[Vec<String>],
    parameter: usize,
    kind: usize,
    mandatory: Option<usize>,
    description: Option<usize>,
) -> Row {
    Row {
        name: joined(cells, parameter, ""),
        kind: joined(cells, kind, " "),
        mandatory: mandatory.map(|column| joined(cells, column, " ")),
        description: description
            .map(|column| joined(cells, column, " "))
            .unwrap_or_default(),
    }
}

/// A table's header cells, and for each row, for each column, the lines of the cell.
type Cells = (Vec<String>, Vec<Vec<Vec<String>>>);

/// Header and rows of a grid table: column boundaries are the `+` of its first border, the
/// header ends at the `+===` border.
fn grid_cells(lines: &[&str], indent: usize) -> Option<Cells> {
    let border: Vec<char> = lines.first()?.chars().skip(indent).collect();
    let cuts: Vec<usize> = border
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == '+')
        .map(|(position, _)| position)
        .collect();
    // Each row: per column, its lines.
    let mut blocks: Vec<(Vec<Vec<String>>, bool)> = Vec::new();
    let mut current: Vec<Vec<String>> = vec![Vec::new(); cuts.len().saturating_sub(1)];
    for line in &lines[1..] {
        let trimmed = line.trim_start();
        if trimmed.starts_with('+') {
            let header_end = trimmed.starts_with("+=");
            blocks.push((std::mem::take(&mut current), header_end));
            current = vec![Vec::new(); cuts.len().saturating_sub(1)];
        } else {
            for (column, cell) in cells(line, indent, &cuts).into_iter().enumerate() {
                if let Some(lines) = current.get_mut(column) {
                    lines.push(cell);
                }
            }
        }
    }
    let header_index = blocks.iter().position(|(_, header_end)| *header_end)?;
    let header: Vec<String> = blocks[header_index]
        .0
        .iter()
        .map(|lines| lines.join(" ").trim().to_owned())
        .collect();
    let rows = blocks
        .into_iter()
        .skip(header_index + 1)
        .map(|(cells, _)| cells)
        .collect();
    Some((header, rows))
}

/// Header and rows of a simple table: columns are the runs of `=` of its borders; a line whose
/// first cell is blank continues the row above.
fn simple_cells(lines: &[&str], indent: usize) -> Option<Cells> {
    let border: Vec<char> = lines.first()?.chars().skip(indent).collect();
    let starts: Vec<usize> = (0..border.len())
        .filter(|&position| {
            border[position] == '=' && (position == 0 || border[position - 1] == ' ')
        })
        .collect();
    let split = |line: &str| -> Vec<String> {
        let chars: Vec<char> = line.chars().skip(indent).collect();
        (0..starts.len())
            .map(|column| {
                let from = starts[column].min(chars.len());
                let to = starts
                    .get(column + 1)
                    .copied()
                    .unwrap_or(chars.len())
                    .min(chars.len());
                chars[from..to.max(from)]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .collect()
    };
    let is_border = |line: &&str| {
        let line = line.trim();
        !line.is_empty() && line.chars().all(|c| c == '=' || c == ' ')
    };
    let header_line = lines.get(1).filter(|line| !is_border(line))?;
    let header = split(header_line);
    let mut rows: Vec<Vec<Vec<String>>> = Vec::new();
    for line in lines.iter().skip(3).filter(|line| !is_border(line)) {
        if line.trim().is_empty() {
            continue;
        }
        let cells = split(line);
        let continues = cells.first().is_some_and(|first| first.is_empty());
        match rows.last_mut() {
            Some(row) if continues => {
                for (column, cell) in cells.into_iter().enumerate() {
                    if let Some(lines) = row.get_mut(column) {
                        lines.push(cell);
                    }
                }
            }
            _ => rows.push(cells.into_iter().map(|cell| vec![cell]).collect()),
        }
    }
    Some((header, rows))
}

/// Every parameter table of the whole reference at `root` by anchor, so that a `:ref:` into
/// another page (the `server` table points into `data_structure/`) resolves.
pub(crate) struct AnchorIndex(BTreeMap<String, Table>);

impl AnchorIndex {
    pub(crate) fn build(root: &Path) -> Result<AnchorIndex, String> {
        let mut files = Vec::new();
        rst_files(root, &mut files).map_err(|e| format!("cannot read {}: {e}", root.display()))?;
        // Sorted, so that an anchor given twice resolves the same way on every machine.
        files.sort();
        let mut index = BTreeMap::new();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            for table in tables(&text) {
                for anchor in &table.anchors {
                    index.insert(anchor.clone(), table.clone());
                }
            }
        }
        Ok(AnchorIndex(index))
    }

    pub(crate) fn get(&self, anchor: &str) -> Option<&Table> {
        self.0.get(anchor)
    }
}

/// One row of the appendix's error-code table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ErrorCodeRow {
    pub(crate) code: String,
    pub(crate) status: u16,
}

/// The appendix's error codes (`appendix/error_codes.rst`), with their HTTP statuses, in the
/// appendix's order. Only the code and the status: the catalogue test compares those; the
/// messages, descriptions and solutions are prose (the catalogue keeps its own transcription).
pub(crate) fn error_codes(root: &Path) -> Result<Vec<ErrorCodeRow>, String> {
    let path = root.join("appendix/error_codes.rst");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    error_codes_in(&text).map_err(|problem| format!("{}: {problem}", path.display()))
}

/// The rows of the first table of `text` with the columns `HTTP Status Code` and `Error Code`.
fn error_codes_in(text: &str) -> Result<Vec<ErrorCodeRow>, String> {
    let (table, status_column, code_column) = raw_tables(text)
        .into_iter()
        .find_map(|table| {
            let status = column(&table.header, "HTTP Status Code")?;
            let code = column(&table.header, "Error Code")?;
            Some((table, status, code))
        })
        .ok_or("no table with the columns \"HTTP Status Code\" and \"Error Code\"")?;
    let mut rows = Vec::with_capacity(table.rows.len());
    for cells in &table.rows {
        let code = joined(cells, code_column, "");
        let status = joined(cells, status_column, "");
        if !looks_like_code(&code) {
            return Err(format!("not an error code: {code:?} (status {status:?})"));
        }
        let status = status
            .parse()
            .map_err(|e| format!("bad status {status:?} for {code}: {e}"))?;
        rows.push(ErrorCodeRow { code, status });
    }
    Ok(rows)
}

/// True for `Ecs.0005`, `Common.0011`, `Pdp.0001`: a prefix of letters, a dot, digits.
fn looks_like_code(cell: &str) -> bool {
    match cell.split_once('.') {
        Some((prefix, number)) => {
            !prefix.is_empty()
                && prefix.chars().all(|c| c.is_ascii_alphabetic())
                && !number.is_empty()
                && number.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// The anchors named by `:ref:` in a description, in order.
pub(crate) fn referenced_anchors(description: &str) -> Vec<String> {
    description
        .split(":ref:`")
        .skip(1)
        .filter_map(|rest| {
            let target = rest.split('`').next()?;
            let anchor = target.rsplit_once('<')?.1.strip_suffix('>')?;
            Some(anchor.trim().to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_table_gives_its_rows_with_wrapped_cells_joined() {
        let text = "\
.. _anchor_a:

.. table:: **Table 2** Response parameters

   +-----------+-----------+------------------+
   | Parameter | Type      | Description      |
   +===========+===========+==================+
   | server    | Object    | See              |
   |           |           | :ref:`Table 3 <x>`. |
   +-----------+-----------+------------------+
   | ids       | Array of  | The IDs.         |
   |           | strings   |                  |
   +-----------+-----------+------------------+
";
        let tables = tables(text);
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].anchors, ["anchor_a"]);
        assert_eq!(tables[0].caption, "**Table 2** Response parameters");
        let rows: Vec<(&str, &str)> = tables[0]
            .rows
            .iter()
            .map(|row| (row.name.as_str(), row.kind.as_str()))
            .collect();
        assert_eq!(rows, [("server", "Object"), ("ids", "Array of strings")]);
        assert_eq!(referenced_anchors(&tables[0].rows[0].description), ["x"]);
    }

    #[test]
    fn a_simple_table_gives_its_rows_and_continuation_lines_stay_in_their_row() {
        // (A leading newline: `\` at the end of a line would eat the indentation.)
        let text = "
   ========= ======= ==================
   Parameter Type    Description
   ========= ======= ==================
   job_id    String  The job.
   count     Integer How many,
                     at most 1000.
   ========= ======= ==================
";
        let tables = tables(text);
        assert_eq!(tables.len(), 1);
        let rows: Vec<(&str, &str, &str)> = tables[0]
            .rows
            .iter()
            .map(|row| {
                (
                    row.name.as_str(),
                    row.kind.as_str(),
                    row.description.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("job_id", "String", "The job."),
                ("count", "Integer", "How many, at most 1000.")
            ]
        );
    }

    #[test]
    fn the_error_code_table_gives_code_and_status_per_row_across_continuation_lines() {
        let text = "
+------------------+-------------+---------------+
| HTTP Status Code | Error Code  | Error Message |
+==================+=============+===============+
| 400              | Ecs.0001    | Insufficient  |
|                  |             | quota.        |
+------------------+-------------+---------------+
| 202              | Common.0024 | Flow limit.   |
+------------------+-------------+---------------+
";
        assert_eq!(
            error_codes_in(text),
            Ok(vec![
                ErrorCodeRow {
                    code: "Ecs.0001".into(),
                    status: 400
                },
                ErrorCodeRow {
                    code: "Common.0024".into(),
                    status: 202
                },
            ])
        );
        let not_a_code = text.replace("Common.0024", "Common 24  ");
        assert!(error_codes_in(&not_a_code)
            .is_err_and(|problem| problem.contains("not an error code: \"Common 24\"")));
        let no_status = text.replace("| 202  ", "| two  ");
        assert!(error_codes_in(&no_status).is_err_and(|problem| problem.contains("bad status")));
        assert!(error_codes_in("no table").is_err());
    }

    #[test]
    fn a_mandatory_column_is_kept_per_row_and_absent_without_one() {
        let text = "
   ========= ========= ======= ============
   Parameter Mandatory Type    Description
   ========= ========= ======= ============
   name      Yes       String  The name.
   count     No        Integer How many.
   ========= ========= ======= ============

   ========= ======= ============
   Parameter Type    Description
   ========= ======= ============
   job_id    String  The job.
   ========= ======= ============
";
        let tables = tables(text);
        assert_eq!(tables.len(), 2);
        let mandatory: Vec<Option<&str>> = tables[0]
            .rows
            .iter()
            .map(|row| row.mandatory.as_deref())
            .collect();
        assert_eq!(mandatory, [Some("Yes"), Some("No")]);
        assert_eq!(tables[1].rows[0].mandatory, None);
    }

    #[test]
    fn a_table_without_a_type_column_is_not_a_parameter_table() {
        let text = "
   ========== ========= =========================
   Parameter  Mandatory Description
   ========== ========= =========================
   project_id Yes       Specifies the project ID.
   ========== ========= =========================
";
        assert!(tables(text).is_empty());
    }

    #[test]
    fn uri_lines_lose_their_query_and_templates_and_examples_lose_the_endpoint() {
        assert_eq!(
            method_and_target("GET /v1/{project_id}/cloudservers/detail?flavor={flavor}"),
            Some((
                "GET",
                "/v1/{project_id}/cloudservers/detail?flavor={flavor}"
            ))
        );
        assert_eq!(
            method_and_target("POST https://{endpoint}/v1/{project_id}/cloudservers"),
            Some(("POST", "/v1/{project_id}/cloudservers"))
        );
        assert_eq!(method_and_target("Request"), None);
        let page = Page::parse(
            "x.rst".into(),
            "Title\n=====\n\nURI\n---\n\nDELETE /v2.1/{p}/servers/{id}/os-interface/{port}{?reserve_port}\n\nDELETE /v2/{p}/x?y={y}\n\nRequest\n-------\n".into(),
        );
        assert_eq!(page.title, "Title");
        let uris: Vec<(&str, &str)> = page
            .uris
            .iter()
            .map(|uri| (uri.method.as_str(), uri.path.as_str()))
            .collect();
        assert_eq!(
            uris,
            [
                ("DELETE", "/v2.1/{p}/servers/{id}/os-interface/{port}"),
                ("DELETE", "/v2/{p}/x")
            ]
        );
    }
}
