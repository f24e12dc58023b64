//! The list of every operation ecsd serves: method, path template, an operation id and a
//! one-line summary. It is the source of the OpenAPI document ([`crate::openapi`]), and the
//! route test (`crates/ecsd/tests/it/observability.rs`) compares it with the router itself, so
//! a route added to [`crate::router`] without an entry here (or the reverse) fails the build's
//! tests. A new family of routes (e.g. Nova's) adds its table to [`TABLES`]: one step.

/// `POST /v3/auth/tokens`: IAM token issuance.
pub const TOKENS_PATH: &str = "/v3/auth/tokens";
/// Prometheus metrics (no tenant credentials).
pub const METRICS_PATH: &str = "/metrics";
/// The OpenAPI document of these routes (no tenant credentials).
pub const OPENAPI_PATH: &str = "/_ecsd/openapi.json";

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A tenant: an AK/SK signature or an `X-Auth-Token` (unless `--auth off`).
    Tenant,
    /// Anyone who can reach ecsd (token issuance checks the password in the body; metrics and
    /// the document carry no tenant data).
    Open,
}

/// One method on one path template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub method: &'static str,
    /// axum's template syntax, which is also OpenAPI's: `{name}` for a segment.
    pub path: &'static str,
    /// Unique; the reference's API name where it has one, with a suffix for alias paths.
    pub id: &'static str,
    pub summary: &'static str,
    /// The OpenAPI tag that groups it.
    pub tag: &'static str,
    pub access: Access,
    /// Answers `{"job_id"}`: an asynchronous operation, followed with `ShowJob`.
    pub job: bool,
}

const fn op(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    tag: &'static str,
    job: bool,
) -> Operation {
    Operation {
        method,
        path,
        id,
        summary,
        tag,
        access: Access::Tenant,
        job,
    }
}

const JOBS: &str = "jobs";
const SERVERS: &str = "servers";
const SERVER_JOBS: &str = "server jobs";
const TAGS: &str = "tags";
const GROUPS: &str = "server groups";
const FLAVORS: &str = "flavors";

