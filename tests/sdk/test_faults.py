"""Fault rules (POST /_ecsd/faults) as the official SDK sees each effect.

The rules are added through ecsd's admin API on the same server, over plain HTTP from loopback
(scripts/sdk-e2e.sh starts ecsd without an admin token, so loopback callers need none). Each
rule is scoped to this test's project and server names, and deleted after the test.

What the SDK shows, effect by effect (the resolving note of issue 11 quotes these):
- fail: the job ends FAIL with the rule's error_code / fail_reason; sub_jobs say which failed;
  a failed create's server is ERROR with its fault.
- stuck: the job stays RUNNING until POST /_ecsd/jobs/{job_id}/release.
- throttle 429: the SDK's HTTP adapter (urllib3, retry_times 0, 429 in its status list) turns
  it into ClientRequestException(429) with error_code "429" and no request_id: the body never
  reaches the caller. throttle 503 Common.1503: ServerResponseException with the code and id.
- gateway_error: ServerResponseException(502), error_code "502" (the body is HTML, not JSON),
  error_msg the HTML, request_id from X-Request-Id.
- reject: ClientRequestException with the rule's status, code and message.
- drop_response: ConnectionException; a retry with the same X-Client-Token answers the first
  job and creates nothing more.
"""

import json
import urllib.error
import urllib.request
import uuid

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import (
    CreatePostPaidServersRequest,
    ListServersDetailsRequest,
    ShowJobRequest,
)

from conftest import (
    assert_non_terminal_job_shape,
    assert_sdk_error,
    create_v1,
    delete_servers,
    post_paid_body,
    show_server,
    stop_servers,
    sub_jobs_of,
)


def admin(cfg, method, path, body=None):
    """One admin API call; returns (status, JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(cfg.endpoint + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def fault(ecsd_config, project_id):
    """Adds a rule scoped to this test's project; every rule added is deleted afterwards."""
    added = []

    def add(**rule):
        rule.setdefault("project_id", project_id)
        status, body = admin(ecsd_config, "POST", "/_ecsd/faults", rule)
        assert status == 201, body
        assert body["id"], body
        added.append(body["id"])
        return body["id"]

    yield add
    for rule_id in added:
        admin(ecsd_config, "DELETE", "/_ecsd/faults/" + rule_id)


def fired(cfg, rule_id):
    status, body = admin(cfg, "GET", "/_ecsd/faults")
    assert status == 200, body
    return next(rule["fired"] for rule in body["faults"] if rule["id"] == rule_id)


@pytest.fixture
def cleanup(client, wait_job):
    """Deletes the servers a test lists here, whatever state they ended in."""
    ids = []
    yield ids
    alive = []
    for server_id in ids:
        try:
            show_server(client, server_id)
            alive.append(server_id)
        except sdk_exc.ClientRequestException:
            pass
    if alive:
        wait_job(delete_servers(client, alive).job_id)


def test_fail_on_the_second_sub_job_is_a_partial_failure(client, ecsd_config, fault, unique_name,
                                                         wait_job, cleanup):
    name = unique_name()
    rule = fault(operation="createServer", server_name=name + "*", times=1, effect="fail",
                 error_code="Ecs.0204", fail_reason="no capacity", sub_jobs=[1])
    created = create_v1(client, name, count=2)
    cleanup.extend(created.server_ids)
    job = wait_job(created.job_id).final

    assert job.status == "FAIL", job
    assert job.error_code == "Ecs.0204" and job.fail_reason == "no capacity", job
    subs = sub_jobs_of(job)
    assert [sub.entities.server_id for sub in subs] == list(created.server_ids)
    assert [sub.status for sub in subs] == ["SUCCESS", "FAIL"], subs
    assert subs[0].error_code is None, subs[0]
    assert (subs[1].error_code, subs[1].fail_reason) == ("Ecs.0204", "no capacity"), subs[1]

    first, second = (show_server(client, sid) for sid in created.server_ids)
    assert first.status == "ACTIVE", first
    assert first.fault is None, first
    assert second.status == "ERROR", second
    # As a failed create's server shows it: code 500, the job's code and reason in the message.
    # (The SDK's model keeps `fault` as a dict.)
    assert second.fault is not None and second.fault["code"] == 500, second.fault
    assert second.fault["message"] == "Ecs.0204: no capacity", second.fault
    assert second.fault["details"] == "no capacity", second.fault
    assert fired(ecsd_config, rule) == 1


def test_a_stuck_stop_runs_until_released(client, ecsd_config, project_id, fault, unique_name,
                                         wait_job, cleanup):
    created = create_v1(client, unique_name(), count=1)
    cleanup.extend(created.server_ids)
    assert wait_job(created.job_id).final.status == "SUCCESS"
    server_id = created.server_ids[0]
    fault(operation="batchStopServers", server_id=server_id, effect="stuck")

    stop = stop_servers(client, [server_id])
    # Far longer than a fast stop takes: still RUNNING, and the server still held.
    for _ in range(5):
        job = client.show_job(ShowJobRequest(job_id=stop.job_id))
        assert_non_terminal_job_shape(job)
    status, body = admin(ecsd_config, "POST", "/_ecsd/jobs/%s/release" % stop.job_id)
    assert (status, body["released"]) == (200, 1), body
    job = wait_job(stop.job_id).final
    assert job.status == "SUCCESS", job
    assert show_server(client, server_id).status == "SHUTOFF"
    # Released once: a second release is a conflict.
    status, body = admin(ecsd_config, "POST",
                         "/_ecsd/jobs/%s/release?project_id=%s" % (stop.job_id, project_id))
    assert status == 409 and body["error"]["code"] == "Ecsd.0409", body


