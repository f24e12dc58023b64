"""Shared fixtures and helpers for the ecsd end-to-end suite.

The suite drives a running ecsd through the official Huawei Cloud Python SDK
(huaweicloudsdkecs / huaweicloudsdkcore, pinned in requirements.txt) and uses
only the SDK's public API: EcsClient, BasicCredentials, the request/model
classes and the SDK exceptions.

Configuration comes from the environment, so the same suite can run against
any ecsd (scripts/sdk-e2e.sh sets all of these):

    ECSD_ENDPOINT    e.g. http://127.0.0.1:8080   (required, with scheme)
    ECSD_ACCESS_KEY  AK of the local account
    ECSD_SECRET_KEY  SK of the local account
    ECSD_PROJECT_ID  project id of the local account
    ECSD_JOB_TIMEOUT seconds to wait for a job to finish (default 60)
    ECSD_QUOTA_ACCESS_KEY / ECSD_QUOTA_SECRET_KEY / ECSD_QUOTA_PROJECT_ID
                     a second account whose project has small quotas (the
                     accounts file scripts/sdk-e2e.sh writes: 2 servers,
                     4 vCPUs, 1 ECS group of at most 1 member)
    ECSD_HUAWEI_ACCESS_KEY / ECSD_HUAWEI_SECRET_KEY / ECSD_HUAWEI_PROJECT_ID
                     a third account whose project is in Huawei Cloud's
                     cn-north-4 (test_regions.py); the local project is in eu-de
"""

import logging
import os
import re
import time
import itertools
import uuid

import pytest

# requests honours HTTP(S)_PROXY; a local ecsd must never go through a proxy.
_LOCAL = "127.0.0.1,localhost,::1"
for _var in ("NO_PROXY", "no_proxy"):
    _cur = os.environ.get(_var, "")
    os.environ[_var] = "%s,%s" % (_cur, _LOCAL) if _cur else _LOCAL

from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc  # noqa: E402
from huaweicloudsdkcore.http.http_config import HttpConfig  # noqa: E402
from huaweicloudsdkecs.v2 import (  # noqa: E402
    BatchStartServersOption,
    BatchStartServersRequest,
    BatchStartServersRequestBody,
    BatchStopServersOption,
    BatchStopServersRequest,
    BatchStopServersRequestBody,
    CreatePostPaidServersRequest,
    CreatePostPaidServersRequestBody,
    CreateServersRequest,
    CreateServersRequestBody,
    DeleteServersRequest,
    DeleteServersRequestBody,
    EcsClient,
    PostPaidServer,
    PostPaidServerNic,
    PostPaidServerRootVolume,
    PrePaidServer,
    PrePaidServerNic,
    PrePaidServerRootVolume,
    ServerId,
    ShowJobRequest,
    ShowServerRequest,
)

DEFAULT_AK = "ECSDTESTACCESSKEY001"
DEFAULT_SK = "ecsdTestSecretKey0000000000000000000001"
DEFAULT_PROJECT = "0123456789abcdef0123456789abcdef"
DEFAULT_QUOTA_AK = "ECSDQUOTAACCESSKEY01"
DEFAULT_QUOTA_SK = "ecsdQuotaSecretKey000000000000000000001"
DEFAULT_QUOTA_PROJECT = "9a0000000000000000000000000000a9"
DEFAULT_HUAWEI_AK = "ECSDHUAWEIACCESSKEY1"
DEFAULT_HUAWEI_SK = "ecsdHuaweiSecretKey00000000000000000001"
DEFAULT_HUAWEI_PROJECT = "c4000000000000000000000000000c4a"

JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TERMINAL = ("SUCCESS", "FAIL")
NON_TERMINAL = ("INIT", "RUNNING")
JOB_STATUSES = TERMINAL + NON_TERMINAL

_NAME_SERIAL = itertools.count(1)

# Flavors the ecsd catalogue promises to contain.
REQUIRED_FLAVORS = ("s3.medium.1", "s3.medium.2", "s3.large.2", "c3.large.2", "m3.large.8")
DEFAULT_FLAVOR = "s3.medium.1"

# The SDK logs connection errors through a logger without a handler; keep the
# test output clean (the exceptions themselves still propagate).
logging.getLogger("HuaweiCloud-SDK").setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------
# configuration and client


