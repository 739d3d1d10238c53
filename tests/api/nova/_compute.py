"""A compute service in process for the server and host API tests: a provisioned embedded
cluster (the guide's pools and users), one raw image stored in ``images`` as Glance's RBD
store keeps it (``images/<id>`` with a protected ``snap``), guest disks made in ``vms`` as
``client.cinder``, a real :class:`TaskRunner` running the server tasks, and the server and
host routes under ``/compute/v2.1``.

Every call given ``schema="<resource>.<name>"`` (``servers.get_server``,
``hypervisors.get_hypervisor`` ...) is recorded; :meth:`ComputeApi.check_tempest_schemas`
then validates all of them in Tempest's venv with Tempest's own strict schemas (through
:meth:`NovaApi.check_tempest_schemas`), each with the module Tempest's service client picks
for the reply's microversion (or the one given with ``module=``: Tempest keeps some
schemas, ``create_server`` or the metadata ones, in ``v2_1`` only).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import httpx

from shoal import errors
from shoal._time import utcnow
from shoal.api._microversion import APIVersion
from shoal.api.nova import HostFacts, flavor_routes, host_routes, server_routes
from shoal.db import Database
from shoal.services.compute import Flavors, Keypairs, ServerOptions, Servers, ServerWork
from shoal.services.compute.disks import DiskImage, DiskOptions, DiskPlan, GuestDisks
from shoal.services.image.store import RbdStore
from shoal.services.tasks import ResourceRef, TaskRunner
from tests.api.nova._client import NovaApi
from tests.unit._guide_cluster import GuideCluster

__all__ = ["HOST", "ComputeApi", "MiB", "StoredImage", "compute_api", "parse_time",
           "tempest_module"]

HOST: Final = "compute-test"
ZONE: Final = "nova"
WAIT_S: Final = 30.0
MiB: Final = 1 << 20

#: resource → (microversion, Tempest module) newest first, as Tempest's service clients
#: map them (``schema_versions_info``): a reply takes the newest at or below its own.
_MODULES: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "servers": tuple((v, "v" + v.replace(".", "_")) for v in (
        "2.100", "2.99", "2.98", "2.97", "2.96", "2.89", "2.84", "2.80", "2.79", "2.75",
        "2.73", "2.71", "2.70", "2.63", "2.62", "2.58", "2.57", "2.54", "2.51", "2.48",
        "2.47", "2.45", "2.26", "2.19", "2.16", "2.9", "2.8", "2.6", "2.3", "2.1")),
    "hypervisors": (("2.53", "v2_53"), ("2.33", "v2_33"), ("2.28", "v2_28"),
                    ("2.1", "v2_1")),
    "services": (("2.53", "v2_53"), ("2.11", "v2_11"), ("2.1", "v2_1")),
    "limits": (("2.57", "v2_57"), ("2.39", "v2_39"), ("2.36", "v2_36"), ("2.1", "v2_1")),
    "availability_zone": (("2.1", "v2_1"),),
    "extensions": (("2.1", "v2_1"),),
}

def tempest_module(resource: str, version: str) -> str:
    """Tempest's schema module of ``resource`` for microversion ``version``."""
    wanted = APIVersion.parse(version)
    return next(m for v, m in _MODULES[resource] if wanted >= APIVersion.parse(v))


@dataclass(frozen=True)
class StoredImage:
    """An image as the image service would show it to compute (bytes)."""

    id: str
    status: str
    size: int
    virtual_size: int
    disk: DiskImage


class Images:
    """The image service as compute reads it: the images stored here, public."""

    def __init__(self) -> None:
        self.by_id: dict[str, StoredImage] = {}

    def image(self, image_id: str, project_id: str | None, *, is_admin: bool = False
              ) -> StoredImage:
        found = self.by_id.get(image_id)
        if found is None:
            raise errors.NotFound(f"No image found with ID {image_id}")
        return found

    def find_by_name(self, name: str, project_id: str | None) -> list[StoredImage]:
        return []


class Disks:
    """The servers' disk maker: the guest disk driver fed from :class:`Images`."""

    def __init__(self, disks: GuestDisks, images: Images) -> None:
        self.disks = disks
        self.images = images

    def create_for(self, server_id: str, image_id: str | None, flavor: Mapping[str, Any],
                   heartbeat: Callable[[], None]) -> None:
        image = self.images.by_id[image_id].disk if image_id is not None else None
        plan = DiskPlan(root_gb=int(flavor["root_gb"]),
                        ephemeral_gb=int(flavor["ephemeral_gb"]), swap_mb=int(flavor["swap"]))
        self.disks.create(server_id, image, plan, heartbeat=heartbeat)

    def remove(self, server_id: str) -> list[str]:
        return self.disks.remove(server_id)


