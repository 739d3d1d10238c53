"""``ceph.conf``: the one reader of Ceph's configuration dialect, and its writer.

The reader follows Ceph's own parser (``ConfFile`` in ``src/common/ConfUtils.cc``, a
grammar with a skipper for comments and line continuations) and is checked against
``ceph-conf --show-conf`` / ``--lookup`` (``tests/unit/cluster/test_cephconf.py``):

- Lines end with ``\\n``, ``\\r\\n`` or ``\\r``. The last line must end with one too
  (unless it is a comment); Ceph refuses the file otherwise.
- ``[name]`` opens a section; it must start its line, and only blanks and a comment may
  follow ``]``. The name is kept as written: case and inner spaces count (``[Global]`` and
  ``[ global ]`` are not ``[global]``). A repeated heading continues its section.
- ``name = value``, blanks allowed around both. The name is normalized by
  :func:`normalize_key`: whitespace around it dropped, each inner run of whitespace made one
  ``_`` (``mon allow  pool delete`` is ``mon_allow_pool_delete``). Case, dashes and repeated
  underscores are kept: ``rbd-cache``, ``RBD_CACHE`` and ``rbd__cache`` are not
  ``rbd_cache`` (Ceph ignores them). ``name: value`` is not an option line.
- ``#`` and ``;`` start a comment anywhere outside quotes, with or without blanks before
  (``a = b#c`` is ``b``); a whole line may be a comment, indented or not.
- ``\\`` makes the next character literal (``\\#``, ``\\;``, ``\\\\``, ``\\"``, ``\\x`` is
  ``x``); a ``\\`` that ends a line joins the next line to this one (the next line's leading
  blanks stay in the value), and a ``\\`` before the end of the file is a literal ``\\``.
- A value in ``"..."`` or ``'...'`` loses its quotes. Inside, ``#`` and ``;`` must be
  escaped and a line cannot continue; after the closing quote only blanks and a comment may
  follow. Whitespace around a value is dropped, inside the quotes too (``"  a "`` is ``a``).
- The last of repeated names in a section wins (across repeated headings too).
- Before any heading: a file whose first line is its only option line keeps that option in
  ``[global]``; any other option before a heading is an error.
- Values are returned as written: metavariables (``$cluster``, ``$name``, ``$id`` ...) are
  not expanded (``ceph-conf --lookup`` expands them; shoal never reads one).
- Text is Unicode, the file UTF-8 (Ceph refuses other bytes, naming the line). Debian's
  Ceph 16 aborts on a non-ASCII character outside a comment, so the comparison with
  ``ceph-conf`` uses ASCII files.

Booleans (:func:`parse_bool`) are what Ceph's option parser takes: ``true``/``false`` in
any case, or a decimal integer in C ``int`` range, non-zero being true; ``yes``, ``on``,
``no`` and ``off`` are not booleans to Ceph (it ignores such a value, shoal refuses it).
A lookup for an entity section ``type.id`` (``client.glance``) falls back to ``[type]``
then ``[global]``, Ceph's order (:func:`search_order`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from shoal import errors

__all__ = [
    "CephConf",
    "Entry",
    "load_conf",
    "normalize_key",
    "parse_bool",
    "parse_conf",
    "parse_section",
    "render_conf",
    "search_order",
]

_BLANK = " \t"
#: C's isspace() in the "C" locale: what Ceph trims from names and values.
_SPACE = " \t\n\v\f\r"
_SPACE_RUN = re.compile(r"[ \t\n\v\f\r]+")
_COMMENT_START = "#;"
_KEY_STOP = "=[ "
_INT = re.compile(r"[+-]?[0-9]+")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def normalize_key(name: str) -> str:
    """Ceph's spelling of an option name: ``" mon allow\\tpool delete "`` ->
    ``"mon_allow_pool_delete"``. Case, ``-`` and ``__`` are kept as written."""
    return _SPACE_RUN.sub("_", name.strip(_SPACE))


def search_order(section: str) -> tuple[str, ...]:
    """The sections a lookup in ``section`` reads, first found wins:
    ``client.glance`` -> ``(client.glance, client, global)``, ``mon`` -> ``(mon, global)``."""
    if section == "global":
        return ("global",)
    kind, dot, _ = section.partition(".")
    return (section, kind, "global") if dot else (section, "global")


def parse_bool(text: str) -> bool:
    """Ceph's boolean: ``true``/``false`` in any case, else a decimal integer from
    -2**31 to 2**31-1 (an optional sign, no spaces inside), non-zero being true.
    Surrounding whitespace is ignored (the reader has dropped it already).

    Raises:
        ValueError: anything else (``yes``, ``on``, ``0x1``, ``1.0``, ``""``, 2**31).
    """
    word = text.strip(_SPACE)
    lowered = word.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if _INT.fullmatch(word) and _INT_MIN <= int(word, 10) <= _INT_MAX:
        return int(word, 10) != 0
    raise ValueError(f"{text!r} is not a boolean (Ceph reads true/false or an integer)")


@dataclass(frozen=True)
class Entry:
    """One ``name = value`` line: the name as written, the value as read, its 1-based line."""

    written: str
    value: str
    line: int


@dataclass(frozen=True)
class CephConf:
    """A parsed ceph.conf: section -> normalized name -> :class:`Entry` (file order),
    the line of each section's first heading, and the file it came from."""

    sections: Mapping[str, Mapping[str, Entry]]
    section_lines: Mapping[str, int]
    source: str = "ceph.conf"

    def find(self, option: str, sections: Iterable[str]) -> Entry | None:
        """The entry of ``option`` (any spelling :func:`normalize_key` maps to the same
        name) in the first of ``sections`` that sets it, else None."""
        key = normalize_key(option)
        for name in sections:
            entry = self.sections.get(name, {}).get(key)
            if entry is not None:
                return entry
        return None

    def get(self, option: str, section: str = "global") -> str | None:
        """Value of ``option`` as a daemon or client of ``section`` reads it (along
        :func:`search_order`), else None."""
        entry = self.find(option, search_order(section))
        return entry.value if entry is not None else None

    def get_bool(self, option: str, section: str = "global", default: bool = False) -> bool:
        """Boolean ``option`` (see :func:`parse_bool`); ``default`` when it is not set.

        Raises:
            errors.InvalidArgument: the value is set but not a boolean (names the line).
        """
        entry = self.find(option, search_order(section))
        if entry is None:
            return default
        try:
            return parse_bool(entry.value)
        except ValueError as exc:
            raise errors.InvalidArgument(
                f"{self.source}:{entry.line}: {normalize_key(option)} = {entry.value!r}: {exc}"
            ) from None


