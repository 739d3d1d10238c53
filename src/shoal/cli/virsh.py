"""``shoal virsh``: the guide's ``virsh secret-*`` steps, for shoal's compute hosts.

::

    shoal virsh secret-define --file secret.xml          Secret <uuid> created
    shoal virsh secret-set-value --secret UUID --base64 KEY    (or --file FILE [--plain])
    shoal virsh secret-list                              UUID / Usage table
    shoal virsh secret-get-value UUID                    the value, base64 (--plain: raw)
    shoal virsh secret-dumpxml UUID
    shoal virsh secret-undefine UUID                     Secret <uuid> deleted

Secrets are kept per compute host (``--host NAME``, before or after the command; default:
this machine's host name, Nova's ``[DEFAULT] host`` default) under the data directory:
``DATA_DIR/compute/<host>/secrets/`` (see
:class:`~shoal.services.compute.libvirt.SecretStore`). Output and errors are virsh's:
results on stdout followed by virsh's blank line, ``error: ...`` lines on stderr, exit
status 1 on failure (2 for a command line click cannot parse). As virsh, the UUID may be
given as ``--secret UUID`` or as the first argument.
"""

from __future__ import annotations

import base64
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from shoal import errors, limits
from shoal.cli._common import GlobalOptions, global_options
from shoal.cluster import default_data_dir
from shoal.services.compute.libvirt import (
    SecretDef,
    SecretNotFound,
    SecretStore,
    canonical_uuid,
    check_host_name,
    decode_base64,
    secret_xml,
)

__all__ = ["virsh"]

F = TypeVar("F", bound=Callable[..., Any])
_HOST_KEY = "shoal.virsh.host"
#: Most bytes ``secret-set-value --file`` reads (virsh's bound).
_VALUE_FILE_BYTES_MAX = limits.secret_value_bytes_max


def _fail(*lines: str) -> NoReturn:
    """virsh's failure: its blank line on stdout, each line as ``error: ...`` on stderr,
    exit status 1."""
    click.echo("")
    for line in lines:
        click.echo(f"error: {line}", err=True)
    raise click.exceptions.Exit(1)


def _done(text: str) -> None:
    """virsh's success: ``text`` then its blank line."""
    click.echo(text, nl=False)
    click.echo("")


def _store_host(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_HOST_KEY] = value


def _host_option(fn: F) -> F:
    return click.option(
        "--host", metavar="NAME", expose_value=False, callback=_store_host, is_eager=True,
        help="Compute host whose secrets to use [default: this machine's host name].")(fn)


def _target(ctx: click.Context) -> tuple[SecretStore, str]:
    """The store under ``DATA_DIR/compute`` and the selected host."""
    opts = ctx.find_object(GlobalOptions)
    data_dir = opts.data_dir if opts is not None and opts.data_dir is not None \
        else default_data_dir()
    host = str(ctx.meta.get(_HOST_KEY) or socket.gethostname() or "localhost")
    try:
        check_host_name(host)
    except errors.InvalidArgument as exc:
        _fail(exc.message)
    return SecretStore(data_dir / "compute"), host


