"""dry_run creates: 202, nothing created."""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import ListServersDetailsRequest

from conftest import assert_sdk_error, create_v1, create_v11

CREATORS = pytest.mark.parametrize("creator", [create_v1, create_v11], ids=["v1", "v1.1"])


def _count_named(client, name):
    resp = client.list_servers_details(ListServersDetailsRequest(name=name))
    return resp.count, [s.id for s in resp.servers or []]


@CREATORS
@pytest.mark.parametrize("count", [1, 3])
def test_dry_run_is_202_and_creates_nothing(client, unique_name, creator, count):
    name = unique_name()
    resp = creator(client, name, count=count, dry_run=True)
    assert resp.status_code == 202, "dry_run answered %s: %s" % (resp.status_code, resp.raw_content)
    assert not resp.server_ids, "dry_run returned server ids: %s" % resp.server_ids
    assert _count_named(client, name) == (0, [])


@CREATORS
def test_dry_run_still_validates(client, unique_name, creator):
    name = unique_name()
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        creator(client, name, flavor="no.such.flavor", dry_run=True)
    assert_sdk_error(ei, 400, "Ecs.0029")
    assert _count_named(client, name) == (0, [])


@CREATORS
def test_dry_run_false_creates(client, unique_name, creator, wait_job, server_factory):
    """dry_run: false is an ordinary create."""
    name = unique_name()
    resp = creator(client, name, dry_run=False)
    server_factory.created.extend(resp.server_ids or [])
    assert resp.status_code == 200
    assert len(resp.server_ids or []) == 1
    assert wait_job(resp.job_id).final.status == "SUCCESS"
    assert _count_named(client, name)[0] == 1
