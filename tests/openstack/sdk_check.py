"""openstacksdk 4.22.0 against ecsd's native OpenStack API (run by scripts/openstack-e2e.sh).

Uses the clouds.yaml the script writes (OS_CLIENT_CONFIG_FILE, cloud "ecsd"): authorize, list
flavors, create a server with the SDK's own body (no block device mapping), wait for ACTIVE,
check the view, stop and start it, delete it and wait for the 404, and check that a wrong
password is refused with 401. Exits non-zero with a message on the first failure.
"""

import sys

import openstack
from openstack import exceptions

NETWORK = sys.argv[1]
IMAGE = sys.argv[2]


def check(condition, message):
    if not condition:
        print(f"sdk_check: FAILED: {message}", file=sys.stderr)
        sys.exit(1)


conn = openstack.connect(cloud="ecsd")
token = conn.authorize()
check(bool(token), "authorize returned no token")

flavors = list(conn.compute.flavors())
check(flavors, "no flavors listed")
flavor = flavors[0]
check(flavor.vcpus >= 1 and flavor.ram > 0, f"flavor fields: {flavor}")

server = conn.compute.create_server(
    name="sdk-e2e", image_id=IMAGE, flavor_id=flavor.id, networks=[{"uuid": NETWORK}]
)
check(server.id, "create answered no id")
server = conn.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], interval=1, wait=60)
check(server.status == "ACTIVE", f"status {server.status}")
check(server.flavor.original_name == flavor.name, f"embedded flavor {server.flavor}")
check(server.image.id == IMAGE, f"image {server.image}")
check(server.addresses, "no addresses")

conn.compute.stop_server(server)
server = conn.compute.wait_for_server(server, status="SHUTOFF", interval=1, wait=60)
conn.compute.start_server(server)
server = conn.compute.wait_for_server(server, status="ACTIVE", interval=1, wait=60)

listed = [s.id for s in conn.compute.servers()]
check(server.id in listed, "the server is not listed")

conn.compute.delete_server(server)
conn.compute.wait_for_delete(server, interval=1, wait=60)
try:
    conn.compute.get_server(server.id)
    check(False, "a deleted server is still found")
except exceptions.NotFoundException:
    pass

auth = dict(conn.config.config["auth"], password="not-the-password")
try:
    openstack.connect(auth=auth, auth_type="password", region_name="eu-de").authorize()
    check(False, "a wrong password was accepted")
except exceptions.SDKException as error:
    # authorize() wraps keystoneauth's Unauthorized in an SDKException with its message.
    check("HTTP 401" in str(error), f"wrong password: {error}")

print("sdk_check: ok")
