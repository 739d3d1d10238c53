"""First-start provisioning of the cluster, as the guide's admin steps do it.

:func:`provision_cluster` runs, over an admin :class:`~shoal.cluster.Session` (embedded or
Ceph alike), what the guide types by hand:

1. ``ceph osd pool create`` for ``volumes``, ``images``, ``backups`` and ``vms`` (an
   existing pool is kept; pg_num is the cluster's default, not the guide's 128, so that a
   one-OSD Ceph stays under ``mon_max_pg_per_osd``);
2. ``rbd pool init`` on each (idempotent);
3. ``ceph auth get-or-create`` for ``client.cinder``, ``client.glance`` and
   ``client.cinder-backup`` with the guide's caps, and each keyring written to
   ``<keyring_dir>/ceph.client.NAME.keyring`` (mode 0600).

Every step is idempotent, so a second start changes nothing. A user that an admin gave
other caps keeps them (get-or-create refuses to change caps); its keyring is still written
and the difference is reported in :attr:`ProvisionReport.notes`.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from pathlib import Path

from shoal import errors
from shoal.cluster import Session, keys
from shoal.deploy._files import write_private

__all__ = ["GUIDE_POOLS", "GUIDE_USERS", "ProvisionReport", "keyring_path", "provision_cluster"]

#: The guide's pools, in its order.
GUIDE_POOLS: tuple[str, ...] = ("volumes", "images", "backups", "vms")

_CHILDREN = "allow class-read object_prefix rbd_children"
#: The guide's users and their caps (``mon``, ``osd``), verbatim.
GUIDE_USERS: dict[str, dict[str, str]] = {
    "client.cinder": {
        "mon": "allow r",
        "osd": f"{_CHILDREN}, allow rwx pool=volumes, allow rwx pool=vms, allow rx pool=images",
    },
    "client.glance": {"mon": "allow r", "osd": f"{_CHILDREN}, allow rwx pool=images"},
    "client.cinder-backup": {"mon": "allow r", "osd": f"{_CHILDREN}, allow rwx pool=backups"},
}


@dataclass
class ProvisionReport:
    """What :func:`provision_cluster` did.

    Attributes:
        created_pools: pools that did not exist before.
        created_users: entities that did not exist before.
        keyrings: entity → keyring file written.
        notes: things an operator may want to know (caps left as an admin set them).
    """

    created_pools: list[str] = field(default_factory=list)
    created_users: list[str] = field(default_factory=list)
    keyrings: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def keyring_path(directory: Path, entity: str) -> Path:
    """``DIR/ceph.client.NAME.keyring``, where Ceph's tools look by default."""
    return directory / f"ceph.{entity}.keyring"


def provision_cluster(session: Session, keyring_dir: Path) -> ProvisionReport:
    """Create the guide's pools and users (see the module doc) over an admin ``session``.

    Raises:
        errors.PermissionDenied: the session may not create pools or users.
        errors.Unavailable: a keyring cannot be written.
        errors.ShoalError: what the cluster answers otherwise (e.g. a pool of another
            application, EPERM from ``rbd pool init``).
    """
    report = ProvisionReport()
    existing = set(session.list_pools())
    for pool in GUIDE_POOLS:
        if pool not in existing:
            try:
                session.create_pool(pool)
                report.created_pools.append(pool)
            except errors.AlreadyExists:
                pass  # another process made it meanwhile
        session.rbd_pool_init(pool)
    for entity, caps in GUIDE_USERS.items():
        key, created, note = _get_or_create(session, entity, caps)
        if created:
            report.created_users.append(entity)
        if note:
            report.notes.append(note)
        path = keyring_path(keyring_dir, entity)
        write_private(path, keys.format_keyring([keys.KeyringEntry(entity, key, {})],
                                                 with_caps=False))
        report.keyrings[entity] = path
    return report


def _get_or_create(session: Session, entity: str, caps: dict[str, str]
                   ) -> tuple[str, bool, str | None]:
    """(key, created, note) of ``entity``, creating it with ``caps`` when missing."""
    known = session.mon_command({"prefix": "auth get", "entity": entity, "format": "json"})
    if known.ret != -errno.ENOENT:
        known.check()
        found = known.json()
        current = found[0].get("caps", {}) if isinstance(found, list) and found else {}
        note = None
        if current != caps:
            note = (f"{entity} keeps the caps an admin gave it ({current}); the guide's are "
                    f"{caps}")
        return _key_of(found, entity), False, note
    cmd: dict[str, object] = {
        "prefix": "auth get-or-create", "entity": entity, "format": "json",
        "caps": [part for service, text in caps.items() for part in (service, text)],
    }
    made = session.mon_command(cmd).json()
    return _key_of(made, entity), True, None


def _key_of(reply: object, entity: str) -> str:
    if isinstance(reply, list) and reply and isinstance(reply[0], dict):
        key = reply[0].get("key")
        if isinstance(key, str):
            return key
    raise errors.Unavailable(f"the cluster's answer for {entity} holds no key: {reply!r}")
