"""Tags, metadata and the modification of a server (synchronous APIs, no job) through the
official SDK's request classes: BatchCreateServerTags, BatchDeleteServerTags, ShowServerTags,
ListServerTags (the project's tags), ListServersByTag, UpdateServerMetadata,
DeleteServerMetadata and UpdateServer.

The ecsd under test is shared by the whole suite, so every tag key used here carries the run's
tag (project-wide lists and queries then see only this module's servers)."""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import (
    BatchAddServerTag,
    BatchCreateServerTagsRequest,
    BatchCreateServerTagsRequestBody,
    BatchDeleteServerTagsRequest,
    BatchDeleteServerTagsRequestBody,
    CreatePostPaidServersRequest,
    DeleteServerMetadataRequest,
    ListServersByTagRequest,
    ListServersByTagRequestBody,
    ListServerTagsRequest,
    PostPaidServerTag,
    ServerTag,
    ServerTagMatch,
    ServerTags,
    ShowServerTagsRequest,
    UpdateServerMetadataRequest,
    UpdateServerMetadataRequestBody,
    UpdateServerOption,
    UpdateServerRequest,
    UpdateServerRequestBody,
)

from conftest import assert_sdk_error, make_client, new_uuid, post_paid_body, show_server

# The SDK marks ListServersByTag deprecated (it still is the documented API).
pytestmark = pytest.mark.filterwarnings("ignore:Method 'list_servers_by_tag':DeprecationWarning")


@pytest.fixture(scope="module")
def key(run_tag):
    """A tag key prefix unique to this run (keys have at most 36 characters)."""

    def make(label):
        return "e2e-%s-%s" % (run_tag, label)

    return make


@pytest.fixture(scope="module")
def server(server_factory, run_tag):
    (server_id,) = server_factory.create("e2e-%s-tags" % run_tag)
    return server_id


def add_tags(client, server_id, pairs):
    tags = [BatchAddServerTag(key=k, value=v) for k, v in pairs]
    body = BatchCreateServerTagsRequestBody(action="create", tags=tags)
    return client.batch_create_server_tags(BatchCreateServerTagsRequest(server_id=server_id, body=body))


def delete_tags(client, server_id, pairs):
    tags = [ServerTag(key=k, value=v) for k, v in pairs]
    body = BatchDeleteServerTagsRequestBody(action="delete", tags=tags)
    return client.batch_delete_server_tags(BatchDeleteServerTagsRequest(server_id=server_id, body=body))


def tags_of(client, server_id):
    resp = client.show_server_tags(ShowServerTagsRequest(server_id=server_id))
    return [(t.key, t.value) for t in resp.tags]


def by_tag(client, **kw):
    return client.list_servers_by_tag(ListServersByTagRequest(body=ListServersByTagRequestBody(**kw)))


# --------------------------------------------------------------------------
# tags


def test_tags_are_added_shown_overwritten_and_deleted_idempotently(client, server, key):
    env, team = key("env"), key("team")
    for _ in range(2):
        resp = add_tags(client, server, [(env, "prod"), (team, "a")])
        assert resp.status_code == 204
    assert tags_of(client, server) == [(env, "prod"), (team, "a")]
    assert show_server(client, server).tags == ["%s=prod" % env, "%s=a" % team]

    add_tags(client, server, [(env, "dev")])
    assert tags_of(client, server) == [(env, "dev"), (team, "a")]

    for _ in range(2):
        resp = delete_tags(client, server, [(team, "a"), (key("absent"), "x")])
        assert resp.status_code == 204
    assert tags_of(client, server) == [(env, "dev")]
    delete_tags(client, server, [(env, "dev")])
    assert tags_of(client, server) == []


def test_create_time_tags_are_the_same_tags(server_factory, client, run_tag, key, wait_job):
    body = post_paid_body("e2e-%s-tagged-at-create" % run_tag)
    body.server.server_tags = [PostPaidServerTag(key=key("made"), value="at-create")]
    resp = client.create_post_paid_servers(CreatePostPaidServersRequest(body=body))
    server_factory.created.extend(resp.server_ids)
    assert wait_job(resp.job_id).final.status == "SUCCESS"
    (server_id,) = resp.server_ids
    assert tags_of(client, server_id) == [(key("made"), "at-create")]
    delete_tags(client, server_id, [(key("made"), "at-create")])
    assert show_server(client, server_id).tags == []


