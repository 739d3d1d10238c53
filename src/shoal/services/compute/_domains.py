"""The libvirt domain of a server, and the secret checks before it may start.

::

    guest = guest_description(server, connections)     # ServerRecord + {volume id: conn}
    domain_xml(guest, LibvirtSettings.from_config(cfg.libvirt, cluster_monitors(session)))
    guest_secret_check(store, host, cfg, session)       # before the guest starts
    ensure_host_secret(store, host, rbd_secret_uuid, key)   # shoal up, its own host
    server, connections = server_guest(db, "vm1")       # name or id: the CLI's view

:func:`guest_description` is the guest Nova's libvirt driver describes for a server:
domain name ``instance_name``, memory and vcpus from its flavor, then its own disks in
``[libvirt] images_rbd_pool`` as the compute service makes them (root ``<uuid>_disk``
unless the server boots from a volume, ``<uuid>_disk.local`` when the flavor has
``ephemeral_gb``, ``<uuid>_disk.swap`` when it has ``swap``) and its volumes with the
``connection_info`` of their attachments (``serial`` = volume id).

Devices are Nova's ``blockinfo`` order: the root device is ``vda`` (the root disk, or
the boot volume, whose mapping says ``/dev/vda``); the ephemeral and swap disks take
the next free letters (``vdb``, ``vdc``); every other volume keeps the device its
mapping records unless a disk holds it, and then takes the next free one (shoal's
attach reserves only ``vda``, while Nova would have skipped the ephemeral and swap
devices when it chose one). The boot volume comes first among the volumes, then the
others in the order they were attached; disks come before volumes, as Nova writes them.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from shoal import errors
from shoal.cluster import EmbeddedSession, Session, keys
from shoal.config import ShoalConfig
from shoal.db import Database
from shoal.services.compute._server_models import Server
from shoal.services.compute._server_rows import ServerNotFound, record
from shoal.services.compute._server_types import ServerRecord, VolumeAttached
from shoal.services.compute.disks import ephemeral_name, root_name, swap_name
from shoal.services.compute.libvirt import (
    AttachedVolume,
    GuestDescription,
    ImageDisk,
    InvalidGuest,
    SecretDef,
    SecretNotFound,
    SecretStore,
    canonical_uuid,
    check_guest_secret,
    decode_base64,
    secret_xml,
)
from shoal.services.volume.models import Attachment

__all__ = ["ensure_host_secret", "guest_description", "guest_secret_check",
           "server_guest", "user_key"]

_ROOT_DEVICE: Final = "vda"
_DEV_PREFIX: Final = "/dev/"
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"


def _device(path: str | None) -> str | None:
    """``vdb`` of ``/dev/vdb`` (None stays None)."""
    if path is None:
        return None
    return path[len(_DEV_PREFIX):] if path.startswith(_DEV_PREFIX) else path


def _next_free(used: set[str], server_id: str) -> str:
    for letter in _LETTERS:
        name = f"vd{letter}"
        if name not in used:
            used.add(name)
            return name
    raise InvalidGuest(f"server {server_id}: more than {len(_LETTERS)} virtio disks")


def _flavor_int(flavor: Mapping[str, Any], key: str, server_id: str) -> int:
    value = flavor.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise InvalidGuest(f"server {server_id}: flavor {key} {value!r} is not a whole number")
    return int(value)


def _local_names(server: ServerRecord) -> list[str]:
    """The server's own disks in device order (RBD image names in images_rbd_pool)."""
    names = [root_name(server.id)] if server.image_id is not None else []
    if _flavor_int(server.flavor, "ephemeral_gb", server.id) > 0:
        names.append(ephemeral_name(server.id))
    if _flavor_int(server.flavor, "swap", server.id) > 0:
        names.append(swap_name(server.id))
    return names


def _volume_order(server: ServerRecord) -> list[VolumeAttached]:
    """The boot volume (on ``vda``) first, then the others as attached."""
    boot = [v for v in server.volumes
            if server.image_id is None and _device(v.device) == _ROOT_DEVICE]
    return boot + [v for v in server.volumes if v not in boot]


