"""Argument parsing of the ``rbd`` tool (``ArgumentTypes.cc``, ``Utils.cc``).

- Image specs ``[pool/[namespace/]]image[@snap]`` with the three validation
  levels of ``utils::extract_spec``, and the ``--pool/--namespace/--image/--snap``
  (or ``--dest-pool/--dest-namespace/--dest``) options, resolved in
  ``get_pool_image_snapshot_names`` order: options first, then the spec given
  by ``--image`` or the next positional argument, then the default pool.
- Values: ``--size`` (``strict_iecstrtoll``; a plain number is MiB),
  ``--object-size``/``--stripe-unit`` (bytes with B/K/M... suffixes),
  ``--order`` (12..25), ``--image-feature`` (names, comma-separated or
  repeated), ``--format``/``--pretty-format``.

Bad values exit 1 with boost's message (``rbd: the argument ('10X') for option
'--size' is invalid``); missing names exit 22 (EINVAL) as ``rbd`` does.
"""

from __future__ import annotations

import errno as _errno
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import click

from shoal.cli.rbd._common import die
from shoal.rbd import feature_names, parse_features

__all__ = [
    "CreateArgs",
    "ImageSpec",
    "Positionals",
    "Presence",
    "Validation",
    "create_args",
    "create_options",
    "extract_spec",
    "format_options",
    "image_features",
    "image_spec_options",
    "invalid_value",
    "no_progress_option",
    "output_format",
    "parse_iec",
    "parse_size",
    "parse_uint",
    "pool_and_namespace",
    "pool_options",
    "resolve_spec",
]

F = TypeVar("F", bound=Callable[..., Any])

_U64_MAX = (1 << 64) - 1
#: ``ImageFeatures::FEATURE_MAPPING`` (bits 1..256).
FEATURE_NAMES = frozenset(feature_names((1 << 9) - 1))
#: Features ``--image-shared`` clears (``RBD_FEATURES_SINGLE_CLIENT``).
SINGLE_CLIENT_FEATURES = parse_features("exclusive-lock,object-map,fast-diff,journaling")


class Validation(Enum):
    """``utils::SpecValidation`` and its pattern."""

    NONE = r"(?:([^/]+)/(?:([^/@]+)/)?)?([^@]+)(?:@(.+))?"
    SNAP = r"(?:([^/]+)/(?:([^/@]+)/)?)?([^@]+)(?:@([^/@]+))?"
    FULL = r"(?:([^/@]+)/(?:([^/@]+)/)?)?([^/@]+)(?:@([^/@]+))?"


class Presence(Enum):
    """``utils::SnapshotPresence``."""

    NONE = 0
    PERMITTED = 1
    REQUIRED = 2


@dataclass(frozen=True)
class ImageSpec:
    pool: str
    namespace: str
    image: str
    snap: str

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        at = f"@{self.snap}" if self.snap else ""
        return f"{self.pool}/{ns}{self.image}{at}"


class Positionals:
    """The positional words of a command, consumed in order as ``rbd`` does."""

    def __init__(self, words: Sequence[str]) -> None:
        self._words = list(words)
        self._next = 0

    def take(self) -> str:
        """The next word, or ``""`` when there is none."""
        if self._next >= len(self._words):
            return ""
        word = self._words[self._next]
        self._next += 1
        return word

    def finish(self) -> None:
        """Refuse words nobody consumed."""
        if self._next < len(self._words):
            die("too many arguments", 1)


def invalid_value(value: str, option: str) -> Any:
    """boost's ``validation_error``: exit 1."""
    die(f"the argument ('{value}') for option '{option}' is invalid\n", 1)


def extract_spec(spec: str, validation: Validation) -> tuple[str | None, ...]:
    """``utils::extract_spec``: (pool, namespace, name, snap), None where absent."""
    match = re.fullmatch(validation.value, spec)
    if match is None:
        die(f"invalid spec '{spec}'", _errno.EINVAL)
    return match.groups()