class EcsdConfig:
    def __init__(self):
        self.endpoint = os.environ.get("ECSD_ENDPOINT", "").strip()
        self.ak = os.environ.get("ECSD_ACCESS_KEY") or DEFAULT_AK
        self.sk = os.environ.get("ECSD_SECRET_KEY") or DEFAULT_SK
        self.project_id = os.environ.get("ECSD_PROJECT_ID") or DEFAULT_PROJECT
        self.job_timeout = float(os.environ.get("ECSD_JOB_TIMEOUT") or 60)
        self.quota_ak = os.environ.get("ECSD_QUOTA_ACCESS_KEY") or DEFAULT_QUOTA_AK
        self.quota_sk = os.environ.get("ECSD_QUOTA_SECRET_KEY") or DEFAULT_QUOTA_SK
        self.quota_project_id = os.environ.get("ECSD_QUOTA_PROJECT_ID") or DEFAULT_QUOTA_PROJECT
        self.huawei_ak = os.environ.get("ECSD_HUAWEI_ACCESS_KEY") or DEFAULT_HUAWEI_AK
        self.huawei_sk = os.environ.get("ECSD_HUAWEI_SECRET_KEY") or DEFAULT_HUAWEI_SK
        self.huawei_project_id = os.environ.get("ECSD_HUAWEI_PROJECT_ID") or DEFAULT_HUAWEI_PROJECT


@pytest.fixture(scope="session")
def ecsd_config():
    cfg = EcsdConfig()
    if not cfg.endpoint:
        pytest.fail(
            "ECSD_ENDPOINT is not set (e.g. http://127.0.0.1:8080). "
            "Run scripts/sdk-e2e.sh, which starts an ecsd and sets it.",
            pytrace=False,
        )
    if not cfg.endpoint.startswith(("http://", "https://")):
        # Without a scheme the SDK prepends https://, which fails against plain http.
        pytest.fail("ECSD_ENDPOINT must include the scheme: %r" % cfg.endpoint, pytrace=False)
    return cfg


def make_client(cfg, ak=None, sk=None, project_id=None):
    config = HttpConfig.get_default_config()
    config.timeout = (10, 60)
    config.ignore_ssl_verification = True  # only matters for an https endpoint
    creds = BasicCredentials(ak or cfg.ak, sk or cfg.sk, project_id or cfg.project_id)
    return (
        EcsClient.new_builder()
        .with_http_config(config)
        .with_credentials(creds)
        .with_endpoints([cfg.endpoint])
        .build()
    )


@pytest.fixture(scope="session")
def client(ecsd_config):
    return make_client(ecsd_config)


@pytest.fixture(scope="session")
def project_id(ecsd_config):
    return ecsd_config.project_id


