"""``rbd clone``, ``rbd children`` and ``rbd flatten`` (``action/Clone.cc``,
``Children.cc``, ``Flatten.cc``)."""

from __future__ import annotations

from typing import Any

import click

from shoal import errors
from shoal.cli._common import GlobalOptions, global_options
from shoal.cli._rbdfmt import Progress, arr, obj, render
from shoal.cli.rbd_args import (
    Positionals,
    Presence,
    Validation,
    create_args,
    create_options,
    format_options,
    image_spec_options,
    no_progress_option,
    output_format,
    resolve_spec,
)
from shoal.cli.rbd_common import (
    RbdCommand,
    connected_image,
    connected_pool,
    default_pool,
    emit,
    fail,
    open_pool,
    rbd_engine,
)

__all__ = ["register"]


@click.command("clone", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SOURCE_SNAP_SPEC DEST_IMAGE_SPEC")
@image_spec_options()
@image_spec_options(dest=True)
@create_options
@global_options
@click.pass_obj
def clone(obj_: GlobalOptions, /, words: tuple[str, ...], pool: str | None,
          namespace: str | None, image: str | None, snap: str | None,
          dest_pool: str | None, dest_namespace: str | None, dest_image: str | None,
          **kwargs: Any) -> None:
    """Clone a snapshot into a COW child image."""
    args = Positionals(words)
    default = default_pool(obj_)
    src = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=snap,
                       default_pool=default, presence=Presence.REQUIRED)
    dst = resolve_spec(args, pool=dest_pool, namespace=dest_namespace, image=dest_image,
                       snap=None, default_pool=default, presence=Presence.NONE,
                       validation=Validation.FULL, dest=True)
    args.finish()
    opts = create_args(kwargs, with_format=False)
    with connected_pool(obj_, src.pool, src.namespace) as (sess, p_io):
        c_io = open_pool(sess, dst.pool, dst.namespace, default=default)
        try:
            engine = rbd_engine(obj_, sess.entity)
            features = None
            if opts.features is not None or opts.features_clear:
                features = opts.features_or(engine.options.default_features)
            engine.clone(p_io, src.image, src.snap, c_io, dst.image, features=features,
                         order=opts.order, stripe_unit=opts.stripe_unit,
                         stripe_count=opts.stripe_count, data_pool=opts.data_pool)
        except errors.ShoalError as exc:
            fail("clone error", exc)
        finally:
            c_io.close()


@click.command("children", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SNAP_SPEC")
@image_spec_options()
@click.option("-a", "--all", "all_", is_flag=True,
              help="List all children of snapshot (include trash).")
@format_options
@global_options
@click.pass_obj
def children(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
             namespace: str | None, image: str | None, snap: str | None, all_: bool,
             fmt: str | None, pretty: bool) -> None:
    """Display children of snapshot."""
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=snap,
                        default_pool=default_pool(obj_), presence=Presence.REQUIRED)
    args.finish()
    formatter = output_format(fmt, pretty)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image, snap=spec.snap,
                         read_only=True) as (_s, _io, img):
        try:
            found = img.list_children2()
        except errors.ShoalError as exc:
            fail("listing children failed", exc)
    nodes = arr()
    lines: list[str] = []
    for child in found:
        trash = bool(child["trash"])
        if trash and not all_:
            continue
        node = obj(("pool", str(child["pool"])),
                   ("pool_namespace", str(child["pool_namespace"])),
                   ("image", str(child["image"])))
        if all_:
            node.add("id", str(child["id"])).add("trash", trash)
        nodes.add("child", node)
        ns = f"{child['pool_namespace']}/" if child["pool_namespace"] else ""
        suffix = f" (trash {child['id']})" if trash else ""
        lines.append(f"{child['pool']}/{ns}{child['image']}{suffix}\n")
    if formatter is not None:
        emit(render("children", nodes, formatter, pretty))
    else:
        emit("".join(lines))


@click.command("flatten", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="IMAGE_SPEC")
@image_spec_options(snap=False)
@no_progress_option
@global_options
@click.pass_obj
def flatten(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
            namespace: str | None, image: str | None, no_progress: bool) -> None:
    """Fill clone with parent data (make it independent)."""
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=None,
                        default_pool=default_pool(obj_), presence=Presence.NONE)
    args.finish()
    with connected_image(obj_, spec.pool, spec.namespace, spec.image) as (_s, _io, img):
        progress = Progress("Image flatten", not no_progress)
        try:
            img.flatten()
        except errors.ShoalError as exc:
            progress.fail()
            fail("flatten error", exc)
        progress.finish()


def register(group: click.Group) -> None:
    group.add_command(clone)
    group.add_command(children)
    group.add_command(flatten)