def resolve_spec(
    words: Positionals,
    *,
    pool: str | None,
    namespace: str | None,
    image: str | None,
    snap: str | None,
    default_pool: str,
    presence: Presence,
    validation: Validation = Validation.NONE,
    dest: bool = False,
    required: bool = True,
) -> ImageSpec:
    """``utils::get_pool_image_snapshot_names``."""
    p, ns, name, sn = pool or "", namespace or "", image or "", snap or ""
    spec = name or words.take()
    if spec:
        s_pool, s_ns, s_name, s_snap = extract_spec(spec, validation)
        p = s_pool or p
        ns = s_ns or ns
        name = s_name or ""
        sn = s_snap or sn
    p = p or default_pool
    prefix = "destination " if dest else ""
    if required and not name:
        die(f"{prefix}image name was not specified", _errno.EINVAL)
    if validation is Validation.FULL and not re.fullmatch(r"[^@/]+", p):
        die(f"invalid pool name '{p}'", _errno.EINVAL)
    if ns and not re.fullmatch(r"[^@/]+", ns):
        die(f"invalid namespace name '{ns}'", _errno.EINVAL)
    if presence is Presence.NONE and sn:
        die(f"{prefix}snapshot name specified for a command that doesn't use it",
            _errno.EINVAL)
    if presence is Presence.REQUIRED and not sn:
        die(f"{prefix}snapshot name was not specified", _errno.EINVAL)
    if validation is Validation.SNAP and sn and not re.fullmatch(r"[^@/]*", sn):
        die(f"invalid snap name '{sn}'", _errno.EINVAL)
    return ImageSpec(p, ns, name, sn)


def pool_and_namespace(words: Positionals, pool: str | None, namespace: str | None,
                       default: str) -> tuple[str, str]:
    """``utils::get_pool_and_namespace_names`` (``rbd ls [pool[/ns]]``)."""
    ns = namespace or ""
    if pool:
        name = pool
    else:
        name = words.take()
        if "/" in name:
            name, ns = name.rsplit("/", 1)
    name = name or default
    if re.search(r"[/@]", name):
        die(f"invalid pool '{name}'", _errno.EINVAL)
    if re.search(r"[/@]", ns):
        die(f"invalid namespace '{ns}'", _errno.EINVAL)
    return name, ns


# --- values --------------------------------------------------------------------

