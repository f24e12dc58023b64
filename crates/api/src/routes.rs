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

/// The request log ([`crate::admin::requests`]).
pub const REQUESTS_PATH: &str = "/_ecsd/requests";

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A tenant: an AK/SK signature or an `X-Auth-Token` (unless `--auth off`).
    Tenant,
    /// Anyone who can reach ecsd (token issuance checks the password in the body; the
    /// document carries no tenant data).
    Open,
    /// The admin credential ([`crate::admin::access`]): the admin token, or loopback when none
    /// is configured.
    Admin,
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
    op("GET", "/v1/{project_id}/jobs", "EcsdListJobs", "ecsd extension, not in the reference: list the project's jobs, newest first (status, job_type, since, limit, marker)", JOBS, false),
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

/// The operation ids in [`ECS`] that are ecsd's own extensions: served beside the ECS API,
/// absent from the reference. Their summaries say so, and the coverage test
/// (`crates/ecsd/tests/it/coverage.rs`) checks that no reference page has their path.
pub const ECS_EXTENSIONS: &[&str] = &["EcsdListJobs"];

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
        access: Access::Admin,
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

/// The admin API (`crate::admin::routes`): ecsd's control plane under `/_ecsd/`, behind the
/// admin credential. Each capability appends its operations here.
#[rustfmt::skip]
pub const ADMIN: &[Operation] = &[
    admin("GET", REQUESTS_PATH, "EcsdListRequests", "The last requests answered (the request log), oldest first: ?since=SEQ|RFC3339&project_id=&limit="),
    admin("POST", "/_ecsd/faults", "EcsdCreateFault", "Add a fault rule"),
    admin("GET", "/_ecsd/faults", "EcsdListFaults", "List the fault rules with their matched and fired counts"),
    admin("DELETE", "/_ecsd/faults", "EcsdClearFaults", "Delete every fault rule (their held jobs are released)"),
    admin("DELETE", "/_ecsd/faults/{id}", "EcsdDeleteFault", "Delete a fault rule (its held jobs are released)"),
    admin("POST", "/_ecsd/jobs/{job_id}/release", "EcsdReleaseJob", "End a stuck job's held tasks now"),
    admin("GET", CLOCK_PATH, "EcsdClockShow", "The engine's clock: its mode and time"),
    admin("POST", CLOCK_PATH, "EcsdClockMove", "Advance or set the virtual clock"),
    admin("GET", LATENCY_PATH, "EcsdLatencyShow", "The latency new jobs are scheduled with"),
    admin("PUT", LATENCY_PATH, "EcsdLatencySet", "Change the latency of new jobs"),
    admin("POST", RESET_PATH, "EcsdReset", "Remove every job, server, group, key pair, image and client token (or one project's)"),
    admin("GET", SNAPSHOTS_PATH, "EcsdSnapshotList", "The saved snapshots"),
    admin("POST", SNAPSHOTS_PATH, "EcsdSnapshotSave", "Save a snapshot of the whole state"),
    admin("POST", SNAPSHOT_RESTORE_PATH, "EcsdSnapshotRestore", "Replace the whole state with a snapshot's"),
    admin("DELETE", SNAPSHOT_PATH, "EcsdSnapshotDelete", "Delete a snapshot"),
    admin("GET", EXPORT_PATH, "EcsdExport", "Download a snapshot file (the current state, or a saved one)"),
    admin("GET", "/_ecsd/events", "EcsdEvents", "Job and server changes as server-sent events (resumable with Last-Event-ID)"),
    admin("GET", "/_ecsd/ui", "EcsdUiJobs", "Dashboard: recent jobs, live (HTML)"),
    admin("GET", "/_ecsd/ui/jobs/{job_id}", "EcsdUiJob", "Dashboard: one job's sub-job timeline and JSON (HTML)"),
    admin("GET", "/_ecsd/ui/servers", "EcsdUiProjects", "Dashboard: projects (HTML)"),
    admin("GET", "/_ecsd/ui/projects/{project_id}/servers", "EcsdUiServers", "Dashboard: a project's servers (HTML)"),
    admin("GET", "/_ecsd/ui/control", "EcsdUiControl", "Dashboard: fault rules, clock and snapshots (HTML)"),
    open_admin("GET", "/_ecsd/ui/login", "EcsdUiLoginForm", "Dashboard: the login form (HTML)"),
    open_admin("POST", "/_ecsd/ui/login", "EcsdUiLogin", "Dashboard: exchange the admin token for a session cookie"),
    open_admin("POST", "/_ecsd/ui/logout", "EcsdUiLogout", "Dashboard: forget the session cookie"),
    open_admin("GET", "/_ecsd/ui/assets/dashboard.js", "EcsdUiScript", "Dashboard: its script"),
    open_admin("GET", "/_ecsd/ui/assets/dashboard.css", "EcsdUiStyle", "Dashboard: its style sheet"),
];

