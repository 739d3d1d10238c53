"""``shoal ceph <words...>``: Ceph's ``ceph`` admin command against the cluster.

Words become a mon command dict as the real ``ceph`` builds it (see
:func:`shoal.cluster.parse_words`), the command runs in a session, and the reply
is printed like ``ceph`` (``src/ceph.in``) prints it:

- success: ``outs`` (if any) on stderr, ``outbuf`` as-is on stdout (or into
  ``-o FILE``); with ``--format json*`` a blank line comes first on stdout, as
  ``ceph`` prints for old consumers; exit 0;
- failure: ``Error EXXX: outs`` on stderr, exit status = the errno (EPERM 1,
  ENOENT 2, EACCES 13, EINVAL 22 ...);
- bad words: ``ceph``'s diagnostics and ``Error EINVAL: invalid command`` (22);
- connection refused (wrong or unknown key): ``[errno 13] RADOS permission denied
  (error connecting to the cluster)``, exit 13.

The same on both backends (``--backend embedded|ceph``): on ``ceph`` the
command dict goes to the real monitors and their reply is printed the same way;
words shoal's own command table does not know are parsed, as the real ``ceph``
parses them, against the monitors' command descriptions (so every mon and mgr
command works there).

Options (anywhere among the words, before a lone ``--``): the global options,
``-f/--format json|json-pretty|plain``, ``-o/--out-file FILE`` (``-`` = stdout;
a new file is created with mode 0600), ``-i/--in-file FILE`` (``-`` = stdin),
``-s/--status`` (the ``status`` command), ``-h/--help [words]``.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from shoal import errors
from shoal.cli._common import GLOBAL_VALUE_OPTIONS, GlobalOptions, output_width, wrap_text
from shoal.cluster import (
    COMMANDS,
    CephSession,
    CommandSyntaxError,
    MonResult,
    Session,
    open_session,
    parse_words,
)

__all__ = ["ceph"]

_FORMATS = ("json", "json-pretty", "plain")
_CEPH_VALUE_OPTIONS = {
    "-f": "format", "--format": "format", "-o": "out_file", "--out-file": "out_file",
    "-i": "in_file", "--in-file": "in_file",
}


@dataclass
class _Invocation:
    words: list[str] = field(default_factory=list)
    format: str | None = None
    out_file: str | None = None
    in_file: str | None = None
    help: bool = False
    status: bool = False


class _Usage(Exception):
    """A command-line mistake: message for stderr and the exit status."""

    def __init__(self, message: str, status: int = errno.EINVAL) -> None:
        super().__init__(message)
        self.status = status


def _split_argv(argv: Sequence[str], opts: GlobalOptions) -> _Invocation:
    """Take ceph's own and the global options out of argv; the rest are words."""
    inv = _Invocation()
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            inv.words.extend(argv[index - 1:])
            break
        if word in ("-h", "--help"):
            inv.help = True
            continue
        if word in ("-s", "--status"):
            inv.status = True
            continue
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if name not in GLOBAL_VALUE_OPTIONS and name not in _CEPH_VALUE_OPTIONS:
            inv.words.append(word)
            continue
        if not eq:
            if index >= len(argv):
                raise _Usage(f"option {name} needs a value")
            inline = argv[index]
            index += 1
        if name in GLOBAL_VALUE_OPTIONS:
            try:
                opts.apply(name, inline)
            except errors.InvalidArgument as exc:
                raise _Usage(f"{name}: {exc.message}") from None
        else:
            setattr(inv, _CEPH_VALUE_OPTIONS[name], inline)
    if inv.status:
        inv.words.insert(0, "status")
    return inv


def _help_text(words: Sequence[str], width: int) -> str:
    """The command list (those starting with ``words``, else all) in ``ceph -h``'s two
    columns: each half of ``width`` (less the one space between them), the command
    and its help each wrapped there, continuation lines indented by one space."""
    specs = [s for s in COMMANDS if not s.hidden and s.words[: len(words)] == tuple(words)]
    if not specs:
        specs = [s for s in COMMANDS if not s.hidden]
    usage_width = (width - 1) // 2
    help_width = width - 1 - usage_width
    lines = [*wrap_text("usage: shoal ceph [options] <command words...>", width), "",
             "Monitor commands:"]
    for spec in specs:
        usage = wrap_text(spec.usage(), usage_width)
        helps = wrap_text(spec.help, help_width)
        for row in range(max(len(usage), len(helps))):
            left = usage[row] if row < len(usage) else ""
            right = helps[row] if row < len(helps) else ""
            lines.append(f"{left:<{usage_width}} {right}".rstrip())
    return "\n".join(lines)


