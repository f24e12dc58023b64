//! The names of the request parameters the ECS reference documents (every row of a parameter
//! table with a Mandatory column of `apis_recommended/` and `data_structure/`). `--strict-bodies`
//! refuses an ignored body field only when its name is not among them: a field the reference
//! documents but ecsd does not model (`user_data`, `hw:passthrough`, `root_volume.metadata`…) is
//! what real clients send, not a typo. A test (`requests_log::the_documented_field_names_are_the_references`)
//! re-extracts the list where the reference is present and fails on any difference.

/// Sorted, so a lookup is a binary search.
pub const DOCUMENTED_REQUEST_FIELDS: &[&str] = &[
    "BYOL",
    "CB_CSBS_BACKUP",
    "action",
    "add_member",
    "adminPass",
    "admin_pass",
    "agency_name",
    "availability_zone",
    "bandwidth",
    "batch_create_in_multi_az",
    "binding:profile",
    "chargemode",
    "count",
    "data_image_id",
    "data_volumes",
    "dedicated_host_id",
    "delete_flag",
    "delete_on_termination",
    "delete_publicip",
    "delete_volume",
    "description",
    "device",
    "disable_security_groups",
    "dry_run",
    "eip",
    "extendparam",
    "extra_dhcp_opts",
    "flavor",
    "flavorRef",
    "group",
    "hostname",
    "href",
    "hw:passthrough",
    "id",
    "imageRef",
    "imageid",
    "instance_uuid",
    "ip",
    "ip_address",
    "iptype",
    "ipv6_bandwidth",
    "ipv6_enable",
    "key",
    "key_name",
    "keyname",
    "limit",
    "marker",
    "matches",
    "metadata",
    "migrate",
    "multiattach",
    "name",
    "nics",
    "not-tags",
    "not_tags",
    "offset",
    "op_svc_userid",
    "opt_name",
    "opt_value",
    "os-change",
    "os-reinstall",
    "os-start",
    "os-stop",
    "os:scheduler_hints",
    "policies",
    "project_id",
    "publicip",
    "reboot",
    "regionID",
    "rel",
    "remove_member",
    "reservation_id",
    "resize",
    "root_volume",
    "security_groups",
    "server",
    "server_group",
    "server_id",
    "servers",
    "shareable",
    "sharetype",
    "size",
    "snapshotId",
    "sort_dir",
    "sort_key",
    "source_flavor_id",
    "source_flavor_name",
    "status",
    "subnet_id",
    "tags",
    "tenancy",
    "tpm_enabled",
    "type",
    "user_data",
    "userid",
    "value",
    "values",
    "volumeAttachment",
    "volumeId",
    "volume_id",
    "volume_type",
    "volumetype",
    "vpcid",
];

/// Whether `name` (a body key, the last segment of its path) is a documented request parameter.
pub fn is_documented(name: &str) -> bool {
    DOCUMENTED_REQUEST_FIELDS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_finds_documented_names_only() {
        assert!(DOCUMENTED_REQUEST_FIELDS
            .windows(2)
            .all(|pair| pair[0] < pair[1]));
        assert!(is_documented("user_data"));
        assert!(is_documented("hw:passthrough"));
        assert!(!is_documented("availabilty_zone"));
        assert!(!is_documented("cont"));
    }
}
