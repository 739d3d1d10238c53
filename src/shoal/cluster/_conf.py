"""``ceph.conf``: the subset of Ceph's ini dialect shoal reads and writes.

Syntax (as Ceph's ``ConfFile``): ``[section]`` headings, ``name = value`` lines,
whole-line comments starting with ``#`` or ``;``, trailing comments after
whitespace, blank lines. Option names are case-insensitive and spaces, dashes and
underscores are interchangeable (``mon allow pool delete`` is
``mon_allow_pool_delete``). A lookup in a daemon section falls back to
``[global]``, as Ceph does for ``[mon]`` options.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from shoal import errors

__all__ = ["CephConf", "load_conf", "normalize_option", "parse_conf", "render_conf"]

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_TRAILING_COMMENT = re.compile(r"\s[#;].*$")


def normalize_option(name: str) -> str:
    """``"Mon Allow-Pool delete"`` -> ``"mon_allow_pool_delete"``."""
    return "_".join(re.split(r"[\s_-]+", name.strip().lower()))


@dataclass(frozen=True)
class CephConf:
    """Parsed sections: section name -> normalized option name -> raw value."""

    sections: Mapping[str, Mapping[str, str]]

    def get(self, option: str, section: str = "global") -> str | None:
        """Value of ``option`` in ``section``, else in ``[global]``, else None."""
        key = normalize_option(option)
        for name in (section, "global"):
            value = self.sections.get(name, {}).get(key)
            if value is not None:
                return value
        return None

    def get_bool(self, option: str, section: str = "global", default: bool = False) -> bool:
        """Boolean option (true/yes/on/1 or false/no/off/0).

        Raises:
            errors.InvalidArgument: the value is set but not a boolean.
        """
        value = self.get(option, section)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise errors.InvalidArgument(
            f"ceph.conf: {normalize_option(option)} = {value!r} is not a boolean"
        )


def parse_conf(text: str) -> CephConf:
    """Parse ceph.conf text.

    Raises:
        errors.InvalidArgument: a line is neither a heading, an option nor a
            comment, or an option precedes every heading.
    """
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _TRAILING_COMMENT.sub("", raw).strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().lower(), {})
            continue
        name, eq, value = line.partition("=")
        if not eq or not name.strip():
            raise errors.InvalidArgument(f"ceph.conf line {lineno}: cannot parse {raw!r}")
        if current is None:
            raise errors.InvalidArgument(f"ceph.conf line {lineno}: option outside any section")
        current[normalize_option(name)] = _unquote(value.strip())
    frozen = {name: MappingProxyType(opts) for name, opts in sections.items()}
    return CephConf(MappingProxyType(frozen))


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def load_conf(path: Path) -> CephConf:
    """Read and parse ``path``.

    Raises:
        errors.Unavailable: the file cannot be read.
        errors.InvalidArgument: it does not parse.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.Unavailable(f"cannot read {path}: {exc.strerror}") from exc
    return parse_conf(text)


def render_conf(sections: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> str:
    """Write sections the way Ceph's tools do (tab-indented ``name = value``)."""
    out: list[str] = []
    for name, options in sections:
        out.append(f"[{name}]\n")
        out.extend(f"\t{key} = {value}\n" for key, value in options)
    return "".join(out)
