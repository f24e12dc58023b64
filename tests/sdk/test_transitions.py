"""What ShowServer reports while a job on the server is still running.

A client waits for the job, not for the server status; so while the server's
sub-job is INIT/RUNNING the server must still look like its starting state
(with the documented transitional status/task_state), and it must be in the
final state once the job is SUCCESS. Transitions per ASYNC-OPERATIONS.md §2.2.
Only samples taken between two ShowJobs that both saw the server's sub-job
non-terminal are judged, so timing cannot make these tests flaky.
"""

import time

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkecs.v2 import (
    BatchRebootServersRequest,
    BatchRebootServersRequestBody,
    BatchRebootSeversOption,
    ShowJobRequest,
)

from conftest import (
    NON_TERMINAL,
    assert_job_succeeded,
    delete_servers,
    server_refs,
    show_server,
    start_servers,
    stop_servers,
)


def _sub_status(job, sid):
    for sub in (job.entities.sub_jobs or []) if job.entities else []:
        if sub.entities and sub.entities.server_id == sid:
            return sub.status
    return None


def sample_while_running(client, job_id, sid, timeout):
    """Returns ([(status, vm_state, task_state)] seen mid-job, final job)."""
    samples = []
    deadline = time.monotonic() + timeout
    before = client.show_job(ShowJobRequest(job_id=job_id))
    while before.status in NON_TERMINAL:
        assert time.monotonic() < deadline, "job %s did not finish in %ss" % (job_id, timeout)
        try:
            srv = show_server(client, sid)
        except ClientRequestException as e:
            if e.status_code != 404:
                raise
            srv = None  # a deleted server may vanish as its sub-job completes
        after = client.show_job(ShowJobRequest(job_id=job_id))
        if srv is None:
            assert _sub_status(after, sid) not in NON_TERMINAL, (
                "server %s answered 404 while its sub-job was still running: %s" % (sid, after))
        elif after.status in NON_TERMINAL and _sub_status(after, sid) in NON_TERMINAL:
            samples.append((srv.status, srv.os_ext_st_svm_state, srv.os_ext_st_stask_state))
        before = after
        time.sleep(0.02)
    return samples, before


def _judge(samples, allowed):
    if not samples:
        pytest.skip("the job finished before the server could be sampled mid-job")
    bad = sorted({s for s in samples if s not in allowed})
    assert not bad, "while the job ran the server showed %s; allowed: %s" % (bad, sorted(allowed, key=str))


@pytest.fixture(scope="module")
def sid(server_factory, run_tag):
    (server_id,) = server_factory.create("e2e-%s-trans" % run_tag)
    return server_id


def test_stop_keeps_server_active_until_done(client, ecsd_config, sid):
    samples, job = sample_while_running(client, stop_servers(client, [sid]).job_id, sid, ecsd_config.job_timeout)
    assert_job_succeeded(job, "batchStopServers", "stopServer", [sid])
    s = show_server(client, sid)
    assert (s.status, s.os_ext_st_svm_state, s.os_ext_st_stask_state) == ("SHUTOFF", "stopped", None)
    _judge(samples, {("ACTIVE", "active", None), ("ACTIVE", "active", "powering-off")})


def test_start_keeps_server_shutoff_until_done(client, ecsd_config, sid):
    samples, job = sample_while_running(client, start_servers(client, [sid]).job_id, sid, ecsd_config.job_timeout)
    assert_job_succeeded(job, "batchStartServers", "startServer", [sid])
    s = show_server(client, sid)
    assert (s.status, s.os_ext_st_svm_state, s.os_ext_st_stask_state) == ("ACTIVE", "active", None)
    _judge(samples, {("SHUTOFF", "stopped", None), ("SHUTOFF", "stopped", "powering-on")})


@pytest.mark.parametrize("kind,status,tasks", [
    ("SOFT", "REBOOT", ("rebooting", "reboot_pending", "reboot_started")),
    ("HARD", "HARD_REBOOT", ("rebooting_hard", "reboot_pending_hard", "reboot_started_hard")),
])
def test_reboot_transitional_status(client, ecsd_config, sid, kind, status, tasks):
    body = BatchRebootServersRequestBody(reboot=BatchRebootSeversOption(servers=server_refs([sid]), type=kind))
    job_id = client.batch_reboot_servers(BatchRebootServersRequest(body=body)).job_id
    samples, job = sample_while_running(client, job_id, sid, ecsd_config.job_timeout)
    assert_job_succeeded(job, "batchRebootServers", "rebootServer", [sid])
    s = show_server(client, sid)
    assert (s.status, s.os_ext_st_svm_state, s.os_ext_st_stask_state) == ("ACTIVE", "active", None)
    allowed = {("ACTIVE", "active", None)} | {(status, "active", t) for t in tasks}
    _judge(samples, allowed)


def test_delete_keeps_status_until_gone(client, ecsd_config, server_factory, run_tag):
    (victim,) = server_factory.create("e2e-%s-transdel" % run_tag)
    samples, job = sample_while_running(client, delete_servers(client, [victim]).job_id, victim,
                                        ecsd_config.job_timeout)
    assert_job_succeeded(job, "deleteVMs", "deleteSingleServer", [victim])
    _judge(samples, {("ACTIVE", "active", None), ("ACTIVE", "active", "deleting")})
