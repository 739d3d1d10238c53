"""A line-numbered INI reader for oslo.config and ceph.conf files.

Both dialects: ``[section]`` headers, ``name = value`` or ``name: value``
(the first of ``=``/``:`` splits), whole-line comments starting with ``#`` or
``;``, indented lines continuing the previous value (joined by a newline), the
last of repeated names wins. oslo.config's dialect strips one pair of matching
surrounding quotes and lower-cases section names except ``DEFAULT``. Ceph's
dialect drops trailing ``# ...``/``; ...`` comments, strips one pair of
surrounding double quotes and treats spaces and dashes in names as
underscores (``rbd cache`` is ``rbd_cache``). Names before any section are an
error in both, as in oslo.config and Ceph.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shoal import errors

__all__ = ["Entry", "IniFile", "normalize_ceph_name", "read_ini"]

_SECTION = re.compile(r"^\[\s*([^\]]*?)\s*\]\s*(?:[#;].*)?$")


@dataclass(frozen=True)
class Entry:
    """One ``name = value`` line: the name as written, the raw value, its 1-based line."""

    written: str
    value: str
    line: int


@dataclass
class IniFile:
    """A parsed file: ``sections[section][normalized name] -> Entry`` in file order."""

    path: Path
    sections: dict[str, dict[str, Entry]]
    section_lines: dict[str, int]


def normalize_ceph_name(name: str) -> str:
    """Ceph's option spelling: runs of spaces, and dashes, become one underscore."""
    return re.sub(r"[ \t]+", "_", name.strip()).replace("-", "_")


def _strip_ceph_value(value: str) -> str:
    if value.startswith('"'):
        end = value.find('"', 1)
        if end > 0:
            return value[1:end]
    for mark in ("#", ";"):
        cut = value.find(mark)
        if cut >= 0:
            value = value[:cut]
    return value.strip()


def read_ini(path: Path, text: str, *, ceph_section: Callable[[str], bool]) -> IniFile:
    """Parse ``text`` (the content of ``path``); sections for which
    ``ceph_section(name)`` is true follow Ceph's dialect.

    Raises:
        errors.InvalidArgument: a line that is neither a section, an option,
            a comment nor a continuation, or an option before any section
            (the message names the file and line).
    """
    sections: dict[str, dict[str, Entry]] = {}
    section_lines: dict[str, int] = {}
    current: str | None = None
    last: tuple[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            last = None  # a blank line ends a multi-line value (oslo.config)
            continue
        if stripped[0] in "#;":
            continue
        if line[0] in " \t" and last is not None and current is not None:
            entry = sections[current][last[1]]
            joined = f"{entry.value}\n{stripped}" if entry.value else stripped
            sections[current][last[1]] = Entry(entry.written, joined, entry.line)
            continue
        match = _SECTION.match(stripped)
        if match:
            current = _section_key(match.group(1), ceph_section)
            sections.setdefault(current, {})
            section_lines.setdefault(current, number)
            last = None
            continue
        name, value = _split(stripped, path, number)
        if current is None:
            raise errors.InvalidArgument(
                f"{path}:{number}: {name!r} is outside any section; put it under a "
                f"[section] header (e.g. [DEFAULT])")
        ceph = ceph_section(current)
        key = normalize_ceph_name(name) if ceph else name
        value = _strip_ceph_value(value) if ceph else _strip_oslo_quotes(value)
        sections[current][key] = Entry(name, value, number)
        last = (current, key)
    return IniFile(path=path, sections=sections, section_lines=section_lines)


def _section_key(name: str, ceph_section: Callable[[str], bool]) -> str:
    """oslo.config lower-cases group names except ``DEFAULT``; Ceph keeps them."""
    if name == "DEFAULT" or ceph_section(name):
        return name
    return name.lower()


def _strip_oslo_quotes(value: str) -> str:
    """oslo.config drops one pair of matching surrounding quotes (" or ')."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _split(line: str, path: Path, number: int) -> tuple[str, str]:
    positions = [p for p in (line.find("="), line.find(":")) if p > 0]
    if not positions:
        raise errors.InvalidArgument(
            f"{path}:{number}: cannot parse {line!r}: expected 'name = value' or '[section]'")
    cut = min(positions)
    return line[:cut].strip(), line[cut + 1:].strip()
