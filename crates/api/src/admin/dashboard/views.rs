//! The dashboard's page contents (the `<main>` of each page), from engine records. Every
//! record value is escaped ([`escape`]); times are shown in UTC as the job query writes them.

use super::html::{duration, escape, url_part};
use crate::ecs::jobs::JobView;
use crate::time_format::job_time;
use engine::job::{JobKind, JobRecord, JobStatus};
use engine::store::{JobsRecent, ServerPage};
use std::fmt::Write;

/// The CSS class of a status (colour).
fn status_class(status: &str) -> &'static str {
    match status {
        "SUCCESS" | "ACTIVE" => "ok",
        "FAIL" | "ERROR" => "fail",
        "RUNNING" => "running",
        "INIT" => "init",
        _ => "other",
    }
}

fn badge(status: &str) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        status_class(status),
        escape(status)
    )
}

fn select(name: &str, label: &str, current: Option<&str>, options: &[&str]) -> String {
    let mut out = format!("<label>{label} <select name=\"{name}\"><option value=\"\">any</option>");
    for option in options {
        let selected = if current == Some(*option) {
            " selected"
        } else {
            ""
        };
        let option = escape(option);
        let _ = write!(
            out,
            "<option value=\"{option}\"{selected}>{option}</option>"
        );
    }
    out.push_str("</select></label>");
    out
}

/// A job's duration: to its end, or to `now` while it runs.
fn job_duration(job: &JobRecord, now: i64) -> String {
    let end = job.end_time.unwrap_or(now);
    let text = duration(end - job.begin_time);
    if job.end_time.is_some() {
        text
    } else {
        format!("{text} so far")
    }
}

