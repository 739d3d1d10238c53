"""Servers (Nova's ``servers`` API semantics): create, list, show, update, delete and the
state actions, over the durable tasks of :mod:`._server_work`.

- **Create** checks the flavor (400 ``Invalid flavorRef provided.``), the image (400
  ``Can not find requested image``), that the flavor's disk holds the image, the key pair
  (400 ``Invalid key_name provided.``) and the project's quota (``instances``, ``cores``,
  ``ram``: 403 ``Quota exceeded for ...``), then writes each server in ``building`` /
  ``scheduling`` with its ``server.build`` task in one transaction and returns at once
  (the API answers 202). ``min_count``/``max_count`` make several (``name-1``, ``name-2``
  ... as Nova names them when more than one).
- **Delete** puts the server in ``task_state`` ``deleting`` and queues ``server.delete``
  (its disks removed, then the row soft-deleted).
- **Actions** (:meth:`Servers.act`): ``os-stop``, ``os-start``, ``reboot``, ``pause``,
  ``unpause``, ``suspend``, ``resume`` check the state Nova requires (409 ``Cannot
  'stop' instance X while it is in vm_state stopped``) and queue ``server.power``; ``lock``
  and ``unlock`` are immediate. A locked server refuses everything but ``unlock`` (and
  show) to its non-admin users (409 ``Instance X is locked``).
- Every action is recorded for ``os-instance-actions``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.compute import policy
from shoal.services.compute._flavors import FlavorRecord, Flavors
from shoal.services.compute._hosts import ComputeHosts
from shoal.services.compute._quota_sets import ComputeQuotas
from shoal.services.compute._server_models import (
    BlockDeviceMapping,
    InstanceAction,
    Server,
    ServerMetadata,
)
from shoal.services.compute._server_rows import (
    action_view,
    begin_action,
    list_rows,
    record,
    visible_row,
)
from shoal.services.compute._server_types import NewServer, ServerQuery, ServerRecord
from shoal.services.compute._server_volumes import ServerVolumes
from shoal.services.tasks import ResourceRef, TaskRunner
from shoal.services.volume.policy import CallerLike

__all__ = ["ImageInfo", "ImageLookup", "KeyLookup", "ServerOptions", "Servers"]

GiB: Final = 1 << 30
#: Nova's default quotas per project.
QUOTA_DEFAULTS: Final = {"instances": 10, "cores": 20, "ram": 51200,
                         "metadata_items": 128}

#: action → (vm_states it may start from, task kind param). Nova's ``check_instance_state``.
_POWER: Final[Mapping[str, tuple[frozenset[str], str]]] = {
    "stop": (frozenset({"active", "error"}), "powering-off"),
    "start": (frozenset({"stopped"}), "powering-on"),
    "reboot": (frozenset({"active", "stopped", "paused", "suspended", "error"}),
               "rebooting"),
    "pause": (frozenset({"active"}), "pausing"),
    "unpause": (frozenset({"paused"}), "unpausing"),
    "suspend": (frozenset({"active"}), "suspending"),
    "resume": (frozenset({"suspended"}), "resuming"),
}


class ImageInfo(Protocol):
    """What a server needs of an image (``size``/``virtual_size`` bytes)."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def size(self) -> int | None: ...

    @property
    def virtual_size(self) -> int | None: ...


class ImageLookup(Protocol):
    """The image service as compute reads it (``NotFound`` when hidden or absent)."""

    def image(self, image_id: str, project_id: str | None, *, is_admin: bool = False
              ) -> Any: ...

    def find_by_name(self, name: str, project_id: str | None) -> list[Any]: ...


class KeyLookup(Protocol):
    """The key pairs as compute reads them (``NotFound`` when the user has none so named)."""

    def get(self, caller: CallerLike, name: str, *, user_id: str | None = None) -> Any: ...


@dataclass(frozen=True)
class ServerOptions:
    """The compute host servers land on, its availability zone, and the quotas."""

    host: str
    availability_zone: str = "nova"
    quotas: Mapping[str, int] = field(default_factory=lambda: dict(QUOTA_DEFAULTS))


