//! The dashboard under `/_ecsd/ui`: pages rendered here ([`views`]) from the engine's reads,
//! kept live by a little JavaScript (`dashboard.js`, embedded) that listens to
//! `/_ecsd/events` and swaps in the page's fresh `<main>`. Behind the admin credential like
//! the rest of the admin API; a browser logs in once ([`login_form`]) and holds a session
//! cookie ([`super::access::SESSION_COOKIE`]). The assets and the login page are open: they
//! carry no data.
//!
//! Pages: jobs (`/_ecsd/ui`, filters `project_id`, `status`, `job_type`, `limit`), one job
//! (`/_ecsd/ui/jobs/{job_id}`: its sub-jobs as an SVG timeline and the job query's JSON), the
//! projects (`/_ecsd/ui/servers`) and a project's servers
//! (`/_ecsd/ui/projects/{project_id}/servers`), and the control page (`/_ecsd/ui/control`:
//! fault rules, clock and snapshots, drawn by the script from their JSON endpoints and hidden
//! where this build has none).

pub mod html;
pub mod views;

use super::access::{self, LOGIN_PATH, SESSION_COOKIE};
use crate::error::ApiError;
use crate::{error_codes, project_from_path, AppState, Path};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use engine::job::{is_job_id, JobKind, JobStatus};
use engine::store::{JobsRecent, ServerQuery, JOBS_RECENT_MAX};
use html::Nav;
use serde::Deserialize;
use std::net::SocketAddr;

pub const UI_PATH: &str = "/_ecsd/ui";
pub const JOB_PATH: &str = "/_ecsd/ui/jobs/{job_id}";
pub const PROJECTS_PATH: &str = "/_ecsd/ui/servers";
pub const SERVERS_PATH: &str = "/_ecsd/ui/projects/{project_id}/servers";
pub const CONTROL_PATH: &str = "/_ecsd/ui/control";
pub const LOGOUT_PATH: &str = "/_ecsd/ui/logout";
pub const SCRIPT_PATH: &str = "/_ecsd/ui/assets/dashboard.js";
pub const STYLE_PATH: &str = "/_ecsd/ui/assets/dashboard.css";

/// Jobs on the jobs page when the query names no `limit`.
const DEFAULT_LIMIT: usize = 100;

const SCRIPT: &str = include_str!("dashboard.js");
const STYLE: &str = include_str!("dashboard.css");

/// The jobs page's filters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsFilter {
    pub project_id: Option<String>,
    pub status: Option<String>,
    pub job_type: Option<String>,
    pub limit: Option<String>,
}

impl JobsFilter {
    /// The store's filter; each bad value is a 400 naming its field. Empty values (an
    /// untouched form field) mean "any".
    fn parse(&self) -> Result<JobsRecent, ApiError> {
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let bad = |field: &str, rule: String| {
            ApiError::new(error_codes::ECSD_BAD_REQUEST, format!("{field}: {rule}"))
        };
        let project_id = match given(&self.project_id) {
            Some(project_id) => Some(project_from_path(&project_id)?.to_owned()),
            None => None,
        };
        let status = match given(&self.status) {
            Some(status) => Some(JobStatus::parse(&status).ok_or_else(|| {
                bad(
                    "status",
                    format!("{status:?} is not INIT, RUNNING, SUCCESS or FAIL"),
                )
            })?),
            None => None,
        };
        let kind = match given(&self.job_type) {
            Some(job_type) => Some(JobKind::from_job_type(&job_type).ok_or_else(|| {
                bad("job_type", format!("{job_type:?} is not a job type (createServer, deleteVMs, batchStopServers, …)"))
            })?),
            None => None,
        };
        let limit = match given(&self.limit) {
            Some(limit) => limit
                .parse::<usize>()
                .ok()
                .filter(|limit| (1..=JOBS_RECENT_MAX).contains(limit))
                .ok_or_else(|| {
                    bad(
                        "limit",
                        format!("{limit:?} is not a number from 1 to {JOBS_RECENT_MAX}"),
                    )
                })?,
            None => DEFAULT_LIMIT,
        };
        Ok(JobsRecent {
            project_id,
            job_id: None,
            kind,
            status,
            limit,
        })
    }
}

