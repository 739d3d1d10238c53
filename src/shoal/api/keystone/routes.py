"""Keystone v3 token endpoints and the catalog, over :mod:`shoal.services.identity`.

``/identity/v3/auth/tokens``:

- ``POST``: password or token authentication (project scoped, default project, or
  ``unscoped``); 201 with the token id in ``X-Subject-Token`` and Keystone's
  ``{"token": {...}}`` body (``?nocatalog`` leaves the catalog out).
- ``GET`` / ``HEAD``: validate the token in ``X-Subject-Token`` for a caller
  authenticated by ``X-Auth-Token``; 200, or 404 when the subject token is not valid
  (Keystone's answer), 401 when the caller's own token is not.
- ``DELETE``: revoke the subject token; 204.

:class:`IdentityTokenValidator` lets every other service authenticate requests against
the same identity service (the ``TokenValidator`` of :mod:`shoal.api`). The identity
service is synchronous (SQLAlchemy): calls run in Starlette's thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._body import read_json_object
from shoal.api._context import RequestContext, request_context
from shoal.services.identity import IdentityService, TokenData

__all__ = ["IdentityTokenValidator", "build_catalog", "catalog_for", "identity_routes"]

#: Catalog entries: service type → the key of its URL in the endpoint map.
_CATALOG: tuple[tuple[str, str, str], ...] = (
    ("identity", "keystone", "identity"),
    ("image", "glance", "image"),
    ("block-storage", "cinderv3", "volume"),
    ("volumev3", "cinderv3", "volume"),
    ("compute", "nova", "compute"),
)
_INTERFACES = ("public", "internal", "admin")


def build_catalog(urls: Mapping[str, str], region: str = "RegionOne",
                  project_id: str | None = None) -> list[dict[str, Any]]:
    """Keystone catalog entries for the services in ``urls``.

    ``urls`` maps ``identity``/``image``/``volume``/``compute`` to each service's
    versioned base URL (e.g. ``http://127.0.0.1:8776/volume/v3``); services missing
    from it are left out. The volume service is listed as both ``block-storage``
    and ``volumev3`` (Tempest's default type is the first, the CLIs use either).
    Volume and compute URLs end with the project id when ``project_id`` is given,
    as upstream's catalogs usually do (both forms are served).
    """
    out: list[dict[str, Any]] = []
    for kind, name, key in _CATALOG:
        url = urls.get(key)
        if url is None:
            continue
        url = url.rstrip("/")
        if project_id and key in ("volume", "compute"):
            url = f"{url}/{project_id}"
        endpoints = [{"id": f"{kind}-{iface}", "interface": iface, "region": region,
                      "region_id": region, "url": url} for iface in _INTERFACES]
        out.append({"id": kind, "type": kind, "name": name, "endpoints": endpoints})
    return out


def catalog_for(urls: Mapping[str, str], region: str = "RegionOne"
                ) -> Callable[[TokenData], list[dict[str, Any]]]:
    """The ``catalog`` hook of :class:`IdentityService` for these endpoints."""

    def catalog(data: TokenData) -> list[dict[str, Any]]:
        return build_catalog(urls, region, data.project_id)

    return catalog


def _context(token: str, data: TokenData) -> RequestContext:
    project = data.project
    return RequestContext(
        user_id=data.user.id,
        project_id=None if project is None else project.id,
        roles=frozenset(data.role_names),
        user_name=data.user.name,
        project_name="" if project is None else project.name,
        domain_id=data.user.domain_id,
        token=token,
    )


class IdentityTokenValidator:
    """A :class:`shoal.api.TokenValidator` over the identity service."""

    def __init__(self, service: IdentityService) -> None:
        self._service = service

    async def validate(self, token: str) -> RequestContext:
        """The caller of ``token``; AuthenticationFailed (401) if it is not valid."""
        data = await run_in_threadpool(self._service.validate_token, token)
        return _context(token, data)


def _subject(request: Request) -> str:
    token = request.headers.get("x-subject-token", "")
    if not token:
        raise errors.InvalidArgument("X-Subject-Token header is required")
    return token


async def _subject_data(service: IdentityService, request: Request) -> TokenData:
    await request_context(request)  # the caller must hold a valid token
    token = _subject(request)
    try:
        return await run_in_threadpool(service.validate_token, token)
    except errors.AuthenticationFailed:
        raise errors.NotFound("the token in X-Subject-Token is not valid") from None


def identity_routes(service: IdentityService) -> list[BaseRoute]:
    """Routes under ``/identity/v3`` for :func:`shoal.api.identity_app`."""

    async def issue(request: Request) -> Response:
        body = await read_json_object(request)
        issued = await run_in_threadpool(service.authenticate, body)
        token = (issued.data.to_keystone(None) if "nocatalog" in request.query_params
                 else service.token_body(issued.data))
        return JSONResponse(token, status_code=201, headers={"X-Subject-Token": issued.id})

    async def check(request: Request) -> Response:
        data = await _subject_data(service, request)
        headers = {"X-Subject-Token": _subject(request)}
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers)
        token = (data.to_keystone(None) if "nocatalog" in request.query_params
                 else service.token_body(data))
        return JSONResponse(token, headers=headers)

    async def revoke(request: Request) -> Response:
        await _subject_data(service, request)
        await run_in_threadpool(service.revoke_token, _subject(request))
        return Response(status_code=204)

    return [
        Route("/auth/tokens", issue, methods=["POST"]),
        Route("/auth/tokens", check, methods=["GET", "HEAD"]),
        Route("/auth/tokens", revoke, methods=["DELETE"]),
    ]
