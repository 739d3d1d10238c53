"""``shoal rbd export/import/export-diff/import-diff/diff`` as real subprocesses, bytes in
and bytes out (files, stdin and stdout, and the cinder-backup pipe between two users)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from shoal.rbd._diffstream import DiffWriter
from tests.e2e._guide import provision
from tests.shoal_cli import shoal_command

MiB = 1 << 20


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("rbdio") / "data"
    provision(data_dir)
    return data_dir


def run(
    cluster: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "SHOAL_DATA_DIR": str(cluster)}
    return subprocess.run([*shoal_command(), "rbd", *args], input=stdin, env=env,
                          capture_output=True, timeout=120, check=False)


def ok(cluster: Path, *args: str, stdin: bytes | None = None) -> bytes:
    result = run(cluster, *args, stdin=stdin)
    assert result.returncode == 0, (args, result.stderr.decode())
    return result.stdout


def err(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode()


def data(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def image_bytes(cluster: Path, spec: str, *extra: str) -> bytes:
    return ok(cluster, "export", "--no-progress", spec, "-", *extra)


def snap_names(cluster: Path, spec: str) -> list[tuple[str, str]]:
    listed = json.loads(ok(cluster, "snap", "ls", spec, "--format", "json"))
    return [(s["name"], s["protected"]) for s in listed]


def diff_stream(size: int, records: list[tuple[int, bytes | int]], *, from_snap: str | None = None,
                to_snap: str | None = None, protected: bool | None = None,
                version: int = 1) -> bytes:
    """A diff stream: ``(offset, data)`` writes and ``(offset, length)`` zero records."""
    out = io.BytesIO()
    writer = DiffWriter(out)
    writer.write_header(version)
    if from_snap:
        writer.from_snap(from_snap)
    if to_snap:
        writer.to_snap(to_snap)
    if protected is not None:
        writer.snap_protected(protected)
    writer.size(size)
    for offset, payload in records:
        if isinstance(payload, bytes):
            writer.write(offset, payload)
        else:
            writer.zero(offset, payload)
    writer.end()
    return out.getvalue()


# --- export / import -------------------------------------------------------------------


def test_export_import_round_trip_files_and_pipes(cluster: Path, tmp_path: Path) -> None:
    content = data(1, MiB) + bytes(9 * MiB) + data(2, 100_001)
    source = tmp_path / "disk.raw"
    source.write_bytes(content)
    imported = run(cluster, "import", str(source), "volumes/disk")
    assert (imported.returncode, err(imported)) == (
        0, "\rImporting image: 100% complete...done.\n")
    info = json.loads(ok(cluster, "info", "volumes/disk", "--format", "json"))
    assert info["size"] == len(content)

    exported = tmp_path / "out.raw"
    done = run(cluster, "export", "volumes/disk", str(exported))
    assert (done.returncode, err(done)) == (0, "\rExporting image: 100% complete...done.\n")
    assert exported.read_bytes() == content
    assert exported.stat().st_blocks * 512 < len(content)  # the zero periods stay holes
    assert image_bytes(cluster, "volumes/disk") == content

    ok(cluster, "import", "--no-progress", "-", "volumes/from-stdin", stdin=content)
    assert image_bytes(cluster, "volumes/from-stdin") == content
    assert json.loads(ok(cluster, "info", "volumes/from-stdin", "--format", "json"))[
        "size"] == len(content)
    ok(cluster, "import", "--no-progress", "--estimated-size", "1M", "-", "volumes/est",
       stdin=content[: 3 * MiB + 5])
    assert image_bytes(cluster, "volumes/est") == content[: 3 * MiB + 5]
    ok(cluster, "import", "--no-progress", "-", "volumes/empty", stdin=b"")
    assert image_bytes(cluster, "volumes/empty") == b""


def test_import_skips_zero_blocks(cluster: Path, tmp_path: Path) -> None:
    content = bytes(4096) + data(3, 4096) + bytes(4 * MiB - 8192) + bytes(4 * MiB)
    source = tmp_path / "sparse.raw"
    source.write_bytes(content)
    ok(cluster, "import", "--no-progress", str(source), "volumes/sparse")
    assert ok(cluster, "diff", "volumes/sparse") == b"Offset  Length  Type\n4096    4096    data\n"
    assert json.loads(ok(cluster, "diff", "--whole-object", "volumes/sparse", "--format",
                         "json")) == [{"offset": 0, "length": 4 * MiB, "exists": "true"}]
    assert image_bytes(cluster, "volumes/sparse") == content


def test_import_options_and_names(cluster: Path, tmp_path: Path) -> None:
    source = tmp_path / "cirros.img"
    source.write_bytes(data(4, 3 * MiB))
    ordered = run(cluster, "import", "--no-progress", "--dest-pool", "vms", "--order", "23",
                  "--image-feature", "layering", str(source), "ordered")
    assert (ordered.returncode, err(ordered)) == (
        0, "rbd: --order is deprecated, use --object-size\n")
    info = json.loads(ok(cluster, "info", "vms/ordered", "--format", "json"))
    assert (info["order"], info["features"]) == (23, ["layering"])
    legacy = run(cluster, "import", "--no-progress", "--pool", "vms", "--new-format", str(source))
    assert legacy.returncode == 0
    assert legacy.stdout == b"rbd: --new-format is deprecated, use --image-format\n"
    assert image_bytes(cluster, "vms/cirros.img") == source.read_bytes()
    ok(cluster, "import", "--no-progress", "--image-format", "2", str(source), "--dest", "d",
       "--dest-pool", "vms")
    assert image_bytes(cluster, "vms/d") == source.read_bytes()
    missing = run(cluster, "import", str(tmp_path / "nope"), "vms/x")
    assert (missing.returncode, err(missing)) == (
        2, f"rbd: error opening {tmp_path / 'nope'}\n")
    again = run(cluster, "import", "--no-progress", str(source), "vms/ordered")
    assert again.returncode == 17
    assert err(again).endswith("rbd: image creation failed\nrbd: import failed: "
                               "(17) File exists\n")
    assert json.loads(ok(cluster, "info", "vms/ordered", "--format", "json"))["order"] == 23


def test_export_refuses_to_overwrite(cluster: Path, tmp_path: Path) -> None:
    ok(cluster, "create", "--size", "1M", "volumes/small")
    target = tmp_path / "exists"
    target.write_bytes(b"keep me")
    refused = run(cluster, "export", "volumes/small", str(target))
    assert (refused.returncode, err(refused)) == (
        17, "\rExporting image: 0% complete...failed.\nrbd: export error: (17) File exists\n")
    assert target.read_bytes() == b"keep me"
    diff_refused = run(cluster, "export-diff", "--no-progress", "volumes/small", str(target))
    assert (diff_refused.returncode, err(diff_refused)) == (
        17, "rbd: export-diff error: (17) File exists\n")
    assert target.read_bytes() == b"keep me"


# --- export-diff / import-diff ----------------------------------------------------------


def _source_with_two_snapshots(cluster: Path, name: str) -> bytes:
    """``volumes/<name>``: 8 MiB at ``s1``, then changes and growth to 12 MiB at ``s2``."""
    ok(cluster, "create", "--size", "8M", f"volumes/{name}")
    first = diff_stream(8 * MiB, [(0, data(10, 6000)), (5 * MiB, data(11, 70_000))])
    ok(cluster, "import-diff", "--no-progress", "-", f"volumes/{name}", stdin=first)
    ok(cluster, "snap", "create", "--no-progress", f"volumes/{name}@s1")
    second = diff_stream(12 * MiB, [(4096, data(12, 4096)), (5 * MiB, 8192),
                                    (11 * MiB, data(13, 1234))])
    ok(cluster, "import-diff", "--no-progress", "-", f"volumes/{name}", stdin=second)
    ok(cluster, "snap", "create", "--no-progress", f"volumes/{name}@s2")
    return image_bytes(cluster, f"volumes/{name}")


@pytest.mark.parametrize("whole_object", [False, True])
def test_export_diff_then_import_diff_reproduces_each_snapshot(
    cluster: Path, tmp_path: Path, whole_object: bool
) -> None:
    src, dst = f"src{int(whole_object)}", f"dst{int(whole_object)}"
    head = _source_with_two_snapshots(cluster, src)
    flags = ["--whole-object"] if whole_object else []
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    exported = run(cluster, "export-diff", *flags, f"volumes/{src}@s1", str(d1))
    assert (exported.returncode, err(exported)) == (
        0, "\rExporting image: 100% complete...done.\n")
    ok(cluster, "export-diff", "--no-progress", *flags, "--from-snap", "s1",
       f"volumes/{src}@s2", str(d2))
    assert d1.read_bytes().startswith(b"rbd diff v1\nt\x02\x00\x00\x00s1s")
    assert d2.read_bytes().startswith(b"rbd diff v1\nf\x02\x00\x00\x00s1t\x02\x00\x00\x00s2s")

    ok(cluster, "create", "--size", "1M", f"volumes/{dst}")
    applied = run(cluster, "import-diff", str(d1), f"volumes/{dst}")
    assert (applied.returncode, err(applied)) == (
        0, "\rImporting image diff: 100% complete...done.\n")
    assert snap_names(cluster, f"volumes/{dst}") == [("s1", "false")]
    assert image_bytes(cluster, f"volumes/{dst}@s1") == image_bytes(cluster, f"volumes/{src}@s1")
    ok(cluster, "import-diff", "--no-progress", str(d2), f"volumes/{dst}")
    assert snap_names(cluster, f"volumes/{dst}") == [("s1", "false"), ("s2", "false")]
    assert image_bytes(cluster, f"volumes/{dst}@s2") == head
    assert image_bytes(cluster, f"volumes/{dst}") == head
    assert json.loads(ok(cluster, "info", f"volumes/{dst}", "--format", "json"))[
        "size"] == 12 * MiB

    twice = run(cluster, "import-diff", "--no-progress", str(d2), f"volumes/{dst}")
    assert (twice.returncode, err(twice)) == (
        17, "end snapshot 's2' already exists, aborting\n"
            "rbd: import-diff failed: (17) File exists\n")
    ok(cluster, "create", "--size", "1M", f"volumes/{dst}-bare")
    no_base = run(cluster, "import-diff", "--no-progress", str(d2), f"volumes/{dst}-bare")
    assert (no_base.returncode, err(no_base)) == (
        22, "start snapshot 's1' does not exist in the image, aborting\n"
            "rbd: import-diff failed: (22) Invalid argument\n")
    assert snap_names(cluster, f"volumes/{dst}-bare") == []


def test_backup_pipe_between_users(cluster: Path) -> None:
    """cinder-backup: ``export-diff --id cinder ... - | import-diff --id cinder-backup - ...``."""
    ok(cluster, "create", "--size", "4M", "volumes/vol", "--id", "cinder")
    ok(cluster, "import-diff", "--no-progress", "-", "volumes/vol", "--id", "cinder",
       stdin=diff_stream(4 * MiB, [(0, data(20, 10_000))]))
    ok(cluster, "snap", "create", "--no-progress", "volumes/vol@backup.1.snap.1", "--id", "cinder")
    ok(cluster, "create", "--size", "1", "backups/volume-vol.backup.base", "--id", "cinder-backup")
    shoal = " ".join(shlex.quote(part) for part in shoal_command())
    pipe = (f"{shoal} rbd export-diff --id cinder --pool volumes "
            "volumes/vol@backup.1.snap.1 - | "
            f"{shoal} rbd import-diff --id cinder-backup --pool backups - "
            "backups/volume-vol.backup.base")
    done = subprocess.run(["sh", "-c", pipe], env={**os.environ, "SHOAL_DATA_DIR": str(cluster)},
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert snap_names(cluster, "backups/volume-vol.backup.base") == [
        ("backup.1.snap.1", "false")]
    assert image_bytes(cluster, "backups/volume-vol.backup.base@backup.1.snap.1", "--id",
                       "cinder-backup") == image_bytes(cluster, "volumes/vol@backup.1.snap.1")
    refused = run(cluster, "import-diff", "--no-progress", "-", "volumes/vol",
                  "--id", "cinder-backup", stdin=b"")
    assert (refused.returncode, err(refused)) == (
        1, "rbd: error opening image vol: (1) Operation not permitted\n")


def test_import_diff_resizes_and_protects_the_end_snapshot(cluster: Path) -> None:
    ok(cluster, "create", "--size", "16M", "volumes/shrinks")
    stream = diff_stream(4 * MiB, [(100, b"hello")], to_snap="gold", protected=True, version=2)
    ok(cluster, "import-diff", "--no-progress", "-", "volumes/shrinks", stdin=stream)
    assert snap_names(cluster, "volumes/shrinks") == [("gold", "true")]
    assert json.loads(ok(cluster, "info", "volumes/shrinks", "--format", "json"))[
        "size"] == 4 * MiB
    assert image_bytes(cluster, "volumes/shrinks@gold")[95:110] == bytes(5) + b"hello" + bytes(5)


@pytest.mark.parametrize(
    ("mangle", "status", "message"),
    [
        (lambda s: s[:-3000], 74,
         "rbd: diff stream offset 5047: stream ends inside write data (5001 of 8000 bytes "
         "present)"),
        (lambda s: s[:-1], 74,
         "rbd: diff stream offset 8046: stream ends without the end record 'e'"),
        (lambda s: b"rbd diff v9\n" + s[12:], 22, "rbd: invalid or unexpected diff banner"),
        (lambda s: s[:-1] + b"Q", 22, "rbd: diff stream offset 8046: unknown record tag b'Q'"),
        (lambda s: s.replace(b"s" + (1 << 20).to_bytes(8, "little"),
                             b"s" + (4096).to_bytes(8, "little"), 1), 22,
         "rbd: diff stream offset 30: record b'w' extent 4096~8000 extends past the image "
         "size 4096"),
    ],
)
def test_corrupt_diff_stream_is_refused_without_a_snapshot(
    cluster: Path, mangle: Callable[[bytes], bytes], status: int, message: str
) -> None:
    name = f"corrupt{status}-{hashlib.blake2b(message.encode(), digest_size=6).hexdigest()}"
    ok(cluster, "create", "--size", "1M", f"volumes/{name}")
    good = diff_stream(1 << 20, [(4096, data(30, 8000))], to_snap="end")
    # The stream is applied as it is read (as rbd does): a bad stream may leave the
    # head changed, but the end snapshot is only created after the last record.
    result = run(cluster, "import-diff", "-", f"volumes/{name}", stdin=mangle(good))
    assert result.returncode == status
    reason = "(74) Bad message" if status == 74 else "(22) Invalid argument"
    assert err(result).split("\n") == [
        message, "\rImporting image diff: 0% complete...failed.",
        f"rbd: import-diff failed: {reason}", ""]
    assert snap_names(cluster, f"volumes/{name}") == []


def test_export_format_2_round_trip_keeps_snapshots(cluster: Path, tmp_path: Path) -> None:
    head = _source_with_two_snapshots(cluster, "v2src")
    ok(cluster, "snap", "protect", "volumes/v2src@s1")
    stream = tmp_path / "v2.img"
    ok(cluster, "export", "--no-progress", "--export-format", "2", "volumes/v2src", str(stream))
    assert stream.read_bytes().startswith(b"rbd image v2\n")
    ok(cluster, "import", "--no-progress", "--export-format", "2", str(stream), "vms/v2copy")
    assert snap_names(cluster, "vms/v2copy") == [("s1", "true"), ("s2", "false")]
    for at in ("@s1", "@s2", ""):
        assert image_bytes(cluster, f"vms/v2copy{at}") == image_bytes(cluster,
                                                                       f"volumes/v2src{at}")
    assert image_bytes(cluster, "vms/v2copy") == head
    broken = tmp_path / "broken.img"
    broken.write_bytes(stream.read_bytes()[:-10])
    failed = run(cluster, "import", "--no-progress", "--export-format", "2", str(broken),
                 "vms/v2broken")
    assert failed.returncode == 74
    assert err(failed).endswith("rbd: failed to import image\nrbd: import failed: "
                                "(74) Bad message\n")
    assert b"v2broken" not in ok(cluster, "ls", "vms")


def test_diff_lists_changed_extents(cluster: Path) -> None:
    _source_with_two_snapshots(cluster, "differ")
    since = ok(cluster, "diff", "--from-snap", "s1", "volumes/differ").decode()
    assert since == ("Offset    Length  Type\n"
                     "4096      4096    data\n"
                     "5242880   8192    data\n"
                     "11534336  4096    data\n")
    whole = json.loads(ok(cluster, "diff", "--from-snap", "s1", "--whole-object",
                          "volumes/differ", "--format", "json"))
    assert [(e["offset"], e["exists"]) for e in whole] == [
        (0, "true"), (4 * MiB, "true"), (8 * MiB, "true")]
    assert ok(cluster, "diff", "--from-snap", "s2", "volumes/differ") == b""
    assert ok(cluster, "diff", "volumes/differ@s1", "--format", "json", "--pretty-format"
              ).startswith(b"[\n    {\n        \"offset\": 0,")
