//! Fidelity: every operation ecsd implements answers its reference page's example requests in
//! the shape of the page's response parameter tables.
//!
//! The pages are read from the reference's facts (`tests/reference/pages.json`, see
//! `reference_data`), not from the reference itself: a page's examples, its response tables
//! (each field's name and type, whether its description mentions null, the fields of the table
//! it points to) and the keys its example response shows null.
//!
//! For each page that `coverage` classifies as implemented (the same probe, so the two cannot
//! disagree), each code block of "Example Request" is sent through [`Api::send`] as it is, after
//! the substitutions below, and the answer is checked against the page's "Response" tables: every
//! field of the first table (the top level) is present with the documented type, and for each
//! top-level field of type `Object` or `Array of objects`, every field of its own table (found
//! through the `:ref:` in its description) is present in it, or in every element of the array,
//! with its type. That is `server.*`, `servers[].*`, `flavors[].*`, `entities.*`.
//!
//! **Pages not implemented yet are skipped, and say so** ("skipped, not implemented: …" on
//! stdout, with `--nocapture`). When a route for them lands, their examples are checked from
//! then on without any change here; one that needs a substitution the rules below do not cover
//! fails with a message pointing at [`SUBSTITUTIONS`].
//!
//! Types: `String` is a JSON string; `Integer` and `Long` an integer; `Float`, `Double` and
//! `Number` any number; `Boolean` a boolean; `Object` and `Map<…>` an object; `Array…` and
//! `List…` an array (`Array of strings`: of strings, `Array of objects`: of objects). A type this
//! list does not know fails the page, so that a new spelling is looked at, not skipped.
//!
//! `null` is allowed for a field only where the reference says it may be null:
//! - its description says so (it mentions `null`, as `fault`'s "If the ECS status is normal,
//!   **NULL** is displayed": `null_mentioned` in the facts), or
//! - the page's example response shows that key as `null` (looked up by key, textually,
//!   because some example responses are not valid JSON: `querying_details_about_an_ecs.rst`
//!   misses a comma), or
//! - it is listed in [`ALLOWED_NULL`], with the reason.
//!
//! Every null that was allowed is printed, with the rule that allowed it.
//!
//! Substitutions (an example is sent as it is except for these):
//! - every page starts with one running server and one ECS group in the project, so that a
//!   list has an element to check (an empty array fails: its elements' fields could not be
//!   checked); fixture servers carry the tags of the tag pages' examples (`key1=value1`,
//!   `key2=value3`) and the metadata pair of the metadata pages' (`key=value`), so that tag
//!   lists have elements too;
//! - path placeholders: `{project_id}` is the test project; `{server_id}` a server created
//!   through the API beforehand (stopped first for the pages in [`NEEDS_STOPPED_SERVERS`]);
//!   `{job_id}` the job of such a create; `{volume_id}` the last volume attached to the server
//!   (fixture servers have a system disk and one data disk, so that is the data disk); `{key}`
//!   (a metadata key) `key`, which fixture servers have; `{server_group_id}` an ECS group
//!   created through the API beforehand;
//! - in the body of a page with `{server_group_id}`, `add_member.instance_uuid` becomes a
//!   stopped server (the add page: "The ECS to be added has been stopped") and
//!   `remove_member.instance_uuid` a stopped server added to the group first: the example's
//!   server does not exist;
//! - in the body, the ids of `servers[].id` (the batch and delete pages) become that many
//!   servers created beforehand: the examples' ids do not exist here, and one
//!   (`616fb98f-46ca-475e-917e-2563e5a8gh21`, deleting_ecss.rst) is not even a UUID;
//! - in the body of a page with `{server_id}`, the ids of `nics[].id` (the NICs to delete)
//!   become NICs added to that server through the API first: the example's port does not
//!   exist, and the primary NIC may not be deleted;
//! - the per-page values of [`SUBSTITUTIONS`] (each with its reason), where an example value
//!   contradicts its table or names something ecsd's simulated cloud does not have.
//!
//! The job of each asynchronous example must end in `SUCCESS` (the engine runs on the
//! `instant` profile and is drained).
//!
//! A page whose "Response" section is `None` (delete an ECS group, add and remove a member) has
//! no table to check the answer against: it must answer 204 with no body, or 200 where its
//! example response says "Status code 200" (add and remove a member).
//!
//! A create example with `"dry_run": true` answers 202 with nothing to check against the table
//! (the page: "If the check is successful, the system returns status code 202"), so only its
//! status is checked.
//!
//! A page whose "Response" section is `None` (no table) must answer each example 204 with no
//! body. A field of type `Object` whose description refers to no table is checked for its type
//! only if it is listed in [`FREE_FORM_OBJECTS`] (a map of the user's own keys), with the reason;
//! otherwise the missing table fails the page.
//!
//! An example block that lists the same request on several paths, one per line, is one example
//! per path.
//!
//! Fields a page lists but that are only present in some answers are listed in
//! [`CONDITIONAL_FIELDS`], with the condition; a stale entry (not in the table) fails.

