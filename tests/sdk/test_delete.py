"""DeleteServers (POST /v1/{project_id}/cloudservers/delete) and the deleteVMs job."""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import ListServersDetailsRequest, ShowServerRequest

from conftest import (
    JOB_ID_RE,
    assert_job_succeeded,
    assert_sdk_error,
    delete_servers,
    new_uuid,
    show_server,
    start_servers,
    stop_servers,
)


def _assert_gone(client, sid):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.show_server(ShowServerRequest(server_id=sid))
    assert_sdk_error(ei, 404, "Ecs.0114")


def test_delete_two_servers(client, server_factory, wait_job, run_tag):
    name = "e2e-%s-delpair" % run_tag
    ids = server_factory.create(name, count=2)
    resp = delete_servers(client, ids, delete_publicip=True, delete_volume=True)
    assert resp.status_code == 200
    assert JOB_ID_RE.match(resp.job_id or ""), resp.job_id
    trace = wait_job(resp.job_id)
    assert_job_succeeded(trace.final, "deleteVMs", "deleteSingleServer", ids)
    for sid in ids:
        _assert_gone(client, sid)
    listed = client.list_servers_details(ListServersDetailsRequest(name=name))
    assert not listed.servers and listed.count == 0, "deleted servers still listed: %s" % listed


def test_delete_shutoff_server(client, server_factory, wait_job, run_tag):
    (sid,) = server_factory.create("e2e-%s-delstopped" % run_tag)
    assert wait_job(stop_servers(client, [sid]).job_id).final.status == "SUCCESS"
    assert show_server(client, sid).status == "SHUTOFF"
    trace = wait_job(delete_servers(client, [sid], delete_publicip=False, delete_volume=False).job_id)
    assert_job_succeeded(trace.final, "deleteVMs", "deleteSingleServer", [sid])
    _assert_gone(client, sid)


def test_deleted_server_rejects_actions(client, server_factory, wait_job, run_tag):
    (sid,) = server_factory.create("e2e-%s-delact" % run_tag)
    assert wait_job(delete_servers(client, [sid]).job_id).final.status == "SUCCESS"
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        stop_servers(client, [sid])
    assert_sdk_error(ei, 404, "Ecs.0114")
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        start_servers(client, [sid])
    assert_sdk_error(ei, 404, "Ecs.0114")
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        delete_servers(client, [sid])
    assert_sdk_error(ei, 404, "Ecs.0114")


def test_delete_unknown_server_is_404(client):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        delete_servers(client, [new_uuid()])
    assert_sdk_error(ei, 404, "Ecs.0114")


def test_delete_while_creating(client, server_factory, wait_job, run_tag):
    """Deleting a server whose create job still runs is refused with Ecs.0100
    (or, if the create already finished, accepted); either way it ends up deleted."""
    from conftest import create_v1

    resp = create_v1(client, "e2e-%s-delbuild" % run_tag)
    server_factory.created.extend(resp.server_ids)
    sid = resp.server_ids[0]
    try:
        del_resp = delete_servers(client, [sid])
    except sdk_exc.ClientRequestException as e:
        assert e.status_code == 400 and e.error_code == "Ecs.0100", str(e)
        assert wait_job(resp.job_id).final.status == "SUCCESS"
        del_resp = delete_servers(client, [sid])
    else:
        assert wait_job(resp.job_id).final.status in ("SUCCESS", "FAIL")
    assert wait_job(del_resp.job_id).final.status == "SUCCESS"
    _assert_gone(client, sid)
