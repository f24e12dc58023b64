//! The ECS API's own routes (`/v1`, `/v1.1`, `/v2`, `/v2.1` under a project): servers, their
//! jobs and reads, tags, server groups, flavors, and the job query. Authentication is layered on
//! by [`crate::router`].

pub mod flavors;
pub mod job_list;
pub mod jobs;
pub mod server_edits;
pub mod server_groups;
pub mod server_jobs;
pub mod server_reads;
pub mod servers;
pub mod tags;

use crate::AppState;
use axum::routing::{delete, get, post};
use axum::Router;

/// Every ECS route and its handler; [`crate::routes::ECS`] is the same table for the coverage
/// checks and the OpenAPI document.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{project_id}/jobs/{job_id}", get(jobs::job_view))
        .route("/v1/{project_id}/jobs", get(job_list::job_list))
        .route(
            "/v1/{project_id}/cloudservers",
            post(servers::server_create),
        )
        .route(
            "/v1.1/{project_id}/cloudservers",
            post(servers::server_create),
        )
        .route(
            "/v1/{project_id}/cloudservers/delete",
            post(servers::server_delete),
        )
        .route(
            "/v1/{project_id}/cloudservers/action",
            post(servers::server_action),
        )
        .route(
            "/v1/{project_id}/cloudservers/detail",
            get(servers::server_list),
        )
        .route(
            "/v1/{project_id}/cloudservers/flavors",
            get(flavors::flavor_list),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}",
            get(servers::server_view).put(server_edits::server_update),
        )
        .route(
            "/v1/{project_id}/cloudservers/tags",
            get(tags::project_tags_list),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/tags",
            get(tags::server_tags_view),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/tags/action",
            post(tags::server_tags_action),
        )
        .route(
            "/v1/{project_id}/servers/resource_instances/action",
            post(tags::servers_by_tag),
        )
        .route(
            "/v1/{project_id}/cloudservers/resource_instances/action",
            post(tags::servers_by_tag),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/metadata",
            post(server_edits::server_metadata_update),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/metadata/{key}",
            delete(server_edits::server_metadata_delete),
        )
        .route(
            "/v1/{project_id}/cloudservers/limits",
            get(server_groups::limits_view),
        )
        .route(
            "/v1/{project_id}/cloudservers/os-server-groups",
            get(server_groups::server_group_list).post(server_groups::server_group_create),
        )
        .route(
            "/v1/{project_id}/cloudservers/os-server-groups/{server_group_id}",
            get(server_groups::server_group_view).delete(server_groups::server_group_delete),
        )
        .route(
            "/v1/{project_id}/cloudservers/os-server-groups/{server_group_id}/action",
            post(server_groups::server_group_action),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/resize",
            post(server_jobs::server_resize),
        )
        .route(
            "/v1.1/{project_id}/cloudservers/{server_id}/resize",
            post(server_jobs::server_resize),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/migrate",
            post(server_jobs::server_migrate),
        )
        .route(
            "/v2/{project_id}/cloudservers/{server_id}/reinstallos",
            post(server_jobs::server_reinstall_os),
        )
        .route(
            "/v2/{project_id}/cloudservers/{server_id}/changeos",
            post(server_jobs::server_change_os),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/attachvolume",
            post(server_jobs::server_attach_volume),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/detachvolume/{volume_id}",
            delete(server_jobs::server_detach_volume),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/nics",
            post(server_jobs::server_add_nics),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/nics/delete",
            post(server_jobs::server_delete_nics),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/block_device",
            get(server_reads::server_block_device_list),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/block_device/{volume_id}",
            get(server_reads::server_block_device_view),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/os-interface",
            get(server_reads::server_interface_list),
        )
        .route(
            "/v1/{project_id}/cloudservers/resize_flavors",
            get(server_reads::resize_flavor_list),
        )
        .route(
            "/v2.1/{project_id}/resize_flavors",
            get(server_reads::resize_flavor_list),
        )
        .route(
            "/v2.1/servers/{server_id}/block_device",
            get(server_reads::server_block_device_list_v21),
        )
        .route(
            "/v2.1/servers/{server_id}/block_device/{volume_id}",
            get(server_reads::server_block_device_view_v21),
        )
        .route(
            "/v1.0/servers/{server_id}/action",
            post(server_jobs::server_monitor),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/autorecovery",
            get(server_jobs::server_auto_recovery_view)
                .put(server_jobs::server_auto_recovery_update),
        )
}
