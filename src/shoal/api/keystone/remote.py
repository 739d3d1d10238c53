"""Validating tokens against a remote Keystone v3, as keystonemiddleware's auth_token does.

When ``[keystone_authtoken] auth_url`` is set, every API asks that Keystone about each
``X-Auth-Token`` instead of shoal's own identity service:

1. The validator logs in as the service user (``POST {v3}/auth/tokens?nocatalog``,
   password method, scoped to ``project_name``) and keeps that token until
   :data:`SERVICE_TOKEN_RENEW_S` before it expires (half its remaining life when that is
   shorter). When Keystone answers 401 to it (revoked, or Keystone restarted with new
   keys) it logs in again once and repeats the request.
2. It validates a user token with ``GET {v3}/auth/tokens?nocatalog``, the service token
   in ``X-Auth-Token`` and the user token in ``X-Subject-Token``: 200 gives the
   :class:`RequestContext`; 404 means the token is unknown, expired or revoked (401).
3. Valid answers are cached ``token_cache_time`` seconds, never past the token's own
   ``expires_at``, for at most ``cache_entries_max`` tokens (the least recently used go
   first). As upstream, a revoked token keeps working until its entry expires; -1 or 0
   asks Keystone every time. Refusals are not cached.

Keystone unreachable, slower than ``http_connect_timeout`` (default
:data:`~shoal.config.KEYSTONE_TIMEOUT_S_DEFAULT`), failing (5xx), refusing the service user,
or answering something that is no token: :class:`~shoal.errors.Unavailable` (503). Its
message tells the client that tokens cannot be checked now; Keystone's URL and the
service user go to the log only. The client's token is never blamed for it.

A token that is no visible ASCII (or longer than :data:`TOKEN_LENGTH_MAX`) is refused
without asking Keystone. Scopes: a project-scoped token gives its project and roles; a
system-scoped one its roles without a project; unscoped and domain-scoped tokens give
neither (shoal has no domain-level policy).
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx

from shoal import errors
from shoal._time import utcnow
from shoal.api._context import RequestContext, TokenValidator
from shoal.config import KeystoneAuthtokenSection, ShoalConfig

__all__ = [
    "SERVICE_TOKEN_RENEW_S",
    "TOKEN_CACHE_ENTRIES_MAX",
    "TOKEN_LENGTH_MAX",
    "RemoteKeystoneValidator",
    "validator_from_config",
]

log = logging.getLogger("shoal.api")

#: Tokens whose validation is cached at once (each a few hundred bytes).
TOKEN_CACHE_ENTRIES_MAX: Final = 10_000
#: Longest token sent to Keystone (Fernet tokens have under 256 characters, JWS ~800).
TOKEN_LENGTH_MAX: Final = 8192
#: The service token is renewed this many seconds before it expires (keystoneauth: 120).
SERVICE_TOKEN_RENEW_S: Final = 120

#: Each call to Keystone has its own connection: none stays open in an event loop that
#: may end (tests run one loop per request); the caches keep the calls rare.
_NO_KEEPALIVE: Final = httpx.Limits(max_keepalive_connections=0)
_TOKEN_TEXT = re.compile(r"[\x21-\x7e]+")
_REFUSED = "The request you have made requires authentication: the token is invalid."
_DOWN = "The identity service (Keystone) cannot validate tokens now: {why}. Try again later."


def _keystone_time(text: object) -> datetime:
    """Keystone's ``2026-11-23T17:54:56.228996Z`` (or any ISO 8601) as aware UTC.

    Raises:
        ValueError: not such a timestamp.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a timestamp")
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_LONG_AGO: Final = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _ServiceToken:
    """The service user's token; renewed from ``renew_at`` on (none: renew now)."""

    token: str = ""
    renew_at: datetime = _LONG_AGO


@dataclass(frozen=True)
class _Cached:
    context: RequestContext
    until: datetime


@dataclass(frozen=True)
class _LoopClient:
    """The HTTP client and login lock of one event loop (a lock may not cross loops)."""

    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    login_lock: asyncio.Lock


class _Malformed(Exception):
    """Keystone's answer is not what the v3 API says."""


