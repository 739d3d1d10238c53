"""Output of the ``rbd`` commands, as Ceph's ``rbd`` tool prints it.

- :class:`Node` / :func:`render`: what ``rbd`` dumps through a Ceph ``Formatter``
  (``--format json|xml``, ``--pretty-format``). A node is an object (named
  fields) or an array (named items); JSON drops the item names, XML uses them
  as element names. Compact JSON is ``{"a":1}``; pretty JSON indents by 4;
  XML is ``<a>1</a>``, pretty XML indents one space per level. Every output
  ends with one newline.
- :func:`ctime`: C's ``ctime()`` without the newline (``Thu Jul  4 17:06:30 2019``),
  as ``rbd info`` / ``rbd snap ls`` print timestamps.
- :class:`Progress`: ``utils::ProgressContext`` on stderr, unless ``--no-progress``:
  ``\\rImporting image: 42% complete...`` each time the percentage grows (only when
  stderr is a terminal, so logs and pipes get the last line alone), then
  ``\\rImporting image: 100% complete...done.`` or ``...N% complete...failed.``
- :func:`byte_u` and :class:`TextTable` are Ceph's ``byte_u_t`` and ``TextTable``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

import click

from shoal.cluster._format import TextTable, byte_u

__all__ = ["Node", "Progress", "TextTable", "byte_u", "ctime", "render"]

Scalar: TypeAlias = str | int | bool
Value: TypeAlias = "Scalar | Node"


@dataclass
class Node:
    """An object (``array=False``) or array section of formatter output."""

    array: bool = False
    entries: list[tuple[str, Value]] = field(default_factory=list)

    def add(self, name: str, value: Value) -> Node:
        """Append a field (object) or an item named ``name`` (array); returns self."""
        self.entries.append((name, value))
        return self


def obj(*entries: tuple[str, Value]) -> Node:
    """An object section with ``entries`` in order."""
    return Node(False, list(entries))


def arr(*entries: tuple[str, Value]) -> Node:
    """An array section; each entry is (item element name, value)."""
    return Node(True, list(entries))


def _plain(value: Value) -> object:
    if isinstance(value, Node):
        if value.array:
            return [_plain(v) for _, v in value.entries]
        return {k: _plain(v) for k, v in value.entries}
    return value


def _xml_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&apos;").replace('"', "&quot;"))


def _xml_scalar(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _xml_escape(str(value))


def _xml(name: str, value: Value, depth: int, pretty: bool, out: list[str]) -> None:
    pad = " " * depth if pretty else ""
    end = "\n" if pretty else ""
    if not isinstance(value, Node):
        out.append(f"{pad}<{name}>{_xml_scalar(value)}</{name}>{end}")
        return
    out.append(f"{pad}<{name}>{end}")
    for child_name, child in value.entries:
        _xml(child_name, child, depth + 1, pretty, out)
    out.append(f"{pad}</{name}>{end}")


def render(name: str, node: Node, fmt: str, pretty: bool = False) -> str:
    """``node`` as Ceph's ``fmt`` formatter (``json`` or ``xml``) prints it."""
    if fmt == "json":
        if pretty:
            text = json.dumps(_plain(node), indent=4, ensure_ascii=False)
        else:
            text = json.dumps(_plain(node), separators=(",", ":"), ensure_ascii=False)
        return text + "\n"
    if fmt == "xml":
        out: list[str] = []
        _xml(name, node, 0, pretty, out)
        return "".join(out).rstrip("\n") + "\n"
    raise ValueError(f"not a formatter: {fmt!r}")


def ctime(moment: datetime | float) -> str:
    """``Thu Jul  4 17:06:30 2019`` (local time), as C's ``ctime()`` minus the newline."""
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment
    return time.ctime(int(seconds))


class Progress:
    """``utils::ProgressContext``: the percentage while an operation runs, then its
    ``done``/``failed`` line, on stderr (nothing at all when not ``enabled``).

    The running percentage (``\\r<operation>: N% complete...``, rewritten in place) is
    written only when stderr is a terminal; ``failed`` reports the last one written
    (0 when none was).
    """

    def __init__(self, operation: str, enabled: bool) -> None:
        self.operation = operation
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()
        self.shown = 0

    def update(self, done: int, total: int) -> int:
        """``done`` of ``total`` units (bytes, objects, diffs) are through; total 0
        shows nothing. Returns 0, as librbd's progress callbacks expect."""
        if self.live and total > 0:
            percent = min(100, 100 * max(done, 0) // total)
            if percent > self.shown:
                click.echo(f"\r{self.operation}: {percent}% complete...", err=True, nl=False)
                self.shown = percent
        return 0

    def finish(self) -> None:
        if self.enabled:
            click.echo(f"\r{self.operation}: 100% complete...done.", err=True)

    def fail(self) -> None:
        if self.enabled:
            click.echo(f"\r{self.operation}: {self.shown}% complete...failed.", err=True)
