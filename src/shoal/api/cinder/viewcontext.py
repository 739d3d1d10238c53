"""Who a Cinder body is rendered for, and the links and timestamps in it.

Every view takes a :class:`ViewContext`: the negotiated microversion, whether the
caller is an admin (admin-only fields), the caller's project (Cinder puts it in every
link, whichever project owns the resource) and the versioned endpoint the links start
from. Links look like Cinder's::

    self      http://host/volume/v3/<project>/volumes/<id>
    bookmark  http://host/volume/<project>/volumes/<id>        (version segment removed)
    next      http://host/volume/v3/<project>/volumes/detail?limit=2&marker=<last id>

Timestamps are UTC without zone, to the microsecond, as Cinder's JSON encoder writes
them: ``2026-11-23T18:00:00.000000``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from shoal.api._microversion import APIVersion
from shoal.services.volume.records import as_utc

__all__ = ["ViewContext", "cinder_time"]

_VERSION_SEGMENT: Final = re.compile(r"^v([0-9]+|[0-9]+\.[0-9]+)$")


def cinder_time(moment: datetime | None) -> str | None:
    """``moment`` as Cinder shows it (``2026-11-23T18:00:00.000000``, UTC), or None."""
    if moment is None:
        return None
    return as_utc(moment).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _without_version(url: str) -> str:
    """``url`` without its first ``v3``-like path segment (Cinder's bookmark root)."""
    parts = urllib.parse.urlsplit(url)
    segments = parts.path.split("/")
    for index, segment in enumerate(segments):
        if _VERSION_SEGMENT.match(segment):
            del segments[index]
            break
    return urllib.parse.urlunsplit(parts._replace(path="/".join(segments))).rstrip("/")


@dataclass(frozen=True)
class ViewContext:
    """The caller a body is rendered for.

    Attributes:
        version: the request's microversion.
        endpoint: the versioned root the client reached, without a trailing slash
            (``http://127.0.0.1:8776/volume/v3``).
        project_id: the caller's project (links carry it); None for an unscoped token.
        is_admin: the caller holds the admin role (admin-only fields).
        is_service: the caller holds the service role (sees attachments' host names,
            as Glance's cinder store needs).
    """

    version: APIVersion
    endpoint: str
    project_id: str | None = None
    is_admin: bool = False
    is_service: bool = False

    def __post_init__(self) -> None:
        if not self.endpoint.startswith(("http://", "https://")):
            raise ValueError(f"endpoint must be an http(s) URL, got {self.endpoint!r}")
        object.__setattr__(self, "endpoint", self.endpoint.rstrip("/"))

    def at_least(self, minimum: APIVersion) -> bool:
        """Whether the request's version is ``minimum`` or later."""
        return self.version >= minimum

    def owns(self, project_id: str) -> bool:
        """Whether ``project_id`` is the caller's project."""
        return self.project_id is not None and self.project_id == project_id

    def _prefix(self, root: str) -> str:
        return f"{root}/{self.project_id}" if self.project_id else root

    def href(self, collection: str, resource_id: str) -> str:
        """``<endpoint>/<project>/<collection>/<id>``: the ``self`` link."""
        return f"{self._prefix(self.endpoint)}/{collection}/{resource_id}"

    def bookmark(self, collection: str, resource_id: str) -> str:
        """The ``bookmark`` link: the ``self`` link without the version segment."""
        return f"{self._prefix(_without_version(self.endpoint))}/{collection}/{resource_id}"

    def links(self, collection: str, resource_id: str) -> list[dict[str, str]]:
        """``[{rel: self, href}, {rel: bookmark, href}]`` for one resource."""
        return [
            {"rel": "self", "href": self.href(collection, resource_id)},
            {"rel": "bookmark", "href": self.bookmark(collection, resource_id)},
        ]

    def next_link(self, path: str, params: Sequence[tuple[str, str]], marker: str) -> str:
        """The ``next`` href of a page: ``path`` (``volumes/detail``) with the request's
        query parameters, ``marker`` replaced by ``marker`` (last, as Cinder does)."""
        query = [(name, value) for name, value in params if name != "marker"]
        query.append(("marker", marker))
        return f"{self._prefix(self.endpoint)}/{path}?{urllib.parse.urlencode(query)}"
