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
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from shoal import errors
from shoal.cluster import BackendConfig, default_data_dir
from shoal.cluster.backend import BackendName, check_backend
from shoal.cluster.datadir import ADMIN_ENTITY

__all__ = ["GlobalOptions", "global_options"]

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


def global_options(fn: F) -> F:
    """Add the global options to a click command; they update ``ctx.obj``."""
    specs = [
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
    ]
    for decls, option, metavar, help_text in reversed(specs):
        fn = click.option(
            *decls, metavar=metavar, help=help_text, expose_value=False,
            callback=_store(option), is_eager=True,
        )(fn)
    return fn