use crate::coverage::{self, Routed};
use crate::http::Api;
use crate::reference::Part;
use crate::reference_data::{self, Field, Page};
use crate::support::{create_body, PROJECT};
use axum::http::{Method, StatusCode};
use engine::compute::LatencyProfile;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A value replaced in a page's examples: (page, JSON pointer, replacement, reason). A
/// pointer starting with `?` replaces a query parameter's value instead, and `path:TEXT`
/// replaces TEXT in the example's path.
const SUBSTITUTIONS: &[(&str, &str, &str, &str)] = &[
    (
        "apis_recommended/disk_management/querying_disk_attachment_of_an_ecs.rst",
        "path:4d8c3732-a248-40ed-bebc-539a6ffd25c0",
        "{server_id}",
        "the example request names a literal server id instead of the `{server_id}` placeholder",
    ),
    (
        "apis_recommended/lifecycle_management/creating_ecss.rst",
        "/server/imageRef",
        "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e",
        "the table asks for an image UUID; the first example's `imageid_123` is a placeholder",
    ),
    (
        "apis_recommended/lifecycle_management/creating_ecss.rst",
        "/server/availability_zone",
        "eu-de-01",
        "`az1-dc1` is not one of ecsd's availability zones",
    ),
    (
        "apis_recommended/status_management/modifying_the_specifications_of_an_ecs.rst",
        "/resize/flavorRef",
        "s3.medium.2",
        "`c3.15xlarge.2` is of another family than the fixture's s3.medium.1 (Ecs.0009); \
         s3.medium.2 is of its family",
    ),
    // Prepared for the attach page, which is not implemented yet (unused until then).
    (
        "apis_recommended/disk_management/attaching_a_disk_to_an_ecs.rst",
        "/volumeAttachment/device",
        "/dev/vdc",
        "on a KVM ECS `/dev/sd*` names become `/dev/vd*`, so the first example's `/dev/sda` is \
         the system disk's `/dev/vda`, which the table forbids (\"cannot be the same as an \
         existing one\"); `/dev/vdc` follows the fixture's data disk",
    ),
    (
        "apis_recommended/tag_management/querying_ecss_by_tag.rst",
        "/offset",
        "0",
        "the example starts after the first 100 servers; a fidelity project holds a few",
    ),
    (
        "apis_recommended/tag_management/querying_ecss_by_tag.rst",
        "/matches/0/value",
        "fidelity",
        "`ecs_test` names the example's server; the fixture server is named `fidelity`",
    ),
    (
        "apis_recommended/flavor_management/listing_flavor_details_and_extended_information.rst",
        "?availability_zone",
        "eu-de-01",
        "`availability_value` is a placeholder for an AZ name",
    ),
    (
        "native_openstack_nova_apis/metadata_management/obtaining_ecs_metadata_with_a_specified_key.rst",
        "path:metadata/key1",
        "metadata/key",
        "the fixture servers carry the metadata pair `key=value`; `key1` is not set",
    ),
    (
        "native_openstack_nova_apis/disk_management/attaching_an_ecs_data_disk.rst",
        "/volumeAttachment/device",
        "/dev/vdc",
        "the fixture server's data disk is `/dev/vdb`, which the page's example names",
    ),
    (
        "native_openstack_nova_apis/key_and_password_management/creating_and_importing_an_ssh_key_pair.rst",
        "/keypair/name",
        FRESH_UUID,
        "the page creates `demo1` and `demo` on two paths each; a name is taken once per project \
         (409), so each example gets a name of its own",
    ),
    (
        "native_openstack_nova_apis/key_and_password_management/creating_and_importing_an_ssh_key_pair.rst",
        "/keypair/public_key",
        FIXTURE_PUBLIC_KEY,
        "the example's key is elided with `*` and has no space after `ssh-rsa`: not a public key",
    ),
    (
        "native_openstack_nova_apis/disk_management/attaching_an_ecs_data_disk.rst",
        "/volumeAttachment/volumeId",
        FRESH_UUID,
        "the page attaches one disk on its two paths; a disk attached by the first is refused \
         by the second (Ecs.0103)",
    ),
    (
        "native_openstack_nova_apis/nic_management/adding_a_nic_to_an_ecs.rst",
        "/interfaceAttachment/fixed_ips/0/ip_address",
        "",
        "the page sends the same fixed IP on its two paths; in one project the second would \
         be refused as in use (Ecs.0010). An empty address lets ecsd choose one",
    ),
    (
        "native_openstack_nova_apis/security_group_management/adding_a_security_group.rst",
        "/addSecurityGroup/name",
        FIXTURE_SECURITY_GROUP,
        "ecsd's security groups are ids (the views show the id as the name); `sg-test` is a name",
    ),
    (
        "native_openstack_nova_apis/security_group_management/removing_a_security_group.rst",
        "/removeSecurityGroup/name",
        FIXTURE_SECURITY_GROUP,
        "as on adding_a_security_group.rst; the group is added to the server first",
    ),
    (
        "native_openstack_nova_apis/tag_management/adding_a_tag_to_an_ecs.rst",
        "path:{tag}",
        "fidelity-new",
        "a tag the fixture server does not have yet, so the answer is the page's 201",
    ),
];

/// The security group the security group pages use (added first for the removal).
const FIXTURE_SECURITY_GROUP: &str = "8e1f3c2a-4b5d-4e6f-9a7b-1c2d3e4f5a61";

/// A public key in the OpenSSH shape, for the key pair import example.
const FIXTURE_PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDkQ1mZlAy9sZ1eWz7cX0bPj3v4s8QHnGmJ4rVfZb0Yp fidelity";

/// A substitution value replaced by a UUID of its own for each example of the page.
const FRESH_UUID: &str = "{fresh_uuid}";

/// Native pages whose examples ecsd answers with a documented refusal (README, "OpenStack
/// clients"): each example must answer 501 `notImplemented`; no table is checked.
pub(crate) const REFUSED_PAGES: &[(&str, &str)] = &[];

/// Examples refused because of one field ecsd does not model: (page, JSON pointer that the
/// example's body has, reason). They must answer 400 `badRequest`; nothing else is checked.
const REFUSED_EXAMPLE_FIELDS: &[(&str, &str, &str)] = &[(
    "native_openstack_nova_apis/nic_management/adding_a_nic_to_an_ecs.rst",
    "/interfaceAttachment/port_id",
    "attaching an existing port: ports exist only as the NICs of servers",
)];

/// Pages whose response table lists the fields of an object the answer wraps: (page, the
/// wrapping key, reason). The table is checked against that object.
const WRAPPED_RESPONSES: &[(&str, &str, &str)] = &[(
    "native_openstack_nova_apis/status_management/rebuilding_an_ecs.rst",
    "server",
    "the table lists the server's fields; Nova (and the page's example response) wraps them in \
     `server`",
)];

/// Pages whose example requests the reference's facts could not read (`pages.json` holds the
/// problem instead of the examples): (page, reason). They are reported, not failed; their
/// operation is checked by its own tests.
const UNREADABLE_EXAMPLES: &[(&str, &str)] = &[(
    "native_openstack_nova_apis/lifecycle_management/creating_an_ecs.rst",
    "the example bodies carry `//` comments (not JSON); the create is checked by \
     nova_http::a_nova_create_with_the_clis_body_builds_a_server_seen_in_both_views",
)];

/// Native pages whose server must wait in VERIFY_RESIZE (confirm and revert a resize).
const NEEDS_VERIFY_RESIZE: &[&str] = &[
    "native_openstack_nova_apis/status_management/confirming_the_specifications_modification_of_an_ecs.rst",
    "native_openstack_nova_apis/status_management/rolling_back_ecs_specifications_modification.rst",
];

/// Pages whose servers must be stopped first (the operation requires it).
const NEEDS_STOPPED_SERVERS: &[&str] = &[
    "apis_recommended/batch_operations/starting_ecss_in_a_batch.rst",
    "apis_recommended/status_management/modifying_the_specifications_of_an_ecs.rst",
    "apis_recommended/status_management/cold_migrating_an_ecs.rst",
    "apis_recommended/status_management/reinstalling_an_ecs_os_using_an_image_with_cloud-init_installed.rst",
    "apis_recommended/status_management/changing_an_ecs_os_using_an_image_with_cloud-init_installed.rst",
    "native_openstack_nova_apis/status_management/starting_an_ecs.rst",
];

