"""``rbd snap ...`` (``action/Snap.cc``): create, ls, rm, purge, rollback, protect,
unprotect, rename."""

from __future__ import annotations

import errno as _errno

import click

from shoal import errors
from shoal.cli._common import GlobalOptions, global_options
from shoal.cli._rbdfmt import Progress, TextTable, arr, byte_u, ctime, obj, render
from shoal.cli.rbd_args import (
    ImageSpec,
    Positionals,
    Presence,
    Validation,
    format_options,
    image_spec_options,
    no_progress_option,
    output_format,
    resolve_spec,
)
from shoal.cli.rbd_common import (
    RbdCommand,
    connected_image,
    default_pool,
    die,
    emit,
    fail,
    image_class,
    open_pool,
)
from shoal.cluster import Session
from shoal.rbd import Image

__all__ = ["register"]


@click.group("snap")
def snap() -> None:
    """Snapshot commands."""


def _spec(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
          namespace: str | None, image: str | None, snap_name: str | None,
          presence: Presence, validation: Validation = Validation.NONE) -> ImageSpec:
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=snap_name,
                        default_pool=default_pool(obj_), presence=presence,
                        validation=validation)
    args.finish()
    return spec


@click.command("create", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SNAP_SPEC")
@image_spec_options()
@no_progress_option
@global_options
@click.pass_obj
def create(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
           namespace: str | None, image: str | None, snap: str | None,
           no_progress: bool) -> None:
    """Create a snapshot."""
    spec = _spec(obj_, words, pool, namespace, image, snap, Presence.REQUIRED,
                 Validation.SNAP)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image) as (_s, _io, img):
        progress = Progress("Creating snap", not no_progress)
        try:
            img.create_snap(spec.snap)
        except errors.ShoalError as exc:
            progress.fail()
            fail("failed to create snapshot", exc)
        progress.finish()


@click.command("list", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="IMAGE_SPEC")
@image_spec_options(snap=False)
@format_options
@global_options
@click.pass_obj
def list_snaps(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
               namespace: str | None, image: str | None, fmt: str | None,
               pretty: bool) -> None:
    """Dump list of image snapshots."""
    spec = _spec(obj_, words, pool, namespace, image, None, Presence.NONE)
    formatter = output_format(fmt, pretty)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image,
                         read_only=True) as (_s, _io, img):
        try:
            snaps = list(img.list_snaps())
        except errors.ShoalError as exc:
            fail("failed to list snapshots", exc)
    table = TextTable()
    for heading in ("SNAPID", "NAME", "SIZE", "PROTECTED", "TIMESTAMP"):
        table.define_column(heading, "left",
                            "left" if heading in ("NAME", "PROTECTED") else "right")
    nodes = arr()
    for s in snaps:
        stamp = ctime(s["timestamp"])
        nodes.add("snapshot", obj(("id", int(s["id"])), ("name", str(s["name"])),
                                  ("size", int(s["size"])),
                                  ("protected", "true" if s["protected"] else "false"),
                                  ("timestamp", stamp)))
        table.add_row(s["id"], s["name"], byte_u(int(s["size"])),
                      "yes" if s["protected"] else "", stamp)
    if formatter is not None:
        emit(render("snapshots", nodes, formatter, pretty))
    elif snaps:
        emit(table.render())


def _flatten_children(sess: Session, io_img: Image, snap_name: str) -> None:
    """``snap rm --force``: flatten every clone of the snapshot."""
    io = io_img.ioctx
    with image_class(io)(io, image_id=io_img.id(), snapshot=snap_name, read_only=True,
                         entity=sess.entity) as at_snap:
        children = at_snap.list_children2()
    for child in children:
        child_io = open_pool(sess, str(child["pool"]), str(child["pool_namespace"]))
        try:
            image = image_class(child_io)
            with image(child_io, image_id=str(child["id"]), entity=sess.entity) as c:
                c.flatten()
        finally:
            child_io.close()


@click.command("remove", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SNAP_SPEC")
@image_spec_options()
@no_progress_option
@click.option("--force", is_flag=True,
              help="Flatten children and unprotect snapshot if needed.")
@global_options
@click.pass_obj
def remove(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
           namespace: str | None, image: str | None, snap: str | None,
           no_progress: bool, force: bool) -> None:
    """Delete a snapshot."""
    spec = _spec(obj_, words, pool, namespace, image, snap, Presence.REQUIRED)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image) as (sess, _io, img):
        progress = Progress("Removing snap", not no_progress)
        try:
            if force and img.is_protected_snap(spec.snap):
                _flatten_children(sess, img, spec.snap)
                img.unprotect_snap(spec.snap)
            img.remove_snap(spec.snap)
        except errors.ShoalError as exc:
            progress.fail()
            if exc.errno == _errno.EBUSY:
                die(f"snapshot '{spec.snap}' is protected from removal.", exc.errno)
            fail("failed to remove snapshot", exc)
        progress.finish()


