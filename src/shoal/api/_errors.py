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
import html
import http
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

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


_OFFERS = ("text/html", "application/json", "text/plain")


def negotiate_error_type(accept: str | None) -> str:
    """The media type an image API error is rendered in for an ``Accept`` header, as
    Glance's webob does: the acceptable offer of highest quality among text/html,
    application/json and text/plain, ties going to that order. ``application/json`` gets
    Glance's JSON body (Tempest); no header or ``*/*`` gets the HTML page, which both
    glanceclient and openstacksdk (neither asks for JSON) turn into a message with the
    text. (webob 1.8 answers ``*/*`` with text/plain, which openstacksdk reduces to the
    reason phrase: shoal keeps the older webob's HTML.)"""
    if not accept:
        return "text/html"
    best: tuple[float, int] | None = None
    chosen = "text/html"
    ranges = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        quality = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((fields[0].lower(), quality))
    for index, offer in enumerate(_OFFERS):
        kind = offer.split("/")[0]
        matches = [(q, len(r)) for r, q in ranges if r in (offer, f"{kind}/*", "*/*")]
        if not matches:
            continue
        quality = max(matches, key=lambda m: m[1])[0]  # the most specific range decides
        if quality <= 0:
            continue
        if best is None or quality > best[0]:
            best, chosen = (quality, index), offer
    return chosen


def _text_error(status: int, message: str, media: str) -> str:
    reason = f"{status} {_reason(status)}"
    if media == "text/html":
        return (f"<html>\n <head>\n  <title>{reason}</title>\n </head>\n <body>\n"
                f"  <h1>{reason}</h1>\n  {html.escape(message)}<br /><br />\n\n\n\n"
                f" </body>\n</html>")
    return f"{reason}\n\n{message}\n\n   "


def error_response(
    style: ErrorStyle,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    accept: str | None = "application/json",
) -> Response:
    """A complete error response: status, ``style``'s body, extra headers.

    Glance's errors follow ``accept`` (see :func:`negotiate_error_type`); every other
    service, and every 401, answers JSON.
    """
    if style is ErrorStyle.IMAGE and status != 401:
        media = negotiate_error_type(accept)
        if media != "application/json":
            return Response(_text_error(status, message, media), status_code=status,
                            headers=headers, media_type=f"{media}; charset=UTF-8")
    return JSONResponse(error_body(style, status, message), status_code=status, headers=headers)


def response_for_error(style: ErrorStyle, exc: ShoalError,
                       accept: str | None = "application/json") -> Response:
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
    return error_response(style, status, message, headers, accept)