_IEC_SHIFT = {"K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60, "B": 0}


def parse_iec(text: str, option: str) -> int:
    """``strict_iecstrtoll``: ``4096``, ``4K``, ``4Ki``, ``1G`` ... as bytes."""
    cut = next((i for i, c in enumerate(text) if c not in "0123456789-+"), len(text))
    number, unit = text[:cut], text[cut:]
    shift = 0
    if unit:
        if len(unit) > 2 or (unit[-1] == "i" and unit[0] == "B") or unit[0] not in _IEC_SHIFT:
            invalid_value(text, option)
        shift = _IEC_SHIFT[unit[0]]
    if not re.fullmatch(r"[+-]?\d+", number):
        invalid_value(text, option)
    value = int(number) << shift
    if value < 0 or value > _U64_MAX:
        invalid_value(text, option)
    return value


def parse_size(text: str, option: str = "--size") -> int:
    """``ImageSize``: IEC bytes, or MiB when the text ends with a digit."""
    value = parse_iec(text, option)
    if text[-1:].isdigit():
        value <<= 20
        if value > _U64_MAX:
            invalid_value(text, option)
    return value


def parse_uint(text: str, option: str) -> int:
    if not re.fullmatch(r"\+?\d+", text) or int(text) > _U64_MAX:
        invalid_value(text, option)
    return int(text)


def parse_order(text: str) -> int:
    if not re.fullmatch(r"\d+", text) or not 12 <= int(text) <= 25:
        invalid_value(text, "--order")
    return int(text)


def image_features(values: Sequence[str]) -> int | None:
    """``--image-feature`` values (names; repeated or comma-separated), None if none."""
    if not values:
        return None
    names: list[str] = []
    for value in values:
        for token in (t for t in value.split(",") if t):
            if token not in FEATURE_NAMES:
                invalid_value(value, "--image-feature")
            names.append(token)
    return parse_features(names)


def output_format(fmt: str | None, pretty: bool) -> str | None:
    """``utils::get_formatter``: ``json``/``xml`` or None (plain)."""
    if fmt is not None and fmt not in ("plain", "json", "xml"):
        invalid_value(fmt, "--format")
    chosen = fmt if fmt in ("json", "xml") else None
    if pretty and chosen is None:
        die("--pretty-format only works when --format is json or xml", _errno.EINVAL)
    return chosen


# --- option groups ---------------------------------------------------------------


def _apply(fn: F, options: Sequence[Callable[[Any], Any]]) -> F:
    for option in reversed(options):
        fn = option(fn)
    return fn


def image_spec_options(dest: bool = False, snap: bool = True) -> Callable[[F], F]:
    """``--pool/-p --namespace --image [--snap]`` (or the ``--dest-*`` spellings)."""

    def decorate(fn: F) -> F:
        if dest:
            options = [
                click.option("--dest-pool", "dest_pool", metavar="POOL",
                             help="Destination pool name."),
                click.option("--dest-namespace", "dest_namespace", metavar="NS",
                             help="Destination namespace name."),
                click.option("--dest", "dest_image", metavar="IMAGE",
                             help="Destination image name."),
            ]
        else:
            options = [
                click.option("-p", "--pool", "pool", metavar="POOL", help="Pool name."),
                click.option("--namespace", "namespace", metavar="NS",
                             help="Namespace name."),
                click.option("--image", "image", metavar="IMAGE", help="Image name."),
            ]
            if snap:
                options.append(click.option("--snap", "snap", metavar="SNAP",
                                            help="Snapshot name."))
        return _apply(fn, options)

    return decorate


def pool_options(fn: F) -> F:
    """``--pool/-p --namespace`` (a ``[POOL_SPEC]`` command)."""
    return _apply(fn, [
        click.option("-p", "--pool", "pool", metavar="POOL", help="Pool name."),
        click.option("--namespace", "namespace", metavar="NS", help="Namespace name."),
    ])


def format_options(fn: F) -> F:
    """``--format plain|json|xml`` and ``--pretty-format``."""
    return _apply(fn, [
        click.option("--format", "fmt", metavar="FORMAT",
                     help="Output format (plain, json, or xml) [default: plain]."),
        click.option("--pretty-format", "pretty", is_flag=True,
                     help="Pretty formatting (json and xml)."),
    ])


def no_progress_option(fn: F) -> F:
    return click.option("--no-progress", "no_progress", is_flag=True,
                        help="Disable progress output.")(fn)


def create_options(fn: F) -> F:
    """``add_create_image_options``: order/object size, features, striping."""
    return _apply(fn, [
        click.option("--image-format", "image_format", metavar="FORMAT",
                     help="Image format [1 (deprecated) or 2]."),
        click.option("--new-format", "new_format", is_flag=True,
                     help="Use image format 2 (deprecated)."),
        click.option("--order", "order", metavar="ORDER",
                     help="Object order [12 <= order <= 25]."),
        click.option("--object-size", "object_size", metavar="SIZE",
                     help="Object size in B/K/M [4K <= object size <= 32M]."),
        click.option("--image-feature", "image_feature", multiple=True, metavar="FEATURE",
                     help="Image features (repeat or comma-separate)."),
        click.option("--image-shared", "image_shared", is_flag=True, help="Shared image."),
        click.option("--stripe-unit", "stripe_unit", metavar="SIZE",
                     help="Stripe unit in B/K/M."),
        click.option("--stripe-count", "stripe_count", metavar="COUNT", help="Stripe count."),
        click.option("--data-pool", "data_pool", metavar="POOL", help="Data pool."),
    ])


@dataclass(frozen=True)
class CreateArgs:
    """``utils::get_image_options`` result (None: librbd's default)."""

    order: int | None
    features: int | None
    features_clear: int
    stripe_unit: int | None
    stripe_count: int | None
    data_pool: str | None
    old_format: bool

    def features_or(self, default: int) -> int:
        """The features to create with, given librbd's default."""
        base = self.features if self.features is not None else default
        return base & ~self.features_clear


def create_args(kwargs: dict[str, Any], with_format: bool = True) -> CreateArgs:
    """Parse the :func:`create_options` values as ``utils::get_image_options`` does."""
    order: int | None = None
    if kwargs.get("order") is not None:
        order = parse_order(kwargs["order"])
        click.echo("rbd: --order is deprecated, use --object-size", err=True)
    elif kwargs.get("object_size") is not None:
        size = parse_iec(kwargs["object_size"], "--object-size")
        if size <= 0:
            invalid_value(kwargs["object_size"], "--object-size")
        order = round(math.log2(size))
    features = image_features(kwargs.get("image_feature") or ())
    clear = 0
    if kwargs.get("image_shared"):
        if features is not None:
            features &= ~SINGLE_CLIENT_FEATURES
        else:
            clear = SINGLE_CLIENT_FEATURES
    unit = kwargs.get("stripe_unit")
    count = kwargs.get("stripe_count")
    old_format = False
    if with_format:
        if kwargs.get("new_format"):
            click.echo("rbd: --new-format is deprecated, use --image-format")
        elif kwargs.get("image_format") is not None:
            if kwargs["image_format"] not in ("1", "2"):
                invalid_value(kwargs["image_format"], "--image-format")
            old_format = kwargs["image_format"] == "1"
            if old_format:
                click.echo("rbd: image format 1 is deprecated", err=True)
                if features:
                    die("features not allowed with format 1; use --image-format 2",
                        _errno.EINVAL)
    return CreateArgs(
        order=order,
        features=features,
        features_clear=clear,
        stripe_unit=parse_iec(unit, "--stripe-unit") if unit is not None else None,
        stripe_count=parse_uint(count, "--stripe-count") if count is not None else None,
        data_pool=kwargs.get("data_pool"),
        old_format=old_format,
    )
