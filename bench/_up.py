"""``shoal up`` for the benchmarks: start it on a data directory, log in as its admin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

__all__ = ["FREE_PORTS", "PIECE", "SHOAL", "configure", "random_pieces", "sparse_pieces",
           "start", "token"]

SHOAL = str(Path(sys.executable).with_name("shoal"))
FREE_PORTS = ["--port", "identity=0", "--port", "image=0", "--port", "volume=0",
              "--port", "compute=0"]


def start(data_dir: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start ``shoal up`` (free ports); the process and the printed endpoint URLs."""
    proc = subprocess.Popen([SHOAL, "--data-dir", str(data_dir), "up", *FREE_PORTS],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    urls: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.match(r"^  (\w+)\s+(http://\S+)$", line.rstrip())
        if match:
            urls[match.group(1)] = match.group(2)
        if line.startswith("Stop with"):
            return proc, urls
    raise RuntimeError("shoal up did not start")


def token(urls: dict[str, str], data_dir: Path) -> str:
    """A project-scoped token of the admin (its password from ``shoal.conf``)."""
    conf = (data_dir / "shoal.conf").read_text()
    password = re.search(r"^admin_password = (\S+)$", conf, re.M)
    assert password is not None
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password.group(1)}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    reply = httpx.post(urls["identity"] + "/v3/auth/tokens", json=body)
    reply.raise_for_status()
    return reply.headers["X-Subject-Token"]


MiB = 1 << 20
#: The pieces image data is sent in (bytes).
PIECE = 4 * MiB


def random_pieces(total: int) -> Iterator[bytes]:
    """``total`` bytes of random data, :data:`PIECE` at a time."""
    sent = 0
    while sent < total:
        n = min(PIECE, total - sent)
        yield os.urandom(n)
        sent += n


def sparse_pieces(total: int) -> Iterator[bytes]:
    """A first MiB of random data, then zeros (a thin store skips writing them)."""
    zeros = bytes(PIECE)
    yield os.urandom(MiB)
    sent = MiB
    while sent < total:
        n = min(PIECE, total - sent)
        yield zeros if n == PIECE else bytes(n)
        sent += n


def configure(data_dir: Path, section: str, key: str, value: str) -> None:
    """Set ``key = value`` in ``[section]`` of the data directory's ``shoal.conf``."""
    conf = data_dir / "shoal.conf"
    lines = [line for line in conf.read_text().splitlines()
             if not line.replace(" ", "").startswith(f"{key}=")]
    at = lines.index(f"[{section}]") + 1
    lines.insert(at, f"{key} = {value}")
    conf.write_text("\n".join(lines) + "\n")
