"""Tenant quotas (GET /v1/{project_id}/cloudservers/limits) and ECS groups
(/v1/{project_id}/cloudservers/os-server-groups) through the official SDK.

The local project has no quotas; the quota project (ECSD_QUOTA_*, written to
the accounts file by scripts/sdk-e2e.sh) may hold 2 servers, 4 vCPUs and
1 ECS group of at most 1 member. Every test leaves the quota project empty.
"""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import (
    AddServerGroupMemberRequest,
    AddServerGroupMemberRequestBody,
    CreatePostPaidServersRequest,
    CreateServerGroupOption,
    CreateServerGroupRequest,
    CreateServerGroupRequestBody,
    DeleteServerGroupMemberRequest,
    DeleteServerGroupMemberRequestBody,
    DeleteServerGroupRequest,
    ListServerGroupsRequest,
    PostPaidServerSchedulerHints,
    ServerGroupMember,
    ShowServerGroupRequest,
    ShowServerLimitsRequest,
)

from conftest import (
    UUID_RE,
    assert_sdk_error,
    create_v1,
    delete_servers,
    make_client,
    new_uuid,
    post_paid_body,
    show_server,
    stopped_server,
)


@pytest.fixture(scope="module")
def quota_client(ecsd_config):
    return make_client(ecsd_config, ak=ecsd_config.quota_ak, sk=ecsd_config.quota_sk,
                       project_id=ecsd_config.quota_project_id)


def limits(client):
    return client.show_server_limits(ShowServerLimitsRequest()).absolute


def create_group(client, name, policies=("anti-affinity",)):
    option = CreateServerGroupOption(name=name, policies=list(policies))
    body = CreateServerGroupRequestBody(server_group=option)
    return client.create_server_group(CreateServerGroupRequest(body=body))


def show_group(client, group_id):
    return client.show_server_group(ShowServerGroupRequest(server_group_id=group_id)).server_group


def delete_group(client, group_id):
    return client.delete_server_group(DeleteServerGroupRequest(server_group_id=group_id))


def add_member(client, group_id, server_id):
    body = AddServerGroupMemberRequestBody(add_member=ServerGroupMember(instance_uuid=server_id))
    return client.add_server_group_member(
        AddServerGroupMemberRequest(server_group_id=group_id, body=body))


def remove_member(client, group_id, server_id):
    body = DeleteServerGroupMemberRequestBody(remove_member=ServerGroupMember(instance_uuid=server_id))
    return client.delete_server_group_member(
        DeleteServerGroupMemberRequest(server_group_id=group_id, body=body))


def create_in_group(client, name, group_id, count=1):
    body = post_paid_body(name, count=count)
    body.server.osscheduler_hints = PostPaidServerSchedulerHints(group=group_id)
    return client.create_post_paid_servers(CreatePostPaidServersRequest(body=body))


# --------------------------------------------------------------------------
# limits


def test_the_local_project_has_no_quotas(client):
    absolute = limits(client)
    for field in ("max_total_instances", "max_total_cores", "max_total_ram_size",
                  "max_server_groups", "max_server_group_members"):
        assert getattr(absolute, field) == -1, (field, absolute)
    for field in ("total_instances_used", "total_cores_used", "total_ram_used",
                  "total_server_groups_used", "max_server_meta", "max_image_meta"):
        assert isinstance(getattr(absolute, field), int), (field, absolute)


def test_the_quota_project_shows_its_quotas_and_usage(quota_client, wait_job, unique_name):
    absolute = limits(quota_client)
    assert (absolute.max_total_instances, absolute.max_total_cores) == (2, 4), absolute
    assert (absolute.max_server_groups, absolute.max_server_group_members) == (1, 1), absolute
    assert absolute.max_total_ram_size == -1, absolute
    assert absolute.total_instances_used == 0, absolute
    resp = create_v1(quota_client, unique_name(), count=2)
    try:
        assert wait_job(resp.job_id, client_=quota_client).final.status == "SUCCESS"
        absolute = limits(quota_client)
        assert (absolute.total_instances_used, absolute.total_cores_used) == (2, 2), absolute
        assert absolute.total_ram_used == 2048, absolute
    finally:
        wait_job(delete_servers(quota_client, resp.server_ids).job_id, client_=quota_client)
    assert limits(quota_client).total_instances_used == 0, "a delete gives the quota back"


def test_limits_of_a_project_the_key_does_not_own_fail(ecsd_config):
    other = make_client(ecsd_config, project_id=ecsd_config.quota_project_id)
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        limits(other)
    assert_sdk_error(excinfo, 400, "Common.0018")


def test_a_create_over_the_instance_quota_fails_with_ecs_0001(quota_client, unique_name):
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        create_v1(quota_client, unique_name(), count=3)
    exc = assert_sdk_error(excinfo, 400, "Ecs.0001")
    assert "instances" in exc.error_msg, exc
    assert limits(quota_client).total_instances_used == 0, "nothing was created"


