"""Regions (issue 12): a project's region chooses its flavors and availability zones.

The local project is in Open Telekom Cloud's eu-de (OTC flavor names, zones eu-de-01..03);
the account scripts/sdk-e2e.sh adds (ECSD_HUAWEI_*) has a project in Huawei Cloud's
cn-north-4 (Huawei names such as s3.small.1, zones cn-north-4a/b/c/g).
"""

import pytest
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkecs.v2 import ListFlavorsRequest

from conftest import (
    ServerFactory,
    assert_sdk_error,
    create_v1,
    make_client,
    show_server,
    wait_job,
)

EU_DE_ZONES = ("eu-de-01", "eu-de-02", "eu-de-03")
CN_NORTH_4_ZONES = ("cn-north-4a", "cn-north-4b", "cn-north-4c", "cn-north-4g")


@pytest.fixture(scope="module")
def huawei_client(ecsd_config):
    return make_client(ecsd_config, ak=ecsd_config.huawei_ak, sk=ecsd_config.huawei_sk,
                       project_id=ecsd_config.huawei_project_id)


def _factory(ecsd_config, client_):
    return ServerFactory(client_, lambda job_id: wait_job(client_, job_id,
                                                          timeout=ecsd_config.job_timeout))


@pytest.fixture(scope="module")
def eu_de_servers(ecsd_config):
    factory = _factory(ecsd_config, make_client(ecsd_config))
    yield factory
    factory.cleanup()


@pytest.fixture(scope="module")
def huawei_servers(ecsd_config, huawei_client):
    factory = _factory(ecsd_config, huawei_client)
    yield factory
    factory.cleanup()


def _zone(server):
    return server.os_ext_a_zavailability_zone


@pytest.mark.parametrize("zone", EU_DE_ZONES)
@pytest.mark.parametrize("flavor", ["s3.medium.1", "s2.large.2"])
def test_otc_flavors_in_each_eu_de_zone(client, eu_de_servers, unique_name, zone, flavor):
    (server_id,) = eu_de_servers.create(unique_name(), flavor=flavor, availability_zone=zone)
    server = show_server(client, server_id)
    assert (server.status, server.flavor.id, _zone(server)) == ("ACTIVE", flavor, zone)


@pytest.mark.parametrize("zone", CN_NORTH_4_ZONES)
def test_huawei_flavors_in_each_cn_north_4_zone(huawei_client, huawei_servers, unique_name, zone):
    (server_id,) = huawei_servers.create(unique_name(), flavor="s3.small.1", availability_zone=zone)
    server = show_server(huawei_client, server_id)
    assert (server.status, server.flavor.id, _zone(server)) == ("ACTIVE", "s3.small.1", zone)


def test_without_a_zone_a_server_goes_to_the_regions_first(client, huawei_client, eu_de_servers,
                                                           huawei_servers, unique_name):
    (eu_de,) = eu_de_servers.create(unique_name(), flavor="c3.large.2")
    assert _zone(show_server(client, eu_de)) == "eu-de-01"
    (cn,) = huawei_servers.create(unique_name(), flavor="s6.large.2")
    assert _zone(show_server(huawei_client, cn)) == "cn-north-4a"


def test_each_project_lists_its_regions_flavors(client, huawei_client):
    eu_de = {f.id for f in client.list_flavors(ListFlavorsRequest()).flavors}
    cn = {f.id for f in huawei_client.list_flavors(ListFlavorsRequest()).flavors}
    assert {"s3.medium.1", "s2.large.2", "s2.medium.1", "c3.large.2"} <= eu_de
    assert "s3.small.1" not in eu_de and "s6.small.1" not in eu_de
    assert {"s3.small.1", "s6.small.1", "c7.large.2"} <= cn
    assert "s3.medium.1" not in cn
    zoned = client.list_flavors(ListFlavorsRequest(availability_zone="eu-de-03")).flavors
    assert "s3.medium.1" in {f.id for f in zoned}


@pytest.mark.parametrize("who,zone", [("eu-de", "eu-nl-01"), ("eu-de", "cn-north-4a"),
                                      ("cn-north-4", "eu-de-01")])
def test_a_zone_the_region_lacks_is_refused(client, huawei_client, unique_name, who, zone):
    client_, flavor = (client, "s3.medium.1") if who == "eu-de" else (huawei_client, "s3.small.1")
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        create_v1(client_, unique_name(), flavor=flavor, availability_zone=zone)
    exc = assert_sdk_error(excinfo, 400, "Ecs.0005")
    assert "availability_zone=%s not exist" % zone in exc.error_msg, exc.error_msg
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        client_.list_flavors(ListFlavorsRequest(availability_zone=zone))
    assert_sdk_error(excinfo, 400, "Ecs.0005")


@pytest.mark.parametrize("who,flavor", [("eu-de", "s3.small.1"), ("eu-de", "s6.small.1"),
                                        ("cn-north-4", "s3.medium.1")])
def test_another_clouds_flavor_is_refused(client, huawei_client, unique_name, who, flavor):
    client_ = client if who == "eu-de" else huawei_client
    with pytest.raises(sdk_exc.ClientRequestException) as excinfo:
        create_v1(client_, unique_name(), flavor=flavor)
    exc = assert_sdk_error(excinfo, 400, "Ecs.0029")
    assert flavor in exc.error_msg and who in exc.error_msg, exc.error_msg
