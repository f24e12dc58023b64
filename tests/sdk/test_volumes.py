"""Attach a disk (POST /v1/.../attachvolume) and detach it (DELETE /v1/.../detachvolume/{id})
through the official SDK."""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import (
    AttachServerVolumeOption,
    AttachServerVolumeRequest,
    AttachServerVolumeRequestBody,
    DetachServerVolumeRequest,
)

from conftest import (
    JOB_ID_RE,
    assert_sdk_error,
    assert_single_job_succeeded,
    new_uuid,
    show_server,
)


def attach(client, server_id, volume_id, device=None, dry_run=None):
    option = AttachServerVolumeOption(volume_id=volume_id, device=device, hwpassthrough="false")
    body = AttachServerVolumeRequestBody(volume_attachment=option, dry_run=dry_run)
    return client.attach_server_volume(AttachServerVolumeRequest(server_id=server_id, body=body))


def detach(client, server_id, volume_id, delete_flag=None):
    return client.detach_server_volume(
        DetachServerVolumeRequest(server_id=server_id, volume_id=volume_id, delete_flag=delete_flag))


def attached(client, server_id):
    return [(v.id, v.device, v.boot_index) for v in show_server(client, server_id).os_extended_volumesvolumes_attached]


@pytest.fixture(scope="module")
def server(server_factory, run_tag):
    (server_id,) = server_factory.create("e2e-%s-volumes" % run_tag)
    return server_id


def test_attach_then_detach_a_data_disk(client, server, wait_job):
    volume_id = new_uuid()
    resp = attach(client, server, volume_id, device="/dev/sdb")
    assert resp.status_code == 200
    assert JOB_ID_RE.match(resp.job_id or ""), resp.job_id
    trace = wait_job(resp.job_id)
    assert_single_job_succeeded(trace.final, "attachVolume", server)
    volumes = attached(client, server)
    assert volumes[0][1:] == ("/dev/vda", "0"), volumes
    assert (volume_id, "/dev/vdb", "-1") in volumes, volumes
    assert show_server(client, server).status == "ACTIVE"

    trace = wait_job(detach(client, server, volume_id, delete_flag="0").job_id)
    assert_single_job_succeeded(trace.final, "detachVolume", server)
    assert [v[0] for v in attached(client, server)] == [volumes[0][0]]


def test_attach_dry_run_is_202(client, server):
    resp = attach(client, server, new_uuid(), dry_run=True)
    assert resp.status_code == 202
    assert resp.job_id is None
    assert len(attached(client, server)) == 1


def test_attaching_an_attached_disk_is_refused(client, server, wait_job, server_factory, run_tag):
    volume_id = new_uuid()
    wait_job(attach(client, server, volume_id).job_id)
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        attach(client, server, volume_id)
    assert_sdk_error(ei, 400, "Ecs.0057")
    (other,) = server_factory.create("e2e-%s-volumes2" % run_tag)
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        attach(client, other, volume_id)
    assert_sdk_error(ei, 400, "Ecs.0103")


def test_detaching_a_disk_that_is_not_attached_is_refused(client, server):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        detach(client, server, new_uuid())
    assert_sdk_error(ei, 400, "Ecs.0111")


def test_detaching_the_system_disk_of_a_running_server_is_refused(client, server):
    system_disk = attached(client, server)[0][0]
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        detach(client, server, system_disk)
    assert_sdk_error(ei, 400, "Ecs.0100")


def test_block_devices_list_the_disks(client, server):
    from huaweicloudsdkecs.v2 import ListServerBlockDevicesRequest, ShowServerBlockDeviceRequest
    resp = client.list_server_block_devices(ListServerBlockDevicesRequest(server_id=server))
    devices = resp.volume_attachments
    assert devices[0].boot_index == 0 and devices[0].device == "/dev/vda", devices
    assert [d.id for d in devices] == [v[0] for v in attached(client, server)]
    assert all(d.server_id == server and d.bus == "virtio" for d in devices), devices
    assert resp.attachable_quantity.free_disk == 60 - len(devices)
    one = client.show_server_block_device(ShowServerBlockDeviceRequest(server_id=server, volume_id=devices[0].id))
    assert one.volume_attachment.volume_id == devices[0].id
