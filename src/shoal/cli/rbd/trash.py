"""``rbd trash mv|ls|restore|rm|purge`` (``action/Trash.cc``).

Dates (``--expires-at``, ``--expired-before``) are parsed by ``date -d``, as
Ceph's ``utime_t::invoke_date`` does; ``--delay SECONDS`` is the older spelling
of a deferment.
"""

from __future__ import annotations

import errno as _errno
import re
import subprocess
import time
from typing import Any

import click

from shoal import errors
from shoal.cli._common import AliasGroup
from shoal.cli.rbd._args import (
    Positionals,
    format_options,
    output_format,
    parse_uint,
    pool_options,
)
from shoal.cli.rbd._command import POOL, Run, rbd_command
from shoal.cli.rbd._common import (
    SNAPSHOTS_HINT,
    WATCHERS_HINT,
    die,
    emit,
    fail,
    image_class,
    strerror,
)
from shoal.cli.rbd._fmt import Node, Progress, TextTable, arr, ctime, obj, render
from shoal.cli.rbd.info import parent_text
from shoal.objstore import IoCtx

__all__ = ["register"]


@click.group("trash", cls=AliasGroup)
def trash() -> None:
    """Trash commands (deferred deletion)."""


def _invoke_date(text: str) -> float:
    """Seconds since the epoch of a ``date -d`` expression, or exit EINVAL."""
    if text == "now":
        return time.time()
    try:
        done = subprocess.run(["date", "-d", text, "+%s.%N"], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        die(f"error calling /bin/date: {strerror(_errno.EINVAL)}", _errno.EINVAL)
    if done.returncode != 0 or not re.fullmatch(r"-?\d+\.\d+", done.stdout.strip()):
        die(f"error calling /bin/date: {strerror(_errno.EINVAL)}", _errno.EINVAL)
    return float(done.stdout.strip())


@rbd_command("move", "IMAGE_SPEC")
@click.option("--expires-at", "expires_at", default="now", metavar="DATE",
              help="Set the expiration time of an image so it can be purged when stale.")
@click.option("--delay", "delay", metavar="SECONDS",
              help="Time delay in seconds until effectively remove the image.")
def move(run: Run, expires_at: str, delay: str | None) -> None:
    """Move an image to the trash."""
    now = time.time()
    if delay is not None:
        seconds = parse_uint(delay, "--delay")
    else:
        seconds = int(_invoke_date(expires_at) - now)
        if seconds < 0:
            die("cannot use a date in the past as an expiration date", _errno.EINVAL)
    with run.pool() as (sess, io):
        try:
            run.engine(sess.entity).trash_move(io, run.image_spec.image, seconds)
        except errors.ShoalError as exc:
            fail("deferred delete error", exc)


def _delete_status(deferment_end: float) -> str:
    if time.time() < deferment_end:
        return f"protected until {ctime(deferment_end)}"
    return f"expired at {ctime(deferment_end)}"


def _long_rows(io: IoCtx, entity: str,
               entries: list[dict[str, Any]]) -> tuple[TextTable, Node]:
    table = TextTable()
    for heading in ("ID", "NAME", "SOURCE", "DELETED_AT", "STATUS", "PARENT"):
        table.define_column(heading, "left", "left")
    nodes = arr()
    for entry in entries:
        image_id = str(entry["id"])
        try:
            with image_class(io)(io, image_id=image_id, read_only=True, entity=entity) as img:
                parent, pspec = parent_text(img)
        except errors.ShoalError as exc:
            if exc.errno != _errno.ENOENT:
                click.echo(f"rbd: error opening {image_id}: {strerror(exc.errno)}", err=True)
            continue
        deleted = ctime(float(entry["deletion_time"]))
        status = _delete_status(float(entry["deferment_end_time"]))
        node = obj(("id", image_id), ("name", str(entry["name"])),
                   ("source", str(entry["source"])), ("deleted_at", deleted),
                   ("status", status))
        if pspec is not None:
            node.add("parent", obj(("pool", pspec["pool_name"]),
                                   ("pool_namespace", pspec["pool_namespace"]),
                                   ("image", pspec["image_name"]),
                                   ("snapshot", pspec["snap_name"])))
        nodes.add("image", node)
        table.add_row(image_id, entry["name"], entry["source"], deleted, status, parent)
    return table, nodes


@rbd_command("list", "[POOL_SPEC]", spec=POOL)
@click.option("-a", "--all", "all_", is_flag=True, help="List images from all sources.")
@click.option("-l", "--long", "long_", is_flag=True, help="Long listing format.")
@format_options
def list_trash(run: Run, all_: bool, long_: bool, fmt: str | None, pretty: bool) -> None:
    """List trash images."""
    formatter = output_format(fmt, pretty)
    with run.pool() as (sess, io):
        try:
            entries = run.engine(sess.entity).trash_list(io)
        except errors.ShoalError as exc:
            fail("trash list", exc)
        if not all_:
            entries = [e for e in entries if e["source"] == "USER"]
        if not long_:
            if formatter is not None:
                emit(render("trash", arr(*(("image", obj(("id", str(e["id"])),
                                                         ("name", str(e["name"]))))
                                           for e in entries)), formatter, pretty))
            else:
                emit("".join(f"{e['id']} {e['name']}\n" for e in entries))
            return
        table, nodes = _long_rows(io, sess.entity, entries)
    if formatter is not None:
        emit(render("trash", nodes, formatter, pretty))
    elif entries:
        emit(table.render())


def _image_id_spec(words: Positionals, pool: str | None, namespace: str | None,
                   image_id: str | None, default: str) -> tuple[str, str, str]:
    """``utils::get_pool_image_id``: ``[pool/[ns/]]image-id``."""
    p, ns, ident = pool or "", namespace or "", image_id or ""
    if not ident:
        spec = words.take()
        if spec:
            match = re.fullmatch(r"(?:([^/@]+)/(?:([^/@]+)/)?)?([^/@]+)", spec)
            if match is None:
                die(f"invalid spec '{spec}'", _errno.EINVAL)
            p = match.group(1) or p
            ns = match.group(2) or ns
            ident = match.group(3)
    if not ident:
        die("image id was not specified", _errno.EINVAL)
    return p or default, ns, ident


@rbd_command("remove", "IMAGE_ID", spec=None, progress=True)
@pool_options
@click.option("--image-id", "image_id", metavar="ID", help="Image id.")
@click.option("--force", is_flag=True, help="Force remove of non-expired delayed images.")
def remove(run: Run, pool: str | None, namespace: str | None, image_id: str | None,
           force: bool) -> None:
    """Remove an image from trash."""
    pool_name, ns, ident = _image_id_spec(run.words, pool, namespace, image_id,
                                          run.default_pool)
    run.words.finish()
    progress = Progress("Removing image", run.show_progress)
    with run.pool(pool_name, ns) as (sess, io):
        try:
            run.engine(sess.entity).trash_remove(io, ident, force=force)
        except errors.ShoalError as exc:
            if exc.errno == _errno.ENOTEMPTY:
                click.echo(f"rbd: {SNAPSHOTS_HINT}", err=True)
            elif exc.errno == _errno.EBUSY:
                click.echo(f"rbd: {WATCHERS_HINT}", err=True)
            elif exc.errno == _errno.EPERM:
                click.echo("\nDeferment time has not expired, please use --force if you "
                           "really want to remove the image", err=True)
            else:
                click.echo(f"rbd: remove error: {strerror(exc.errno)}", err=True)
            progress.fail()
            raise click.exceptions.Exit(exc.errno) from None
    progress.finish()


@rbd_command("purge", "[POOL_SPEC]", spec=POOL, progress=True)
@click.option("--expired-before", "expired_before", metavar="DATE",
              help="Purges images that expired before the given date.")
def purge(run: Run, expired_before: str | None) -> None:
    """Remove all expired images from trash.

    shoal also finishes removals a crash interrupted and deletes objects that
    crashed creates left, once they are ten minutes old (``purge_leftovers``).
    """
    expire = _invoke_date(expired_before) if expired_before is not None else None
    with run.pool() as (sess, io), run.progress("Removing images", "trash purge"):
        engine = run.engine(sess.entity)
        engine.trash_purge(io, expire)
        if hasattr(engine, "purge_leftovers"):  # the embedded engine's own sweep
            engine.purge_leftovers(io)


@rbd_command("restore", "IMAGE_ID", spec=None)
@pool_options
@click.option("--image-id", "image_id", metavar="ID", help="Image id.")
@click.option("--image", "image", metavar="NAME", help="Image name (default: the old name).")
def restore(run: Run, pool: str | None, namespace: str | None, image_id: str | None,
            image: str | None) -> None:
    """Restore an image from trash."""
    pool_name, ns, ident = _image_id_spec(run.words, pool, namespace, image_id,
                                          run.default_pool)
    run.words.finish()
    with run.pool(pool_name, ns) as (sess, io):
        try:
            run.engine(sess.entity).trash_restore(io, ident, image or None)
        except errors.ShoalError as exc:
            if exc.errno == _errno.ENOENT:
                die("error: image does not exist in trash", exc.errno)
            if exc.errno == _errno.EEXIST:
                die("error: an image with the same name already exists, try again with "
                    "with a different name", exc.errno)
            fail("restore error", exc)


def register(group: AliasGroup) -> None:
    group.add_command(trash)
    for command, aliases in ((move, ["mv"]), (list_trash, ["ls"]), (remove, ["rm"]),
                             (purge, []), (restore, [])):
        trash.add_command(command, aliases=aliases)
