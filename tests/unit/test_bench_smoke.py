"""The benchmarks run on tiny parameters so they cannot rot (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from bench import bench_objstore


def test_bench_objstore_tiny(tmp_path: Path) -> None:
    out = bench_objstore.run(mib=8, rounds=1, base=tmp_path)
    assert set(out) >= {"write_ratio", "read_ratio"}
    assert all(v > 0 for v in out.values())


def test_bench_rbd_tiny(tmp_path: Path) -> None:
    from bench import bench_rbd

    out = bench_rbd.run(mib=8, ops=50, base=tmp_path, rounds=1)
    assert out["diff_extents"] == 100
    assert all(v > 0 for v in out.values())