/// Fields a table lists that are present only in some answers: (page, field, condition).
const CONDITIONAL_FIELDS: &[(&str, &str, &str)] = &[
    (
        "apis_recommended/job_status_management/querying_job_execution_status.rst",
        "message",
        "only when the query itself fails, and that answer is the error envelope \
         (ARCHITECTURE.md; ASYNC-OPERATIONS.md §1.6)",
    ),
    (
        "apis_recommended/job_status_management/querying_job_execution_status.rst",
        "code",
        "only when the query itself fails, as `message`",
    ),
    (
        "apis_recommended/job_status_management/querying_job_execution_status.rst",
        "entities.server_id",
        "\"If the job is an ECS-related operation\"; a create job has sub_jobs instead \
         (the page's own example has no entities.server_id)",
    ),
    (
        "apis_recommended/job_status_management/querying_job_execution_status.rst",
        "entities.nic_id",
        "\"If the job is a NIC-related operation\"",
    ),
    (
        "native_openstack_nova_apis/api_version_query/querying_a_specified_api_version.rst",
        "versions",
        "the table names `versions`, but the page's example answers `version` (Nova's shape); a \
         `versions` object would break keystoneauth's discovery, which reads `versions` as a list",
    ),
    (
        "native_openstack_nova_apis/key_and_password_management/creating_and_importing_an_ssh_key_pair.rst",
        "keypair.private_key",
        "the page: \"not contained in the response for importing an SSH key\"; only a \
         created (generated) pair has it",
    ),
    (
        "native_openstack_nova_apis/status_management/creating_an_image_using_an_ecs.rst",
        "Location",
        "a response header (the table lists it beside the body's image_id); checked by \
         nova_http::create_image_makes_a_private_image_the_glance_reads_show",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/listing_ecss.rst",
        "servers_links",
        "only when more servers follow (Nova; the SDK follows a `next` link whenever there is one)",
    ),
    (
        "native_openstack_nova_apis/network_management/querying_the_specified_network_of_an_ecs.rst",
        "Network address of the ECS",
        "the row names the key's meaning: the key is the network's name (the path's)",
    ),
    (
        "native_openstack_nova_apis/flavor_management/listing_ecs_flavors.rst",
        "flavors_links",
        "only when more flavors follow (limit given), as servers_links",
    ),
    (
        "native_openstack_nova_apis/flavor_management/listing_flavor_details_about_an_ecs.rst",
        "flavors_links",
        "as on listing_ecs_flavors.rst",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/listing_ecs_details.rst",
        "servers_links",
        "as on listing_ecss.rst",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/listing_ecs_details.rst",
        "servers.fault",
        "Nova shows `fault` only for a server that has one (ERROR); OSC prints it only then",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/querying_details_about_an_ecs.rst",
        "server.fault",
        "as servers.fault on listing_ecs_details.rst",
    ),
    (
        "native_openstack_nova_apis/network_management/querying_the_networks_of_a_specified_ecs.rst",
        "addresses.Network address of the ECS",
        "the table's row names the key's meaning: the key is the network's name (the VPC id, as \
         in the server views)",
    ),
    (
        "apis_recommended/ecs_group_management/listing_ecs_groups.rst",
        "page_info",
        "\"If the pagination function is enabled\" (limit given, another page follows); the \
         page's example response has none",
    ),
];

/// Types where a page's table contradicts both its own example response and the official SDK's
/// model, which clients decode with: (page, field, the type checked instead, reason).
const TYPE_OVERRIDES: &[(&str, &str, &str, &str)] = &[
    (
        "native_openstack_nova_apis/status_management/rebuilding_an_ecs.rst",
        "addresses",
        "Object",
        "the table says Array of objects; every server view (this page's example too) has an \
         object keyed by network",
    ),
    (
        "native_openstack_nova_apis/status_management/rebuilding_an_ecs.rst",
        "progress",
        "Integer",
        "the table says String; Nova's and the other server tables' `progress` is an integer",
    ),
    (
        "native_openstack_nova_apis/api_version_query/listing_api_versions.rst",
        "versions",
        "Array of objects",
        "the table says Object, but the example response is a list of versions, as Nova's and \
         as keystoneauth reads it",
    ),
    (
        "native_openstack_nova_apis/api_version_query/listing_api_versions.rst",
        "versions.links",
        "Array of objects",
        "the table says Object, but the example is a list of links, as keystoneauth reads it",
    ),
    (
        "apis_recommended/disk_management/querying_disk_attachment_of_an_ecs.rst",
        "volumeAttachments.bootIndex",
        "Integer",
        "as on querying_a_single_disk_attached_to_an_ecs.rst: the table says Boolean, its text, \
         its example (0, 1) and the SDK say Integer",
    ),
    (
        "apis_recommended/disk_management/querying_a_single_disk_attached_to_an_ecs.rst",
        "volumeAttachment.bootIndex",
        "Integer",
        "the table says Boolean, but its own text (\"0 indicates the system disk, a non-zero \
         value a data disk\"), the example (\"bootIndex\": 0) and the SDK's ServerBlockDevice \
         (boot_index: int) say Integer",
    ),
    (
        "apis_recommended/flavor_management/querying_the_target_flavors_to_which_an_ecs_flavor_can_be_changed.rst",
        "flavors.vcpus",
        "String",
        "the table says Integer, but the example has \"vcpus\": \"60\" and the Python SDK's \
         ListResizeFlavorsResult declares vcpus: str",
    ),
    (
        "apis_recommended/flavor_management/querying_the_target_flavors_to_which_an_ecs_flavor_can_be_changed.rst",
        "flavors.disk",
        "String",
        "the table says Integer, but the example has \"disk\": \"0\" and the SDK declares \
         disk: str",
    ),
    (
        "apis_recommended/flavor_management/querying_the_target_flavors_to_which_an_ecs_flavor_can_be_changed.rst",
        "flavors.extra_specs",
        "Object",
        "the table says Array of objects, but the example is one object of key/value pairs and \
         the SDK declares extra_specs: FlavorExtraSpec (an object)",
    ),
];

/// Fields of type `Object` (or `Array of objects`) without a table of their own, because their
/// keys are the user's or the page gives none: (page, field, reason). Only their type is
/// checked.
const FREE_FORM_OBJECTS: &[(&str, &str, &str)] = &[
    (
        "native_openstack_nova_apis/status_management/rebuilding_an_ecs.rst",
        "addresses",
        "the page gives no table for it; its keys are network names (the server views' shape)",
    ),
    (
        "native_openstack_nova_apis/status_management/rebuilding_an_ecs.rst",
        "flavor",
        "the page gives no table for it; the server views' flavor",
    ),
    (
        "native_openstack_nova_apis/status_management/rebuilding_an_ecs.rst",
        "image",
        "the page gives no table for it; the server views' image",
    ),
    (
        "native_openstack_nova_apis/status_management/rebuilding_an_ecs.rst",
        "links",
        "the page gives no table for it; the server views' links",
    ),
    (
        "native_openstack_nova_apis/status_management/rebuilding_an_ecs.rst",
        "metadata",
        "the user's metadata pairs: its keys are whatever the user set",
    ),
    (
        "apis_recommended/metadata_management/updating_ecs_metadata.rst",
        "metadata",
        "\"the user-defined metadata key-value pair\": its keys are whatever the user set",
    ),
    (
        "native_openstack_nova_apis/metadata_management/updating_ecs_metadata.rst",
        "metadata",
        "the user's metadata pairs: its keys are whatever the user set",
    ),
    (
        "native_openstack_nova_apis/metadata_management/obtaining_ecs_metadata_with_a_specified_key.rst",
        "meta",
        "one metadata pair: its key is the path's",
    ),
    (
        "native_openstack_nova_apis/metadata_management/querying_ecs_metadata.rst",
        "metadata",
        "the server's metadata pairs: its keys are whatever was set",
    ),
    (
        "native_openstack_nova_apis/metadata_management/configuring_ecs_metadata.rst",
        "metadata",
        "the user's metadata pairs: its keys are whatever the user set",
    ),
    (
        "native_openstack_nova_apis/metadata_management/modifying_ecs_metadata_with_a_specified_key.rst",
        "meta",
        "one metadata pair: its key is the path's",
    ),
];