def _read_file(path: str, limit: int) -> bytes:
    """The bytes of ``path`` (at most ``limit``), failing as virsh does."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        _fail(f"Failed to open file '{path}': {exc.strerror}")
    if len(data) > limit:
        _fail(f"Failed to read file '{path}': File too large")
    return data


def _secret_uuid(command: str, positional: str | None, option: str | None) -> str:
    """The UUID given as ``--secret`` or as the first argument (virsh's ``[--secret]``)."""
    if positional is not None and option is not None and positional != option:
        _fail(f"command '{command}' got the secret twice: {positional} and {option}")
    chosen = option if option is not None else positional
    if not chosen:
        _fail(f"command '{command}' requires <secret> option")
    return chosen


def _lookup(store: SecretStore, host: str, given: str) -> SecretDef:
    """The secret, or virsh's two lines: ``failed to get secret`` and the reason."""
    try:
        return store.lookup(host, canonical_uuid(given))
    except errors.ShoalError as exc:
        _fail(f"failed to get secret '{given}'", exc.message)


def _secret_command(name: str, summary: str) -> Callable[[F], F]:
    """A ``secret-*`` command taking ``[--secret] UUID``, ``--host`` and the global options."""

    def wrap(fn: F) -> F:
        fn = click.option("--secret", "secret_option", metavar="UUID",
                          help="Secret UUID (or give it as the argument).")(fn)
        fn = click.argument("secret", required=False, metavar="[UUID]")(fn)
        fn = _host_option(global_options(fn))
        return virsh.command(name, help=summary)(click.pass_context(fn))  # type: ignore[return-value]

    return wrap


@click.group("virsh")
@_host_option
@global_options
def virsh() -> None:
    """libvirt secrets of shoal's compute hosts, as `virsh secret-*` (the guide's
    secret-define and secret-set-value steps; the compute service checks a guest's
    rbd_secret_uuid against them before it starts)."""


@virsh.command("secret-define")
@click.argument("file_argument", required=False, metavar="[FILE]")
@click.option("--file", "file_option", metavar="FILE", help="Secret XML file.")
@click.option("--validate", is_flag=True, help="Accepted; the XML is always checked.")
@_host_option
@global_options
@click.pass_context
def secret_define(ctx: click.Context, file_argument: str | None, file_option: str | None,
                  validate: bool) -> None:
    """Define or change a secret from its XML (a missing <uuid> gets a new one)."""
    path = file_option or file_argument
    if not path:
        _fail("command 'secret-define' requires <file> option")
    store, host = _target(ctx)
    data = _read_file(path, limits.secret_xml_bytes_max)
    try:
        definition = store.define(host, data.decode("utf-8"))
    except UnicodeDecodeError:
        _fail(f"Failed to set attributes from {path}", "XML error: the file is not UTF-8")
    except errors.ShoalError as exc:
        _fail(f"Failed to set attributes from {path}", exc.message)
    _done(f"Secret {definition.uuid} created\n")


def _check_value_options(path: str | None, base64_text: str | None, plain: bool,
                         interactive: bool) -> None:
    """virsh's exclusive pairs among the value options (checked before anything else)."""
    pairs = (("file", path is not None, "base64", base64_text is not None),
             ("plain", plain, "base64", base64_text is not None),
             ("interactive", interactive, "base64", base64_text is not None),
             ("interactive", interactive, "plain", plain),
             ("interactive", interactive, "file", path is not None))
    for first, has_first, second, has_second in pairs:
        if has_first and has_second:
            _fail(f"Options --{first} and --{second} are mutually exclusive")


def _new_value(path: str | None, base64_text: str | None, plain: bool,
               interactive: bool) -> bytes:
    """The value from ``--base64``, ``--file`` (base64 unless ``--plain``) or the
    terminal."""
    if base64_text is not None:
        click.echo("error: Passing secret value as command-line argument is insecure!",
                   err=True)
        text, plain = base64_text, False
    elif path is not None:
        raw = _read_file(path, _VALUE_FILE_BYTES_MAX)
        if plain:
            return raw
        text = raw.decode("ascii", errors="replace")
    elif interactive:
        return str(click.prompt("Enter new value for secret", hide_input=True,
                                prompt_suffix=":", err=False)).encode("utf-8")
    else:
        _fail("Input secret value is missing")
    try:
        return decode_base64(text)
    except errors.InvalidArgument as exc:
        _fail("Failed to set secret value", exc.message)


@_secret_command("secret-set-value", "Set a secret's value.")
@click.option("--file", "path", metavar="FILE",
              help="Read the value from FILE (base64, unless --plain).")
@click.option("--plain", is_flag=True, help="The file holds the raw value, not base64.")
@click.option("--interactive", is_flag=True, help="Read the value from the terminal.")
@click.option("--base64", "base64_text", metavar="KEY", help="The value, base64.")
def secret_set_value(ctx: click.Context, secret: str | None, secret_option: str | None,
                     path: str | None, plain: bool, interactive: bool,
                     base64_text: str | None) -> None:
    _check_value_options(path, base64_text, plain, interactive)
    given = _secret_uuid("secret-set-value", secret, secret_option)
    store, host = _target(ctx)
    definition = _lookup(store, host, given)
    value = _new_value(path, base64_text, plain, interactive)
    try:
        store.set_value(host, definition.uuid, value)
    except errors.ShoalError as exc:
        _fail("Failed to set secret value", exc.message)
    _done("Secret value set\n")


@_secret_command("secret-get-value", "Print a secret's value (base64).")
@click.option("--plain", is_flag=True, help="Print the raw value, not base64.")
def secret_get_value(ctx: click.Context, secret: str | None, secret_option: str | None,
                     plain: bool) -> None:
    given = _secret_uuid("secret-get-value", secret, secret_option)
    store, host = _target(ctx)
    definition = _lookup(store, host, given)
    try:
        value = store.get_value(host, definition.uuid)
    except errors.ShoalError as exc:
        _fail(exc.message)
    if plain:
        sys.stdout.flush()
        sys.stdout.buffer.write(value)
        sys.stdout.buffer.flush()
        click.echo("")
        return
    _done(base64.b64encode(value).decode("ascii"))


@_secret_command("secret-dumpxml", "Print a secret's XML.")
def secret_dumpxml(ctx: click.Context, secret: str | None, secret_option: str | None) -> None:
    given = _secret_uuid("secret-dumpxml", secret, secret_option)
    store, host = _target(ctx)
    _done(secret_xml(_lookup(store, host, given)))


@_secret_command("secret-undefine", "Remove a secret and its value.")
def secret_undefine(ctx: click.Context, secret: str | None, secret_option: str | None) -> None:
    given = _secret_uuid("secret-undefine", secret, secret_option)
    store, host = _target(ctx)
    definition = _lookup(store, host, given)
    try:
        store.undefine(host, definition.uuid)
    except (SecretNotFound, errors.Unavailable) as exc:
        _fail(f"Failed to delete secret {given}", exc.message)
    _done(f"Secret {given} deleted\n")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """virsh's table: each cell after one space, columns two spaces apart past the
    widest cell, a dashed line of every column's width + 3 under the header."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [f" {cell}" + " " * (widths[i] - len(cell) + 2)
                  for i, cell in enumerate(cells[:-1])]
        return "".join(padded) + f" {cells[-1]}\n"

    return line(header) + "-" * sum(w + 3 for w in widths) + "\n" + "".join(map(line, rows))


def _flag_filter(yes: bool, no: bool) -> bool | None:
    """``--x`` / ``--no-x`` as libvirt's list filter: one of them selects, both or
    neither list all."""
    return yes if yes != no else None


@virsh.command("secret-list")
@click.option("--ephemeral", is_flag=True, help="Only ephemeral secrets.")
@click.option("--no-ephemeral", is_flag=True, help="Only persistent secrets.")
@click.option("--private", is_flag=True, help="Only private secrets.")
@click.option("--no-private", is_flag=True, help="Only non-private secrets.")
@_host_option
@global_options
@click.pass_context
def secret_list(ctx: click.Context, ephemeral: bool, no_ephemeral: bool, private: bool,
                no_private: bool) -> None:
    """List the host's secrets: UUID and usage."""
    store, host = _target(ctx)
    try:
        found = store.list_secrets(host, ephemeral=_flag_filter(ephemeral, no_ephemeral),
                                   private=_flag_filter(private, no_private))
    except errors.ShoalError as exc:
        _fail("Failed to list node secrets", exc.message)
    _done(_table(("UUID", "Usage"), [(d.uuid, d.usage) for d in found]))
