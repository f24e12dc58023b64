"""Authentication through the official SDK: ecsd verifies every SDK-HMAC-SHA256 signature,
so the right keys work (every other test proves that) and wrong ones are refused with 401
and the gateway's code, APIGW.0301, in the gateway's flat shape (error_code, error_msg,
request_id). Plus the IAM token flow that token-based clients use, and an API ecsd does not
have, answered as the gateway answers it (404 APIGW.0101)."""

import uuid

import json
import os
import urllib.error
import urllib.request

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import ListServersDetailsRequest, ShowJobRequest, ShowServerPasswordRequest

from conftest import assert_sdk_error, create_v1, make_client

DEFAULT_PASSWORD = "ecsdLocalPassword01"


def _nothing_named(client, name):
    resp = client.list_servers_details(ListServersDetailsRequest(name=name))
    return not resp.servers and resp.count == 0


def test_wrong_secret_key_is_401_apigw_0301(ecsd_config, client, unique_name):
    wrong = make_client(ecsd_config, sk=ecsd_config.sk[:-1] + ("0" if ecsd_config.sk[-1] != "0" else "1"))
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        wrong.list_servers_details(ListServersDetailsRequest())
    assert_sdk_error(ei, 401, "APIGW.0301")
    assert ei.value.request_id, str(ei.value)
    assert ei.value.error_msg.startswith("Incorrect IAM authentication information: "), str(ei.value)
    assert "signature does not match" in ei.value.error_msg
    # A write with the wrong key is refused before anything happens.
    name = unique_name()
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        create_v1(wrong, name)
    assert_sdk_error(ei, 401, "APIGW.0301")
    assert _nothing_named(client, name)


def test_unknown_access_key_is_401_apigw_0301(ecsd_config):
    stranger = make_client(ecsd_config, ak="NOSUCHACCESSKEY00001")
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        stranger.show_job(ShowJobRequest(job_id="0" * 32))
    assert_sdk_error(ei, 401, "APIGW.0301")
    assert "access key is unknown" in ei.value.error_msg


def test_an_api_ecsd_does_not_have_is_the_gateways_404_apigw_0101(client):
    # ShowServerPassword's path (/v1/{project_id}/cloudservers/{server_id}/os-server-password)
    # is not in the reference's recommended APIs, so ecsd has no route for it.
    with pytest.raises(sdk_exc.ClientRequestException) as ei:
        client.show_server_password(ShowServerPasswordRequest(server_id=str(uuid.uuid4())))
    assert_sdk_error(ei, 404, "APIGW.0101")
    assert ei.value.request_id, str(ei.value)
    assert "does not exist or has not been published" in ei.value.error_msg


def _post_json(url, body, headers=None):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def _get_json(url, token):
    request = urllib.request.Request(url, headers={"X-Auth-Token": token})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _password_body(password, project="eu-de"):
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": os.environ.get("ECSD_USER") or "ecsd",
                        "password": password,
                        "domain": {"name": os.environ.get("ECSD_DOMAIN") or "ecsd"},
                    }
                },
            },
            "scope": {"project": {"name": project}},
        }
    }


def test_password_token_reaches_the_ecs_api_through_its_catalog(ecsd_config):
    password = os.environ.get("ECSD_PASSWORD") or DEFAULT_PASSWORD
    status, headers, body = _post_json(ecsd_config.endpoint + "/v3/auth/tokens", _password_body(password))
    assert status == 201, body
    token = headers.get("X-Subject-Token")
    assert token, headers
    assert body["token"]["expires_at"].endswith("Z")
    (ecs,) = [service for service in body["token"]["catalog"] if service["type"] == "ecs"]
    (endpoint,) = [e for e in ecs["endpoints"] if e["interface"] == "public"]
    assert endpoint["url"] == "%s/v1/%s" % (ecsd_config.endpoint, ecsd_config.project_id)
    status, listing = _get_json(endpoint["url"] + "/cloudservers/detail?limit=1", token)
    assert status == 200, listing
    assert "servers" in listing
    status, refused = _get_json(endpoint["url"] + "/cloudservers/detail", token + "0")
    # The gateway's flat shape: a refused token never reaches ECS.
    assert status == 401 and refused["error_code"] == "APIGW.0301", refused
    assert refused["error_msg"].startswith("Incorrect IAM authentication information"), refused
    assert len(refused["request_id"]) == 32, refused


def test_wrong_password_gets_401(ecsd_config):
    status, headers, body = _post_json(ecsd_config.endpoint + "/v3/auth/tokens", _password_body("not-the-password"))
    assert status == 401, body
    assert body["error"]["code"] == "Common.0013"
    assert headers.get("X-Subject-Token") is None
