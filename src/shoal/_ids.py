"""Identifier checks shared by the services and the API."""

from __future__ import annotations

import uuid

__all__ = ["is_uuid_like"]


def is_uuid_like(value: str) -> bool:
    """True for a UUID in dashed (36 chars) or hex (32 chars) form, any case (what Cinder's
    and Glance's ``is_uuid_like`` accept)."""
    if len(value) not in (32, 36):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