def guest_description(server: ServerRecord,
                      connections: Mapping[str, Mapping[str, Any]]) -> GuestDescription:
    """The guest of ``server`` (see the module doc); ``connections`` maps each of its
    volumes' ids to the ``connection_info`` of its attachment.

    Raises:
        InvalidGuest: a volume without connection info (its attachment is not
            connected yet), a flavor without whole ``memory_mb``/``vcpus``, a recorded
            device that is not ``vdX``/``sdX``/``hdX``, more than 26 virtio devices.
    """
    volumes = _volume_order(server)
    used: set[str] = set()
    if server.image_id is not None or any(_device(v.device) == _ROOT_DEVICE for v in volumes):
        used.add(_ROOT_DEVICE)
    disks: list[ImageDisk] = []
    for name in _local_names(server):
        target = _ROOT_DEVICE if name == root_name(server.id) else _next_free(used, server.id)
        disks.append(ImageDisk(name, target))
    attached: list[AttachedVolume] = []
    for volume in volumes:
        info = connections.get(volume.volume_id)
        if info is None:
            raise InvalidGuest(f"server {server.id}: volume {volume.volume_id} has no "
                               "connection_info (its attachment is not connected yet)")
        wanted = _device(volume.device)
        booting = wanted == _ROOT_DEVICE and server.image_id is None
        if booting:
            target = _ROOT_DEVICE
        elif wanted is not None and wanted not in used:
            target = wanted
            used.add(wanted)
        else:
            target = _next_free(used, server.id)
        attached.append(AttachedVolume(volume.volume_id, info, target))
    return GuestDescription(server.id, server.instance_name,
                            memory_mib=_flavor_int(server.flavor, "memory_mb", server.id),
                            vcpus=_flavor_int(server.flavor, "vcpus", server.id),
                            disks=tuple(disks), volumes=tuple(attached))


# --- the server of a deployment (shoal compute domxml) -----------------------------------
def _find(session: DbSession, server: str) -> Server:
    row = session.get(Server, server)
    if row is not None and row.deleted_at is None:
        return row
    rows = list(session.scalars(select(Server).where(
        Server.name == server, Server.deleted_at.is_(None)).order_by(Server.created_at)))
    if not rows:
        raise ServerNotFound(f"No server with a name or ID of '{server}' exists.")
    if len(rows) > 1:
        raise errors.InvalidArgument(
            f"More than one server exists with the name '{server}' "
            f"({', '.join(r.id for r in rows)}): give its ID")
    found: Server = rows[0]
    return found


def server_guest(db: Database, server: str
                 ) -> tuple[ServerRecord, dict[str, Mapping[str, Any]]]:
    """The server named or with id ``server`` (of any project, not deleted) and the
    ``connection_info`` of its volumes' attachments, by volume id (a volume whose
    attachment is gone or holds no connection info is left out).

    Raises:
        ServerNotFound: no server has that id or name (404).
        errors.InvalidArgument: several servers have that name (the message lists
            their ids).
        errors.Unavailable: the database cannot be read.
    """
    with db.session(readonly=True) as session:
        found = record(_find(session, server))
        ids = [v.attachment_id for v in found.volumes if v.attachment_id]
        connections: dict[str, Mapping[str, Any]] = {}
        if ids:
            for row in session.scalars(select(Attachment).where(Attachment.id.in_(ids))):
                if row.connection_info is not None:
                    connections[row.volume_id] = json.loads(row.connection_info)
    return found, connections


# --- secrets --------------------------------------------------------------------------------
def _keyring_paths(session: Session, entity: str) -> list[Path]:
    """Where the session's own key may be: the conf's ``keyring`` (librados expands
    it; comma-, semicolon- or space-separated), else the embedded data directory's
    default keyrings."""
    configured = session.conf_get("keyring")
    paths = [Path(p) for p in (configured or "").replace(";", ",").replace(" ", ",").split(",")
             if p]
    if isinstance(session, EmbeddedSession):
        paths += session.layout.keyring_search_path(entity)
    return paths


def _keyring_key(path: Path, entity: str) -> str | None:
    try:
        entries = keys.parse_keyring(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, errors.InvalidArgument):
        return None
    return next((e.key for e in entries if e.entity == entity), None)


