"""The cluster session interface, shaped like librados ``rados.Rados``.

A :class:`Session` is an authenticated connection to one cluster as one cephx
entity. It sends monitor commands as Ceph's JSON command dicts (the keys of
``MonCommands.h``) and opens I/O contexts on pools. The embedded backend
(:mod:`shoal.cluster.embedded`) implements it over a data directory; a Ceph
backend implements it over ``rados.Rados.mon_command``/``open_ioctx`` almost
verbatim.

Errors: ``mon_command`` never raises for a command the monitor refuses; it
returns the negative errno in :attr:`MonResult.ret` and the reason in
:attr:`MonResult.outs`, as librados does. The pool conveniences raise
:mod:`shoal.errors` instances instead (use :meth:`MonResult.check` likewise).
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import TracebackType
from typing import NamedTuple, TypeVar

from shoal import errors
from shoal.objstore import IoCtx

__all__ = ["MonCommand", "MonResult", "Session"]

#: A mon command: ``{"prefix": "osd pool create", "pool": "volumes", ...}``.
MonCommand = Mapping[str, object]

S = TypeVar("S", bound="Session")


class MonResult(NamedTuple):
    """A monitor's reply, as librados returns it: ``(ret, outbuf, outs)``.

    ``ret`` is 0 or a negative errno; ``outbuf`` the command's data (what
    ``ceph`` prints on stdout); ``outs`` the status line (``ceph`` prints it on
    stderr, or as ``Error E...: outs`` when ``ret`` < 0).
    """

    ret: int
    outbuf: bytes
    outs: str

    def check(self) -> MonResult:
        """Return self if ``ret`` >= 0, else raise the matching :mod:`shoal.errors` error."""
        if self.ret < 0:
            raise errors.error_for_errno(self.ret, self.outs or os.strerror(-self.ret))
        return self

    def json(self) -> object:
        """``outbuf`` decoded as JSON (after :meth:`check`).

        Raises:
            errors.InvalidArgument: ``outbuf`` is not JSON.
        """
        self.check()
        try:
            return json.loads(self.outbuf)
        except ValueError as exc:
            raise errors.InvalidArgument(f"mon reply is not JSON: {exc}") from exc


class Session(ABC):
    """A connection to a cluster as one entity. Thread-safe. Use as a context manager."""

    @property
    @abstractmethod
    def entity(self) -> str:
        """The cephx entity this session authenticated as (``client.cinder``)."""

    @abstractmethod
    def get_fsid(self) -> str:
        """The cluster fsid (a lower-case UUID string)."""

    @abstractmethod
    def mon_command(self, cmd: MonCommand | str, inbuf: bytes = b"") -> MonResult:
        """Run one monitor command (a dict, or its JSON text) with input ``inbuf``.

        ``cmd["format"]`` selects ``plain`` (default), ``json`` or ``json-pretty``
        output. Unknown commands give ``-EINVAL`` "command not known"; commands
        the entity's mon caps do not allow give ``-EACCES`` "access denied".
        """

    @abstractmethod
    def open_ioctx(self, pool: str) -> IoCtx:
        """An I/O context on ``pool``; each object operation is checked against
        the entity's OSD caps and refused with :class:`~shoal.errors.PermissionDenied`.

        Raises:
            errors.PoolNotFound: no such pool.
        """

    @abstractmethod
    def conf_get(self, option: str) -> str | None:
        """The client configuration's value of ``option`` (``rbd_default_features``), as
        librados ``conf_get`` gives it; None when unset. Embedded: the data directory's
        ceph.conf (``[client.NAME]``, ``[client]``, then ``[global]``, as librados reads it)."""

    @abstractmethod
    def shutdown(self) -> None:
        """Close the session; idempotent. Further calls raise ``errors.Unavailable``."""

    # --- conveniences over mon_command (librados semantics) ---------------------
    def create_pool(self, name: str, pg_num: int | None = None) -> None:
        """Create pool ``name`` (default pg_num when None).

        Raises:
            errors.PoolExists: the pool already exists (as ``rados.create_pool``).
            errors.ShoalError: whatever the monitor refused the command with.
        """
        cmd: dict[str, object] = {"prefix": "osd pool create", "pool": name}
        if pg_num is not None:
            cmd["pg_num"] = pg_num
        result = self.mon_command(cmd).check()
        if result.outs.endswith("already exists"):
            raise errors.PoolExists(result.outs)

    def delete_pool(self, name: str) -> None:
        """Delete pool ``name`` and all its objects.

        Raises:
            errors.PoolNotFound: no such pool (as ``rados.delete_pool``).
            errors.PermissionDenied: pool deletion is disabled (EPERM).
        """
        result = self.mon_command({
            "prefix": "osd pool delete", "pool": name, "pool2": name,
            "yes_i_really_really_mean_it": True,
        }).check()
        if result.outs.endswith("does not exist"):
            raise errors.PoolNotFound(result.outs)

    def list_pools(self) -> list[str]:
        """Pool names in pool id order."""
        names = self.mon_command({"prefix": "osd pool ls", "format": "json"}).json()
        if not isinstance(names, list):
            raise errors.InvalidArgument("osd pool ls: unexpected reply")
        return [str(n) for n in names]

    def pool_exists(self, name: str) -> bool:
        return name in self.list_pools()

    def rbd_pool_init(self, pool: str, force: bool = False) -> None:
        """``rbd pool init``: enable the ``rbd`` application on ``pool`` and
        validate it as librbd does (see :mod:`shoal.cluster._poolinit`).
        Idempotent. A backend with its own librbd overrides this.

        Raises:
            errors.PoolNotFound: no such pool.
            errors.PermissionDenied: another application is enabled (and not
                ``force``), or the caps refuse the writes.
        """
        from shoal.cluster._poolinit import pool_init  # late: _poolinit imports this module

        pool_init(self, pool, force)

    def __enter__(self: S) -> S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()
