"""Volumes through the Cinder API of ``shoal up``, side by side with their references.

One run, three comparisons (issue 12):

1. **Volume from an image**, ``POST /volumes`` → ``available``: from a ``--small-mib`` image
   of random data and from a ``--large-gib`` sparse image (zeros past its first MiB, stored
   thin: ``rbd_thin_provisioning = True``), both COW clones of ``images/<id>@snap``.
   Goal: the large one within 2x of the small one.
2. **The download path** on the same small image: ``show_image_direct_url = False`` (Glance
   then hides the location, so the volume is made by streaming the image and importing it,
   as Cinder does). Goal: the clone >= 50x faster than that.
3. **Create-and-delete throughput** (a 1 GiB blank volume made, ``available``, deleted,
   gone) at concurrency 1 and 8, against the API's version document (``GET /volume/v3/``)
   at the same concurrency as the reference: operations per second and their ratio.

    .venv/bin/python bench/bench_volume.py [--small-mib 1024] [--large-gib 100] [--ops 16]
        [--repeats 5]

Each timed figure is the median of ``--repeats`` volumes (the download path: half as many),
after one blank volume warms the server up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


class Cloud:
    """The image and volume APIs of one ``shoal up`` run, as its admin."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc, self.urls = _up.start(data_dir)
        auth = _up.token(self.urls, data_dir)
        self.http = httpx.Client(timeout=TIMEOUT_S, headers={"X-Auth-Token": auth})

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

    def volume(self, size_gib: int, image_id: str | None = None) -> str:
        body: dict[str, Any] = {"size": size_gib}
        if image_id is not None:
            body["imageRef"] = image_id
        made = self.http.post(self.urls["volume"] + "/volumes", json={"volume": body})
        made.raise_for_status()
        return str(made.json()["volume"]["id"])

    def status(self, volume_id: str) -> str | None:
        shown = self.http.get(f"{self.urls['volume']}/volumes/{volume_id}")
        if shown.status_code == 404:
            return None
        shown.raise_for_status()
        return str(shown.json()["volume"]["status"])

    def wait(self, volume_id: str, wanted: str | None) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while (status := self.status(volume_id)) != wanted:
            if status is not None and status.startswith("error"):
                raise RuntimeError(f"volume {volume_id} went {status}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"volume {volume_id} stays {status}")
            time.sleep(POLL_S)

    def timed_volume(self, size_gib: int, image_id: str, repeats: int) -> float:
        """Median seconds from ``POST /volumes`` to ``available`` over ``repeats`` volumes,
        each deleted after (a blank volume made and deleted first, so that the first
        request's warm-up is not in the figure)."""
        self.create_delete()
        took: list[float] = []
        for _ in range(repeats):
            began = time.perf_counter()
            volume_id = self.volume(size_gib, image_id)
            self.wait(volume_id, "available")
            took.append(time.perf_counter() - began)
            self.http.delete(f"{self.urls['volume']}/volumes/{volume_id}").raise_for_status()
            self.wait(volume_id, None)
        return statistics.median(took)

    def create_delete(self) -> None:
        volume_id = self.volume(1)
        self.wait(volume_id, "available")
        self.http.delete(f"{self.urls['volume']}/volumes/{volume_id}").raise_for_status()
        self.wait(volume_id, None)

    def version_document(self) -> None:
        self.http.get(self.urls["volume"] + "/").raise_for_status()

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(60)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def _rate(work: Any, ops: int, concurrency: int) -> float:
    """Operations per second of ``ops`` calls of ``work`` on ``concurrency`` threads."""
    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for done in [pool.submit(work) for _ in range(ops)]:
            done.result()
    return ops / (time.perf_counter() - began)


def run(small_mib: int, large_gib: int, ops: int, repeats: int, base: Path
        ) -> dict[str, float]:
    """Every figure of the module docstring (seconds, operations per second, ratios)."""
    data_dir = base / "shoal"
    Cloud(data_dir).stop()  # the first start writes the guide's configuration
    # thin provisioning, so that the sparse image's zeros are not written (glance_store)
    _up.configure(data_dir, "glance_store", "rbd_thin_provisioning", "True")
    cloud = Cloud(data_dir)
    try:
        small = cloud.image("small", small_mib * MiB, _up.random_pieces(small_mib * MiB))
        large = cloud.image("large", large_gib * GiB, _up.sparse_pieces(large_gib * GiB))
        small_gib = -(-small_mib * MiB // GiB)
        clone_small = cloud.timed_volume(small_gib, small, repeats)
        clone_large = cloud.timed_volume(large_gib, large, repeats)
        rates: dict[str, float] = {}
        for concurrency in (1, 8):
            rates[f"create_delete_c{concurrency}_ops_s"] = _rate(cloud.create_delete, ops,
                                                                 concurrency)
            rates[f"version_doc_c{concurrency}_ops_s"] = _rate(cloud.version_document,
                                                               ops * 20, concurrency)
    finally:
        cloud.stop()
    _up.configure(data_dir, "glance_store", "show_image_direct_url", "False")
    cloud = Cloud(data_dir)
    try:
        download_small = cloud.timed_volume(small_gib, small, max(1, repeats // 2))
    finally:
        cloud.stop()
    return {
        "clone_small_s": clone_small, "clone_large_s": clone_large,
        "download_small_s": download_small,
        "large_over_small": clone_large / clone_small,
        "download_over_clone": download_small / clone_small,
        **rates,
        "create_delete_c1_vs_doc": rates["create_delete_c1_ops_s"]
        / rates["version_doc_c1_ops_s"],
        "create_delete_c8_vs_doc": rates["create_delete_c8_ops_s"]
        / rates["version_doc_c8_ops_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-mib", type=int, default=1024)
    parser.add_argument("--large-gib", type=int, default=100)
    parser.add_argument("--ops", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5,
                        help="volumes per timed figure (the median is reported)")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-volume-", dir=args.dir) as tmp:
        out = run(args.small_mib, args.large_gib, args.ops, args.repeats, Path(tmp))
    print(json.dumps({k: round(v, 4) for k, v in out.items()}, indent=2))


if __name__ == "__main__":
    main()
