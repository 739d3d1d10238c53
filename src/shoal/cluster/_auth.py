"""cephx for the embedded cluster: finding the key, checking it, and the caps.

- :func:`resolve_key` finds the secret a client presents: an explicit key, else
  the entity's section in a keyring file (``--keyring``, else Ceph's default
  search path inside the data directory).
- :func:`authenticate` compares it with the monitor's copy in constant time.
- :class:`EntityCaps` answers "may this entity do X" from the caps stored in
  ``mon.db``, read afresh on every question (one indexed SQLite lookup; parsed
  caps are cached by their text), so ``auth caps`` and ``auth rm`` take effect
  at once, also for sessions already open. An entity whose caps were removed, or
  whose caps no longer parse, is allowed nothing.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Mapping
from pathlib import Path

from shoal import errors
from shoal.cluster import caps as capsmod
from shoal.cluster import keys
from shoal.cluster._mondb import AuthEntity, MonDB
from shoal.cluster.datadir import DataDir

__all__ = ["EntityCaps", "authenticate", "resolve_key"]

_PARSED_CACHE_MAX = 256


def resolve_key(layout: DataDir, entity: str, keyring: Path | None, key: str | None) -> str:
    """The base64 secret ``entity`` presents.

    As librados: no keyring file at all is ENOENT; a keyring without a key for
    ``entity`` is refused like a wrong key (EACCES); a keyring that does not
    parse is EIO.

    Raises:
        errors.NotFound: no keyring file exists.
        errors.AuthenticationFailed: the keyring has no section for ``entity``.
        errors.Unavailable: the keyring cannot be read or does not parse.
    """
    if key is not None:
        return key.strip()
    paths = [keyring] if keyring is not None else layout.keyring_search_path(entity)
    for path in paths:
        if path.exists():
            return _key_from_keyring(path, entity)
    looked = ", ".join(str(p) for p in paths)
    raise errors.NotFound(f"unable to find a keyring for {entity} (looked in: {looked})")


def _key_from_keyring(path: Path, entity: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.Unavailable(f"cannot read keyring {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise errors.Unavailable(f"keyring {path} is not text") from None
    try:
        entries = keys.parse_keyring(text)
    except errors.InvalidArgument as exc:
        raise errors.Unavailable(f"{path}: {exc}") from None
    for entry in entries:
        if entry.entity == entity:
            return entry.key
    raise errors.AuthenticationFailed(f"keyring {path} has no key for {entity}")


def authenticate(db: MonDB, entity: str, key: str) -> AuthEntity:
    """Check ``key`` against the monitor's copy for ``entity``.

    Raises:
        errors.InvalidArgument: ``key`` is not a well-formed cephx secret.
        errors.AuthenticationFailed: the entity is unknown or the key is wrong
            (one message for both, as cephx).
    """
    presented = keys.decode_secret(key)
    stored = db.get_entity(entity)
    if stored is None or not hmac.compare_digest(keys.decode_secret(stored.key), presented):
        raise errors.AuthenticationFailed(
            f"authentication failed for {entity}: unknown entity or wrong key"
        )
    return stored


@functools.lru_cache(maxsize=_PARSED_CACHE_MAX)
def _mon_caps(text: str) -> capsmod.MonCaps | None:
    try:
        return capsmod.parse_mon_caps(text)
    except errors.InvalidArgument:
        return None


@functools.lru_cache(maxsize=_PARSED_CACHE_MAX)
def _osd_caps(text: str) -> capsmod.OsdCaps | None:
    try:
        return capsmod.parse_osd_caps(text)
    except errors.InvalidArgument:
        return None


class EntityCaps:
    """The current caps of one entity, looked up in ``mon.db`` on every check."""

    def __init__(self, db: MonDB, entity: str) -> None:
        self._db = db
        self.entity = entity

    def _text(self, service: str) -> str:
        stored = self._db.get_entity(self.entity)
        return "" if stored is None else stored.caps.get(service, "")

    def mon_allows(self, prefix: str, perms: tuple[str, str], args: Mapping[str, str]) -> bool:
        """Whether mon command ``prefix`` needing ``perms`` = (service, "rwx"...) is allowed."""
        parsed = _mon_caps(self._text("mon"))
        if parsed is None:
            return False
        service, bits = perms
        return parsed.allows_perms(service, prefix, bits, args)

    def osd_allows(
        self,
        pool: str,
        namespace: str,
        oid: str,
        access: capsmod.OsdAccess,
        app_metadata: Mapping[str, Mapping[str, str]] | None = None,
    ) -> bool:
        """Whether one object operation needing ``access`` is allowed (see
        ``OsdCaps.allows_access``)."""
        parsed = _osd_caps(self._text("osd"))
        if parsed is None:
            return False
        return parsed.allows_access(pool, namespace, oid, access, app_metadata)