/// Nulls allowed where the reference is silent: (page, field, reason).
const ALLOWED_NULL: &[(&str, &str, &str)] = &[
    (
        "native_openstack_nova_apis/lifecycle_management/querying_details_about_an_ecs.rst",
        "server.key_name",
        "as on the recommended querying_details_about_an_ecs.rst",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/querying_details_about_an_ecs.rst",
        "server.OS-EXT-STS:task_state",
        "a server with no task under way; Nova shows null (OSC's waits read it)",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/querying_details_about_an_ecs.rst",
        "server.OS-SRV-USG:terminated_at",
        "a server that is not deleted; Nova shows null",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/querying_details_about_an_ecs.rst",
        "server.OS-EXT-SRV-ATTR:user_data",
        "the fixture server has no user_data, as on the recommended listing_details_about_ecss.rst",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/listing_ecs_details.rst",
        "servers.OS-EXT-SRV-ATTR:user_data",
        "as server.OS-EXT-SRV-ATTR:user_data on querying_details_about_an_ecs.rst",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/listing_ecs_details.rst",
        "servers.key_name",
        "as server.key_name on querying_details_about_an_ecs.rst",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/listing_ecs_details.rst",
        "servers.OS-EXT-STS:task_state",
        "as server.OS-EXT-STS:task_state on querying_details_about_an_ecs.rst",
    ),
    (
        "native_openstack_nova_apis/lifecycle_management/listing_ecs_details.rst",
        "servers.OS-SRV-USG:terminated_at",
        "as server.OS-SRV-USG:terminated_at on querying_details_about_an_ecs.rst",
    ),
    (
        "apis_recommended/lifecycle_management/querying_details_about_an_ecs.rst",
        "server.key_name",
        "the fixture server has no key pair (key_name is optional at create); the reference \
         does not say what is shown then, and Nova shows null",
    ),
    (
        "apis_recommended/lifecycle_management/listing_details_about_ecss.rst",
        "servers.key_name",
        "as server.key_name on querying_details_about_an_ecs.rst",
    ),
    (
        "apis_recommended/lifecycle_management/listing_details_about_ecss.rst",
        "servers.OS-SRV-USG:terminated_at",
        "the same server table's example on querying_details_about_an_ecs.rst shows it null \
         (this page's example leaves the field out)",
    ),
    (
        "apis_recommended/lifecycle_management/listing_details_about_ecss.rst",
        "servers.OS-EXT-SRV-ATTR:user_data",
        "the fixture server has no user_data; the same server table's example on \
         querying_details_about_an_ecs.rst shows it null then",
    ),
];

