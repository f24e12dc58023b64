"""Batch stop / start / reboot (POST /v1/{project_id}/cloudservers/action) and their jobs.

The tests of this module run in file order on the same two servers:
ACTIVE --stop--> SHUTOFF --start--> ACTIVE --reboot--> ACTIVE.
"""

import pytest
from huaweicloudsdkecs.v2 import (
    BatchRebootServersRequest,
    BatchRebootServersRequestBody,
    BatchRebootSeversOption,
)

from conftest import (
    JOB_ID_RE,
    assert_job_succeeded,
    assert_sdk_error,
    new_uuid,
    server_refs,
    show_server,
    start_servers,
    stop_servers,
)
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc


def reboot_servers(client, ids, type_="SOFT"):
    body = BatchRebootServersRequestBody(reboot=BatchRebootSeversOption(servers=server_refs(ids), type=type_))
    return client.batch_reboot_servers(BatchRebootServersRequest(body=body))


@pytest.fixture(scope="module")
def pair(server_factory, run_tag):
    return server_factory.create("e2e-%s-power" % run_tag, count=2, flavor="s3.large.2")


def _states(client, ids):
    return {sid: (s.status, s.os_ext_st_svm_state) for sid, s in ((i, show_server(client, i)) for i in ids)}


def test_servers_start_active(client, pair):
    assert _states(client, pair) == {sid: ("ACTIVE", "active") for sid in pair}


def test_start_active_server_is_rejected(client, pair):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        start_servers(client, [pair[0]])
    assert_sdk_error(ei, 400, "Ecs.0100")
    assert show_server(client, pair[0]).status == "ACTIVE"


def test_stop_unknown_server_is_404(client, pair):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        stop_servers(client, [new_uuid()])
    assert_sdk_error(ei, 404, "Ecs.0114")


def test_stop_with_one_unknown_server_touches_nothing(client, pair):
    """A batch naming an unknown server is rejected as a whole."""
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        stop_servers(client, [pair[0], new_uuid()])
    assert_sdk_error(ei, 404, "Ecs.0114")
    assert show_server(client, pair[0]).status == "ACTIVE"


def test_batch_stop_soft(client, pair, wait_job):
    resp = stop_servers(client, pair, "SOFT")
    assert resp.status_code == 200
    assert JOB_ID_RE.match(resp.job_id or ""), resp.job_id
    # While the stop job runs, or once the servers are SHUTOFF, another stop is refused.
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        stop_servers(client, [pair[0]], "SOFT")
    assert_sdk_error(ei, 400, "Ecs.0100")
    trace = wait_job(resp.job_id)
    assert_job_succeeded(trace.final, "batchStopServers", "stopServer", pair)
    assert _states(client, pair) == {sid: ("SHUTOFF", "stopped") for sid in pair}


def test_stop_shutoff_server_is_rejected(client, pair):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        stop_servers(client, [pair[0]], "HARD")
    assert_sdk_error(ei, 400, "Ecs.0100")
    assert show_server(client, pair[0]).status == "SHUTOFF"


def test_reboot_shutoff_server_is_rejected(client, pair):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        reboot_servers(client, [pair[0]], "SOFT")
    assert_sdk_error(ei, 400, "Ecs.0100")
    assert show_server(client, pair[0]).status == "SHUTOFF"


def test_batch_start(client, pair, wait_job):
    resp = start_servers(client, pair)
    assert resp.status_code == 200
    assert JOB_ID_RE.match(resp.job_id or ""), resp.job_id
    trace = wait_job(resp.job_id)
    assert_job_succeeded(trace.final, "batchStartServers", "startServer", pair)
    assert _states(client, pair) == {sid: ("ACTIVE", "active") for sid in pair}


def test_batch_reboot_soft(client, pair, wait_job):
    resp = reboot_servers(client, pair, "SOFT")
    assert resp.status_code == 200
    assert JOB_ID_RE.match(resp.job_id or ""), resp.job_id
    trace = wait_job(resp.job_id)
    assert_job_succeeded(trace.final, "batchRebootServers", "rebootServer", pair)
    assert _states(client, pair) == {sid: ("ACTIVE", "active") for sid in pair}


def test_batch_stop_hard_then_start_single(client, pair, wait_job):
    trace = wait_job(stop_servers(client, [pair[1]], "HARD").job_id)
    assert_job_succeeded(trace.final, "batchStopServers", "stopServer", [pair[1]])
    assert show_server(client, pair[1]).status == "SHUTOFF"
    assert show_server(client, pair[0]).status == "ACTIVE", "stopping one server changed the other"
    trace = wait_job(start_servers(client, [pair[1]]).job_id)
    assert_job_succeeded(trace.final, "batchStartServers", "startServer", [pair[1]])
    assert show_server(client, pair[1]).status == "ACTIVE"


def test_reboot_without_type_is_rejected(client, pair):
    """`type` is mandatory for reboot."""
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        reboot_servers(client, [pair[0]], None)
    assert_sdk_error(ei, 400, None)
    assert show_server(client, pair[0]).status == "ACTIVE"
