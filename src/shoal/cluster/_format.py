"""Output formatting shared by the embedded mon commands, after Ceph's.

- :func:`byte_u` / :func:`si_u`: Ceph's ``byte_u_t`` / ``si_u_t`` (``include/types.h``):
  powers of 1024 with `` B``/`` KiB``/... units, or powers of 1000 with ``k``/``M``/... (no space);
  exact multiples print without decimals, others with the most decimals (2, 1 or 0)
  that keep the text within 7 characters, unit included.
- :func:`percentify`: ``0`` below 0.01, else two decimals (``PGMap.cc``).
- :class:`TextTable`: Ceph's ``TextTable`` (columns padded to the widest cell, two
  spaces between columns, no trailing separator).
- :func:`utime_local` / :func:`utime_gmt`: ``utime_t`` as Ceph prints it
  (``2024-05-01T12:00:00.123456+0200`` / ``2024-05-01T10:00:00.123456Z``).
- :func:`dump`: Ceph's JSON formatters: ``json`` is compact (``{"a":1}``),
  ``json-pretty`` indents by 4; neither ends with a newline.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "FORMATS",
    "TextTable",
    "byte_u",
    "dump",
    "is_json",
    "percentify",
    "si_u",
    "utime_gmt",
    "utime_local",
]

#: Output formats the embedded mon understands ("" and "plain" are the same).
FORMATS = ("", "plain", "json", "json-pretty")

_BYTE_UNITS = (" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB")
_SI_UNITS = ("", "k", "M", "G", "T", "P", "E")


def _format_u(value: int, base: int, units: tuple[str, ...]) -> str:
    if value < 0:
        raise ValueError(f"cannot format a negative quantity {value}")
    n, index = value, 0
    while n >= base and index < len(units) - 1:
        n //= base
        index += 1
    mult = base**index
    if index == 0 or value % mult == 0:
        return f"{n}{units[index]}"
    text = ""
    for precision in (2, 1, 0):
        text = f"{value / mult:.{precision}f}{units[index]}"
        if len(text) <= 7:
            break
    return text


def byte_u(value: int) -> str:
    """``1536`` -> ``"1.5 KiB"``, ``0`` -> ``"0 B"``, ``3 GiB`` -> ``"3 GiB"``."""
    return _format_u(value, 1024, _BYTE_UNITS)


def si_u(value: int) -> str:
    """``12`` -> ``"12"``, ``1500`` -> ``"1.50k"``, ``2530000`` -> ``"2.53M"`` (object counts)."""
    return _format_u(value, 1000, _SI_UNITS)


def percentify(value: float) -> str:
    """``0.004`` -> ``"0"``, ``12.3456`` -> ``"12.35"``."""
    if value < 0.01:
        return "0"
    return f"{value:.2f}"


Align = Literal["left", "right"]


@dataclass
class _Column:
    heading: str
    hd_align: Align
    col_align: Align
    width: int


@dataclass
class TextTable:
    """Rows of text cells rendered in aligned columns, as Ceph's ``TextTable``."""

    _columns: list[_Column] = field(default_factory=list)
    _rows: list[list[str]] = field(default_factory=list)

    def define_column(self, heading: str, hd_align: Align, col_align: Align) -> None:
        self._columns.append(_Column(heading, hd_align, col_align, len(heading)))

    def add_row(self, *cells: object) -> None:
        """Add one row; it must have exactly one cell per column."""
        if len(cells) != len(self._columns):
            raise ValueError(f"row has {len(cells)} cells for {len(self._columns)} columns")
        row = [str(c) for c in cells]
        for column, cell in zip(self._columns, row, strict=True):
            column.width = max(column.width, len(cell))
        self._rows.append(row)

    def render(self) -> str:
        """Heading line then one line per row, each ending with a newline."""
        lines = ["  ".join(_pad(c.heading, c.width, c.hd_align) for c in self._columns)]
        for row in self._rows:
            cells = zip(self._columns, row, strict=True)
            lines.append("  ".join(_pad(cell, c.width, c.col_align) for c, cell in cells))
        return "".join(line + "\n" for line in lines)


def _pad(text: str, width: int, align: Align) -> str:
    return text.ljust(width) if align == "left" else text.rjust(width)


def is_json(fmt: str) -> bool:
    """Whether ``fmt`` selects one of the JSON formatters."""
    return fmt in ("json", "json-pretty")


def dump(value: object, fmt: str) -> bytes:
    """Encode ``value`` as Ceph's formatter ``fmt`` (json or json-pretty) would
    (``json-pretty`` ends with a newline, ``json`` does not)."""
    if fmt == "json-pretty":
        return json.dumps(value, indent=4).encode() + b"\n"
    if fmt == "json":
        return json.dumps(value, separators=(",", ":")).encode()
    raise ValueError(f"not a JSON format: {fmt!r}")


def utime_local(seconds: float) -> str:
    """Local time with microseconds and a ``+HHMM`` offset, as ``utime_t::localtime``."""
    moment = datetime.datetime.fromtimestamp(seconds).astimezone()
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f%z")


def utime_gmt(seconds: float) -> str:
    """UTC with microseconds and a ``Z``, as ``utime_t::gmtime``."""
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
