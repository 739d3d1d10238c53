"""Microversions: the ``OpenStack-API-Version`` header of Cinder v3 and Nova v2.1.

A client asks for ``OpenStack-API-Version: volume 3.59`` (or ``compute 2.79``; Nova also
reads the legacy ``X-OpenStack-Nova-API-Version: 2.79``, the new header winning when both
are sent). ``latest`` means the server's maximum; no header means the minimum. A version
outside ``[min, max]`` is refused with 406, a malformed one with 400. Every reply under the
versioned root names the version served and varies on the request header(s).

Handlers compare the request's :class:`APIVersion` with strings::

    if api_version(request) >= "3.55": ...
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoal.api._errors import BadRequest, NotAcceptable

__all__ = [
    "COMPUTE_VERSION_MAX",
    "COMPUTE_VERSION_MIN",
    "VOLUME_VERSION_MAX",
    "VOLUME_VERSION_MIN",
    "APIVersion",
    "MicroversionMiddleware",
    "VersionRange",
    "api_version",
    "negotiate",
]

_VERSION_RE = re.compile(r"^([1-9][0-9]*)\.(0|[1-9][0-9]*)$")
#: Digits of a version part read as written; a longer part is read as this many nines.
_PART_DIGITS_MAX = 9


def _part(digits: str) -> int:
    """A version part's value, clamped at :data:`_PART_DIGITS_MAX` nines."""
    if len(digits) > _PART_DIGITS_MAX:
        return int("9" * _PART_DIGITS_MAX)
    return int(digits)


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class APIVersion:
    """A microversion ``major.minor``, comparable with another or with a string ``"3.55"``."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> APIVersion:
        """Parse ``"3.55"``.

        A part of more than :data:`_PART_DIGITS_MAX` digits is read as that many nines
        (far past every served version, so still out of range: 406, never an int()
        conversion error on thousands of digits).

        Raises:
            BadRequest: ``text`` is not ``<major>.<minor>`` with non-negative integers
                (no leading zeros, major >= 1).
        """
        match = _VERSION_RE.match(text.strip())
        if match is None:
            raise BadRequest(
                f"API version {text!r} is of invalid format: it must be MajorNum.MinorNum,"
                " like 3.59, or 'latest'."
            )
        return cls(_part(match.group(1)), _part(match.group(2)))

    def _key(self, other: object) -> tuple[int, int] | None:
        if isinstance(other, APIVersion):
            return (other.major, other.minor)
        if isinstance(other, str):
            parsed = APIVersion.parse(other)
            return (parsed.major, parsed.minor)
        return None

    def __eq__(self, other: object) -> bool:
        key = self._key(other)
        if key is None:
            return NotImplemented
        return (self.major, self.minor) == key

    def __lt__(self, other: APIVersion | str) -> bool:
        key = self._key(other)
        if key is None:
            return NotImplemented
        return (self.major, self.minor) < key

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True)
class VersionRange:
    """The microversions one service serves: ``service`` is the header's name for it."""

    service: str
    minimum: APIVersion
    maximum: APIVersion
    legacy_header: str | None = None

    def __post_init__(self) -> None:
        if self.minimum > self.maximum:
            raise ValueError(f"{self.service}: minimum {self.minimum} > maximum {self.maximum}")


#: Cinder v3's range (upstream's maximum recorded in CLIENTS.md).
VOLUME_VERSION_MIN: Final = APIVersion(3, 0)
VOLUME_VERSION_MAX: Final = APIVersion(3, 71)
#: Nova v2.1's range.
COMPUTE_VERSION_MIN: Final = APIVersion(2, 1)
COMPUTE_VERSION_MAX: Final = APIVersion(2, 96)

VERSION_HEADER: Final = "OpenStack-API-Version"
NOVA_LEGACY_HEADER: Final = "X-OpenStack-Nova-API-Version"


def _requested(headers: list[tuple[str, str]], served: VersionRange) -> str | None:
    """The version text the request asks for, or None when it asks for none."""
    for name, value in headers:
        if name.lower() != VERSION_HEADER.lower():
            continue
        for entry in value.split(","):
            parts = entry.split()
            if len(parts) == 2 and parts[0].lower() == served.service:
                return parts[1]
    if served.legacy_header is not None:
        for name, value in headers:
            if name.lower() == served.legacy_header.lower() and value.strip():
                return value.strip()
    return None


def negotiate(headers: list[tuple[str, str]], served: VersionRange) -> APIVersion:
    """The version to serve for a request with ``headers`` (names in any case).

    Raises:
        BadRequest: the requested version is malformed.
        NotAcceptable: it lies outside ``[served.minimum, served.maximum]``.
    """
    text = _requested(headers, served)
    if text is None:
        return served.minimum
    if text.strip().lower() == "latest":
        return served.maximum
    version = APIVersion.parse(text)
    if not served.minimum <= version <= served.maximum:
        raise NotAcceptable(
            f"Version {version} is not supported by the API. Minimum is"
            f" {served.minimum} and maximum is {served.maximum}."
        )
    return version


def api_version(request: Request) -> APIVersion:
    """The microversion negotiated for ``request`` (its service's minimum outside the
    versioned root, where no negotiation happens)."""
    version = request.scope.get("shoal.api_version")
    if isinstance(version, APIVersion):
        return version
    served = request.scope.get("shoal.version_range")
    if isinstance(served, VersionRange):
        return served.minimum
    raise LookupError("this request went through no microversioned service")


class MicroversionMiddleware:
    """ASGI middleware negotiating the microversion for paths under ``root``.

    Stores the :class:`APIVersion` in ``scope["shoal.api_version"]`` and adds
    ``OpenStack-API-Version`` (and the legacy header when the service has one) and
    ``Vary`` to every response under ``root``. Errors (400/406) are raised for the error
    translator to render.
    """

    def __init__(self, app: ASGIApp, *, root: str, served: VersionRange) -> None:
        self.app = app
        self.root = root.rstrip("/")
        self.served = served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["shoal.version_range"] = self.served
        path: str = scope["path"]
        if path != self.root and not path.startswith(self.root + "/"):
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        vary = VERSION_HEADER
        if self.served.legacy_header is not None:
            vary += ", " + self.served.legacy_header
        try:
            version = negotiate(headers, self.served)
        except (BadRequest, NotAcceptable) as exc:
            exc.headers["Vary"] = vary
            raise
        scope["shoal.api_version"] = version
        reply = [(VERSION_HEADER, f"{self.served.service} {version}"), ("Vary", vary)]
        if self.served.legacy_header is not None:
            reply.append((self.served.legacy_header, str(version)))
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply]

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0] != b"vary"),
                    *encoded,
                ]
            await send(message)

        await self.app(scope, receive, send_with_version)
