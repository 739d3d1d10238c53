"""``rbd du`` / ``rbd disk-usage`` (``action/DiskUsage.cc``).

USED of a snapshot is what changed since the previous snapshot, of the image
head what changed since the newest one, counted from ``diff_iterate`` without
the parent: whole objects (the object map, with fast-diff) unless ``--exact``.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field

import click

from shoal import errors
from shoal.cli._common import AliasGroup
from shoal.cli.rbd._args import Presence, format_options, output_format
from shoal.cli.rbd._command import Run, SpecRule, rbd_command
from shoal.cli.rbd._common import die, emit, fail, image_class, strerror
from shoal.cli.rbd._fmt import Node, TextTable, arr, byte_u, obj, render
from shoal.objstore import IoCtx
from shoal.rbd import FEATURE_FAST_DIFF

__all__ = ["register"]


@dataclass
class _Usage:
    table: TextTable
    nodes: Node = field(default_factory=arr)
    total_prov: int = 0
    total_used: int = 0
    count: int = 0

    def row(self, name: str, image_id: str, snap: tuple[str, int] | None, size: int,
            used: int, merge: bool = False) -> None:
        if merge and snap is not None:
            return
        node = obj(("name", name), ("id", image_id))
        if snap is not None:
            node.add("snapshot", snap[0]).add("snapshot_id", snap[1])
        node.add("provisioned_size", size).add("used_size", used)
        self.nodes.add("image", node)
        self.table.add_row(f"{name}@{snap[0]}" if snap else name, byte_u(size), byte_u(used))


def _used(io: IoCtx, name: str, entity: str, snap: str | None, from_snap: str | None,
          exact: bool) -> int:
    total = 0

    def count(_offset: int, length: int, exists: bool) -> None:
        nonlocal total
        if exists:
            total += length

    with image_class(io)(io, name, snapshot=snap, read_only=True, entity=entity) as img:
        img.diff_iterate(0, img.size(), from_snap, count, include_parent=False,
                         whole_object=not exact)
    return total


def _image_usage(io: IoCtx, name: str, image_id: str, entity: str, snap_name: str,
                 from_snap: str, exact: bool, merge: bool, usage: _Usage,
                 pool_wide: bool) -> None:
    with image_class(io)(io, name, read_only=True, entity=entity) as img:
        if not img.features() & FEATURE_FAST_DIFF:
            click.echo(f"warning: fast-diff map is not enabled for {name}. "
                       "operation may be slow.", err=True)
        size = img.size()
        snaps = sorted(img.list_snaps(), key=lambda s: int(s["id"]))
    names = [str(s["name"]) for s in snaps]
    if (snap_name and snap_name not in names) or (from_snap and from_snap not in names):
        click.echo("specified snapshot is not found.", err=True)
        die(f"du failed: {strerror(_errno.ENOENT)}", _errno.ENOENT)
    if snap_name and from_snap and names.index(from_snap) >= names.index(snap_name):
        if from_snap == snap_name:
            raise click.exceptions.Exit(0)  # no disk usage, as rbd
        die(f"du failed: {strerror(_errno.EINVAL)}", _errno.EINVAL)
    found_from = not from_snap
    last: str | None = None
    image_used = 0
    for snap in snaps:
        sname = str(snap["name"])
        if pool_wide or found_from:
            used = _used(io, name, entity, sname, last, exact)
            usage.row(name, image_id, (sname, int(snap["id"])), int(snap["size"]), used, merge)
            image_used += used
            if snap_name:
                usage.total_prov += int(snap["size"])
            usage.total_used += used
            usage.count += 1
        if not found_from and sname == from_snap:
            found_from = True
        if snap_name and sname == snap_name:
            break
        last = sname
    if not snap_name:
        used = _used(io, name, entity, None, last, exact)
        image_used += used
        usage.row(name, image_id, None, size, image_used if merge else used)
        usage.total_prov += size
        usage.total_used += used
        usage.count += 1


@rbd_command("disk-usage", "IMAGE_OR_SNAP_SPEC",
             spec=SpecRule(Presence.PERMITTED, required=lambda o: o["from_snap"] is not None))
@click.option("--from-snap", "from_snap", metavar="SNAP", help="Snapshot starting point.")
@click.option("--exact", is_flag=True, help="Compute exact disk usage (slow).")
@click.option("--merge-snapshots", "merge", is_flag=True,
              help="Merge snapshot sizes with its image.")
@format_options
def disk_usage(run: Run, from_snap: str | None, exact: bool, merge: bool, fmt: str | None,
               pretty: bool) -> None:
    """Show disk usage stats for pool, image or snapshot."""
    spec = run.image_spec
    formatter = output_format(fmt, pretty)
    table = TextTable()
    table.define_column("NAME", "left", "left")
    table.define_column("PROVISIONED", "left", "right")
    table.define_column("USED", "left", "right")
    usage = _Usage(table)
    with run.pool() as (sess, io):
        try:
            entries = run.engine(sess.entity).list2(io)
        except errors.ShoalError as exc:
            fail("du failed", exc)
        found = False
        for entry in entries:
            name, image_id = str(entry["name"]), str(entry["id"])
            if spec.image and name != spec.image:
                continue
            found = True
            try:
                _image_usage(io, name, image_id, sess.entity, spec.snap, from_snap or "",
                             exact, merge, usage, pool_wide=not spec.image)
            except errors.ShoalError as exc:
                if exc.errno == _errno.ENOENT:
                    continue
                click.echo(f"rbd: error opening {name}: {strerror(exc.errno)}", err=True)
    if spec.image and not found:
        click.echo(f"specified image {spec.image} is not found.", err=True)
        die(f"du failed: {strerror(_errno.ENOENT)}", _errno.ENOENT)
    if formatter is not None:
        stats = obj(("images", usage.nodes))
        if not spec.image:
            stats.add("total_provisioned_size", usage.total_prov)
            stats.add("total_used_size", usage.total_used)
        emit(render("stats", stats, formatter, pretty))
    elif entries:
        if usage.count > 1:
            table.add_row("<TOTAL>", byte_u(usage.total_prov), byte_u(usage.total_used))
        emit(table.render())


def register(group: AliasGroup) -> None:
    group.add_command(disk_usage, "disk-usage", aliases=["du"])