/// The jobs page: the filter form and the table.
pub fn jobs(filter: &JobsRecent, jobs: &[JobRecord], now: i64) -> String {
    let statuses = ["INIT", "RUNNING", "SUCCESS", "FAIL"];
    let types: Vec<&str> = JobKind::ALL.iter().map(|kind| kind.job_type()).collect();
    let mut out = String::from("<h1>Jobs</h1>");
    let _ = write!(
        out,
        "<form class=\"filters\" method=\"get\" action=\"/_ecsd/ui\">\
<label>Project <input name=\"project_id\" value=\"{project}\" placeholder=\"any\" size=\"34\"></label>\
{status}{job_type}<label>Limit <input name=\"limit\" value=\"{limit}\" size=\"4\"></label>\
<button type=\"submit\">Filter</button> <a href=\"/_ecsd/ui\">clear</a></form>",
        project = escape(filter.project_id.as_deref().unwrap_or_default()),
        status = select(
            "status",
            "Status",
            filter.status.map(JobStatus::as_str),
            &statuses
        ),
        job_type = select(
            "job_type",
            "Type",
            filter.kind.map(JobKind::job_type),
            &types
        ),
        limit = filter.limit,
    );
    if jobs.is_empty() {
        out.push_str(
            "<p class=\"empty\">No jobs yet. They appear here as clients create them.</p>",
        );
    }
    out.push_str(
        "<table class=\"jobs\"><thead><tr><th>Began (UTC)</th><th>Type</th><th>Status</th>\
<th>Sub-jobs</th><th>Duration</th><th>Project</th><th>Job</th><th>Error</th></tr></thead><tbody>",
    );
    for job in jobs {
        let done = job
            .tasks
            .iter()
            .filter(|task| task.status.is_terminal())
            .count();
        let id = escape(&job.id);
        let project = escape(&job.project_id);
        let _ = write!(
            out,
            "<tr data-job=\"{id}\" data-status=\"{status}\"><td>{began}</td><td>{kind}</td><td>{badge}</td>\
<td>{done}/{total}</td><td>{duration}</td>\
<td><a href=\"/_ecsd/ui/projects/{project_url}/servers\" title=\"servers of this project\">{project}</a></td>\
<td><a class=\"mono\" href=\"/_ecsd/ui/jobs/{id}\">{id}</a></td><td>{error}</td></tr>",
            status = job.status.as_str(),
            began = escape(&job_time(job.begin_time)),
            kind = escape(job.kind.job_type()),
            badge = badge(job.status.as_str()),
            total = job.tasks.len(),
            duration = escape(&job_duration(job, now)),
            project_url = escape(&url_part(&job.project_id)),
            error = job
                .error_code
                .as_deref()
                .map(|code| format!("<span class=\"code\">{}</span>", escape(code)))
                .unwrap_or_default(),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// One job: summary, the sub-job timeline, the failures, and the job query's JSON.
pub fn job(job: &JobRecord, now: i64) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<h1>{kind} {badge}</h1><dl class=\"summary\"><dt>Job</dt><dd class=\"mono\">{id}</dd>\
<dt>Project</dt><dd><a href=\"/_ecsd/ui/projects/{project_url}/servers\">{project}</a></dd>\
<dt>Began</dt><dd>{began}</dd><dt>Ended</dt><dd>{ended}</dd><dt>Duration</dt><dd>{duration}</dd></dl>",
        kind = escape(job.kind.job_type()),
        badge = badge(job.status.as_str()),
        id = escape(&job.id),
        project = escape(&job.project_id),
        project_url = escape(&url_part(&job.project_id)),
        began = escape(&job_time(job.begin_time)),
        ended = job
            .end_time
            .map(|end| escape(&job_time(end)))
            .unwrap_or_else(|| "—".to_owned()),
        duration = escape(&job_duration(job, now)),
    );
    out.push_str("<h2>Sub-jobs</h2>");
    out.push_str(&timeline(job, now));
    let failures: Vec<_> = job
        .tasks
        .iter()
        .filter(|task| task.status == JobStatus::Fail)
        .collect();
    if !failures.is_empty() {
        out.push_str(
            "<h2>Failures</h2><table class=\"failures\"><thead><tr><th>#</th><th>Server</th>\
<th>error_code</th><th>fail_reason</th></tr></thead><tbody>",
        );
        for task in failures {
            let _ = write!(
                out,
                "<tr><td>{index}</td><td class=\"mono\">{server}</td><td class=\"code\">{code}</td><td>{reason}</td></tr>",
                index = task.index,
                server = escape(&task.server_id),
                code = escape(task.error_code.as_deref().unwrap_or_default()),
                reason = escape(task.fail_reason.as_deref().unwrap_or_default()),
            );
        }
        out.push_str("</tbody></table>");
    }
    let json = serde_json::to_string_pretty(&JobView::from_record(job)).unwrap_or_default();
    let _ = write!(
        out,
        "<h2>As the job query answers it</h2><p class=\"hint mono\">GET /v1/{project}/jobs/{id}</p><pre class=\"json\">{json}</pre>",
        project = escape(&job.project_id),
        id = escape(&job.id),
        json = escape(&json),
    );
    out
}

/// Geometry of the timeline, in SVG user units (it scales to the page's width).
const WIDTH: f64 = 1000.0;
const LABEL: f64 = 250.0;
const ROW: f64 = 28.0;
const AXIS: f64 = 24.0;

/// The sub-jobs as bars from their begin to their end (or to now while unfinished), coloured
/// by outcome, with a tick at each phase of the schedule, on a common time axis from the
/// job's begin.
fn timeline(job: &JobRecord, now: i64) -> String {
    let start = job.begin_time;
    let end_of =
        |task: &engine::job::TaskRecord| task.end_time.unwrap_or_else(|| now.max(task.begin_time));
    let last = job
        .tasks
        .iter()
        .map(|task| end_of(task).max(task.schedule.last().copied().unwrap_or(start)))
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let span = (last - start) as f64;
    let x = |at: i64| LABEL + (WIDTH - LABEL - 10.0) * ((at - start) as f64 / span).clamp(0.0, 1.0);
    let height = AXIS + ROW * job.tasks.len().max(1) as f64 + 6.0;
    let mut out = format!(
        "<svg class=\"timeline\" role=\"img\" aria-label=\"sub-job timeline\" viewBox=\"0 0 {WIDTH} {height}\" \
preserveAspectRatio=\"xMinYMin meet\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    // The axis: five ticks from the job's begin.
    for step in 0..=4 {
        let at = start + (last - start) * step / 4;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{AXIS}\" y2=\"{height}\"/>\
<text class=\"axis\" x=\"{px:.1}\" y=\"16\" text-anchor=\"{anchor}\">+{label}</text>",
            px = x(at),
            anchor = if step == 4 { "end" } else { "middle" },
            label = escape(&duration(at - start)),
        );
    }
    for (row, task) in job.tasks.iter().enumerate() {
        let y = AXIS + ROW * row as f64 + 4.0;
        let (from, to) = (x(task.begin_time), x(end_of(task)));
        let status = task.status.as_str();
        // Ids are time-ordered: their first characters are alike, their last ones tell apart.
        let tail = task.server_id.len().saturating_sub(8);
        let short_server = task.server_id.get(tail..).unwrap_or(&task.server_id);
        let _ = write!(
            out,
            "<g class=\"subjob\" data-status=\"{status}\"><text class=\"label\" x=\"4\" y=\"{ty:.1}\">#{index} …{server} {status}</text>\
<rect class=\"bar {class}\" x=\"{from:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{bar}\" rx=\"3\">\
<title>{title}</title></rect>",
            ty = y + 15.0,
            index = task.index,
            server = escape(short_server),
            class = status_class(status),
            width = (to - from).max(2.0),
            bar = ROW - 10.0,
            title = escape(&format!(
                "sub-job {} on server {}: {} in {}{}",
                task.index,
                task.server_id,
                status,
                duration(end_of(task) - task.begin_time),
                task.error_code
                    .as_deref()
                    .map(|code| format!(" ({code}: {})", task.fail_reason.as_deref().unwrap_or_default()))
                    .unwrap_or_default()
            )),
        );
        // While unfinished: the rest of the schedule, to the planned end, as an outline.
        if !task.status.is_terminal() && task.end_due() > end_of(task) {
            let planned = x(task.end_due());
            let _ = write!(
                out,
                "<rect class=\"planned\" x=\"{to:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{bar}\" rx=\"3\"><title>planned end</title></rect>",
                width = (planned - to).max(0.0),
                bar = ROW - 10.0,
            );
        }
        // The phases due before the end, as ticks.
        for due in task.schedule.iter().take(task.end_step()) {
            let _ = write!(
                out,
                "<line class=\"phase\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{y:.1}\" y2=\"{y2:.1}\"/>",
                px = x(*due),
                y2 = y + ROW - 10.0,
            );
        }
        if let Some(code) = &task.error_code {
            let _ = write!(
                out,
                "<text class=\"failcode\" x=\"{tx:.1}\" y=\"{ty:.1}\">{code}</text>",
                tx = (to + 6.0).min(WIDTH - 80.0),
                ty = y + 14.0,
                code = escape(code),
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

/// A project of the accounts, for the projects page.
#[derive(Debug, Clone)]
pub struct ProjectRow {
    pub domain: String,
    pub name: String,
    pub id: String,
    pub region: String,
}

pub fn projects(projects: &[ProjectRow]) -> String {
    let mut out = String::from(
        "<h1>Projects</h1><form class=\"filters\" method=\"get\" action=\"/_ecsd/ui/servers\">\
<label>Project id <input name=\"project_id\" size=\"34\" required></label><button type=\"submit\">Show servers</button></form>",
    );
    if projects.is_empty() {
        out.push_str("<p class=\"empty\">No accounts are configured (<code>--auth off</code>): type a project id above.</p>");
        return out;
    }
    out.push_str("<table><thead><tr><th>Account</th><th>Project</th><th>Region</th><th>Id</th></tr></thead><tbody>");
    for project in projects {
        let _ = write!(
            out,
            "<tr><td>{domain}</td><td><a href=\"/_ecsd/ui/projects/{url}/servers\">{name}</a></td><td>{region}</td><td class=\"mono\">{id}</td></tr>",
            domain = escape(&project.domain),
            url = escape(&url_part(&project.id)),
            name = escape(&project.name),
            region = escape(&project.region),
            id = escape(&project.id),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// A project's servers.
pub fn servers(project_id: &str, page: &ServerPage) -> String {
    let mut out = format!(
        "<h1>Servers of <span class=\"mono\">{}</span></h1><p class=\"hint\">{} server(s); \
<a href=\"/_ecsd/ui?project_id={}\">this project's jobs</a></p>",
        escape(project_id),
        page.total,
        escape(&url_part(project_id)),
    );
    if page.servers.is_empty() {
        out.push_str("<p class=\"empty\">No servers.</p>");
        return out;
    }
    out.push_str(
        "<table class=\"servers\"><thead><tr><th>Name</th><th>Status</th><th>Task state</th><th>Flavor</th>\
<th>Zone</th><th>Created (UTC)</th><th>Held by job</th><th>Server</th><th>Fault</th></tr></thead><tbody>",
    );
    for server in &page.servers {
        let status = server.state.status().as_str();
        let _ = write!(
            out,
            "<tr data-server=\"{id}\"><td>{name}</td><td>{badge}</td><td>{task_state}</td><td>{flavor}</td>\
<td>{zone}</td><td>{created}</td><td>{job}</td><td class=\"mono\">{id}</td><td>{fault}</td></tr>",
            id = escape(&server.id),
            name = escape(&server.name),
            badge = badge(status),
            task_state = escape(server.state.task_state.map(|state| state.as_str()).unwrap_or("—")),
            flavor = escape(&server.flavor_id),
            zone = escape(&server.doc.availability_zone),
            created = escape(&job_time(server.created_at)),
            job = server
                .busy_job_id
                .as_deref()
                .map(|job| format!("<a class=\"mono\" href=\"/_ecsd/ui/jobs/{0}\">{0}</a>", escape(job)))
                .unwrap_or_else(|| "—".to_owned()),
            fault = server
                .fault
                .as_ref()
                .map(|fault| format!("<span class=\"code\">{}</span> {}", escape(&fault.code), escape(&fault.message)))
                .unwrap_or_default(),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The control page: empty panels the script fills from the admin API's JSON endpoints, each
/// hidden when its endpoint answers 404 (that capability is not in this build).
pub const CONTROL: &str = r#"<h1>Faults, clock and snapshots</h1>
<p class="hint">These panels call the admin API (<code>/_ecsd/faults</code>, <code>/_ecsd/clock</code>, <code>/_ecsd/snapshots</code>). A panel whose API this build does not have is hidden.</p>
<p id="control-none" class="empty" hidden>This build has none of these admin APIs.</p>
<section class="panel" id="panel-faults" data-endpoint="/_ecsd/faults" hidden>
<h2>Fault rules</h2><div class="rules" data-fill="faults"></div>
<form data-action="fault-add"><label>New rule (JSON)<textarea name="rule" rows="4" spellcheck="false">{"operation": "createServer", "times": 1, "effect": "fail", "error_code": "Ecs.0204", "fail_reason": "no capacity"}</textarea></label>
<button type="submit">Add rule</button> <button type="button" data-action="fault-clear">Delete all rules</button></form>
<p class="result" role="status"></p></section>
<section class="panel" id="panel-clock" data-endpoint="/_ecsd/clock" hidden>
<h2>Clock</h2><pre class="json" data-fill="clock"></pre>
<form data-action="clock-advance"><label>Advance by <input name="advance" value="10m" size="8"></label><button type="submit">Advance</button></form>
<form data-action="clock-set"><label>Set to (RFC 3339) <input name="set" size="28" placeholder="2026-01-01T00:00:00Z"></label><button type="submit">Set</button></form>
<p class="result" role="status"></p></section>
<section class="panel" id="panel-snapshots" data-endpoint="/_ecsd/snapshots" hidden>
<h2>Snapshots</h2><div data-fill="snapshots"></div>
<form data-action="snapshot-save"><label>Name <input name="name" size="20" required pattern="[A-Za-z0-9_.-]+"></label><button type="submit">Save snapshot</button></form>
<p class="result" role="status"></p></section>"#;
