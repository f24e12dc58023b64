"""Error responses as the SDK sees them: status, error code, request id."""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import (
    CreatePostPaidServersRequest,
    ListServersDetailsRequest,
    ShowJobRequest,
    ShowServerRequest,
)

from conftest import (
    assert_sdk_error,
    create_v1,
    create_v11,
    make_client,
    new_uuid,
    post_paid_body,
)


def _assert_nothing_named(client, name):
    resp = client.list_servers_details(ListServersDetailsRequest(name=name))
    assert not resp.servers and resp.count == 0, "a rejected create left servers behind: %s" % resp


@pytest.mark.parametrize("creator", [create_v1, create_v11], ids=["v1", "v1.1"])
def test_create_with_unknown_flavor(client, unique_name, creator):
    name = unique_name()
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        creator(client, name, flavor="no.such.flavor")
    assert_sdk_error(ei, 400, "Ecs.0029")
    _assert_nothing_named(client, name)


def test_show_unknown_server(client):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.show_server(ShowServerRequest(server_id=new_uuid()))
    assert_sdk_error(ei, 404, "Ecs.0114")


def test_show_server_with_malformed_id(client):
    """A non-UUID id: the contract leaves open whether this is "unknown" (404 Ecs.0114)
    or "invalid parameter" (400 Ecs.0005); both are accepted, nothing else is."""
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.show_server(ShowServerRequest(server_id="not-a-server-id"))
    exc = ei.value
    expected = {(404, "Ecs.0114"), (400, "Ecs.0005")}
    assert (exc.status_code, exc.error_code) in expected, str(exc)
    assert_sdk_error(ei, exc.status_code, exc.error_code)


@pytest.mark.parametrize("job_id", ["0123456789abcdef0123456789abcdef", "not-a-job"], ids=["hex", "malformed"])
def test_show_unknown_job(client, job_id):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.show_job(ShowJobRequest(job_id=job_id))
    assert_sdk_error(ei, 400, "Common.0011")


def test_request_ids_differ(client):
    ids = set()
    for _ in range(3):
        with pytest.raises(sdk_exc.ClientRequestException) as ei:
            client.show_server(ShowServerRequest(server_id=new_uuid()))
        ids.add(ei.value.request_id)
    assert len(ids) == 3, "X-Request-Id is not unique per request: %s" % ids


def test_wrongly_typed_body_is_ecs_0005(client, unique_name):
    """count as a non-numeric string: the SDK sends it as is ("count": "many")."""
    name = unique_name()
    body = post_paid_body(name)
    body.server.count = "many"
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.create_post_paid_servers(CreatePostPaidServersRequest(body=body))
    exc = assert_sdk_error(ei, 400, "Ecs.0005")
    # In the user's terms (JSON's types), not Rust's (`expected i64`).
    assert 'server.count: must be an integer, not the string "many"' in exc.error_msg, exc.error_msg
    _assert_nothing_named(client, name)


def test_vpcid_not_a_string_is_ecs_0005(client, unique_name):
    name = unique_name()
    body = post_paid_body(name)
    body.server.vpcid = 12345  # a number where a UUID string is required
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.create_post_paid_servers(CreatePostPaidServersRequest(body=body))
    assert_sdk_error(ei, 400, "Ecs.0005")
    _assert_nothing_named(client, name)


@pytest.mark.parametrize("count", [0, 101, -1])
def test_count_out_of_range(client, unique_name, count):
    """The create page's range for count is 1-100, its code Ecs.0913, on both sides."""
    name = unique_name()
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        create_v1(client, name, count=count)
    assert_sdk_error(ei, 400, "Ecs.0913")
    _assert_nothing_named(client, name)


@pytest.mark.parametrize("field", ["image_ref", "flavor_ref", "name", "vpcid", "nics", "root_volume"])
def test_missing_required_field(client, unique_name, field):
    name = unique_name()
    body = post_paid_body(name)
    setattr(body.server, field, None)  # None attributes are omitted from the JSON
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.create_post_paid_servers(CreatePostPaidServersRequest(body=body))
    assert_sdk_error(ei, 400, None)
    _assert_nothing_named(client, name)


@pytest.mark.parametrize("field", ["image_ref", "vpcid", "subnet"])
def test_malformed_uuid_is_rejected(client, unique_name, field):
    name = unique_name()
    kw = {"image": None, "vpc": None, "subnet": None}
    kw[{"image_ref": "image", "vpcid": "vpc", "subnet": "subnet"}[field]] = "not-a-uuid"
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        create_v1(client, name, **kw)
    assert_sdk_error(ei, 400, None)
    _assert_nothing_named(client, name)


def test_missing_root_volume_type(client, unique_name):
    name = unique_name()
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        create_v1(client, name, volumetype=None)
    assert_sdk_error(ei, 400, None)
    _assert_nothing_named(client, name)


def test_no_body_at_all(client):
    """CreatePostPaidServers without a body (the SDK sends none): the error-code
    appendix documents Common.0002 (400) for an empty request body."""
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.create_post_paid_servers(CreatePostPaidServersRequest())
    assert_sdk_error(ei, 400, "Common.0002")


def test_other_project_cannot_see_servers(ecsd_config, server_factory, run_tag):
    """The account's keys used on a project that is not the account's: the reference's
    Common.0018 (project in the URL differs from the credentials'), before anything is read."""
    (sid,) = server_factory.create("e2e-%s-tenancy" % run_tag)
    other = make_client(ecsd_config, project_id="fedcba9876543210fedcba9876543210")
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        other.show_server(ShowServerRequest(server_id=sid))
    assert_sdk_error(ei, 400, "Common.0018")
    assert ei.value.request_id, str(ei.value)