class RemoteKeystoneValidator:
    """A :class:`shoal.api.TokenValidator` asking a remote Keystone v3 (see the module doc).

    Args:
        settings: ``[keystone_authtoken]``; ``auth_url`` and the service user must be set.
        transport: httpx transport to reach Keystone through (tests inject faults with
            it); None: a real one with ``http_request_max_retries`` connection retries,
            ``cafile``/``insecure`` for HTTPS, and a new connection for each call (so
            event loops may use the validator one after another).
        clock: the current time, aware UTC (tests pass a fake one to age the caches).
        cache_entries_max: at most this many validated tokens are cached (>= 1).

    Raises:
        errors.InvalidArgument: ``auth_url`` unset or no v3 URL, a credential missing, or
            ``cache_entries_max`` below 1.

    Call :meth:`aclose` (or use ``async with``) to close its connections.
    """

    def __init__(
        self,
        settings: KeystoneAuthtokenSection,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
        cache_entries_max: int = TOKEN_CACHE_ENTRIES_MAX,
    ) -> None:
        try:
            self.identity_url = settings.identity_url
        except ValueError as exc:
            raise errors.InvalidArgument(f"[keystone_authtoken] auth_url: {exc}") from None
        if settings.missing:
            raise errors.InvalidArgument(
                f"[keystone_authtoken] needs {', '.join(settings.missing)} for the service "
                "user that validates tokens"
            )
        if cache_entries_max < 1:
            raise errors.InvalidArgument(f"cache_entries_max must be >= 1, not {cache_entries_max}")
        self.settings = settings
        self.cache_time = timedelta(seconds=max(settings.token_cache_time, 0))
        self.cache_entries_max = cache_entries_max
        self._transport = transport
        self._clock = clock
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._service = _ServiceToken()
        self._loop_client: _LoopClient | None = None

    # -------------------------------------------------------------------------------------
    # public interface

    async def validate(self, token: str) -> RequestContext:
        """The caller holding ``token``, from the cache or from Keystone.

        Raises:
            errors.AuthenticationFailed: Keystone does not know the token, it expired or was
                revoked, or it is no token at all (401).
            errors.Unavailable: Keystone cannot be asked now (503; see the module doc).
        """
        if len(token) > TOKEN_LENGTH_MAX or not _TOKEN_TEXT.fullmatch(token):
            raise errors.AuthenticationFailed(_REFUSED)
        now = self._clock()
        cached = self._cache.get(token)
        if cached is not None:
            if now < cached.until:
                self._cache.move_to_end(token)
                return cached.context
            del self._cache[token]
        context, expires_at = await self._check(token)
        now = self._clock()
        if expires_at <= now:
            raise errors.AuthenticationFailed(
                "The request you have made requires authentication: the token expired."
            )
        until = min(now + self.cache_time, expires_at)
        if now < until:
            self._cache[token] = _Cached(context, until)
            self._cache.move_to_end(token)
            while len(self._cache) > self.cache_entries_max:
                self._cache.popitem(last=False)
        return context

    @property
    def cached_tokens(self) -> int:
        """How many token validations are cached now (expired ones included until used)."""
        return len(self._cache)

    async def aclose(self) -> None:
        """Close the connections to Keystone (the validator reconnects if used again)."""
        current, self._loop_client = self._loop_client, None
        if current is not None:
            await current.client.aclose()

    async def __aenter__(self) -> RemoteKeystoneValidator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -------------------------------------------------------------------------------------
    # talking to Keystone

    def _client(self) -> _LoopClient:
        """This event loop's client (a new one when the loop changed, e.g. in tests)."""
        loop = asyncio.get_running_loop()
        current = self._loop_client
        if current is not None and current.loop is loop:
            return current
        transport = self._transport
        if transport is None:
            transport = httpx.AsyncHTTPTransport(
                verify=self._verify(),
                retries=self.settings.http_request_max_retries,
                limits=_NO_KEEPALIVE,
            )
        client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(self.settings.timeout_s),
            headers={"Accept": "application/json", "User-Agent": "shoal-auth-token"},
        )
        self._loop_client = _LoopClient(loop, client, asyncio.Lock())
        return self._loop_client

    def _verify(self) -> ssl.SSLContext | bool:
        if self.settings.insecure:
            return False
        if self.settings.cafile:
            try:
                return ssl.create_default_context(cafile=self.settings.cafile)
            except (OSError, ssl.SSLError) as exc:
                raise self._down("its CA file cannot be read",
                                 f"[keystone_authtoken] cafile {self.settings.cafile}: {exc}"
                                 ) from exc
        return True

    def _down(self, why: str, detail: str) -> errors.Unavailable:
        """The 503 for the client; ``detail`` (URLs, users) goes to the log only."""
        log.error("cannot validate tokens with Keystone at %s: %s", self.identity_url, detail)
        return errors.Unavailable(_DOWN.format(why=why))

    async def _send(self, method: str, headers: dict[str, str],
                    body: dict[str, Any] | None = None) -> httpx.Response:
        url = f"{self.identity_url}/auth/tokens?nocatalog"
        client = self._client().client
        try:
            return await client.request(method, url, headers=headers, json=body)
        except httpx.TimeoutException as exc:
            raise self._down(f"it did not answer within {self.settings.timeout_s:g} s",
                             f"{method} {url}: timed out ({exc!r})") from exc
        except httpx.HTTPError as exc:
            raise self._down("it cannot be reached", f"{method} {url}: {exc!r}") from exc

    async def _check(self, token: str) -> tuple[RequestContext, datetime]:
        """Ask Keystone about ``token``: its context and expiry."""
        service_token = await self._service_token()
        response = await self._ask(service_token, token)
        if response.status_code == 401:  # Keystone no longer takes our token: log in again
            self._drop_service_token(service_token)
            response = await self._ask(await self._service_token(), token)
        status = response.status_code
        if status == 200:
            try:
                return _context(token, response.json())
            except (_Malformed, ValueError) as exc:
                raise self._down("its answer is not a token",
                                 f"GET auth/tokens answered 200 with {exc}") from exc
        if status == 404:
            raise errors.AuthenticationFailed(_REFUSED)
        if status == 401:
            raise self._down("it refuses the service's own credentials",
                             "a fresh service token was refused (401) at once")
        if status == 403:
            raise self._down(
                "the service user may not validate tokens",
                f"user {self.settings.username!r} may not validate tokens (403): give it "
                "the admin or service role on its project",
            )
        raise self._down(f"it answered {status}",
                         f"GET auth/tokens answered {status}: {response.text[:200]!r}")

    async def _ask(self, service_token: str, token: str) -> httpx.Response:
        return await self._send("GET", {"X-Auth-Token": service_token, "X-Subject-Token": token})

    def _drop_service_token(self, token: str) -> None:
        if self._service.token == token:
            self._service = _ServiceToken()

    async def _service_token(self) -> str:
        """The service user's token, logging in when there is none or it is due."""
        if self._clock() < self._service.renew_at:
            return self._service.token
        async with self._client().login_lock:  # one login, however many requests wait
            if self._clock() < self._service.renew_at:
                return self._service.token
            self._service = await self._login()
            return self._service.token

    async def _login(self) -> _ServiceToken:
        s = self.settings
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": s.username, "domain": s.user_domain, "password": s.password}}},
            "scope": {"project": {"name": s.project_name, "domain": s.project_domain}},
        }}
        response = await self._send("POST", {}, body)
        who = f"service user {s.username!r} (project {s.project_name!r})"
        if response.status_code == 401:
            raise self._down(
                "it refuses the service's own credentials",
                f"{who} cannot log in (401): check [keystone_authtoken] username, password, "
                "project_name and the domains",
            )
        if response.status_code not in (200, 201):
            raise self._down(f"it answered {response.status_code}",
                             f"{who}: login answered {response.status_code}: "
                             f"{response.text[:200]!r}")
        token = response.headers.get("X-Subject-Token", "")
        try:
            expires_at = _keystone_time(_token_body(response.json()).get("expires_at"))
        except (_Malformed, ValueError) as exc:
            raise self._down("its answer is not a token", f"{who}: login answered {exc}") from exc
        if not _TOKEN_TEXT.fullmatch(token):
            raise self._down("its answer is not a token",
                             f"{who}: login answered no usable X-Subject-Token")
        now = self._clock()
        margin = min(timedelta(seconds=SERVICE_TOKEN_RENEW_S), (expires_at - now) / 2)
        return _ServiceToken(token, expires_at - margin)


