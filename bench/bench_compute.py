"""Servers through the compute API of ``shoal up`` (two compute hosts), side by side with
their references (issue 14).

1. **Server create → disk ready** (``POST /servers`` → ``ACTIVE``, before any hypervisor):
   from a ``--small-mib`` raw image of random data and from a ``--large-gib`` sparse raw
   image (zeros past its first MiB, stored thin), each with a flavor whose disk is the
   image's size; both disks are COW clones of ``images/<id>@snap``. Goal: the large one
   within 2x of the small one.
2. **Live migration** of a server whose disk is a clone of a ``--migrate-gib`` image full
   of data (``os-migrateLive`` → ``ACTIVE`` on the other host), against copying those bytes
   (``cp --reflink=never`` of a file holding the same data, then ``fsync``) on the same
   disk. Goal: the migration >= 100x faster (shared storage: no disk byte moves).

    .venv/bin/python bench/bench_compute.py [--small-mib 1024] [--large-gib 100]
        [--migrate-gib 10] [--repeats 5] [--dir DIR] [--json]

Each create figure is the median of ``--repeats`` servers (each deleted after, its disk
gone); the migration figure the median of ``--repeats`` migrations back and forth, the
copy's the median of 3.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

try:
    from bench import _up
except ModuleNotFoundError:  # run as a script: bench/ itself is on sys.path
    import _up  # type: ignore[no-redef]

MiB = 1 << 20
GiB = 1 << 30
PIECE = _up.PIECE
POLL_S = 0.02
TIMEOUT_S = 3600.0
#: The migrated image's data: one random block repeated (bytes).
BLOCK = 64 * MiB


def _full_pieces(total: int, copy: Path) -> Iterator[bytes]:
    """``total`` bytes of data (a random block repeated), also written to ``copy``."""
    block = os.urandom(BLOCK)
    with copy.open("wb") as f:
        sent = 0
        while sent < total:
            piece = block[:min(BLOCK, total - sent)]
            f.write(piece)
            for at in range(0, len(piece), PIECE):
                yield piece[at:at + PIECE]
            sent += len(piece)
        f.flush()
        os.fsync(f.fileno())


class Cloud:
    """The image and compute APIs of one ``shoal up`` run, as its admin."""

    def __init__(self, data_dir: Path) -> None:
        self.proc, self.urls = _up.start(data_dir)
        auth = _up.token(self.urls, data_dir)
        self.http = httpx.Client(timeout=TIMEOUT_S, headers={
            "X-Auth-Token": auth, "OpenStack-API-Version": "compute 2.79"})

    def image(self, name: str, size: int, pieces: Iterator[bytes]) -> str:
        made = self.http.post(self.urls["image"] + "/v2/images", json={
            "name": name, "disk_format": "raw", "container_format": "bare"})
        made.raise_for_status()
        image_id = str(made.json()["id"])
        put = self.http.put(f"{self.urls['image']}/v2/images/{image_id}/file", content=pieces,
                            headers={"Content-Type": "application/octet-stream",
                                     "Content-Length": str(size)})
        put.raise_for_status()
        return image_id

    def flavor(self, name: str, disk_gib: int) -> str:
        made = self.http.post(self.urls["compute"] + "/flavors", json={"flavor": {
            "name": name, "ram": 512, "vcpus": 1, "disk": disk_gib}})
        made.raise_for_status()
        return str(made.json()["flavor"]["id"])

    def server(self, image_id: str, flavor_id: str) -> str:
        made = self.http.post(self.urls["compute"] + "/servers", json={"server": {
            "name": "bench", "imageRef": image_id, "flavorRef": flavor_id,
            "networks": "none"}})
        made.raise_for_status()
        return str(made.json()["server"]["id"])

    def shown(self, server_id: str) -> dict[str, Any] | None:
        reply = self.http.get(f"{self.urls['compute']}/servers/{server_id}")
        if reply.status_code == 404:
            return None
        reply.raise_for_status()
        return dict(reply.json()["server"])

    def wait(self, server_id: str, status: str | None, host: str | None = None) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            shown = self.shown(server_id)
            if status is None and shown is None:
                return
            if shown is not None:
                if shown["status"] == "ERROR":
                    raise RuntimeError(f"server {server_id} failed: {shown.get('fault')}")
                if (shown["status"] == status and not shown["OS-EXT-STS:task_state"]
                        and host in (None, shown["OS-EXT-SRV-ATTR:host"])):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"server {server_id} stays {shown}")
            time.sleep(POLL_S)

    def delete(self, server_id: str) -> None:
        self.http.delete(f"{self.urls['compute']}/servers/{server_id}").raise_for_status()
        self.wait(server_id, None)

    def timed_create(self, image_id: str, flavor_id: str, repeats: int) -> float:
        """Median seconds from ``POST /servers`` to ``ACTIVE``."""
        took: list[float] = []
        for _ in range(repeats):
            began = time.perf_counter()
            server_id = self.server(image_id, flavor_id)
            self.wait(server_id, "ACTIVE")
            took.append(time.perf_counter() - began)
            self.delete(server_id)
        return statistics.median(took)

    def timed_migrations(self, server_id: str, repeats: int) -> float:
        """Median seconds of live migrations to the other host (back and forth)."""
        took: list[float] = []
        for _ in range(repeats):
            shown = self.shown(server_id)
            assert shown is not None
            target = "compute2" if shown["OS-EXT-SRV-ATTR:host"] == "compute1" else "compute1"
            began = time.perf_counter()
            self.http.post(f"{self.urls['compute']}/servers/{server_id}/action", json={
                "os-migrateLive": {"host": target, "block_migration": "auto"}}
            ).raise_for_status()
            self.wait(server_id, "ACTIVE", target)
            took.append(time.perf_counter() - began)
        return statistics.median(took)

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(60)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def _copy_s(source: Path, base: Path) -> float:
    """Seconds of ``cp --reflink=never`` of ``source`` (page cache dropped where allowed
    is not attempted: ``sync`` first), then ``fsync`` of the copy."""
    target = base / "copy.raw"
    os.sync()
    began = time.perf_counter()
    subprocess.run(["cp", "--reflink=never", str(source), str(target)], check=True)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    took = time.perf_counter() - began
    target.unlink()
    return took


def run(small_mib: int, large_gib: int, migrate_gib: int, repeats: int, base: Path
        ) -> dict[str, float]:
    """Every figure of the module docstring (seconds and ratios)."""
    data_dir = base / "shoal"
    Cloud(data_dir).stop()  # the first start writes the guide's configuration
    _up.configure(data_dir, "glance_store", "rbd_thin_provisioning", "True")
    _up.configure(data_dir, "shoal", "compute_hosts", "compute1,compute2")
    cloud = Cloud(data_dir)
    copy_source = base / "migrated.raw"
    try:
        small_gib = -(-small_mib * MiB // GiB)
        small = cloud.image("small", small_mib * MiB, _up.random_pieces(small_mib * MiB))
        large = cloud.image("large", large_gib * GiB, _up.sparse_pieces(large_gib * GiB))
        create_small = cloud.timed_create(small, cloud.flavor("b.small", small_gib), repeats)
        create_large = cloud.timed_create(large, cloud.flavor("b.large", large_gib), repeats)
        full = cloud.image("full", migrate_gib * GiB,
                           _full_pieces(migrate_gib * GiB, copy_source))
        server_id = cloud.server(full, cloud.flavor("b.full", migrate_gib))
        cloud.wait(server_id, "ACTIVE")
        migrate = cloud.timed_migrations(server_id, repeats)
        cloud.delete(server_id)
    finally:
        cloud.stop()
    copy = statistics.median(_copy_s(copy_source, base) for _ in range(3))
    return {"create_small_s": create_small, "create_large_s": create_large,
            "large_over_small": create_large / create_small,
            "live_migration_s": migrate, "copy_s": copy, "copy_over_migration": copy / migrate}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small-mib", type=int, default=1024)
    ap.add_argument("--large-gib", type=int, default=100)
    ap.add_argument("--migrate-gib", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="shoal-bench-compute-", dir=args.dir or "/var/tmp"))
    try:
        out = run(args.small_mib, args.large_gib, args.migrate_gib, args.repeats, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"server create -> ACTIVE: {args.small_mib} MiB image {out['create_small_s']:.3f} s"
          f", {args.large_gib} GiB sparse image {out['create_large_s']:.3f} s, ratio "
          f"{out['large_over_small']:.2f} (goal <= 2)")
    print(f"live migration {out['live_migration_s']:.3f} s vs copying {args.migrate_gib} GiB "
          f"{out['copy_s']:.2f} s: {out['copy_over_migration']:.0f}x (goal >= 100x)")


if __name__ == "__main__":
    main()
