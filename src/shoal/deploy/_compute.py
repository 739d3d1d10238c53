"""The compute service of ``shoal up``: key pairs, servers over the guest disks of
``[libvirt] images_type = rbd`` (the guide's ``images_rbd_pool = vms`` as ``rbd_user``),
their durable tasks, and the host facts Nova's admin views show.

``images_type`` other than ``rbd`` has no disks shoal can make: servers are then not served
(and compute stays out of the catalog); flavors and key pairs still answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shoal import errors
from shoal._time import utcnow
from shoal.api.nova import HostFacts
from shoal.cluster import Session
from shoal.config import ShoalConfig
from shoal.db import Database
from shoal.deploy._volumes import GlanceImages, glance_images, host_name
from shoal.services.compute import (
    ComputeHosts,
    ComputeQuotas,
    Flavors,
    Keypairs,
    ServerImages,
    ServerMoves,
    ServerOptions,
    Servers,
    ServerVolumes,
    ServerWork,
)
from shoal.services.compute._domains import (
    ensure_host_secret,
    guest_secret_check,
    server_guest,
    user_key,
)
from shoal.services.compute.disks import DiskImage, DiskOptions, DiskPlan, GuestDisks
from shoal.services.compute.libvirt import SecretStore
from shoal.services.image import ImageService
from shoal.services.tasks import TaskRunner
from shoal.services.volume import VolumeServices
from shoal.services.volume.driver import pool_capacity

__all__ = ["ComputeStack", "compute_stack"]

log = logging.getLogger("shoal.deploy")

SessionFor = Callable[[str | None, str | None], Session]


class ImageDisks:
    """The servers' :class:`~shoal.services.compute.DiskMaker`: the guest disk driver fed
    with the image service's view of each image (its locations, its raw bytes)."""

    def __init__(self, disks: GuestDisks, images: GlanceImages) -> None:
        self.disks = disks
        self.images = images

    def create_for(self, server_id: str, image_id: str | None, flavor: Mapping[str, Any],
                   heartbeat: Callable[[], None]) -> None:
        image = None
        if image_id is not None:
            data = self.images.image(image_id, None)
            image = DiskImage(id=data.id, disk_format=data.disk_format or "",
                              size=data.size or 0, virtual_size=data.virtual_size,
                              locations=data.locations,
                              raw_data=lambda: self.images.raw_data(image_id))
        plan = DiskPlan(root_gb=int(flavor["root_gb"]), ephemeral_gb=int(flavor["ephemeral_gb"]),
                        swap_mb=int(flavor["swap"]))
        self.disks.create(server_id, image, plan, heartbeat=heartbeat)

    def remove(self, server_id: str) -> list[str]:
        return self.disks.remove(server_id)


def _define_secrets(cfg: ShoalConfig, store: SecretStore, hosts: tuple[str, ...],
                    session: Session) -> None:
    """Define the guide's libvirt secret (``rbd_secret_uuid`` holding ``rbd_user``'s key)
    on every compute host that has none with that UUID, as devstack's ceph plugin does
    for its compute host; an existing secret is left as it is (a wrong one then fails
    the servers with a fault naming it)."""
    libvirt = cfg.libvirt
    if not libvirt.rbd_user or not libvirt.rbd_secret_uuid:
        return
    try:
        key, _path = user_key(session, libvirt.rbd_user)
    except errors.ShoalError as exc:
        log.warning("libvirt secret %s not defined: the key of client.%s is unreadable "
                    "here (%s); define it with shoal virsh", libvirt.rbd_secret_uuid,
                    libvirt.rbd_user, exc)
        return
    for host in hosts:
        try:
            if ensure_host_secret(store, host, libvirt.rbd_secret_uuid, key,
                                  user=libvirt.rbd_user):
                log.info("compute host %s: libvirt secret %s defined with the key of "
                         "client.%s", host, libvirt.rbd_secret_uuid, libvirt.rbd_user)
        except errors.ShoalError as exc:
            log.warning("compute host %s: libvirt secret %s not defined: %s", host,
                        libvirt.rbd_secret_uuid, exc)


