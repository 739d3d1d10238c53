"""Nova v2.1 key pair routes over :class:`shoal.services.compute.Keypairs`.

``/os-keypairs`` (list, create) and ``/os-keypairs/{name}`` (show, delete). Bodies are
checked against Nova's JSON schemas (Nova's 400 wording); microversions as Nova's:

- 2.2: ``type`` (``ssh`` or ``x509``) in bodies and views; create answers 201 (was 200),
  delete 204 (was 202).
- 2.10: ``user_id``: in the create body, and as a query parameter of list, show and delete
  (another user's key pairs: admins only).
- 2.35: lists are paged (``limit``, ``marker``: a name), at most
  :data:`~shoal.limits.compute_page_entries_max` a page, with ``keypairs_links`` when a page
  is full.
- 2.75: unknown query parameters are a 400.
- 2.92: names may hold ``@`` and ``.``; ``public_key`` is required (no generated pairs).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import limits
from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._errors import BadRequest
from shoal.api._microversion import APIVersion, api_version
from shoal.api._validation import CINDER, cinder_formats
from shoal.api.nova._views import NovaViews, nova_views
from shoal.services.compute import CreatedKeypair, KeypairRecord, Keypairs

__all__ = ["keypair_routes"]

_Handler = Callable[[Request], Awaitable[Response]]

V2_2: Final = APIVersion(2, 2)
V2_10: Final = APIVersion(2, 10)
V2_35: Final = APIVersion(2, 35)
V2_75: Final = APIVersion(2, 75)
V2_92: Final = APIVersion(2, 92)

_NAME_REASON: Final = ("An invalid 'name' value was provided. The name must be: printable "
                       "characters. Can not start or end with whitespace.")


def _printable(char: str) -> bool:
    """Nova's printable characters: no control or format code, no separator but spaces
    (``Zs``)."""
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def _may_end(char: str) -> bool:
    """Whether a name may start or end with ``char``: printable and no space."""
    return _printable(char) and unicodedata.category(char) != "Zs"


_FORMATS: Final = cinder_formats()


@_FORMATS.checks("name")
def _nova_name(instance: object) -> bool:
    """Nova's ``name`` format (its 400 wording): printable, no whitespace at either end."""
    if not isinstance(instance, str) or not instance:
        return True  # the type and minLength rules speak for these
    if all(_printable(c) for c in instance) and _may_end(instance[0]) and _may_end(instance[-1]):
        return True
    raise BadRequest(_NAME_REASON)


def _name_schema(version: APIVersion) -> dict[str, Any]:
    chars = r"^[_\-\@\. a-zA-Z0-9]+$" if version >= V2_92 else r"^[_\- a-zA-Z0-9]+$"
    return {"allOf": [
        {"type": "string", "format": "name", "minLength": 1, "maxLength": 255},
        {"type": "string", "pattern": chars, "minLength": 1, "maxLength": 255}]}


def _create_schema(version: APIVersion) -> dict[str, Any]:
    properties: dict[str, Any] = {"name": _name_schema(version),
                                  "public_key": {"type": "string"}}
    if version >= V2_2:
        properties["type"] = {"type": "string", "enum": ["ssh", "x509"]}
    if version >= V2_10:
        properties["user_id"] = {"type": "string"}
    required = ["name", "public_key"] if version >= V2_92 else ["name"]
    return {"type": "object", "required": ["keypair"], "additionalProperties": False,
            "properties": {"keypair": {"type": "object", "properties": properties,
                                       "required": required, "additionalProperties": False}}}


def _query_schema(version: APIVersion, *, paged: bool) -> dict[str, Any]:
    """Nova's query schema of a list (``paged``), show or delete: values are lists."""
    properties: dict[str, Any] = {}
    if version >= V2_10:
        properties["user_id"] = {"type": "array", "items": {"type": "string"}}
    if paged and version >= V2_35:
        properties["limit"] = {"type": "array", "items": {
            "type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
            "minLength": 1}}
        properties["marker"] = {"type": "array", "items": {"type": "string"}}
    return {"type": "object", "properties": properties,
            "additionalProperties": version < V2_75}


def _check_query(request: Request, *, paged: bool) -> None:
    """Refuse a query Nova's schema refuses, in Nova's words.

    Raises:
        BadRequest: a bad ``limit`` (2.35+) or an unknown parameter (2.75+).
    """
    params = request.query_params
    query = {key: params.getlist(key) for key in params}
    error = CINDER.error(_query_schema(api_version(request), paged=paged), query)
    if error is None:
        return
    if error.path:
        raise BadRequest(f"Invalid input for query parameters {error.path[0]}. Value: "
                         f"{error.instance}. {error.message}")
    raise BadRequest(error.message)


