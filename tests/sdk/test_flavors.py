"""ListFlavors: GET /v1/{project_id}/cloudservers/flavors."""

import pytest
from huaweicloudsdkecs.v2 import ListFlavorsRequest

from conftest import REQUIRED_FLAVORS


@pytest.fixture(scope="module")
def flavors(client):
    resp = client.list_flavors(ListFlavorsRequest())
    assert resp.status_code == 200
    assert resp.flavors, "empty flavor catalogue: %s" % resp
    return resp.flavors


def test_catalogue_contains_required_flavors(flavors):
    ids = [f.id for f in flavors]
    missing = [f for f in REQUIRED_FLAVORS if f not in ids]
    assert not missing, "flavors missing from the catalogue: %s (have %s)" % (missing, ids)
    assert len(ids) == len(set(ids)), "duplicate flavor ids: %s" % ids


def test_every_flavor_has_id_name_vcpus_ram(flavors):
    for f in flavors:
        assert f.id, f
        assert f.name, f
        # vcpus is declared str by the SDK (str(2) == "2"); ram is an int (MiB).
        assert f.vcpus is not None and int(f.vcpus) > 0, f
        assert isinstance(f.ram, int) and f.ram > 0, f


@pytest.mark.parametrize("flavor_id", REQUIRED_FLAVORS)
def test_required_flavor_memory_matches_name(flavors, flavor_id):
    """Huawei flavor names end in the GiB-per-vCPU ratio: m3.large.8 = 8 GiB per vCPU."""
    by_id = {f.id: f for f in flavors}
    if flavor_id not in by_id:
        pytest.fail("%s is not in the catalogue" % flavor_id)
    f = by_id[flavor_id]
    ratio = int(flavor_id.rsplit(".", 1)[1])
    assert f.ram == int(f.vcpus) * ratio * 1024, "%s: vcpus=%s ram=%s" % (flavor_id, f.vcpus, f.ram)
