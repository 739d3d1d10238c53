"""Object placement: Ceph's rjenkins string hash and ``stable_mod`` onto PGs.

``pg_of(name, pg_num)`` gives the placement group an object name falls in, the
way RADOS computes it for a pool with ``object_hash rjenkins`` (namespaces are
not hashed in here; the local store keeps namespaces apart by file digest).
"""

from __future__ import annotations

import functools
import hashlib

__all__ = ["file_digest", "pg_of", "rjenkins", "stable_mod"]

_M32 = 0xFFFFFFFF


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = ((a - b - c) & _M32) ^ (c >> 13)
    b = ((b - c - a) & _M32) ^ ((a << 8) & _M32)
    c = ((c - a - b) & _M32) ^ (b >> 13)
    a = ((a - b - c) & _M32) ^ (c >> 12)
    b = ((b - c - a) & _M32) ^ ((a << 16) & _M32)
    c = ((c - a - b) & _M32) ^ (b >> 5)
    a = ((a - b - c) & _M32) ^ (c >> 3)
    b = ((b - c - a) & _M32) ^ ((a << 10) & _M32)
    c = ((c - a - b) & _M32) ^ (b >> 15)
    return a, b, c


def rjenkins(data: bytes) -> int:
    """Bob Jenkins' 32-bit lookup2 hash with Ceph's seeds (``ceph_str_hash_rjenkins``)."""
    a = b = 0x9E3779B9
    c = 0
    k = data
    n = len(k)
    pos = 0
    while n - pos >= 12:
        a = (a + int.from_bytes(k[pos : pos + 4], "little")) & _M32
        b = (b + int.from_bytes(k[pos + 4 : pos + 8], "little")) & _M32
        c = (c + int.from_bytes(k[pos + 8 : pos + 12], "little")) & _M32
        a, b, c = _mix(a, b, c)
        pos += 12
    tail = k[pos:]
    c = (c + n) & _M32
    # The last byte of c is reserved for the length, so tail bytes 8..10 go 8 bits up.
    a = (a + int.from_bytes(tail[0:4], "little")) & _M32
    b = (b + int.from_bytes(tail[4:8], "little")) & _M32
    c = (c + (int.from_bytes(tail[8:11], "little") << 8)) & _M32
    a, b, c = _mix(a, b, c)
    return c


def stable_mod(x: int, b: int) -> int:
    """Ceph's ``ceph_stable_mod``: map x onto [0, b) so that growing b moves few values."""
    assert b >= 1
    bmask = (1 << (b - 1).bit_length()) - 1
    return x & bmask if (x & bmask) < b else x & (bmask >> 1)


@functools.lru_cache(maxsize=65536)
def pg_of(name: str, pg_num: int) -> int:
    """Placement group of object ``name`` in a pool of ``pg_num`` PGs."""
    return stable_mod(rjenkins(name.encode("utf-8", "surrogatepass")), pg_num)


@functools.lru_cache(maxsize=65536)
def file_digest(namespace: str, name: str) -> str:
    """A fixed-length, path-safe file stem for an object (never the raw name)."""
    raw = namespace.encode("utf-8", "surrogatepass") + b"\0" + name.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(raw, digest_size=16).hexdigest()