def test_the_second_poll_of_a_job_is_throttled(client, ecsd_config, fault, unique_name, wait_job,
                                              cleanup):
    created = create_v1(client, unique_name(), count=1)
    cleanup.extend(created.server_ids)
    fault(operation="ShowJob", job_id=created.job_id, after=1, times=1, effect="throttle",
          retry_after=3)
    client.show_job(ShowJobRequest(job_id=created.job_id))
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        client.show_job(ShowJobRequest(job_id=created.job_id))
    # The SDK's HTTP adapter retries 429s (retry_times 0) and reports the exhausted retry: the
    # gateway's body (APIGW.0308) and the request id never reach the caller.
    exc = excinfo.value
    assert exc.status_code == 429, exc
    assert exc.error_code == "429", exc
    assert "too many 429 error responses" in exc.error_msg, exc
    # The third poll is answered, and the job finishes as usual.
    assert wait_job(created.job_id).final.status == "SUCCESS"


def test_a_503_throttle_in_the_ecs_envelope(client, fault, unique_name, wait_job, cleanup):
    created = create_v1(client, unique_name(), count=1)
    cleanup.extend(created.server_ids)
    fault(operation="ShowJob", job_id=created.job_id, times=1, effect="throttle", status=503,
          code="Common.1503")
    with pytest.raises(sdk_exc.ServerResponseException) as excinfo:
        client.show_job(ShowJobRequest(job_id=created.job_id))
    assert_sdk_error(excinfo, 503, "Common.1503")
    assert wait_job(created.job_id).final.status == "SUCCESS"


def test_a_throttled_create_creates_nothing(client, fault, unique_name):
    name = unique_name()
    # A batch names its servers NAME-0000, NAME-0001.
    fault(operation="createServer", server_name=name + "-*", effect="throttle", status=503,
          code="Common.1503", retry_after=5)
    with pytest.raises(sdk_exc.ServerResponseException) as excinfo:
        create_v1(client, name, count=2)
    assert_sdk_error(excinfo, 503, "Common.1503")
    listed = client.list_servers_details(ListServersDetailsRequest(name=name))
    assert listed.count == 0, listed


def test_reject_answers_the_rules_code(client, fault, unique_name):
    name = unique_name()
    fault(operation="createServer", server_name=name, effect="reject", status=400,
          code="Ecs.0005", message="flavor sold out in this test")
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        create_v1(client, name, count=1)
    exc = assert_sdk_error(excinfo, 400, "Ecs.0005")
    assert exc.error_msg == "flavor sold out in this test", exc
    assert client.list_servers_details(ListServersDetailsRequest(name=name)).count == 0


def test_a_gateway_error_on_a_poll_is_html(client, fault, unique_name, wait_job, cleanup):
    created = create_v1(client, unique_name(), count=1)
    cleanup.extend(created.server_ids)
    fault(operation="ShowJob", job_id=created.job_id, times=1, effect="gateway_error")
    with pytest.raises(sdk_exc.ServerResponseException) as excinfo:
        client.show_job(ShowJobRequest(job_id=created.job_id))
    exc = excinfo.value
    # Not JSON: the SDK falls back to the status as the code and the body as the message.
    assert exc.status_code == 502, exc
    assert exc.error_code == "502", exc
    assert "<h1>502 Bad Gateway</h1>" in exc.error_msg, exc
    assert exc.request_id, exc
    assert wait_job(created.job_id).final.status == "SUCCESS"


def test_a_dropped_answer_and_an_idempotent_retry(client, ecsd_config, fault, unique_name,
                                                 wait_job, cleanup):
    name = unique_name()
    rule = fault(operation="createServer", server_name=name, times=1, effect="drop_response")
    token = "tok-" + uuid.uuid4().hex
    body = post_paid_body(name, count=1)
    with pytest.raises(sdk_exc.ConnectionException):
        client.create_post_paid_servers(CreatePostPaidServersRequest(body=body, x_client_token=token))
    # The create took effect before the connection closed.
    listed = client.list_servers_details(ListServersDetailsRequest(name=name))
    assert listed.count == 1, listed
    cleanup.extend(server.id for server in listed.servers)
    # The client's retry with the same token gets the first job back, and nothing new.
    again = client.create_post_paid_servers(CreatePostPaidServersRequest(body=body, x_client_token=token))
    assert list(again.server_ids) == [listed.servers[0].id]
    assert wait_job(again.job_id).final.status == "SUCCESS"
    assert client.list_servers_details(ListServersDetailsRequest(name=name)).count == 1
    assert fired(ecsd_config, rule) == 1


def test_latency_slows_a_job_that_still_succeeds(client, ecsd_config, fault, unique_name, wait_job,
                                                 cleanup):
    name = unique_name()
    rule = fault(operation="createServer", server_name=name, effect="latency", duration="2s")
    created = create_v1(client, name, count=1)
    cleanup.extend(created.server_ids)
    trace = wait_job(created.job_id)
    assert trace.final.status == "SUCCESS", trace.final
    assert "RUNNING" in trace.statuses, trace.statuses
    assert fired(ecsd_config, rule) == 1
