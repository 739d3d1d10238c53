"""shoal's ceph.conf reader against Ceph's own: ``ceph-conf`` (Debian's ceph-common).

Each file is read by :func:`shoal.cluster._conf.parse_conf` and by ``ceph-conf``:
``--show_conf`` prints every section and option as Ceph parsed them (values raw, as shoal
keeps them), ``--name client.x [-s SECTION] --lookup KEY`` answers a lookup the way a
client reads it, ``--show_config`` gives the booleans Ceph's option parser made of a value.
A file Ceph refuses must be refused by shoal, and the other way round.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal import errors
from shoal.cluster._conf import (
    CephConf,
    load_conf,
    parse_bool,
    parse_conf,
    parse_section,
    render_conf,
    search_order,
)

#: What --show_conf and --lookup print: section -> option -> value; None: Ceph refused it.
Dump = dict[str, dict[str, str]] | None

_TOOL = shutil.which("ceph-conf") or "/usr/bin/ceph-conf"
_CLIENT = "client.x"


def _run(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not os.access(_TOOL, os.X_OK):
        pytest.fail(f"{_TOOL} is missing: the test command installs Debian's ceph-common")
    return subprocess.run(
        [_TOOL, "-c", str(path), *args], capture_output=True, text=True, timeout=30,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, check=False)


def _refused(proc: subprocess.CompletedProcess[str]) -> bool:
    return proc.returncode != 0 and "error reading config file" in proc.stderr


def ceph_dump(path: Path) -> Dump:
    """Ceph's parse of ``path`` (``--show_conf`` prints ``[name]`` and ``\\tkey = "value"``
    lines to stderr and exits 0)."""
    proc = _run(path, "--show_conf", "--lookup", "unused")
    if _refused(proc):
        return None
    assert proc.returncode == 0, proc.stderr
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in proc.stderr.split("\n"):
        if line.startswith("["):
            current = sections.setdefault(line[1:-1], {})
        elif line.startswith("\t"):
            key, _, quoted = line[1:].partition(' = "')
            current[key] = quoted[:-1]
        else:
            assert line == "", f"unexpected --show_conf line {line!r}"
    return sections


def shoal_dump(text: str) -> Dump:
    """shoal's parse, shaped like :func:`ceph_dump` (Ceph's printer skips empty names)."""
    try:
        conf = parse_conf(text)
    except errors.InvalidArgument:
        return None
    return {name: {key: entry.value for key, entry in entries.items() if key}
            for name, entries in conf.sections.items()}


def ceph_lookup(path: Path, key: str, section: str | None = None) -> str | None:
    """``ceph-conf --name client.x [-s section] --lookup key``; None: not set."""
    extra = ["-s", section] if section is not None else []
    proc = _run(path, "--name", _CLIENT, *extra, "--lookup", key)
    assert not _refused(proc), proc.stderr
    if proc.returncode == 1:
        return None
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("\n")
    return proc.stdout[:-1]


def shoal_lookup(conf: CephConf, key: str, section: str | None = None) -> str | None:
    sections = ([section] if section is not None else []) + list(search_order(_CLIENT))
    entry = conf.find(key, sections)
    return entry.value if entry is not None else None


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ceph.conf"
    path.write_bytes(text.encode("ascii"))
    return path


# --- tricky files, with what Ceph makes of them --------------------------------------------

#: (id, text, [(key, extra section or None, value a client.x reads)])
CASES: list[tuple[str, str, list[tuple[str, str | None, str | None]]]] = [
    ("comments", "# hash\n; semi\n[global]\n  # indented\n\t; tab\nk = v # trailing\n"
                 "k2 = v;semi\nk3 = v#tight\nk4 = a # b # c\n",
     [("k", None, "v"), ("k2", None, "v"), ("k3", None, "v"), ("k4", None, "a")]),
    ("quotes", '[global]\nd = "a b"  # c\ns = \'x y\';c\ne = ""\np = "  pad\t "\n'
               'm = a"b"\nq = "it\'s"\nr = \'say "hi"\'\n',
     [("d", None, "a b"), ("s", None, "x y"), ("e", None, ""), ("p", None, "pad"),
      ("m", None, 'a"b"'), ("q", None, "it's"), ("r", None, 'say "hi"')]),
    ("escapes", '[global]\nh = a\\#b\ns = a\\;b\nb = a\\\\b\nq = "a \\"b\\" \\# c"\nx = \\x\\y\n',
     [("h", None, "a#b"), ("s", None, "a;b"), ("b", None, "a\\b"), ("q", None, 'a "b" # c'),
      ("x", None, "xy")]),
    ("names", "[global]\nmon allow pool delete = 1\nrbd_cache = false\nrbd-cache = dash\n"
              "RBD_CACHE = upper\nrbd   cache\tsize = 5\n\tosd\tpool = t\nrbd__x = two\n",
     [("mon_allow_pool_delete", None, "1"), ("mon allow pool delete", None, "1"),
      ("rbd cache", None, "false"), ("rbd-cache", None, "dash"), ("RBD_CACHE", None, "upper"),
      ("rbd_cache_size", None, "5"), ("osd pool", None, "t"), ("rbd__x", None, "two"),
      ("rbd_x", None, None), ("Rbd_Cache", None, None)]),
    ("sections", "[global]\na = g\nb = g\nc = g\nd = g\n[client]\nb = c\nc = c\nd = c\n"
                 "[client.x]\nc = x\n[client.y]\nd = y\n[Client.x]\na = case\n[ global ]\nb = sp\n",
     [("a", None, "g"), ("b", None, "c"), ("c", None, "x"), ("d", None, "c"),
      ("d", "client.y", "y"), ("a", "Client.x", "case"), ("b", " global ", "sp")]),
    ("continuations", "[global]\nk = one \\\n    two\nk2 = a\\\nb\nk3 = end \\\n# comment\n"
                      "k4 = after\nk5 = \\\n  lead\n",
     [("k", None, "one     two"), ("k2", None, "ab"), ("k3", None, "end"),
      ("k4", None, "after"), ("k5", None, "lead")]),
    ("empty values", '[global]\ne1 =\ne2 = \t\ne3 = # only a comment\ne4 = ""\ne5 = \'\' ;c\n',
     [("e1", None, ""), ("e2", None, ""), ("e3", None, ""), ("e4", None, ""), ("e5", None, "")]),
    ("repeats", "[global]\nk = 1\nk = 2\n[client]\nj = 1\n[global]\nk = 3\n[client]\nj = 2\n",
     [("k", None, "3"), ("j", None, "2")]),
    ("booleans", "[client]\na = true\nb = FALSE\nc = yes\nd = on\ne = 0\nf = -1\n",
     [("a", None, "true"), ("b", None, "FALSE"), ("c", None, "yes"), ("f", None, "-1")]),
    ("line breaks", "[global]\r\nk = v\r\nk2 = w\rk3 = x\n\r\n[client]\rj = y\r",
     [("k", None, "v"), ("k2", None, "w"), ("k3", None, "x"), ("j", None, "y")]),
    ("one line without heading", "fsid = abc\n# and a comment\n", [("fsid", None, "abc")]),
    ("blanks around =", "[global]\n\tk\t=\tv\t\n  j=w  \n", [("k", None, "v"), ("j", None, "w")]),
    ("= and [ in values", "[global]\nk = a=b [c]\nj = [x\n", [("k", None, "a=b [c]"),
                                                                ("j", None, "[x")]),
    ("heading trailers", "[global]  # c\nk = v\n[client];c\nj = w\n\n\n",
     [("k", None, "v"), ("j", None, "w")]),
    ("final comment without line break", "[global]\nk = v\n# end", [("k", None, "v")]),
    ("empty file", "", [("k", None, None)]),
]

#: Files Ceph refuses.
REFUSED: list[tuple[str, str]] = [
    ("no final line break", "[global]\nk = v"),
    ("blanks after the final line break", "[global]\nk = v\n  "),
    ("indented heading", "[global]\nk = v\n  [client]\nj = w\n"),
    ("comment start inside quotes", '[global]\nk = "a # b"\n'),
    ("continuation inside quotes", '[global]\nk = "a \\\nb"\n'),
    ("text after the closing quote", '[global]\nk = "a" b\n'),
    ("unterminated quote", "[global]\nk = 'a\n"),
    ("two options before a heading", "a = 1\nb = 2\n"),
    ("an option after blank lines, no heading", "\nfsid = x\n"),
    ("an option then a heading", "a = 1\n[global]\nb = 2\n"),
    ("no =", "[global]\njust words\n"),
    ("name: value", "[global]\nk: v\n"),
    ("empty name", "[global]\n= v\n"),
    ("empty section name", "[]\nk = v\n"),
    ("unterminated heading", "[global\nk = v\n"),
    ("comment inside a heading", "[glo #bal]\nk = v\n"),
    ("text after a heading", "[global] x\nk = v\n"),
    ("continuation at the end of the file", "[global]\nk = v \\\n"),
]


@pytest.mark.parametrize(("text", "lookups"), [pytest.param(t, k, id=i) for i, t, k in CASES])
def test_tricky_files_read_as_ceph_reads_them(
        tmp_path: Path, text: str, lookups: list[tuple[str, str | None, str | None]]) -> None:
    path = write(tmp_path, text)
    dump = ceph_dump(path)
    assert dump is not None
    assert shoal_dump(text) == dump
    conf = parse_conf(text)
    for key, section, expected in lookups:
        assert (shoal_lookup(conf, key, section), ceph_lookup(path, key, section)) == (
            expected, expected), (key, section)


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for i, t in REFUSED])
def test_files_ceph_refuses_are_refused(tmp_path: Path, text: str) -> None:
    assert ceph_dump(write(tmp_path, text)) is None
    with pytest.raises(errors.InvalidArgument, match=r"^ceph\.conf:[0-9]+: "):
        parse_conf(text)


# --- booleans: what Ceph's option parser makes of a value ----------------------------------

BOOL_WORDS = ["true", "false", "TRUE", "False", "tRuE", "1", "0", "00", "01", "+1", "-1", "+0",
              "-0", "42", "2147483647", "-2147483648", "2147483648", "-2147483649",
              "99999999999999999999", "yes", "no", "on", "off", "y", "n", "t", "f", "0x1",
              "1.0", "1e3", "1_0", "", "one", "truefalse", '"1"', "'true'"]


def ceph_booleans(tmp_path: Path, word: str) -> bool | None:
    """How Ceph reads ``word`` as a boolean option; None: it refuses it (the two options
    then keep their opposite defaults: mon_allow_pool_delete false, rbd_cache true)."""
    path = write(tmp_path, f"[client]\nmon_allow_pool_delete = {word}\nrbd_cache = {word}\n")
    proc = _run(path, "--name", _CLIENT, "--show_config")
    assert proc.returncode == 0, proc.stderr
    shown = dict(line.split(" = ", 1) for line in proc.stdout.splitlines() if " = " in line)
    pair = (shown["mon_allow_pool_delete"], shown["rbd_cache"])
    assert pair in {("true", "true"), ("false", "false"), ("false", "true")}, pair
    return None if pair == ("false", "true") else pair[0] == "true"


def shoal_boolean(word: str) -> bool | None:
    conf = parse_conf(f"[client]\nrbd_cache = {word}\n")
    try:
        return conf.get_bool("rbd_cache", _CLIENT)
    except errors.InvalidArgument:
        return None


@pytest.mark.parametrize("word", BOOL_WORDS)
def test_booleans_read_as_ceph_reads_them(tmp_path: Path, word: str) -> None:
    assert shoal_boolean(word) == ceph_booleans(tmp_path, word)


def test_parse_bool_refuses_with_value_error() -> None:
    assert parse_bool(" -7 ") is True and parse_bool("False") is False
    with pytest.raises(ValueError, match="'yes' is not a boolean"):
        parse_bool("yes")


# --- generated files -----------------------------------------------------------------------

_EOL = st.sampled_from(["\n"] * 12 + ["\r\n", "\r"])
_BLANKS = st.sampled_from(["", "", " ", "\t", "  ", " \t"])
_COMMENT = st.builds(lambda lead, mark, text: f"{lead}{mark}{text}", _BLANKS,
                     st.sampled_from("#;"), st.text(alphabet="ab #;\"'\\=[]", max_size=6))
_NAME_WORD = st.text(alphabet="abAB_-.1$'\"]\\", min_size=1, max_size=5)
_NAME = st.builds(lambda first, rest: first + "".join(sep + w for sep, w in rest), _NAME_WORD,
                  st.lists(st.tuples(st.sampled_from([" ", "  ", "\t", " \t"]), _NAME_WORD),
                           max_size=2))
_CHARS = "ab =[]$-_.\t'\"#;\\\x0c"
_UNQUOTED = st.text(alphabet=_CHARS, max_size=10)
_QUOTED = st.builds(lambda q, body, tail: f"{q}{body}{q}{tail}", st.sampled_from("\"'"),
                    st.text(alphabet=_CHARS.replace("#", "").replace(";", ""), max_size=8),
                    st.sampled_from([""] * 6 + [" ", " # c", ";c", "x", "\\"]))
_VALUE = st.one_of(_UNQUOTED, _QUOTED)
_TRAILER = st.sampled_from(["", "", "", "", "", " ", " # c", ";c", "#c", " \\", "\\"])
_OPTION = st.builds(lambda lead, name, around, value, trailer: (
    f"{lead}{name}{around[0]}={around[1]}{value}{trailer}"), _BLANKS, _NAME,
    st.tuples(_BLANKS, _BLANKS), _VALUE, _TRAILER)
_SECTION_NAME = st.one_of(st.sampled_from(["global", "client", "client.x", "mon", "Client",
                                           " global", "osd.0"]),
                          st.text(alphabet="abc. _-\\]#", min_size=1, max_size=6))
_HEADING = st.builds(lambda lead, name, trailer: f"{lead}[{name}]{trailer}",
                     st.sampled_from([""] * 19 + [" "]), _SECTION_NAME,
                     st.sampled_from([""] * 6 + [" ", " # c", ";c", " x", "\\"]))
_SOUP = st.text(alphabet="ab =[]#;\\\"' \t\n", max_size=12)
_LINE = st.one_of(*[_OPTION] * 10, _HEADING, _HEADING, _COMMENT, _BLANKS, _SOUP)


@st.composite
def conf_texts(draw: st.DrawFn) -> str:
    """A ceph.conf-like text: mostly sections of options, with Ceph's rough edges."""
    head = draw(st.sampled_from(["[global]\n"] * 6 + ["", "[client.x]\r\n"]))
    lines = draw(st.lists(st.tuples(_LINE, _EOL), max_size=8))
    text = head + "".join(line + eol for line, eol in lines)
    if text and draw(st.integers(0, 19)) == 0:
        text = text.rstrip("\r\n")  # Ceph refuses a last line without a line break
    return text


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conf_texts())
def test_generated_files_read_as_ceph_reads_them(tmp_path: Path, text: str) -> None:
    assert shoal_dump(text) == ceph_dump(write(tmp_path, text))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(
    st.sampled_from(["global", "client", "client.x", "mon", "osd.1"]),
    st.lists(st.tuples(st.sampled_from(["fsid", "mon host", "rbd_cache", "k", "a b c"]),
                       st.text(alphabet="ab #;\\\"'=[]$\t-", max_size=10)
                       .map(lambda v: v.strip(" \t\x0c"))), max_size=4)), max_size=4))
