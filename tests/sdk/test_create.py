"""Creating servers (v1 CreatePostPaidServers, v1.1 CreateServers), the createServer
job, and the resulting servers as seen by ShowServer and ListServersDetails."""

import time

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import ListServersDetailsRequest, ShowJobRequest

from conftest import (
    JOB_ID_RE,
    NON_TERMINAL,
    UUID_RE,
    assert_job_succeeded,
    assert_non_terminal_job_shape,
    create_v1,
    create_v11,
    delete_servers,
    new_uuid,
    show_server,
    wait_job,
)


class Created:
    """One create call and everything observed while its job ran."""

    def __init__(self, name, flavor, image, resp):
        self.name = name
        self.flavor = flavor
        self.image = image
        self.resp = resp
        self.early_job = None       # first ShowJob, sent right after the create
        self.early_server = None    # ShowServer of the first server, right after that
        self.later_job = None       # ShowJob right after the early ShowServer
        self.trace = None           # full polling trace until terminal

    @property
    def ids(self):
        return list(self.resp.server_ids or [])


def _create_and_observe(client, cfg, creator, name, count, flavor):
    image = new_uuid()
    resp = creator(client, name, count=count, flavor=flavor, image=image)
    c = Created(name, flavor, image, resp)
    if resp.job_id:
        c.early_job = client.show_job(ShowJobRequest(job_id=resp.job_id))
        if resp.server_ids:
            try:
                c.early_server = show_server(client, resp.server_ids[0])
            except sdk_exc.ClientRequestException as e:
                c.early_server = e
        c.later_job = client.show_job(ShowJobRequest(job_id=resp.job_id))
        c.trace = wait_job(client, resp.job_id, timeout=cfg.job_timeout)
    return c


def _cleanup(client, cfg, created):
    if created.ids:
        try:
            wait_job(client, delete_servers(client, created.ids).job_id, timeout=cfg.job_timeout)
        except Exception as e:  # best effort
            print("cleanup failed: %r" % e)


@pytest.fixture(scope="module")
def v1_pair(client, ecsd_config, run_tag):
    """Two servers made by one v1 create with count=2."""
    c = _create_and_observe(client, ecsd_config, create_v1, "e2e-%s-v1pair" % run_tag, 2, "s3.medium.2")
    yield c
    _cleanup(client, ecsd_config, c)


@pytest.fixture(scope="module")
def v11_single(client, ecsd_config, run_tag):
    """One server made by a v1.1 create with count=1."""
    c = _create_and_observe(client, ecsd_config, create_v11, "e2e-%s-v11one" % run_tag, 1, "c3.large.2")
    yield c
    _cleanup(client, ecsd_config, c)


CREATES = ["v1_pair", "v11_single"]


@pytest.fixture(params=CREATES)
def created(request):
    return request.getfixturevalue(request.param)


def _expected_count(c):
    return 2 if c.name.endswith("v1pair") else 1


# ---------------------------------------------------------------- the create response


def test_create_returns_job_id_and_server_ids(created):
    resp = created.resp
    assert resp.status_code == 200, resp.status_code
    assert JOB_ID_RE.match(resp.job_id or ""), "job_id %r is not 32 lowercase hex" % resp.job_id
    ids = created.ids
    assert len(ids) == _expected_count(created), resp
    for sid in ids:
        assert UUID_RE.match(sid), "server id %r is not a UUID" % sid
    assert len(set(ids)) == len(ids)


# ---------------------------------------------------------------- the createServer job


def test_create_job_is_observed_non_terminal_first(created):
    """Right after the create, ShowJob reports INIT or RUNNING (--latency fast still takes time)."""
    assert created.early_job is not None
    assert created.early_job.status in NON_TERMINAL, (
        "the first ShowJob after create already reported %s: %s" % (created.early_job.status, created.early_job)
    )
    assert created.trace.statuses[-1] == "SUCCESS", created.trace.statuses


def test_create_job_non_terminal_shape(created):
    """While running: job id/type are set, end_time is "" and error_code/fail_reason are absent
    (the real service's RUNNING body, JOB-FACTS.md), which the SDK reads as None."""
    job = created.early_job
    if job.status not in NON_TERMINAL:
        pytest.skip("job was already terminal at the first poll")
    assert job.job_id == created.resp.job_id
    assert job.job_type == "createServer"
    assert_non_terminal_job_shape(job)
    for sub in job.entities.sub_jobs or [] if job.entities else []:
        if sub.status in NON_TERMINAL:
            assert sub.end_time == "", "sub-job end_time must be \"\" until terminal: %s" % sub
            assert sub.error_code is None and sub.fail_reason is None, sub
            assert sub.entities is not None and sub.entities.server_id, sub


def test_job_statuses_only_move_forward(created):
    order = {"INIT": 0, "RUNNING": 1, "SUCCESS": 2, "FAIL": 2}
    seen = [created.early_job.status, created.later_job.status] + created.trace.statuses
    ranks = [order[s] for s in seen]
    assert ranks == sorted(ranks), "job status went backwards: %s" % seen


def test_create_job_succeeds_with_one_sub_job_per_server(created):
    job = created.trace.final
    assert job.job_id == created.resp.job_id
    assert_job_succeeded(job, "createServer", "createSingleServer", created.ids)