#[tokio::test]
async fn every_implemented_operation_answers_its_examples_in_the_documented_shape() {
    let mut pages =
        reference_data::pages(Part::Recommended).expect("tests/reference/pages.json is readable");
    pages.extend(
        reference_data::pages(Part::Native).expect("tests/reference/pages.json is readable"),
    );
    let mut failures = Vec::new();
    let mut checked = Vec::new();
    let mut skipped = 0;
    let mut notes = BTreeSet::new();
    for page in pages.iter().filter(|page| !page.uris.is_empty()) {
        // A fresh ecsd per page: no state carries over from one page to the next.
        let api = Api::new(LatencyProfile::Instant);
        let mut implemented = true;
        for uri in &page.uris {
            implemented &= coverage::probe(&api, uri).await.0 == Routed::Yes;
        }
        if !implemented {
            println!("skipped, not implemented: {}", page.file);
            skipped += 1;
            continue;
        }
        let before = failures.len();
        check_page(&api, page, &mut failures, &mut notes).await;
        let verdict = if failures.len() == before {
            "ok"
        } else {
            "FAILED"
        };
        println!("checked: {} ({verdict})", page.file);
        checked.push(page.file.as_str());
    }
    for note in &notes {
        println!("allowed: {note}");
    }
    println!(
        "fidelity: {} pages checked, {skipped} skipped as not implemented",
        checked.len()
    );
    for (page, field, _) in CONDITIONAL_FIELDS.iter().chain(ALLOWED_NULL) {
        assert!(
            pages.iter().any(|candidate| candidate.file == *page),
            "fidelity.rs names {page} (for {field}), which is not in the reference"
        );
    }
    assert!(
        checked.contains(&"apis_recommended/lifecycle_management/creating_ecss.rst"),
        "create is implemented and must have been checked: {checked:?}"
    );
    assert!(
        failures.is_empty(),
        "{} fidelity failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Sends each example of `page` and checks the answers; problems go to `failures`.
async fn check_page(
    api: &Api,
    page: &Page,
    failures: &mut Vec<String>,
    notes: &mut BTreeSet<String>,
) {
    let examples = match page.example_requests() {
        Ok(examples) => examples,
        Err(problem) => {
            if let Some((_, reason)) = UNREADABLE_EXAMPLES
                .iter()
                .find(|(file, _)| *file == page.file)
            {
                println!("unreadable examples: {} ({reason}): {problem}", page.file);
                return;
            }
            return failures.push(problem);
        }
    };
    let refused = REFUSED_PAGES.iter().any(|(file, _)| *file == page.file);
    let tables = &page.response_tables;
    let no_response = tables.is_empty() && page.response_none;
    let top = match tables.first() {
        Some(top) => Some(top.as_slice()),
        None if no_response => None,
        None => return failures.push(format!("{}: no response parameter table found", page.file)),
    };
    let null_keys = &page.example_response_null_keys;
    // One server and one group in the project before any example, so that lists have an
    // element to check.
    servers(api, 1, false).await;
    server_group(api).await;
    let mut used = vec![false; SUBSTITUTIONS.len()];
    for (index, example) in examples.iter().enumerate() {
        let label = format!("{} (example {})", page.file, index + 1);
        let mut body = example.body.clone();
        let mut path_and_query = example.path_and_query.clone();
        for (position, (file, pointer, value, _)) in SUBSTITUTIONS.iter().enumerate() {
            if *file != page.file {
                continue;
            }
            if let Some(text) = pointer.strip_prefix("path:") {
                if path_and_query.contains(text) {
                    path_and_query = path_and_query.replace(text, value);
                    used[position] = true;
                }
            } else if let Some(parameter) = pointer.strip_prefix('?') {
                if let Some(replaced) = replace_query_value(&path_and_query, parameter, value) {
                    path_and_query = replaced;
                    used[position] = true;
                }
            } else if let Some(slot) = body.as_mut().and_then(|body| body.pointer_mut(pointer)) {
                *slot = if *value == FRESH_UUID {
                    Value::from(format!("6d4e1a52-1b8c-4f0e-a1d7-{index:012}"))
                } else {
                    Value::from(*value)
                };
                used[position] = true;
            }
        }
        if page.file.starts_with("native_openstack_nova_apis/") {
            path_and_query = native_placeholders(&path_and_query);
        }
        let stopped = NEEDS_STOPPED_SERVERS.contains(&page.file.as_str());
        let (path, path_server, path_group) = match fill_path(api, &path_and_query, stopped).await {
            Ok(filled) => filled,
            Err(problem) => {
                failures.push(format!("{label}: {problem}; add a rule to SUBSTITUTIONS"));
                continue;
            }
        };
        if let Some(body) = body.as_mut() {
            let wanted = count_server_ids(body);
            if wanted > 0 {
                let ids = servers(api, wanted, stopped).await;
                replace_server_ids(body, &mut ids.into_iter());
            }
            if let Some(server_id) = &path_server {
                if let Err(problem) = replace_nic_ids(api, body, server_id).await {
                    failures.push(format!("{label}: {problem}"));
                    continue;
                }
            }
            if let Some(group_id) = &path_group {
                replace_member_ids(api, body, group_id).await;
            }
        }
        if let (true, Some(server_id)) = (
            NEEDS_VERIFY_RESIZE.contains(&page.file.as_str()),
            &path_server,
        ) {
            resize_to_verify(api, server_id).await;
        }
        if let (true, Some(server_id)) = (
            page.file
                .ends_with("security_group_management/removing_a_security_group.rst"),
            &path_server,
        ) {
            let (status, answer) = api
                .post(
                    &format!("/v2.1/{PROJECT}/servers/{server_id}/action"),
                    &json!({ "addSecurityGroup": { "name": FIXTURE_SECURITY_GROUP } }),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::ACCEPTED,
                "adding the group to remove: {answer}"
            );
        }
        let method = Method::from_bytes(example.method.as_bytes()).unwrap_or(Method::GET);
        let (status, answer) = match &body {
            Some(body) => {
                api.send(method, &path, Some("application/json"), body.to_string())
                    .await
            }
            None => api.send(method, &path, None, "").await,
        };
        let dry_run = body
            .as_ref()
            .is_some_and(|body| body["dry_run"] == Value::Bool(true));
        if dry_run {
            if status != StatusCode::ACCEPTED {
                failures.push(format!(
                    "{label}: a passing dry run answers 202, got {status}: {answer}"
                ));
            }
            continue;
        }
        let refused_field = REFUSED_EXAMPLE_FIELDS.iter().find(|(file, pointer, _)| {
            *file == page.file
                && body
                    .as_ref()
                    .and_then(|body| body.pointer(pointer))
                    .is_some()
        });
        if refused_field.is_some() {
            if status != StatusCode::BAD_REQUEST || answer.get("badRequest").is_none() {
                failures.push(format!(
                    "{label}: a refused field answers 400 badRequest; got {status}: {answer}"
                ));
            }
            continue;
        }
        if refused {
            if status != StatusCode::NOT_IMPLEMENTED || answer.get("notImplemented").is_none() {
                failures.push(format!(
                    "{label}: a refused page answers 501 notImplemented; got {status}: {answer}"
                ));
            }
            continue;
        }
        if !status.is_success() {
            failures.push(format!(
                "{label}: {} {path} answered {status}: {answer} (if the example is not valid \
                 here, add a substitution to SUBSTITUTIONS with the reason)",
                example.method
            ));
            continue;
        }
        let Some(top) = top else {
            // "Response: None": no fields to check. 204 with no body where the page gives no
            // status, 200 where its example response says "Status code 200" (add and remove
            // an ECS group member).
            let says_200 = page.example_response_status == Some(200);
            let expected = if says_200 {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            };
            // Nova's server actions answer 202 with no body (OPENSTACK-CLIENT.md §8.5).
            let nova_action = page.file.starts_with("native_openstack_nova_apis/")
                && status == StatusCode::ACCEPTED
                && answer.is_null();
            if status != expected && !nova_action {
                failures.push(format!(
                    "{label}: the page's response is None, so {expected}; got {status}: {answer}"
                ));
            }
            continue;
        };
        let checked = match WRAPPED_RESPONSES
            .iter()
            .find(|(file, _, _)| *file == page.file)
        {
            Some((_, key, _)) => answer.get(*key).cloned().unwrap_or(Value::Null),
            None => answer.clone(),
        };
        check_fields(page, &label, top, &checked, "", null_keys, failures, notes);
        if page.is_async {
            check_job_succeeds(api, &label, &answer, failures).await;
        }
    }
    for (position, (file, pointer, _, _)) in SUBSTITUTIONS.iter().enumerate() {
        if *file == page.file && !used[position] {
            failures.push(format!(
                "{}: the substitution of {pointer} matches no example (stale?)",
                page.file
            ));
        }
    }
    let overridden = TYPE_OVERRIDES
        .iter()
        .map(|(file, field, _, reason)| (*file, *field, *reason));
    for (file, field, _) in CONDITIONAL_FIELDS
        .iter()
        .copied()
        .chain(ALLOWED_NULL.iter().copied())
        .chain(FREE_FORM_OBJECTS.iter().copied())
        .chain(overridden)
    {
        if file == page.file && !top.is_some_and(|top| table_lists(top, field)) {
            failures.push(format!(
                "{}: fidelity.rs names the field {field}, which its tables do not list (stale?)",
                page.file
            ));
        }
    }
}

/// An asynchronous page's example is a valid request, so its job must end in `SUCCESS` ("The
/// SUCCESS status indicates that the … is successful", on each of those pages).
async fn check_job_succeeds(api: &Api, label: &str, answer: &Value, failures: &mut Vec<String>) {
    let Some(job_id) = answer["job_id"].as_str() else {
        return; // the missing job_id is already reported by the field check
    };
    api.harness.drain().await;
    let (status, job) = api.get(&format!("/v1/{PROJECT}/jobs/{job_id}")).await;
    if status != StatusCode::OK || job["status"] != "SUCCESS" {
        failures.push(format!(
            "{label}: the job {job_id} did not end in SUCCESS: {status} {job}"
        ));
    }
}

/// Whether `field` (`name` or `name.sub`) is in `top` or one level down.
fn table_lists(top: &[Field], field: &str) -> bool {
    let (head, rest) = match field.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (field, None),
    };
    top.iter().any(|row| {
        row.name == head
            && match rest {
                None => true,
                Some(rest) => sub_table(row).is_some_and(|t| t.iter().any(|r| r.name == rest)),
            }
    })
}

/// The fields of the table that describes `row` (an object or array of objects), which its
/// description points to.
fn sub_table(row: &Field) -> Option<&[Field]> {
    row.fields.as_deref()
}

/// Checks every row of `table` against `object`; descends one level (only from the top).
#[allow(clippy::too_many_arguments)]
fn check_fields(
    page: &Page,
    label: &str,
    table: &[Field],
    object: &Value,
    prefix: &str,
    null_keys: &BTreeSet<String>,
    failures: &mut Vec<String>,
    notes: &mut BTreeSet<String>,
) {
    for row in table {
        let field = format!("{prefix}{}", row.name);
        let field_key = field.replace("[]", "");
        let Some(value) = object.get(&row.name) else {
            let conditional = CONDITIONAL_FIELDS
                .iter()
                .any(|(file, name, _)| *file == page.file && *name == field_key);
            if !conditional {
                failures.push(format!(
                    "{label}: field `{field}` is missing (expected {})",
                    row.kind
                ));
            }
            continue;
        };
        if value.is_null() {
            match null_allowance(page, row, &field_key, null_keys) {
                Some(reason) => {
                    notes.insert(format!("{}: `{field}` null ({reason})", page.file));
                }
                None => failures.push(format!(
                    "{label}: field `{field}` is null, expected {} (the reference does not say \
                     it may be null)",
                    row.kind
                )),
            }
            continue;
        }
        let kind = match TYPE_OVERRIDES
            .iter()
            .find(|(file, name, _, _)| *file == page.file && *name == field_key)
        {
            Some((_, _, kind, reason)) => {
                notes.insert(format!(
                    "{}: `{field}` checked as {kind} ({reason})",
                    page.file
                ));
                (*kind).to_owned()
            }
            None => row.kind.clone(),
        };
        match kind_matches(&kind, value) {
            Ok(true) => {}
            Ok(false) => failures.push(format!(
                "{label}: field `{field}`: expected {kind}, got {} ({value})",
                json_kind(value)
            )),
            Err(()) => failures.push(format!(
                "{label}: field `{field}`: the type {:?} is not one fidelity.rs knows",
                row.kind
            )),
        }
        if !prefix.is_empty() {
            continue;
        }
        let descends = row.kind == "Object" || row.kind == "Array of objects";
        if !descends {
            continue;
        }
        let free_form = FREE_FORM_OBJECTS
            .iter()
            .find(|(file, name, _)| *file == page.file && *name == field_key);
        if let Some((_, _, reason)) = free_form {
            notes.insert(format!(
                "{}: `{field}` checked for its type only ({reason})",
                page.file
            ));
            continue;
        }
        let Some(sub) = sub_table(row) else {
            failures.push(format!(
                "{label}: cannot find the table that describes `{field}` (its description has \
                 no :ref: to a parameter table)"
            ));
            continue;
        };
        match value {
            Value::Object(_) => check_fields(
                page,
                label,
                sub,
                value,
                &format!("{field}."),
                null_keys,
                failures,
                notes,
            ),
            Value::Array(items) if items.is_empty() => failures.push(format!(
                "{label}: `{field}` is an empty array, so `{field}[].*` cannot be checked"
            )),
            Value::Array(items) => {
                for item in items {
                    check_fields(
                        page,
                        label,
                        sub,
                        item,
                        &format!("{field}[]."),
                        null_keys,
                        failures,
                        notes,
                    );
                }
            }
            _ => {}
        }
    }
}

/// Why `null` is allowed for this field, or `None`.
fn null_allowance(
    page: &Page,
    row: &Field,
    field: &str,
    null_keys: &BTreeSet<String>,
) -> Option<String> {
    if row.null_mentioned {
        return Some("its description mentions null".into());
    }
    if null_keys.contains(&row.name) {
        return Some("the page's example response shows it null".into());
    }
    ALLOWED_NULL
        .iter()
        .find(|(file, name, _)| *file == page.file && *name == field)
        .map(|(_, _, reason)| (*reason).to_owned())
}

/// `Ok(true)` if `value` has the documented type, `Err` if the type is not known.
fn kind_matches(kind: &str, value: &Value) -> Result<bool, ()> {
    let lower = kind.to_ascii_lowercase();
    let matches = match lower.as_str() {
        "string" => value.is_string(),
        "integer" | "long" | "int" => value.is_i64() || value.is_u64(),
        "float" | "double" | "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        _ if lower.starts_with("map") => value.is_object(),
        "array of strings" | "list of strings" => value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string)),
        "array of objects" | "list of objects" => value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_object)),
        _ if lower.starts_with("array") || lower.starts_with("list") => value.is_array(),
        _ => return Err(()),
    };
    Ok(matches)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "Boolean",
        Value::Number(number) if number.is_f64() => "Float",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// `path?a=b` with the value of `parameter` replaced, or `None` if it has no such parameter.