def test_rendered_files_read_back_the_same_in_shoal_and_ceph(
        tmp_path: Path, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
    text = render_conf(sections)
    expected: dict[str, dict[str, str]] = {}
    for name, options in sections:
        values = expected.setdefault(name, {})
        for key, value in options:
            values[key.replace(" ", "_")] = value
    assert shoal_dump(text) == expected
    assert ceph_dump(write(tmp_path, text)) == expected


# --- files, sections of other files, writing -----------------------------------------------


def test_load_conf_names_the_line_of_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "ceph.conf"
    path.write_bytes(b"[global]\n# caf\xc3\xa9 is fine\nk = \xff\n")
    with pytest.raises(errors.InvalidArgument, match=rf"^{re.escape(str(path))}:3: not UTF-8"):
        load_conf(path)
    with pytest.raises(errors.Unavailable, match="cannot read"):
        load_conf(tmp_path / "missing.conf")


def test_parse_section_reads_option_lines_numbered_from_their_place() -> None:
    entries = parse_section("\n# c\nrbd cache = false\nk = a \\\n  b\n", "client", "x.conf", 7)
    assert {k: (e.written, e.value, e.line) for k, e in entries.items()} == {
        "rbd_cache": ("rbd cache", "false", 9), "k": ("k", "a   b", 10)}
    with pytest.raises(errors.InvalidArgument, match=r"^x\.conf:8: cannot parse 'junk'"):
        parse_section("k = v\njunk", "client", "x.conf", 7)


@pytest.mark.parametrize(("section", "key", "value"), [
    ("global", "k", " padded"), ("global", "k", "two\nlines"), ("global", "a=b", "v"),
    ("global", "[k", "v"), ("global", "k#", "v"), ("global", "k\\", "v"), ("global", "", "v"),
    ("a]b", "k", "v"), ("", "k", "v"), (" global", "k", "v"),
])
def test_render_conf_refuses_what_would_not_read_back(section: str, key: str,
                                                      value: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=r"^ceph\.conf: "):
        render_conf([(section, [(key, value)])])