def _secret_check(cfg: ShoalConfig, db: Database, store: SecretStore, session: Session
                  ) -> Callable[[str], None]:
    """What a build checks before its server may run: the secrets of its host."""

    def check(server_id: str) -> None:
        server, connections = server_guest(db, server_id)
        guest_secret_check(store, server.host or "", cfg, session,
                           connections=connections.values())

    return check


@dataclass
class ComputeStack:
    """What ``shoal up`` serves for compute (``servers`` None: not served)."""

    keypairs: Keypairs
    servers: Servers | None
    facts: HostFacts | None
    session: Session | None
    volumes: ServerVolumes | None = None
    images: ServerImages | None = None
    moves: ServerMoves | None = None
    hosts: ComputeHosts | None = None
    quotas: ComputeQuotas | None = None

    def close(self) -> None:
        if self.session is not None:
            self.session.shutdown()


def compute_stack(cfg: ShoalConfig, db: Database, tasks: TaskRunner, images: ImageService,
                  flavors: Flavors, session_for: SessionFor,
                  volumes: VolumeServices | None = None, data_dir: Path | None = None
                  ) -> ComputeStack:
    """Build the compute service and register its tasks (before ``tasks.recover()``).

    Raises:
        errors.ShoalError: the cluster cannot be reached as ``[libvirt] rbd_user``.
    """
    keypairs = Keypairs(db, utcnow)
    libvirt = cfg.libvirt
    if libvirt.images_type != "rbd":
        log.warning("[libvirt] images_type = %s: shoal keeps guest disks in RBD only "
                    "(images_type = rbd); servers are not served", libvirt.images_type)
        return ComputeStack(keypairs, None, None, None)
    session = session_for(libvirt.rbd_user, libvirt.images_rbd_ceph_conf or None)
    try:
        options = DiskOptions.from_config(cfg)
        disks = ImageDisks(GuestDisks(session, options), glance_images(cfg, images))
        zone = "nova"  # Nova's default_availability_zone
        hosts = ComputeHosts(db, cfg.shoal.compute_hosts or (host_name(),), zone, utcnow)
        hosts.ensure_services()
        host = hosts.hosts[0]
        attached = None if volumes is None else ServerVolumes(
            db, volumes.volumes, volumes.attachments, host, utcnow, session)
        check = None
        if data_dir is not None:
            store = SecretStore(data_dir / "compute")
            _define_secrets(cfg, store, hosts.hosts, session)
            check = _secret_check(cfg, db, store, session)
        ServerWork(disks, utcnow, attached, check).register(tasks)
        servers = Servers(db, tasks, flavors, disks.images, keypairs, utcnow,
                          ServerOptions(host=host, availability_zone=zone), attached, hosts)

        def disk_gib() -> tuple[int, int]:
            capacity = pool_capacity(session, options.pool, dynamic_total=True)
            return int(capacity.total_gib), int(capacity.free_gib)

        facts = HostFacts(host=host, zone=zone, started_at=utcnow(), disk_gib=disk_gib,
                          hosts=hosts)
        saved = ServerImages(db, tasks, disks.images, disks.disks.snapshots,
                             cfg.glance_store.rbd_store_pool, utcnow, attached)
        saved.register(tasks)
        moves = ServerMoves(db, tasks, hosts, flavors, disks.disks.snapshots, utcnow)
        moves.register(tasks)
        quotas = ComputeQuotas(db, servers.project_usage, utcnow)
        servers.quotas = quotas
        moves.quota = lambda project: (servers.limits(project), servers.project_usage(project))
    except BaseException:
        session.shutdown()
        raise
    return ComputeStack(keypairs, servers, facts, session, attached, saved, moves, hosts,
                        quotas)
