"""Request bodies: a size limit at the edge, JSON that fails as 400, schema-checked objects.

The limit (``max_body_bytes``, upstream's ``max_request_body_size`` default 114688) is
checked twice: a ``Content-Length`` above it is refused before the handler runs, and a
chunked body is counted as it is read and refused once it passes the limit. Paths that
stream uploads (Glance's ``PUT /v2/images/{id}/file``) are exempt: the app factory takes a
predicate naming them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoal.api._errors import BadRequest, RequestTooLarge
from shoal.api._validation import Dialect

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "BodyLimitMiddleware",
    "read_json",
    "read_json_object",
    "read_valid_object",
]

#: oslo.middleware's ``max_request_body_size`` default, shared by Keystone, Cinder, Nova.
DEFAULT_MAX_BODY_BYTES: Final = 114688

class BodyLimitMiddleware:
    """Refuse request bodies above ``max_body_bytes`` with 413 (raised as RequestTooLarge).

    ``exempt(method, path)`` returns True for requests whose body streams unbounded.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        exempt: Callable[[str, str], bool] | None = None,
    ) -> None:
        if max_body_bytes < 0:
            raise ValueError(f"max_body_bytes must be >= 0, got {max_body_bytes}")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.exempt is not None and self.exempt(scope["method"], scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise BadRequest("Content-Length must be a decimal integer.") from None
                if declared > limit:
                    raise RequestTooLarge(limit)
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise RequestTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


async def read_json(request: Request) -> Any:
    """The request body parsed as JSON.

    Raises:
        BadRequest: the body is empty, not UTF-8, or not valid JSON (the message gives the
            parser's line and column), or JSON no client sends: an integer of more digits
            than Python converts (4300) or arrays and objects nested deeper than the
            parser's recursion allows.
        RequestTooLarge: the body passed the app's limit while being read.
    """
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("The request body is empty: send a JSON document.")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("Malformed request body: it is not UTF-8 encoded JSON.") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"Malformed request body: invalid JSON at line {exc.lineno} column {exc.colno}:"
            f" {exc.msg}."
        ) from None
    except ValueError:  # an integer past sys.get_int_max_str_digits()
        raise BadRequest("Malformed request body: a number has too many digits.") from None
    except RecursionError:
        raise BadRequest("Malformed request body: arrays or objects are nested too deeply."
                         ) from None


async def read_json_object(request: Request, root_key: str | None = None) -> dict[str, Any]:
    """The body as a JSON object; with ``root_key``, the object under that key
    (``{"volume": {...}}`` → ``{...}``).

    Raises:
        BadRequest: as :func:`read_json`, or the body (or ``root_key``'s value) is not an
            object, or ``root_key`` is missing.
    """
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    if root_key is None:
        return body
    if root_key not in body:
        raise BadRequest(f"Missing required element {root_key!r} in request body.")
    inner = body[root_key]
    if not isinstance(inner, dict):
        raise BadRequest(f"Element {root_key!r} of the request body must be a JSON object.")
    return inner


async def read_valid_object(
    request: Request, schema: Mapping[str, Any], dialect: Dialect, root_key: str | None = None
) -> dict[str, Any]:
    """The body as :func:`read_json_object` gives it, checked against the JSON ``schema``
    in the service's ``dialect`` (:mod:`shoal.api._validation`).

    Raises:
        BadRequest: as :func:`read_json_object`, or the schema refuses the object (the
            dialect words the 400).
    """
    data = await read_json_object(request, root_key)
    dialect.check(schema, data)
    return data