/// The paths of the time and state capabilities of the admin API.
pub const CLOCK_PATH: &str = "/_ecsd/clock";
pub const LATENCY_PATH: &str = "/_ecsd/latency";
pub const RESET_PATH: &str = "/_ecsd/reset";
pub const SNAPSHOTS_PATH: &str = "/_ecsd/snapshots";
pub const SNAPSHOT_PATH: &str = "/_ecsd/snapshots/{name}";
pub const SNAPSHOT_RESTORE_PATH: &str = "/_ecsd/snapshots/{name}/restore";
pub const EXPORT_PATH: &str = "/_ecsd/export";

/// An admin operation (tag `admin`; answers no job).
const fn admin(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
) -> Operation {
    Operation {
        method,
        path,
        id,
        summary,
        tag: "admin",
        access: Access::Admin,
        job: false,
    }
}

/// An admin-API path anyone may call: the dashboard's login exchange and its assets.
const fn open_admin(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
) -> Operation {
    Operation {
        access: Access::Open,
        ..admin(method, path, id, summary)
    }
}

const NOVA: &str = "nova";
const IMAGES: &str = "images";
const NETWORKS: &str = "networks";
const DISCOVERY: &str = "discovery";

/// The native OpenStack Nova API (`api::nova::compute_routes`), under `/v2.1/{project_id}` and
/// `/v2/{project_id}`.
#[rustfmt::skip]
pub const NOVA_COMPUTE: &[Operation] = &[
    op("GET", "/v2.1/{project_id}/servers", "NovaServerListV21", "Nova: server list", NOVA, false),
    op("GET", "/v2/{project_id}/servers", "NovaServerListV2", "Nova: server list", NOVA, false),
    op("POST", "/v2.1/{project_id}/servers", "NovaServerCreateV21", "Nova: server create", NOVA, false),
    op("POST", "/v2/{project_id}/servers", "NovaServerCreateV2", "Nova: server create", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/detail", "NovaServerListDetailV21", "Nova: server list detail", NOVA, false),
    op("GET", "/v2/{project_id}/servers/detail", "NovaServerListDetailV2", "Nova: server list detail", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}", "NovaServerShowV21", "Nova: server show", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}", "NovaServerShowV2", "Nova: server show", NOVA, false),
    op("PUT", "/v2.1/{project_id}/servers/{server_id}", "NovaServerUpdateV21", "Nova: server update", NOVA, false),
    op("PUT", "/v2/{project_id}/servers/{server_id}", "NovaServerUpdateV2", "Nova: server update", NOVA, false),
    op("DELETE", "/v2.1/{project_id}/servers/{server_id}", "NovaServerDeleteV21", "Nova: server delete", NOVA, false),
    op("DELETE", "/v2/{project_id}/servers/{server_id}", "NovaServerDeleteV2", "Nova: server delete", NOVA, false),
    op("POST", "/v2.1/{project_id}/servers/{server_id}/action", "NovaServerActionV21", "Nova: server action", NOVA, false),
    op("POST", "/v2/{project_id}/servers/{server_id}/action", "NovaServerActionV2", "Nova: server action", NOVA, false),
    op("GET", "/v2.1/{project_id}/flavors", "NovaFlavorListV21", "Nova: flavor list", NOVA, false),
    op("GET", "/v2/{project_id}/flavors", "NovaFlavorListV2", "Nova: flavor list", NOVA, false),
    op("GET", "/v2.1/{project_id}/flavors/detail", "NovaFlavorListDetailV21", "Nova: flavor list detail", NOVA, false),
    op("GET", "/v2/{project_id}/flavors/detail", "NovaFlavorListDetailV2", "Nova: flavor list detail", NOVA, false),
    op("GET", "/v2.1/{project_id}/flavors/{flavor_id}", "NovaFlavorShowV21", "Nova: flavor show", NOVA, false),
    op("GET", "/v2/{project_id}/flavors/{flavor_id}", "NovaFlavorShowV2", "Nova: flavor show", NOVA, false),
    op("GET", "/v2.1/{project_id}/flavors/{flavor_id}/os-extra_specs", "NovaExtraSpecsListV21", "Nova: extra specs list", NOVA, false),
    op("GET", "/v2/{project_id}/flavors/{flavor_id}/os-extra_specs", "NovaExtraSpecsListV2", "Nova: extra specs list", NOVA, false),
    op("GET", "/v2.1/{project_id}/flavors/{flavor_id}/os-extra_specs/{key}", "NovaExtraSpecShowV21", "Nova: extra spec show", NOVA, false),
    op("GET", "/v2/{project_id}/flavors/{flavor_id}/os-extra_specs/{key}", "NovaExtraSpecShowV2", "Nova: extra spec show", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/metadata", "NovaMetadataListV21", "Nova: metadata list", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/metadata", "NovaMetadataListV2", "Nova: metadata list", NOVA, false),
    op("POST", "/v2.1/{project_id}/servers/{server_id}/metadata", "NovaMetadataUpdateV21", "Nova: metadata update", NOVA, false),
    op("POST", "/v2/{project_id}/servers/{server_id}/metadata", "NovaMetadataUpdateV2", "Nova: metadata update", NOVA, false),
    op("PUT", "/v2.1/{project_id}/servers/{server_id}/metadata", "NovaMetadataReplaceV21", "Nova: metadata replace", NOVA, false),
    op("PUT", "/v2/{project_id}/servers/{server_id}/metadata", "NovaMetadataReplaceV2", "Nova: metadata replace", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/metadata/{key}", "NovaMetadataShowV21", "Nova: metadata show", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/metadata/{key}", "NovaMetadataShowV2", "Nova: metadata show", NOVA, false),
    op("PUT", "/v2.1/{project_id}/servers/{server_id}/metadata/{key}", "NovaMetadataPutKeyV21", "Nova: metadata put key", NOVA, false),
    op("PUT", "/v2/{project_id}/servers/{server_id}/metadata/{key}", "NovaMetadataPutKeyV2", "Nova: metadata put key", NOVA, false),
    op("DELETE", "/v2.1/{project_id}/servers/{server_id}/metadata/{key}", "NovaMetadataDeleteKeyV21", "Nova: metadata delete key", NOVA, false),
    op("DELETE", "/v2/{project_id}/servers/{server_id}/metadata/{key}", "NovaMetadataDeleteKeyV2", "Nova: metadata delete key", NOVA, false),
    op("GET", "/v2.1/{project_id}/os-availability-zone", "NovaAvailabilityZonesV21", "Nova: availability zones", NOVA, false),
    op("GET", "/v2/{project_id}/os-availability-zone", "NovaAvailabilityZonesV2", "Nova: availability zones", NOVA, false),
    op("GET", "/v2.1/{project_id}/os-availability-zone/detail", "NovaAvailabilityZonesDetailV21", "Nova: availability zones detail", NOVA, false),
    op("GET", "/v2/{project_id}/os-availability-zone/detail", "NovaAvailabilityZonesDetailV2", "Nova: availability zones detail", NOVA, false),
    op("GET", "/v2.1/{project_id}/limits", "NovaLimitsV21", "Nova: limits", NOVA, false),
    op("GET", "/v2/{project_id}/limits", "NovaLimitsV2", "Nova: limits", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/ips", "NovaServerIpsV21", "Nova: server ips", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/ips", "NovaServerIpsV2", "Nova: server ips", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/ips/{network_name}", "NovaServerIpsOfNetworkV21", "Nova: server ips of network", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/ips/{network_name}", "NovaServerIpsOfNetworkV2", "Nova: server ips of network", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/os-security-groups", "NovaServerSecurityGroupsV21", "Nova: server security groups", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/os-security-groups", "NovaServerSecurityGroupsV2", "Nova: server security groups", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/os-interface", "NovaServerInterfacesV21", "Nova: server interfaces", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/os-interface", "NovaServerInterfacesV2", "Nova: server interfaces", NOVA, false),
    op("POST", "/v2.1/{project_id}/servers/{server_id}/os-interface", "NovaInterfaceAttachV21", "Nova: interface attach", NOVA, false),
    op("POST", "/v2/{project_id}/servers/{server_id}/os-interface", "NovaInterfaceAttachV2", "Nova: interface attach", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/os-interface/{port_id}", "NovaInterfaceShowV21", "Nova: interface show", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/os-interface/{port_id}", "NovaInterfaceShowV2", "Nova: interface show", NOVA, false),
    op("DELETE", "/v2.1/{project_id}/servers/{server_id}/os-interface/{port_id}", "NovaInterfaceDetachV21", "Nova: interface detach", NOVA, false),
    op("DELETE", "/v2/{project_id}/servers/{server_id}/os-interface/{port_id}", "NovaInterfaceDetachV2", "Nova: interface detach", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/os-volume_attachments", "NovaVolumeAttachmentsV21", "Nova: volume attachments", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/os-volume_attachments", "NovaVolumeAttachmentsV2", "Nova: volume attachments", NOVA, false),
    op("POST", "/v2.1/{project_id}/servers/{server_id}/os-volume_attachments", "NovaVolumeAttachV21", "Nova: volume attach", NOVA, false),
    op("POST", "/v2/{project_id}/servers/{server_id}/os-volume_attachments", "NovaVolumeAttachV2", "Nova: volume attach", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/os-volume_attachments/{volume_id}", "NovaVolumeShowV21", "Nova: volume show", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/os-volume_attachments/{volume_id}", "NovaVolumeShowV2", "Nova: volume show", NOVA, false),
    op("DELETE", "/v2.1/{project_id}/servers/{server_id}/os-volume_attachments/{volume_id}", "NovaVolumeDetachV21", "Nova: volume detach", NOVA, false),
    op("DELETE", "/v2/{project_id}/servers/{server_id}/os-volume_attachments/{volume_id}", "NovaVolumeDetachV2", "Nova: volume detach", NOVA, false),
    op("GET", "/v2.1/{project_id}/os-networks", "NovaOsNetworksV21", "Nova: os networks", NOVA, false),
    op("GET", "/v2/{project_id}/os-networks", "NovaOsNetworksV2", "Nova: os networks", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/tags", "NovaTagsListV21", "Nova: tags list", NOVA, false),
    op("PUT", "/v2.1/{project_id}/servers/{server_id}/tags", "NovaTagsReplaceV21", "Nova: tags replace", NOVA, false),
    op("DELETE", "/v2.1/{project_id}/servers/{server_id}/tags", "NovaTagsDeleteAllV21", "Nova: tags delete all", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/tags/{tag}", "NovaTagCheckV21", "Nova: tag check", NOVA, false),
    op("PUT", "/v2.1/{project_id}/servers/{server_id}/tags/{tag}", "NovaTagAddV21", "Nova: tag add", NOVA, false),
    op("DELETE", "/v2.1/{project_id}/servers/{server_id}/tags/{tag}", "NovaTagDeleteV21", "Nova: tag delete", NOVA, false),
    op("POST", "/v2.1/{project_id}/servers/{server_id}/remote-consoles", "NovaRemoteConsoleV21", "Nova: remote console", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/os-server-password", "NovaPasswordShowV21", "Nova: password show", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/os-server-password", "NovaPasswordShowV2", "Nova: password show", NOVA, false),
    op("DELETE", "/v2.1/{project_id}/servers/{server_id}/os-server-password", "NovaPasswordDeleteV21", "Nova: password delete", NOVA, false),
    op("DELETE", "/v2/{project_id}/servers/{server_id}/os-server-password", "NovaPasswordDeleteV2", "Nova: password delete", NOVA, false),
    op("GET", "/v2.1/{project_id}/os-keypairs", "NovaKeypairListV21", "Nova: keypair list", NOVA, false),
    op("GET", "/v2/{project_id}/os-keypairs", "NovaKeypairListV2", "Nova: keypair list", NOVA, false),
    op("POST", "/v2.1/{project_id}/os-keypairs", "NovaKeypairCreateV21", "Nova: keypair create", NOVA, false),
    op("POST", "/v2/{project_id}/os-keypairs", "NovaKeypairCreateV2", "Nova: keypair create", NOVA, false),
    op("GET", "/v2.1/{project_id}/os-keypairs/{keypair_name}", "NovaKeypairShowV21", "Nova: keypair show", NOVA, false),
    op("GET", "/v2/{project_id}/os-keypairs/{keypair_name}", "NovaKeypairShowV2", "Nova: keypair show", NOVA, false),
    op("DELETE", "/v2.1/{project_id}/os-keypairs/{keypair_name}", "NovaKeypairDeleteV21", "Nova: keypair delete", NOVA, false),
    op("DELETE", "/v2/{project_id}/os-keypairs/{keypair_name}", "NovaKeypairDeleteV2", "Nova: keypair delete", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/os-instance-actions", "NovaActionListV21", "Nova: action list", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/os-instance-actions", "NovaActionListV2", "Nova: action list", NOVA, false),
    op("GET", "/v2.1/{project_id}/servers/{server_id}/os-instance-actions/{request_id}", "NovaActionShowV21", "Nova: action show", NOVA, false),
    op("GET", "/v2/{project_id}/servers/{server_id}/os-instance-actions/{request_id}", "NovaActionShowV2", "Nova: action show", NOVA, false),
    op("GET", "/v2.1/{project_id}/os-server-groups", "NovaGroupListV21", "Nova: group list", NOVA, false),
    op("GET", "/v2/{project_id}/os-server-groups", "NovaGroupListV2", "Nova: group list", NOVA, false),
    op("POST", "/v2.1/{project_id}/os-server-groups", "NovaGroupCreateV21", "Nova: group create", NOVA, false),
    op("POST", "/v2/{project_id}/os-server-groups", "NovaGroupCreateV2", "Nova: group create", NOVA, false),
    op("GET", "/v2.1/{project_id}/os-server-groups/{server_group_id}", "NovaGroupShowV21", "Nova: group show", NOVA, false),
    op("GET", "/v2/{project_id}/os-server-groups/{server_group_id}", "NovaGroupShowV2", "Nova: group show", NOVA, false),
    op("DELETE", "/v2.1/{project_id}/os-server-groups/{server_group_id}", "NovaGroupDeleteV21", "Nova: group delete", NOVA, false),
    op("DELETE", "/v2/{project_id}/os-server-groups/{server_group_id}", "NovaGroupDeleteV2", "Nova: group delete", NOVA, false),
    op("GET", "/v2.1/{project_id}/os-quota-sets/{target_project_id}", "NovaQuotaShowV21", "Nova: quota show", NOVA, false),
    op("GET", "/v2/{project_id}/os-quota-sets/{target_project_id}", "NovaQuotaShowV2", "Nova: quota show", NOVA, false),
    op("GET", "/v2.1/{project_id}/os-quota-sets/{target_project_id}/defaults", "NovaQuotaDefaultsV21", "Nova: quota defaults", NOVA, false),
    op("GET", "/v2/{project_id}/os-quota-sets/{target_project_id}/defaults", "NovaQuotaDefaultsV2", "Nova: quota defaults", NOVA, false),
];

/// The Glance and Neutron reads the compute clients make (`api::nova::image_and_network_routes`).
#[rustfmt::skip]
pub const NOVA_IMAGES_AND_NETWORKS: &[Operation] = &[
    op("GET", "/image/v2/images", "GlanceImageList", "Glance: image list (read-only, for the compute clients)", IMAGES, false),
    op("GET", "/image/v2/images/{image_id}", "GlanceImageShow", "Glance: image show (read-only, for the compute clients)", IMAGES, false),
    op("GET", "/network/v2.0/networks", "NeutronNetworkList", "Neutron: network list (read-only, for the compute clients)", NETWORKS, false),
    op("GET", "/network/v2.0/networks/{network_id}", "NeutronNetworkShow", "Neutron: network show (read-only, for the compute clients)", NETWORKS, false),
    op("GET", "/network/v2.0/subnets", "NeutronSubnetList", "Neutron: subnet list (read-only, for the compute clients)", NETWORKS, false),
    op("GET", "/network/v2.0/subnets/{subnet_id}", "NeutronSubnetShow", "Neutron: subnet show (read-only, for the compute clients)", NETWORKS, false),
    op("GET", "/network/v2.0/ports", "NeutronPortList", "Neutron: port list (read-only, for the compute clients)", NETWORKS, false),
];

const fn open(path: &'static str, id: &'static str, summary: &'static str) -> Operation {
    Operation {
        method: "GET",
        path,
        id,
        summary,
        tag: DISCOVERY,
        access: Access::Open,
        job: false,
    }
}

/// The version documents, served without a token (`api::nova::discovery_routes`).
pub const DISCOVERY_DOCUMENTS: &[Operation] = &[
    open("/", "NovaListVersions", "Compute API versions"),
    open(
        "/{api_version}",
        "NovaShowVersion",
        "One API version's document (v2.1, v2, v3, image)",
    ),
    open(
        "/v2.1/",
        "NovaShowVersionV21",
        "The v2.1 compute version document",
    ),
    open(
        "/v2/",
        "NovaShowVersionV2",
        "The v2 compute version document",
    ),
    open(
        "/v3/",
        "KeystoneShowVersion",
        "The identity v3 version document",
    ),
    open("/image/", "GlanceListVersions", "The image API versions"),
];

/// Every table of operations ecsd serves. The one place to add a family of routes.
pub const TABLES: &[&[Operation]] = &[
    ECS,
    IDENTITY,
    ECSD,
    ADMIN,
    NOVA_COMPUTE,
    NOVA_IMAGES_AND_NETWORKS,
    DISCOVERY_DOCUMENTS,
];

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
