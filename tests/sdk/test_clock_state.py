"""Time and state through the official SDK: a realistic create that finishes after one advance
of the virtual clock (POST /_ecsd/clock), and a reset between tests (POST /_ecsd/reset).

The module starts its own ecsd (the binary scripts/sdk-e2e.sh gives as ECSD_BIN) with
--clock virtual --latency realistic on a fresh database, as a user's test suite would, and
calls the admin API from loopback (no admin token set). Every wait is bounded.
"""

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import (
    CreatePostPaidServersRequest,
    ListServersDetailsRequest,
    ShowJobRequest,
)

from conftest import (
    EcsdConfig,
    assert_sdk_error,
    make_client,
    post_paid_body,
    show_server,
    sub_jobs_of,
    wait_job,
)


@pytest.fixture(scope="module")
def virtual_ecsd():
    """An ecsd of this module's own on a virtual clock; its endpoint. Stopped afterwards."""
    binary = os.environ.get("ECSD_BIN")
    if not binary:
        pytest.skip("ECSD_BIN is not set (scripts/sdk-e2e.sh exports it)")
    data = tempfile.mkdtemp(prefix="ecsd-sdk-clock-")
    log_path = os.path.join(data, "ecsd.log")
    log = open(log_path, "w")
    process = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0",
         "--database", "sqlite://%s/ecsd.db" % data,
         "--latency", "realistic", "--clock", "virtual", "--log-format", "text"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
        env=dict(os.environ, RUST_LOG="warn"),
    )
    try:
        deadline = time.monotonic() + 30
        endpoint = None
        while endpoint is None:
            with open(log_path) as lines:
                found = re.search(r"listening on (http://[0-9.:]+)", lines.read())
            if found:
                endpoint = found.group(1)
            elif process.poll() is not None or time.monotonic() > deadline:
                with open(log_path) as lines:
                    pytest.fail("ecsd --clock virtual did not start: %s" % lines.read())
            else:
                time.sleep(0.05)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def admin(endpoint, method, path, body=None):
    """A call to ecsd's admin API: (status, parsed JSON answer)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(endpoint + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def sdk(virtual_ecsd):
    """An SDK client of the module's ecsd, after a reset: each test starts from nothing."""
    status, answer = admin(virtual_ecsd, "POST", "/_ecsd/reset")
    assert status == 200, answer
    config = EcsdConfig()
    config.endpoint = virtual_ecsd
    return make_client(config)


def test_a_realistic_create_finishes_after_one_advance_of_the_virtual_clock(sdk, virtual_ecsd, unique_name):
    status, clock = admin(virtual_ecsd, "GET", "/_ecsd/clock")
    assert status == 200 and clock["mode"] == "virtual", clock

    created = sdk.create_post_paid_servers(
        CreatePostPaidServersRequest(body=post_paid_body(unique_name(), count=2)))
    # The clock stands still: the job waits in INIT however long the test looks.
    for _ in range(5):
        job = sdk.show_job(ShowJobRequest(job_id=created.job_id))
        assert job.status == "INIT", job
        time.sleep(0.1)

    status, moved = admin(virtual_ecsd, "POST", "/_ecsd/clock", {"advance": "60s"})
    assert status == 200, moved
    # A realistic create takes ~38 s of simulated time; none of it passes for real.
    trace = wait_job(sdk, created.job_id, timeout=15, interval=0.05)
    job = trace.final
    assert job.status == "SUCCESS", job
    assert [sub.status for sub in sub_jobs_of(job)] == ["SUCCESS", "SUCCESS"]
    assert job.end_time <= moved["now"], (job.end_time, moved)
    for server_id in created.server_ids:
        assert show_server(sdk, server_id).status == "ACTIVE"


def test_a_backwards_move_is_refused_in_the_envelope(virtual_ecsd):
    status, answer = admin(virtual_ecsd, "POST", "/_ecsd/clock", {"set": "2000-01-01T00:00:00Z"})
    assert status == 400, answer
    assert answer["error"]["code"] == "Ecsd.0400", answer


def test_a_reset_between_tests_leaves_nothing_behind(sdk, virtual_ecsd, unique_name):
    created = sdk.create_post_paid_servers(
        CreatePostPaidServersRequest(body=post_paid_body(unique_name(), count=1)))
    listed = sdk.list_servers_details(ListServersDetailsRequest())
    assert listed.count == 1

    status, answer = admin(virtual_ecsd, "POST", "/_ecsd/reset")
    assert status == 200, answer
    assert answer["removed"]["servers"] == 1 and answer["removed"]["jobs"] == 1, answer

    assert sdk.list_servers_details(ListServersDetailsRequest()).count == 0
    # The job is gone as an unknown job is: 400 Common.0011 in the SDK's exception.
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        sdk.show_job(ShowJobRequest(job_id=created.job_id))
    assert_sdk_error(excinfo, 400, "Common.0011")