class _SyntaxError(Exception):
    def __init__(self, pos: int, reason: str) -> None:
        super().__init__(reason)
        self.pos = pos
        self.reason = reason


@dataclass
class _Line:
    raw_key: str
    value: str
    key_pos: int
    end: int


class _Grammar:
    """Ceph's ceph.conf grammar over ``text``, position by position.

    Each method takes a position and returns the position after what it matched, or None
    when it does not match there; a failure after a point of no return (past ``=``, ``[``,
    an opening quote) raises :class:`_SyntaxError`. Like Ceph's, every step outside quoted
    values first skips comments (blanks then ``#``/``;`` to the end of the line) and line
    continuations (``\\`` at the end of a line).
    """

    def __init__(self, text: str, source: str, first_line: int) -> None:
        self.text = text
        self.size = len(text)
        self.source = source
        self.first_line = first_line
        self.line_starts = [0]
        pos = 0
        while (end := self._eol(pos, anywhere=True)) is not None:
            self.line_starts.append(end)
            pos = end
        self.sections: dict[str, dict[str, Entry]] = {}
        self.section_lines: dict[str, int] = {}
        self.headed = False
        self.single: _Line | None = None  # an option line opening a file without heading

    # --- positions and lines ---------------------------------------------------------
    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos) - 1 + self.first_line

    def line_text(self, pos: int) -> str:
        index = bisect.bisect_right(self.line_starts, pos) - 1
        start = self.line_starts[index]
        end = self.line_starts[index + 1] if index + 1 < len(self.line_starts) else self.size
        return self.text[start:end].rstrip("\r\n")

    def error(self, pos: int, reason: str) -> errors.InvalidArgument:
        return errors.InvalidArgument(f"{self.source}:{self.line_of(pos)}: {reason}")

    # --- lexical pieces --------------------------------------------------------------
    def _eol(self, pos: int, *, anywhere: bool = False) -> int | None:
        """End of the line break at ``pos`` (``anywhere``: of the next one from ``pos``)."""
        text = self.text
        if anywhere:
            hits = [p for p in (text.find("\n", pos), text.find("\r", pos)) if p >= 0]
            if not hits:
                return None
            pos = min(hits)
        if pos >= self.size:
            return None
        if text[pos] == "\n":
            return pos + 1
        if text[pos] == "\r":
            return pos + 2 if text.startswith("\n", pos + 1) else pos + 1
        return None

    def skip(self, pos: int) -> int:
        """Past every comment and line continuation at ``pos``."""
        text, size = self.text, self.size
        while True:
            if pos < size and text[pos] == "\\" and (end := self._eol(pos + 1)) is not None:
                pos = end
                continue
            ahead = pos
            while ahead < size and text[ahead] in _BLANK:
                ahead += 1
            if ahead < size and text[ahead] in _COMMENT_START:
                while ahead < size and text[ahead] not in "\r\n":
                    ahead += 1
                pos = ahead
                continue
            return pos

    def text_char(self, pos: int) -> tuple[str, int] | None:
        """One character of a name or value: ``\\x`` is ``x``; a comment start or line
        break is none."""
        text = self.text
        if pos >= self.size:
            return None
        char = text[pos]
        if char == "\\" and pos + 1 < self.size and text[pos + 1] not in "\r\n":
            return text[pos + 1], pos + 2
        if char in _COMMENT_START or char in "\r\n":
            return None
        return char, pos + 1

    def blanks(self, pos: int) -> int:
        pos = self.skip(pos)
        while pos < self.size and self.text[pos] in _BLANK:
            pos += 1
        return pos

    def empty_lines(self, pos: int) -> int | None:
        """One or more ends of line, each after blanks or a comment."""
        end = None
        while True:
            ahead = self.skip(pos)
            while ahead < self.size and self.text[ahead] in _BLANK:
                ahead += 1
            found = self._eol(ahead)
            if found is None:
                return end
            pos = end = found

    # --- names, values, headings ------------------------------------------------------
    def word(self, pos: int) -> int | None:
        """Name characters up to a space, ``=`` or ``[``; the end of the last one."""
        end = None
        while True:
            ahead = self.skip(pos)
            if ahead < self.size and self.text[ahead] in _KEY_STOP:
                return end
            found = self.text_char(ahead)
            if found is None:
                return end
            pos = end = found[1]

    def key(self, pos: int) -> tuple[int, int] | None:
        """Words separated by blanks: (start, end) of the name as written."""
        start = self.skip(pos)
        end = self.word(start)
        if end is None:
            return None
        while True:
            ahead, blanks = end, 0
            while True:
                ahead = self.skip(ahead)
                if ahead < self.size and self.text[ahead] in _BLANK:
                    ahead, blanks = ahead + 1, blanks + 1
                else:
                    break
            after = self.word(ahead) if blanks else None
            if after is None:
                return start, end
            end = after

    def value(self, pos: int) -> tuple[str, int]:
        ahead = self.skip(pos)
        if ahead < self.size and self.text[ahead] in "\"'":
            quote, ahead, chars = self.text[ahead], ahead + 1, []
            while ahead >= self.size or self.text[ahead] != quote:
                found = self.text_char(ahead)
                if found is None:
                    raise _SyntaxError(ahead, f"the quoted value lacks its closing {quote} "
                                              "(inside quotes, escape # and ; as \\# and \\;)")
                chars.append(found[0])
                ahead = found[1]
            return "".join(chars).strip(_SPACE), ahead + 1
        chars = []
        while (found := self.text_char(self.skip(pos))) is not None:
            chars.append(found[0])
            pos = found[1]
        return "".join(chars).strip(_SPACE), pos

    def key_val(self, pos: int) -> _Line | None:
        span = self.key(self.blanks(pos))
        if span is None:
            return None
        ahead = self.skip(self.blanks(span[1]))
        if ahead >= self.size or self.text[ahead] != "=":
            return None
        value, ahead = self.value(self.blanks(ahead + 1))
        end = self.empty_lines(ahead)
        if end is None:
            after = self.skip(ahead)
            reason = ("the file must end with a line break" if after >= self.size else
                      "only blanks or a comment may follow a quoted value")
            raise _SyntaxError(after, reason)
        return _Line(self.text[span[0]:span[1]], value, span[0], end)

    def heading(self, pos: int) -> tuple[str, int, int] | None:
        """``[name]``: (name, position of ``[``, end)."""
        start = self.skip(pos)
        if start >= self.size or self.text[start] != "[":
            return None
        ahead, chars = start + 1, []
        while True:
            ahead = self.skip(ahead)
            if ahead < self.size and self.text[ahead] == "]":
                break
            found = self.text_char(ahead)
            if found is None:
                break
            chars.append(found[0])
            ahead = found[1]
        if not chars:
            raise _SyntaxError(ahead, "a section name is missing after [")
        if ahead >= self.size or self.text[ahead] != "]":
            raise _SyntaxError(ahead, "the section name lacks its closing ] (escape # and ;)")
        end = self.empty_lines(ahead + 1)
        if end is None:
            after = self.skip(ahead + 1)
            reason = ("the file must end with a line break" if after >= self.size else
                      "only blanks or a comment may follow a section heading")
            raise _SyntaxError(after, reason)
        return "".join(chars), start, end

    # --- structure -------------------------------------------------------------------
    def put(self, section: str, line: _Line) -> None:
        entries = self.sections.setdefault(section, {})
        self.section_lines.setdefault(section, self.line_of(line.key_pos))
        entries[normalize_key(line.raw_key)] = Entry(
            line.raw_key.strip(_SPACE), line.value, self.line_of(line.key_pos))

    def options(self, section: str, pos: int) -> int:
        """Option lines up to the next heading, then blank lines."""
        while self.heading(pos) is None and (line := self.key_val(pos)) is not None:
            self.put(section, line)
            pos = line.end
        while (end := self._eol(self.skip(pos))) is not None:
            pos = end
        return pos

    def section(self, pos: int) -> int | None:
        found = self.heading(pos)
        if found is None:
            return None
        name, start, pos = found
        self.headed = True
        self.sections.setdefault(name, {})
        self.section_lines.setdefault(name, self.line_of(start))
        return self.options(name, pos)

    def conf_file(self) -> None:
        self.single = single = self.key_val(0)
        if single is not None:
            self.put("global", single)
            pos = single.end
        else:
            pos = 0
            while (end := self._eol(self.skip(pos))) is not None:
                pos = end
            while (after := self.section(pos)) is not None:
                pos = after
        self.end_of_input(self.skip(pos))

    def body(self, section: str) -> None:
        """Only option lines, blank lines and comments (a section's body)."""
        start = self.empty_lines(0) or 0
        self.end_of_input(self.skip(self.options(section, start)))

    def end_of_input(self, pos: int) -> None:
        if pos >= self.size:
            return
        if not self.text[pos:].strip(_BLANK):
            raise _SyntaxError(pos, "the file must end with a line break")
        line = self.line_text(pos).strip(_BLANK)
        option = self.single or (None if self.headed else self.key_val(pos))
        if option is not None:
            raise _SyntaxError(option.key_pos, f"{option.raw_key.strip(_SPACE)!r} is outside "
                               "any section: put it under a [section] heading (e.g. [global]); "
                               "Ceph takes one without only as the first and only line")
        if line.startswith("[") and self.text[pos] in _BLANK:
            raise _SyntaxError(pos, f"cannot parse {line!r}: a [section] heading must start "
                                    "its line")
        raise _SyntaxError(pos, f"cannot parse {line!r}: expected 'name = value' or "
                                "'[section]'")


