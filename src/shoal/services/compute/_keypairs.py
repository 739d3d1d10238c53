"""Key pairs (Nova's ``os-keypairs`` rules), kept in :mod:`._keypair_models`.

- A key pair belongs to a user (not a project) and is named uniquely per user. Everyone
  manages their own; an admin names another user (``user_id``) to manage theirs (policy:
  :mod:`.policy`, ``os_compute_api:os-keypairs:*``).
- :meth:`Keypairs.create` imports a public key (an OpenSSH ``ssh-rsa``, ``ssh-ed25519`` or
  ``ecdsa-sha2-*`` line, or for type ``x509`` a PEM certificate) or, given none, makes a new
  pair and hands its private key back once (never stored): an RSA key for ``ssh``, a
  self-signed client certificate and its key (PKCS#12, base64) for ``x509``, as Nova does.
- Fingerprints are Nova's: colon hex of the MD5 of the key blob (``ssh-keygen -l -E md5``)
  or of the SHA-1 of the certificate's DER.
- Each user keeps at most ``quota`` key pairs (Nova's ``key_pairs``, 100 by default): one
  more is 403 "Quota exceeded, too many key pairs.".
- Lists are sorted by name and paged with ``limit`` and ``marker`` (a name; unknown: 400).

Messages are Nova's (``Keypair k not found for user u``, ``Key pair 'k' already exists.``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shoal import errors, limits
from shoal.db import Database
from shoal.services.compute import policy
from shoal.services.compute._keypair_models import KEYPAIR_TYPES, KeyPair
from shoal.services.volume.policy import CallerLike

__all__ = ["CreatedKeypair", "KeypairRecord", "Keypairs", "ssh_fingerprint",
           "x509_fingerprint"]

#: Characters any key pair name may hold (Nova's widest set, from 2.92: with ``@`` and
#: ``.``); the API narrows it for older microversions.
_NAME: Final = re.compile(r"[_\-@. a-zA-Z0-9]+")
_NAME_CHARS_MAX: Final = 255
#: Bits of the RSA keys made for a pair created without a public key (Nova's).
_RSA_BITS: Final = 2048
#: How long a generated x509 certificate is valid (``openssl req -days 3650``).
_CERT_DAYS: Final = 3650
#: X.509 certificates cap a common name at 64 characters (RFC 5280 ``ub-common-name``).
_COMMON_NAME_CHARS_MAX: Final = 64
#: Microsoft's user principal name (``otherName`` of a client certificate's SAN).
_UPN_OID: Final = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
_GENERATED_COMMENT: Final = "Generated-by-Shoal"
#: The OpenSSH public key types imported (no ``ssh-dss``: OpenSSH itself dropped DSA).
_SSH_KEY_TYPES: Final = frozenset({"ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256",
                                   "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"})


@dataclass(frozen=True)
class KeypairRecord:
    """A key pair as the API shows it (``created_at``: aware UTC)."""

    id: int
    name: str
    user_id: str
    fingerprint: str
    public_key: str
    type: str
    created_at: datetime


@dataclass(frozen=True)
class CreatedKeypair:
    """A created key pair, with the private key when shoal made the pair (None when the
    public key was imported): shown once, never kept."""

    keypair: KeypairRecord
    private_key: str | None


def _invalid(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Keypair data is invalid: {reason}")


def _not_found(name: str, user_id: str) -> errors.NotFound:
    return errors.NotFound(f"Keypair {name} not found for user {user_id}")


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in digest)


def ssh_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key line (``type base64 [comment]``),
    ``aa:bb:...`` (16 bytes), as ``ssh-keygen -l -E md5`` prints it.

    Raises:
        InvalidArgument: not an RSA, Ed25519 or ECDSA OpenSSH public key, or its blob not of
            the type it names (400, Nova's "failed to generate fingerprint").
    """
    fields = public_key.split()
    if len(fields) < 2 or fields[0] not in _SSH_KEY_TYPES:  # DSA: refused before loading
        raise _invalid("failed to generate fingerprint")
    try:
        serialization.load_ssh_public_key(public_key.encode("utf-8"))
        blob = base64.b64decode(fields[1], validate=True)
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise _invalid("failed to generate fingerprint") from None
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(pem: str) -> str:
    """The SHA-1 fingerprint of a PEM certificate's DER, ``aa:bb:...`` (20 bytes).

    Raises:
        InvalidArgument: not a PEM X.509 certificate (400, with the parser's reason).
    """
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except ValueError as exc:
        raise _invalid(f"failed to generate X509 fingerprint. Error message: {exc}") from None
    return _colon_hex(certificate.fingerprint(hashes.SHA1()))


