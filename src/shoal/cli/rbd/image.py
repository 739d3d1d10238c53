"""``rbd create``, ``rm``, ``resize``, ``rename`` and ``status`` (``action/Create.cc``,
``Remove.cc``, ``Resize.cc``, ``Rename.cc``, ``Status.cc``)."""

from __future__ import annotations

import errno as _errno
from typing import Any, NoReturn

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
    parse_size,
    resolve_spec,
)
from shoal.cli.rbd._command import Run, SpecRule, rbd_command
from shoal.cli.rbd._common import (
    SNAPSHOTS_HINT,
    WATCHERS_HINT,
    detail,
    die,
    emit,
    fail,
    image_class,
    strerror,
)
from shoal.cli.rbd._fmt import Node, Progress, arr, obj, render
from shoal.objstore import IoCtx

__all__ = ["register"]


@rbd_command("create", "IMAGE_SPEC", spec=SpecRule(validation=Validation.FULL),
             progress=True)
@click.option("-s", "--size", "size", metavar="SIZE", help="Image size (in M/G/T) [default: M].")
@create_options
@click.option("--thick-provision", is_flag=True,
              help="Fully allocate storage and zero image.")
def create(run: Run, /, size: str | None, thick_provision: bool, **kwargs: Any) -> None:
    """Create an empty image."""
    spec = run.image_spec
    opts = create_args(kwargs)
    nbytes = _required_size(size)
    with run.pool() as (sess, io):
        engine = run.engine(sess.entity)
        features = None
        if opts.features is not None or opts.features_clear:
            features = opts.features_or(engine.options.default_features)
        try:
            engine.create(io, spec.image, nbytes, order=opts.order,
                          old_format=opts.old_format, features=features,
                          stripe_unit=opts.stripe_unit, stripe_count=opts.stripe_count,
                          data_pool=opts.data_pool)
        except errors.ShoalError as exc:
            fail("create error", exc)
        if thick_provision:
            _thick_provision(io, spec.image, sess.entity, run.show_progress)


def _required_size(size: str | None) -> int:
    """``--size`` in bytes (``must specify --size`` without one: EINVAL)."""
    if size is None:
        die("must specify --size <M/G/T>", _errno.EINVAL)
    return parse_size(size)


def _thick_provision(io: IoCtx, name: str, entity: str, progress_on: bool) -> None:
    """Write zeros over the whole image, one object at a time."""
    progress = Progress("Thick provisioning", progress_on)
    try:
        with image_class(io)(io, name, entity=entity) as img:
            step = img.layout.object_size
            size = img.size()
            zeros = bytes(step)
            for offset in range(0, size, step):
                img.write(zeros[: min(step, size - offset)], offset)
                progress.update(min(offset + step, size), size)
            img.flush()
    except errors.ShoalError as exc:
        progress.fail()
        detail(exc)
        die("image created but error encountered during thick provisioning: "
            f"{strerror(exc.errno)}", exc.errno)
    progress.finish()


def _remove_failed(exc: errors.ShoalError) -> NoReturn:
    if exc.errno == _errno.ENOTEMPTY:
        die(SNAPSHOTS_HINT, exc.errno)
    if exc.errno == _errno.EBUSY:
        die(WATCHERS_HINT, exc.errno)
    fail("delete error", exc)


@rbd_command("remove", "IMAGE_SPEC", progress=True)
def remove(run: Run) -> None:
    """Delete an image."""
    with run.pool() as (sess, io), run.progress("Removing image", _remove_failed) as progress:
        run.engine(sess.entity).remove(io, run.image_spec.image, on_progress=progress.update)


@rbd_command("resize", "IMAGE_SPEC", progress=True)
@click.option("-s", "--size", "size", metavar="SIZE", help="Image size (in M/G/T) [default: M].")
@click.option("--allow-shrink", is_flag=True, help="Permit shrinking.")
def resize(run: Run, size: str | None, allow_shrink: bool) -> None:
    """Resize (expand or shrink) image."""
    nbytes = _required_size(size)
    with run.image() as (_s, _io, img):
        current = img.size()
        if current == nbytes:
            die("new size is equal to original size ", _errno.EINVAL)
        if nbytes < current and not allow_shrink:
            die("shrinking an image is only allowed with the --allow-shrink flag",
                _errno.EINVAL)
        with run.progress("Resizing image", "resize error"):
            img.resize(nbytes, allow_shrink=allow_shrink)


@rbd_command("rename", "SOURCE_IMAGE_SPEC DEST_IMAGE_SPEC", spec=None)
@image_spec_options(snap=False)
@image_spec_options(dest=True)
def rename(run: Run, pool: str | None, namespace: str | None, image: str | None,
           dest_pool: str | None, dest_namespace: str | None, dest_image: str | None) -> None:
    """Rename image within pool."""
    args = run.words
    src = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=None,
                       default_pool=run.default_pool, presence=Presence.NONE)
    dst = resolve_spec(args, pool=dest_pool or src.pool,
                       namespace=dest_namespace or src.namespace, image=dest_image,
                       snap=None, default_pool=src.pool, presence=Presence.NONE,
                       validation=Validation.FULL, dest=True)
    args.finish()
    if src.pool != dst.pool:
        die(f"mv/rename across pools not supported\nsource pool: {src.pool} "
            f"dest pool: {dst.pool}", _errno.EINVAL)
    if src.namespace != dst.namespace:
        die("mv/rename across namespaces not supported", _errno.EINVAL)
    with run.pool(src.pool, src.namespace) as (sess, io):
        try:
            run.engine(sess.entity).rename(io, src.image, dst.image)
        except errors.ShoalError as exc:
            fail("rename error", exc)


@rbd_command("status", "IMAGE_SPEC")
@format_options
def status(run: Run, fmt: str | None, pretty: bool) -> None:
    """Show the status of this image.

    The watchers are the image's open read-write handles (rbd's header watch),
    as ``watcher=ADDRESS client.ID cookie=COOKIE``.
    """
    formatter = output_format(fmt, pretty)
    with run.image(read_only=True) as (_s, _io, img):
        try:
            found = img.watchers_list()
        except errors.ShoalError as exc:
            fail("show status failed", exc)
    if formatter is not None:
        watchers: Node = arr(*(
            ("watcher", obj(("address", str(w["addr"])), ("client", int(w["id"])),
                            ("cookie", str(w["cookie"]))))
            for w in found
        ))
        emit(render("status", obj(("watchers", watchers)), formatter, pretty))
    elif found:
        emit("Watchers:\n" + "".join(
            f"\twatcher={w['addr']} client.{w['id']} cookie={w['cookie']}\n" for w in found))
    else:
        emit("Watchers: none\n")


def register(group: AliasGroup) -> None:
    """Add the commands (and rbd's aliases) to the ``rbd`` group."""
    group.add_command(create)
    group.add_command(remove, aliases=["rm"])
    group.add_command(resize)
    group.add_command(rename, aliases=["mv"])
    group.add_command(status)
