"""``rbd clone``, ``rbd children`` and ``rbd flatten`` (``action/Clone.cc``,
``Children.cc``, ``Flatten.cc``)."""

from __future__ import annotations

from typing import Any

import click

from shoal import errors
from shoal.cli._common import AliasGroup
from shoal.cli.rbd._args import (
    Presence,
    Validation,
    create_args,
    create_options,
    format_options,
    image_spec_options,
    output_format,
    resolve_spec,
)
from shoal.cli.rbd._command import SNAP, Run, rbd_command
from shoal.cli.rbd._common import emit, fail, open_pool
from shoal.cli.rbd._fmt import arr, obj, render

__all__ = ["register"]


@rbd_command("clone", "SOURCE_SNAP_SPEC DEST_IMAGE_SPEC", spec=None)
@image_spec_options()
@image_spec_options(dest=True)
@create_options
def clone(run: Run, /, pool: str | None, namespace: str | None, image: str | None,
          snap: str | None, dest_pool: str | None, dest_namespace: str | None,
          dest_image: str | None, **kwargs: Any) -> None:
    """Clone a snapshot into a COW child image."""
    default = run.default_pool
    src = resolve_spec(run.words, pool=pool, namespace=namespace, image=image, snap=snap,
                       default_pool=default, presence=Presence.REQUIRED)
    dst = resolve_spec(run.words, pool=dest_pool, namespace=dest_namespace, image=dest_image,
                       snap=None, default_pool=default, presence=Presence.NONE,
                       validation=Validation.FULL, dest=True)
    run.words.finish()
    opts = create_args(kwargs, with_format=False)
    with run.pool(src.pool, src.namespace) as (sess, p_io):
        c_io = open_pool(sess, dst.pool, dst.namespace, default=default)
        try:
            engine = run.engine(sess.entity)
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


@rbd_command("children", "SNAP_SPEC", spec=SNAP)
@click.option("-a", "--all", "all_", is_flag=True,
              help="List all children of snapshot (include trash).")
@format_options
def children(run: Run, all_: bool, fmt: str | None, pretty: bool) -> None:
    """Display children of snapshot."""
    formatter = output_format(fmt, pretty)
    with run.image(at_snap=True, read_only=True) as (_s, _io, img):
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


@rbd_command("flatten", "IMAGE_SPEC", progress=True)
def flatten(run: Run) -> None:
    """Fill clone with parent data (make it independent)."""
    with run.image() as (_s, _io, img), run.progress("Image flatten", "flatten error") as progress:
        img.flatten(on_progress=progress.update)


def register(group: AliasGroup) -> None:
    group.add_command(clone)
    group.add_command(children)
    group.add_command(flatten)
