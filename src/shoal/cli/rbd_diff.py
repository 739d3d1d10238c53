"""``rbd export-diff``, ``rbd import-diff`` and ``rbd diff`` (``action/Export.cc``,
``Import.cc``, ``Diff.cc``)."""

from __future__ import annotations

import errno as _errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import click

from shoal import errors
from shoal.cli._common import GlobalOptions, global_options
from shoal.cli._rbdfmt import Progress, TextTable, arr, obj, render
from shoal.cli.rbd_args import (
    Positionals,
    Presence,
    format_options,
    image_spec_options,
    no_progress_option,
    output_format,
    parse_iec,
    resolve_spec,
)
from shoal.cli.rbd_common import (
    RbdCommand,
    connected_image,
    default_pool,
    die,
    emit,
    fail,
    strerror,
)
from shoal.cli.rbd_stream import (
    SPARSE_SIZE_DEFAULT,
    DiffAbort,
    apply_diff,
    changed_extents,
    diff_error_code,
    write_diff,
)

__all__ = ["input_stream", "output_path", "register"]


def output_path(words: Positionals, path_opt: str | None) -> str:
    """``utils::get_path``: the next positional word, else ``--path``."""
    path = words.take() or path_opt or ""
    if not path:
        die("path was not specified", _errno.EINVAL)
    return path


@contextmanager
def output_file(path: str) -> Iterator[BinaryIO]:
    """``-`` (stdout) or a new file (``O_EXCL``), removed again if writing fails."""
    if path == "-":
        out = sys.stdout.buffer
        yield out
        out.flush()
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
    except BaseException:
        os.unlink(path)
        raise


@contextmanager
def input_stream(path: str) -> Iterator[BinaryIO]:
    """``-`` (stdin) or the file at ``path`` (``rbd: error opening PATH``)."""
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        click.echo(f"rbd: error opening {path}", err=True)
        raise click.exceptions.Exit(exc.errno or _errno.EIO) from None
    with stream:
        yield stream


@click.command("export-diff", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SOURCE_IMAGE_OR_SNAP_SPEC PATH")
@image_spec_options()
@click.option("--path", "path_opt", metavar="PATH", help="Export file (or '-' for stdout).")
@click.option("--from-snap", "from_snap", metavar="SNAP", help="Snapshot starting point.")
@click.option("--whole-object", is_flag=True, help="Compare whole object.")
@no_progress_option
@global_options
@click.pass_obj
def export_diff(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
                namespace: str | None, image: str | None, snap: str | None,
                path_opt: str | None, from_snap: str | None, whole_object: bool,
                no_progress: bool) -> None:
    """Export incremental diff to file."""
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=snap,
                        default_pool=default_pool(obj_), presence=Presence.PERMITTED)
    path = output_path(args, path_opt)
    args.finish()
    with connected_image(obj_, spec.pool, spec.namespace, spec.image,
                         snap=spec.snap or None, read_only=True) as (_s, _io, img):
        progress = Progress("Exporting image", not no_progress)
        try:
            with output_file(path) as out:
                write_diff(img, out, from_snap=from_snap or None, end_snap=spec.snap or None,
                           whole_object=whole_object)
        except errors.ShoalError as exc:
            progress.fail()
            fail("export-diff error", exc)
        except OSError as exc:
            progress.fail()
            code = exc.errno or _errno.EIO
            die(f"export-diff error: {strerror(code)}", code)
        progress.finish()


@click.command("import-diff", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="PATH IMAGE_SPEC")
@click.option("--path", "path_opt", metavar="PATH", help="Import file (or '-' for stdin).")
@image_spec_options(snap=False)
@click.option("--sparse-size", "sparse_size", metavar="SIZE",
              help="Sparse size in B/K/M [default: 4K].")
@no_progress_option
@global_options
@click.pass_obj
def import_diff(obj_: GlobalOptions, words: tuple[str, ...], path_opt: str | None,
                pool: str | None, namespace: str | None, image: str | None,
                sparse_size: str | None, no_progress: bool) -> None:
    """Apply an incremental diff to image HEAD, then create a snapshot."""
    args = Positionals(words)
    path = output_path(args, path_opt)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=None,
                        default_pool=default_pool(obj_), presence=Presence.NONE)
    args.finish()
    sparse = SPARSE_SIZE_DEFAULT
    if sparse_size is not None:
        sparse = parse_iec(sparse_size, "--sparse-size")
    with connected_image(obj_, spec.pool, spec.namespace, spec.image) as (_s, _io, img):
        progress = Progress("Importing image diff", not no_progress)
        with input_stream(path) as stream:
            try:
                apply_diff(img, stream, sparse_size=sparse)
            except DiffAbort as exc:
                click.echo(exc.message, err=True)
                progress.fail()
                die(f"import-diff failed: {strerror(exc.errno)}", exc.errno)
            except errors.ShoalError as exc:
                code = diff_error_code(exc)
                banner = "bad diff banner" in str(exc)
                click.echo("rbd: invalid or unexpected diff banner" if banner else f"rbd: {exc}",
                           err=True)
                progress.fail()
                die(f"import-diff failed: {strerror(code)}", code)
        progress.finish()


@click.command("diff", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="IMAGE_OR_SNAP_SPEC")
@image_spec_options()
@click.option("--from-snap", "from_snap", metavar="SNAP", help="Snapshot starting point.")
@click.option("--whole-object", is_flag=True, help="Compare whole object.")
@format_options
@global_options
@click.pass_obj
def diff(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
         namespace: str | None, image: str | None, snap: str | None,
         from_snap: str | None, whole_object: bool, fmt: str | None, pretty: bool) -> None:
    """Print extents that differ since a previous snap, or image creation."""
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=snap,
                        default_pool=default_pool(obj_), presence=Presence.PERMITTED)
    args.finish()
    formatter = output_format(fmt, pretty)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image,
                         snap=spec.snap or None, read_only=True) as (_s, _io, img):
        try:
            extents = changed_extents(img, from_snap or None, whole_object)
        except errors.ShoalError as exc:
            fail("diff error", exc)
    if formatter is not None:
        nodes = arr(*(("extent", obj(("offset", o), ("length", n),
                                     ("exists", "true" if e else "false")))
                      for o, n, e in extents))
        emit(render("extents", nodes, formatter, pretty))
        return
    if extents:
        table = TextTable()
        for heading in ("Offset", "Length", "Type"):
            table.define_column(heading, "left", "left")
        for offset, length, exists in extents:
            table.add_row(offset, length, "data" if exists else "zero")
        emit(table.render())


def register(group: click.Group) -> None:
    group.add_command(export_diff)
    group.add_command(import_diff)
    group.add_command(diff)
