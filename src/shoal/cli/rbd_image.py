"""``rbd create``, ``rm``, ``resize``, ``rename`` and ``status`` (``action/Create.cc``,
``Remove.cc``, ``Resize.cc``, ``Rename.cc``, ``Status.cc``)."""

from __future__ import annotations

import errno as _errno
from typing import Any

import click

from shoal import errors
from shoal.cli._common import GlobalOptions, global_options
from shoal.cli._rbdfmt import Node, Progress, arr, obj, render
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
    parse_size,
    resolve_spec,
)
from shoal.cli.rbd_common import (
    RbdCommand,
    connected_image,
    connected_pool,
    default_pool,
    detail,
    die,
    emit,
    fail,
    image_class,
    rbd_engine,
    strerror,
)
from shoal.objstore import IoCtx

__all__ = ["register"]

_WATCHERS_HINT = (
    "error: image still has watchers\nThis means the image is still open or the client "
    "using it crashed. Try again after closing/unmapping it or waiting 30s for the "
    "crashed client to timeout."
)
_SNAPSHOTS_HINT = ("image has snapshots - these must be deleted with 'rbd snap purge' "
                   "before the image can be removed.")


@click.command("create", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="IMAGE_SPEC")
@image_spec_options(snap=False)
@click.option("-s", "--size", "size", metavar="SIZE", help="Image size (in M/G/T) [default: M].")
@create_options
@click.option("--thick-provision", is_flag=True,
              help="Fully allocate storage and zero image.")
@no_progress_option
@global_options
@click.pass_obj
def create(obj_: GlobalOptions, /, words: tuple[str, ...], pool: str | None,
           namespace: str | None, image: str | None, size: str | None,
           thick_provision: bool, no_progress: bool, **kwargs: Any) -> None:
    """Create an empty image."""
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=None,
                        default_pool=default_pool(obj_), presence=Presence.NONE,
                        validation=Validation.FULL)
    args.finish()
    opts = create_args(kwargs)
    if size is None:
        die("must specify --size <M/G/T>", _errno.EINVAL)
    nbytes = parse_size(size)
    with connected_pool(obj_, spec.pool, spec.namespace) as (sess, io):
        engine = rbd_engine(obj_, sess.entity)
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
            _thick_provision(io, spec.image, sess.entity, not no_progress)


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
            img.flush()
    except errors.ShoalError as exc:
        progress.fail()
        detail(exc)
        die("image created but error encountered during thick provisioning: "
            f"{strerror(exc.errno)}", exc.errno)
    progress.finish()


@click.command("remove", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="IMAGE_SPEC")
@image_spec_options(snap=False)
@no_progress_option
@global_options
@click.pass_obj
def remove(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
           namespace: str | None, image: str | None, no_progress: bool) -> None:
    """Delete an image."""
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=None,
                        default_pool=default_pool(obj_), presence=Presence.NONE)
    args.finish()
    progress = Progress("Removing image", not no_progress)
    with connected_pool(obj_, spec.pool, spec.namespace) as (sess, io):
        try:
            rbd_engine(obj_, sess.entity).remove(io, spec.image)
        except errors.ShoalError as exc:
            progress.fail()
            if exc.errno == _errno.ENOTEMPTY:
                die(_SNAPSHOTS_HINT, exc.errno)
            if exc.errno == _errno.EBUSY:
                die(_WATCHERS_HINT, exc.errno)
            fail("delete error", exc)
    progress.finish()


@click.command("resize", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="IMAGE_SPEC")
@image_spec_options(snap=False)
@click.option("-s", "--size", "size", metavar="SIZE", help="Image size (in M/G/T) [default: M].")
@click.option("--allow-shrink", is_flag=True, help="Permit shrinking.")
@no_progress_option
@global_options
@click.pass_obj
def resize(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
           namespace: str | None, image: str | None, size: str | None,
           allow_shrink: bool, no_progress: bool) -> None:
    """Resize (expand or shrink) image."""
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=None,
                        default_pool=default_pool(obj_), presence=Presence.NONE)
    args.finish()
    if size is None:
        die("must specify --size <M/G/T>", _errno.EINVAL)
    nbytes = parse_size(size)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image) as (_s, _io, img):
        current = img.size()
        if current == nbytes:
            die("new size is equal to original size ", _errno.EINVAL)
        if nbytes < current and not allow_shrink:
            die("shrinking an image is only allowed with the --allow-shrink flag",
                _errno.EINVAL)
        progress = Progress("Resizing image", not no_progress)
        try:
            img.resize(nbytes, allow_shrink=allow_shrink)
        except errors.ShoalError as exc:
            progress.fail()
            fail("resize error", exc)
        progress.finish()


@click.command("rename", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SOURCE_IMAGE_SPEC DEST_IMAGE_SPEC")
@image_spec_options(snap=False)
@image_spec_options(dest=True)
@global_options
@click.pass_obj
def rename(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
           namespace: str | None, image: str | None, dest_pool: str | None,
           dest_namespace: str | None, dest_image: str | None) -> None:
    """Rename image within pool."""
    args = Positionals(words)
    src = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=None,
                       default_pool=default_pool(obj_), presence=Presence.NONE)
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
    with connected_pool(obj_, src.pool, src.namespace) as (sess, io):
        try:
            rbd_engine(obj_, sess.entity).rename(io, src.image, dst.image)
        except errors.ShoalError as exc:
            fail("rename error", exc)


@click.command("status", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="IMAGE_SPEC")
@image_spec_options(snap=False)
@format_options
@global_options
@click.pass_obj
def status(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
           namespace: str | None, image: str | None, fmt: str | None, pretty: bool) -> None:
    """Show the status of this image.

    The watchers are the image's open read-write handles (rbd's header watch),
    as ``watcher=ADDRESS client.ID cookie=COOKIE``.
    """
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=None,
                        default_pool=default_pool(obj_), presence=Presence.NONE)
    args.finish()
    formatter = output_format(fmt, pretty)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image,
                         read_only=True) as (_s, _io, img):
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


def register(group: click.Group) -> None:
    """Add the commands (and rbd's aliases) to the ``rbd`` group."""
    group.add_command(create)
    group.add_command(remove, "remove")
    group.add_command(remove, "rm")
    group.add_command(resize)
    group.add_command(rename, "rename")
    group.add_command(rename, "mv")
    group.add_command(status)