class ComputeApi(NovaApi):
    """The compute routes over a real cluster, disks and task runner (see the module doc)."""

    def __init__(self, root: Path, *, quotas: Mapping[str, int] | None = None) -> None:
        self.cluster = GuideCluster(root)
        self.db = Database(f"sqlite:///{root / 'shoal.db'}")
        self.db.upgrade()
        self.runner = TaskRunner(self.db, workers=2, poll_s=0.05)
        self.images = Images()
        guest = GuestDisks(self.cluster.session("client.cinder"),
                           DiskOptions(pool="vms", destroy_retry_interval_s=0))
        self.disks = Disks(guest, self.images)
        ServerWork(self.disks, utcnow).register(self.runner)
        self.flavors = Flavors(self.db, utcnow)
        self.flavors.seed_defaults()
        options = ServerOptions(host=HOST, availability_zone=ZONE)
        if quotas is not None:
            options = ServerOptions(host=HOST, availability_zone=ZONE, quotas=dict(quotas))
        self.servers = Servers(self.db, self.runner, self.flavors, self.images,
                               Keypairs(self.db, utcnow), utcnow, options)
        self.started_at = utcnow()
        facts = HostFacts(host=HOST, zone=ZONE, started_at=self.started_at,
                          disk_gib=lambda: (100, 90))
        self.glance = RbdStore(self.cluster.session("client.glance"))
        super().__init__([*server_routes(self.servers), *host_routes(self.servers, facts),
                          *flavor_routes(self.flavors)], token="admin-token")
        self.runner.start()
        self.image_id = self.store_image(MiB).id

    def __call__(self, method: str, path: str, token: str | None = None,
                 version: str = "2.1", schema: str | None = None, module: str | None = None,
                 **kwargs: Any) -> httpx.Response:
        """One request; ``schema`` ``"<resource>.<name>"`` records the reply to check
        (``module``: the Tempest module to check it with, else the version's)."""
        reply = super().__call__(method, path, token=token, version=version, **kwargs)
        if schema is not None:
            # a pinned module is recorded as the version that picks it
            picks = next((v for v, m in _MODULES[schema.split(".")[0]] if m == module),
                         version)
            self.replies.append((picks, schema, reply.status_code,
                                 reply.json() if reply.content else None))
        return reply

    def store_image(self, size: int) -> StoredImage:
        """``size`` bytes of zeros stored as a raw image (a protected ``snap``)."""
        image_id = str(uuid.uuid4())
        data = b"\0" * size
        location = self.glance.add(image_id, [data], size).location
        disk = DiskImage(image_id, "raw", size, size, (location,), lambda: iter([data]))
        made = StoredImage(image_id, "active", size, size, disk)
        self.images.by_id[image_id] = made
        return made

    # --- waiting ------------------------------------------------------------------------
    def settle(self, server_id: str) -> None:
        """Wait until every task of the server has ended."""
        for task in self.runner.tasks_for(ResourceRef("server", server_id)):
            self.runner.wait(task.id, timeout_s=WAIT_S)

    def boot(self, name: str = "vm", token: str = "member-token", **server: Any) -> str:
        """Create a server from the image with m1.tiny and wait until it is ACTIVE."""
        body = {"server": {"name": name, "imageRef": self.image_id, "flavorRef": "1",
                           **server}}
        made = self("POST", "/servers", token=token, json=body)
        assert made.status_code == 202, made.text
        server_id = str(made.json()["server"]["id"])
        self.settle(server_id)
        return server_id

    def show(self, server_id: str, version: str = "2.1", token: str = "admin-token"
             ) -> dict[str, Any]:
        reply = self("GET", f"/servers/{server_id}", token=token, version=version)
        assert reply.status_code == 200, reply.text
        shown: dict[str, Any] = reply.json()["server"]
        return shown

    def wait_gone(self, server_id: str) -> None:
        """Wait until the server's delete task has ended."""
        self.settle(server_id)
        deadline = time.monotonic() + WAIT_S
        while self("GET", f"/servers/{server_id}").status_code != 404:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def vms(self) -> list[str]:
        """The images of the ``vms`` pool (as client.admin)."""
        import shoal.rbd as rbd

        return sorted(rbd.RBD().list(self.cluster.io("vms")))

    # --- checks -------------------------------------------------------------------------
    def check_tempest_schemas(self, resource: str = "", modules: Sequence[tuple[str, str]] = (),
                              tmp_path: Path | None = None) -> None:
        """Validate every recorded reply (``"<resource>.<name>"``) with its Tempest schema,
        one run of Tempest's python per resource."""
        assert tmp_path is not None
        recorded, self.replies = self.replies, []
        try:
            for name in sorted({schema.split(".")[0] for _, schema, _, _ in recorded}):
                self.replies = [(v, schema.split(".")[1], status, body)
                                for v, schema, status, body in recorded
                                if schema.split(".")[0] == name]
                folder = tmp_path / f"schemas-{name}"
                folder.mkdir(exist_ok=True)
                super().check_tempest_schemas(name, _MODULES[name], folder)
        finally:
            self.replies = recorded

    def close(self) -> None:
        self.runner.shutdown(wait_s=10)
        self.db.dispose()
        self.cluster.close()


def compute_api(tmp_path: Path, **options: Any) -> Iterator[ComputeApi]:
    """The fixture's body: the API, its replies checked when the test ends."""
    made = ComputeApi(tmp_path, **options)
    try:
        yield made
        made.check_tempest_schemas(tmp_path=tmp_path)
    finally:
        made.close()


def parse_time(text: str) -> datetime:
    """A Nova time (``Z`` or none) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
