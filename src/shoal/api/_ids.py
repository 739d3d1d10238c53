"""Resource ids in URLs.

openstacksdk looks a resource up by name by first trying ``GET .../{name}`` and expects
404 (not 400) when the name is no id, then lists with ``?name=``. So a path id that is not
a UUID is simply a resource that does not exist.
"""

from __future__ import annotations

import uuid

from shoal._ids import is_uuid_like
from shoal.errors import NotFound

__all__ = ["is_uuid_like", "uuid_or_not_found"]


def uuid_or_not_found(value: str, what: str) -> str:
    """``value`` normalised to the dashed lower-case UUID form.

    Raises:
        NotFound: ``value`` is not a UUID, so no ``what`` can have it as id (404).
    """
    if not is_uuid_like(value):
        raise NotFound(f"{what} {value} could not be found.")
    return str(uuid.UUID(value))
