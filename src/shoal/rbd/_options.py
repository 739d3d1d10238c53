"""librbd client options (ceph.conf ``[client]``), with Ceph's defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shoal import errors, limits
from shoal.rbd._features import FEATURES_DEFAULT, parse_features

__all__ = ["RbdOptions"]

MiB = 1 << 20
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _bool(name: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise errors.InvalidArgument(f"{name} = {raw!r}: expected true or false")


def _int(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise errors.InvalidArgument(f"{name} = {raw!r}: expected an integer") from None


@dataclass(frozen=True)
class RbdOptions:
    """What librbd reads from ``[client]``; defaults are Ceph 16's.

    - ``rbd cache`` (True) / ``rbd cache writethrough until flush`` (True):
      write-back caching per image handle once the first flush was seen;
      ``rbd cache max dirty`` (24 MiB) bounds the dirty bytes (0 = write-through).
    - ``rbd default features`` (61), ``rbd default order`` (22),
      ``rbd default stripe unit`` / ``count`` (0 = object size / 1).
    - ``rbd concurrent management ops`` (10): accepted (the guide sets 20).
    - ``rbd discard granularity bytes`` (64 KiB): discards free whole granules
      only (capped at the object size); a power of two from 4 KiB to 32 MiB.
    """

    default_features: int = FEATURES_DEFAULT
    default_order: int = limits.rbd_order_default
    default_stripe_unit: int = 0
    default_stripe_count: int = 0
    cache: bool = True
    cache_writethrough_until_flush: bool = True
    cache_max_dirty: int = 24 * MiB
    concurrent_management_ops: int = 10
    discard_granularity_bytes: int = 64 * 1024
    entity: str = "client.admin"

    @classmethod
    def from_conf(
        cls, get: Callable[[str], str | None], entity: str = "client.admin"
    ) -> RbdOptions:
        """Build from a lookup of normalized option names (``rbd_cache`` …) in ``[client]``."""
        kw: dict[str, object] = {"entity": entity}
        if (raw := get("rbd_default_features")) is not None:
            kw["default_features"] = parse_features(raw)
        for key, attr in (
            ("rbd_default_order", "default_order"),
            ("rbd_default_stripe_unit", "default_stripe_unit"),
            ("rbd_default_stripe_count", "default_stripe_count"),
            ("rbd_cache_max_dirty", "cache_max_dirty"),
            ("rbd_concurrent_management_ops", "concurrent_management_ops"),
            ("rbd_discard_granularity_bytes", "discard_granularity_bytes"),
        ):
            if (raw := get(key)) is not None:
                kw[attr] = _int(key, raw)
        for key, attr in (
            ("rbd_cache", "cache"),
            ("rbd_cache_writethrough_until_flush", "cache_writethrough_until_flush"),
        ):
            if (raw := get(key)) is not None:
                kw[attr] = _bool(key, raw)
        opts = cls(**kw)  # type: ignore[arg-type]
        if not limits.rbd_order_min <= opts.default_order <= limits.rbd_order_max:
            raise errors.InvalidArgument(f"rbd_default_order = {opts.default_order}: 12..25")
        g = opts.discard_granularity_bytes
        if not 4096 <= g <= 32 * MiB or g & (g - 1):
            raise errors.InvalidArgument(
                f"rbd_discard_granularity_bytes = {g}: a power of two, 4096..33554432"
            )
        if opts.cache_max_dirty < 0:
            raise errors.InvalidArgument("rbd_cache_max_dirty must be >= 0")
        return opts