fn replace_query_value(path_and_query: &str, parameter: &str, value: &str) -> Option<String> {
    let (path, query) = path_and_query.split_once('?')?;
    let mut found = false;
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key == parameter => {
                found = true;
                format!("{key}={value}")
            }
            _ => pair.to_owned(),
        })
        .collect();
    found.then(|| format!("{path}?{}", pairs.join("&")))
}

/// How many `servers[].id` the body names.
fn count_server_ids(value: &Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(key, inner)| match (key.as_str(), inner) {
                ("servers", Value::Array(items)) => {
                    items.iter().filter(|item| item.get("id").is_some()).count()
                }
                _ => count_server_ids(inner),
            })
            .sum(),
        Value::Array(items) => items.iter().map(count_server_ids).sum(),
        _ => 0,
    }
}

fn replace_server_ids(value: &mut Value, ids: &mut impl Iterator<Item = String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                match (key.as_str(), inner) {
                    ("servers", Value::Array(items)) => {
                        for item in items {
                            if let (Some(slot), Some(id)) = (item.get_mut("id"), ids.next()) {
                                *slot = Value::from(id);
                            }
                        }
                    }
                    (_, inner) => replace_server_ids(inner, ids),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                replace_server_ids(item, ids);
            }
        }
        _ => {}
    }
}

