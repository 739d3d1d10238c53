"""``shoal rbd`` progress lines on a terminal: stderr is a pseudo-terminal here, as when a
person runs ``rbd import``; the percentage is rewritten in place (``\\r``) as it grows,
then the ``done`` line. (Off a terminal only the ``done`` line is written; the other e2e
modules check that.)"""

from __future__ import annotations

import os
import pty
import random
import re
import subprocess
import tty
from pathlib import Path

import pytest

from tests.e2e._guide import provision
from tests.shoal_cli import shoal_command

MiB = 1 << 20
#: 16 MiB in 4 MiB objects: four steps of 25%.
SIZE = 16 * MiB


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("progress") / "data"
    provision(data_dir)
    return data_dir


def on_terminal(cluster: Path, *args: str) -> tuple[int, str]:
    """Run ``shoal rbd ARGS`` with stderr on a pseudo-terminal (raw: no newline
    translation); returns the exit status and everything written to the terminal."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    env = {**os.environ, "SHOAL_DATA_DIR": str(cluster)}
    proc = subprocess.Popen([*shoal_command(), "rbd", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode()


def steps(operation: str, *percents: int) -> str:
    return "".join(f"\r{operation}: {p}% complete..." for p in percents)


def done(operation: str) -> str:
    return f"\r{operation}: 100% complete...done.\n"


def test_import_export_and_flatten_show_their_percentage(cluster: Path, tmp_path: Path) -> None:
    source = tmp_path / "disk.raw"
    source.write_bytes(random.Random(7).randbytes(SIZE))
    assert on_terminal(cluster, "import", str(source), "volumes/disk") == (
        0, steps("Importing image", 25, 50, 75, 100) + done("Importing image"))

    exported = tmp_path / "out.raw"
    assert on_terminal(cluster, "export", "volumes/disk", str(exported)) == (
        0, steps("Exporting image", 25, 50, 75, 100) + done("Exporting image"))
    assert exported.read_bytes() == source.read_bytes()

    assert on_terminal(cluster, "snap", "create", "volumes/disk@s")[0] == 0
    assert on_terminal(cluster, "snap", "protect", "volumes/disk@s")[0] == 0
    assert on_terminal(cluster, "clone", "volumes/disk@s", "volumes/child")[0] == 0
    assert on_terminal(cluster, "flatten", "volumes/child") == (
        0, steps("Image flatten", 25, 50, 75, 100) + done("Image flatten"))


def test_diffs_show_their_percentage(cluster: Path, tmp_path: Path) -> None:
    source = tmp_path / "d.raw"
    source.write_bytes(random.Random(8).randbytes(SIZE))
    assert on_terminal(cluster, "import", "--no-progress", str(source), "volumes/d") == (0, "")
    diff = tmp_path / "d.diff"
    status, text = on_terminal(cluster, "export-diff", "volumes/d", str(diff))
    # rbd reports each extent's start: 0% (not shown), 25, 50, 75 of the image, then done
    assert (status, text) == (0, steps("Exporting image", 25, 50, 75) + done("Exporting image"))

    assert on_terminal(cluster, "create", "--size", "16M", "volumes/d2") == (0, "")
    status, text = on_terminal(cluster, "import-diff", str(diff), "volumes/d2")
    assert status == 0 and text.endswith(done("Importing image diff"))
    shown = [int(p) for p in re.findall(r"\rImporting image diff: (\d+)% complete\.\.\.(?!d)",
                                        text)]
    assert shown == sorted(shown) and len(shown) >= 3 and shown[-1] >= 99  # bytes of the file


def test_no_progress_and_failures_on_a_terminal(cluster: Path, tmp_path: Path) -> None:
    source = tmp_path / "q.raw"
    source.write_bytes(bytes(SIZE))
    assert on_terminal(cluster, "import", "--no-progress", str(source), "volumes/q") == (0, "")
    taken = tmp_path / "taken.raw"
    taken.write_bytes(b"x")
    assert on_terminal(cluster, "export", "volumes/q", str(taken)) == (
        17, "\rExporting image: 0% complete...failed.\nrbd: export error: (17) File exists\n")
    assert on_terminal(cluster, "rm", "volumes/q") == (0, done("Removing image"))
