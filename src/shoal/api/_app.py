"""One ASGI application per service, with the shared edge: errors, limits, versions, auth.

Each factory returns a Starlette app answering its version documents under its prefix
(``/identity``, ``/image``, ``/volume``, ``/compute``) and mounting the service's own
``routes`` under its versioned root:

==========  ====================  ==============================================
service     routes mounted at     notes
==========  ====================  ==============================================
identity    ``/identity/v3``
image       ``/image/v2``         ``PUT .../file`` and ``.../stage`` stream: no size limit
volume      ``/volume/v3``        ``/volume/v3/{project_id}/...`` reaches the same routes
compute     ``/compute/v2.1``     ``/compute/v2.1/{project_id}/...`` likewise
==========  ====================  ==============================================

Middleware, outermost first: request id and access log (:mod:`shoal.api._logging`), error
translation, service scope (validator, project id in the URL), body limit, microversion
negotiation (volume, compute), error translation again (so errors of handlers carry the
microversion headers), then Starlette's routing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoal.api import _versions as docs
from shoal.api._body import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from shoal.api._context import URL_PROJECT_KEY, VALIDATOR_KEY, TokenValidator
from shoal.api._errors import (
    GENERIC_500_MESSAGE,
    ErrorStyle,
    error_response,
    response_for_error,
)
from shoal.api._ids import is_uuid_like
from shoal.api._logging import (
    COMPUTE_REQUEST_ID_HEADER,
    REQUEST_ID_HEADER,
    RequestLogMiddleware,
    request_target,
    scope_header,
)
from shoal.api._microversion import (
    COMPUTE_VERSION_MAX,
    COMPUTE_VERSION_MIN,
    NOVA_LEGACY_HEADER,
    VOLUME_VERSION_MAX,
    VOLUME_VERSION_MIN,
    MicroversionMiddleware,
    VersionRange,
)
from shoal.errors import ShoalError

__all__ = [
    "ApiSettings",
    "compute_app",
    "identity_app",
    "image_app",
    "volume_app",
]

log = logging.getLogger("shoal.api")

PREFIX_KEY = "shoal.prefix"
PUBLIC_URL_KEY = "shoal.public_url"


@dataclass(frozen=True)
class ApiSettings:
    """Edge settings shared by the service apps.

    Attributes:
        max_body_bytes: largest request body accepted (bytes); larger is 413. Streaming
            uploads are exempt.
        public_url: scheme://host:port put in version links instead of the request's
            (upstream's ``public_endpoint``), None to use the request's.
        identity_url: Keystone's URL for ``WWW-Authenticate`` on 401s, None to omit it; a
            callable is asked at each 401 (for a URL known only once ports are bound).
        access_log: log one line per request to ``shoal.api.access`` (INFO): client,
            method, path, status, bytes, duration (see :mod:`shoal.api._logging`).
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    public_url: str | None = None
    identity_url: str | Callable[[], str | None] | None = None
    access_log: bool = False

    def __post_init__(self) -> None:
        if self.max_body_bytes < 0:
            raise ValueError(f"max_body_bytes must be >= 0, got {self.max_body_bytes}")


class ErrorTranslator:
    """Render every exception in ``style``: ShoalErrors with their status, others as 500.

    Every 5xx, unexpected exception and unsafe ShoalError is logged at ERROR with its
    traceback (the client sees no detail of the last two); a safe 4xx is logged at INFO
    with its message, as Cinder's fault wrapper does. An exception after the response started
    only gets logged.
    """

    def __init__(self, app: ASGIApp, *, style: ErrorStyle,
                 identity_url: str | Callable[[], str | None] | None) -> None:
        self.app = app
        self.style = style
        self.identity_url = identity_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            where = request_target(scope)
            if started:
                log.error("%s failed after its response started", where, exc_info=exc)
                return
            response = self._response(scope, exc)
            safe = isinstance(exc, ShoalError) and exc.safe
            if response.status_code >= 500 or not safe:
                log.error("%s failed: %d", where, response.status_code, exc_info=exc)
            else:
                log.info("%s returned %d: %s", where, response.status_code, exc)
            await response(scope, receive, send)

    def _response(self, scope: Scope, exc: Exception) -> Response:
        accept = scope_header(scope, b"accept")
        if not isinstance(exc, ShoalError):
            return error_response(self.style, 500, GENERIC_500_MESSAGE, None, accept)
        response = response_for_error(self.style, exc, accept)
        url = self.identity_url() if callable(self.identity_url) else self.identity_url
        if response.status_code == 401 and url:
            response.headers["WWW-Authenticate"] = f'Keystone uri="{url}"'
        return response


class _ServiceScope:
    """Puts the validator, prefix and public URL in the scope; moves a project id out of
    ``{project_root}/{id}/...`` into ``scope[URL_PROJECT_KEY]``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        validator: TokenValidator | None,
        prefix: str,
        public_url: str | None,
        project_root: str | None,
    ) -> None:
        self.app = app
        self.validator = validator
        self.prefix = prefix
        self.public_url = public_url
        self.project_root = project_root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[VALIDATOR_KEY] = self.validator
            scope[PREFIX_KEY] = self.prefix
            scope[PUBLIC_URL_KEY] = self.public_url
            if self.project_root is not None:
                _strip_project_id(scope, self.project_root)
        await self.app(scope, receive, send)


def _strip_project_id(scope: Scope, root: str) -> None:
    path: str = scope["path"]
    if not path.startswith(root + "/"):
        return
    rest = path[len(root) + 1 :]
    segment, slash, tail = rest.partition("/")
    if not is_uuid_like(segment):
        return
    scope[URL_PROJECT_KEY] = segment
    scope["path"] = f"{root}/{tail}" if slash else root
    scope["raw_path"] = scope["path"].encode("utf-8")


@dataclass
class _Service:
    style: ErrorStyle
    prefix: str
    versioned_root: str
    documents: list[Route]
    served: VersionRange | None = None
    project_in_url: bool = False
    exempt: Callable[[str, str], bool] | None = None
    redirect_slashes: bool = True
    #: Response headers with the request id; Cinder and Nova add X-Compute-Request-Id.
    request_id_headers: tuple[str, ...] = (REQUEST_ID_HEADER,)
    #: Glance takes the client's X-OpenStack-Request-Id as the id (oslo: global id only).
    adopt_client_id: bool = False


def _json_route(paths: Sequence[str], status: int, build: Callable[[str], Any]) -> list[Route]:
    """GET routes answering ``build(service root URL)`` with ``status`` on each path."""

    def make(prefix_path: str) -> Route:
        async def endpoint(request: Request) -> Response:
            public = request.scope.get(PUBLIC_URL_KEY)
            root = docs.base_url(request, public if isinstance(public, str) else None)
            return JSONResponse(build(root + request.scope[PREFIX_KEY]), status_code=status)

        return Route(prefix_path, endpoint, methods=["GET"])

    return [make(p) for p in paths]


def _both(path: str) -> list[str]:
    return [path, path + "/"]


def _build(
    service: _Service,
    routes: Sequence[BaseRoute],
    validator: TokenValidator | None,
    settings: ApiSettings,
) -> Starlette:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = exc.detail if exc.status_code != 404 else "The resource could not be found."
        return error_response(service.style, exc.status_code, message, exc.headers,
                              request.headers.get("accept"))

    translate = Middleware(
        ErrorTranslator, style=service.style, identity_url=settings.identity_url
    )
    middleware = [
        Middleware(RequestLogMiddleware, style=service.style,
                   headers=service.request_id_headers,
                   adopt_client_id=service.adopt_client_id, access_log=settings.access_log),
        translate,
        Middleware(
            _ServiceScope,
            validator=validator,
            prefix=service.prefix,
            public_url=settings.public_url,
            project_root=service.versioned_root if service.project_in_url else None,
        ),
        Middleware(
            BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes, exempt=service.exempt
        ),
    ]
    if service.served is not None:
        middleware.append(
            Middleware(MicroversionMiddleware, root=service.versioned_root, served=service.served)
        )
    middleware.append(translate)
    all_routes: list[BaseRoute] = [*service.documents]
    if routes:
        inner = Router(routes=list(routes), redirect_slashes=service.redirect_slashes)
        all_routes.append(Mount(service.versioned_root, app=inner))
    app = Starlette(
        routes=all_routes,
        middleware=middleware,
        exception_handlers={HTTPException: http_error},
    )
    app.router.redirect_slashes = service.redirect_slashes
    return app


def identity_app(
    *,
    routes: Sequence[BaseRoute] = (),
    validator: TokenValidator | None = None,
    settings: ApiSettings | None = None,
) -> Starlette:
    """Keystone v3: version documents at ``/identity`` and ``/identity/v3``; ``routes``
    (``/auth/tokens``, ``/projects``, ...) under ``/identity/v3``."""
    service = _Service(
        style=ErrorStyle.IDENTITY,
        prefix="/identity",
        versioned_root="/identity/v3",
        documents=[
            *_json_route(_both("/identity"), 300, docs.identity_root_document),
            *_json_route(_both("/identity/v3"), 200, docs.identity_version_document),
        ],
    )
    return _build(service, routes, validator, settings or ApiSettings())


_GLANCE_STREAMED = re.compile(r"^/image/v2/images/[^/]+/(file|stage)$")


def _glance_upload(method: str, path: str) -> bool:
    return method == "PUT" and _GLANCE_STREAMED.match(path) is not None


def image_app(
    *,
    routes: Sequence[BaseRoute] = (),
    validator: TokenValidator | None = None,
    settings: ApiSettings | None = None,
) -> Starlette:
    """Glance v2: versions at ``/image`` (300) and ``/image/versions`` (200); ``routes``
    (``/images``, ``/schemas/image``, ...) under ``/image/v2``. Image data uploads
    (``PUT /image/v2/images/{id}/file`` and ``/stage``) bypass the body size limit."""
    service = _Service(
        style=ErrorStyle.IMAGE,
        prefix="/image",
        versioned_root="/image/v2",
        documents=[
            *_json_route(_both("/image"), 300, docs.image_versions_document),
            *_json_route(_both("/image/versions"), 200, docs.image_versions_document),
        ],
        exempt=_glance_upload,
        redirect_slashes=False,  # Glance: /v2/images/ is 404, not a redirect to /v2/images
        adopt_client_id=True,
    )
    return _build(service, routes, validator, settings or ApiSettings())


def volume_app(
    *,
    routes: Sequence[BaseRoute] = (),
    validator: TokenValidator | None = None,
    settings: ApiSettings | None = None,
    served: VersionRange | None = None,
) -> Starlette:
    """Cinder v3: versions at ``/volume/`` (300) and ``/volume/v3/`` (200); ``routes``
    (``/volumes``, ``/snapshots``, ...) under ``/volume/v3``, reached with or without a
    project id after ``v3``. ``served`` defaults to 3.0 .. VOLUME_VERSION_MAX."""
    served = served or VersionRange("volume", VOLUME_VERSION_MIN, VOLUME_VERSION_MAX)

    def doc(root: str) -> Any:
        return docs.volume_versions_document(root, served)

    service = _Service(
        style=ErrorStyle.VOLUME,
        prefix="/volume",
        versioned_root="/volume/v3",
        documents=[
            *_json_route(_both("/volume"), 300, doc),
            *_json_route(_both("/volume/v3"), 200, doc),
        ],
        served=served,
        project_in_url=True,
        request_id_headers=(REQUEST_ID_HEADER, COMPUTE_REQUEST_ID_HEADER),
        redirect_slashes=False,  # Cinder: /volumes/ is 404 (Tempest), not the list
    )
    return _build(service, routes, validator, settings or ApiSettings())


def compute_app(
    *,
    routes: Sequence[BaseRoute] = (),
    validator: TokenValidator | None = None,
    settings: ApiSettings | None = None,
    served: VersionRange | None = None,
) -> Starlette:
    """Nova v2.1: versions at ``/compute/`` (200, Nova's index) and ``/compute/v2.1``
    (200); ``routes`` (``/servers``, ``/flavors``, ...) under ``/compute/v2.1``, with or
    without a project id. ``served`` defaults to 2.1 .. COMPUTE_VERSION_MAX."""
    served = served or VersionRange(
        "compute", COMPUTE_VERSION_MIN, COMPUTE_VERSION_MAX, legacy_header=NOVA_LEGACY_HEADER
    )

    def root_doc(root: str) -> Any:
        return docs.compute_root_document(root, served)

    def version_doc(root: str) -> Any:
        return docs.compute_version_document(root, served)

    service = _Service(
        style=ErrorStyle.COMPUTE,
        prefix="/compute",
        versioned_root="/compute/v2.1",
        documents=[
            *_json_route(_both("/compute"), 200, root_doc),
            *_json_route(_both("/compute/v2.1"), 200, version_doc),
        ],
        served=served,
        project_in_url=True,
        request_id_headers=(REQUEST_ID_HEADER, COMPUTE_REQUEST_ID_HEADER),
    )
    return _build(service, routes, validator, settings or ApiSettings())