class ServerConflict(errors.Busy):
    """The server is not in a state that allows the action (409)."""


class QuotaExceeded(errors.PermissionDenied):
    """Over the project's quota (403, Nova's ``Quota exceeded for ...``)."""


def flavor_json(flavor: FlavorRecord) -> str:
    return json.dumps({"flavorid": flavor.flavorid, "name": flavor.name,
                       "memory_mb": flavor.memory_mb, "vcpus": flavor.vcpus,
                       "root_gb": flavor.root_gb, "ephemeral_gb": flavor.ephemeral_gb,
                       "swap": flavor.swap, "extra_specs": dict(flavor.extra_specs)})


def _hostname(name: str) -> str:
    """Nova's hostname of a display name: lower case, letters, digits and ``-``."""
    out = "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower())
    out = out.strip("-.")[:63]
    return out or "server"


class Servers:
    """The server service (see the module doc)."""

    def __init__(self, db: Database, tasks: TaskRunner, flavors: Flavors,
                 images: ImageLookup, keys: KeyLookup | None, now: Callable[[], datetime],
                 options: ServerOptions, volumes: ServerVolumes | None = None,
                 hosts: ComputeHosts | None = None) -> None:
        self.volumes = volumes
        self.hosts = hosts
        #: per-project limits (admins' os-quota-sets); None: ``options.quotas`` for all
        self.quotas: ComputeQuotas | None = None
        self.db = db
        self.tasks = tasks
        self.flavors = flavors
        self.images = images
        self.keys = keys
        self.now = now
        self.options = options

    # --- create -----------------------------------------------------------------------
    def _image(self, caller: CallerLike, image_ref: str) -> Any:
        try:
            image = self.images.image(image_ref, caller.project_id,
                                      is_admin=policy.is_admin(caller))
        except errors.NotFound:
            raise errors.InvalidArgument("Can not find requested image") from None
        if image.status != "active":
            raise errors.InvalidArgument(f"Image {image_ref} is not active.")
        return image

    def _flavor(self, caller: CallerLike, flavor_ref: str) -> FlavorRecord:
        ref = flavor_ref.rstrip("/").rsplit("/", 1)[-1]  # a flavor's href works too
        try:
            return self.flavors.get(caller, ref)
        except errors.NotFound:
            raise errors.InvalidArgument("Invalid flavorRef provided.") from None

    def _check_mappings(self, caller: CallerLike, new: NewServer) -> None:
        """The volumes, images and sizes ``block_device_mapping_v2`` names (Nova's 400s)."""
        for b in new.block_devices:
            if b.destination_type != "volume":
                if b.source_type == "image" and b.uuid:
                    self._image(caller, b.uuid)
                continue
            if self.volumes is None:
                raise errors.InvalidArgument("Block Device Mapping is Invalid: this "
                                             "deployment serves no volumes.")
            if b.source_type == "volume":
                if not b.uuid:
                    raise errors.InvalidArgument("Block Device Mapping is Invalid: a volume "
                                                 "mapping needs the volume's uuid.")
                volume = self.volumes.volumes.get_volume(caller, b.uuid)
                if volume.status != "available":
                    raise errors.InvalidArgument(
                        f"Invalid volume: volume '{b.uuid}' status must be 'available'. "
                        f"Currently in '{volume.status}'")
            elif b.source_type == "image":
                if not b.volume_size:
                    raise errors.InvalidArgument(
                        "Images with destination_type 'volume' need to have a non-zero size "
                        "specified")
                self._image(caller, b.uuid or "")
            elif b.source_type == "blank" and not b.volume_size:
                raise errors.InvalidArgument(
                    "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero "
                    "size")

    def _check_quota(self, session: Session, caller: CallerLike, flavor: FlavorRecord,
                     count: int) -> None:
        used_n, used_cores, used_ram = 0, 0, 0
        for row in session.scalars(select(Server).where(
                Server.project_id == caller.project_id, Server.deleted_at.is_(None))):
            f = json.loads(row.flavor)
            used_n += 1
            used_cores += int(f["vcpus"])
            used_ram += int(f["memory_mb"])
        quotas = self.limits(caller.project_id or "")
        for resource, used, each in (("instances", used_n, 1),
                                     ("cores", used_cores, flavor.vcpus),
                                     ("ram", used_ram, flavor.memory_mb)):
            limit = quotas.get(resource, -1)
            if limit >= 0 and used + each * count > limit:
                raise QuotaExceeded(
                    f"Quota exceeded for {resource}: Requested {each * count}, but already "
                    f"used {used} of {limit} {resource}")

    def _allowed_count(self, session: Session, caller: CallerLike, flavor: FlavorRecord,
                       least: int, most: int) -> int:
        """The most servers between ``least`` and ``most`` the quota allows (Nova makes
        as many as fit); QuotaExceeded (for ``least``) when even those do not."""
        for count in range(most, least, -1):
            try:
                self._check_quota(session, caller, flavor, count)
                return count
            except QuotaExceeded:
                continue
        self._check_quota(session, caller, flavor, least)
        return least

    def create(self, caller: CallerLike, new: NewServer, request_id: str
               ) -> list[ServerRecord]:
        """Make the servers ``new`` asks for, each in BUILD with its build task.

        Raises:
            errors.InvalidArgument: a bad flavor, image, key name, size or zone (400).
            QuotaExceeded: over the project's quota (403).
        """
        flavor = self._flavor(caller, new.flavor_ref)
        image = self._image(caller, new.image_ref) if new.image_ref else None
        if image is not None:
            _check_fits(flavor, image)
        if image is None and not any(b.boot_index == 0 for b in new.block_devices):
            raise errors.InvalidArgument("Block Device Mapping is Invalid: Boot sequence "
                                         "for the instance and image/block device mapping "
                                         "combination is not valid.")
        self._check_mappings(caller, new)
        zone = new.availability_zone or self.options.availability_zone
        zone_name, _, zone_host = zone.partition(":")
        if zone_name != self.options.availability_zone:
            raise errors.InvalidArgument("The requested availability zone is not available")
        wanted = new.host or zone_host.split(":", 1)[0] or None
        if wanted is not None and not policy.is_admin(caller):
            raise errors.PermissionDenied(
                "Policy doesn't allow compute:servers:create:requested_destination to be "
                "performed.")
        key_data = None
        if new.key_name is not None:
            if self.keys is None:
                raise errors.InvalidArgument("Invalid key_name provided.")
            try:
                key_data = self.keys.get(caller, new.key_name).public_key
            except errors.NotFound:
                raise errors.InvalidArgument("Invalid key_name provided.") from None
        limit = self.limits(caller.project_id or "").get("metadata_items", -1)
        if 0 <= limit < len(new.metadata):
            raise QuotaExceeded("Quota exceeded for metadata_items: Requested "
                                f"{len(new.metadata)}, but already used 0 of {limit} "
                                "metadata_items")
        now = self.now()
        count = new.max_count
        reservation = f"r-{uuid.uuid4().hex[:8]}"
        made: list[str] = []
        with self.db.session() as session:
            count = self._allowed_count(session, caller, flavor, new.min_count, count)
            for index in range(count):
                host = self._host(wanted)
                name = new.name if count == 1 else f"{new.name}-{index + 1}"
                row = Server(
                    id=str(uuid.uuid4()), name=name, project_id=caller.project_id or "",
                    user_id=caller.user_id, flavor=flavor_json(flavor),
                    image_id=image.id if image is not None else None,
                    vm_state="building", task_state="scheduling", power_state=0,
                    host=host, node=host,
                    availability_zone=self.options.availability_zone,
                    pinned_availability_zone=new.availability_zone,
                    key_name=new.key_name, key_data=key_data, user_data=new.user_data,
                    description=new.description,
                    hostname=_hostname(new.hostname or name), locked=False,
                    config_drive="True" if new.config_drive else "",
                    access_ip_v4=new.access_ip_v4, access_ip_v6=new.access_ip_v6,
                    reservation_id=reservation, launch_index=index,
                    root_device_name="/dev/vda", networks=json.dumps(new.networks),
                    created_at=now, updated_at=now)
                row.metadata_items = [ServerMetadata(key=k, value=v)
                                      for k, v in sorted(new.metadata.items())]
                row.block_devices = _mappings(new, image, now)
                session.add(row)
                session.flush()
                begin_action(session, row, caller, "create", request_id, now)
                self.tasks.submit("server.build", ResourceRef("server", row.id,
                                                              row.project_id),
                                  {}, session=session)
                made.append(row.id)
        with self.db.session(readonly=True) as session:
            return [record(session.get_one(Server, i)) for i in made]

    def limits(self, project_id: str) -> Mapping[str, int]:
        """The project's quota limits."""
        if self.quotas is not None:
            return self.quotas.limits(project_id)
        return self.options.quotas

    def _host(self, wanted: str | None) -> str:
        """The host a new server goes to (the scheduler's choice, or the admin's)."""
        if self.hosts is None:
            if wanted not in (None, self.options.host):
                raise errors.InvalidArgument(f"Compute host {wanted} could not be found.")
            return self.options.host
        return self.hosts.pick(wanted=wanted)

    # --- read -------------------------------------------------------------------------
    def get(self, caller: CallerLike, server_id: str) -> ServerRecord:
        """One server the caller may see (404 otherwise)."""
        with self.db.session(readonly=True) as session:
            return record(visible_row(session, caller, server_id))

    def list_servers(self, caller: CallerLike, query: ServerQuery) -> list[ServerRecord]:
        """The servers ``query`` selects (see :func:`._server_rows.list_rows`)."""
        with self.db.session(readonly=True) as session:
            return [record(r) for r in list_rows(session, caller, query)]

    # --- update and delete ------------------------------------------------------------
    def update(self, caller: CallerLike, server_id: str, changes: Mapping[str, Any]
               ) -> ServerRecord:
        """Change ``name``, ``description``, ``accessIPv4``/``v6`` or ``hostname``."""
        with self.db.session() as session:
            row = visible_row(session, caller, server_id, lock=True)
            self._unlocked(caller, row)
            if "name" in changes:
                row.name = changes["name"]
            if "description" in changes:
                row.description = changes["description"]
            if "hostname" in changes:
                row.hostname = changes["hostname"]
            if "access_ip_v4" in changes:
                row.access_ip_v4 = changes["access_ip_v4"] or ""
            if "access_ip_v6" in changes:
                row.access_ip_v6 = changes["access_ip_v6"] or ""
            row.updated_at = self.now()
            session.flush()
            return record(row)

    def delete(self, caller: CallerLike, server_id: str, request_id: str, *,
               force: bool = False) -> None:
        """Queue the server's deletion (its disks, then its row); idempotent while one is
        under way."""
        with self.db.session() as session:
            row = visible_row(session, caller, server_id, lock=True)
            self._unlocked(caller, row)
            if row.task_state == "deleting":
                return
            now = self.now()
            row.task_state = "deleting"
            row.updated_at = now
            begin_action(session, row, caller, "forceDelete" if force else "delete",
                         request_id, now)
            self.tasks.submit("server.delete", ResourceRef("server", row.id, row.project_id),
                              {}, session=session)

    # --- actions ----------------------------------------------------------------------
    def _unlocked(self, caller: CallerLike, row: Server) -> None:
        if row.locked and not policy.is_admin(caller):
            raise ServerConflict(f"Instance {row.id} is locked")

    def act(self, caller: CallerLike, server_id: str, action: str, request_id: str, *,
            reason: str | None = None, hard: bool = False) -> None:
        """Do one state action (see the module doc).

        Raises:
            ServerConflict: the state does not allow it, or the server is locked (409).
            errors.InvalidArgument: an unknown action (a programming error of the API).
        """
        with self.db.session() as session:
            row = visible_row(session, caller, server_id, lock=True)
            now = self.now()
            if action in ("lock", "unlock"):
                if action == "unlock" and row.locked and row.locked_by == "admin" \
                        and not policy.is_admin(caller):
                    raise errors.PermissionDenied(
                        "Policy doesn't allow os_compute_api:os-lock-server:unlock:"
                        "unlock_override to be performed.")
                row.locked = action == "lock"
                row.locked_reason = reason if action == "lock" else None
                row.locked_by = (("admin" if policy.is_admin(caller) else "owner")
                                 if action == "lock" else None)
                row.updated_at = now
                begin_action(session, row, caller, action, request_id, now)
                return
            if action not in _POWER:
                raise errors.InvalidArgument(f"unknown server action {action!r}")
            self._unlocked(caller, row)
            states, task = _POWER[action]
            if row.task_state is not None:
                raise ServerConflict(
                    f"Cannot '{action}' instance {row.id} while it is in task_state "
                    f"{row.task_state}")
            if row.vm_state not in states:
                raise ServerConflict(
                    f"Cannot '{action}' instance {row.id} while it is in vm_state "
                    f"{row.vm_state}")
            row.task_state = ("rebooting_hard" if hard else "rebooting") \
                if action == "reboot" else task
            row.updated_at = now
            begin_action(session, row, caller, action, request_id, now)
            self.tasks.submit("server.power", ResourceRef("server", row.id, row.project_id),
                              {"action": action}, session=session)

    # --- metadata ---------------------------------------------------------------------
    def set_metadata(self, caller: CallerLike, server_id: str, items: Mapping[str, str],
                     *, replace: bool) -> dict[str, str]:
        """Merge (or, ``replace``, set) the server's metadata; the result."""
        with self.db.session() as session:
            row = visible_row(session, caller, server_id, lock=True)
            self._unlocked(caller, row)
            current = {} if replace else {m.key: m.value for m in row.metadata_items}
            current.update(items)
            limit = self.limits(row.project_id).get("metadata_items", -1)
            if 0 <= limit < len(current):
                raise QuotaExceeded(f"Quota exceeded for metadata_items: Requested "
                                    f"{len(current)}, but already used 0 of {limit} "
                                    "metadata_items")
            _set_items(row, current)
            row.updated_at = self.now()
            return current

    def delete_metadata(self, caller: CallerLike, server_id: str, key: str) -> None:
        """Remove one metadata key (404 ``Metadata item was not found``)."""
        with self.db.session() as session:
            row = visible_row(session, caller, server_id, lock=True)
            self._unlocked(caller, row)
            kept = [m for m in row.metadata_items if m.key != key]
            if len(kept) == len(row.metadata_items):
                raise errors.NotFound("Metadata item was not found")
            row.metadata_items = kept
            row.updated_at = self.now()

    # --- instance actions -------------------------------------------------------------
    def instance_actions(self, caller: CallerLike, server_id: str, *, deleted: bool = True
                         ) -> list[dict[str, Any]]:
        """The actions asked of the server, newest first (of a deleted server too, unless
        not ``deleted``: Nova before 2.21)."""
        with self.db.session(readonly=True) as session:
            visible_row(session, caller, server_id, deleted=deleted)
            rows = session.scalars(select(InstanceAction).where(
                InstanceAction.server_id == server_id).order_by(
                InstanceAction.start_time.desc(), InstanceAction.id.desc()))
            return [action_view(a, events=False, admin=policy.is_admin(caller))
                    for a in rows]

    def instance_action(self, caller: CallerLike, server_id: str, request_id: str, *,
                        deleted: bool = True) -> dict[str, Any]:
        """One action by its request id, with its events (404 ``Action X not found``)."""
        with self.db.session(readonly=True) as session:
            visible_row(session, caller, server_id, deleted=deleted)
            found = session.scalars(select(InstanceAction).where(
                InstanceAction.server_id == server_id,
                InstanceAction.request_id == request_id)).first()
            if found is None:
                raise errors.NotFound(f"Action {request_id} not found")
            return action_view(found, events=True, admin=policy.is_admin(caller))

    # --- counts for the admin views ---------------------------------------------------
    def usage(self, host: str | None = None) -> dict[str, int]:
        """Live servers on ``host`` (default: the first host) and what their flavors add
        up to (``vcpus``, ``memory_mb``, ``local_gb``)."""
        with self.db.session(readonly=True) as session:
            flavors = session.scalars(select(Server.flavor).where(
                Server.deleted_at.is_(None), Server.host == (host or self.options.host))).all()
        used = {"servers": len(flavors), "vcpus": 0, "memory_mb": 0, "local_gb": 0}
        for text in flavors:
            f = json.loads(text)
            used["vcpus"] += int(f["vcpus"])
            used["memory_mb"] += int(f["memory_mb"])
            used["local_gb"] += int(f["root_gb"]) + int(f["ephemeral_gb"])
        return used

    def project_usage(self, project_id: str) -> dict[str, int]:
        """What a project's live servers use: ``instances``, ``cores``, ``ram`` (MiB)."""
        with self.db.session(readonly=True) as session:
            flavors = session.scalars(select(Server.flavor).where(
                Server.deleted_at.is_(None), Server.project_id == project_id)).all()
        out = {"instances": len(flavors), "cores": 0, "ram": 0}
        for text in flavors:
            f = json.loads(text)
            out["cores"] += int(f["vcpus"])
            out["ram"] += int(f["memory_mb"])
        return out


