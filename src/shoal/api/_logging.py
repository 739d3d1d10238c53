"""Request ids and the request log of the HTTP edge.

Every request gets an id ``req-<uuid4>``, answered in ``X-OpenStack-Request-Id`` (Cinder and
Nova also answer it in ``X-Compute-Request-Id``) and written into every log line emitted
while the request is handled, errors and their tracebacks included::

    2026-12-07 10:45:15.123 4242 INFO shoal.api.access [req-7c1e...] 127.0.0.1 "GET
    /image/v2/images HTTP/1.1" status: 200 len: 1234 time: 3.2 ms

Where the id comes from follows upstream:

- identity, volume, compute (oslo.middleware's ``RequestId``): always a new id; a client's
  ``X-OpenStack-Request-Id`` of the form ``req-<uuid>`` is kept only as the *global*
  request id, logged before the local one (``[req-global req-local]``), never answered;
- image (Glance's context middleware): the client's ``X-OpenStack-Request-Id`` *is* the
  request id (``req-`` prefixed when missing); longer than
  :data:`shoal.limits.request_id_chars_max` it is refused with 431. A value with characters
  other than printable ASCII is ignored (a new id is made).

Log lines never carry a secret: :class:`RequestFormatter` hides the values of the request's
``X-Auth-Token``, ``X-Subject-Token`` and ``X-Service-Token`` (the request's and the
answer's), the values of password-like fields (``"password": "..."``, ``password=...``)
and the secrets registered with its :class:`SecretMask` (configured passwords).
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import re
import time
import uuid
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoal import limits
from shoal.api._errors import ErrorStyle, error_response

__all__ = [
    "ACCESS_LOGGER",
    "COMPUTE_REQUEST_ID_HEADER",
    "GLOBAL_REQUEST_ID_KEY",
    "REQUEST_ID_HEADER",
    "REQUEST_ID_KEY",
    "RequestContextFilter",
    "RequestFormatter",
    "RequestLogMiddleware",
    "SecretMask",
    "current_request_id",
    "request_target",
    "scope_header",
]

#: Scope keys: this request's id, and the caller's global request id (None: none sent).
REQUEST_ID_KEY = "shoal.request_id"
GLOBAL_REQUEST_ID_KEY = "shoal.global_request_id"
REQUEST_ID_HEADER = "x-openstack-request-id"
COMPUTE_REQUEST_ID_HEADER = "x-compute-request-id"
#: Logger of the access log (one INFO line per request, when switched on).
ACCESS_LOGGER = "shoal.api.access"

_GLOBAL_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CLIENT_ID = re.compile(r"^[!-~]+$")
_TOKEN_HEADERS = frozenset({b"x-auth-token", b"x-subject-token", b"x-service-token"})
#: Request headers whose values the DEBUG line of a request shows as ``***``.
_HIDDEN_HEADERS = _TOKEN_HEADERS | {b"authorization", b"proxy-authorization", b"cookie"}
#: Secrets shorter than this are not masked by value (they would blank out common words).
_SECRET_CHARS_MIN = 4

access_log = logging.getLogger(ACCESS_LOGGER)
log = logging.getLogger("shoal.api")


@dataclasses.dataclass
class _RequestLog:
    """What the log knows of the request being handled (one per request)."""

    request_id: str
    global_request_id: str | None
    secrets: list[str]


_current: contextvars.ContextVar[_RequestLog | None] = contextvars.ContextVar(
    "shoal_request_log", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context (None outside a request)."""
    state = _current.get()
    return state.request_id if state is not None else None


def _printable(text: str) -> str:
    """``text`` with every character outside printable ASCII as a ``\\xNN`` escape (a
    request line cannot forge log lines)."""
    return "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in text)


