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
from shoal.cli._common import GlobalOptions, global_options
from shoal.cli._rbdfmt import Progress
from shoal.cli.rbd_args import (
    CreateArgs,
    Positionals,
    Presence,
    Validation,
    create_args,
    create_options,
    extract_spec,
    image_spec_options,
    invalid_value,
    no_progress_option,
    parse_iec,
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
    fail,
    image_class,
    rbd_engine,
    strerror,
)
from shoal.cli.rbd_diff import input_stream, output_file, output_path
from shoal.cli.rbd_stream import (
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


def _export_raw(img: Image, path: str) -> None:
    """Raw image to ``path`` (sparse) or stdout; periods without data are not read."""
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
        out.flush()
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as out:
        for offset in sorted(n * period for n in with_data):
            chunk = img.read(offset, min(period, size - offset))
            if chunk.count(0) != len(chunk):
                out.seek(offset)
                out.write(chunk)
        out.truncate(size)


def _export_v2(io: IoCtx, img: Image, entity: str, out: BinaryIO) -> None:
    header = ImageHeader(order=img.order(), features=img.features(),
                         stripe_unit=img.stripe_unit(), stripe_count=img.stripe_count(),
                         metadata=dict(img.metadata_list()))
    snaps = sorted(img.list_snaps(), key=lambda s: int(s["id"]))
    write_image_header(out, header, len(snaps) + 1)
    last: str | None = None
    for snap in snaps:
        name = str(snap["name"])
        with image_class(io)(io, image_id=img.id(), snapshot=name, read_only=True,
                             entity=entity) as at:
            write_diff(at, out, from_snap=last, end_snap=name, version=2)
        last = name
    with image_class(io)(io, image_id=img.id(), read_only=True, entity=entity) as head:
        write_diff(head, out, from_snap=last, end_snap=None, version=2)


@click.command("export", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="SOURCE_IMAGE_OR_SNAP_SPEC PATH")
@image_spec_options()
@click.option("--path", "path_opt", metavar="PATH", help="Export file (or '-' for stdout).")
@no_progress_option
@click.option("--export-format", "export_format", metavar="FORMAT",
              help="Format of image file (1: raw, 2: with snapshots).")
@global_options
@click.pass_obj
def export(obj_: GlobalOptions, words: tuple[str, ...], pool: str | None,
           namespace: str | None, image: str | None, snap: str | None,
           path_opt: str | None, no_progress: bool, export_format: str | None) -> None:
    """Export image to file."""
    args = Positionals(words)
    spec = resolve_spec(args, pool=pool, namespace=namespace, image=image, snap=snap,
                        default_pool=default_pool(obj_), presence=Presence.PERMITTED)
    path = output_path(args, path_opt)
    args.finish()
    version = _export_format(export_format)
    with connected_image(obj_, spec.pool, spec.namespace, spec.image,
                         snap=spec.snap or None, read_only=True) as (sess, io, img):
        progress = Progress("Exporting image", not no_progress)
        try:
            if version == 1:
                _export_raw(img, path)
            else:
                with output_file(path) as out:
                    _export_v2(io, img, sess.entity, out)
        except errors.ShoalError as exc:
            progress.fail()
            fail("export error", exc)
        except OSError as exc:
            progress.fail()
            code = exc.errno or _errno.EIO
            die(f"export error: {strerror(code)}", code)
        progress.finish()


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
                from_stdin: bool) -> None:
    """``do_import_v1``: copy the non-zero blocks; from stdin, grow then trim."""
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


@click.command("import", cls=RbdCommand)
@click.argument("words", nargs=-1, metavar="PATH DEST_IMAGE_SPEC")
@click.option("--path", "path_opt", metavar="PATH", help="Import file (or '-' for stdin).")
@image_spec_options(dest=True)
@click.option("-p", "--pool", "pool", metavar="POOL", help="Pool name (deprecated: --dest-pool).")
@click.option("--image", "image", metavar="IMAGE", help="Image name (deprecated: --dest).")
@create_options
@click.option("--sparse-size", "sparse_size", metavar="SIZE",
              help="Sparse size in B/K/M [default: 4K].")
@no_progress_option
@click.option("--export-format", "export_format", metavar="FORMAT",
              help="Format of image file (1: raw, 2: with snapshots).")
@click.option("--estimated-size", "estimated_size", metavar="SIZE",
              help="Estimated size (in M/G/T) of the image read from stdin.")
@global_options
@click.pass_obj
def import_(obj_: GlobalOptions, /, words: tuple[str, ...], path_opt: str | None,
            dest_pool: str | None, dest_namespace: str | None, dest_image: str | None,
            pool: str | None, image: str | None, sparse_size: str | None,
            no_progress: bool, export_format: str | None, estimated_size: str | None,
            **kwargs: Any) -> None:
    """Import image from file."""
    args = Positionals(words)
    path = output_path(args, path_opt)
    legacy = image or path.replace("\\", "/").rsplit("/", 1)[-1]
    l_pool, l_ns, l_name, l_snap = extract_spec(legacy, Validation.FULL)
    if l_ns:
        die("namespace name specified for a command that doesn't use it", _errno.EINVAL)
    spec = resolve_spec(args, pool=dest_pool or l_pool or pool, namespace=dest_namespace,
                        image=dest_image, snap=l_snap, default_pool=default_pool(obj_),
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
    with connected_pool(obj_, spec.pool, spec.namespace) as (sess, io):
        _do_import(obj_, sess.entity, io, name, path, opts, version, sparse, estimate,
                   Progress("Importing image", not no_progress))


def _do_import(obj_: GlobalOptions, entity: str, io: IoCtx, name: str, path: str,
               opts: CreateArgs, version: int, sparse: int, estimate: int,
               progress: Progress) -> None:
    engine = rbd_engine(obj_, entity)
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
                    _import_raw(img, stream, size, block, sparse, from_stdin)
                else:
                    for _ in range(diffs):
                        apply_diff(img, stream, sparse_size=sparse, version=2)
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


def register(group: click.Group) -> None:
    group.add_command(export)
    group.add_command(import_, "import")
