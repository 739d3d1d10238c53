"""``rbd info`` and ``rbd ls`` (``action/Info.cc``, ``action/List.cc``)."""

from __future__ import annotations

from typing import Any

import click

from shoal import errors
from shoal.cli._common import AliasGroup
from shoal.cli.rbd._args import Presence, format_options, output_format
from shoal.cli.rbd._command import POOL, Run, SpecRule, rbd_command
from shoal.cli.rbd._common import die, emit, fail, image_class, strerror
from shoal.cli.rbd._fmt import Node, TextTable, arr, byte_u, ctime, obj, render
from shoal.objstore import IoCtx
from shoal.rbd import FEATURE_STRIPINGV2, Image, feature_names

__all__ = ["image_info", "parent_text", "register"]

#: ``format_flags`` in Info.cc.
_FLAG_NAMES = {1: "object map invalid", 2: "fast diff invalid"}


def parent_text(img: Image) -> tuple[str, dict[str, Any] | None]:
    """``pool/[ns/]image@snap`` of the parent at the open snapshot, and its spec."""
    if img.parent_spec() is None:
        return "", None
    try:
        spec = img.get_parent_image_spec()
    except errors.ShoalError:
        return "", None
    ns = f"{spec['pool_namespace']}/" if spec["pool_namespace"] else ""
    return f"{spec['pool_name']}/{ns}{spec['image_name']}@{spec['snap_name']}", spec


def image_info(img: Image, name: str, snap: str) -> Node:
    """The fields of ``rbd info`` in Info.cc's order (formatter names and values)."""
    stat = img.stat()
    features = img.features()
    node = obj(
        ("name", name), ("id", img.id()), ("size", stat["size"]),
        ("objects", stat["num_objs"]), ("order", stat["order"]),
        ("object_size", stat["obj_size"]),
        ("snapshot_count", sum(1 for _ in img.list_snaps())),
        ("block_name_prefix", img.block_name_prefix()), ("format", 2),
        ("features", arr(*(("feature", f) for f in feature_names(features)))),
        ("op_features", arr()),
        ("flags", arr(*(("flag", t) for bit, t in _FLAG_NAMES.items() if img.flags() & bit))),
        ("create_timestamp", ctime(img.create_timestamp())),
        ("access_timestamp", ctime(img.access_timestamp())),
        ("modify_timestamp", ctime(img.modify_timestamp())),
    )
    if snap:
        node.add("protected", "true" if img.is_protected_snap(snap) else "false")
    _, parent = parent_text(img)
    if parent is not None:
        node.add("parent", obj(
            ("pool", parent["pool_name"]), ("pool_namespace", parent["pool_namespace"]),
            ("image", parent["image_name"]), ("id", parent["image_id"]),
            ("snapshot", parent["snap_name"]), ("trash", bool(parent["trash"])),
            ("overlap", img.overlap()),
        ))
    if features & FEATURE_STRIPINGV2:
        node.add("stripe_unit", img.stripe_unit()).add("stripe_count", img.stripe_count())
    return node


def _plain_info(node: Node) -> str:
    f: dict[str, Any] = dict(node.entries)

    def names(key: str) -> str:
        section = f[key]
        assert isinstance(section, Node)
        return ", ".join(str(v) for _, v in section.entries)

    lines = [
        f"rbd image '{f['name']}':",
        f"\tsize {byte_u(f['size'])} in {f['objects']} objects",
        f"\torder {f['order']} ({byte_u(f['object_size'])} objects)",
        f"\tsnapshot_count: {f['snapshot_count']}",
        f"\tid: {f['id']}",
        f"\tblock_name_prefix: {f['block_name_prefix']}",
        "\tformat: 2",
        f"\tfeatures: {names('features')}",
        f"\top_features: {names('op_features')}",
        f"\tflags: {names('flags')}",
        f"\tcreate_timestamp: {f['create_timestamp']}",
        f"\taccess_timestamp: {f['access_timestamp']}",
        f"\tmodify_timestamp: {f['modify_timestamp']}",
    ]
    if "protected" in f:
        lines.append(f"\tprotected: {'True' if f['protected'] == 'true' else 'False'}")
    if "parent" in f:
        parent = dict(f["parent"].entries)
        ns = f"{parent['pool_namespace']}/" if parent["pool_namespace"] else ""
        lines.append(f"\tparent: {parent['pool']}/{ns}{parent['image']}@{parent['snapshot']}")
        lines.append(f"\toverlap: {byte_u(parent['overlap'])}")
    if "stripe_unit" in f:
        lines.append(f"\tstripe unit: {byte_u(f['stripe_unit'])}")
        lines.append(f"\tstripe count: {f['stripe_count']}")
    return "".join(line + "\n" for line in lines)