/// The ECS API (and the few Nova-compatible paths the ECS SDKs call).
#[rustfmt::skip]
pub const ECS: &[Operation] = &[
    op("GET", "/v1/{project_id}/jobs/{job_id}", "ShowJob", "Query a job and its sub-jobs", JOBS, false),
    op("POST", "/v1/{project_id}/cloudservers", "CreateServers", "Create servers (v1)", SERVERS, true),
    op("POST", "/v1.1/{project_id}/cloudservers", "CreatePostPaidServers", "Create servers (v1.1)", SERVERS, true),
    op("POST", "/v1/{project_id}/cloudservers/delete", "DeleteServers", "Delete servers", SERVERS, true),
    op("POST", "/v1/{project_id}/cloudservers/action", "BatchServerAction", "Start, stop or reboot servers (os-start, os-stop, reboot)", SERVERS, true),
    op("GET", "/v1/{project_id}/cloudservers/detail", "ListServersDetails", "List servers with details", SERVERS, false),
    op("GET", "/v1/{project_id}/cloudservers/flavors", "ListFlavors", "List flavors", FLAVORS, false),
    op("GET", "/v1/{project_id}/cloudservers/{server_id}", "ShowServer", "Query a server", SERVERS, false),
    op("PUT", "/v1/{project_id}/cloudservers/{server_id}", "UpdateServer", "Change a server's name, description or hostname", SERVERS, false),
    op("GET", "/v1/{project_id}/cloudservers/tags", "ListProjectTags", "List the project's tags", TAGS, false),
    op("GET", "/v1/{project_id}/cloudservers/{server_id}/tags", "ShowServerTags", "List a server's tags", TAGS, false),
    op("POST", "/v1/{project_id}/cloudservers/{server_id}/tags/action", "BatchServerTags", "Add or delete a server's tags", TAGS, false),
    op("POST", "/v1/{project_id}/servers/resource_instances/action", "ListServersByTag", "Query servers by tag", TAGS, false),
    op("POST", "/v1/{project_id}/cloudservers/resource_instances/action", "ListServersByTagCloudservers", "Query servers by tag (cloudservers path)", TAGS, false),
    op("POST", "/v1/{project_id}/cloudservers/{server_id}/metadata", "UpdateServerMetadata", "Set a server's metadata", SERVERS, false),
    op("DELETE", "/v1/{project_id}/cloudservers/{server_id}/metadata/{key}", "DeleteServerMetadata", "Delete one metadata key", SERVERS, false),
    op("DELETE", "/v2.1/{project_id}/servers/{server_id}/metadata/{key}", "NovaDeleteServerMetadataV21", "Delete one metadata key (Nova v2.1 path)", SERVERS, false),
    op("DELETE", "/v2/{project_id}/servers/{server_id}/metadata/{key}", "NovaDeleteServerMetadataV2", "Delete one metadata key (Nova v2 path)", SERVERS, false),
    op("GET", "/v1/{project_id}/cloudservers/limits", "ShowServerLimits", "Query the project's limits and usage", SERVERS, false),
    op("GET", "/v1/{project_id}/cloudservers/os-server-groups", "ListServerGroups", "List server groups", GROUPS, false),
    op("POST", "/v1/{project_id}/cloudservers/os-server-groups", "CreateServerGroup", "Create a server group", GROUPS, false),
    op("GET", "/v1/{project_id}/cloudservers/os-server-groups/{server_group_id}", "ShowServerGroup", "Query a server group", GROUPS, false),
    op("DELETE", "/v1/{project_id}/cloudservers/os-server-groups/{server_group_id}", "DeleteServerGroup", "Delete a server group", GROUPS, false),
    op("POST", "/v1/{project_id}/cloudservers/os-server-groups/{server_group_id}/action", "ServerGroupMembers", "Add or remove a server group member", GROUPS, false),
    op("POST", "/v1/{project_id}/cloudservers/{server_id}/resize", "ResizeServer", "Change a server's flavor (v1)", SERVER_JOBS, true),
    op("POST", "/v1.1/{project_id}/cloudservers/{server_id}/resize", "ResizePostPaidServer", "Change a server's flavor (v1.1)", SERVER_JOBS, true),
    op("POST", "/v1/{project_id}/cloudservers/{server_id}/migrate", "MigrateServer", "Migrate a server", SERVER_JOBS, true),
    op("POST", "/v2/{project_id}/cloudservers/{server_id}/reinstallos", "ReinstallServerWithCloudInit", "Reinstall a server's OS", SERVER_JOBS, true),
    op("POST", "/v2/{project_id}/cloudservers/{server_id}/changeos", "ChangeServerOsWithCloudInit", "Change a server's OS", SERVER_JOBS, true),
    op("POST", "/v1/{project_id}/cloudservers/{server_id}/attachvolume", "AttachServerVolume", "Attach a volume", SERVER_JOBS, true),
    op("DELETE", "/v1/{project_id}/cloudservers/{server_id}/detachvolume/{volume_id}", "DetachServerVolume", "Detach a volume", SERVER_JOBS, true),
    op("POST", "/v1/{project_id}/cloudservers/{server_id}/nics", "BatchAddServerNics", "Add NICs", SERVER_JOBS, true),
    op("POST", "/v1/{project_id}/cloudservers/{server_id}/nics/delete", "BatchDeleteServerNics", "Delete NICs", SERVER_JOBS, true),
    op("GET", "/v1/{project_id}/cloudservers/{server_id}/block_device", "ListServerBlockDevices", "List a server's disks", SERVERS, false),
    op("GET", "/v1/{project_id}/cloudservers/{server_id}/block_device/{volume_id}", "ShowServerBlockDevice", "Query one of a server's disks", SERVERS, false),
    op("GET", "/v1/{project_id}/cloudservers/{server_id}/os-interface", "ListServerInterfaces", "List a server's NICs", SERVERS, false),
    op("GET", "/v1/{project_id}/cloudservers/resize_flavors", "ListResizeFlavors", "List the flavors a server can be resized to", FLAVORS, false),
    op("GET", "/v2.1/{project_id}/resize_flavors", "ListResizeFlavorsV21", "List resize flavors (v2.1 path)", FLAVORS, false),
    op("GET", "/v2.1/servers/{server_id}/block_device", "ListServerBlockDevicesV21", "List a server's disks (v2.1 path, project from the credentials)", SERVERS, false),
    op("GET", "/v2.1/servers/{server_id}/block_device/{volume_id}", "ShowServerBlockDeviceV21", "Query one of a server's disks (v2.1 path)", SERVERS, false),
    op("POST", "/v1.0/servers/{server_id}/action", "NovaServerMonitor", "Server monitoring action (v1.0 path)", SERVER_JOBS, false),
    op("GET", "/v1/{project_id}/cloudservers/{server_id}/autorecovery", "ShowServerAutoRecovery", "Query a server's auto recovery", SERVERS, false),
    op("PUT", "/v1/{project_id}/cloudservers/{server_id}/autorecovery", "UpdateServerAutoRecovery", "Set a server's auto recovery", SERVERS, false),
];

/// IAM: tokens for clients that authenticate with a password.
pub const IDENTITY: &[Operation] = &[Operation {
    method: "POST",
    path: TOKENS_PATH,
    id: "KeystoneCreateUserTokenByPassword",
    summary: "Issue a token (password method, project scope)",
    tag: "identity",
    access: Access::Open,
    job: false,
}];

/// ecsd's own routes, for the people and tools watching it.
pub const ECSD: &[Operation] = &[
    Operation {
        method: "GET",
        path: METRICS_PATH,
        id: "EcsdMetrics",
        summary: "Prometheus metrics (OpenMetrics text)",
        tag: "ecsd",
        access: Access::Open,
        job: false,
    },
    Operation {
        method: "GET",
        path: OPENAPI_PATH,
        id: "EcsdOpenApi",
        summary: "This OpenAPI document",
        tag: "ecsd",
        access: Access::Open,
        job: false,
    },
];

/// Every table of operations ecsd serves. The one place to add a family of routes.
pub const TABLES: &[&[Operation]] = &[ECS, IDENTITY, ECSD];

/// Every operation ecsd serves, in table order.
pub fn all() -> impl Iterator<Item = &'static Operation> {
    TABLES.iter().flat_map(|table| table.iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn operation_ids_and_method_paths_are_unique() {
        let mut ids = HashSet::new();
        let mut routes = HashSet::new();
        for operation in all() {
            assert!(ids.insert(operation.id), "{} twice", operation.id);
            assert!(
                routes.insert((operation.method, operation.path)),
                "{} {} twice",
                operation.method,
                operation.path
            );
        }
    }
}
