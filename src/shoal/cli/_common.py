"""Options every ``shoal`` command shares, and how they are found in argv.

The global options (as Ceph's tools name them) select the cluster and the
identity: ``--backend embedded|ceph`` (else ``$SHOAL_BACKEND``, else
``embedded``); for ``embedded``, ``--data-dir DIR`` (or ``-c/--conf
DIR/ceph.conf``: the data directory is the file's directory); for ``ceph``,
``-c/--conf FILE`` names a real ``ceph.conf`` (else ``$CEPH_CONF``, else
``/etc/ceph/ceph.conf``); ``--id NAME`` or ``-n/--name TYPE.ID``, and
``-k/--keyring FILE`` (passed to librados as the real tools do). They are
accepted before the command group (``shoal --id cinder ceph ...``) and, as
Ceph allows, after it (``shoal ceph ... --id cinder``); a later occurrence overrides an earlier one.
``shoal --help`` lists them once; each command accepts them without repeating them in
its own help (:func:`global_options`, :func:`note_global_options`).

Also here: :func:`exit_with` (one message on stderr, then the exit status),
:func:`output_width` and :func:`wrap_text` (text as wide as the output, broken as
``ceph -h`` breaks it) and :class:`AliasGroup` (a command group whose aliases show
next to the command, as ``rbd help`` shows them).
"""

from __future__ import annotations

import os
import string
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from shoal import errors
from shoal.cluster import BackendConfig, default_data_dir
from shoal.cluster.backend import BackendName, check_backend
from shoal.cluster.datadir import ADMIN_ENTITY