def test_a_create_over_the_core_quota_fails_with_ecs_0001(quota_client, unique_name):
    # s3.2xlarge.2 has 8 vCPUs; the project may have 4.
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        create_v1(quota_client, unique_name(), flavor="s3.2xlarge.2")
    exc = assert_sdk_error(excinfo, 400, "Ecs.0001")
    assert "cores" in exc.error_msg, exc


# --------------------------------------------------------------------------
# ECS groups


def test_a_group_is_created_shown_listed_and_deleted(client, unique_name):
    name = unique_name("grp")
    created = create_group(client, name)
    assert created.status_code == 200
    group = created.server_group
    assert UUID_RE.match(group.id or ""), group
    assert (group.name, group.policies, group.members, group.metadata) == (
        name, ["anti-affinity"], [], {}), group
    shown = show_group(client, group.id)
    assert (shown.id, shown.name, shown.members) == (group.id, name, []), shown
    listed = client.list_server_groups(ListServerGroupsRequest()).server_groups
    assert group.id in [g.id for g in listed], listed
    # Paging (with a second group, so that a page of one is not the last): the next page
    # starts after the marker.
    second = create_group(client, unique_name("grp")).server_group
    first = client.list_server_groups(ListServerGroupsRequest(limit=1))
    assert len(first.server_groups) == 1
    assert first.page_info.next_marker == first.server_groups[0].id
    after = client.list_server_groups(ListServerGroupsRequest(limit=1000, marker=first.page_info.next_marker))
    assert first.server_groups[0].id not in [g.id for g in after.server_groups]
    assert after.page_info is None, "the last page has no next marker"
    assert delete_group(client, second.id).status_code == 204
    assert delete_group(client, group.id).status_code == 204
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        show_group(client, group.id)
    assert_sdk_error(excinfo, 400, "Ecs.0313")


def test_group_failures(client, unique_name):
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        create_group(client, unique_name("grp"), policies=("affinity",))
    assert_sdk_error(excinfo, 400, "Ecs.0005")
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        client.list_server_groups(ListServerGroupsRequest(limit=0))
    assert_sdk_error(excinfo, 400, "Ecs.0005")
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        show_group(client, new_uuid())
    assert_sdk_error(excinfo, 400, "Ecs.0313")
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        delete_group(client, new_uuid())
    assert_sdk_error(excinfo, 400, "Ecs.0313")
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        create_in_group(client, unique_name(), new_uuid())
    assert_sdk_error(excinfo, 400, "Ecs.0313")


def test_the_group_quotas_fail_with_ecs_0022(quota_client, wait_job, unique_name):
    group = create_group(quota_client, unique_name("grp")).server_group
    try:
        with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
            create_group(quota_client, unique_name("grp"))
        assert_sdk_error(excinfo, 400, "Ecs.0022")
        assert limits(quota_client).total_server_groups_used == 1
        # One member at most: two servers into the group are refused, nothing created.
        with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
            create_in_group(quota_client, unique_name(), group.id, count=2)
        assert_sdk_error(excinfo, 400, "Ecs.0022")
        assert limits(quota_client).total_instances_used == 0
    finally:
        delete_group(quota_client, group.id)
    assert limits(quota_client).total_server_groups_used == 0


def test_servers_created_into_a_group_are_members_on_distinct_hosts(client, wait_job, unique_name):
    group = create_group(client, unique_name("grp")).server_group
    resp = create_in_group(client, unique_name(), group.id, count=2)
    try:
        assert wait_job(resp.job_id).final.status == "SUCCESS"
        assert show_group(client, group.id).members == resp.server_ids
        servers = [show_server(client, sid) for sid in resp.server_ids]
        hosts = {server.os_ext_srv_att_rhost for server in servers}
        assert len(hosts) == 2, hosts
        for server in servers:
            assert server.osscheduler_hints.group == [group.id], server.osscheduler_hints
    finally:
        wait_job(delete_servers(client, resp.server_ids).job_id)
        assert show_group(client, group.id).members == [], "deleted servers leave the group"
        delete_group(client, group.id)


def test_a_stopped_server_is_added_and_removed(client, server_factory, wait_job, unique_name):
    group = create_group(client, unique_name("grp")).server_group
    try:
        (running,) = server_factory.create(unique_name())
        with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
            add_member(client, group.id, running)
        assert_sdk_error(excinfo, 400, "Ecs.0100")
        server_id = stopped_server(server_factory, client, wait_job, unique_name())
        assert add_member(client, group.id, server_id).status_code == 200
        assert show_group(client, group.id).members == [server_id]
        assert remove_member(client, group.id, server_id).status_code == 200
        assert show_group(client, group.id).members == []
        with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
            remove_member(client, group.id, server_id)
        assert_sdk_error(excinfo, 400, "Ecs.0005")
    finally:
        delete_group(client, group.id)
