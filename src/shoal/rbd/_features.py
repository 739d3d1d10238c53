"""RBD feature bits and names (``features.h``), parsing and dependency rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from shoal import errors

__all__ = [
    "FEATURES_DEFAULT",
    "FEATURES_MUTABLE",
    "FEATURES_SUPPORTED",
    "FEATURE_DATA_POOL",
    "FEATURE_DEEP_FLATTEN",
    "FEATURE_EXCLUSIVE_LOCK",
    "FEATURE_FAST_DIFF",
    "FEATURE_JOURNALING",
    "FEATURE_LAYERING",
    "FEATURE_OBJECT_MAP",
    "FEATURE_STRIPINGV2",
    "check_features",
    "feature_names",
    "parse_features",
]

FEATURE_LAYERING: Final = 1
FEATURE_STRIPINGV2: Final = 2
FEATURE_EXCLUSIVE_LOCK: Final = 4
FEATURE_OBJECT_MAP: Final = 8
FEATURE_FAST_DIFF: Final = 16
FEATURE_DEEP_FLATTEN: Final = 32
FEATURE_JOURNALING: Final = 64
FEATURE_DATA_POOL: Final = 128
FEATURE_OPERATIONS: Final = 256
FEATURE_MIGRATING: Final = 512

_NAMES: Final = {
    FEATURE_LAYERING: "layering",
    FEATURE_STRIPINGV2: "striping",
    FEATURE_EXCLUSIVE_LOCK: "exclusive-lock",
    FEATURE_OBJECT_MAP: "object-map",
    FEATURE_FAST_DIFF: "fast-diff",
    FEATURE_DEEP_FLATTEN: "deep-flatten",
    FEATURE_JOURNALING: "journaling",
    FEATURE_DATA_POOL: "data-pool",
    FEATURE_OPERATIONS: "operations",
    FEATURE_MIGRATING: "migrating",
}
_BY_NAME: Final = {v: k for k, v in _NAMES.items()}

#: ``rbd_default_features`` = 61.
FEATURES_DEFAULT: Final = (
    FEATURE_LAYERING
    | FEATURE_EXCLUSIVE_LOCK
    | FEATURE_OBJECT_MAP
    | FEATURE_FAST_DIFF
    | FEATURE_DEEP_FLATTEN
)
#: What the embedded engine implements (no journaling/data pool/migration).
FEATURES_SUPPORTED: Final = FEATURES_DEFAULT | FEATURE_STRIPINGV2
#: May be toggled on an existing image (deep-flatten may only be disabled).
FEATURES_MUTABLE: Final = FEATURE_EXCLUSIVE_LOCK | FEATURE_OBJECT_MAP | FEATURE_FAST_DIFF
assert FEATURES_DEFAULT == 61


def feature_names(features: int) -> list[str]:
    """Names in bit order, as ``rbd info`` prints them."""
    return [name for bit, name in sorted(_NAMES.items()) if features & bit]


def parse_features(spec: str | int | Iterable[str]) -> int:
    """Accept an integer, "61", "layering,exclusive-lock" or a list of names."""
    if isinstance(spec, int):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        if text.isdigit():
            return int(text)
        names = [n.strip() for n in text.split(",") if n.strip()]
    else:
        names = list(spec)
    value = 0
    for name in names:
        if name not in _BY_NAME:
            raise errors.InvalidArgument(
                f"unknown image feature {name!r} (known: {', '.join(sorted(_BY_NAME))})"
            )
        value |= _BY_NAME[name]
    return value


def check_features(features: int) -> None:
    """Refuse unsupported features and broken dependencies (as librbd does)."""
    unsupported = features & ~FEATURES_SUPPORTED
    if unsupported:
        raise errors.NotSupported(
            f"image features not supported by this engine: {', '.join(feature_names(unsupported))}"
        )
    if features & FEATURE_OBJECT_MAP and not features & FEATURE_EXCLUSIVE_LOCK:
        raise errors.InvalidArgument("object-map requires exclusive-lock")
    if features & FEATURE_FAST_DIFF and not features & FEATURE_OBJECT_MAP:
        raise errors.InvalidArgument("fast-diff requires object-map")


def features_from_conf(value: str | None) -> int:
    """The features ``rbd_default_features`` = ``value`` gives new images (a number or
    names, as ceph.conf accepts); Ceph's default (61) when unset.

    Raises:
        InvalidArgument: the value does not parse.
    """
    return FEATURES_DEFAULT if value is None or value == "" else parse_features(value)
