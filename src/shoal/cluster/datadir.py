"""The embedded cluster's data directory: where it lives and how it is created.

Layout::

    <root>/ceph.conf                   [global] fsid; [mon] mon allow pool delete = true
    <root>/ceph.client.admin.keyring   client.admin's key and caps (mode 0600)
    <root>/mon/mon.db                  auth entities and monitor state (SQLite, WAL)
    <root>/osd/                        the object store (a LocalStore root)

Location, first match wins: an explicit path (``--data-dir``), ``$SHOAL_DATA_DIR``,
``$XDG_DATA_HOME/shoal``, ``~/.local/share/shoal``.

:func:`ensure_data_dir` creates whatever is missing on first use. Creation is
race-safe: it runs under an exclusive ``flock`` on ``<root>/.init.lock``, every
step is idempotent, and files appear atomically (written aside, then renamed),
so processes initialising the same directory at once end with one fsid and one
admin key. ``mon allow pool delete = true`` mirrors Ceph's vstart development
clusters; set it to false to make ``osd pool delete`` refuse with EPERM.

Security note: in embedded mode every client reads ``mon/mon.db`` itself, so
cephx here guards against mistakes, not against local users who can read the
directory. The directory is created with mode 0700.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shoal import errors
from shoal.atomicfile import write_atomically
from shoal.cluster import keys
from shoal.cluster._conf import CephConf, load_conf, render_conf
from shoal.cluster._mondb import AuthEntity, MonDB

__all__ = ["ADMIN_CAPS", "ADMIN_ENTITY", "ENV_VAR", "DataDir", "default_data_dir",
           "ensure_data_dir"]

ENV_VAR = "SHOAL_DATA_DIR"
ADMIN_ENTITY = "client.admin"
#: client.admin's caps, as Ceph's bootstrap gives them.
ADMIN_CAPS = {"mds": "allow *", "mgr": "allow *", "mon": "allow *", "osd": "allow *"}

_CONF_HEADER = "# shoal embedded cluster (Ceph ceph.conf syntax); see shoal.cluster.datadir\n"


def default_data_dir() -> Path:
    """``$SHOAL_DATA_DIR``, else ``$XDG_DATA_HOME/shoal``, else ``~/.local/share/shoal``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "shoal"


@dataclass(frozen=True)
class DataDir:
    """Paths inside one data directory (nothing is created by this class)."""

    root: Path

    @property
    def conf_path(self) -> Path:
        return self.root / "ceph.conf"

    @property
    def mon_db_path(self) -> Path:
        return self.root / "mon" / "mon.db"

    @property
    def osd_dir(self) -> Path:
        return self.root / "osd"

    def keyring_path(self, entity: str) -> Path:
        """``<root>/ceph.<entity>.keyring``, Ceph's default per-entity keyring."""
        return self.root / f"ceph.{entity}.keyring"

    def keyring_search_path(self, entity: str) -> list[Path]:
        """Default keyrings in Ceph's order: per-entity, ``ceph.keyring``, ``keyring``."""
        return [self.keyring_path(entity), self.root / "ceph.keyring", self.root / "keyring"]

    def is_initialized(self) -> bool:
        return (
            self.conf_path.is_file()
            and self.mon_db_path.is_file()
            and self.keyring_path(ADMIN_ENTITY).is_file()
            and self.osd_dir.is_dir()
        )

    def load_conf(self) -> CephConf:
        """Parse ceph.conf afresh (edits take effect on the next call)."""
        return load_conf(self.conf_path)

    def fsid(self) -> str:
        """The cluster fsid from ceph.conf.

        Raises:
            errors.Unavailable: ceph.conf has no valid ``fsid``.
        """
        value = self.load_conf().get("fsid")
        try:
            return str(uuid.UUID(value or ""))
        except ValueError:
            raise errors.Unavailable(f"{self.conf_path}: missing or invalid fsid") from None


def ensure_data_dir(root: Path) -> DataDir:
    """Return the data directory at ``root``, creating what is missing.

    Raises:
        errors.Unavailable: the directory cannot be created or written.
    """
    layout = DataDir(Path(root).expanduser())
    if layout.is_initialized():
        return layout
    try:
        layout.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _init_lock(layout.root):
            _initialize(layout)
    except OSError as exc:
        raise errors.Unavailable(f"cannot initialise data directory {layout.root}: {exc}") from exc
    return layout


@contextlib.contextmanager
def _init_lock(root: Path) -> Iterator[None]:
    fd = os.open(root / ".init.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _initialize(layout: DataDir) -> None:
    """Create each missing piece; every step is idempotent."""
    if not layout.conf_path.exists():
        write_atomically(layout.conf_path, _initial_conf(), 0o644)
    layout.mon_db_path.parent.mkdir(mode=0o700, exist_ok=True)
    db = MonDB(layout.mon_db_path)
    try:
        admin = _ensure_admin(db)
    finally:
        db.close()
    admin_keyring = layout.keyring_path(ADMIN_ENTITY)
    if not admin_keyring.exists():
        entry = keys.KeyringEntry(admin.name, admin.key, admin.caps)
        write_atomically(admin_keyring, keys.format_keyring([entry]), 0o600)
    layout.osd_dir.mkdir(mode=0o700, exist_ok=True)


def _initial_conf() -> str:
    body = render_conf([
        ("global", [("fsid", str(uuid.uuid4()))]),
        ("mon", [("mon allow pool delete", "true")]),
    ])
    return _CONF_HEADER + body


def _ensure_admin(db: MonDB) -> AuthEntity:
    """Create client.admin (and the monitor's birth facts) unless present."""
    existing = db.get_entity(ADMIN_ENTITY)
    if existing is not None:
        return existing
    admin = AuthEntity(ADMIN_ENTITY, keys.generate_secret(), ADMIN_CAPS)
    with db.write() as conn:
        MonDB.put_entity(conn, admin)
        MonDB.set_value(conn, "created", repr(time.time()), replace=False)
        MonDB.set_value(conn, "osdmap_epoch", "1", replace=False)
    return admin