/// `GET /_ecsd/ui`: the most recent jobs of every project (or the filtered ones).
pub async fn jobs_page(
    State(state): State<AppState>,
    Query(filter): Query<JobsFilter>,
) -> Result<Response, ApiError> {
    let recent = filter.parse()?;
    let jobs = state.engine.jobs_recent(recent.clone()).await?;
    let now = engine::clock::to_unix_ms(state.engine.now());
    let content = views::jobs(&recent, &jobs, now);
    let attributes = format!(
        "data-live=\"jobs\" data-project=\"{}\" data-unfinished=\"{}\"",
        html::escape(recent.project_id.as_deref().unwrap_or_default()),
        jobs.iter().filter(|job| !job.status.is_terminal()).count()
    );
    Ok(html::respond(
        StatusCode::OK,
        html::page(
            "Jobs",
            Nav::Jobs,
            &attributes,
            &content,
            state.admin.has_token(),
        ),
    ))
}

/// `GET /_ecsd/ui/jobs/{job_id}`: one job of any project.
pub async fn job_page(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || {
        ApiError::new(
            error_codes::ECSD_NOT_FOUND,
            format!("job_id: no job {job_id:?} (unknown, or past its retention)."),
        )
    };
    if !is_job_id(&job_id) {
        return Err(not_found());
    }
    let job = state
        .engine
        .jobs_recent(JobsRecent {
            job_id: Some(job_id.clone()),
            limit: 1,
            ..JobsRecent::default()
        })
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    let now = engine::clock::to_unix_ms(state.engine.now());
    let content = views::job(&job, now);
    let attributes = format!(
        "data-live=\"job\" data-job=\"{}\" data-project=\"{}\" data-unfinished=\"{}\"",
        html::escape(&job.id),
        html::escape(&job.project_id),
        u8::from(!job.status.is_terminal())
    );
    Ok(html::respond(
        StatusCode::OK,
        html::page(
            &format!("Job {}", job.id),
            Nav::Jobs,
            &attributes,
            &content,
            state.admin.has_token(),
        ),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectChoice {
    pub project_id: Option<String>,
}

/// `GET /_ecsd/ui/servers`: the projects (from the accounts), each linking to its servers;
/// with `?project_id=` (the page's form), that project's servers.
pub async fn projects_page(
    State(state): State<AppState>,
    Query(choice): Query<ProjectChoice>,
) -> Result<Response, ApiError> {
    if let Some(project_id) = choice.project_id.as_deref().map(str::trim) {
        let project_id = project_from_path(project_id)?;
        return Ok(
            Redirect::to(&format!("/_ecsd/ui/projects/{project_id}/servers")).into_response(),
        );
    }
    let projects: Vec<views::ProjectRow> = match &state.auth {
        crate::identity::auth::Auth::Verify(identity) => identity
            .accounts
            .iter()
            .flat_map(|account| {
                account.projects.iter().map(|project| views::ProjectRow {
                    domain: account.domain.clone(),
                    name: project.name.clone(),
                    id: project.id.clone(),
                    region: project.region.clone(),
                })
            })
            .collect(),
        crate::identity::auth::Auth::Off => Vec::new(),
    };
    Ok(html::respond(
        StatusCode::OK,
        html::page(
            "Projects",
            Nav::Servers,
            "",
            &views::projects(&projects),
            state.admin.has_token(),
        ),
    ))
}

/// `GET /_ecsd/ui/projects/{project_id}/servers`: a project's servers as clients see them now.
pub async fn servers_page(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
) -> Result<Response, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let page = state
        .engine
        .servers(ServerQuery {
            project_id: project_id.to_owned(),
            limit: 1000,
            ..ServerQuery::default()
        })
        .await?;
    let attributes = format!(
        "data-live=\"servers\" data-project=\"{}\" data-unfinished=\"{}\"",
        html::escape(project_id),
        page.servers
            .iter()
            .filter(|server| server.busy_job_id.is_some())
            .count()
    );
    Ok(html::respond(
        StatusCode::OK,
        html::page(
            &format!("Servers of {project_id}"),
            Nav::Servers,
            &attributes,
            &views::servers(project_id, &page),
            state.admin.has_token(),
        ),
    ))
}

/// `GET /_ecsd/ui/control`: the panels the script fills from `/_ecsd/faults`, `/_ecsd/clock`
/// and `/_ecsd/snapshots`.
pub async fn control_page(State(state): State<AppState>) -> Response {
    html::respond(
        StatusCode::OK,
        html::page(
            "Faults, clock and snapshots",
            Nav::Control,
            "data-live=\"control\"",
            views::CONTROL,
            state.admin.has_token(),
        ),
    )
}

/// The embedded script and style sheet (open: they hold no data).
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// `GET /_ecsd/ui/login`: the form (or straight to the dashboard when ecsd has no token:
/// loopback callers need no login).
pub async fn login_form(State(state): State<AppState>) -> Response {
    if !state.admin.has_token() {
        return Redirect::to(UI_PATH).into_response();
    }
    login_page(StatusCode::OK, None)
}

fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    let error = error
        .map(|message| {
            format!(
                "<p class=\"error\" role=\"alert\">{}</p>",
                html::escape(message)
            )
        })
        .unwrap_or_default();
    let content = format!(
        "<section class=\"login\"><h1>Log in to the dashboard</h1>{error}\
<form method=\"post\" action=\"{LOGIN_PATH}\"><label>Admin token \
<input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus></label>\
<button type=\"submit\">Log in</button></form>\
<p class=\"hint\">The value of <code>--admin-token</code> / <code>ECSD_ADMIN_TOKEN</code>. \
The browser keeps a session cookie for <code>/_ecsd</code> until it closes.</p></section>"
    );
    html::respond(status, html::page("Log in", Nav::None, "", &content, false))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
}

/// `POST /_ecsd/ui/login` (form `token=`): a right token sets the session cookie and goes to
/// the jobs page; a wrong one shows the form again (401). Cross-site posts are refused like
/// every other state change ([`access::cross_site_check`]).
pub async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let peer = peer.map(|Extension(ConnectInfo(peer))| peer);
    access::cross_site_check(&method, &headers, !state.admin.has_token())?;
    let Some(session) = state.admin.session_value() else {
        return Ok(Redirect::to(UI_PATH).into_response());
    };
    let form: LoginForm = serde_urlencoded::from_bytes(&body).map_err(|error| {
        ApiError::new(
            error_codes::ECSD_BAD_REQUEST,
            format!("token: the login form must send token=<admin token> ({error})."),
        )
    })?;
    if let Err(refusal) = state.admin.guess(form.token.trim(), peer) {
        if refusal.code.code == error_codes::ECSD_TOO_MANY_GUESSES.code {
            let wait = state.admin.guess_wait(peer);
            let page = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "Too many wrong tokens from this address: wait {} s before the next try.",
                    wait.unwrap_or(1)
                )),
            );
            return Ok(access::with_retry_after(page, wait));
        }
        return Ok(login_page(
            StatusCode::UNAUTHORIZED,
            Some("That is not the admin token."),
        ));
    }
    let mut response = Redirect::to(UI_PATH).into_response();
    let cookie = format!("{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/_ecsd");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(response)
}

/// `POST /_ecsd/ui/logout`: forgets the session cookie.
pub async fn logout(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    access::cross_site_check(&method, &headers, !state.admin.has_token())?;
    let mut response = Redirect::to(LOGIN_PATH).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("ecsd_admin=; HttpOnly; SameSite=Strict; Path=/_ecsd; Max-Age=0"),
    );
    Ok(response)
}
