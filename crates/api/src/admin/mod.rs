//! The admin API under `/_ecsd/`: ecsd's control plane (faults, time, state, the request log)
//! and the operator's windows onto it (`/metrics`, the dashboard). A second API beside the
//! ECS one, with its own credential ([`access`]): the admin token (`--admin-token`), never a
//! tenant's keys or tokens; and the admin token never opens a tenant route.
//!
//! Errors use the ECS envelope with ecsd's own codes (`Ecsd.0400`, `Ecsd.0401`, `Ecsd.0403`,
//! `Ecsd.0404`, `Ecsd.0409`), whose number is the HTTP status.

pub mod access;
pub mod clock;
pub mod dashboard;
pub mod events;
pub mod faults;
pub mod guesses;
pub mod latency;
pub mod requests;
pub mod state;

use crate::AppState;
use axum::routing::{delete, get, post};
use axum::Router;

/// Every admin route, behind [`access::require_admin`]. Each capability adds its routes here
/// and its operations to [`crate::routes::ADMIN`].
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            crate::routes::METRICS_PATH,
            get(crate::observe::metrics_view),
        )
        .route(crate::routes::REQUESTS_PATH, get(requests::requests_view))
        .route(
            faults::FAULTS_PATH,
            post(faults::create).get(faults::list).delete(faults::clear),
        )
        .route(faults::FAULT_PATH, delete(faults::delete))
        .route(faults::RELEASE_PATH, post(faults::release))
        .route(
            crate::routes::CLOCK_PATH,
            get(clock::clock_view).post(clock::clock_move),
        )
        .route(
            crate::routes::LATENCY_PATH,
            get(latency::latency_view).put(latency::latency_set),
        )
        .route(crate::routes::RESET_PATH, post(state::reset))
        .route(
            crate::routes::SNAPSHOTS_PATH,
            get(state::snapshot_list).post(state::snapshot_save),
        )
        .route(crate::routes::SNAPSHOT_PATH, delete(state::snapshot_delete))
        .route(
            crate::routes::SNAPSHOT_RESTORE_PATH,
            post(state::snapshot_restore),
        )
        .route(crate::routes::EXPORT_PATH, get(state::export))
        .route(EVENTS_PATH, get(events::events_view))
        .route(dashboard::UI_PATH, get(dashboard::jobs_page))
        .route(dashboard::JOB_PATH, get(dashboard::job_page))
        .route(dashboard::PROJECTS_PATH, get(dashboard::projects_page))
        .route(dashboard::SERVERS_PATH, get(dashboard::servers_page))
        .route(dashboard::CONTROL_PATH, get(dashboard::control_page))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::require_admin,
        ))
        // Open: the login exchange itself, and assets that hold no data.
        .route(
            access::LOGIN_PATH,
            get(dashboard::login_form).post(dashboard::login),
        )
        .route(dashboard::LOGOUT_PATH, post(dashboard::logout))
        .route(dashboard::SCRIPT_PATH, get(dashboard::script))
        .route(dashboard::STYLE_PATH, get(dashboard::style))
}

/// `GET /_ecsd/events`: job and server changes as server-sent events ([`events`]).
pub const EVENTS_PATH: &str = "/_ecsd/events";
