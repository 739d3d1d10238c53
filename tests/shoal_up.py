"""``shoal up`` as a real process, and the real OpenStack clients pointed at it.

::

    with ShoalUp.start(data_dir) as up:        # free ports; waits for "shoal is up"
        up.urls["identity"]                    # http://127.0.0.1:PORT/identity
        openstack(up, "token", "issue", "-f", "json")
    # leaving the block sends SIGTERM and waits for a clean exit

The clients live in ``.venv-clients`` (``scripts/clients-venv``, run by the test command;
``$SHOAL_CLIENTS_BIN`` names its bin directory).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pytest

from tests.shoal_cli import shoal_command

REPO = Path(__file__).resolve().parents[1]
FREE_PORTS = ("--port", "identity=0", "--port", "image=0", "--port", "volume=0",
              "--port", "compute=0")
_URL_LINE = re.compile(r"^  (identity|image|volume|compute)\s+(http://\S+)$")
READY_TIMEOUT_S = 60.0


@dataclass
class ShoalUp:
    """A running ``shoal up`` (see the module doc)."""

    proc: subprocess.Popen[str]
    data_dir: Path
    urls: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    ready_s: float = 0.0
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, data_dir: Path, *args: str, env: dict[str, str] | None = None,
              free_ports: bool = True) -> ShoalUp:
        """Start ``shoal --data-dir DATA_DIR up ARGS`` and wait until it is up.

        Fails the test (with the process's output) if it exits or is not up in time.
        """
        argv = [*shoal_command(), "--data-dir", str(data_dir), "up",
                *(FREE_PORTS if free_ports else ()), *args]
        environ = {**os.environ, **(env or {})}
        environ.pop("SHOAL_DATA_DIR", None)
        began = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=environ)
        up = cls(proc=proc, data_dir=data_dir)
        ready = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                up.lines.append(line)
                match = _URL_LINE.match(line)
                if match:
                    up.urls[match.group(1)] = match.group(2)
                if line.startswith("Stop with"):
                    up.ready_s = time.monotonic() - began
                    ready.set()
            ready.set()

        up._reader = threading.Thread(target=read, daemon=True)
        up._reader.start()
        if not ready.wait(READY_TIMEOUT_S) or proc.poll() is not None or len(up.urls) < 4:
            up.kill()
            pytest.fail("shoal up did not come up:\n" + up.output)
        return up

    @property
    def output(self) -> str:
        """Everything it printed so far (stdout and stderr)."""
        return "\n".join(self.lines)

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig``, wait for the exit; return the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"shoal up ignored signal {sig}:\n{self.output}")
        self._close()
        return code

    def _close(self) -> None:
        if self._reader is not None:
            self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()

    def __enter__(self) -> ShoalUp:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def token(up: ShoalUp, cloud: str = "shoal") -> str:
    """A token of ``cloud``'s user, issued by the real CLI."""
    result = openstack(up, "token", "issue", "-f", "value", "-c", "id", cloud=cloud)
    if result.returncode != 0:
        pytest.fail(f"openstack token issue failed: {result.stderr}")
    return result.stdout.strip()


def openrc_env(up: ShoalUp) -> dict[str, str]:
    """The ``OS_*`` variables ``up``'s openrc exports (for glance/cinder/nova clients)."""
    env: dict[str, str] = {}
    for line in (up.data_dir / "openrc").read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            env[name] = shlex.split(value)[0] if value else ""
    return env


def clients_bin() -> Path:
    """The bin directory of the real clients; fails the test when they are missing."""
    env = os.environ.get("SHOAL_CLIENTS_BIN")
    path = Path(env) if env else REPO / ".venv-clients" / "bin"
    if not (path / "openstack").exists():
        pytest.fail(f"the OpenStack clients are not installed in {path}: run "
                    f"`bash scripts/clients-venv` (the test command does)")
    return path


def client_env(up: ShoalUp, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment with only ``up``'s clouds.yaml (no stray ``OS_*``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(up.clouds_yaml)
    env.update(extra or {})
    return env


def run_client(up: ShoalUp, tool: str, *args: str, cloud: str | None = "shoal",
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one real client (``openstack``, ``cinder``, ``glance``, ``python``...)."""
    argv = [str(clients_bin() / tool)]
    if cloud is not None and tool == "openstack":
        argv += ["--os-cloud", cloud]
    return subprocess.run([*argv, *args], env=client_env(up, env), capture_output=True,
                          text=True, timeout=120, check=False)


def openstack(up: ShoalUp, *args: str, cloud: str = "shoal") -> subprocess.CompletedProcess[str]:
    """``openstack --os-cloud CLOUD ARGS`` against ``up``."""
    return run_client(up, "openstack", *args, cloud=cloud)


def sdk(up: ShoalUp, script: str, args: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run a Python ``script`` with openstacksdk importable, in the clients' venv."""
    return run_client(up, "python", "-c", script, *args, cloud=None)
