"""Add NICs (POST /v1/.../nics) and delete NICs (POST /v1/.../nics/delete) in a batch through
the official SDK: one sub-job per NIC with entities.nic_id."""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import (
    BatchAddServerNicOption,
    BatchAddServerNicsRequest,
    BatchAddServerNicsRequestBody,
    BatchDeleteServerNicOption,
    BatchDeleteServerNicsRequest,
    BatchDeleteServerNicsRequestBody,
)

from conftest import (
    JOB_ID_RE,
    assert_sdk_error,
    new_uuid,
    show_server,
    sub_jobs_of,
)


def add_nics(client, server_id, nics):
    body = BatchAddServerNicsRequestBody(nics=[BatchAddServerNicOption(**nic) for nic in nics])
    return client.batch_add_server_nics(BatchAddServerNicsRequest(server_id=server_id, body=body))


def delete_nics(client, server_id, port_ids):
    body = BatchDeleteServerNicsRequestBody(nics=[BatchDeleteServerNicOption(id=port) for port in port_ids])
    return client.batch_delete_server_nics(BatchDeleteServerNicsRequest(server_id=server_id, body=body))


def ports(client, server_id):
    """(port id, address, type) of every address of the server."""
    addresses = show_server(client, server_id).addresses or {}
    return [(a.os_ext_ip_sport_id, a.addr, a.os_ext_ip_stype) for net in addresses.values() for a in net]


@pytest.fixture(scope="module")
def server(server_factory, run_tag):
    (server_id,) = server_factory.create("e2e-%s-nics" % run_tag)
    return server_id


def test_add_then_delete_nics(client, server, wait_job):
    primary = ports(client, server)[0][0]
    subnet = new_uuid()
    resp = add_nics(client, server, [{"subnet_id": subnet}, {"subnet_id": subnet, "ip_address": "192.168.50.5"}])
    assert resp.status_code == 200
    assert JOB_ID_RE.match(resp.job_id or ""), resp.job_id
    job = wait_job(resp.job_id).final
    assert (job.status, job.job_type, job.error_code) == ("SUCCESS", "addNics", None), job
    subs = sub_jobs_of(job)
    assert job.entities.sub_jobs_total == 2 and len(subs) == 2, job
    assert all(s.job_type == "addNic" and s.status == "SUCCESS" for s in subs), subs
    nic_ids = [s.entities.nic_id for s in subs]
    assert all(s.entities.server_id == server for s in subs), subs
    seen = ports(client, server)
    for nic_id in nic_ids:
        assert any(p[0] == nic_id and p[2] == "fixed" for p in seen), (nic_id, seen)
    assert any(p[1] == "192.168.50.5" for p in seen), seen

    job = wait_job(delete_nics(client, server, nic_ids).job_id).final
    assert (job.status, job.job_type) == ("SUCCESS", "deleteNics"), job
    assert sorted(s.entities.nic_id for s in sub_jobs_of(job)) == sorted(nic_ids)
    assert [p[0] for p in ports(client, server)] == [primary]


def test_adding_a_used_or_malformed_address_is_refused(client, server, wait_job):
    subnet = new_uuid()
    job = wait_job(add_nics(client, server, [{"subnet_id": subnet, "ip_address": "192.168.60.6"}]).job_id).final
    assert job.status == "SUCCESS", job
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        add_nics(client, server, [{"subnet_id": subnet, "ip_address": "192.168.60.6"}])
    assert_sdk_error(ei, 400, "Ecs.0010")
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        add_nics(client, server, [{"subnet_id": subnet, "ip_address": "999.1.1.1"}])
    assert_sdk_error(ei, 400, "Ecs.0005")
    added = [s.entities.nic_id for s in sub_jobs_of(job)]
    assert wait_job(delete_nics(client, server, added).job_id).final.status == "SUCCESS"


def test_deleting_the_primary_nic_is_403(client, server):
    primary = ports(client, server)[0][0]
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        delete_nics(client, server, [primary])
    assert_sdk_error(ei, 403, "Ecs.0003")


def test_deleting_an_unknown_nic_is_refused(client, server):
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        delete_nics(client, server, [new_uuid()])
    assert_sdk_error(ei, 400, "Ecs.0085")


def test_os_interface_lists_the_nics(client, server):
    from huaweicloudsdkecs.v2 import ListServerInterfacesRequest
    resp = client.list_server_interfaces(ListServerInterfacesRequest(server_id=server))
    listed = [(i.port_id, i.fixed_ips[0].ip_address) for i in resp.interface_attachments]
    assert [(p[0], p[1]) for p in ports(client, server) if p[2] == "fixed"] == listed
    assert resp.attachable_quantity.free_nic == 12 - len(listed)
