"""RBD feature bits and names (``features.h``), parsing and dependency rules.

Each bit has two names: shoal's short one (``FEATURE_LAYERING``) and librbd's Python
binding's (``RBD_FEATURE_LAYERING``), with librbd's values; so are the image flags
(``RBD_FLAG_*``) and the managed-lock modes (``RBD_LOCK_MODE_*``).
"""

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
    "RBD_FEATURE_DATA_POOL",
    "RBD_FEATURE_DEEP_FLATTEN",
    "RBD_FEATURE_EXCLUSIVE_LOCK",
    "RBD_FEATURE_FAST_DIFF",
    "RBD_FEATURE_JOURNALING",
    "RBD_FEATURE_LAYERING",
    "RBD_FEATURE_MIGRATING",
    "RBD_FEATURE_OBJECT_MAP",
    "RBD_FEATURE_OPERATIONS",
    "RBD_FEATURE_STRIPINGV2",
    "RBD_FLAG_FAST_DIFF_INVALID",
    "RBD_FLAG_OBJECT_MAP_INVALID",
    "RBD_LOCK_MODE_EXCLUSIVE",
    "RBD_LOCK_MODE_SHARED",
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

# librbd's names (``rbd.RBD_FEATURE_*``), same values.
RBD_FEATURE_LAYERING: Final = FEATURE_LAYERING
RBD_FEATURE_STRIPINGV2: Final = FEATURE_STRIPINGV2
RBD_FEATURE_EXCLUSIVE_LOCK: Final = FEATURE_EXCLUSIVE_LOCK
RBD_FEATURE_OBJECT_MAP: Final = FEATURE_OBJECT_MAP
RBD_FEATURE_FAST_DIFF: Final = FEATURE_FAST_DIFF
RBD_FEATURE_DEEP_FLATTEN: Final = FEATURE_DEEP_FLATTEN
RBD_FEATURE_JOURNALING: Final = FEATURE_JOURNALING
RBD_FEATURE_DATA_POOL: Final = FEATURE_DATA_POOL
RBD_FEATURE_OPERATIONS: Final = FEATURE_OPERATIONS
RBD_FEATURE_MIGRATING: Final = FEATURE_MIGRATING

#: Image flags (``rbd.RBD_FLAG_*``): the object map / fast-diff data is not to be trusted.
RBD_FLAG_OBJECT_MAP_INVALID: Final = 1
RBD_FLAG_FAST_DIFF_INVALID: Final = 2
#: Managed-lock modes (``rbd.RBD_LOCK_MODE_*``); the embedded engine has exclusive only.
RBD_LOCK_MODE_EXCLUSIVE: Final = 0
RBD_LOCK_MODE_SHARED: Final = 1

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