@click.command("purge", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="IMAGE_SPEC")
@image_spec_options(snap=False)
@no_progress_option
@global_options
@click.pass_obj
def purge(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
          namespace: str | None, image: str | None, no_progress: bool) -> None:
    """Delete all unprotected snapshots."""
    spec = _spec(obj_, words, pool, namespace, image, None, Presence.NONE)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image) as (_s, _io, img):
        progress = Progress("Removing all snapshots", not no_progress)
        protected: list[str] = []
        doomed: list[str] = []
        try:
            snaps = list(img.list_snaps())
            if not snaps:
                return
            protected = [str(s["name"]) for s in snaps if s["protected"]]
            if protected:
                verb = "is" if len(protected) == 1 else "are"
                click.echo(f"rbd: error removing snapshot(s) '{','.join(protected)}', which "
                           f"{verb} protected - these must be unprotected with "
                           "`rbd snap unprotect`.")
            doomed = [str(s["name"]) for s in snaps if not s["protected"]]
            for name in doomed:
                img.remove_snap(name)
        except errors.ShoalError as exc:
            progress.fail()
            fail("removing snaps failed", exc)
        if protected:
            progress.fail()
        elif doomed:
            progress.finish()


@click.command("rollback", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SNAP_SPEC")
@image_spec_options()
@no_progress_option
@global_options
@click.pass_obj
def rollback(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
             namespace: str | None, image: str | None, snap: str | None,
             no_progress: bool) -> None:
    """Rollback image to snapshot."""
    spec = _spec(obj_, words, pool, namespace, image, snap, Presence.REQUIRED)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image) as (_s, _io, img):
        progress = Progress("Rolling back to snapshot", not no_progress)
        try:
            img.rollback_to_snap(spec.snap)
        except errors.ShoalError as exc:
            progress.fail()
            fail("rollback failed", exc)
        progress.finish()


@click.command("protect", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SNAP_SPEC")
@image_spec_options()
@global_options
@click.pass_obj
def protect(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
            namespace: str | None, image: str | None, snap: str | None) -> None:
    """Prevent a snapshot from being deleted."""
    spec = _spec(obj_, words, pool, namespace, image, snap, Presence.REQUIRED)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image) as (_s, _io, img):
        try:
            if img.is_protected_snap(spec.snap):
                die("snap is already protected", _errno.EBUSY)
            img.protect_snap(spec.snap)
        except errors.ShoalError as exc:
            fail("protecting snap failed", exc)


@click.command("unprotect", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SNAP_SPEC")
@image_spec_options()
@global_options
@click.pass_obj
def unprotect(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
              namespace: str | None, image: str | None, snap: str | None) -> None:
    """Allow a snapshot to be deleted."""
    spec = _spec(obj_, words, pool, namespace, image, snap, Presence.REQUIRED)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image) as (_s, _io, img):
        try:
            if not img.is_protected_snap(spec.snap):
                die("snap is already unprotected", _errno.EINVAL)
            img.unprotect_snap(spec.snap)
        except errors.ShoalError as exc:
            fail("unprotecting snap failed", exc)


@click.command("rename", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SOURCE_SNAP_SPEC DEST_SNAP_SPEC")
@image_spec_options()
@global_options
@click.pass_obj
def rename(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
           namespace: str | None, image: str | None, snap: str | None) -> None:
    """Rename a snapshot."""
    args = Positionals(words)
    src = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=snap,
                       default_pool=default_pool(obj_), presence=Presence.REQUIRED)
    dst = resolve_spec(args, pool=src.pool, namespace=src.namespace, image=None, snap=None,
                       default_pool=src.pool, presence=Presence.REQUIRED,
                       validation=Validation.SNAP, dest=True)
    args.finish()
    if src.pool != dst.pool:
        die("source and destination pool must be the same", _errno.EINVAL)
    if src.namespace != dst.namespace:
        die("source and destination namespace must be the same", _errno.EINVAL)
    if src.image != dst.image:
        die("source and destination image name must be the same", _errno.EINVAL)
    with connected_image(obj_, src.pool, src.namespace, src.image) as (_s, _io, img):
        try:
            img.rename_snap(src.snap, dst.snap)
        except errors.ShoalError as exc:
            fail("renaming snap failed", exc)


def register(group: click.Group) -> None:
    group.add_command(snap)
    for command, names in ((create, ("create", "add")), (list_snaps, ("list", "ls")),
                           (remove, ("remove", "rm")), (purge, ("purge",)),
                           (rollback, ("rollback", "revert")), (protect, ("protect",)),
                           (unprotect, ("unprotect",)), (rename, ("rename",))):
        for name in names:
            snap.add_command(command, name)
