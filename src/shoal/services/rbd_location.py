"""RBD store locations: ``rbd://FSID/POOL/IMAGE/SNAP`` and the legacy ``rbd://IMAGE``.

Shared by the services that meet them: the image store writes them, the volume driver
(and later the compute service) parse them to clone images copy-on-write.

Each part is percent-encoded with no safe characters (``/`` becomes ``%2F``), so
any image or pool name round-trips; parsing accepts exactly one or four parts,
none of them empty, as glance_store's ``StoreLocation`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from shoal import errors

__all__ = ["SCHEME", "BadStoreUri", "StoreLocation", "parse_location"]

#: The URI scheme of RBD locations.
SCHEME = "rbd"
_PREFIX = f"{SCHEME}://"


class BadStoreUri(errors.InvalidArgument):
    """glance_store ``BadStoreUri``: a location that is not ``rbd://`` in 1 or 4 parts."""


@dataclass(frozen=True)
class StoreLocation:
    """Where an image's data is.

    ``fsid``, ``pool`` and ``snapshot`` are None for a legacy location
    (``rbd://IMAGE``: the store's own pool, the image's head).
    """

    image: str
    fsid: str | None = None
    pool: str | None = None
    snapshot: str | None = None

    def __post_init__(self) -> None:
        parts = (self.fsid, self.pool, self.snapshot)
        if not self.image or any(p == "" for p in parts):
            raise BadStoreUri("an RBD location has no empty parts")
        if any(p is None for p in parts) and any(p is not None for p in parts):
            raise BadStoreUri("an RBD location has either all of fsid, pool and "
                              "snapshot or none of them")

    @property
    def is_legacy(self) -> bool:
        """Whether this is the one-part form ``rbd://IMAGE``."""
        return self.fsid is None

    @property
    def uri(self) -> str:
        """The location as a URI (each part quoted with no safe characters)."""
        if self.fsid is None or self.pool is None or self.snapshot is None:
            return _PREFIX + quote(self.image, safe="")
        parts = (self.fsid, self.pool, self.image, self.snapshot)
        return _PREFIX + "/".join(quote(p, safe="") for p in parts)

    def __str__(self) -> str:
        return self.uri


def parse_location(uri: str) -> StoreLocation:
    """Parse ``rbd://FSID/POOL/IMAGE/SNAP`` or ``rbd://IMAGE``.

    Raises:
        BadStoreUri: another scheme, not one or four parts, an empty part, or a
            part that does not decode to UTF-8 text.
    """
    if not isinstance(uri, str) or not uri.startswith(_PREFIX):
        raise BadStoreUri(f"not an RBD location (expected {_PREFIX}...): {uri!r}")
    pieces = uri[len(_PREFIX):].split("/")
    if len(pieces) not in (1, 4):
        raise BadStoreUri(f"an RBD location has 1 or 4 parts, not {len(pieces)}: {uri!r}")
    try:
        parts = [unquote(p, errors="strict") for p in pieces]
    except UnicodeDecodeError:
        raise BadStoreUri(f"an RBD location part is not UTF-8 text: {uri!r}") from None
    if any(not p for p in parts):
        raise BadStoreUri(f"an RBD location has an empty part: {uri!r}")
    if len(parts) == 1:
        return StoreLocation(image=parts[0])
    fsid, pool, image, snapshot = parts
    return StoreLocation(image=image, fsid=fsid, pool=pool, snapshot=snapshot)