def parse_conf(text: str, source: str = "ceph.conf") -> CephConf:
    """Parse ceph.conf ``text`` as Ceph does (see the module docstring); ``source`` names it
    in errors (``source:line: reason``).

    Raises:
        errors.InvalidArgument: Ceph would refuse the file (the message names the line).
    """
    grammar = _Grammar(text, source, 1)
    try:
        grammar.conf_file()
    except _SyntaxError as exc:
        raise grammar.error(exc.pos, exc.reason) from None
    return _frozen(grammar)


def parse_section(text: str, section: str, source: str, first_line: int) -> dict[str, Entry]:
    """Option lines of one ceph.conf section (no heading), the first being line
    ``first_line`` of ``source``: normalized name -> :class:`Entry`, the last of repeated
    names winning. A missing final line break is supplied (the text is part of a file).

    Raises:
        errors.InvalidArgument: a line Ceph would refuse (the message names the line).
    """
    if text and text[-1] not in "\r\n":
        text += "\n"
    grammar = _Grammar(text, source, first_line)
    grammar.headed = True
    try:
        grammar.body(section)
    except _SyntaxError as exc:
        raise grammar.error(exc.pos, exc.reason) from None
    return grammar.sections.get(section, {})


def _frozen(grammar: _Grammar) -> CephConf:
    sections = {name: MappingProxyType(entries) for name, entries in grammar.sections.items()}
    return CephConf(MappingProxyType(sections), MappingProxyType(grammar.section_lines),
                    grammar.source)


