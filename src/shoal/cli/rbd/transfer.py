"""``rbd export`` and ``rbd import`` (``action/Export.cc``, ``action/Import.cc``).

Format 1 is the raw image: export reads it one period (object size x stripe
count) at a time, only the periods the object map (``diff_iterate``, parent
included) says hold data, leaving holes in a file and streaming zeros to
stdout; import writes only the non-zero ``--sparse-size`` blocks (4 KiB) and,
from stdin, grows the image by doubling then trims it.
Format 2 (``--export-format 2``) is the image header, then one diff per
snapshot and one for the head.
"""

from __future__ import annotations

import errno as _errno
import os
import stat
import sys
from typing import Any, BinaryIO, NoReturn

import click

from shoal import errors
from shoal.cli._common import AliasGroup
from shoal.cli.rbd._args import (
    CreateArgs,
    Presence,
    Validation,
    create_args,
    create_options,
    extract_spec,
    image_spec_options,
    invalid_value,
    parse_iec,
    parse_size,
    resolve_spec,
)
from shoal.cli.rbd._command import IMAGE_OR_SNAP, Run, rbd_command
from shoal.cli.rbd._common import detail, die, image_class, strerror
from shoal.cli.rbd._fmt import Progress
from shoal.cli.rbd.diff import input_stream, output_file
from shoal.cli.rbd.stream import (
    SPARSE_SIZE_DEFAULT,
    DiffAbort,
    apply_diff,
    changed_extents,
    diff_error_code,
    sparse_runs,
    write_diff,
)
from shoal.objstore import IoCtx
from shoal.rbd import RBD, Image
from shoal.rbd._diffstream import ImageHeader, read_image_header, write_image_header

__all__ = ["register"]


def _export_format(value: str | None) -> int:
    if value is None:
        return 1
    if value not in ("1", "2"):
        invalid_value(value, "--export-format")
    return int(value)


