"""What the driver asks the monitors: monitor addresses and pool capacity.

Both go through the session's ``mon_command`` (JSON output), so they work alike on
the embedded cluster (one monitor at ``127.0.0.1:6789``; capacity from the data
directory's filesystem) and on Ceph. The driver's user needs ``mon 'allow r'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shoal import errors
from shoal.cluster import Session

__all__ = ["PoolCapacity", "mon_addresses", "parse_mon_addr", "pool_capacity"]

GiB = 1 << 30


def parse_mon_addr(addr: str) -> tuple[str, str]:
    """``"ip:port/nonce"`` (IPv6 in brackets) as ``(host, port)``, brackets stripped.

    Raises:
        errors.InvalidArgument: no ``host:port`` in ``addr``.
    """
    text = addr.strip()
    if text.startswith(("v1:", "v2:")):
        text = text[3:]
    hostport = text.rsplit("/", 1)[0] if "/" in text else text
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise errors.InvalidArgument(f"not a monitor address: {addr!r}")
    return host.strip("[]"), port


def mon_addresses(session: Session) -> tuple[list[str], list[str]]:
    """``(hosts, ports)`` of the monitors, as ``ceph mon dump --format=json`` lists
    them (each monitor's legacy ``addr``); ports are strings, as Cinder gives them.

    Raises:
        errors.ShoalError: the command failed (e.g. EACCES: no mon caps) or its
            reply does not parse.
    """
    dump = session.mon_command({"prefix": "mon dump", "format": "json"}).json()
    if not isinstance(dump, dict) or not isinstance(dump.get("mons"), list):
        raise errors.InvalidArgument("mon dump: unexpected reply")
    hosts: list[str] = []
    ports: list[str] = []
    for mon in dump["mons"]:
        addr = mon.get("addr") if isinstance(mon, dict) else None
        if not isinstance(addr, str):
            raise errors.InvalidArgument(f"mon dump: a monitor without addr: {mon!r}")
        host, port = parse_mon_addr(addr)
        hosts.append(host)
        ports.append(port)
    return hosts, ports


@dataclass(frozen=True)
class PoolCapacity:
    """A pool's capacity as Cinder reports it (bytes).

    Attributes:
        total: the quota if the pool has one, else the cluster's raw size; with
            dynamic totals, ``free + used``.
        free: with a quota, ``max(min(quota - used, max_avail), 0)``; else the
            pool's ``max_avail``.
        used: the bytes stored in the pool (``stored``: before replication).
    """

    total: int
    free: int
    used: int

    @property
    def total_gib(self) -> float:
        return round(self.total / GiB, 2)

    @property
    def free_gib(self) -> float:
        return round(self.free / GiB, 2)


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.InvalidArgument(f"{what}: not a number: {value!r}")
    return int(value)


def pool_capacity(session: Session, pool: str, *, dynamic_total: bool) -> PoolCapacity:
    """The capacity of ``pool`` from ``df`` and ``osd pool get-quota`` (see
    :class:`PoolCapacity`).

    Raises:
        errors.ShoalError: a command failed, the pool is not in ``df``, or a reply
            does not parse.
    """
    df = session.mon_command({"prefix": "df", "format": "json"}).json()
    quota = session.mon_command(
        {"prefix": "osd pool get-quota", "pool": pool, "format": "json"}).json()
    if not isinstance(df, dict) or not isinstance(quota, dict):
        raise errors.InvalidArgument("df / osd pool get-quota: unexpected reply")
    entries = [p for p in df.get("pools", []) if isinstance(p, dict) and p.get("name") == pool]
    if not entries:
        raise errors.NotFound(f"pool '{pool}' is not in df's reply")
    stats = entries[0].get("stats", {})
    used = _int(stats.get("stored", stats.get("bytes_used")), "stored")
    max_avail = _int(stats.get("max_avail"), "max_avail")
    quota_bytes = _int(quota.get("quota_max_bytes", 0), "quota_max_bytes")
    if quota_bytes:
        total = quota_bytes
        free = max(min(quota_bytes - used, max_avail), 0)
    else:
        total = _int(df.get("stats", {}).get("total_bytes"), "total_bytes")
        free = max_avail
    if dynamic_total:
        total = free + used
    return PoolCapacity(total=total, free=free, used=used)


