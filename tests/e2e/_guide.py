"""The admin sequence of the Ceph/OpenStack guides (tests/../seeds), run with ``shoal``.

Verbatim from the guides, with ``shoal`` in front of ``ceph`` and ``rbd``; the
keyrings the guides pipe to ``/etc/ceph/ceph.client.X.keyring`` are written into
the data directory with ``-o`` instead.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.shoal_cli import run_shoal_cli

POOLS = ("volumes", "images", "backups", "vms")
CINDER_OSD = ("allow class-read object_prefix rbd_children, allow rwx pool=volumes, "
              "allow rwx pool=vms, allow rx pool=images")
GLANCE_OSD = "allow class-read object_prefix rbd_children, allow rwx pool=images"
BACKUP_OSD = "allow class-read object_prefix rbd_children, allow rwx pool=backups"
CAPS = {"client.cinder": CINDER_OSD, "client.glance": GLANCE_OSD,
        "client.cinder-backup": BACKUP_OSD}

USERS = ("client.cinder", "client.glance", "client.cinder-backup")


def guide_commands(rename: Mapping[str, str] | None = None) -> list[str]:
    """The guide's command lines; ``rename`` maps its pool and user names (``volumes``,
    ``client.cinder`` ...) to others, in the commands and inside the caps strings alike
    (for a shared Ceph cluster, where names must be unique to a test)."""
    names = dict(rename or {})

    def pool(name: str) -> str:
        return names.get(name, name)

    def caps(text: str) -> str:
        for name in POOLS:
            text = text.replace(f"pool={name}", f"pool={pool(name)}")
        return text

    return [
        *(f"ceph osd pool create {pool(p)} 128" for p in POOLS),
        *(f"rbd pool init {pool(p)}" for p in POOLS),
        *(f"ceph auth get-or-create {pool(user)} mon 'allow r' osd '{caps(CAPS[user])}'"
          for user in USERS),
    ]


GUIDE = guide_commands()


def keyring_file(data_dir: Path, entity: str) -> Path:
    return data_dir / f"ceph.{entity}.keyring"


def provision(data_dir: Path) -> list[subprocess.CompletedProcess[str]]:
    """Run the guide, then write each user's keyring file; return every result."""
    results = [run_shoal_cli(data_dir, *shlex.split(line)) for line in GUIDE]
    for entity in CAPS:
        results.append(run_shoal_cli(
            data_dir, "ceph", "auth", "get-or-create", entity,
            "-o", str(keyring_file(data_dir, entity))))
    failed = [r for r in results if r.returncode != 0]
    assert not failed, [(r.args, r.returncode, r.stderr) for r in failed]
    return results