def request_target(scope: Scope) -> str:
    """``METHOD /path`` of a request as the client sent it: the raw, still percent-encoded
    path, without the query string; unprintable characters escaped."""
    raw = scope.get("raw_path")
    path = bytes(raw).decode("latin-1") if raw else str(scope.get("path", ""))
    path = path.partition("?")[0]  # servers that keep the query in raw_path
    return f"{scope.get('method', '-')} {_printable(path)}"


def scope_header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case) of a request, None when absent."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _shown_headers(scope: Scope) -> dict[str, str]:
    """The request's headers for a DEBUG line: tokens and credentials as ``***``."""
    return {bytes(k).decode("latin-1"): "***" if k in _HIDDEN_HEADERS
            else _printable(bytes(v).decode("latin-1")) for k, v in scope.get("headers", ())}


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


class RequestLogMiddleware:
    """Give each request its id (see the module doc), answer it in ``headers``, make it
    the context of every log line, log its headers at DEBUG (tokens and credentials as
    ``***``), and write the access line when ``access_log`` is on.

    Args:
        style: error format of the 431 for a too long client id (``adopt_client_id``).
        headers: response headers carrying the id (lower case); a header the app already
            set is kept, as upstream does.
        adopt_client_id: take the client's ``X-OpenStack-Request-Id`` as the id (Glance)
            instead of as the global request id (oslo.middleware).
        access_log: write one INFO line per request to :data:`ACCESS_LOGGER`: client,
            method, raw path (no query string), status, body bytes sent, duration in ms.
    """

    def __init__(self, app: ASGIApp, *, style: ErrorStyle, headers: Sequence[str],
                 adopt_client_id: bool = False, access_log: bool = False) -> None:
        if not headers:
            raise ValueError("RequestLogMiddleware needs at least one response header")
        self.app = app
        self.style = style
        self.headers = tuple(h.lower().encode("ascii") for h in headers)
        self.adopt_client_id = adopt_client_id
        self.access_log = access_log

    def _ids(self, scope: Scope) -> tuple[str, str | None, bool]:
        """(request id, global request id, whether the client's id is too long)."""
        sent = scope_header(scope, REQUEST_ID_HEADER.encode("ascii"))
        if self.adopt_client_id and sent is not None and _CLIENT_ID.match(sent):
            if len(sent) > limits.request_id_chars_max:
                return f"req-{uuid.uuid4()}", None, True
            return (sent if sent.startswith("req-") else f"req-{sent}"), None, False
        if not self.adopt_client_id and sent is not None and _GLOBAL_ID.match(sent):
            return f"req-{uuid.uuid4()}", sent, False
        return f"req-{uuid.uuid4()}", None, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        target = request_target(scope)  # before inner layers move a project id out
        request_id, global_id, too_long = self._ids(scope)
        scope[REQUEST_ID_KEY] = request_id
        scope[GLOBAL_REQUEST_ID_KEY] = global_id
        secrets = [bytes(v).decode("latin-1") for k, v in scope.get("headers", ())
                   if k in _TOKEN_HEADERS]
        state = _RequestLog(request_id, global_id, secrets)
        reset = _current.set(state)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s from %s, headers %s", target, _client(scope), _shown_headers(scope))
        answer = {"status": 0, "bytes": 0}
        ids = [(name, request_id.encode("latin-1")) for name in self.headers]

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = int(message["status"])
                headers = list(message.get("headers", []))
                present = {bytes(k).lower() for k, _ in headers}
                headers += [pair for pair in ids if pair[0] not in present]
                state.secrets += [bytes(v).decode("latin-1") for k, v in headers
                                  if bytes(k).lower() in _TOKEN_HEADERS]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                answer["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            if too_long:
                await error_response(
                    self.style, 431, f"x-openstack-request-id is too long, max size "
                    f"{limits.request_id_chars_max}", None, scope_header(scope, b"accept"),
                )(scope, receive, send_logged)
            else:
                await self.app(scope, receive, send_logged)
        finally:
            if self.access_log:
                elapsed_ms = (time.perf_counter() - began) * 1000.0
                access_log.info('%s "%s HTTP/%s" status: %s len: %d time: %.1f ms',
                                _client(scope), target, scope.get("http_version", "1.1"),
                                answer["status"] or "-", answer["bytes"], elapsed_ms)
            _current.reset(reset)


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``global_request_id`` (``-`` when none) to every record, so
    any handler's format can name them; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        state = _current.get()
        fields = record.__dict__
        fields["request_id"] = state.request_id if state is not None else "-"
        fields["global_request_id"] = (state.global_request_id or "-") if state else "-"
        return True


# A password-like key, then its value (quoted, or up to a separator).
_SECRET_FIELD = re.compile(
    r"""(?i)(\b[\w-]*(?:password|passwd|passphrase|secret|adminpass|auth_token"""
    r"""|subject_token|service_token)["']?\s*[:=]\s*)"""
    r"""(?:(b?)(["'])(?:\\.|(?!\3).)*\3|[^\s&,;"'{}\[\]()]+)""")
# A token header, then its value: "X-Auth-Token: v", ('x-auth-token', 'v'), (b'..', b'v').
_TOKEN_FIELD = re.compile(
    r"""(?i)(x-(?:auth|subject|service)-token["']?\s*[:=,]\s*b?["']?)([^\s"',;}\])]+)""")


def _mask_field(match: re.Match[str]) -> str:
    key, prefix, quote = match.group(1, 2, 3)
    return f"{key}{prefix}{quote}***{quote}" if quote else f"{key}***"


class SecretMask:
    """Hides secrets in log text: registered values (:meth:`add`), the current request's
    tokens, values of password-like fields and of token headers, each shown as ``***``."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._values: set[str] = set()
        self.add(*values)

    def add(self, *values: str | None) -> None:
        """Register secret values (passwords from the configuration); values shorter than
        4 characters or None are ignored."""
        self._values.update(v for v in values if v and len(v) >= _SECRET_CHARS_MIN)

    def apply(self, text: str, extra: Iterable[str] = ()) -> str:
        """``text`` with every secret replaced (longest first, so none leaves a tail)."""
        known = self._values.union(v for v in extra if len(v) >= _SECRET_CHARS_MIN)
        for value in sorted(known, key=len, reverse=True):
            text = text.replace(value, "***")
        text = _SECRET_FIELD.sub(_mask_field, text)
        return _TOKEN_FIELD.sub(r"\1***", text)


#: oslo.log's ``log_date_format`` and (nearly) its context and default formats.
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_PREFIX = "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s"
_DEBUG_SUFFIX = " %(funcName)s %(pathname)s:%(lineno)d"


class RequestFormatter(logging.Formatter):
    """oslo.log's line: ``time.ms pid LEVEL logger [ids] message``, ``[ids]`` being
    ``[req-...]`` inside a request (``[req-global req-...]`` with a global request id) and
    ``[-]`` outside; DEBUG lines end with function and ``file:line``, as
    ``logging_debug_format_suffix``. The whole text, traceback included, goes through
    ``mask`` (:class:`SecretMask`)."""

    def __init__(self, mask: SecretMask | None = None, datefmt: str = DATE_FORMAT) -> None:
        super().__init__(f"{_PREFIX} [%(request_ids)s] %(message)s", datefmt)
        self.mask = mask or SecretMask()

    def format(self, record: logging.LogRecord) -> str:
        state = _current.get()
        ids = "-"
        if state is not None:
            ids = " ".join(i for i in (state.global_request_id, state.request_id) if i)
        record.__dict__["request_ids"] = ids
        text = super().format(record)
        if record.levelno <= logging.DEBUG:
            first, newline, rest = text.partition("\n")
            text = first + (_DEBUG_SUFFIX % record.__dict__) + newline + rest
        return self.mask.apply(text, state.secrets if state is not None else ())