def _build_command(inv: _Invocation, session: Session | None = None) -> dict[str, object]:
    """The command dict for ``inv``'s words: by shoal's command table, else (on the
    Ceph backend, ``session`` given) by the monitors' own command descriptions."""
    if not inv.words:
        raise _Usage("no command given; run 'shoal ceph --help' for the list of commands")
    try:
        cmd = parse_words(inv.words)
    except CommandSyntaxError as exc:
        if not isinstance(session, CephSession):
            raise _Usage("\n".join([*exc.lines, "Error EINVAL: invalid command"])) from None
        try:
            described = session.parse_words(inv.words)  # prints Ceph's advice on failure
        except errors.Unavailable:
            raise _Usage("\n".join([*exc.lines, "Error EINVAL: invalid command"])) from None
        if described is None:
            raise _Usage("Error EINVAL: invalid command") from None
        cmd = described
    if inv.format is not None:
        if inv.format not in _FORMATS:
            raise _Usage(f"invalid format {inv.format!r}: choose from {', '.join(_FORMATS)}")
        cmd["format"] = inv.format
    return cmd


def _backend(opts: GlobalOptions) -> str:
    try:
        return opts.resolved_backend()
    except errors.InvalidArgument as exc:
        raise _Usage(f"SHOAL_BACKEND: {exc.message}") from None


def _read_input(in_file: str | None) -> bytes:
    if in_file is None:
        return b""
    try:
        return sys.stdin.buffer.read() if in_file == "-" else Path(in_file).read_bytes()
    except OSError as exc:
        raise _Usage(f"Can't open input file {in_file}: {exc.strerror}", 1) from None


def _open_session(opts: GlobalOptions) -> Session:
    try:
        return open_session(opts.backend_config())
    except errors.AuthenticationFailed:
        raise _Usage(
            "[errno 13] RADOS permission denied (error connecting to the cluster)", errno.EACCES
        ) from None
    except errors.NotFound as exc:
        raise _Usage(f"{exc}\n[errno 2] RADOS object not found (error connecting to the "
                     "cluster)", 1) from None
    except errors.TimedOut:
        raise _Usage("[errno 110] RADOS timed out (error connecting to the cluster)",
                     1) from None
    except errors.ShoalError as exc:
        raise _Usage(f"Error initializing cluster client: {exc}", 1) from None


def _write_output(inv: _Invocation, result: MonResult) -> None:
    if inv.out_file is not None and inv.out_file != "-":
        try:
            fd = os.open(inv.out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(result.outbuf)
        except OSError as exc:
            raise _Usage(f"Can't open output file {inv.out_file}: {exc.strerror}", 1) from None
        return
    stdout = sys.stdout.buffer
    if inv.out_file is None and inv.format is not None and inv.format.startswith("json"):
        stdout.write(b"\n")
    stdout.write(result.outbuf)
    stdout.flush()


def run(argv: Sequence[str], opts: GlobalOptions) -> int:
    """Run ``ceph`` with ``argv`` (everything after ``ceph``); return the exit status."""
    try:
        inv = _split_argv(argv, opts)
        if inv.help:
            click.echo(_help_text(inv.words, output_width()))
            return 0
        if _backend(opts) == "ceph":  # as `ceph`: connect, then parse (with the mon's help)
            with _open_session(opts) as session:
                cmd = _build_command(inv, session)
                result = session.mon_command(cmd, _read_input(inv.in_file))
        else:
            cmd = _build_command(inv)
            inbuf = _read_input(inv.in_file)
            with _open_session(opts) as session:
                result = session.mon_command(cmd, inbuf)
        if result.ret < 0:
            name = errno.errorcode.get(-result.ret, "Unknown")
            click.echo(f"Error {name}: {result.outs}", err=True)
            return -result.ret
        if result.outs:
            click.echo(result.outs, err=True)
        _write_output(inv, result)
        return 0
    except _Usage as exc:
        click.echo(str(exc), err=True)
        return exc.status


@click.command(
    "ceph",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    add_help_option=False,
)
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def ceph(ctx: click.Context, argv: tuple[str, ...]) -> None:
    """Ceph's `ceph` admin commands (pools, cephx users, df, status ...).

    Examples: `shoal ceph osd pool create volumes 128`, `shoal ceph auth
    get-or-create client.cinder mon 'allow r' osd 'allow rwx pool=volumes' -o
    FILE`. Run `shoal ceph --help` for the command list.
    """
    status = run(argv, ctx.ensure_object(GlobalOptions))
    ctx.exit(status)