@rbd_command("info", "IMAGE_OR_SNAP_SPEC",
             spec=SpecRule(Presence.PERMITTED, required=lambda o: o["image_id"] is None))
@click.option("--image-id", "image_id", metavar="ID", help="Image id.")
@format_options
def info(run: Run, image_id: str | None, fmt: str | None, pretty: bool) -> None:
    """Show information about image size, striping, etc."""
    spec = run.image_spec
    if image_id is not None and spec.image:
        die("trying to access image using both name and id. ", 22)
    formatter = output_format(fmt, pretty)
    if image_id is not None:
        node = _info_by_id(run, image_id)
    else:
        with run.image(at_snap=True, read_only=True) as (_s, _io, img):
            node = _info_node(img, spec.image, spec.snap)
    if formatter is None:
        emit(_plain_info(node))
    else:
        emit(render("image", node, formatter, pretty))


def _info_node(img: Image, name: str, snap: str) -> Node:
    try:
        return image_info(img, name, snap)
    except errors.ShoalError as exc:
        fail("info", exc)


def _info_by_id(run: Run, image_id: str) -> Node:
    snap = run.image_spec.snap
    with run.pool() as (sess, io):
        try:
            img = image_class(io)(io, image_id=image_id, read_only=True, entity=sess.entity)
        except errors.ShoalError as exc:
            die(f"error opening image with id {image_id}: {strerror(exc.errno)}", exc.errno)
        with img:
            if snap:
                try:
                    img.set_snap(snap)
                except errors.ShoalError as exc:
                    click.echo(f"error setting snapshot context: {strerror(exc.errno)}",
                               err=True)
                    raise click.exceptions.Exit(exc.errno) from None
            return _info_node(img, img.get_name(), snap)


# --- ls ------------------------------------------------------------------------------


def _list_rows(io: IoCtx, entity: str, name: str, image_id: str,
               table: TextTable, nodes: Node) -> None:
    """One image's rows of ``rbd ls -l`` (the image, then its snapshots)."""
    with image_class(io)(io, name, read_only=True, entity=entity) as img:
        lock = "excl" if img.lock_get_owners() else ""
        parent, pspec = parent_text(img)
        node = obj(("image", name), ("id", image_id), ("size", img.size()))
        _add_parent(node, pspec)
        node.add("format", 2)
        if lock:
            node.add("lock_type", "exclusive")
        nodes.add("image", node)
        table.add_row(name, byte_u(img.size()), parent, "2", "", lock)
        for snap in list(img.list_snaps()):
            img.set_snap(str(snap["name"]))
            protected = bool(snap["protected"])
            parent, pspec = parent_text(img)
            node = obj(("image", name), ("id", image_id), ("snapshot", snap["name"]),
                       ("snapshot_id", snap["id"]), ("size", snap["size"]))
            _add_parent(node, pspec)
            node.add("format", 2).add("protected", "true" if protected else "false")
            nodes.add("snapshot", node)
            table.add_row(f"{name}@{snap['name']}", byte_u(int(snap["size"])), parent, "2",
                          "yes" if protected else "", "")


def _add_parent(node: Node, spec: dict[str, Any] | None) -> None:
    if spec is not None:
        node.add("parent", obj(("pool", spec["pool_name"]),
                               ("pool_namespace", spec["pool_namespace"]),
                               ("image", spec["image_name"]),
                               ("snapshot", spec["snap_name"])))


@rbd_command("list", "[POOL_SPEC]", spec=POOL)
@click.option("-l", "--long", "long_", is_flag=True, help="Long listing format.")
@format_options
def list_images(run: Run, long_: bool, fmt: str | None, pretty: bool) -> None:
    """List rbd images."""
    formatter = output_format(fmt, pretty)
    with run.pool() as (sess, io):
        try:
            entries = run.engine(sess.entity).list2(io)
        except errors.ShoalError as exc:
            fail("listing images failed", exc)
        if not long_:
            if formatter is not None:
                emit(render("images", arr(*(("name", e["name"]) for e in entries)),
                            formatter, pretty))
            else:
                emit("".join(f"{e['name']}\n" for e in entries))
            return
        table = TextTable()
        for heading in ("NAME", "SIZE", "PARENT", "FMT", "PROT", "LOCK"):
            table.define_column(heading, "left",
                                "right" if heading in ("SIZE", "FMT") else "left")
        nodes = arr()
        for entry in entries:
            try:
                _list_rows(io, sess.entity, str(entry["name"]), str(entry["id"]), table, nodes)
            except errors.ShoalError as exc:
                click.echo(f"rbd: error opening {entry['name']}: {strerror(exc.errno)}",
                           err=True)
    if formatter is not None:
        emit(render("images", nodes, formatter, pretty))
    elif entries:
        emit(table.render())


def register(group: AliasGroup) -> None:
    group.add_command(info)
    group.add_command(list_images, "list", aliases=["ls"])