def load_conf(path: Path) -> CephConf:
    """Read and parse ``path`` (UTF-8).

    Raises:
        errors.Unavailable: the file cannot be read.
        errors.InvalidArgument: it is not UTF-8, or does not parse (names the line).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise errors.Unavailable(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise errors.InvalidArgument(f"{path}:{line}: not UTF-8 text") from None
    return parse_conf(text, str(path))


def _escape_value(text: str) -> str:
    """``text`` as a ceph.conf value that reads back as ``text``."""
    if "\n" in text or "\r" in text or text != text.strip(_SPACE):
        raise errors.InvalidArgument(
            f"ceph.conf: {text!r} holds a line break or surrounding whitespace (Ceph drops it)")
    escaped = re.sub(r"([\\#;])", r"\\\1", text)
    return "\\" + escaped if escaped[:1] in ("\"", "'") else escaped


def _check_name(name: str, forbidden: str, what: str) -> str:
    """Names are read raw (an escape would stay in the name): refuse what cannot be written."""
    if (not name or name != name.strip(_SPACE) or name.startswith("[")
            or any(char in name for char in forbidden + "#;\\\r\n")):
        raise errors.InvalidArgument(f"ceph.conf: {what} {name!r} cannot be written")
    return name


def render_conf(sections: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> str:
    """Write sections the way Ceph's tools do (``[name]``, then tab-indented
    ``name = value``). Values are escaped (``\\``, ``#``, ``;``, a leading quote) so that
    :func:`parse_conf`, and Ceph, read back exactly ``value``.

    Raises:
        errors.InvalidArgument: a value holds a line break or surrounding whitespace; a
            name is empty, has surrounding whitespace, starts with ``[`` or holds ``#``,
            ``;``, ``\\``, a line break, or (option names) ``=``, (section names) ``]``.
    """
    out: list[str] = []
    for name, options in sections:
        out.append(f"[{_check_name(name, ']', 'section name')}]\n")
        for key, value in options:
            out.append(f"\t{_check_name(key, '=', 'option name')} = {_escape_value(value)}\n")
    return "".join(out)