/// Creates `count` servers (one data disk each) through the API and runs their jobs (and a
/// stop, if `stopped`).
async fn servers(api: &Api, count: usize, stopped: bool) -> Vec<String> {
    let mut body = create_body("fidelity", u32::try_from(count).expect("a few servers"));
    body["server"]["data_volumes"] = json!([{ "volumetype": "SSD", "size": 10 }]);
    body["server"]["server_tags"] =
        json!([{ "key": "key1", "value": "value1" }, { "key": "key2", "value": "value3" }]);
    body["server"]["metadata"] = json!({ "key": "value" });
    let (status, created) = api
        .post(&format!("/v1/{PROJECT}/cloudservers"), &body)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "creating the fixture servers: {created}"
    );
    api.harness.drain().await;
    let ids: Vec<String> = created["serverIds"]
        .as_array()
        .expect("serverIds")
        .iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    if stopped {
        let servers: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
        let (status, body) = api
            .post(
                &format!("/v1/{PROJECT}/cloudservers/action"),
                &json!({ "os-stop": { "servers": servers } }),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "stopping the fixture servers: {body}"
        );
        api.harness.drain().await;
    }
    ids
}

/// The example's path with its placeholders filled (see the module comment).
async fn fill_path(
    api: &Api,
    path_and_query: &str,
    stopped: bool,
) -> Result<(String, Option<String>, Option<String>), String> {
    let mut path = path_and_query.replace("{project_id}", PROJECT);
    let mut path_server = None;
    let mut path_group = None;
    if path.contains("{server_group_id}") {
        let group_id = server_group(api).await;
        path = path.replace("{server_group_id}", &group_id);
        path_group = Some(group_id);
    }
    if path.contains("{server_id}") || path.contains("{volume_id}") {
        let server_id = servers(api, 1, stopped).await.remove(0);
        path_server = Some(server_id.clone());
        if path.contains("{volume_id}") {
            let (_, shown) = api
                .get(&format!("/v1/{PROJECT}/cloudservers/{server_id}"))
                .await;
            let volume_id = shown["server"]["os-extended-volumes:volumes_attached"]
                .as_array()
                .and_then(|volumes| volumes.last())
                .and_then(|volume| volume["id"].as_str())
                .ok_or("the fixture server shows no attached volume for {volume_id}")?
                .to_owned();
            path = path.replace("{volume_id}", &volume_id);
        }
        path = path.replace("{server_id}", &server_id);
        if path.contains("os-instance-actions") {
            // Instance actions are recorded by Nova requests: reboot the fixture through Nova.
            let request_id = nova_reboot(api, &server_id).await?;
            path = path.replace("{request_id}", &request_id);
        }
        if path.contains("{port_id}") {
            let port = added_port(api, &server_id).await?;
            path = path.replace("{port_id}", &port);
        }
    }
    path = path.replace("{key}", "key");
    if path.contains("os-keypairs") {
        // A key pair to list, show or delete (already there for a page's second path).
        let (status, answer) = api
            .post(
                &format!("/v2.1/{PROJECT}/os-keypairs"),
                &json!({ "keypair": { "name": "fidelity-key", "public_key": FIXTURE_PUBLIC_KEY } }),
            )
            .await;
        if status != StatusCode::OK && status != StatusCode::CONFLICT {
            return Err(format!("creating the key pair answered {status}: {answer}"));
        }
        path = path.replace("{keypair_name}", "fidelity-key");
    }
    // A tag the fixture servers have, as Nova shows an ECS `key=value` tag.
    path = path.replace("{tag}", "key1=value1");
    // The fixture servers' network: the VPC their addresses are keyed by.
    path = path.replace("{networkName}", FIXTURE_VPC);
    if path.contains("{flavor_id}") {
        let catalogue = engine::flavors::FlavorCatalogue::builtin();
        let flavor = catalogue
            .all()
            .first()
            .ok_or("the catalogue has no flavor")?;
        path = path.replace("{flavor_id}", &flavor.id);
    }
    if path.contains("{job_id}") {
        let created = api.create("fidelity-job", 1).await;
        api.harness.drain().await;
        let job_id = created["job_id"].as_str().expect("job_id").to_owned();
        path = path.replace("{job_id}", &job_id);
    }
    match path.find('{') {
        Some(open) => Err(format!(
            "no rule fills the placeholder {} of {path_and_query}",
            &path[open..=path[open..].find('}').map_or(open, |close| open + close)]
        )),
        None => Ok((path, path_server, path_group)),
    }
}

/// The VPC of the fixture servers (`support::create_body`).
const FIXTURE_VPC: &str = "3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11";