def test_project_tags_and_servers_by_tag(server_factory, client, run_tag, key):
    zone = key("zone")
    first, second = server_factory.create("e2e-%s-by-tag" % run_tag, count=2)
    add_tags(client, first, [(zone, "z1")])
    add_tags(client, second, [(zone, "z2")])

    project = client.list_server_tags(ListServerTagsRequest())
    listed = {t.key: t.values for t in project.tags}
    assert listed[zone] == ["z1", "z2"]

    resp = by_tag(client, action="filter", tags=[ServerTags(key=zone, values=["z1", "z2"])])
    assert resp.total_count == 2
    assert {r.resource_id for r in resp.resources} == {first, second}
    for resource in resp.resources:
        assert resource.resource_detail is None
        assert resource.resource_name.startswith("e2e-%s-by-tag" % run_tag)

    resp = by_tag(client, action="filter", limit="1", offset="1", tags=[ServerTags(key=zone)])
    assert (resp.total_count, len(resp.resources)) == (2, 1)

    resp = by_tag(client, action="filter", tags=[ServerTags(key=zone)],
                  not_tags=[ServerTags(key=zone, values=["z2"])])
    assert [r.resource_id for r in resp.resources] == [first]

    name = show_server(client, second).name
    resp = by_tag(client, action="filter", tags=[ServerTags(key=zone)],
                  matches=[ServerTagMatch(key="resource_name", value=name)])
    assert [r.resource_id for r in resp.resources] == [second]

    resp = by_tag(client, action="count", tags=[ServerTags(key=zone, values=["z1"])])
    assert resp.total_count == 1
    assert resp.resources is None


def test_tag_errors_carry_code_and_request_id(client, server, key):
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        add_tags(client, server, [(key("bad") + ".dot", "v")])
    assert_sdk_error(excinfo, 400, "Ecs.0907")

    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        add_tags(client, server, [("k%d" % i, "v") for i in range(11)])
    assert_sdk_error(excinfo, 400, "Ecs.0905")

    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        delete_tags(client, new_uuid(), [(key("env"), None)])
    assert_sdk_error(excinfo, 404, "Ecs.0114")

    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        client.show_server_tags(ShowServerTagsRequest(server_id=new_uuid()))
    assert_sdk_error(excinfo, 404, "Ecs.0114")

    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        by_tag(client, action="filter", limit="1001")
    assert_sdk_error(excinfo, 400, "Ecs.0005")


def test_project_tags_of_another_project_are_refused(ecsd_config, client):
    # The project comes from the credentials; a request for another project is a tenancy error.
    other = make_client(ecsd_config, project_id="fedcba9876543210fedcba9876543210")
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        other.list_server_tags(ListServerTagsRequest())
    assert_sdk_error(excinfo, 400, "Common.0018")


# --------------------------------------------------------------------------
# metadata


def test_metadata_update_merges_and_delete_removes_a_key(client, server):
    resp = client.update_server_metadata(UpdateServerMetadataRequest(
        server_id=server, body=UpdateServerMetadataRequestBody(metadata={"role": "web", "tier": "1"})))
    assert resp.status_code == 200
    assert (resp.metadata["role"], resp.metadata["tier"]) == ("web", "1")
    assert show_server(client, server).metadata["role"] == "web"

    resp = client.update_server_metadata(UpdateServerMetadataRequest(
        server_id=server, body=UpdateServerMetadataRequestBody(metadata={"role": "db"})))
    assert (resp.metadata["role"], resp.metadata["tier"]) == ("db", "1")

    for _ in range(2):
        resp = client.delete_server_metadata(DeleteServerMetadataRequest(server_id=server, key="role"))
        assert resp.status_code == 204
    metadata = show_server(client, server).metadata
    assert "role" not in metadata and metadata["tier"] == "1"


def test_metadata_errors_carry_code_and_request_id(client, server):
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        client.update_server_metadata(UpdateServerMetadataRequest(
            server_id=server, body=UpdateServerMetadataRequestBody(metadata={"bad key": "v"})))
    assert_sdk_error(excinfo, 400, "Ecs.0005")

    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        client.delete_server_metadata(DeleteServerMetadataRequest(server_id=new_uuid(), key="role"))
    assert_sdk_error(excinfo, 404, "Ecs.0114")


# --------------------------------------------------------------------------
# modifying a server


def test_update_server_changes_name_description_and_hostname(client, server, run_tag):
    name = "e2e-%s-renamed" % run_tag
    option = UpdateServerOption(name=name, description="renamed by the SDK", hostname="renamed-host")
    resp = client.update_server(UpdateServerRequest(server_id=server, body=UpdateServerRequestBody(server=option)))
    assert resp.status_code == 200
    assert (resp.server.id, resp.server.name) == (server, name)
    assert resp.server.description == "renamed by the SDK"
    assert resp.server.os_ext_srv_att_rhostname == "renamed-host"
    assert resp.server.status == "ACTIVE"
    shown = show_server(client, server)
    assert (shown.name, shown.description) == (name, "renamed by the SDK")


def test_update_server_errors_carry_code_and_request_id(client, server):
    for option, code in [
        (UpdateServerOption(name="has space"), "Ecs.0915"),
        (UpdateServerOption(description="<b>"), "Ecs.0041"),
    ]:
        with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
            client.update_server(UpdateServerRequest(server_id=server, body=UpdateServerRequestBody(server=option)))
        assert_sdk_error(excinfo, 400, code)

    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        client.update_server(UpdateServerRequest(
            server_id=new_uuid(), body=UpdateServerRequestBody(server=UpdateServerOption(name="x"))))
    assert_sdk_error(excinfo, 404, "Ecs.0114")
