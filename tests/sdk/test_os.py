"""Reinstall OS (POST /v2/.../reinstallos) and change OS (POST /v2/.../changeos) through the
official SDK: stopped servers only, REBUILD while running, SHUTOFF after."""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import (
    ChangeServerOsWithCloudInitOption,
    ChangeServerOsWithCloudInitRequest,
    ChangeServerOsWithCloudInitRequestBody,
    ReinstallServerWithCloudInitOption,
    ReinstallServerWithCloudInitRequest,
    ReinstallServerWithCloudInitRequestBody,
)

from conftest import (
    JOB_ID_RE,
    assert_sdk_error,
    assert_single_job_succeeded,
    new_uuid,
    show_server,
    stopped_server,
)


def reinstall(client, server_id, **option):
    body = ReinstallServerWithCloudInitRequestBody(os_reinstall=ReinstallServerWithCloudInitOption(**option))
    return client.reinstall_server_with_cloud_init(ReinstallServerWithCloudInitRequest(server_id=server_id, body=body))


def change_os(client, server_id, image_id, **option):
    body = ChangeServerOsWithCloudInitRequestBody(
        os_change=ChangeServerOsWithCloudInitOption(imageid=image_id, **option))
    return client.change_server_os_with_cloud_init(ChangeServerOsWithCloudInitRequest(server_id=server_id, body=body))


def test_reinstall_keeps_the_image_and_ends_shutoff(client, server_factory, wait_job, run_tag):
    server_id = stopped_server(server_factory, client, wait_job, "e2e-%s-reinstall" % run_tag)
    image = show_server(client, server_id).image.id
    resp = reinstall(client, server_id, adminpass="Passw0rd!", mode="withStopServer")
    assert resp.status_code == 200
    assert JOB_ID_RE.match(resp.job_id or ""), resp.job_id
    trace = wait_job(resp.job_id)
    assert_single_job_succeeded(trace.final, "reInitOs", server_id)
    server = show_server(client, server_id)
    assert (server.status, server.image.id) == ("SHUTOFF", image)


def test_change_os_switches_the_image(client, server_factory, wait_job, run_tag):
    server_id = stopped_server(server_factory, client, wait_job, "e2e-%s-changeos" % run_tag)
    image = new_uuid()
    trace = wait_job(change_os(client, server_id, image, keyname="kp-e2e", userid=new_uuid()).job_id)
    assert_single_job_succeeded(trace.final, "changeOS", server_id)
    server = show_server(client, server_id)
    assert (server.status, server.image.id, server.key_name) == ("SHUTOFF", image, "kp-e2e")


def test_reinstall_of_a_running_server_is_refused(client, server_factory, run_tag):
    (server_id,) = server_factory.create("e2e-%s-reinstallactive" % run_tag)
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        reinstall(client, server_id, adminpass="Passw0rd!")
    assert_sdk_error(ei, 400, "Ecs.0100")


def test_change_os_of_a_running_server_or_to_a_bad_image_is_refused(client, server_factory, run_tag):
    (server_id,) = server_factory.create("e2e-%s-changeosactive" % run_tag)
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        change_os(client, server_id, new_uuid())
    assert_sdk_error(ei, 400, "Ecs.0100")
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        change_os(client, server_id, "not-an-image-id")
    assert_sdk_error(ei, 400, "Ecs.0005")
