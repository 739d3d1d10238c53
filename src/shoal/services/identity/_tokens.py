"""Token ids and their stored form.

A token id is 32 random bytes, URL-safe base64 (43 characters); the database keeps only its
SHA-256. Why opaque ids and not a signed format (Fernet/JWS): revocation, disabling a user and
role changes need server-side state anyway, so a signature would only add key management and
rotation; a copy of the database does not yield usable tokens (the ids are not stored), and a
plain SHA-256 is enough for 256-bit random secrets (no dictionary to attack, unlike passwords);
validation is one primary-key lookup, shared by every process using the same database.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["TOKEN_ID_LENGTH_MAX", "new_audit_id", "new_token_id", "token_key"]

#: Longer ids cannot be ours: refused without hashing (Keystone's Fernet tokens are < 255).
TOKEN_ID_LENGTH_MAX = 255


def new_token_id() -> str:
    """A fresh token id: 43 URL-safe characters (256 random bits)."""
    return secrets.token_urlsafe(32)


def new_audit_id() -> str:
    """A fresh audit id: 22 URL-safe characters (Keystone's format)."""
    return secrets.token_urlsafe(16)


def token_key(token_id: str) -> str:
    """The stored key of a token id: its SHA-256, 64 hex digits."""
    return hashlib.sha256(token_id.encode()).hexdigest()
