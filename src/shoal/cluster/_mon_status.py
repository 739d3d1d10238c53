"""Cluster-wide mon commands: ``fsid``, ``health``, ``status``, ``mon dump``, ``df``.

The embedded cluster is one monitor (``mon.a`` at ``127.0.0.1``, v2 port 3300 and
v1 port 6789 as a vstart cluster's) and one OSD (the data directory's object
store), always ``HEALTH_OK``. Capacity comes from the data directory's
filesystem (``statvfs``): SIZE is its size, AVAIL what unprivileged users may
still write, RAW USED everything used on it (shoal's data and anything else),
USED the bytes stored in pools. A pool's MAX AVAIL is AVAIL less the 5 % Ceph
keeps back (``mon_osd_full_ratio`` 0.95), as every pool has size 1.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from shoal.cluster._base import MonResult
from shoal.cluster._format import (
    Align,
    TextTable,
    byte_u,
    dump,
    percentify,
    si_u,
    utime_gmt,
    utime_local,
)
from shoal.cluster._mon import Args, MonContext, handler, ok, reply
from shoal.objstore import PoolInfo, PoolStats

__all__ = ["MON_ADDRS", "MON_NAME"]

MON_NAME = "a"
#: (type, "ip:port") of the one monitor, as ``mon dump`` reports it.
MON_ADDRS = (("v2", "127.0.0.1:3300"), ("v1", "127.0.0.1:6789"))
_FULL_RATIO = 0.95
_PERSISTENT_FEATURES = ["kraken", "luminous", "mimic", "osdmap-prune", "nautilus", "octopus",
                        "pacific", "elector-pinging"]


@handler("fsid")
def _fsid(ctx: MonContext, args: Args) -> MonResult:
    fsid = ctx.layout.fsid()
    return reply(ctx, {"fsid": fsid}, fsid)


@handler("health")
def _health(ctx: MonContext, args: Args) -> MonResult:
    return reply(ctx, {"status": "HEALTH_OK", "checks": {}, "mutes": []}, "HEALTH_OK\n")


# --- usage ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Usage:
    total: int
    avail: int
    pools: list[tuple[PoolInfo, PoolStats]]

    @property
    def raw_used(self) -> int:
        return max(0, self.total - self.avail)

    @property
    def stored(self) -> int:
        return sum(stats.stored_bytes for _, stats in self.pools)

    @property
    def objects(self) -> int:
        return sum(stats.objects for _, stats in self.pools)

    @property
    def pgs(self) -> int:
        return sum(pool.pg_num for pool, _ in self.pools)

    @property
    def max_avail(self) -> int:
        return max(0, int(self.avail - self.total * (1 - _FULL_RATIO)))


def _usage(ctx: MonContext) -> _Usage:
    st = os.statvfs(ctx.layout.root)
    pools = [(p, ctx.store.pool_stats(p.name)) for p in ctx.store.list_pools()]
    return _Usage(st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize, pools)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


# --- status -------------------------------------------------------------------------


def _status_plain(fsid: str, usage: _Usage) -> str:
    lines = [
        "  cluster:", f"    id:     {fsid}", "    health: HEALTH_OK", " ",
        "  services:", f"    mon: 1 daemons, quorum {MON_NAME}", "    osd: 1 osds: 1 up, 1 in",
        " ", "  data:", f"    pools:   {len(usage.pools)} pools, {usage.pgs} pgs",
        f"    objects: {si_u(usage.objects)} objects, {byte_u(usage.stored)}",
        f"    usage:   {byte_u(usage.raw_used)} used, {byte_u(usage.avail)} / "
        f"{byte_u(usage.total)} avail",
    ]
    if usage.pgs:
        lines.append(f"    pgs:     {usage.pgs} active+clean")
    return "".join(line + "\n" for line in [*lines, " "])


def _status_json(ctx: MonContext, fsid: str, usage: _Usage) -> dict[str, object]:
    return {
        "fsid": fsid,
        "health": {"status": "HEALTH_OK", "checks": {}, "mutes": []},
        "election_epoch": 1, "quorum": [0], "quorum_names": [MON_NAME], "quorum_age": 0,
        "monmap": {"epoch": 1, "min_mon_release_name": "pacific", "num_mons": 1},
        "osdmap": {"epoch": ctx.db.osdmap_epoch(), "num_osds": 1, "num_up_osds": 1,
                   "num_in_osds": 1, "num_remapped_pgs": 0},
        "pgmap": {
            "pgs_by_state": [{"state_name": "active+clean", "count": usage.pgs}]
            if usage.pgs else [],
            "num_pgs": usage.pgs, "num_pools": len(usage.pools), "num_objects": usage.objects,
            "data_bytes": usage.stored, "bytes_used": usage.raw_used,
            "bytes_avail": usage.avail, "bytes_total": usage.total,
        },
    }


@handler("status")
def _status(ctx: MonContext, args: Args) -> MonResult:
    fsid = ctx.layout.fsid()
    usage = _usage(ctx)
    return reply(ctx, _status_json(ctx, fsid, usage), _status_plain(fsid, usage))


# --- mon dump -------------------------------------------------------------------------


def _created(ctx: MonContext) -> float:
    value = ctx.db.get_value("created")
    return float(value) if value else time.time()


def _addrvec() -> str:
    return "[" + ",".join(f"{kind}:{addr}/0" for kind, addr in MON_ADDRS) + "]"


def _monmap_json(fsid: str, created: float) -> dict[str, object]:
    legacy = f"{MON_ADDRS[-1][1]}/0"
    mon = {
        "rank": 0, "name": MON_NAME,
        "public_addrs": {"addrvec": [
            {"type": kind, "addr": addr, "nonce": 0} for kind, addr in MON_ADDRS
        ]},
        "addr": legacy, "public_addr": legacy, "priority": 0, "weight": 0,
        "crush_location": "{}",
    }
    return {
        "epoch": 1, "fsid": fsid, "modified": utime_gmt(created), "created": utime_gmt(created),
        "min_mon_release": 16, "min_mon_release_name": "pacific", "election_strategy": 1,
        "disallowed_leaders: ": "", "stretch_mode": False, "tiebreaker_mon": "",
        "features": {"persistent": _PERSISTENT_FEATURES, "optional": []},
        "mons": [mon], "quorum": [0],
    }


@handler("mon dump")
def _mon_dump(ctx: MonContext, args: Args) -> MonResult:
    fsid = ctx.layout.fsid()
    created = _created(ctx)
    plain = (
        f"epoch 1\nfsid {fsid}\nlast_changed {utime_local(created)}\n"
        f"created {utime_local(created)}\nmin_mon_release 16 (pacific)\n"
        f"election_strategy: 1\n0: {_addrvec()} mon.{MON_NAME}\n"
    )
    return reply(ctx, _monmap_json(fsid, created), plain, "dumped monmap epoch 1")


# --- df -----------------------------------------------------------------------------


def _df_plain(usage: _Usage) -> str:
    raw = TextTable()
    for heading in ("CLASS", "SIZE", "AVAIL", "USED", "RAW USED", "%RAW USED"):
        align: Align = "left" if heading == "CLASS" else "right"
        raw.define_column(heading, align, align)
    raw.add_row("TOTAL", byte_u(usage.total), byte_u(usage.avail), byte_u(usage.stored),
                byte_u(usage.raw_used), percentify(_ratio(usage.raw_used, usage.total) * 100))
    pools = TextTable()
    for heading in ("POOL", "ID", "PGS", "STORED", "OBJECTS", "USED", "%USED", "MAX AVAIL"):
        align = "left" if heading == "POOL" else "right"
        pools.define_column(heading, align, align)
    for pool, stats in usage.pools:
        used = _ratio(stats.stored_bytes, stats.stored_bytes + usage.max_avail)
        pools.add_row(pool.name, pool.id, pool.pg_num, byte_u(stats.stored_bytes),
                      si_u(stats.objects), byte_u(stats.stored_bytes), percentify(used * 100),
                      byte_u(usage.max_avail))
    return "--- RAW STORAGE ---\n" + raw.render() + "\n--- POOLS ---\n" + pools.render()


def _df_json(usage: _Usage) -> dict[str, object]:
    pools = []
    for pool, stats in usage.pools:
        pools.append({"name": pool.name, "id": pool.id, "stats": {
            "stored": stats.stored_bytes, "objects": stats.objects,
            "kb_used": -(-stats.stored_bytes // 1024), "bytes_used": stats.stored_bytes,
            "percent_used": _ratio(stats.stored_bytes, stats.stored_bytes + usage.max_avail),
            "max_avail": usage.max_avail,
        }})
    return {
        "stats": {
            "total_bytes": usage.total, "total_avail_bytes": usage.avail,
            "total_used_bytes": usage.stored, "total_used_raw_bytes": usage.raw_used,
            "total_used_raw_ratio": _ratio(usage.raw_used, usage.total), "num_osds": 1,
            "num_per_pool_osds": 1, "num_per_pool_omap_osds": 1,
        },
        "stats_by_class": {},
        "pools": pools,
    }


@handler("df")
def _df(ctx: MonContext, args: Args) -> MonResult:
    usage = _usage(ctx)
    if ctx.json:
        # Ceph 16 adds a newline after df's compact JSON (json-pretty has its own)
        return ok(dump(_df_json(usage), ctx.fmt) + (b"\n" if ctx.fmt == "json" else b""))
    return ok(_df_plain(usage))
