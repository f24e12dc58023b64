"""Resize (POST /v1/... and the SDK's POST /v1.1/.../cloudservers/{id}/resize) and cold
migration (POST /v1/.../migrate) through the official SDK."""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import (
    MigrateServerOption,
    MigrateServerRequest,
    MigrateServerRequestBody,
    ResizePostPaidServerOption,
    ResizePostPaidServerRequest,
    ResizePostPaidServerRequestBody,
    ResizePrePaidServerOption,
    ResizeServerRequest,
    ResizeServerRequestBody,
)

from conftest import (
    JOB_ID_RE,
    assert_sdk_error,
    assert_single_job_succeeded,
    new_uuid,
    show_server,
    stopped_server,
)


def resize_v1(client, server_id, flavor, dry_run=None):
    body = ResizePostPaidServerRequestBody(resize=ResizePostPaidServerOption(flavor_ref=flavor), dry_run=dry_run)
    return client.resize_post_paid_server(ResizePostPaidServerRequest(server_id=server_id, body=body))


def resize_v11(client, server_id, flavor):
    body = ResizeServerRequestBody(resize=ResizePrePaidServerOption(flavor_ref=flavor))
    return client.resize_server(ResizeServerRequest(server_id=server_id, body=body))


def migrate(client, server_id, dedicated_host_id=None):
    option = MigrateServerOption(dedicated_host_id=dedicated_host_id) if dedicated_host_id else None
    body = MigrateServerRequestBody(migrate=option)
    return client.migrate_server(MigrateServerRequest(server_id=server_id, body=body))


def test_resize_v1_changes_the_flavor(client, server_factory, wait_job, run_tag):
    server_id = stopped_server(server_factory, client, wait_job, "e2e-%s-resize" % run_tag)
    resp = resize_v1(client, server_id, "s3.large.2")
    assert resp.status_code == 200
    assert JOB_ID_RE.match(resp.job_id or ""), resp.job_id
    trace = wait_job(resp.job_id)
    assert_single_job_succeeded(trace.final, "resizeServer", server_id)
    server = show_server(client, server_id)
    assert (server.status, server.flavor.id) == ("SHUTOFF", "s3.large.2")


def test_resize_v11_changes_the_flavor(client, server_factory, wait_job, run_tag):
    server_id = stopped_server(server_factory, client, wait_job, "e2e-%s-resize11" % run_tag)
    resp = resize_v11(client, server_id, "s3.medium.2")
    assert resp.status_code == 200
    trace = wait_job(resp.job_id)
    assert_single_job_succeeded(trace.final, "resizeServer", server_id)
    assert show_server(client, server_id).flavor.id == "s3.medium.2"


def test_resize_dry_run_is_202_and_creates_no_job(client, server_factory, wait_job, run_tag):
    server_id = stopped_server(server_factory, client, wait_job, "e2e-%s-resizedry" % run_tag)
    resp = resize_v1(client, server_id, "s3.large.2", dry_run=True)
    assert resp.status_code == 202
    assert resp.job_id is None
    assert show_server(client, server_id).flavor.id == "s3.medium.1"


def test_resize_of_a_running_server_is_refused(client, server_factory, run_tag):
    (server_id,) = server_factory.create("e2e-%s-resizeactive" % run_tag)
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        resize_v1(client, server_id, "s3.large.2")
    assert_sdk_error(ei, 400, "Ecs.0100")


def test_resize_to_the_same_or_an_unknown_flavor_is_refused(client, server_factory, wait_job, run_tag):
    server_id = stopped_server(server_factory, client, wait_job, "e2e-%s-resizesame" % run_tag)
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        resize_v11(client, server_id, "s3.medium.1")
    assert_sdk_error(ei, 400, "Ecs.0810")
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        resize_v1(client, server_id, "no.such.flavor")
    assert_sdk_error(ei, 400, "Ecs.0029")
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        resize_v1(client, new_uuid(), "s3.large.2")
    assert_sdk_error(ei, 404, "Ecs.0114")


def test_cold_migration_moves_the_host(client, server_factory, wait_job, run_tag):
    server_id = stopped_server(server_factory, client, wait_job, "e2e-%s-migrate" % run_tag)
    before = show_server(client, server_id)
    deh = new_uuid()
    trace = wait_job(migrate(client, server_id, deh).job_id)
    assert_single_job_succeeded(trace.final, "migrateServer", server_id)
    after = show_server(client, server_id)
    assert after.status == "SHUTOFF"
    assert after.os_ext_srv_att_rhost != before.os_ext_srv_att_rhost
    assert after.host_id != before.host_id
    # Back to the public pool: the SDK sends no "migrate" for None.
    trace = wait_job(migrate(client, server_id).job_id)
    assert_single_job_succeeded(trace.final, "migrateServer", server_id)
    # The same dedicated host twice is refused.
    wait_job(migrate(client, server_id, deh).job_id)
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        migrate(client, server_id, deh)
    assert_sdk_error(ei, 400, "Ecs.0221")


def test_cold_migration_of_a_running_server_is_refused(client, server_factory, run_tag):
    (server_id,) = server_factory.create("e2e-%s-migrateactive" % run_tag)
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        migrate(client, server_id)
    assert_sdk_error(ei, 400, "Ecs.0100")


def test_resize_flavors_lists_the_flavor_family(client, server_factory, run_tag):
    from huaweicloudsdkecs.v2 import ListResizeFlavorsRequest
    (server_id,) = server_factory.create("e2e-%s-resizeflavors" % run_tag)
    resp = client.list_resize_flavors(ListResizeFlavorsRequest(instance_uuid=server_id))
    ids = [f.id for f in resp.flavors]
    assert "s3.large.2" in ids and "s3.medium.1" not in ids, ids
    assert all(i.startswith("s3.") for i in ids), ids
    page = client.list_resize_flavors(ListResizeFlavorsRequest(source_flavor_id="s3.medium.1", limit=2))
    assert [f.id for f in page.flavors] == ids[:2]
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.list_resize_flavors(ListResizeFlavorsRequest(source_flavor_id="no.such"))
    assert_sdk_error(ei, 400, "Ecs.0029")
