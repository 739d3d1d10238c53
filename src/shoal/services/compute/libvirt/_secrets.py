"""libvirt secrets kept per compute host, as libvirt's secret driver keeps them.

Layout (``root`` is the caller's, e.g. ``DATA_DIR/compute``)::

    root/<host>/secrets/<uuid>.xml       the definition (secret_xml), mode 0600
    root/<host>/secrets/<uuid>.base64    the value, base64, mode 0600 (when set)

as libvirt's ``/etc/libvirt/secrets``. Every file is written atomically (a temporary
file renamed over it); changes hold an exclusive ``flock`` on ``secrets/.lock`` so two
processes defining secrets cannot both take one usage. Directories are mode 0700.

The rules are libvirt's (``virSecretObjListAdd``): defining an existing UUID replaces
its definition but not its value, unless the usage id changes (refused) or the private
flag would be cleared (refused); a new UUID may not take a usage another secret holds.
Unlike libvirt, ephemeral secrets are kept on disk as well (there is no daemon whose
memory would hold them); ``list_secrets`` still tells them apart.

:func:`check_guest_secret` is what the compute service calls before starting a guest:
the guest's ``rbd_secret_uuid`` must be defined on its host, as a ceph secret, holding
``rbd_user``'s key — the classic "Secret not found: no secret with matching uuid"
deployment mistake, caught with a message that names the UUID and the fix.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from shoal import errors, limits
from shoal.atomicfile import write_atomically
from shoal.services.compute.libvirt._errors import (
    GuestSecretMismatch,
    GuestSecretMissing,
    InvalidSecretValue,
    SecretConflict,
    SecretNotFound,
    SecretPrivate,
)
from shoal.services.compute.libvirt._secretdef import (
    SecretDef,
    canonical_uuid,
    decode_base64,
    parse_secret_xml,
    secret_xml,
)

__all__ = ["SecretStore", "check_guest_secret", "check_host_name"]

_LOG = logging.getLogger(__name__)
_HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_DIR_MODE = 0o700


def check_host_name(host: str) -> str:
    """``host`` if it can name a compute host (and its directory): letters, digits,
    ``_``, ``-`` and ``.``, not starting with ``.`` or ``-``, at most
    :data:`shoal.limits.compute_host_chars_max` characters.

    Raises:
        errors.InvalidArgument: any other name (empty, ``..``, holding ``/`` ...).
    """
    if len(host) > limits.compute_host_chars_max or _HOST_NAME.fullmatch(host) is None:
        raise errors.InvalidArgument(f"{host!r} is not a compute host name (letters, digits, "
                                     f"'_', '-', '.'; at most "
                                     f"{limits.compute_host_chars_max} characters)")
    return host


def _not_found(secret_uuid: str) -> SecretNotFound:
    return SecretNotFound(f"Secret not found: no secret with matching uuid '{secret_uuid}'")


class SecretStore:
    """The libvirt secrets of every compute host under ``root`` (see the module
    docstring for the layout). Methods take the host first; UUIDs are accepted in any
    case, with or without dashes, and returned lowercase and dashed.

    Raises (every method):
        errors.InvalidArgument: a bad host name or UUID.
        errors.Unavailable: the directory or a file cannot be read or written.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def directory(self, host: str) -> Path:
        """``root/<host>/secrets`` (not created)."""
        return self.root / check_host_name(host) / "secrets"

    @contextlib.contextmanager
    def _locked(self, host: str) -> Iterator[Path]:
        directory = self.directory(host)
        try:
            directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise errors.Unavailable(f"cannot use secret directory {directory}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield directory
        finally:
            os.close(fd)

    @staticmethod
    def _read(path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise errors.Unavailable(f"cannot read {path}: {exc}") from exc

    @staticmethod
    def _write(path: Path, text: str) -> None:
        try:
            write_atomically(path, text, 0o600)
        except OSError as exc:
            raise errors.Unavailable(f"cannot write {path}: {exc}") from exc

    def _load(self, directory: Path, secret_uuid: str) -> SecretDef | None:
        text = self._read(directory / f"{secret_uuid}.xml")
        if text is None:
            return None
        definition = parse_secret_xml(text)
        if definition.uuid != secret_uuid:
            raise errors.Unavailable(f"{directory / secret_uuid}.xml: its <uuid> "
                                     f"{definition.uuid} does not match the file name")
        return definition

    def _all(self, directory: Path) -> list[SecretDef]:
        """Every readable definition, by UUID; broken files are logged and skipped, as
        libvirt's driver skips them when it loads."""
        try:
            names = sorted(p.name for p in directory.glob("*.xml"))
        except OSError as exc:
            raise errors.Unavailable(f"cannot list {directory}: {exc}") from exc
        found: list[SecretDef] = []
        for name in names:
            try:
                definition = self._load(directory, canonical_uuid(name[:-len(".xml")]))
            except errors.ShoalError as exc:
                _LOG.error("Error reading secret: %s: %s", directory / name, exc)
                continue
            if definition is not None:
                found.append(definition)
        return found

    def lookup(self, host: str, secret_uuid: str) -> SecretDef:
        """The definition of ``secret_uuid`` on ``host``.

        Raises:
            SecretNotFound: ``Secret not found: no secret with matching uuid 'U'``.
        """
        key = canonical_uuid(secret_uuid)
        definition = self._load(self.directory(host), key)
        if definition is None:
            raise _not_found(key)
        return definition

    def define(self, host: str, xml_text: str) -> SecretDef:
        """``virsh secret-define``: add or replace the secret ``xml_text`` defines and
        return its definition (with the generated UUID when the XML has none).

        Raises:
            InvalidSecretXML: see :func:`~shoal.services.compute.libvirt.parse_secret_xml`.
            SecretConflict: the UUID exists with another usage id, or the change would
                clear its private flag, or another UUID holds this usage.
        """
        new = parse_secret_xml(xml_text)
        with self._locked(host) as directory:
            existing = {d.uuid: d for d in self._all(directory)}
            old = existing.get(new.uuid)
            if old is not None and old.usage_id != new.usage_id:
                raise SecretConflict(f"internal error: a secret with UUID {new.uuid} is "
                                     f"already defined for use with {old.usage_id}")
            if old is not None and old.private and not new.private:
                raise SecretConflict("internal error: cannot change private flag on "
                                     "existing secret")
            holder = next((d for d in existing.values() if d.uuid != new.uuid
                           and new.usage_type != "none" and d.usage_type == new.usage_type
                           and d.usage_id == new.usage_id), None)
            if old is None and holder is not None:
                raise SecretConflict(f"internal error: a secret with UUID {holder.uuid} "
                                     f"already defined for use with {new.usage_id}")
            self._write(directory / f"{new.uuid}.xml", secret_xml(new))
        return new

    def set_value(self, host: str, secret_uuid: str, value: bytes) -> None:
        """``virsh secret-set-value``: store ``value`` (raw bytes) in the secret.

        Raises:
            SecretNotFound: no such secret.
            InvalidSecretValue: empty, or longer than
                :data:`shoal.limits.secret_value_bytes_max`.
        """
        if not value or len(value) > limits.secret_value_bytes_max:
            raise InvalidSecretValue(f"invalid argument: a secret value must be 1 to "
                                     f"{limits.secret_value_bytes_max} bytes, not "
                                     f"{len(value)}")
        key = canonical_uuid(secret_uuid)
        with self._locked(host) as directory:
            if self._load(directory, key) is None:
                raise _not_found(key)
            self._write(directory / f"{key}.base64", base64.b64encode(value).decode("ascii"))

    def read_value(self, host: str, secret_uuid: str) -> bytes:
        """The value of ``secret_uuid`` as libvirt itself reads it to hand it to qemu:
        private secrets included (``get_value``, virsh's, refuses those).

        Raises:
            SecretNotFound: no such secret, or it has no value.
        """
        key = canonical_uuid(secret_uuid)
        directory = self.directory(host)
        if self._load(directory, key) is None:
            raise _not_found(key)
        text = self._read(directory / f"{key}.base64")
        if text is None:
            raise SecretNotFound(f"Secret not found: secret '{key}' does not have a value")
        return decode_base64(text)

    def get_value(self, host: str, secret_uuid: str) -> bytes:
        """``virsh secret-get-value``: the secret's value (raw bytes).

        Raises:
            SecretNotFound: no such secret, or it has no value.
            SecretPrivate: the secret is private (``Invalid secret: secret is private``).
        """
        if self.lookup(host, secret_uuid).private:
            raise SecretPrivate("Invalid secret: secret is private")
        return self.read_value(host, secret_uuid)

    def undefine(self, host: str, secret_uuid: str) -> None:
        """``virsh secret-undefine``: remove the secret and its value.

        Raises:
            SecretNotFound: no such secret.
        """
        key = canonical_uuid(secret_uuid)
        with self._locked(host) as directory:
            if self._load(directory, key) is None:
                raise _not_found(key)
            try:
                (directory / f"{key}.xml").unlink()
                (directory / f"{key}.base64").unlink(missing_ok=True)
            except OSError as exc:
                raise errors.Unavailable(f"cannot remove secret {key}: {exc}") from exc

    def list_secrets(self, host: str, *, ephemeral: bool | None = None,
                     private: bool | None = None) -> list[SecretDef]:
        """``virsh secret-list``: the host's secrets sorted by UUID, only those whose
        flags equal ``ephemeral`` / ``private`` when given. A host without secrets (or
        without a directory yet) has none."""
        directory = self.directory(host)
        if not directory.is_dir():
            return []
        return [d for d in self._all(directory)
                if (ephemeral is None or d.ephemeral == ephemeral)
                and (private is None or d.private == private)]


def _fix(host: str, secret_uuid: str, user: str, keyring: Path | None) -> str:
    key = (f"the key of client.{user} (`ceph auth get-key client.{user}`; on shoal's "
           f"embedded cluster `shoal ceph auth get-key client.{user}`"
           + (f", or the key line of {keyring}" if keyring is not None else "") + ")")
    return (f"Fix, on compute host {host}: write secret.xml as <secret ephemeral='no' "
            f"private='no'><uuid>{secret_uuid}</uuid><usage type='ceph'><name>client.{user} "
            f"secret</name></usage></secret>, run `shoal virsh --host {host} secret-define "
            f"--file secret.xml` (on a real hypervisor: `virsh secret-define --file "
            f"secret.xml`), then `shoal virsh --host {host} secret-set-value --secret "
            f"{secret_uuid} --base64 KEY` with KEY {key}. Cinder's rbd_secret_uuid names the "
            f"secret of attached volumes: keep it the same as [libvirt] rbd_secret_uuid, as "
            f"the guide does.")


def check_guest_secret(store: SecretStore, host: str, secret_uuid: str, expected_key: str,
                       *, user: str = "cinder", keyring: Path | None = None) -> None:
    """Check, before a guest starts on ``host``, that libvirt there can give qemu the key
    of ``client.<user>`` (``[libvirt] rbd_user``): the secret ``secret_uuid``
    (``rbd_secret_uuid``) exists, is a ``ceph`` secret and holds ``expected_key`` (the
    base64 key of the user's keyring). ``keyring`` (optional) is named in the fix.

    Raises:
        GuestSecretMissing: no such secret on the host, or it has no value (404).
        GuestSecretMismatch: it is not a ceph secret, or holds another key (400).
        errors.InvalidArgument: ``expected_key`` is not base64; a bad host or UUID.

    Both messages name the UUID, the host and the commands that fix it; never a key.
    """
    key = canonical_uuid(secret_uuid)
    try:
        expected = decode_base64(expected_key)
    except InvalidSecretValue:
        raise errors.InvalidArgument(f"the key of client.{user} is not base64") from None
    fix = _fix(host, key, user, keyring)
    try:
        definition = store.lookup(host, key)
    except SecretNotFound as exc:
        raise GuestSecretMissing(
            f"{exc.message} on compute host {host}: rbd_secret_uuid names a libvirt secret "
            f"that is not defined there, so libvirt cannot give client.{user}'s key "
            f"to the guest's RBD disks. {fix}") from None
    if definition.usage_type != "ceph":
        raise GuestSecretMismatch(
            f"secret with uuid {key} on compute host {host} is of type "
            f"'{definition.usage_type}' not expected 'ceph' type: undefine it "
            f"(`shoal virsh --host {host} secret-undefine {key}`). {fix}")
    try:
        value = store.read_value(host, key)
    except SecretNotFound as exc:
        raise GuestSecretMissing(
            f"{exc.message} on compute host {host}: the secret is defined but holds no key. "
            f"{fix}") from None
    if value != expected:
        raise GuestSecretMismatch(
            f"libvirt secret {key} on compute host {host} does not hold the key of "
            f"client.{user} (rbd_user): the guest's RBD disks would be refused with "
            f"'Permission denied'. {fix}")
