"""Value types of configuration options, parsed as upstream parses them.

oslo.config (Glance, Cinder, Nova): booleans are ``true/false``, ``1/0``,
``on/off``, ``yes/no`` in any case; integers are ``int()`` of the stripped
text; an empty integer or string value means "unset" (None). Ceph's
booleans (``ceph.conf``) are read by ``shoal.cluster._conf.parse_bool``.

Each parser takes the raw text and returns the typed value or raises
:class:`ValueError` with a short reason; the loader adds the option, section,
file and line to it.
"""

from __future__ import annotations

import re
import uuid
from typing import Literal

__all__ = [
    "OSLO_FALSE",
    "OSLO_TRUE",
    "Kind",
    "format_value",
    "parse_oslo_bool",
]

#: The value types an option can have.
Kind = Literal["bool", "int", "str", "enum", "list", "uuid", "path"]

#: oslo.config's spellings (compared lower-cased).
OSLO_TRUE = frozenset({"true", "1", "on", "yes"})
OSLO_FALSE = frozenset({"false", "0", "off", "no"})


def parse_oslo_bool(text: str) -> bool:
    """oslo.config's boolean: true/1/on/yes or false/0/off/no, any case.

    Raises:
        ValueError: any other text (including the empty string).
    """
    s = text.strip().lower()
    if s in OSLO_TRUE:
        return True
    if s in OSLO_FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (use true/false, yes/no, on/off or 1/0)")


def parse_int(text: str) -> int | None:
    """oslo.config's integer: ``int()`` of the stripped text; empty means unset (None).

    Raises:
        ValueError: not a base-10 integer.
    """
    s = text.strip()
    if s == "":
        return None
    try:
        return int(s, 10)
    except ValueError:
        raise ValueError(f"{text!r} is not an integer") from None


_SIZE = re.compile(r"([0-9]+)([KMGTPE]?)(i?)B?")
_IEC = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60}


def parse_ceph_size(text: str) -> int:
    """Ceph's size: an integer with an optional binary suffix (``32M``, ``32Mi``,
    ``32MiB``, ``4K``, ``1G``; ``B`` or none: bytes).

    Raises:
        ValueError: anything else.
    """
    match = _SIZE.fullmatch(text.strip())
    if match is None or (match.group(3) and not match.group(2)):
        raise ValueError(f"{text!r} is not a size (an integer, optionally with K/M/G/T)")
    return int(match.group(1), 10) << _IEC[match.group(2)]


def parse_list(text: str) -> tuple[str, ...]:
    """oslo.config's ListOpt: comma-separated, items stripped, empty items dropped."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def parse_uuid(text: str) -> str | None:
    """A UUID in canonical lower-case 8-4-4-4-12 form; empty means unset (None).

    Raises:
        ValueError: not a UUID.
    """
    s = text.strip()
    if s == "":
        return None
    try:
        return str(uuid.UUID(s))
    except ValueError:
        raise ValueError(f"{text!r} is not a UUID (e.g. from uuidgen)") from None


def format_value(value: object, *, ceph: bool = False) -> str:
    """The INI text of a typed value (the inverse of the parsers): booleans as
    ``True``/``False`` (``true``/``false`` for Ceph), lists comma-joined, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "True" if value else "False"
        return text.lower() if ceph else text
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)
