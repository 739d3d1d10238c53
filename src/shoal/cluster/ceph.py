"""The Ceph cluster backend: a :class:`~shoal.cluster.Session` over librados.

:func:`connect_ceph` opens a ``rados.Rados`` handle from a real ``ceph.conf``
as one cephx entity (its key from ``keyring``, else from what the conf file
says), with bounded client timeouts, and wraps it. Monitor commands go to the
real monitors unchanged (:meth:`CephSession.mon_command` passes the JSON
command through and returns librados' ``(ret, outbuf, outs)``); I/O contexts
are :class:`shoal.objstore.rados.RadosIoCtx`; ``rbd pool init`` is librbd's own
``RBD.pool_init``.

Debian's ``python3-rados``/``python3-rbd`` bindings are imported lazily, so
``shoal`` imports without Ceph installed; their absence is reported as
:class:`~shoal.errors.Unavailable` when a session is opened.

Usage::

    with connect_ceph("/etc/ceph/ceph.conf", name="client.cinder",
                      keyring="/etc/ceph/ceph.client.cinder.keyring") as session:
        session.mon_command({"prefix": "osd pool ls", "format": "json"})
"""

from __future__ import annotations

import errno
import gc
import json
import math
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shoal import errors
from shoal.cluster import keys
from shoal.cluster._base import MonCommand, MonResult, Session
from shoal.cluster._poolinit import enable_rbd_application
from shoal.objstore import IoCtx, PoolInfo

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "CephSession",
    "connect_ceph",
    "import_rados",
    "map_rados_error",
]

#: Bound on connecting, each monitor command and each OSD operation (seconds).
#: Without it, a cluster with no OSD up makes ``rbd pool init`` block forever.
DEFAULT_TIMEOUT_S = 30.0
_DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"


def import_rados() -> Any:
    """The ``rados`` module (Debian's ``python3-rados``).

    Tries the normal import path first, then Debian's dist-packages appended
    *after* site-packages (what ``scripts/ceph-dev``'s ``.pth`` file does).

    Raises:
        errors.Unavailable: the bindings are not installed.
    """
    try:
        import rados  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        if _DEBIAN_DIST_PACKAGES not in sys.path:
            sys.path.append(_DEBIAN_DIST_PACKAGES)
        try:
            import rados  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            raise errors.Unavailable(
                f"the Ceph backend needs the python3-rados bindings: {exc}") from exc
    return rados


def _import_rbd() -> Any:
    import_rados()  # puts Debian's dist-packages on the path if needed
    try:
        import rbd  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise errors.Unavailable(f"rbd pool init needs the python3-rbd bindings: {exc}") from exc
    return rbd


def map_rados_error(exc: BaseException, context: str) -> errors.ShoalError:
    """The :mod:`shoal.errors` instance for a ``rados``/``rbd`` exception.

    The binding's ``errno`` (positive) selects the class through
    :func:`shoal.errors.error_for_errno` (ENOENT NotFound, EEXIST AlreadyExists,
    EPERM PermissionDenied, EACCES AuthenticationFailed, ETIMEDOUT TimedOut
    ...); EIO or no errno at all becomes :class:`~shoal.errors.Unavailable`.
    """
    code = getattr(exc, "errno", None)
    message = f"{context}: {exc}"
    if code == errno.EIO:
        return errors.Unavailable(message)
    if isinstance(code, int) and code != 0:
        return errors.error_for_errno(code, message)
    return errors.Unavailable(message)


def _entity_parts(name: str) -> tuple[str, str]:
    keys.check_entity_name(name)
    kind, _, ident = name.partition(".")
    return kind, ident


def connect_ceph(
    conf: Path | str,
    name: str = "client.admin",
    keyring: Path | str | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    options: Mapping[str, str] | None = None,
) -> CephSession:
    """Connect to the Ceph cluster described by the ``ceph.conf`` at ``conf``.

    ``name`` is the full cephx entity (``client.cinder``); ``keyring`` a keyring
    file holding its key (None: the conf file's ``keyring`` setting and Ceph's
    default search list). ``timeout_s`` (seconds, > 0) sets
    ``client_mount_timeout``, ``rados_mon_op_timeout`` and
    ``rados_osd_op_timeout``. (rounded up to whole seconds). ``options``
    are further config options set before connecting (they win over ``timeout_s``).

    Raises:
        errors.InvalidArgument: malformed entity name or option.
        errors.AuthenticationFailed: wrong or unknown key (EACCES).
        errors.NotFound: no keyring holds a key for ``name`` (ENOENT).
        errors.TimedOut: no monitor answered within ``timeout_s``.
        errors.Unavailable: no bindings, or ``conf`` cannot be read.
    """
    if timeout_s <= 0:
        raise errors.InvalidArgument(f"timeout_s must be > 0, not {timeout_s}")
    _entity_parts(name)
    conf_path = Path(conf)
    if not conf_path.is_file():
        raise errors.Unavailable(f"cannot read ceph.conf {conf_path}: no such file")
    rados = import_rados()
    whole_s = str(math.ceil(timeout_s))  # these options are whole seconds in Ceph 16
    settings = {
        "client_mount_timeout": whole_s,
        "rados_mon_op_timeout": whole_s,
        "rados_osd_op_timeout": whole_s,
    }
    if keyring is not None:
        settings["keyring"] = str(keyring)
    settings.update(options or {})
    try:
        cluster = rados.Rados(conffile=str(conf_path), name=name, conf=settings)
    except rados.Error as exc:
        raise _connect_error(exc, f"reading {conf_path}") from exc
    try:
        cluster.connect(timeout=timeout_s)
    except rados.Error as exc:
        cluster.shutdown()
        raise _connect_error(exc, f"cannot connect as {name}") from exc
    return CephSession(cluster, name, timeout_s)