def _fingerprint(public_key: str, key_type: str) -> str:
    return ssh_fingerprint(public_key) if key_type == "ssh" else x509_fingerprint(public_key)


def _generate_ssh() -> tuple[str, str]:
    """A new RSA pair: (private key as traditional PEM, OpenSSH public key line)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH)
    return private, f"{public.decode('ascii')} {_GENERATED_COMMENT}"


def _der_utf8_string(text: str) -> bytes:
    """``text`` as a DER ``UTF8String`` (tag 12), the value of a UPN ``otherName``."""
    data = text.encode("utf-8")
    count = len(data)
    if count < 0x80:
        length = bytes([count])
    else:  # long form: the count's own length, then the count (big-endian)
        size = count.to_bytes((count.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(size)]) + size
    return b"\x0c" + length + data


def _generate_x509(user_id: str, now: datetime) -> tuple[str, str]:
    """A new client certificate for ``user_id`` (Nova's WinRM certificate: subject CN the
    user id, cut to 64 characters; UPN ``<user_id>@localhost``; 10 years):
    (PKCS#12 of key and certificate without password, base64; certificate PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            user_id[:_COMMON_NAME_CHARS_MAX])])
    upn = x509.OtherName(_UPN_OID, _der_utf8_string(f"{user_id}@localhost"))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=_CERT_DAYS))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectAlternativeName([upn]), critical=False)
        .sign(key, hashes.SHA256()))
    bundle = pkcs12.serialize_key_and_certificates(None, key, certificate, None,
                                                   serialization.NoEncryption())
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return base64.b64encode(bundle).decode("ascii"), pem


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= _NAME_CHARS_MAX:
        raise _invalid("Keypair name must be string and between 1 and 255 characters long")
    if not _NAME.fullmatch(name) or name != name.strip():
        raise _invalid("Keypair name contains unsafe characters")


def _record(row: KeyPair) -> KeypairRecord:
    return KeypairRecord(row.id, row.name, row.user_id, row.fingerprint, row.public_key,
                         row.type, row.created_at)


