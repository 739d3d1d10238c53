"""Fixtures for the HTTP platform: a real fake token validator, demo service routes, and a
synchronous helper driving an ASGI app in-process through httpx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api import (
    ApiSettings,
    RequestContext,
    api_version,
    read_json_object,
    read_valid_object,
    request_context,
    require_project,
    require_role,
    requires_role,
    uuid_or_not_found,
)
from shoal.api._validation import CINDER

PROJECT_A = "6f1b0c5e3a9d4e2f8b7c1d0e9f8a7b6c"
PROJECT_B = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
VOLUME_ID = "5d3c6b5e-4f1a-4c3b-9e2d-1a0b9c8d7e6f"

#: token → context: an admin and a member in project A, a reader in A, a member in B.
TOKENS: Mapping[str, RequestContext] = {
    "admin-token": RequestContext("u-admin", PROJECT_A, frozenset({"admin", "member", "reader"})),
    "member-token": RequestContext("u-member", PROJECT_A, frozenset({"member", "reader"})),
    "reader-token": RequestContext("u-reader", PROJECT_A, frozenset({"reader"})),
    "other-token": RequestContext("u-other", PROJECT_B, frozenset({"member", "reader"})),
}


class FakeValidator:
    """TokenValidator over a fixed table (the identity service's store in real use)."""

    def __init__(self, tokens: Mapping[str, RequestContext]) -> None:
        self.tokens = dict(tokens)
        self.calls = 0

    async def validate(self, token: str) -> RequestContext:
        self.calls += 1
        context = self.tokens.get(token)
        if context is None:
            raise errors.AuthenticationFailed("The token is unknown or expired.")
        return context


#: A compute body checked as Nova checks its bodies (Cinder's dialect: draft 4).
WIDGET = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "size": {"type": "integer", "minimum": 1}},
    "required": ["name", "size"],
}


async def _raise(request: Request) -> Response:
    name = request.path_params["name"]
    error = getattr(errors, name)
    assert issubclass(error, errors.ShoalError)
    raise error(f"{name} raised on purpose")


async def _boom(request: Request) -> Response:
    raise RuntimeError("secret internal detail /etc/shadow")


async def _echo(request: Request) -> Response:
    return JSONResponse({"got": await read_json_object(request)})


async def _widget(request: Request) -> Response:
    widget = await read_valid_object(request, WIDGET, CINDER, root_key="widget")
    return JSONResponse({"widget": widget}, status_code=202)


async def _lookup(request: Request) -> Response:
    volume_id = uuid_or_not_found(request.path_params["id"], "Volume")
    if volume_id != VOLUME_ID:
        raise errors.NotFound(f"Volume {volume_id} could not be found.")
    return JSONResponse({"volume": {"id": volume_id}})


async def _whoami(request: Request) -> Response:
    context = await request_context(request)
    assert await request_context(request) is context  # validated once per request
    return JSONResponse(
        {"user_id": context.user_id, "project_id": context.project_id, "admin": context.is_admin}
    )


async def _write(request: Request) -> Response:
    context = await request_context(request)
    require_role(context, "member")
    require_project(context, request.path_params["project"])
    return Response(status_code=204)


@requires_role("admin")
async def _admin_only(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _version(request: Request) -> Response:
    version = api_version(request)
    return JSONResponse({"version": str(version), "ge_3_55": version >= "3.55"})


async def _upload(request: Request) -> Response:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
    return JSONResponse({"bytes": total})


def demo_routes() -> list[BaseRoute]:
    """Routes a service piece would plug in, exercising every helper of the edge."""
    return [
        Route("/raise/{name}", _raise, methods=["GET"]),
        Route("/boom", _boom, methods=["GET"]),
        Route("/echo", _echo, methods=["POST"]),
        Route("/widgets", _widget, methods=["POST"]),
        Route("/volumes/{id}", _lookup, methods=["GET"]),
        Route("/whoami", _whoami, methods=["GET"]),
        Route("/owned/{project}", _write, methods=["PUT"]),
        Route("/admin-only", _admin_only, methods=["GET"]),
        Route("/version", _version, methods=["GET"]),
        Route("/images/{id}/file", _upload, methods=["PUT"]),
        Route("/small/{id}/file", _upload, methods=["PUT"]),
    ]


def make_app(factory: Callable[..., Any], **settings: Any) -> Any:
    """``factory`` (identity_app, ...) with the demo routes and the fake validator."""
    return factory(
        routes=demo_routes(), validator=FakeValidator(TOKENS), settings=ApiSettings(**settings)
    )


def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request to ``app`` in-process (host ``shoal.test:8080``); body read."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://shoal.test:8080"
        ) as client:
            headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
            response = await client.request(method, url, headers=headers, **kwargs)
            await response.aread()
            return response

    return asyncio.run(go())


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    """``data`` as an async stream of ``size``-byte pieces (sent without Content-Length)."""
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]
