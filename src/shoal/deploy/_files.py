"""Writing the private files of a deployment (keyrings, clouds.yaml, openrc, passwords)."""

from __future__ import annotations

from pathlib import Path

from shoal import errors
from shoal.atomicfile import write_atomically

__all__ = ["write_private"]


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600.

    Raises:
        errors.Unavailable: the file cannot be written.
    """
    try:
        if path.exists() and path.read_text(encoding="utf-8") == text:
            return  # unchanged: keep the file (and its mtime)
        write_atomically(path, text, 0o600)
    except OSError as exc:
        raise errors.Unavailable(f"cannot write {path}: {exc}") from None
