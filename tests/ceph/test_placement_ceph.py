"""Object placement (:mod:`shoal.objstore._placement`) against the real cluster's answer.

``ceph osd map POOL OBJECT`` prints the object's raw placement seed (``raw_pgid``:
``<pool>.<rjenkins hash in hex>``) and its placement group (``pgid``: ``<pool>.<pg in
hex>``, the hash folded onto pg_num with ``ceph_stable_mod``). Both must match ours, for
powers of two and for a pg_num that is not one (where stable_mod folds the upper half).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shoal.objstore._placement import pg_of, rjenkins, stable_mod

from .conftest import mon_command

NAMES_PER_POOL = 300


def _names() -> list[str]:
    """Names of every length 0..40 bytes (lookup2 takes 12 bytes per round, so all tail
    lengths), RBD-style names, non-ASCII ones and random ones; fixed seed."""
    rng = random.Random(20261123)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
    names = ["x" * n for n in range(1, 41)]
    names += [f"rbd_data.{rng.getrandbits(48):012x}.{i:016x}" for i in range(40)]
    names += ["rbd_header.1234abcd", "rbd_directory", "rbd_id.volume-1", "rbd_children"]
    names += ["\u00fcnic\u00f6de", "\u9ec4\u6cb3", "fish \U0001f41f", "sp ace", "a/b"]
    while len(names) < NAMES_PER_POOL:
        length = rng.randint(1, 64)
        names.append("".join(rng.choice(alphabet) for _ in range(length)))
    return names


@pytest.fixture(scope="module", params=[8, 32, 12])
def pool_with_pg_num(
    request: pytest.FixtureRequest, rados_cluster: Any
) -> Iterator[tuple[str, int]]:
    pg_num = int(request.param)
    name = f"shoal-placement-{pg_num}-{uuid.uuid4().hex[:8]}"
    mon_command(
        rados_cluster,
        "osd pool create",
        pool=name,
        pg_num=pg_num,
        pgp_num=pg_num,
        autoscale_mode="off",
    )
    try:
        yield name, pg_num
    finally:
        mon_command(
            rados_cluster,
            "osd pool delete",
            pool=name,
            pool2=name,
            yes_i_really_really_mean_it=True,
        )


def _osd_map(cluster: Any, pool: str, name: str) -> tuple[int, int, int]:
    """(pool id, raw hash, pg) as the monitor computes them."""
    # ensure_ascii=False: the monitor's JSON parser turns a surrogate-pair escape
    # into CESU-8, i.e. another object name
    cmd = json.dumps(
        {"prefix": "osd map", "pool": pool, "object": name, "format": "json"}, ensure_ascii=False
    )
    ret, out, status = cluster.mon_command(cmd, b"", timeout=30)
    assert ret == 0, status
    doc = json.loads(out.decode("utf-8", "replace"))
    pool_id, raw = str(doc["raw_pgid"]).split(".")
    pool_id2, pg = str(doc["pgid"]).split(".")
    assert pool_id == pool_id2
    return int(pool_id), int(raw, 16), int(pg, 16)


def test_pg_of_matches_ceph(pool_with_pg_num: tuple[str, int], rados_cluster: Any) -> None:
    pool, pg_num = pool_with_pg_num
    detail = json.loads(mon_command(rados_cluster, "osd pool get", pool=pool, var="pg_num"))
    assert int(detail["pg_num"]) == pg_num  # the autoscaler did not change it
    mismatches = []
    used = set()
    for name in _names():
        _, raw, pg = _osd_map(rados_cluster, pool, name)
        ours_raw = rjenkins(name.encode("utf-8"))
        ours_pg = pg_of(name, pg_num)
        used.add(pg)
        if (ours_raw, ours_pg) != (raw, pg):
            mismatches.append((name, (raw, pg), (ours_raw, ours_pg)))
    assert mismatches == [], mismatches[:5]
    assert used == set(range(pg_num))  # the names reach every PG, so the fold is exercised


def test_stable_mod_folds_non_powers_of_two() -> None:
    """ceph_stable_mod on a known case: pg_num 12 has mask 15; 13..15 fold onto 5..7."""
    assert [stable_mod(x, 12) for x in range(16)] == [*range(12), 4, 5, 6, 7]
