"""Backend selection: which cluster a session talks to is configuration.

A :class:`BackendConfig` says ``embedded`` (a data directory, no daemons) or
``ceph`` (a real cluster through librados, described by a ``ceph.conf``), and
the default identity. :func:`open_session` connects with it, optionally as
another user with that user's own keyring, as the OpenStack services do on
Ceph (``rbd_store_user = glance``, ``rbd_user = cinder``,
``backup_ceph_user = cinder-backup``)::

    config = BackendConfig.from_mapping({"backend": "ceph",
                                         "ceph_conf": "/etc/ceph/ceph.conf"})
    with open_session(config, name="cinder",
                      keyring="/etc/ceph/ceph.client.cinder.keyring") as session:
        io = session.open_ioctx("volumes")

Possible values: ``backend`` is ``"embedded"`` (default) or ``"ceph"``.
Related options: ``data_dir`` is used by ``embedded`` only (None: the default
data directory, see :func:`~shoal.cluster.datadir.default_data_dir`);
``ceph_conf`` by ``ceph`` only (None: ``$CEPH_CONF``, else
``/etc/ceph/ceph.conf``, as Ceph's tools look); ``timeout_s`` bounds every
Ceph client wait (seconds).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from shoal import errors
from shoal.cluster import keys
from shoal.cluster._base import Session
from shoal.cluster.datadir import ADMIN_ENTITY

__all__ = [
    "BACKENDS",
    "DEFAULT_CEPH_CONF",
    "BackendConfig",
    "BackendName",
    "check_backend",
    "entity_name",
    "open_session",
]

BackendName = Literal["embedded", "ceph"]
#: The backends :func:`open_session` knows.
BACKENDS: tuple[BackendName, ...] = ("embedded", "ceph")
#: Where Ceph's tools look for the cluster's configuration by default.
DEFAULT_CEPH_CONF = Path("/etc/ceph/ceph.conf")
_ENTITY_TYPES = frozenset({"client", "mon", "osd", "mgr", "mds"})
_TIMEOUT_S_DEFAULT = 30.0


def entity_name(name: str) -> str:
    """A full entity name from a user id or a full name: ``cinder`` ->
    ``client.cinder``; ``client.cinder-backup`` stays.

    Raises:
        errors.InvalidArgument: the result is not a valid entity name.
    """
    kind, dot, _ = name.partition(".")
    full = name if dot and kind in _ENTITY_TYPES else f"client.{name}"
    keys.check_entity_name(full)
    return full


def check_backend(name: str) -> BackendName:
    """``name`` if it is a known backend.

    Raises:
        errors.InvalidArgument: anything else.
    """
    if name not in BACKENDS:
        raise errors.InvalidArgument(
            f"unknown backend {name!r}: choose from {', '.join(BACKENDS)}")
    return name


@dataclass(frozen=True)
class BackendConfig:
    """Which cluster to use, and as whom by default (see the module doc)."""

    backend: BackendName = "embedded"
    data_dir: Path | None = None
    ceph_conf: Path | None = None
    name: str = ADMIN_ENTITY
    keyring: Path | None = None
    timeout_s: float = _TIMEOUT_S_DEFAULT

    def __post_init__(self) -> None:
        check_backend(self.backend)
        if self.timeout_s <= 0:
            raise errors.InvalidArgument(f"timeout_s must be > 0, not {self.timeout_s}")
        object.__setattr__(self, "name", entity_name(self.name))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> BackendConfig:
        """From configuration values (a config file section, parsed JSON...).

        Keys: ``backend``, ``data_dir``, ``ceph_conf``, ``name`` (or ``user``,
        an id), ``keyring``, ``timeout_s``; unknown keys are refused.

        Raises:
            errors.InvalidArgument: unknown key or bad value.
        """
        known = {"backend", "data_dir", "ceph_conf", "name", "user", "keyring", "timeout_s"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise errors.InvalidArgument(f"unknown backend option(s): {', '.join(unknown)}")

        def path(key: str) -> Path | None:
            value = values.get(key)
            return None if value in (None, "") else Path(str(value)).expanduser()

        name = values.get("name") or values.get("user") or ADMIN_ENTITY
        try:
            timeout_s = float(str(values.get("timeout_s", _TIMEOUT_S_DEFAULT)))
        except ValueError:
            raise errors.InvalidArgument(
                f"timeout_s must be a number, not {values['timeout_s']!r}") from None
        return cls(
            backend=check_backend(str(values.get("backend") or "embedded")),
            data_dir=path("data_dir"), ceph_conf=path("ceph_conf"), name=str(name),
            keyring=path("keyring"), timeout_s=timeout_s,
        )

    def resolved_ceph_conf(self) -> Path:
        """``ceph_conf``, else ``$CEPH_CONF``, else :data:`DEFAULT_CEPH_CONF`."""
        if self.ceph_conf is not None:
            return self.ceph_conf
        env = os.environ.get("CEPH_CONF")
        return Path(env) if env else DEFAULT_CEPH_CONF

    def as_user(self, name: str, keyring: Path | str | None = None) -> BackendConfig:
        """The same cluster as another entity (``glance`` or ``client.glance``)."""
        return replace(self, name=entity_name(name),
                       keyring=Path(keyring) if keyring is not None else None)


def open_session(
    config: BackendConfig, name: str | None = None, keyring: Path | str | None = None
) -> Session:
    """Connect to ``config``'s cluster as ``name`` (default ``config.name``).

    ``keyring`` (when ``name`` is given, else ``config.keyring``) is the
    keyring file holding the entity's key; None lets the backend look in its
    default places (the data directory, or what ``ceph.conf`` says).

    Raises:
        errors.InvalidArgument: bad entity name.
        errors.AuthenticationFailed: wrong or unknown key (EACCES).
        errors.NotFound: no keyring holds a key for the entity.
        errors.TimedOut: (ceph) no monitor answered in time.
        errors.Unavailable: the data directory or ``ceph.conf`` cannot be
            used, or the Ceph bindings are not installed.
    """
    if name is not None:
        config = config.as_user(name, keyring)
    if config.backend == "ceph":
        from shoal.cluster.ceph import connect_ceph

        return connect_ceph(config.resolved_ceph_conf(), config.name, config.keyring,
                            timeout_s=config.timeout_s)
    from shoal.cluster.embedded import connect

    return connect(config.data_dir, config.name, config.keyring)
