"""A line-numbered INI reader for oslo.config files, and ceph.conf through Ceph's reader.

oslo.config's dialect (glance-api.conf, cinder.conf, nova.conf, shoal.conf):
``[section]`` headers, ``name = value`` or ``name: value`` (the first of ``=``/``:``
splits), whole-line comments starting with ``#`` or ``;`` (``#`` inside a value is part of
it), indented lines continuing the previous value (joined by a newline), the last of
repeated names wins, one pair of matching surrounding quotes is stripped, section names are
lower-cased except ``DEFAULT``. Names before any section are an error.

ceph.conf, and the Ceph sections of a shoal.conf (those for which ``ceph_section`` is
true: ``[global]``, ``[client]``, ``[client.NAME]``), are read by the one ceph.conf reader,
:mod:`shoal.cluster._conf`: Ceph's names (``rbd cache`` is ``rbd_cache``), comments,
quotes, escapes and ``\\`` continuations. In a shoal.conf, oslo's headers delimit those
sections; their lines are Ceph's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shoal import errors
from shoal.cluster._conf import Entry, parse_conf, parse_section

__all__ = ["IniFile", "read_ceph", "read_ini"]

_SECTION = re.compile(r"^\[\s*([^\]]*?)\s*\]\s*(?:[#;].*)?$")


@dataclass
class IniFile:
    """A parsed file: ``sections[section][normalized name] -> Entry`` in file order."""

    path: Path
    sections: dict[str, dict[str, Entry]]
    section_lines: dict[str, int]


def read_ceph(path: Path, text: str) -> IniFile:
    """A ceph.conf (``text``, the content of ``path``) read as Ceph reads it.

    Raises:
        errors.InvalidArgument: Ceph would refuse the file (the message names the line).
    """
    conf = parse_conf(text, str(path))
    return IniFile(path, {name: dict(entries) for name, entries in conf.sections.items()},
                   dict(conf.section_lines))


def read_ini(path: Path, text: str, *, ceph_section: Callable[[str], bool]) -> IniFile:
    """Parse ``text`` (the content of ``path``); the lines of sections for which
    ``ceph_section(name)`` is true are read by the ceph.conf reader.

    Raises:
        errors.InvalidArgument: a line that is neither a section, an option,
            a comment nor a continuation, or an option before any section
            (the message names the file and line).
    """
    sections: dict[str, dict[str, Entry]] = {}
    section_lines: dict[str, int] = {}
    current: str | None = None
    last: tuple[str, str] | None = None
    ceph_lines: list[str] = []  # the current Ceph section's lines, read when it ends
    ceph_start = 0

    def read_ceph_lines() -> None:
        if ceph_lines and current is not None:
            sections[current].update(
                parse_section("".join(ceph_lines), current, str(path), ceph_start))
        ceph_lines.clear()

    for number, raw in enumerate(text.splitlines(keepends=True), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        match = _SECTION.match(stripped)
        if current is not None and ceph_section(current) and not match:
            ceph_start = ceph_start if ceph_lines else number
            ceph_lines.append(raw)
            continue
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
        if match:
            read_ceph_lines()
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
        sections[current][name] = Entry(name, _strip_oslo_quotes(value), number)
        last = (current, name)
    read_ceph_lines()
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
