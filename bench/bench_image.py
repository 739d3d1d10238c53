"""Image upload and download through the Glance API of ``shoal up`` vs a plain file.

One run, side by side: the same bytes (random, ``--mib`` MiB) are
- written to a file in the same file system (``write`` + ``fsync``) and read back, and
- uploaded with ``PUT /v2/images/{id}/file`` (httpx, streamed in 1 MiB pieces, with a
  Content-Length) to ``shoal up`` on the embedded store (the guide's configuration:
  8 MiB objects, md5 + sha512 computed, snapshot protected), then downloaded with
  ``GET .../file`` (streamed).

Reads start from a cold page cache on both sides (``sync`` and
``/proc/sys/vm/drop_caches``, which needs root; without it both read warm and the output
says ``"cold": 0``): what is compared is getting the bytes off the disk.

Figures are throughput ratios (file time / API time); goal >= 0.7.

    .venv/bin/python bench/bench_image.py [--mib 1024] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

try:
    from bench import _up
except ModuleNotFoundError:  # run as a script: bench/ itself is on sys.path
    import _up  # type: ignore[no-redef]

MiB = 1 << 20
PIECE = MiB


def _pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), PIECE):
        yield bytes(view[start:start + PIECE])


_DROP = Path("/proc/sys/vm/drop_caches")


def drop_caches() -> bool:
    """Write dirty pages and drop the page cache; False when not permitted."""
    os.sync()
    try:
        _DROP.write_text("3\n")
    except OSError:
        return False
    return True


def _file_round(path: Path, data: bytes) -> tuple[float, float]:
    began = time.perf_counter()
    with open(path, "wb") as out:
        for piece in _pieces(data):
            out.write(piece)
        out.flush()
        os.fsync(out.fileno())
    wrote = time.perf_counter() - began
    drop_caches()
    began = time.perf_counter()
    total = 0
    with open(path, "rb") as src:
        while chunk := src.read(PIECE):
            total += len(chunk)
    read = time.perf_counter() - began
    assert total == len(data)
    return wrote, read


def _api_round(base: str, auth: str, data: bytes) -> tuple[float, float]:
    headers = {"X-Auth-Token": auth}
    with httpx.Client(timeout=600) as client:
        made = client.post(base + "/v2/images", headers=headers, json={
            "name": "bench", "disk_format": "raw", "container_format": "bare"})
        made.raise_for_status()
        url = f"{base}/v2/images/{made.json()['id']}/file"
        began = time.perf_counter()
        put = client.put(url, headers={**headers, "Content-Type": "application/octet-stream",
                                       "Content-Length": str(len(data))},
                         content=_pieces(data))
        wrote = time.perf_counter() - began
        put.raise_for_status()
        drop_caches()
        began = time.perf_counter()
        total = 0
        with client.stream("GET", url, headers=headers) as reply:
            reply.raise_for_status()
            for chunk in reply.iter_bytes(PIECE):
                total += len(chunk)
        read = time.perf_counter() - began
    assert total == len(data)
    return wrote, read


def run(mib: int, base: Path) -> dict[str, float]:
    """Seconds and ratios of one file round and one API round of ``mib`` MiB."""
    data = os.urandom(mib * MiB)
    file_write, file_read = _file_round(base / "plain.raw", data)
    (base / "plain.raw").unlink()
    data_dir = base / "shoal"
    proc, urls = _up.start(data_dir)
    try:
        api_write, api_read = _api_round(urls["image"], _up.token(urls, data_dir), data)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        assert proc.stdout is not None
        proc.stdout.close()
    return {"file_write_s": file_write, "file_read_s": file_read, "api_upload_s": api_write,
            "api_download_s": api_read, "upload_ratio": file_write / api_write,
            "download_ratio": file_read / api_read,
            "upload_mib_s": mib / api_write, "download_mib_s": mib / api_read,
            "cold": float(drop_caches())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-image-", dir=args.dir) as tmp:
        out = run(args.mib, Path(tmp))
    print(json.dumps({k: round(v, 3) for k, v in out.items()}, indent=2))


if __name__ == "__main__":
    main()