def _user_id(request: Request) -> str | None:
    """The ``user_id`` query parameter (2.10+; its first value), or None (also for an
    empty one: the caller's own, as Nova)."""
    if api_version(request) < V2_10:
        return None
    given = request.query_params.getlist("user_id")
    return (given[0] if given else None) or None


def _nova_time(moment: datetime) -> str:
    """``moment`` as Nova shows it: naive UTC with microseconds
    (``2026-12-08T01:00:54.922363``)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def _brief(keypair: KeypairRecord, version: APIVersion) -> dict[str, Any]:
    view: dict[str, Any] = {"name": keypair.name, "public_key": keypair.public_key,
                            "fingerprint": keypair.fingerprint}
    if version >= V2_2:
        view["type"] = keypair.type
    return view


def _created(made: CreatedKeypair, version: APIVersion) -> dict[str, Any]:
    view = {**_brief(made.keypair, version), "user_id": made.keypair.user_id}
    if made.private_key is not None:
        view["private_key"] = made.private_key
    return {"keypair": view}


def _detail(keypair: KeypairRecord, version: APIVersion) -> dict[str, Any]:
    # Nova's soft-delete and update columns: never set (no soft delete, no update)
    return {"keypair": {**_brief(keypair, version), "user_id": keypair.user_id,
                        "created_at": _nova_time(keypair.created_at), "deleted": False,
                        "deleted_at": None, "updated_at": None, "id": keypair.id}}


def _page(request: Request) -> tuple[int | None, str | None]:
    """(limit, marker) of a list: none before 2.35; from 2.35 at most a full page."""
    if api_version(request) < V2_35:
        return None, None
    params = request.query_params
    limit = min(int(params.get("limit", limits.compute_page_entries_max)),
                limits.compute_page_entries_max)
    return limit, params.get("marker")


def _list_body(found: Sequence[KeypairRecord], request: Request, views: NovaViews,
               limit: int | None) -> Mapping[str, Any]:
    body: dict[str, Any] = {"keypairs": [{"keypair": _brief(k, views.version)}
                                         for k in found]}
    if limit and len(found) == limit:
        body["keypairs_links"] = [{"rel": "next", "href": views.next_link(
            "os-keypairs", request.query_params.multi_items(), found[-1].name)}]
    return body


class _KeypairHandlers:
    def __init__(self, keypairs: Keypairs) -> None:
        self.keypairs = keypairs

    async def list(self, request: Request) -> Response:
        context = await request_context(request)
        _check_query(request, paged=True)
        limit, marker = _page(request)
        found = await run_in_threadpool(
            lambda: self.keypairs.list_keypairs(context, user_id=_user_id(request),
                                                limit=limit, marker=marker))
        return JSONResponse(_list_body(found, request, nova_views(request, context), limit))

    async def create(self, request: Request) -> Response:
        context = await request_context(request)
        version = api_version(request)
        body = await read_json(request)
        CINDER.check(_create_schema(version), body, format_checker=_FORMATS)
        spec = body["keypair"]
        made = await run_in_threadpool(
            lambda: self.keypairs.create(
                context, spec["name"].strip(), public_key=spec.get("public_key"),
                key_type=spec.get("type", "ssh"), user_id=spec.get("user_id") or None))
        return JSONResponse(_created(made, version),
                            status_code=201 if version >= V2_2 else 200)

    async def show(self, request: Request) -> Response:
        context = await request_context(request)
        _check_query(request, paged=False)
        found = await run_in_threadpool(
            lambda: self.keypairs.get(context, request.path_params["name"],
                                      user_id=_user_id(request)))
        return JSONResponse(_detail(found, api_version(request)))

    async def delete(self, request: Request) -> Response:
        context = await request_context(request)
        _check_query(request, paged=False)
        await run_in_threadpool(
            lambda: self.keypairs.delete(context, request.path_params["name"],
                                         user_id=_user_id(request)))
        return Response(status_code=204 if api_version(request) >= V2_2 else 202)


def keypair_routes(keypairs: Keypairs) -> list[BaseRoute]:
    """The key pair routes under ``/compute/v2.1``."""
    h = _KeypairHandlers(keypairs)
    table: Sequence[tuple[str, _Handler, Sequence[str]]] = (
        ("/os-keypairs", h.list, ("GET",)),
        ("/os-keypairs", h.create, ("POST",)),
        ("/os-keypairs/{name}", h.show, ("GET",)),
        ("/os-keypairs/{name}", h.delete, ("DELETE",)),
    )
    return [Route(path, handler, methods=list(methods)) for path, handler, methods in table]
