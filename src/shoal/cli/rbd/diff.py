"""``rbd export-diff``, ``rbd import-diff`` and ``rbd diff`` (``action/Export.cc``,
``Import.cc``, ``Diff.cc``)."""

from __future__ import annotations

import errno as _errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import click

from shoal import errors
from shoal.cli._common import AliasGroup
from shoal.cli.rbd._args import format_options, output_format, parse_iec
from shoal.cli.rbd._command import IMAGE, IMAGE_OR_SNAP, Run, rbd_command
from shoal.cli.rbd._common import die, emit, fail, strerror
from shoal.cli.rbd._fmt import Progress, TextTable, arr, obj, render
from shoal.cli.rbd.stream import (
    SPARSE_SIZE_DEFAULT,
    DiffAbort,
    apply_diff,
    changed_extents,
    diff_error_code,
    write_diff,
)

__all__ = ["input_stream", "output_file", "register"]


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


@rbd_command("export-diff", "SOURCE_IMAGE_OR_SNAP_SPEC PATH", spec=IMAGE_OR_SNAP,
             path="after", progress=True)
@click.option("--from-snap", "from_snap", metavar="SNAP", help="Snapshot starting point.")
@click.option("--whole-object", is_flag=True, help="Compare whole object.")
def export_diff(run: Run, from_snap: str | None, whole_object: bool) -> None:
    """Export incremental diff to file."""
    with (run.image(at_snap=True, read_only=True) as (_s, _io, img),
          run.progress("Exporting image", "export-diff error") as progress,
          output_file(run.path) as out):
        write_diff(img, out, from_snap=from_snap or None, end_snap=run.image_spec.snap or None,
                   whole_object=whole_object, on_progress=progress.update)


@rbd_command("import-diff", "PATH IMAGE_SPEC", spec=IMAGE, path="before", progress=True)
@click.option("--sparse-size", "sparse_size", metavar="SIZE",
              help="Sparse size in B/K/M [default: 4K].")
def import_diff(run: Run, sparse_size: str | None) -> None:
    """Apply an incremental diff to image HEAD, then create a snapshot."""
    sparse = SPARSE_SIZE_DEFAULT
    if sparse_size is not None:
        sparse = parse_iec(sparse_size, "--sparse-size")
    with run.image() as (_s, _io, img):
        progress = Progress("Importing image diff", run.show_progress)
        with input_stream(run.path) as stream:
            try:
                apply_diff(img, stream, sparse_size=sparse,
                           on_record=_stream_progress(stream, progress))
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


def _stream_progress(stream: BinaryIO, progress: Progress) -> Callable[[], None] | None:
    """Progress by bytes read of a regular file (``Import.cc`` counts them so); None for a
    pipe, whose size is unknown."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
        return None
    total = info.st_size

    def report() -> None:
        progress.update(stream.tell(), total)

    return report


@rbd_command("diff", "IMAGE_OR_SNAP_SPEC", spec=IMAGE_OR_SNAP)
@click.option("--from-snap", "from_snap", metavar="SNAP", help="Snapshot starting point.")
@click.option("--whole-object", is_flag=True, help="Compare whole object.")
@format_options
def diff(run: Run, from_snap: str | None, whole_object: bool, fmt: str | None,
         pretty: bool) -> None:
    """Print extents that differ since a previous snap, or image creation."""
    formatter = output_format(fmt, pretty)
    with run.image(at_snap=True, read_only=True) as (_s, _io, img):
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


def register(group: AliasGroup) -> None:
    group.add_command(export_diff)
    group.add_command(import_diff)
    group.add_command(diff)