def _data_periods(img: Image, period: int) -> set[int]:
    """Periods holding data (own or the parent's), from the object map / diff."""
    found: set[int] = set()
    for offset, length, exists in changed_extents(img, None, whole_object=True):
        if exists and length:
            found.update(range(offset // period, (offset + length - 1) // period + 1))
    return found


def _export_raw(img: Image, path: str, progress: Progress) -> None:
    """Raw image to ``path`` (sparse) or stdout; periods without data are not read.
    Progress: bytes of the image through."""
    size = img.size()
    period = img.layout.object_size * img.stripe_count()
    with_data = _data_periods(img, period)
    if path == "-":
        out = sys.stdout.buffer
        zeros = bytes(min(period, size))
        for offset in range(0, size, period):
            length = min(period, size - offset)
            if offset // period in with_data:
                out.write(img.read(offset, length))
            else:
                out.write(zeros[:length])
            progress.update(offset + length, size)
        out.flush()
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as out:
        for offset in sorted(n * period for n in with_data):
            chunk = img.read(offset, min(period, size - offset))
            if chunk.count(0) != len(chunk):
                out.seek(offset)
                out.write(chunk)
            progress.update(offset + len(chunk), size)
        out.truncate(size)


def _export_v2(io: IoCtx, img: Image, entity: str, out: BinaryIO, progress: Progress) -> None:
    """Header, then one diff per snapshot and one for the head; progress: diffs written."""
    header = ImageHeader(order=img.order(), features=img.features(),
                         stripe_unit=img.stripe_unit(), stripe_count=img.stripe_count(),
                         metadata=dict(img.metadata_list()))
    snaps = sorted(img.list_snaps(), key=lambda s: int(s["id"]))
    write_image_header(out, header, len(snaps) + 1)
    last: str | None = None
    for done, snap in enumerate(snaps):
        name = str(snap["name"])
        with image_class(io)(io, image_id=img.id(), snapshot=name, read_only=True,
                             entity=entity) as at:
            write_diff(at, out, from_snap=last, end_snap=name, version=2)
        progress.update(done, len(snaps) + 1)
        last = name
    with image_class(io)(io, image_id=img.id(), read_only=True, entity=entity) as head:
        write_diff(head, out, from_snap=last, end_snap=None, version=2)
    progress.update(len(snaps) + 1, len(snaps) + 1)


@rbd_command("export", "SOURCE_IMAGE_OR_SNAP_SPEC PATH", spec=IMAGE_OR_SNAP, path="after",
             progress=True)
@click.option("--export-format", "export_format", metavar="FORMAT",
              help="Format of image file (1: raw, 2: with snapshots).")
def export(run: Run, export_format: str | None) -> None:
    """Export image to file."""
    version = _export_format(export_format)
    with (run.image(at_snap=True, read_only=True) as (sess, io, img),
          run.progress("Exporting image", "export error") as progress):
        if version == 1:
            _export_raw(img, run.path, progress)
        else:
            with output_file(run.path) as out:
                _export_v2(io, img, sess.entity, out, progress)


# --- import ------------------------------------------------------------------------


def _read_block(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, short only at the end of the stream."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _import_raw(img: Image, stream: BinaryIO, size: int, block: int, sparse: int,
                from_stdin: bool, progress: Progress) -> None:
    """``do_import_v1``: copy the non-zero blocks; from stdin, grow then trim.
    Progress: bytes read of ``size`` (from stdin: of the estimate, which may grow)."""
    pos = 0
    while True:
        data = _read_block(stream, block if from_stdin else min(block, size - pos))
        if from_stdin and pos + len(data) > size:
            while pos + len(data) > size:
                size = max(size, 1) * 2
            img.resize(size)
        for offset, length, zero in sparse_runs(data, sparse):
            if not zero:
                img.write(data[offset: offset + length], pos + offset)
        pos += len(data)
        progress.update(pos, size)
        if (not from_stdin and pos >= size) or len(data) < block:
            break
    if from_stdin:
        img.resize(pos)
    img.flush()


def _source_size(stream: BinaryIO, path: str) -> int:
    info = os.fstat(stream.fileno())
    if stat.S_ISDIR(info.st_mode):
        click.echo("rbd: cannot import a directory", err=True)
        die(f"import failed: {strerror(_errno.EISDIR)}", _errno.EISDIR)
    if stat.S_ISBLK(info.st_mode):
        end = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        return end
    return info.st_size


def _header_option(chosen: int | None, from_stream: int | None) -> int | None:
    return chosen if chosen is not None else from_stream


def _create(engine: RBD, io: IoCtx, name: str, size: int, opts: CreateArgs,
            header: ImageHeader | None) -> None:
    features = None
    if opts.features is not None or opts.features_clear:
        features = opts.features_or(engine.options.default_features)
    if header is not None:
        features = _header_option(features, header.features)
    engine.create(
        io, name, size,
        order=_header_option(opts.order, header.order if header else None),
        old_format=opts.old_format, features=features,
        stripe_unit=_header_option(opts.stripe_unit, header.stripe_unit if header else None),
        stripe_count=_header_option(opts.stripe_count,
                                    header.stripe_count if header else None),
        data_pool=opts.data_pool)


def _import_failed(progress: Progress, exc: errors.ShoalError | DiffAbort,
                   message: str) -> NoReturn:
    if isinstance(exc, DiffAbort):
        click.echo(exc.message, err=True)
        code = exc.errno
    else:
        detail(exc)
        code = diff_error_code(exc)
    click.echo(f"rbd: {message}", err=True)
    progress.fail()
    die(f"import failed: {strerror(code)}", code)


@rbd_command("import", "PATH DEST_IMAGE_SPEC", spec=None, path="before", progress=True)
@image_spec_options(dest=True)
@click.option("-p", "--pool", "pool", metavar="POOL", help="Pool name (deprecated: --dest-pool).")
@click.option("--image", "image", metavar="IMAGE", help="Image name (deprecated: --dest).")
@create_options
@click.option("--sparse-size", "sparse_size", metavar="SIZE",
              help="Sparse size in B/K/M [default: 4K].")
@click.option("--export-format", "export_format", metavar="FORMAT",
              help="Format of image file (1: raw, 2: with snapshots).")
@click.option("--estimated-size", "estimated_size", metavar="SIZE",
              help="Estimated size (in M/G/T) of the image read from stdin.")
def import_(run: Run, /, dest_pool: str | None, dest_namespace: str | None,
            dest_image: str | None, pool: str | None, image: str | None,
            sparse_size: str | None, export_format: str | None, estimated_size: str | None,
            **kwargs: Any) -> None:
    """Import image from file."""
    args, path = run.words, run.path
    legacy = image or path.replace("\\", "/").rsplit("/", 1)[-1]
    l_pool, l_ns, l_name, l_snap = extract_spec(legacy, Validation.FULL)
    if l_ns:
        die("namespace name specified for a command that doesn't use it", _errno.EINVAL)
    spec = resolve_spec(args, pool=dest_pool or l_pool or pool, namespace=dest_namespace,
                        image=dest_image, snap=l_snap, default_pool=run.default_pool,
                        presence=Presence.NONE, validation=Validation.FULL, dest=True,
                        required=False)
    args.finish()
    name = spec.image or l_name or ""
    opts = create_args(kwargs)
    sparse = parse_iec(sparse_size, "--sparse-size") if sparse_size else SPARSE_SIZE_DEFAULT
    version = _export_format(export_format)
    estimate = 0
    if estimated_size is not None:
        if path != "-":
            die("--estimated-size can be specified only for import from stdin", _errno.EINVAL)
        if version != 1:
            die("--estimated-size can be specified only for raw import (--export-format 1)",
                _errno.EINVAL)
        estimate = parse_size(estimated_size, "--estimated-size")
    with run.pool(spec.pool, spec.namespace) as (sess, io):
        _do_import(run.engine(sess.entity), sess.entity, io, name, path, opts, version,
                   sparse, estimate, Progress("Importing image", run.show_progress))


def _do_import(engine: RBD, entity: str, io: IoCtx, name: str, path: str,
               opts: CreateArgs, version: int, sparse: int, estimate: int,
               progress: Progress) -> None:
    with input_stream(path) as stream:
        from_stdin = path == "-"
        header: ImageHeader | None = None
        diffs = 0
        size = 0 if from_stdin else _source_size(stream, path)
        if version == 2:
            try:
                header, diffs = read_image_header(stream)
            except errors.ShoalError as exc:
                _import_failed(progress, exc, "import header failed.")
        order = opts.order or (header.order if header and header.order else None)
        block = 1 << (order or engine.options.default_order)
        if from_stdin:
            size = estimate or block
        try:
            _create(engine, io, name, size, opts, header)
        except errors.ShoalError as exc:
            _import_failed(progress, exc, "image creation failed")
        try:
            with image_class(io)(io, name, entity=entity) as img:
                if header is not None:
                    for key, value in header.metadata.items():
                        img.metadata_set(key, value)
                if version == 1:
                    _import_raw(img, stream, size, block, sparse, from_stdin, progress)
                else:
                    for done in range(diffs):
                        apply_diff(img, stream, sparse_size=sparse, version=2)
                        progress.update(done + 1, diffs)
        except (errors.ShoalError, DiffAbort) as exc:
            _remove_quietly(engine, io, name, entity)
            _import_failed(progress, exc, "failed to import image")
        except BaseException:
            _remove_quietly(engine, io, name, entity)
            raise
    progress.finish()


def _remove_quietly(engine: RBD, io: IoCtx, name: str, entity: str) -> None:
    """Remove a half-imported image, with the snapshots a format-2 import made."""
    try:
        with image_class(io)(io, name, entity=entity) as img:
            for snap in list(img.list_snaps()):
                if snap["protected"]:
                    img.unprotect_snap(str(snap["name"]))
                img.remove_snap(str(snap["name"]))
        engine.remove(io, name)
    except errors.ShoalError:
        pass


def register(group: AliasGroup) -> None:
    group.add_command(export)
    group.add_command(import_, "import")