/// The native pages' examples name literal ids where the recommended pages have placeholders:
/// the project after `/v2` or `/v2.1` (and in `os-quota-sets`), the server after `servers`,
/// the flavor after `flavors`. They become placeholders, which [`fill_path`] fills.
fn native_placeholders(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let is_project =
        |segment: &str| segment.len() == 32 && segment.bytes().all(|byte| byte.is_ascii_hexdigit());
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    for (index, segment) in segments.iter().enumerate() {
        let previous = index.checked_sub(1).map_or("", |before| segments[before]);
        let replaced = match previous {
            "v2" | "v2.1" | "os-quota-sets" if is_project(segment) => "{project_id}",
            "servers" if is_uuid(segment) => "{server_id}",
            "os-server-groups" if is_uuid(segment) => "{server_group_id}",
            "os-volume_attachments" if is_uuid(segment) => "{volume_id}",
            "os-instance-actions" if !segment.is_empty() => "{request_id}",
            "os-keypairs" if !segment.is_empty() => "{keypair_name}",
            "flavors" if !segment.starts_with('{') && *segment != "detail" => "{flavor_id}",
            _ => segment,
        };
        out.push(replaced);
    }
    let path = out.join("/");
    match query {
        Some(query) => format!("{path}?{query}"),
        None => path,
    }
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(index, c)| match index {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Resizes `server_id` through Nova to a target the catalogue allows and runs the job, so the
/// server waits in VERIFY_RESIZE.
async fn resize_to_verify(api: &Api, server_id: &str) {
    let (_, shown) = api
        .get(&format!("/v2.1/{PROJECT}/servers/{server_id}"))
        .await;
    let catalogue = engine::flavors::FlavorCatalogue::builtin();
    let source = catalogue
        .get(shown["server"]["flavor"]["id"].as_str().unwrap_or_default())
        .expect("the fixture's flavor is in the catalogue");
    let target = catalogue
        .resize_targets(source)
        .first()
        .map(|flavor| flavor.id.clone())
        .expect("the fixture's flavor has a resize target");
    let (status, body) = api
        .post(
            &format!("/v2.1/{PROJECT}/servers/{server_id}/action"),
            &json!({ "resize": { "flavorRef": target } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "resizing the fixture: {body}");
    api.harness.drain().await;
}

/// Reboots `server_id` through Nova and runs the job; the request id of the action.
async fn nova_reboot(api: &Api, server_id: &str) -> Result<String, String> {
    let (status, answer) = api
        .post(
            &format!("/v2.1/{PROJECT}/servers/{server_id}/action"),
            &json!({ "reboot": { "type": "SOFT" } }),
        )
        .await;
    if status != StatusCode::ACCEPTED {
        return Err(format!("a Nova reboot answered {status}: {answer}"));
    }
    api.harness.drain().await;
    let (_, actions) = api
        .get(&format!(
            "/v2.1/{PROJECT}/servers/{server_id}/os-instance-actions"
        ))
        .await;
    actions["instanceActions"][0]["request_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no instance action recorded: {actions}"))
}

/// A NIC added to `server_id` through the ECS API (not the primary one, which may not be
/// detached); its port id.
async fn added_port(api: &Api, server_id: &str) -> Result<String, String> {
    let before = port_ids(api, server_id).await;
    let subnet = &create_body("unused", 1)["server"]["nics"][0]["subnet_id"];
    let (status, answer) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/{server_id}/nics"),
            &json!({ "nics": [{ "subnet_id": subnet }] }),
        )
        .await;
    if status != StatusCode::OK {
        return Err(format!("adding a NIC answered {status}: {answer}"));
    }
    api.harness.drain().await;
    port_ids(api, server_id)
        .await
        .difference(&before)
        .next()
        .cloned()
        .ok_or_else(|| "the added NIC does not show".to_owned())
}

/// An ECS group created through the API; its id.
async fn server_group(api: &Api) -> String {
    let (status, created) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/os-server-groups"),
            &json!({ "server_group": { "name": "fidelity", "policies": ["anti-affinity"] } }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "creating the fixture group: {created}"
    );
    created["server_group"]["id"]
        .as_str()
        .expect("group id")
        .to_owned()
}

/// Replaces `add_member.instance_uuid` by a stopped server, and `remove_member.instance_uuid`
/// by a stopped server added to the group first.
async fn replace_member_ids(api: &Api, body: &mut Value, group_id: &str) {
    for (key, member) in [("add_member", false), ("remove_member", true)] {
        let Some(slot) = body.pointer_mut(&format!("/{key}/instance_uuid")) else {
            continue;
        };
        let server_id = servers(api, 1, true).await.remove(0);
        if member {
            let (status, answer) = api
                .post(
                    &format!("/v1/{PROJECT}/cloudservers/os-server-groups/{group_id}/action"),
                    &json!({ "add_member": { "instance_uuid": server_id } }),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::OK,
                "adding the fixture member: {answer}"
            );
        }
        *slot = Value::from(server_id);
    }
}

/// The port ids of the server's NICs, from its `addresses`.
async fn port_ids(api: &Api, server_id: &str) -> BTreeSet<String> {
    let (_, shown) = api
        .get(&format!("/v1/{PROJECT}/cloudservers/{server_id}"))
        .await;
    shown["server"]["addresses"]
        .as_object()
        .into_iter()
        .flat_map(|networks| networks.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|address| address["OS-EXT-IPS:port_id"].as_str().map(str::to_owned))
        .collect()
}

/// Replaces the `nics[].id` of a body (the NICs to delete) by NICs added to the server
/// through the API first: the example's port does not exist, and the primary NIC may not be
/// deleted. Returns an error if the NICs could not be added.
async fn replace_nic_ids(api: &Api, body: &mut Value, server_id: &str) -> Result<(), String> {
    let Some(nics) = body.get_mut("nics").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    let wanted = nics.iter().filter(|nic| nic.get("id").is_some()).count();
    if wanted == 0 {
        return Ok(());
    }
    let before = port_ids(api, server_id).await;
    let subnet = &create_body("unused", 1)["server"]["nics"][0]["subnet_id"];
    let added: Vec<Value> = (0..wanted)
        .map(|_| json!({ "subnet_id": subnet }))
        .collect();
    let (status, answer) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/{server_id}/nics"),
            &json!({ "nics": added }),
        )
        .await;
    if status != StatusCode::OK {
        return Err(format!(
            "adding the NICs to delete answered {status}: {answer}"
        ));
    }
    api.harness.drain().await;
    let new_ports: Vec<String> = port_ids(api, server_id)
        .await
        .difference(&before)
        .cloned()
        .collect();
    if new_ports.len() != wanted {
        return Err(format!(
            "added {wanted} NICs, but the server shows {} new ports",
            new_ports.len()
        ));
    }
    let mut new_ports = new_ports.into_iter();
    for nic in nics.iter_mut() {
        if let (Some(slot), Some(port)) = (nic.get_mut("id"), new_ports.next()) {
            *slot = Value::from(port);
        }
    }
    Ok(())
}

#[test]
fn documented_types_are_checked_and_unknown_ones_reported() {
    assert_eq!(kind_matches("String", &json!("x")), Ok(true));
    assert_eq!(kind_matches("String", &json!(1)), Ok(false));
    assert_eq!(kind_matches("Integer", &json!(2)), Ok(true));
    assert_eq!(kind_matches("Integer", &json!("2")), Ok(false));
    assert_eq!(kind_matches("Integer", &json!(2.5)), Ok(false));
    assert_eq!(kind_matches("Float", &json!(1)), Ok(true));
    assert_eq!(kind_matches("Boolean", &json!("false")), Ok(false));
    assert_eq!(kind_matches("Map<String,String>", &json!({})), Ok(true));
    assert_eq!(
        kind_matches("Array of strings", &json!(["a", 1])),
        Ok(false)
    );
    assert_eq!(kind_matches("Array of objects", &json!([{}])), Ok(true));
    assert_eq!(kind_matches("Quaternion", &json!(1)), Err(()));
}

#[test]
fn a_missing_field_or_a_wrong_type_fails_naming_page_field_and_types() {
    let pages =
        reference_data::pages(Part::Recommended).expect("tests/reference/pages.json is readable");
    let page = pages
        .iter()
        .find(|page| {
            page.file
                .ends_with("lifecycle_management/deleting_ecss.rst")
        })
        .expect("the delete page");
    let top = &page.response_tables[0];
    let mut failures = Vec::new();
    let mut notes = BTreeSet::new();
    let keys = BTreeSet::new();
    check_fields(
        page,
        "delete",
        top,
        &json!({}),
        "",
        &keys,
        &mut failures,
        &mut notes,
    );
    check_fields(
        page,
        "delete",
        top,
        &json!({ "job_id": 7 }),
        "",
        &keys,
        &mut failures,
        &mut notes,
    );
    assert_eq!(
        failures,
        [
            "delete: field `job_id` is missing (expected String)",
            "delete: field `job_id`: expected String, got Integer (7)",
        ]
    );
}

#[test]
fn example_ids_and_query_values_are_substituted() {
    let mut body = json!({"os-stop": {"type": "HARD", "servers": [{"id": "a"}, {"id": "b"}]}});
    assert_eq!(count_server_ids(&body), 2);
    replace_server_ids(&mut body, &mut ["x".to_owned(), "y".to_owned()].into_iter());
    assert_eq!(
        body["os-stop"]["servers"],
        json!([{"id": "x"}, {"id": "y"}])
    );
    assert_eq!(
        replace_query_value(
            "/f?availability_zone=availability_value&x=1",
            "availability_zone",
            "z"
        ),
        Some("/f?availability_zone=z&x=1".to_owned())
    );
    assert_eq!(replace_query_value("/f", "availability_zone", "z"), None);
}
