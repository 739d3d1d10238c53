"""Options every ``shoal`` command shares, and how they are found in argv.

The global options (as Ceph's tools name them) select the cluster and the
identity: ``--data-dir DIR`` (or ``-c/--conf DIR/ceph.conf``: the data directory
is the file's directory), ``--id NAME`` or ``-n/--name TYPE.ID``, and
``-k/--keyring FILE``. They are accepted before the command group (``shoal --id
cinder ceph ...``) and, as Ceph allows, after it (``shoal ceph ... --id cinder``);
a later occurrence overrides an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from shoal.cluster import default_data_dir
from shoal.cluster.datadir import ADMIN_ENTITY

__all__ = ["GlobalOptions", "global_options"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class GlobalOptions:
    """The selected data directory, entity and keyring (None: the default)."""

    data_dir: Path | None = None
    conf: Path | None = None
    name: str | None = None
    keyring: Path | None = None

    def set_id(self, client_id: str) -> None:
        self.name = f"client.{client_id}"

    def entity(self) -> str:
        return self.name or ADMIN_ENTITY

    def resolved_data_dir(self) -> Path:
        """``--data-dir``, else ``--conf``'s directory, else the default location."""
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
            ctx.ensure_object(GlobalOptions).apply(option, value)

    return callback


def global_options(fn: F) -> F:
    """Add the global options to a click command; they update ``ctx.obj``."""
    specs = [
        (("--data-dir",), "--data-dir", "DIR",
         "Data directory of the embedded cluster [default: $SHOAL_DATA_DIR, else "
         "$XDG_DATA_HOME/shoal, else ~/.local/share/shoal]."),
        (("-c", "--conf"), "--conf", "FILE",
         "A ceph.conf inside the data directory (selects that directory)."),
        (("--id", "--user"), "--id", "NAME", "Client id: act as client.NAME."),
        (("-n", "--name"), "--name", "TYPE.ID", "Entity name [default: client.admin]."),
        (("-k", "--keyring"), "--keyring", "FILE",
         "Keyring file [default: DIR/ceph.<name>.keyring]."),
    ]
    for decls, option, metavar, help_text in reversed(specs):
        fn = click.option(
            *decls, metavar=metavar, help=help_text, expose_value=False,
            callback=_store(option), is_eager=True,
        )(fn)
    return fn
