"""The benchmarks run on tiny parameters so they cannot rot (no timing asserted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
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


def test_bench_backends_tiny(tmp_path: Path) -> None:
    """The side-by-side bench end to end, with the embedded engine in both columns (the
    Ceph column needs a cluster: ``bench/bench_backends.py`` starts one by itself)."""
    import json

    from bench import bench_backends

    params = bench_backends.Params(mib=8, ops=50, rand_mib=8, diff_gib=1, rounds=1,
                                   clones=1, diff_changed=10)
    out = bench_backends.run(params, tmp_path, ceph=False)
    assert [row["key"] for row in out["rows"]] == [row.key for row in bench_backends.ROWS]
    assert all(row["embedded"] > 0 and row["ceph"] > 0 for row in out["rows"])
    assert all(row["ratio"] == row["embedded"] / row["ceph"] for row in out["rows"])
    table = bench_backends.render(out["rows"], "tiny")
    assert len(table.splitlines()) == 3 + len(bench_backends.ROWS)
    assert "emb÷ceph" in table
    assert json.loads(json.dumps(out))["params"]["ops"] == 50
    assert list(tmp_path.iterdir()) == []  # both stores removed


def test_bench_up_tiny(tmp_path: Path) -> None:
    from bench import bench_up

    out = bench_up.run(rounds=1, base=tmp_path)
    assert set(out) == {"bare_s", "first_s", "again_s", "first_ratio", "again_ratio"}
    assert all(v > 0 for v in out.values())


def test_bench_image_tiny(tmp_path: Path) -> None:
    from bench import bench_image

    out = bench_image.run(mib=4, base=tmp_path)
    assert out["upload_ratio"] > 0 and out["download_ratio"] > 0
    assert out["api_upload_s"] > 0 and out["api_download_s"] > 0


def test_bench_image_list_tiny(tmp_path: Path) -> None:
    from bench import bench_image_list

    out = bench_image_list.run(count=40, rounds=1, base=tmp_path)
    assert out["images"] == 40 and out["listed"] > 0
    assert all(out[f"{case}_ratio"] > 0 for case in ("first_page", "filtered_page", "walk_all"))


def test_bench_backup_tiny(tmp_path: Path) -> None:
    from bench import bench_backup

    out = bench_backup.run(size_gib=1, data_bytes=16 << 20, repeats=2, base=tmp_path)
    assert out["layout"].startswith("4 pieces of 4 MiB random data, one every 256 MiB")
    assert out["restore_method"] == "diff"
    assert len(out["runs"]) == 2
    assert all(out[k] > 0 for k in ("full_over_cp", "incr_over_full", "restore_over_write"))
    assert "bytes verified" in bench_backup.render(out)


def test_bench_backup_wrong_restore_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """A restore that leaves one wrong byte stops the bench."""
    from bench import bench_backup

    import shoal.rbd as rbd
    from shoal.services.backup.driver import CephBackupDriver

    restore = CephBackupDriver.restore

    def corrupting(self: CephBackupDriver, backup: Any, volume_id: str, volume_pool: str,
                   *args: Any, **kwargs: Any) -> Any:
        done = restore(self, backup, volume_id, volume_pool, *args, **kwargs)
        with rbd.Image(self.source_session.open_ioctx(volume_pool), f"volume-{volume_id}") as img:
            img.write(bytes([img.read(5, 1)[0] ^ 1]), 5)
        return done

    monkeypatch.setattr(CephBackupDriver, "restore", corrupting)
    with pytest.raises(bench_backup.RestoreMismatch):
        bench_backup.run(size_gib=1, data_bytes=8 << 20, repeats=1, base=tmp_path)