def _set_items(row: Server, wanted: Mapping[str, str]) -> None:
    """Make the server's metadata ``wanted``: kept keys updated in place (a new row for a
    kept key would meet its old one in the unique index before the old one goes)."""
    have = {m.key: m for m in row.metadata_items}
    for key, item in have.items():
        if key not in wanted:
            row.metadata_items.remove(item)
        else:
            item.value = wanted[key]
    for key in sorted(set(wanted) - set(have)):
        row.metadata_items.append(ServerMetadata(key=key, value=wanted[key]))


def _check_fits(flavor: FlavorRecord, image: Any) -> None:
    """Nova's checks of a flavor against the image a server boots from (local disk)."""
    props = getattr(image, "properties", {}) or {}
    min_ram, min_disk = int(props.get("min_ram") or 0), int(props.get("min_disk") or 0)
    if flavor.memory_mb < min_ram:
        raise errors.InvalidArgument("Flavor's memory is too small for requested image.")
    if not flavor.root_gb:
        return  # a zero-disk flavor takes the image's size
    wanted = image.virtual_size or image.size or 0
    if wanted > flavor.root_gb * GiB:
        raise errors.InvalidArgument(
            "Flavor's disk is too small for requested image. Flavor disk is "
            f"{flavor.root_gb * GiB} bytes, image is {wanted} bytes.")
    if min_disk > flavor.root_gb:
        raise errors.InvalidArgument(
            "Flavor's disk is smaller than the minimum size specified in image metadata. "
            f"Flavor disk is {flavor.root_gb * GiB} bytes, minimum size is "
            f"{min_disk * GiB} bytes.")


def _mappings(new: NewServer, image: Any, now: datetime) -> list[BlockDeviceMapping]:
    """The server's block device mappings: the image's root disk (image → local) when
    booted from an image, then what ``block_device_mapping_v2`` asked."""
    out: list[BlockDeviceMapping] = []
    if image is not None and not any(b.boot_index == 0 for b in new.block_devices):
        out.append(BlockDeviceMapping(source_type="image", destination_type="local",
                                      boot_index=0, image_id=image.id,
                                      device_name="/dev/vda", delete_on_termination=True,
                                      created_at=now))
    for b in new.block_devices:
        out.append(BlockDeviceMapping(
            source_type=b.source_type, destination_type=b.destination_type,
            boot_index=b.boot_index,
            image_id=b.uuid if b.source_type == "image" else None,
            snapshot_id=b.uuid if b.source_type == "snapshot" else None,
            volume_id=b.uuid if b.source_type == "volume" else None,
            volume_size=b.volume_size, device_name=b.device_name,
            delete_on_termination=b.delete_on_termination, tag=b.tag, created_at=now))
    return out
