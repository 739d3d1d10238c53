"""Errors at the HTTP edge: each failure becomes a status and the body its clients expect.

Each OpenStack service words its error bodies differently, and the clients parse them:

- **compute** (Nova) and **volume** (Cinder)::

      {"itemNotFound": {"code": 404, "message": "Volume abc could not be found."}}

  The key names the status: 400 ``badRequest``, 401 ``unauthorized``, 403 ``forbidden``,
  404 ``itemNotFound``, 405 ``badMethod``, 409 ``conflictingRequest``, 413 and 429
  ``overLimit``, 415 ``badMediaType``, 501 ``notImplemented``, 503 ``serviceUnavailable``,
  anything else (500, 406, ...) ``computeFault``.
- **image** (Glance, through webob): ``{"code": "404 Not Found", "title": "Not Found",
  "message": "..."}`` (``code`` is the status line, a string).
- **identity** (Keystone): ``{"error": {"code": 401, "title": "Unauthorized", "message": "..."}}``.

A 401 from the token check has Keystone's body in every service, as upstream's auth_token
middleware answers before the service sees the request; it carries ``WWW-Authenticate``
when the identity endpoint is known.

Unsafe errors (``ShoalError.safe`` false, and every exception that is no ShoalError) show
a generic message; the details go to the server's log only.
"""

from __future__ import annotations

import enum
import http
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

from shoal.errors import ShoalError

__all__ = [
    "ApiError",
    "BadRequest",
    "ErrorStyle",
    "NotAcceptable",
    "RequestTooLarge",
    "error_body",
    "error_response",
    "response_for_error",
]

#: Message shown for a failure whose details must stay on the server.
GENERIC_500_MESSAGE = (
    "The server has either erred or is incapable of performing the requested operation."
)


class ErrorStyle(enum.Enum):
    """Which upstream service's error body format an app answers with."""

    IDENTITY = "identity"
    IMAGE = "image"
    VOLUME = "volume"
    COMPUTE = "compute"


class ApiError(ShoalError):
    """An HTTP-level refusal with an explicit status (the request, not a resource, is wrong).

    Args:
        status: HTTP status code, 400..599.
        message: text shown to the client; says what to fix.
        headers: extra response headers (e.g. ``Retry-After``).

    Raises:
        ValueError: ``status`` is not an error status.
    """

    safe = True

    def __init__(
        self, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"ApiError status must be 400..599, got {status}")
        super().__init__(message)
        self.http_status = status
        self.headers: dict[str, str] = dict(headers or {})


class BadRequest(ApiError):
    """400: the request is malformed (bad JSON, bad header, bad parameter)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class NotAcceptable(ApiError):
    """406: the requested microversion is outside the served range."""

    def __init__(self, message: str) -> None:
        super().__init__(406, message)


class RequestTooLarge(ApiError):
    """413: the request body is larger than the configured limit."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(
            413,
            f"Request is too large: the body may hold at most {limit_bytes} bytes.",
        )
        self.limit_bytes = limit_bytes


_FAULT_NAMES: Mapping[int, str] = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def fault_name(status: int) -> str:
    """The Nova/Cinder fault key for ``status`` (``computeFault`` when none is specific)."""
    return _FAULT_NAMES.get(status, "computeFault")


def error_body(style: ErrorStyle, status: int, message: str) -> dict[str, Any]:
    """The JSON body ``style``'s service answers an error of ``status`` with.

    A 401 always has Keystone's body (the token check answers it, as upstream's
    auth_token middleware does, whatever the service).
    """
    if style is ErrorStyle.IDENTITY or status == 401:
        return {"error": {"code": status, "title": _reason(status), "message": message}}
    if style is ErrorStyle.IMAGE:
        return {
            "code": f"{status} {_reason(status)}",
            "title": _reason(status),
            "message": message,
        }
    return {fault_name(status): {"code": status, "message": message}}


def error_response(
    style: ErrorStyle,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A complete error response: status, ``style``'s body, extra headers."""
    return JSONResponse(error_body(style, status, message), status_code=status, headers=headers)


def response_for_error(style: ErrorStyle, exc: ShoalError) -> JSONResponse:
    """Translate a ShoalError: its ``http_status``, its message if ``safe``, its headers.

    An unsafe error shows only its status's reason phrase (a generic text for 500); an
    error whose status is not 4xx/5xx (a programming mistake) becomes a 500.
    """
    status = exc.http_status if 400 <= exc.http_status <= 599 else 500
    if exc.safe:
        message = exc.message
    elif status == 500:
        message = GENERIC_500_MESSAGE
    else:
        message = _reason(status)
    headers = getattr(exc, "headers", None)
    return error_response(style, status, message, headers)