def _token_body(body: object) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("token"), dict):
        raise _Malformed("a body without a 'token' object")
    token: dict[str, Any] = body["token"]
    return token


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Malformed(f"a token whose {what} is {value!r}")
    return value


def _context(token: str, body: object) -> tuple[RequestContext, datetime]:
    """The context and expiry of Keystone's ``{"token": {...}}`` for ``token``.

    Raises:
        _Malformed / ValueError: the body is no v3 token.
    """
    data = _token_body(body)
    expires_at = _keystone_time(data.get("expires_at"))
    user = data.get("user")
    if not isinstance(user, dict):
        raise _Malformed("a token without a user")
    user_domain = user.get("domain")
    domain_id = user_domain.get("id") if isinstance(user_domain, dict) else None
    project = data.get("project")
    if project is not None and not isinstance(project, dict):
        raise _Malformed("a token whose project is no object")
    roles: frozenset[str] = frozenset()
    if project is not None or data.get("system") is not None:
        listed = data.get("roles", [])
        if not isinstance(listed, list):
            raise _Malformed("a token whose roles are no list")
        roles = frozenset(
            _text(r.get("name") if isinstance(r, dict) else None, "role name").lower()
            for r in listed
        )
    context = RequestContext(
        user_id=_text(user.get("id"), "user id"),
        project_id=None if project is None else _text(project.get("id"), "project id"),
        roles=roles,
        user_name=str(user.get("name") or ""),
        project_name="" if project is None else str(project.get("name") or ""),
        domain_id=domain_id if isinstance(domain_id, str) and domain_id else "default",
        token=token,
    )
    return context, expires_at


def validator_from_config(config: ShoalConfig) -> TokenValidator | None:
    """The validator ``config`` asks for: a :class:`RemoteKeystoneValidator` when
    ``[keystone_authtoken] auth_url`` is set, None for shoal's own identity service.

    Raises:
        errors.InvalidArgument: the section is incomplete (a loaded config has been
            checked already).
    """
    settings = config.keystone_authtoken
    if not settings.enabled:
        return None
    return RemoteKeystoneValidator(settings)
