"""The embedded cluster backend: a :class:`~shoal.cluster.Session` over a data directory.

There is no daemon. Each session authenticates against ``mon/mon.db`` itself,
runs mon commands in-process (:mod:`shoal.cluster._mon`) and opens the object
store (a :class:`~shoal.objstore.local.LocalStore` on ``<data_dir>/osd``) on
first use. Several sessions, in one process or many, may use one data directory
at once; state persists across processes.

Usage::

    with connect("/var/lib/shoal", name="client.cinder") as session:
        io = session.open_ioctx("volumes")
        io.write_full("greeting", b"hello")
"""

from __future__ import annotations

import threading
from pathlib import Path

from shoal import errors
from shoal.cluster import keys
from shoal.cluster._auth import EntityCaps, authenticate, resolve_key
from shoal.cluster._base import MonCommand, MonResult, Session
from shoal.cluster._checked import CheckedIoCtx
from shoal.cluster._mon import MonContext, execute
from shoal.cluster._mondb import MonDB
from shoal.cluster.datadir import ADMIN_ENTITY, DataDir, default_data_dir, ensure_data_dir
from shoal.objstore import IoCtx, ObjectStore

__all__ = ["EmbeddedSession", "connect"]


def connect(
    data_dir: Path | str | None = None,
    name: str = ADMIN_ENTITY,
    keyring: Path | str | None = None,
    key: str | None = None,
    *,
    store: ObjectStore | None = None,
) -> EmbeddedSession:
    """Open a session on the embedded cluster at ``data_dir`` as entity ``name``.

    ``data_dir`` None means :func:`~shoal.cluster.datadir.default_data_dir`; it
    is initialised on first use. The secret is ``key`` if given, else ``name``'s
    section of ``keyring``, else of the first existing default keyring
    (``<data_dir>/ceph.<name>.keyring``, ``ceph.keyring``, ``keyring``).
    ``store`` replaces the data directory's object store (tests); the session
    then does not close it.

    Raises:
        errors.InvalidArgument: bad entity name or malformed ``key``.
        errors.NotFound: no keyring file exists (ENOENT).
        errors.AuthenticationFailed: unknown entity, wrong key, or a keyring
            without a key for ``name`` (EACCES), as librados.
        errors.Unavailable: the data directory cannot be created or read, or
            the keyring does not parse (EIO, as librados).
    """
    layout = ensure_data_dir(Path(data_dir) if data_dir is not None else default_data_dir())
    keys.check_entity_name(name)
    secret = resolve_key(layout, name, Path(keyring) if keyring is not None else None, key)
    db = MonDB(layout.mon_db_path)
    try:
        authenticate(db, name, secret)
    except BaseException:
        db.close()
        raise
    return EmbeddedSession(layout, name, db, store)


class EmbeddedSession(Session):
    """A session on an embedded data directory (create it with :func:`connect`)."""

    def __init__(
        self, layout: DataDir, entity: str, db: MonDB, store: ObjectStore | None = None
    ) -> None:
        self.layout = layout
        self._entity = entity
        self._db = db
        self._caps = EntityCaps(db, entity)
        self._store = store
        self._owns_store = store is None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def entity(self) -> str:
        return self._entity

    def _check_open(self) -> None:
        if self._closed:
            raise errors.Unavailable("session is shut down")

    def _open_store(self) -> ObjectStore:
        with self._lock:
            self._check_open()
            if self._store is None:
                from shoal.objstore.local import LocalStore

                self._store = LocalStore(self.layout.osd_dir)
            return self._store

    def get_fsid(self) -> str:
        self._check_open()
        return self.layout.fsid()

    def mon_command(self, cmd: MonCommand | str, inbuf: bytes = b"") -> MonResult:
        self._check_open()

        def make_context(fmt: str) -> MonContext:
            return MonContext(self.layout, self._db, self._entity, fmt, bytes(inbuf),
                              self._open_store)

        return execute(cmd, self._caps, make_context)

    def open_ioctx(self, pool: str) -> IoCtx:
        store = self._open_store()
        info = store.get_pool(pool)
        return CheckedIoCtx(store.open_ioctx(info.id), self._caps, info, self._record_snap_op)

    def _record_snap_op(self, pool_id: int) -> None:
        with self._db.write() as conn:
            MonDB.record_snap_op(conn, pool_id)

    def conf_get(self, option: str) -> str | None:
        value = self.layout.load_conf().get(option, self._entity)  # [client.x], [client], [global]
        return value or None

    def shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            store, self._store = self._store, None
        if store is not None and self._owns_store:
            store.close()
        self._db.close()