@pytest.fixture(scope="session")
def run_tag():
    """A per-run tag so server names never collide with earlier runs."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def unique_name(run_tag, request):
    """Returns a function making a name unique to this run and test."""
    test = re.sub(r"[^a-z0-9]+", "-", request.node.originalname.lower()).strip("-")
    test = test[len("test-"):] if test.startswith("test-") else test

    def make(label="srv"):
        # The session-wide serial number keeps names unique (and never a prefix of one
        # another, as ListServersDetails matches names fuzzily) across parametrized tests.
        return "e2e-%s-%s-%s%04d" % (run_tag, test[:24], label, next(_NAME_SERIAL))

    return make


# --------------------------------------------------------------------------
# jobs


class JobTrace:
    """The result of polling a job: every response seen, in order."""

    def __init__(self, job_id):
        self.job_id = job_id
        self.responses = []

    @property
    def statuses(self):
        return [r.status for r in self.responses]

    @property
    def first(self):
        return self.responses[0]

    @property
    def final(self):
        return self.responses[-1]


def wait_job(client, job_id, timeout=60, interval=0.2):
    """Polls ShowJob until SUCCESS/FAIL or the deadline; returns a JobTrace.

    The first ShowJob is sent immediately, so the trace shows the job's early
    (non-terminal) state when the operation takes any time at all.
    """
    trace = JobTrace(job_id)
    deadline = time.monotonic() + timeout
    while True:
        resp = client.show_job(ShowJobRequest(job_id=job_id))
        trace.responses.append(resp)
        assert resp.status in JOB_STATUSES, "job %s has unknown status %r" % (job_id, resp.status)
        if resp.status in TERMINAL:
            return trace
        if time.monotonic() >= deadline:
            pytest.fail(
                "job %s did not finish within %ss; statuses seen: %s; last: %s"
                % (job_id, timeout, _compress(trace.statuses), resp)
            )
        time.sleep(interval)


@pytest.fixture(name="wait_job")
def wait_job_fixture(ecsd_config, client):
    """wait_job bound to the session client and the configured timeout."""

    def _wait(job_id, timeout=None, interval=0.2, client_=None):
        return wait_job(client_ or client, job_id, timeout=timeout or ecsd_config.job_timeout,
                        interval=interval)

    return _wait


def _compress(statuses):
    out = []
    for s in statuses:
        if out and out[-1][0] == s:
            out[-1][1] += 1
        else:
            out.append([s, 1])
    return " -> ".join("%s x%d" % (s, n) if n > 1 else s for s, n in out)


def sub_jobs_of(job):
    entities = job.entities
    assert entities is not None, "job %s has no entities: %s" % (job.job_id, job)
    return entities.sub_jobs or []


def assert_job_succeeded(job, job_type, sub_job_type, server_ids):
    """Checks a terminal SUCCESS job with one sub-job per server."""
    server_ids = list(server_ids)
    assert job.status == "SUCCESS", "job failed: %s" % job
    assert JOB_ID_RE.match(job.job_id or ""), job.job_id
    assert job.job_type == job_type
    assert job.error_code is None, job
    assert job.fail_reason is None, job
    assert TIME_RE.match(job.begin_time or ""), "begin_time %r" % job.begin_time
    assert TIME_RE.match(job.end_time or ""), "end_time %r" % job.end_time
    assert job.begin_time <= job.end_time, (job.begin_time, job.end_time)
    subs = sub_jobs_of(job)
    assert job.entities.sub_jobs_total == len(server_ids), job.entities
    assert len(subs) == len(server_ids), job.entities
    seen = []
    for sub in subs:
        assert sub.job_type == sub_job_type, sub
        assert sub.status == "SUCCESS", sub
        assert JOB_ID_RE.match(sub.job_id or ""), sub
        assert sub.job_id != job.job_id, sub
        assert sub.error_code is None and sub.fail_reason is None, sub
        assert TIME_RE.match(sub.begin_time or ""), "sub-job begin_time %r" % sub.begin_time
        assert TIME_RE.match(sub.end_time or ""), "sub-job end_time %r" % sub.end_time
        # The sub-job runs inside the parent's window (same format, so string order works).
        assert job.begin_time <= sub.begin_time <= sub.end_time <= job.end_time, (job, sub)
        assert sub.entities is not None and sub.entities.server_id, sub
        seen.append(sub.entities.server_id)
    assert sorted(seen) == sorted(server_ids), (seen, server_ids)
    assert len({s.job_id for s in subs}) == len(subs), "sub-job ids are not unique"


def assert_non_terminal_job_shape(job):
    """A job still in INIT/RUNNING: end_time is "" and the error fields are absent (None in
    the SDK's model), as in the real service's RUNNING body (JOB-FACTS.md)."""
    assert job.status in NON_TERMINAL, job
    assert TIME_RE.match(job.begin_time or ""), "begin_time %r" % job.begin_time
    assert job.end_time == "", "end_time must be \"\" until terminal: %s" % job
    assert job.error_code is None and job.fail_reason is None, job


# --------------------------------------------------------------------------
# errors


def assert_sdk_error(excinfo, status, code):
    """Checks the SDK exception made from an ecsd error response."""
    exc = excinfo.value
    assert isinstance(exc, sdk_exc.ServiceResponseException), repr(exc)
    if status >= 500:
        assert isinstance(exc, sdk_exc.ServerResponseException), repr(exc)
    else:
        assert isinstance(exc, sdk_exc.ClientRequestException), repr(exc)
    # If error_code == str(status) the SDK could not parse the error body.
    assert exc.error_code != str(exc.status_code), (
        "the SDK could not parse the error body (no code/message pair): %s" % exc
    )
    assert exc.status_code == status, str(exc)
    if code is not None:
        assert exc.error_code == code, str(exc)
    assert exc.error_msg, "empty error message: %s" % exc
    assert exc.request_id, "no X-Request-Id on the error response: %s" % exc
    return exc


# --------------------------------------------------------------------------
# request builders


def new_uuid():
    return str(uuid.uuid4())


def post_paid_body(name, count=1, flavor=DEFAULT_FLAVOR, image=None, dry_run=None,
                   vpc=None, subnet=None, volumetype="SSD", availability_zone=None):
    """Body for CreatePostPaidServers (POST /v1/{project_id}/cloudservers)."""
    server = PostPaidServer(
        image_ref=image or new_uuid(),
        flavor_ref=flavor,
        name=name,
        vpcid=vpc or new_uuid(),
        nics=[PostPaidServerNic(subnet_id=subnet or new_uuid())],
        root_volume=PostPaidServerRootVolume(volumetype=volumetype),
        count=count,
        availability_zone=availability_zone,
    )
    return CreatePostPaidServersRequestBody(server=server, dry_run=dry_run)


def pre_paid_body(name, count=1, flavor=DEFAULT_FLAVOR, image=None, dry_run=None,
                  vpc=None, subnet=None, volumetype="SSD"):
    """Body for CreateServers (POST /v1.1/{project_id}/cloudservers)."""
    server = PrePaidServer(
        image_ref=image or new_uuid(),
        flavor_ref=flavor,
        name=name,
        vpcid=vpc or new_uuid(),
        nics=[PrePaidServerNic(subnet_id=subnet or new_uuid())],
        root_volume=PrePaidServerRootVolume(volumetype=volumetype),
        count=count,
    )
    return CreateServersRequestBody(server=server, dry_run=dry_run)


def create_v1(client, name, **kw):
    return client.create_post_paid_servers(CreatePostPaidServersRequest(body=post_paid_body(name, **kw)))


def create_v11(client, name, **kw):
    return client.create_servers(CreateServersRequest(body=pre_paid_body(name, **kw)))


def server_refs(ids):
    return [ServerId(id=i) for i in ids]


def stop_servers(client, ids, type_="SOFT"):
    body = BatchStopServersRequestBody(os_stop=BatchStopServersOption(servers=server_refs(ids), type=type_))
    return client.batch_stop_servers(BatchStopServersRequest(body=body))


def start_servers(client, ids):
    body = BatchStartServersRequestBody(os_start=BatchStartServersOption(servers=server_refs(ids)))
    return client.batch_start_servers(BatchStartServersRequest(body=body))


def delete_servers(client, ids, delete_publicip=True, delete_volume=True):
    body = DeleteServersRequestBody(servers=server_refs(ids), delete_publicip=delete_publicip,
                                    delete_volume=delete_volume)
    return client.delete_servers(DeleteServersRequest(body=body))


def show_server(client, server_id):
    return client.show_server(ShowServerRequest(server_id=server_id)).server


# --------------------------------------------------------------------------
# servers created for a test, cleaned up afterwards


class ServerFactory:
    """Creates ready (ACTIVE) servers for tests and deletes them at teardown."""

    def __init__(self, client, wait):
        self.client = client
        self.wait = wait
        self.created = []

    def create(self, name, count=1, **kw):
        resp = create_v1(self.client, name, count=count, **kw)
        ids = list(resp.server_ids or [])
        self.created.extend(ids)
        trace = self.wait(resp.job_id)
        assert trace.final.status == "SUCCESS", "create job failed: %s" % trace.final
        return ids

    def cleanup(self):
        alive = []
        for sid in self.created:
            try:
                show_server(self.client, sid)
                alive.append(sid)
            except sdk_exc.ClientRequestException:
                pass
        if not alive:
            return
        try:
            resp = delete_servers(self.client, alive)
            self.wait(resp.job_id)
        except Exception as e:  # cleanup is best effort; don't mask the test's own result
            print("cleanup of %s failed: %r" % (alive, e))


@pytest.fixture(scope="module")
def server_factory(ecsd_config):
    client = make_client(ecsd_config)

    def _wait(job_id):
        return wait_job(client, job_id, timeout=ecsd_config.job_timeout)

    factory = ServerFactory(client, _wait)
    yield factory
    factory.cleanup()


def assert_single_job_succeeded(job, job_type, server_id):
    """Checks a terminal SUCCESS job on one server: entities.server_id, no sub-jobs."""
    assert job.status == "SUCCESS", "job failed: %s" % job
    assert JOB_ID_RE.match(job.job_id or ""), job.job_id
    assert job.job_type == job_type, job
    assert job.error_code is None and job.fail_reason is None, job
    assert TIME_RE.match(job.begin_time or ""), "begin_time %r" % job.begin_time
    assert TIME_RE.match(job.end_time or ""), "end_time %r" % job.end_time
    assert job.entities is not None and job.entities.server_id == server_id, job
    assert not job.entities.sub_jobs, job


def stopped_server(server_factory, client, wait_job, name):
    """One new server, built and stopped; returns its id."""
    (server_id,) = server_factory.create(name)
    trace = wait_job(stop_servers(client, [server_id]).job_id)
    assert trace.final.status == "SUCCESS", trace.final
    assert show_server(client, server_id).status == "SHUTOFF"
    return server_id