def _connect_error(exc: BaseException, context: str) -> errors.ShoalError:
    mapped = map_rados_error(exc, context)
    if type(mapped) is errors.InvalidArgument and "reading" in context:
        return errors.Unavailable(mapped.message)
    return mapped


class CephSession(Session):
    """A session on a real Ceph cluster (create it with :func:`connect_ceph`).

    Thread-safe as librados is; :meth:`shutdown` is idempotent.
    """

    def __init__(self, cluster: Any, entity: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._cluster = cluster
        self._entity = entity
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._closed = False

    @property
    def entity(self) -> str:
        return self._entity

    @property
    def raw(self) -> Any:
        """The connected ``rados.Rados`` handle (for librbd and the real tools' API)."""
        self._check_open()
        return self._cluster

    def _check_open(self) -> None:
        if self._closed:
            raise errors.Unavailable("session is shut down")

    def get_fsid(self) -> str:
        self._check_open()
        rados = import_rados()
        try:
            return str(self._cluster.get_fsid()).lower()
        except rados.Error as exc:
            raise map_rados_error(exc, "get_fsid") from exc

    def mon_command(self, cmd: MonCommand | str, inbuf: bytes = b"") -> MonResult:
        """Send ``cmd`` to the monitors as is (JSON); the reply is librados'.

        Raises:
            errors.TimedOut: no reply within the session's timeout.
            errors.InvalidArgument: ``cmd`` cannot be encoded as JSON.
        """
        self._check_open()
        text = cmd if isinstance(cmd, str) else _encode(cmd)
        rados = import_rados()
        try:
            ret, outbuf, outs = self._cluster.mon_command(
                text, bytes(inbuf), timeout=self._timeout_s)
        except rados.Error as exc:
            raise map_rados_error(exc, "mon_command") from exc
        return MonResult(int(ret), bytes(outbuf), str(outs))

    def open_ioctx(self, pool: str) -> IoCtx:
        self._check_open()
        rados = import_rados()
        try:
            raw = self._cluster.open_ioctx(pool)
        except rados.ObjectNotFound as exc:
            raise errors.PoolNotFound(f"pool '{pool}' does not exist") from exc
        except rados.Error as exc:
            raise map_rados_error(exc, f"error opening pool '{pool}'") from exc
        from shoal.objstore.rados import RadosIoCtx, RadosStore

        store = RadosStore(self._cluster, owned=False)  # open_pool, list_pools, snapsets
        try:
            return RadosIoCtx(raw, store)
        except errors.ShoalError:
            # The pool's description comes from the monitors (`osd pool ls detail`); an
            # entity without mon read caps still gets a working handle.
            pool_info = PoolInfo(int(raw.get_pool_id()), pool, 0, 0.0)
            return RadosIoCtx(raw, store, pool=pool_info)

    def rbd_pool_init(self, pool: str, force: bool = False) -> None:
        """``rbd pool init``: the monitor enables the ``rbd`` application (its
        refusal is the same as on the embedded backend), then librbd's
        ``RBD.pool_init`` validates the pool."""
        self._check_open()
        rados = import_rados()
        rbd = _import_rbd()
        try:
            ioctx = self._cluster.open_ioctx(pool)
        except rados.ObjectNotFound as exc:
            raise errors.PoolNotFound(f"pool '{pool}' does not exist") from exc
        try:
            enable_rbd_application(self, pool, force)
            rbd.RBD().pool_init(ioctx, force)
        except (rados.Error, rbd.Error) as exc:
            raise map_rados_error(exc, f"rbd pool init {pool}") from exc
        finally:
            ioctx.close()

    def parse_words(self, words: Sequence[str]) -> dict[str, object] | None:
        """``ceph`` CLI words as a command dict, by the monitors' own command
        descriptions (``get_command_descriptions``) and Ceph's ``ceph_argparse``
        (python3-ceph-argparse), as the real ``ceph`` tool parses them. For
        commands shoal's own table does not know (mgr commands included: the
        monitor forwards them).

        Returns None when no command matches; Ceph's advice (the closest
        commands) has then been written to stderr, as ``ceph`` writes it.

        Raises:
            errors.Unavailable: no ``ceph_argparse``, or no descriptions.
        """
        self._check_open()
        import_rados()  # puts Debian's dist-packages on the path if needed
        try:
            import ceph_argparse  # type: ignore[import-not-found, import-untyped, unused-ignore]
        except ImportError as exc:
            raise errors.Unavailable(f"parsing this command needs ceph_argparse: {exc}") from exc
        reply = self.mon_command({"prefix": "get_command_descriptions"})
        if reply.ret < 0:
            raise errors.Unavailable(
                f"problem getting command descriptions from mon: {reply.outs}")
        sigdict = ceph_argparse.parse_json_funcsigs(reply.outbuf.decode(), "cli")
        valid = ceph_argparse.validate_command(sigdict, list(words))
        return dict(valid) if valid else None

    def conf_get(self, option: str) -> str | None:
        value = self._cluster.conf_get(option)
        return None if value is None or value == "" else str(value)

    def shutdown(self) -> None:
        """Shut the connection down, after collecting unreachable objects of it (see
        :meth:`shoal.objstore.rados.RadosStore.close`: librbd aborts when an image or ioctx
        is finalised after its cluster)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        gc.collect()
        self._cluster.shutdown()


def _encode(cmd: MonCommand) -> str:
    try:
        return json.dumps(dict(cmd))
    except (TypeError, ValueError) as exc:
        raise errors.InvalidArgument(f"mon command is not JSON-encodable: {exc}") from exc