def user_key(session: Session, user: str, *, keyring: Path | None = None
             ) -> tuple[str, Path | None]:
    """``(base64 key, keyring file or None)`` of ``client.<user>``: from ``keyring``
    when given; else, for the session's own entity, from its keyring (the conf's
    ``keyring``, the data directory's ``ceph.client.<user>.keyring``); else as
    ``ceph auth get-key client.<user>`` answers (an admin session: devstack's way).

    Raises:
        errors.NotFound: ``keyring`` holds no key for the user.
        errors.PermissionDenied: no keyring of the session's own user holds it and
            the session may not read other users' keys (EACCES on ``auth get-key``).
        errors.ShoalError: what the monitor answers otherwise (ENOENT: no such user).
    """
    entity = f"client.{user}"
    if keyring is not None:
        key = _keyring_key(keyring, entity)
        if key is None:
            raise errors.NotFound(f"keyring {keyring} holds no key for {entity}")
        return key, keyring
    if session.entity == entity:
        for path in _keyring_paths(session, entity):
            key = _keyring_key(path, entity)
            if key is not None:
                return key, path
    reply = session.mon_command({"prefix": "auth get-key", "entity": entity,
                                 "format": "json"})
    if reply.ret == -errno.EACCES:
        raise errors.PermissionDenied(
            f"cannot read the key of {entity}: no keyring of it was found and "
            f"{session.entity} may not run `ceph auth get-key {entity}`")
    found = reply.json()
    key = found.get("key") if isinstance(found, dict) else None
    if not isinstance(key, str):
        raise errors.Unavailable(f"auth get-key {entity}: the answer holds no key")
    return key, None


def guest_secret_check(store: SecretStore, host: str, cfg: ShoalConfig, session: Session, *,
                       keyring: Path | None = None,
                       connections: Iterable[Mapping[str, Any]] = ()) -> None:
    """Check, before a guest starts on compute ``host``, that libvirt there holds the
    key its RBD disks need: ``[libvirt] rbd_secret_uuid`` defined as a ceph secret
    holding the key of ``rbd_user`` (:func:`user_key` over ``session``, or
    ``keyring``), and, for each volume ``connection_info`` in ``connections`` whose
    auth is enabled, its ``secret_uuid`` holding the key of its ``auth_username``
    (once per secret). Nothing is checked without ``rbd_user`` and
    ``rbd_secret_uuid`` (a cluster without cephx).

    Raises:
        GuestSecretMissing: a secret is not defined on the host, or holds no value:
            ``Secret not found: no secret with matching uuid 'U' ...`` with the fix.
        GuestSecretMismatch: a secret holds another key, or is not a ceph secret.
        InvalidGuest: only one of ``rbd_user`` / ``rbd_secret_uuid`` is set.
        errors.ShoalError: the user's key cannot be read (see :func:`user_key`).
    """
    libvirt = cfg.libvirt
    wanted: dict[str, str] = {}
    if libvirt.rbd_user is not None or libvirt.rbd_secret_uuid is not None:
        if libvirt.rbd_user is None or libvirt.rbd_secret_uuid is None:
            raise InvalidGuest(
                "[libvirt] rbd_user and rbd_secret_uuid go together: the libvirt secret "
                f"rbd_secret_uuid = {libvirt.rbd_secret_uuid or '(unset)'} holds the key "
                f"of rbd_user = {libvirt.rbd_user or '(unset)'}; set both")
        wanted[canonical_uuid(libvirt.rbd_secret_uuid)] = libvirt.rbd_user
    for info in connections:
        data = info.get("data")
        if isinstance(data, Mapping) and data.get("auth_enabled") and data.get(
                "secret_uuid") and data.get("auth_username"):
            wanted.setdefault(canonical_uuid(str(data["secret_uuid"])),
                              str(data["auth_username"]))
    for secret_uuid, user in wanted.items():
        own = keyring if user == libvirt.rbd_user else None
        key, path = user_key(session, user, keyring=own)
        check_guest_secret(store, host, secret_uuid, key, user=user, keyring=path)


def ensure_host_secret(store: SecretStore, host: str, secret_uuid: str, key: str, *,
                       user: str = "cinder") -> bool:
    """Define ``secret_uuid`` on ``host`` as the guide's secret (usage ``ceph``, name
    ``client.<user> secret``) holding ``key`` (base64), as devstack's ceph plugin does
    for its compute host; True if it was defined now. A secret already defined with
    that UUID is never changed (only given ``key`` when it holds no value).

    Raises:
        SecretConflict: another UUID holds the usage ``client.<user> secret``, or
            the UUID is defined for another usage.
        errors.InvalidArgument: ``key`` is not base64; a bad host or UUID.
    """
    uuid = canonical_uuid(secret_uuid)
    value = decode_base64(key)
    try:
        store.lookup(host, uuid)
    except SecretNotFound:
        store.define(host, secret_xml(SecretDef(uuid, "ceph", f"client.{user} secret")))
        store.set_value(host, uuid, value)
        return True
    try:
        store.read_value(host, uuid)
    except SecretNotFound:
        store.set_value(host, uuid, value)
    return False
