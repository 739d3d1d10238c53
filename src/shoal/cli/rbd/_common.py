"""What every ``shoal rbd`` command shares: errors, the session, pools and images.

Errors print as ``rbd`` prints them and exit with the errno, as ``rbd`` does
(``Shell::execute`` returns ``abs(r)``); argument mistakes that boost's option
parser catches exit 1. Where shoal knows more than ``cpp_strerror`` says (a
caps refusal, an invalid feature combination), that detail is printed on the
line before, where ``rbd`` would print its ``librbd:`` log line.

Commands use :class:`RbdCommand` (:func:`shoal.cli.rbd._command.rbd_command` sets it):
click usage errors become ``rbd: ...`` lines with exit 1, and anything unexpected is
reported on one line instead of a traceback.
"""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, cast

import click

from shoal import errors
from shoal.cli._common import GlobalOptions, exit_with
from shoal.cluster import Session
from shoal.cluster._conf import CephConf, load_conf
from shoal.cluster.backend import open_session
from shoal.objstore import IoCtx
from shoal.rbd import RBD, Image, RbdOptions
from shoal.rbd.backend import rbd_lib_for

__all__ = [
    "DEFAULT_POOL",
    "SNAPSHOTS_HINT",
    "WATCHERS_HINT",
    "RbdCommand",
    "client_conf",
    "connected_image",
    "connected_pool",
    "default_pool",
    "detail",
    "die",
    "emit",
    "fail",
    "image_class",
    "open_image",
    "open_pool",
    "rbd_engine",
    "session",
    "strerror",
]

#: ``rbd_default_pool``.
DEFAULT_POOL = "rbd"
#: What ``rbd rm`` / ``rbd trash rm`` say when the image is open (EBUSY) ...
WATCHERS_HINT = (
    "error: image still has watchers\nThis means the image is still open or the client "
    "using it crashed. Try again after closing/unmapping it or waiting 30s for the "
    "crashed client to timeout."
)
#: ... and when it has snapshots (ENOTEMPTY).
SNAPSHOTS_HINT = ("image has snapshots - these must be deleted with 'rbd snap purge' "
                  "before the image can be removed.")
#: Errors whose shoal message is worth a line before ``rbd``'s own.
_DETAILED = frozenset({_errno.EINVAL, _errno.EOPNOTSUPP, _errno.EDOM, _errno.EPERM,
                       _errno.EBUSY, _errno.ENOSPC, _errno.EACCES, _errno.EROFS})


def strerror(code: int) -> str:
    """Ceph's ``cpp_strerror``: ``(2) No such file or directory``."""
    return f"({code}) {os.strerror(code)}"


def die(message: str, status: int) -> NoReturn:
    """Print ``rbd: message`` on stderr and exit with ``status``."""
    exit_with(f"rbd: {message}", status)


def detail(exc: errors.ShoalError) -> None:
    """Print shoal's own explanation of ``exc`` when it adds to the errno."""
    message = str(exc)
    if exc.errno in _DETAILED and message and message != type(exc).__name__:
        click.echo(f"rbd: {message}", err=True)


def fail(prefix: str, exc: errors.ShoalError) -> NoReturn:
    """``rbd: <prefix>: (errno) text`` (after the detail line) and exit errno."""
    detail(exc)
    die(f"{prefix}: {strerror(exc.errno)}", exc.errno)


class RbdCommand(click.Command):
    """A click command that reports like ``rbd`` (no usage dump, no traceback)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            die(f"unrecognised option '{exc.option_name}'\n", 1)
        except click.BadOptionUsage as exc:
            die(f"the required argument for option '{exc.option_name}' is missing\n", 1)
        except click.UsageError as exc:
            if "extra argument" in exc.message:
                die("too many arguments", 1)
            die(exc.message.rstrip(".") + "\n", 1)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except errors.ShoalError as exc:
            detail(exc)
            die(strerror(exc.errno), exc.errno)
        except BrokenPipeError:
            raise click.exceptions.Exit(_errno.EPIPE) from None
        except OSError as exc:
            code = exc.errno or _errno.EIO
            die(f"{exc.strerror or exc}: {strerror(code)}", code)
        except Exception as exc:  # never a traceback
            die(f"unexpected error: {type(exc).__name__}: {exc}", _errno.EIO)


# --- configuration and session --------------------------------------------------


def client_conf(obj: GlobalOptions) -> CephConf | None:
    """The cluster's ceph.conf (for ``[client] rbd default ...``), None if unreadable."""
    if obj.resolved_backend() == "ceph":
        path = obj.backend_config().ceph_conf or Path("/etc/ceph/ceph.conf")
    else:
        path = obj.conf if obj.conf is not None else obj.resolved_data_dir() / "ceph.conf"
    try:
        return load_conf(Path(path).expanduser())
    except errors.ShoalError:
        return None


