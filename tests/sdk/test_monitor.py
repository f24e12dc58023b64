"""RegisterServerMonitor: POST /v1.0/servers/{server_id}/action, a path without a project. The
SDK still sends its X-Project-Id (signed), which is how ecsd knows the project."""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import RegisterServerMonitorRequest, RegisterServerMonitorRequestBody

from conftest import assert_sdk_error, make_client, new_uuid

# The SDK marks this call deprecated; the API is still in the reference, so it is still tested.
pytestmark = pytest.mark.filterwarnings("ignore:Method 'register_server_monitor':DeprecationWarning")


def _register(client, server_id):
    return client.register_server_monitor(
        RegisterServerMonitorRequest(
            server_id=server_id,
            body=RegisterServerMonitorRequestBody(monitor_metrics=""),
        )
    )


def test_register_server_monitor(client, server_factory, run_tag):
    (sid,) = server_factory.create("e2e-%s-monitor" % run_tag)
    resp = _register(client, sid)
    assert resp.status_code == 204


def test_register_server_monitor_unknown_server(client):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        _register(client, new_uuid())
    assert_sdk_error(ei, 404, "Ecs.0114")
    assert ei.value.request_id


def test_register_server_monitor_in_a_project_not_the_accounts(ecsd_config, server_factory, run_tag):
    (sid,) = server_factory.create("e2e-%s-monitor-foreign" % run_tag)
    foreign = make_client(ecsd_config, project_id="fedcba9876543210fedcba9876543210")
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        _register(foreign, sid)
    assert_sdk_error(ei, 400, "Common.0018")