class Keypairs:
    """Key pairs of one deployment (see the module doc).

    ``quota`` is the number of key pairs one user may keep (-1: no limit).
    """

    def __init__(self, db: Database, now: Callable[[], datetime], *,
                 quota: int = limits.keypairs_per_user_default) -> None:
        self.db = db
        self.now = now
        self.quota = quota

    def _owner(self, caller: CallerLike, action: str, user_id: str | None) -> str:
        owner = caller.user_id if user_id is None else user_id
        policy.authorize(caller, f"os_compute_api:os-keypairs:{action}", owner)
        return owner

    def _check_quota(self, session: Session, user_id: str) -> None:
        if self.quota < 0:
            return
        count = session.execute(select(func.count()).select_from(KeyPair).where(
            KeyPair.user_id == user_id)).scalar_one()
        if count >= self.quota:
            raise errors.PermissionDenied("Quota exceeded, too many key pairs.")

    def create(self, caller: CallerLike, name: str, *, public_key: str | None = None,
               key_type: str = "ssh", user_id: str | None = None) -> CreatedKeypair:
        """Import ``public_key`` under ``name``, or make a new pair when it is None.

        ``user_id`` (None: the caller's) names the owner; another user's needs an admin.
        Checks go in Nova's order: policy, quota, the key, the name's uniqueness.

        Raises:
            PolicyNotAuthorized: another user's key pair and the caller no admin (403).
            PermissionDenied: the owner has ``quota`` key pairs already (403).
            InvalidArgument: a bad name, type or user id, or a public key that is not one
                of ``key_type`` (400).
            AlreadyExists: the owner has a key pair of that name (409).
        """
        owner = self._owner(caller, "create", user_id)
        if key_type not in KEYPAIR_TYPES:
            raise _invalid(f"unknown key pair type {key_type!r}")
        if not 1 <= len(owner) <= _NAME_CHARS_MAX:
            raise _invalid("user_id must be between 1 and 255 characters long")
        _check_name(name)
        with self.db.session(readonly=True) as session:
            self._check_quota(session, owner)
        private_key: str | None = None
        if public_key is None:
            if key_type == "ssh":
                private_key, public_key = _generate_ssh()
            else:
                private_key, public_key = _generate_x509(owner, self.now())
        fingerprint = _fingerprint(public_key, key_type)
        with self.db.session() as session:
            self._check_quota(session, owner)  # again: a concurrent create may have won
            row = KeyPair(name=name, user_id=owner, fingerprint=fingerprint,
                          public_key=public_key, type=key_type, created_at=self.now())
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # (user_id, name) is taken
                raise errors.AlreadyExists(f"Key pair '{name}' already exists.") from None
            return CreatedKeypair(_record(row), private_key)

    def list_keypairs(self, caller: CallerLike, *, user_id: str | None = None,
                      limit: int | None = None, marker: str | None = None
                      ) -> list[KeypairRecord]:
        """The owner's key pairs sorted by name: at most ``limit`` (None: all), those after
        the one named ``marker``.

        Raises:
            PolicyNotAuthorized: another user's and the caller no admin (403).
            InvalidArgument: ``marker`` names none of the owner's key pairs (400: "Marker
                m could not be found.").
        """
        owner = self._owner(caller, "index", user_id)
        query = select(KeyPair).where(KeyPair.user_id == owner)
        with self.db.session(readonly=True) as session:
            if marker is not None:
                if self._find(session, owner, marker) is None:
                    raise errors.InvalidArgument(f"Marker {marker} could not be found.")
                query = query.where(KeyPair.name > marker)
            query = query.order_by(KeyPair.name)
            if limit is not None:
                query = query.limit(limit)
            return [_record(r) for r in session.execute(query).scalars()]

    @staticmethod
    def _find(session: Session, owner: str, name: str) -> KeyPair | None:
        return session.execute(select(KeyPair).where(
            KeyPair.user_id == owner, KeyPair.name == name)).scalar_one_or_none()

    def get(self, caller: CallerLike, name: str, *, user_id: str | None = None
            ) -> KeypairRecord:
        """The owner's key pair ``name``.

        Raises:
            PolicyNotAuthorized: another user's and the caller no admin (403).
            NotFound: the owner has none of that name (404).
        """
        owner = self._owner(caller, "show", user_id)
        with self.db.session(readonly=True) as session:
            row = self._find(session, owner, name)
            if row is None:
                raise _not_found(name, owner)
            return _record(row)

    def delete(self, caller: CallerLike, name: str, *, user_id: str | None = None) -> None:
        """Delete the owner's key pair ``name`` (servers keep the key they were given).

        Raises:
            PolicyNotAuthorized: another user's and the caller no admin (403).
            NotFound: the owner has none of that name (404).
        """
        owner = self._owner(caller, "delete", user_id)
        with self.db.session() as session:
            row = self._find(session, owner, name)
            if row is None:
                raise _not_found(name, owner)
            session.delete(row)
