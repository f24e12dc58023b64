"""X-Client-Token (the SDK's x_client_token): a repeated create with the same token and body
answers the first job and creates nothing new; the same token with another body is refused."""

import uuid

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import CreatePostPaidServersRequest, ListServersDetailsRequest

from conftest import assert_sdk_error, post_paid_body


def test_a_repeated_token_replays_the_first_job(client, unique_name, wait_job):
    name = unique_name()
    token = "tok-" + uuid.uuid4().hex
    body = post_paid_body(name, count=2)
    first = client.create_post_paid_servers(CreatePostPaidServersRequest(body=body, x_client_token=token))
    again = client.create_post_paid_servers(CreatePostPaidServersRequest(body=body, x_client_token=token))
    assert again.job_id == first.job_id
    assert again.server_ids == first.server_ids
    assert wait_job(first.job_id).final.status == "SUCCESS"
    listed = client.list_servers_details(ListServersDetailsRequest(name=name))
    assert listed.count == 2, "a replay must not create servers"


def test_the_same_token_with_another_body_is_refused(client, unique_name):
    token = "tok-" + uuid.uuid4().hex
    client.create_post_paid_servers(
        CreatePostPaidServersRequest(body=post_paid_body(unique_name(), count=1), x_client_token=token))
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        client.create_post_paid_servers(
            CreatePostPaidServersRequest(body=post_paid_body(unique_name(), count=1), x_client_token=token))
    assert_sdk_error(excinfo, 400, "Ecs.0005")
