"""JSON types on the wire match the types the SDK's models declare.

The SDK coerces silently (bool("false") is True, str(2) is "2") or crashes
(int("1G"), a list where a dict is declared), so every field ecsd sends is
checked against the declared type of the SDK model it is parsed into. The raw
body comes from the public SdkResponse.to_json_object().
"""

import pytest
import huaweicloudsdkecs.v2 as ecs_v2
from huaweicloudsdkecs.v2 import (
    ListFlavorsRequest,
    ListFlavorsResponse,
    ListServersDetailsRequest,
    ListServersDetailsResponse,
    ShowJobRequest,
    ShowJobResponse,
    ShowServerRequest,
    ShowServerResponse,
)

from conftest import create_v1, create_v11, delete_servers, start_servers, stop_servers, wait_job


def _type_problems(value, type_str, path, problems):
    if value is None:
        return
    if type_str.startswith("list["):
        if not isinstance(value, list):
            problems.append("%s: expected a JSON array (%s), got %r" % (path, type_str, value))
            return
        for i, v in enumerate(value):
            _type_problems(v, type_str[5:-1], "%s[%d]" % (path, i), problems)
    elif type_str.startswith("dict("):
        if not isinstance(value, dict):
            problems.append("%s: expected a JSON object (%s), got %r" % (path, type_str, value))
            return
        inner = type_str[type_str.index(",") + 1:-1].strip()
        for k, v in value.items():
            _type_problems(v, inner, "%s.%s" % (path, k), problems)
    elif type_str == "bool":
        if not isinstance(value, bool):
            problems.append("%s: expected a JSON boolean, got %r" % (path, value))
    elif type_str == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append("%s: expected a JSON integer, got %r" % (path, value))
    elif type_str == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append("%s: expected a JSON number, got %r" % (path, value))
    elif type_str in ("str", "date", "datetime"):
        if not isinstance(value, str):
            problems.append("%s: expected a JSON string, got %r" % (path, value))
    elif type_str == "object":
        pass
    else:
        model = getattr(ecs_v2, type_str, None)
        if model is None:
            return  # a type this SDK version does not export; nothing to compare
        if not isinstance(value, dict):
            problems.append("%s: expected a JSON object (%s), got %r" % (path, type_str, value))
            return
        _model_problems(value, model, path, problems)


def _model_problems(obj, model, path, problems):
    for attr, type_str in model.openapi_types.items():
        key = model.attribute_map[attr]
        if key in obj:
            _type_problems(obj[key], type_str, "%s.%s" % (path, key) if path else key, problems)


def assert_wire_types(resp, model):
    body = resp.to_json_object()
    assert isinstance(body, dict), "body is not a JSON object: %r" % resp.raw_content
    problems = []
    _model_problems(body, model, "", problems)
    assert not problems, "%s: %d field(s) do not match the SDK's declared types:\n  %s" % (
        model.__name__, len(problems), "\n  ".join(problems))


def test_list_flavors_types(client):
    assert_wire_types(client.list_flavors(ListFlavorsRequest()), ListFlavorsResponse)


@pytest.fixture(scope="module")
def samples(client, ecsd_config, run_tag):
    """Raw responses collected across a server's life: (label, response, model)."""
    out = []
    t = ecsd_config.job_timeout
    create = create_v1(client, "e2e-%s-wire" % run_tag, count=2)
    out.append(("create v1", create, type(create)))
    ids = create.server_ids
    out.append(("job (early)", client.show_job(ShowJobRequest(job_id=create.job_id)), ShowJobResponse))
    out.append(("server (building)", client.show_server(ShowServerRequest(server_id=ids[0])), ShowServerResponse))
    wait_job(client, create.job_id, timeout=t)
    out.append(("job (done)", client.show_job(ShowJobRequest(job_id=create.job_id)), ShowJobResponse))
    out.append(("server (active)", client.show_server(ShowServerRequest(server_id=ids[0])), ShowServerResponse))
    out.append(("list", client.list_servers_details(ListServersDetailsRequest(name="e2e-%s-wire" % run_tag)),
                ListServersDetailsResponse))
    stop = stop_servers(client, ids)
    out.append(("stop", stop, type(stop)))
    out.append(("server (stopping)", client.show_server(ShowServerRequest(server_id=ids[0])), ShowServerResponse))
    wait_job(client, stop.job_id, timeout=t)
    out.append(("server (shutoff)", client.show_server(ShowServerRequest(server_id=ids[0])), ShowServerResponse))
    start = start_servers(client, ids)
    out.append(("start", start, type(start)))
    wait_job(client, start.job_id, timeout=t)
    v11 = create_v11(client, "e2e-%s-wire11" % run_tag)
    out.append(("create v1.1", v11, type(v11)))
    wait_job(client, v11.job_id, timeout=t)
    delete = delete_servers(client, ids + list(v11.server_ids or []))
    out.append(("delete", delete, type(delete)))
    out.append(("job (delete)", client.show_job(ShowJobRequest(job_id=delete.job_id)), ShowJobResponse))
    wait_job(client, delete.job_id, timeout=t)
    return out


@pytest.mark.parametrize("label", [
    "create v1", "job (early)", "server (building)", "job (done)", "server (active)", "list",
    "stop", "server (stopping)", "server (shutoff)", "start", "create v1.1", "delete", "job (delete)",
])
def test_response_types(samples, label):
    (resp, model), = [(r, m) for lbl, r, m in samples if lbl == label]
    assert_wire_types(resp, model)
