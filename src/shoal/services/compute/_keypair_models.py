"""The compute table added by migration 0013: key pairs (Nova's ``key_pairs`` of the API
database).

A key pair belongs to one user (``user_id``, a Keystone user id; not to a project) and is
named uniquely per user. ``public_key`` is an OpenSSH public key line (``type`` ``ssh``) or
a PEM certificate (``x509``); ``fingerprint`` is computed from it once, on create (colon
hex: MD5 of the key blob, or SHA-1 of the certificate's DER). ``id`` is the row's own key,
shown by Nova's show view. Key pairs are never changed: deleting removes the row (Nova's
soft-delete columns are always empty in its views, so none are kept).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shoal.db import Base, UTCDateTime

__all__ = ["KEYPAIR_TYPES", "KeyPair"]

_STRING: Final = 255
#: The kinds of key pair (Nova's ``KEYPAIR_TYPE_SSH`` and ``KEYPAIR_TYPE_X509``).
KEYPAIR_TYPES: Final = ("ssh", "x509")


class KeyPair(Base):
    """One user's public key (or certificate) under a name."""

    __tablename__ = "compute_key_pairs"
    __table_args__ = (
        UniqueConstraint("user_id", "name"),
        CheckConstraint(f"type IN {KEYPAIR_TYPES!r}", name="type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(_STRING))
    user_id: Mapped[str] = mapped_column(String(_STRING))
    fingerprint: Mapped[str] = mapped_column(String(_STRING))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
