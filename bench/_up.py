"""``shoal up`` for the benchmarks: start it on a data directory, log in as its admin."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

__all__ = ["FREE_PORTS", "SHOAL", "start", "token"]

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
