"""Who a Nova body is rendered for, and the links in it.

Links look like Nova's: ``self`` is the versioned endpoint the client reached (with the
project id when the request's URL held one, as Nova builds them from the request), and
``bookmark`` the same without the version segment::

    self      http://host/compute/v2.1/<project>/flavors/1
    bookmark  http://host/compute/<project>/flavors/1
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request

from shoal.api._app import PUBLIC_URL_KEY
from shoal.api._context import URL_PROJECT_KEY, RequestContext
from shoal.api._microversion import APIVersion, api_version
from shoal.api._versions import base_url

__all__ = ["NovaViews", "nova_views"]


@dataclass(frozen=True)
class NovaViews:
    """The request's microversion, admin role and link roots (no trailing slash)."""

    version: APIVersion
    root: str
    project_id: str | None
    is_admin: bool

    def _prefix(self, versioned: bool) -> str:
        base = f"{self.root}/compute" + ("/v2.1" if versioned else "")
        return f"{base}/{self.project_id}" if self.project_id else base

    def links(self, collection: str, resource_id: str) -> list[dict[str, str]]:
        """``[{rel: self, href}, {rel: bookmark, href}]`` for one resource."""
        return [{"rel": "self", "href": f"{self._prefix(True)}/{collection}/{resource_id}"},
                {"rel": "bookmark",
                 "href": f"{self._prefix(False)}/{collection}/{resource_id}"}]

    def next_link(self, path: str, params: Sequence[tuple[str, str]], marker: str) -> str:
        """The ``next`` href of a page: the request's query with ``marker`` replaced."""
        query = [(k, v) for k, v in params if k != "marker"] + [("marker", marker)]
        return f"{self._prefix(True)}/{path}?{urllib.parse.urlencode(query)}"


def nova_views(request: Request, context: RequestContext) -> NovaViews:
    """The views of ``request`` for the caller ``context``."""
    public = request.scope.get(PUBLIC_URL_KEY)
    root = base_url(request, public if isinstance(public, str) else None)
    url_project = request.scope.get(URL_PROJECT_KEY)
    return NovaViews(api_version(request), root.rstrip("/"),
                     url_project if isinstance(url_project, str) else None, context.is_admin)
