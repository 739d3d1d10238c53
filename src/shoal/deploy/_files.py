"""Writing the private files of a deployment (keyrings, clouds.yaml, openrc, passwords)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shoal import errors

__all__ = ["write_private"]


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600.

    Raises:
        errors.Unavailable: the file cannot be written.
    """
    try:
        if path.exists() and path.read_text(encoding="utf-8") == text:
            return  # unchanged: keep the file (and its mtime)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise errors.Unavailable(f"cannot write {path}: {exc}") from None