__all__ = [
    "AliasGroup",
    "GlobalOptions",
    "exit_with",
    "global_options",
    "listed_global_options",
    "note_global_options",
    "output_width",
    "wrap_text",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class GlobalOptions:
    """The selected backend, data directory or conf, entity and keyring (None: the default)."""

    backend: BackendName | None = None
    data_dir: Path | None = None
    conf: Path | None = None
    name: str | None = None
    keyring: Path | None = None

    def set_id(self, client_id: str) -> None:
        self.name = f"client.{client_id}"

    def entity(self) -> str:
        return self.name or ADMIN_ENTITY

    def set_backend(self, name: str) -> None:
        """Select the backend.

        Raises:
            errors.InvalidArgument: not ``embedded`` or ``ceph``.
        """
        self.backend = check_backend(name)

    def resolved_backend(self) -> BackendName:
        """``--backend``, else ``$SHOAL_BACKEND``, else ``embedded``.

        Raises:
            errors.InvalidArgument: ``$SHOAL_BACKEND`` names no backend.
        """
        if self.backend is not None:
            return self.backend
        return check_backend(os.environ.get("SHOAL_BACKEND") or "embedded")

    def backend_config(self) -> BackendConfig:
        """The :class:`~shoal.cluster.BackendConfig` these options select
        (give it to :func:`shoal.cluster.open_session`).

        Raises:
            errors.InvalidArgument: unknown backend or malformed entity name.
        """
        backend = self.resolved_backend()
        if backend == "ceph":
            return BackendConfig(backend="ceph", ceph_conf=self.conf, name=self.entity(),
                                 keyring=self.keyring)
        return BackendConfig(backend="embedded", data_dir=self.resolved_data_dir(),
                             name=self.entity(), keyring=self.keyring)

    def resolved_data_dir(self) -> Path:
        """``--data-dir``, else ``--conf``'s directory, else the default location.

        Raises:
            errors.InvalidArgument: the ``ceph`` backend is selected (it has no
                data directory: open sessions with :meth:`backend_config`).
        """
        if self.resolved_backend() != "embedded":
            raise errors.InvalidArgument(
                "this command does not support --backend ceph yet (no data directory)")
        if self.data_dir is not None:
            return self.data_dir
        if self.conf is not None:
            return self.conf.expanduser().resolve().parent
        return default_data_dir()

    def apply(self, option: str, value: str) -> None:
        """Set from a command-line option name (``--id``, ``-k`` ...) and its value."""
        setter = _SETTERS[option]
        setter(self, value)


_SETTERS: dict[str, Callable[[GlobalOptions, str], None]] = {
    "--backend": GlobalOptions.set_backend,
    "--data-dir": lambda o, v: setattr(o, "data_dir", Path(v).expanduser()),
    "-c": lambda o, v: setattr(o, "conf", Path(v)),
    "--conf": lambda o, v: setattr(o, "conf", Path(v)),
    "--id": GlobalOptions.set_id,
    "--user": GlobalOptions.set_id,
    "-n": lambda o, v: setattr(o, "name", v),
    "--name": lambda o, v: setattr(o, "name", v),
    "-k": lambda o, v: setattr(o, "keyring", Path(v).expanduser()),
    "--keyring": lambda o, v: setattr(o, "keyring", Path(v).expanduser()),
}
#: Option spellings that take a value and set a :class:`GlobalOptions` field.
GLOBAL_VALUE_OPTIONS = frozenset(_SETTERS)


def _store(option: str) -> Callable[[click.Context, click.Parameter, str | None], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            try:
                ctx.ensure_object(GlobalOptions).apply(option, value)
            except errors.InvalidArgument as exc:
                raise click.BadParameter(exc.message, ctx, param) from None

    return callback


class _GlobalOption(click.Option):
    """A global option; hidden in a command's help (``shoal --help`` lists them)."""


_SPECS: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (("--backend",), "--backend", "embedded|ceph",
     "Cluster backend: the embedded one, or a real Ceph cluster through librados "
     "[default: $SHOAL_BACKEND, else embedded]."),
    (("--data-dir",), "--data-dir", "DIR",
     "Data directory of the embedded cluster [default: $SHOAL_DATA_DIR, else "
     "$XDG_DATA_HOME/shoal, else ~/.local/share/shoal]."),
    (("-c", "--conf"), "--conf", "FILE",
     "embedded: a ceph.conf inside the data directory (selects that directory); "
     "ceph: the cluster's ceph.conf [default: $CEPH_CONF, else /etc/ceph/ceph.conf]."),
    (("--id", "--user"), "--id", "NAME", "Client id: act as client.NAME."),
    (("-n", "--name"), "--name", "TYPE.ID", "Entity name [default: client.admin]."),
    (("-k", "--keyring"), "--keyring", "FILE",
     "Keyring file [default: DIR/ceph.<name>.keyring]."),
)
#: The line a command's help ends with when it takes the global options.
GLOBAL_OPTIONS_NOTE = ("Global options (--backend, --data-dir, -c/--conf, --id, -n/--name, "
                       "-k/--keyring; see 'shoal --help') are accepted here too.")


def _add_global_options(fn: F, hidden: bool) -> F:
    for decls, option, metavar, help_text in reversed(_SPECS):
        fn = click.option(
            *decls, metavar=metavar, help=help_text, expose_value=False,
            callback=_store(option), is_eager=True, hidden=hidden, cls=_GlobalOption,
        )(fn)
    return fn


def global_options(fn: F) -> F:
    """Add the global options to a click command (hidden in its help); they update
    ``ctx.obj``."""
    return _add_global_options(fn, hidden=True)


def listed_global_options(fn: F) -> F:
    """The global options as :func:`global_options` adds them, listed in the help
    (for the ``shoal`` group itself, the one place that documents them)."""
    return _add_global_options(fn, hidden=False)


def _walk(command: click.Command) -> Iterable[click.Command]:
    yield command
    if isinstance(command, click.Group):
        seen: set[int] = set()
        for sub in command.commands.values():
            if id(sub) not in seen:
                seen.add(id(sub))
                yield from _walk(sub)


def note_global_options(root: click.Group) -> None:
    """End the help of every command below ``root`` that takes the (hidden) global
    options with :data:`GLOBAL_OPTIONS_NOTE`, once."""
    for command in _walk(root):
        if command is root:
            continue
        hidden = any(isinstance(p, _GlobalOption) and p.hidden for p in command.params)
        if hidden and GLOBAL_OPTIONS_NOTE not in (command.epilog or ""):
            command.epilog = "\n\n".join(filter(None, [command.epilog, GLOBAL_OPTIONS_NOTE]))


def exit_with(message: str, status: int) -> NoReturn:
    """Print ``message`` on stderr and exit with ``status``."""
    click.echo(message, err=True)
    raise click.exceptions.Exit(status)


#: Width of help and tables when stdout is not a terminal (as ``ceph``'s ``Termsize``).
DEFAULT_WIDTH = 80


def output_width() -> int:
    """Columns of the terminal on stdout, else :data:`DEFAULT_WIDTH` (pipes, files);
    never below 20."""
    try:
        if sys.stdout.isatty():
            return max(20, os.get_terminal_size(sys.stdout.fileno()).columns)
    except (OSError, ValueError):
        pass
    return DEFAULT_WIDTH


#: Characters a line is not broken after (``ceph``'s ``DONTSPLIT``): words and
#: ``<name>``/``[...]``/``{...}`` stay whole where the line has room.
_KEEP_TOGETHER = frozenset(string.ascii_letters + "{[<>]}")


def wrap_text(text: str, width: int, indent: int = 1, breaks: str | None = None) -> list[str]:
    """``text`` as lines of at most ``width`` characters, the second and later ones
    indented by ``indent`` spaces, as ``ceph -h`` wraps a command and its help.

    A line ends after the last character within its room that ``breaks`` holds (None:
    any but a letter or one of ``{[<>]}``, as ``ceph``: a space, ``|``, ``_``, a digit
    ...); a run with no such character is cut at the width. Spaces at the cuts are
    dropped. ``""`` gives ``[""]``; ``width`` below ``indent + 1`` counts as
    ``indent + 1``.
    """

    def may_break_after(char: str) -> bool:
        return char not in _KEEP_TOGETHER if breaks is None else char in breaks

    width = max(width, indent + 1)
    lines: list[str] = []
    rest, lead = text.strip(), ""
    while rest:
        room = width - len(lead)
        cut = len(rest)
        if cut > room:
            cut = next((i for i in range(room, 0, -1) if may_break_after(rest[i - 1])), room)
        lines.append(lead + rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
        lead = " " * indent
    return lines or [""]


class AliasGroup(click.Group):
    """A group whose commands may have aliases (``rm`` for ``remove``): they resolve like
    the command and show in the help next to it, ``remove (rm)``, not as commands of
    their own. The command list shows each command's whole first paragraph, wrapped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases: dict[str, str] = {}

    def add_command(self, cmd: click.Command, name: str | None = None,
                    aliases: Iterable[str] = ()) -> None:
        super().add_command(cmd, name)
        for alias in aliases:
            self.aliases[alias] = name or cmd.name or ""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            command = self.commands[name]
            if command.hidden:
                continue
            shown = [alias for alias, target in self.aliases.items() if target == name]
            label = f"{name} ({', '.join(shown)})" if shown else name
            summary = command.short_help or (command.help or "").split("\n\n")[0]
            rows.append((label, " ".join(summary.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

