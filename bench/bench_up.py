"""How long ``shoal up`` takes to be ready, against the bare API servers.

Side by side in one run, alternating: the reference is ``python -m shoal.api`` (the four
Starlette apps on uvicorn, version documents only: interpreter start, imports, binding);
``shoal up`` adds the configuration, cluster provisioning (pools, ``rbd pool init``,
users, keyrings), database migration and identity bootstrap. Both are timed from spawn to
their "listening" line, then stopped with SIGTERM. First start uses a fresh data directory
each round; "again" reuses one. Goal: ready in under 5 s.

    .venv/bin/python bench/bench_up.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHOAL = [str(Path(sys.executable).with_name("shoal"))]
FREE = ["--port", "identity=0", "--port", "image=0", "--port", "volume=0",
        "--port", "compute=0"]


def _time_until(argv: list[str], marker: str) -> float:
    """Seconds from spawn until a stdout line starts with ``marker``; then SIGTERM."""
    began = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith(marker):
                return time.monotonic() - began
        raise RuntimeError(f"{argv} exited before {marker!r}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        proc.stdout.close()


def run(rounds: int, base: Path) -> dict[str, float]:
    """Median seconds: ``bare``, ``first`` and ``again``, and the ratios to ``bare``."""
    bare: list[float] = []
    first: list[float] = []
    again: list[float] = []
    reused = base / "reused"
    _time_until([*SHOAL, "--data-dir", str(reused), "up", *FREE], "Stop with")
    for i in range(rounds):
        order = ["bare", "first", "again"] if i % 2 == 0 else ["again", "first", "bare"]
        for kind in order:
            if kind == "bare":
                bare.append(_time_until(
                    [sys.executable, "-m", "shoal.api", *FREE], "{"))
            elif kind == "first":
                fresh = base / f"fresh{i}"
                first.append(_time_until(
                    [*SHOAL, "--data-dir", str(fresh), "up", *FREE], "Stop with"))
            else:
                again.append(_time_until(
                    [*SHOAL, "--data-dir", str(reused), "up", *FREE], "Stop with"))
    out = {"bare_s": statistics.median(bare), "first_s": statistics.median(first),
           "again_s": statistics.median(again)}
    out["first_ratio"] = out["first_s"] / out["bare_s"]
    out["again_ratio"] = out["again_s"] / out["bare_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        out = run(args.rounds, Path(tmp))
    print(json.dumps({k: round(v, 3) for k, v in out.items()}, indent=2))


if __name__ == "__main__":
    main()