def default_pool(obj: GlobalOptions) -> str:
    """``rbd_default_pool`` from ceph.conf, else ``rbd``."""
    conf = client_conf(obj)
    value = conf.get("rbd_default_pool", "client") if conf is not None else None
    return value or DEFAULT_POOL


def rbd_engine(obj: GlobalOptions, entity: str) -> RBD:
    """An ``RBD`` with librbd's defaults from ceph.conf ``[client]`` (bad values: EINVAL).

    On the Ceph backend, librbd's adapter, which reads them from the connection itself
    (typed as the embedded ``RBD``: the adapter has the same interface, checked by
    ``tests/ceph/test_rbd_adapter.py``).
    """
    if obj.resolved_backend() == "ceph":
        from shoal.rbd import ceph

        return cast(RBD, ceph.RBD())
    conf = client_conf(obj)
    if conf is None:
        return RBD(RbdOptions(entity=entity))
    return RBD(RbdOptions.from_conf(lambda key: conf.get(key, "client"), entity=entity))


@contextmanager
def session(obj: GlobalOptions) -> Iterator[Session]:
    """The caller's session (``--id``/``--keyring``...), closed afterwards; when it
    cannot be opened, exit as ``rbd`` does (``couldn't connect to the cluster!``)."""
    try:
        sess = open_session(obj.backend_config())
    except errors.ShoalError as exc:
        click.echo(f"rbd: {exc}", err=True)
        die("couldn't connect to the cluster!", exc.errno)
    with sess:
        yield sess


def open_pool(sess: Session, pool: str, namespace: str = "", *,
              default: str = DEFAULT_POOL) -> IoCtx:
    """An I/O context on ``pool``/``namespace``, or exit as ``rbd`` does."""
    try:
        io = sess.open_ioctx(pool)
    except errors.ShoalError as exc:
        if exc.errno == _errno.ENOENT and pool == default:
            die(f"error opening default pool '{pool}'\nEnsure that the default pool has "
                "been created or specify an alternate pool name.", exc.errno)
        die(f"error opening pool '{pool}': {strerror(exc.errno)}", exc.errno)
    if namespace:
        io.set_namespace(namespace)
    return io


def image_class(io: IoCtx) -> type[Image]:
    """``Image`` of the backend ``io`` belongs to (the librbd adapter on Ceph, typed as
    the embedded class whose interface it has)."""
    return cast("type[Image]", rbd_lib_for(io).Image)


def open_image(io: IoCtx, name: str, entity: str, *, snap: str | None = None,
               read_only: bool = False) -> Image:
    """Open image ``name`` (at ``snap``), or exit as ``utils::init_and_open_image``."""
    try:
        image = image_class(io)(io, name, read_only=read_only or snap is not None,
                                entity=entity)
    except errors.ShoalError as exc:
        die(f"error opening image {name}: {strerror(exc.errno)}", exc.errno)
    if snap:
        try:
            image.set_snap(snap)
        except errors.ShoalError as exc:
            image.close()
            click.echo(f"error setting snapshot context: {strerror(exc.errno)}", err=True)
            raise click.exceptions.Exit(exc.errno) from None
    return image


@contextmanager
def connected_pool(obj: GlobalOptions, pool: str,
                   namespace: str = "") -> Iterator[tuple[Session, IoCtx]]:
    """The caller's session and an I/O context on ``pool`` (exits on failure)."""
    with session(obj) as sess:
        io = open_pool(sess, pool, namespace, default=default_pool(obj))
        try:
            yield sess, io
        finally:
            io.close()


@contextmanager
def connected_image(
    obj: GlobalOptions, pool: str, namespace: str, name: str, *,
    snap: str | None = None, read_only: bool = False,
) -> Iterator[tuple[Session, IoCtx, Image]]:
    """Session, pool and open image ``name`` (at ``snap``), all closed afterwards."""
    with connected_pool(obj, pool, namespace) as (sess, io):
        image = open_image(io, name, sess.entity, snap=snap, read_only=read_only)
        try:
            yield sess, io, image
        finally:
            image.close()


def emit(text: str) -> None:
    """Write command output to stdout as is."""
    click.echo(text, nl=False)
