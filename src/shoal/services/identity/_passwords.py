"""Password hashing with argon2id (argon2-cffi), constant-ish time on unknown users."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shoal import errors

__all__ = ["PASSWORD_LENGTH_MAX", "PasswordHasher", "Passwords"]

#: Longest accepted password, UTF-8 bytes (Keystone's max_password_length default).
PASSWORD_LENGTH_MAX = 4096


class Passwords:
    """Hash and verify passwords; ``hasher`` defaults to argon2-cffi's RFC 9106 profile."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()

    @functools.cached_property
    def _dummy_hash(self) -> str:
        """Verified against when the user does not exist, so that the answer takes as long
        (made on first use: hashing costs ~0.1 s, which start-up need not pay)."""
        return self.hasher.hash("shoal-dummy-password")

    @staticmethod
    def check_new(password: object) -> str:
        """Validate a password being set; return it. Raises InvalidArgument naming the rule."""
        if not isinstance(password, str) or not password:
            raise errors.InvalidArgument("a password must be a non-empty string")
        if len(password.encode()) > PASSWORD_LENGTH_MAX:
            raise errors.InvalidArgument(
                f"a password is at most {PASSWORD_LENGTH_MAX} bytes (UTF-8)"
            )
        return password

    def hash(self, password: str) -> str:
        """The argon2id PHC string of ``password`` (checked with :meth:`check_new`)."""
        return self.hasher.hash(self.check_new(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; ``password_hash`` None (no such user) is always False
        but costs as much time as a real check."""
        candidate = password if len(password.encode()) <= PASSWORD_LENGTH_MAX else ""
        try:
            ok = self.hasher.verify(password_hash or self._dummy_hash, candidate)
        except (VerificationError, InvalidHashError):
            return False
        return ok and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
