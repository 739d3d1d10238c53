"""Fixtures for tests against a real single-node Ceph cluster.

``ceph_cluster`` (session)
    The cluster under test. When ``SHOAL_CEPH_CONF`` names a ``ceph.conf``, that (already
    running) cluster is used as is, with ``SHOAL_CEPH_KEYRING`` as client.admin's keyring if set.
    Otherwise ``scripts/ceph-dev up`` starts a throwaway cluster in a temporary directory
    (installing Debian's ceph packages first if they are missing) and ``scripts/ceph-dev down``
    stops it at the end of the session. If the cluster cannot be started, every test using it
    *fails* with the script's reason. ``SHOAL_SKIP_CEPH=1`` is the explicit opt-out: the tests
    are skipped, and no cluster is started.
``rados_cluster`` (session)
    A connected ``rados.Rados`` as client.admin, shut down at the end of the session.
``ceph_pool`` (module)
    A pool named after the test module plus a random suffix, initialised for RBD, deleted after
    the module. ``temporary_pool()`` makes more of them.

Data goes to memstore OSDs by default, which keep everything in RAM and never give it back: keep
the data written by tests small (a few MiB per test).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests._tools import missing_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
CEPH_DEV = REPO_ROOT / "scripts" / "ceph-dev"
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"
# `up` bounds its own waits (60 s for the cluster, apt-get's timeouts for the packages); this is
# only a safety net so that a test session can never hang on it.
UP_TIMEOUT_S = 1800
DOWN_TIMEOUT_S = 120
CLIENT_TIMEOUT_S = 30
STARTUP_KEY = pytest.StashKey[float]()


@dataclass(frozen=True)
class CephCluster:
    """Where the cluster is and how to reach it as client.admin."""

    conf: Path
    keyring: Path | None  # None: whatever ``conf`` says (true for scripts/ceph-dev clusters)
    directory: Path | None  # the ceph-dev state directory, None for an external cluster
    startup_s: float | None  # how long ``scripts/ceph-dev up`` took, None for an external cluster

    def cli_args(self) -> list[str]:
        """Arguments that point ``ceph``/``rados``/``rbd`` at this cluster as client.admin."""
        args = ["-c", str(self.conf)]
        if self.keyring is not None:
            args += ["--keyring", str(self.keyring)]
        return args

    def run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``tool`` (``ceph``, ``rados``, ``rbd``) against this cluster; raise on failure."""
        return subprocess.run(
            [tool, *self.cli_args(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            stdin=subprocess.DEVNULL,
        )


def import_ceph_bindings() -> tuple[ModuleType, ModuleType]:
    """Import Debian's ``rados`` and ``rbd`` (``scripts/ceph-dev pth`` makes that permanent)."""
    try:
        import rados
        import rbd
    except ImportError:
        # The .pth file may have been written by `ceph-dev up` after this interpreter started.
        if DEBIAN_DIST_PACKAGES not in sys.path:
            sys.path.append(DEBIAN_DIST_PACKAGES)  # after site-packages, like the .pth does
        import rados
        import rbd
    return rados, rbd


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _start_cluster(directory: Path) -> tuple[CephCluster | None, str]:
    """Run ``ceph-dev up``; return the cluster, or None and the script's reason."""
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [str(CEPH_DEV), "up", str(directory)],
            capture_output=True,
            text=True,
            timeout=UP_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{CEPH_DEV} up {directory}: {exc}"
    startup_s = time.monotonic() - t0
    if proc.returncode != 0:
        reason = _tail(proc.stderr + proc.stdout)
        return None, f"{CEPH_DEV} up {directory} failed (exit {proc.returncode}):\n{reason}"
    values = dict(
        line.split("=", 1) for line in proc.stdout.splitlines() if re.match(r"^CEPH_\w+=", line)
    )
    if "CEPH_CONF" not in values:
        return None, f"{CEPH_DEV} up printed no CEPH_CONF=...:\n{_tail(proc.stdout)}"
    cluster = CephCluster(
        conf=Path(values["CEPH_CONF"]),
        keyring=Path(values["CEPH_KEYRING"]) if "CEPH_KEYRING" in values else None,
        directory=directory,
        startup_s=startup_s,
    )
    return cluster, ""


def _stop_cluster(directory: Path) -> None:
    proc = subprocess.run(
        [str(CEPH_DEV), "down", str(directory)],
        capture_output=True,
        text=True,
        timeout=DOWN_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        pytest.fail(f"{CEPH_DEV} down {directory} failed:\n{_tail(proc.stderr)}", pytrace=False)


def _unavailable(reason: str) -> None:
    if os.environ.get("SHOAL_SKIP_CEPH") == "1":
        missing_tool("a Ceph cluster", f"SHOAL_SKIP_CEPH=1 skips it: {reason}")
    pytest.fail(f"{reason}\n(set SHOAL_SKIP_CEPH=1 to skip the Ceph tests)", pytrace=False)


@pytest.fixture(scope="session")
def ceph_cluster(request: pytest.FixtureRequest) -> Iterator[CephCluster]:
    """A running Ceph cluster: ``$SHOAL_CEPH_CONF``'s, or a throwaway one (see the module doc)."""
    if os.environ.get("SHOAL_SKIP_CEPH") == "1":
        missing_tool("a Ceph cluster", "SHOAL_SKIP_CEPH=1: not starting one")
    external = os.environ.get("SHOAL_CEPH_CONF")
    if external:
        keyring = os.environ.get("SHOAL_CEPH_KEYRING")
        if not Path(external).is_file():
            _unavailable(f"SHOAL_CEPH_CONF={external}: no such file")
        yield CephCluster(Path(external), Path(keyring) if keyring else None, None, None)
        return

    # Short path: the daemons' admin sockets live under it (UNIX socket paths max 107 bytes).
    directory = Path(tempfile.mkdtemp(prefix="shoal-ceph-", dir="/tmp"))
    cluster, reason = _start_cluster(directory)
    if cluster is None:
        _stop_cluster(directory)  # `up` stops what it started on failure; make sure of it
        _unavailable(reason + f"\n(cluster state and logs kept in {directory})")
    assert cluster is not None
    assert cluster.startup_s is not None
    request.config.stash[STARTUP_KEY] = cluster.startup_s
    try:
        yield cluster
    finally:
        _stop_cluster(directory)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def rados_cluster(ceph_cluster: CephCluster) -> Iterator[Any]:
    """A connected ``rados.Rados`` as client.admin (bounded client timeouts)."""
    try:
        rados, _ = import_ceph_bindings()
    except ImportError as exc:
        _unavailable(f"cannot import Debian's python3-rados/python3-rbd: {exc}")
        raise  # unreachable: _unavailable raises
    conf = {
        "client_mount_timeout": str(CLIENT_TIMEOUT_S),
        "rados_mon_op_timeout": str(CLIENT_TIMEOUT_S),
        "rados_osd_op_timeout": str(CLIENT_TIMEOUT_S),
    }
    if ceph_cluster.keyring is not None:
        conf["keyring"] = str(ceph_cluster.keyring)
    cluster = rados.Rados(conffile=str(ceph_cluster.conf), rados_id="admin", conf=conf)
    cluster.connect(timeout=CLIENT_TIMEOUT_S)
    try:
        yield cluster
    finally:
        cluster.shutdown()


def mon_command(cluster: Any, prefix: str, **args: Any) -> str:
    """Run a mon command (``ceph PREFIX ...``) through ``cluster``; return its output."""
    ret, out, status = cluster.mon_command(
        json.dumps({"prefix": prefix, "format": "json", **args}), b"", timeout=CLIENT_TIMEOUT_S
    )
    if ret != 0:
        raise RuntimeError(f"ceph {prefix} {args}: error {ret}: {status}")
    return str(out.decode())


@contextmanager
def temporary_pool(cluster: Any, hint: str, *, application: str | None = "rbd") -> Iterator[str]:
    """A new uniquely named pool (``shoal-<hint>-<random>``), deleted on exit.

    ``application``: ``"rbd"`` runs ``rbd pool init``; any other name is enabled as the pool's
    application; None leaves it unset.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[-40:]
    name = f"shoal-{slug}-{uuid.uuid4().hex[:8]}"
    cluster.create_pool(name)
    try:
        if application == "rbd":
            _, rbd = import_ceph_bindings()
            with cluster.open_ioctx(name) as ioctx:
                rbd.RBD().pool_init(ioctx, False)
        elif application is not None:
            mon_command(cluster, "osd pool application enable", pool=name, app=application)
        yield name
    finally:
        cluster.delete_pool(name)


@pytest.fixture(scope="module")
def ceph_pool(request: pytest.FixtureRequest, rados_cluster: Any) -> Iterator[str]:
    """A pool for this test module, initialised for RBD; deleted after the module."""
    with temporary_pool(rados_cluster, request.module.__name__.rsplit(".", 1)[-1]) as name:
        yield name


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    startup_s = config.stash.get(STARTUP_KEY, None)
    if startup_s is not None:
        terminalreporter.write_line(f"ceph-dev: throwaway Ceph cluster up in {startup_s:.1f} s")