def test_terminal_job_is_stable(client, created):
    """A finished job answers the same on later queries."""
    again = client.show_job(ShowJobRequest(job_id=created.resp.job_id))
    final = created.trace.final
    assert again.status == final.status
    assert again.begin_time == final.begin_time
    assert again.end_time == final.end_time
    assert again.entities.sub_jobs_total == final.entities.sub_jobs_total


# ---------------------------------------------------------------- the servers


def test_server_is_build_while_its_sub_job_runs(created):
    """ShowServer between two non-terminal ShowJobs sees BUILD for a server still being created."""
    later = created.later_job
    if later is None or later.status not in NON_TERMINAL:
        pytest.skip("job already finished before the server could be observed in BUILD")
    sid = created.ids[0]
    sub_running = any(
        s.entities and s.entities.server_id == sid and s.status in NON_TERMINAL
        for s in (later.entities.sub_jobs or [] if later.entities else [])
    )
    if not sub_running:
        pytest.skip("the server's own sub-job had already finished")
    srv = created.early_server
    assert not isinstance(srv, Exception), "ShowServer of a server being built failed: %s" % srv
    assert srv.status == "BUILD", "server %s is %s while its createSingleServer sub-job runs" % (sid, srv.status)
    assert srv.os_ext_st_svm_state == "building", srv.os_ext_st_svm_state


def test_servers_are_active_with_suffixed_names(client, created, project_id):
    ids = created.ids
    expected_names = (
        ["%s-%04d" % (created.name, i) for i in range(len(ids))] if len(ids) > 1 else [created.name]
    )
    names = []
    for sid in ids:
        srv = show_server(client, sid)
        assert srv.id == sid
        assert srv.status == "ACTIVE", srv.status
        assert srv.os_ext_st_svm_state == "active", srv.os_ext_st_svm_state
        assert srv.flavor is not None and srv.flavor.id == created.flavor, srv.flavor
        assert srv.image is not None and srv.image.id == created.image, srv.image
        assert srv.tenant_id == project_id, srv.tenant_id
        assert srv.created, "server has no created time"
        names.append(srv.name)
    assert sorted(names) == sorted(expected_names), names


def test_server_has_addresses_and_root_volume(client, created):
    for sid in created.ids:
        srv = show_server(client, sid)
        assert isinstance(srv.addresses, dict) and srv.addresses, "no addresses: %r" % srv.addresses
        ports = [a.os_ext_ip_sport_id for addrs in srv.addresses.values() for a in (addrs or [])]
        assert ports and all(ports), "addresses without OS-EXT-IPS:port_id: %r" % srv.addresses
        vols = srv.os_extended_volumesvolumes_attached
        assert vols, "no os-extended-volumes:volumes_attached"
        assert all(v.id for v in vols), vols
        assert all(v.device for v in vols), vols


# ---------------------------------------------------------------- ListServersDetails


def _list(client, **kw):
    return client.list_servers_details(ListServersDetailsRequest(**kw))


def test_list_by_name_finds_the_servers(client, created):
    resp = _list(client, name=created.name)
    found = sorted(s.id for s in resp.servers or [])
    assert found == sorted(created.ids), "name=%s listed %s" % (created.name, found)
    assert resp.count == len(created.ids), resp.count


def test_list_by_name_and_status(client, created):
    resp = _list(client, name=created.name, status="ACTIVE")
    assert sorted(s.id for s in resp.servers or []) == sorted(created.ids)
    assert resp.count == len(created.ids)
    resp = _list(client, name=created.name, status="SHUTOFF")
    assert not resp.servers and resp.count == 0, resp


def test_list_by_name_and_flavor(client, created):
    resp = _list(client, name=created.name, flavor=created.flavor)
    assert sorted(s.id for s in resp.servers or []) == sorted(created.ids)
    other = "m3.large.8"
    resp = _list(client, name=created.name, flavor=other)
    assert not resp.servers and resp.count == 0, resp


def test_list_entries_carry_server_details(client, created):
    resp = _list(client, name=created.name)
    for s in resp.servers or []:
        assert s.status == "ACTIVE"
        assert s.flavor is not None and s.flavor.id == created.flavor
        assert s.name.startswith(created.name)


def test_list_pagination(client, v1_pair):
    """limit=1 with offset as a 1-based page number; count stays the total."""
    pages = []
    for page in (1, 2):
        resp = _list(client, name=v1_pair.name, limit=1, offset=page)
        assert len(resp.servers or []) == 1, "page %d: %s" % (page, resp)
        assert resp.count == 2, "page %d: count=%s (should be the total match count)" % (page, resp.count)
        pages.append(resp.servers[0].id)
    assert sorted(pages) == sorted(v1_pair.ids), pages
    resp = _list(client, name=v1_pair.name, limit=1, offset=3)
    assert not resp.servers, resp


def test_list_unknown_name_is_empty(client, run_tag):
    resp = _list(client, name="e2e-%s-no-such-server" % run_tag)
    assert resp.status_code == 200
    assert not resp.servers and resp.count == 0, resp


def test_list_without_filters_includes_the_servers(client, v1_pair, v11_single):
    resp = _list(client, limit=1000)
    ids = {s.id for s in resp.servers or []}
    assert set(v1_pair.ids) <= ids and set(v11_single.ids) <= ids
    assert resp.count >= len(v1_pair.ids) + len(v11_single.ids)
