"""RemoteKeystoneValidator against a Keystone over real HTTP: shoal's own identity app on a
127.0.0.1 port plays the remote Keystone, a volume app validates its tokens through it.

A small ASGI wrapper in front of that Keystone counts the requests it gets (to see the
caches work) and injects faults (error statuses, odd bodies, a hang).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from shoal import errors
from shoal.api import (
    Binding,
    IdentityTokenValidator,
    RemoteKeystoneValidator,
    Server,
    identity_app,
    identity_routes,
    request_context,
    validator_from_config,
    volume_app,
)
from shoal.config import KeystoneAuthtokenSection, load_config
from shoal.db import Database
from shoal.services.identity import (
    DEFAULT_DOMAIN,
    IdentityService,
    ProjectRef,
    UserRef,
    bootstrap,
)

SERVICE_USER, SERVICE_PASSWORD, SERVICE_PROJECT = "cinder", "cinder-pw", "service"


# --- the remote Keystone ---------------------------------------------------------------------


@pytest.fixture
def service(tmp_path: Path) -> Iterator[IdentityService]:
    """Keystone's content: admin and demo (bootstrap), demo also holding ``Auditor``, and the
    service user ``cinder`` (admin on project ``service``)."""
    with Database(f"sqlite:///{tmp_path / 'keystone.db'}") as db:
        db.upgrade()
        identity = IdentityService(
            db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        bootstrap(identity, admin_password="admin-pw", demo_password="demo-pw")
        identity.create_project(SERVICE_PROJECT)
        identity.create_user(SERVICE_USER, SERVICE_PASSWORD)
        identity.assign_role(UserRef(name=SERVICE_USER, domain=DEFAULT_DOMAIN),
                             ProjectRef(name=SERVICE_PROJECT, domain=DEFAULT_DOMAIN), "admin")
        identity.create_role("Auditor")
        identity.assign_role(UserRef(name="demo", domain=DEFAULT_DOMAIN),
                             ProjectRef(name="demo", domain=DEFAULT_DOMAIN), "Auditor")
        yield identity


class Recorder:
    """ASGI wrapper: records ``(method, X-Auth-Token)`` of each request; while ``fault``
    is set, answers requests of its method with its status and JSON body instead; while
    ``hold`` is set, waits for it before answering."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []
        self.fault: tuple[str, int, Any] | None = None
        self.hold: asyncio.Event | None = None

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.requests if m == method)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        self.requests.append((scope["method"], headers.get(b"x-auth-token", b"").decode()))
        if self.hold is not None:
            await self.hold.wait()
        if self.fault is not None and self.fault[0] == scope["method"]:
            _, status, body = self.fault
            await JSONResponse(body, status_code=status)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclasses.dataclass
class Keystone:
    url: str  # unversioned root, as auth_url usually is
    recorder: Recorder

    async def login(self, user: str = "demo", password: str = "demo-pw",
                    project: str = "demo") -> str:
        domain = {"name": "Default"}
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {
                "user": {"name": user, "domain": domain, "password": password}}},
            "scope": {"project": {"name": project, "domain": domain}}}}
        async with httpx.AsyncClient() as client:
            reply = await client.post(f"{self.url}/v3/auth/tokens?nocatalog", json=body)
        assert reply.status_code == 201, reply.text
        return str(reply.headers["x-subject-token"])

    async def revoke(self, token: str) -> None:
        admin = await self.login("admin", "admin-pw", "admin")
        async with httpx.AsyncClient() as client:
            reply = await client.delete(f"{self.url}/v3/auth/tokens",
                                        headers={"X-Auth-Token": admin, "X-Subject-Token": token})
        assert reply.status_code == 204, reply.text


@contextlib.asynccontextmanager
async def keystone(service: IdentityService, port: int = 0) -> AsyncIterator[Keystone]:
    """shoal's identity app on 127.0.0.1:``port`` (0: a free one), behind a
    :class:`Recorder`."""
    recorder = Recorder(identity_app(routes=identity_routes(service),
                                     validator=IdentityTokenValidator(service)))
    server = Server([Binding("identity", recorder, port)])
    await server.start()
    try:
        yield Keystone(f"{server.urls['identity']}/identity", recorder)
    finally:
        if recorder.hold is not None:
            recorder.hold.set()
        await server.stop()


# --- the service validating through it -------------------------------------------------------


def settings_for(tmp_path: Path, auth_url: str, *extra: str) -> KeystoneAuthtokenSection:
    """``[keystone_authtoken]`` as an operator writes it (loaded through shoal.conf)."""
    path = tmp_path / "shoal.conf"
    path.write_text("\n".join([
        "[keystone_authtoken]",
        f"www_authenticate_uri = {auth_url}",
        f"auth_url = {auth_url}",
        "auth_type = password",
        f"username = {SERVICE_USER}",
        f"password = {SERVICE_PASSWORD}",
        f"project_name = {SERVICE_PROJECT}",
        "user_domain_name = Default",
        "project_domain_name = Default",
        "http_request_max_retries = 0",
        *extra,
    ]) + "\n")
    cfg = load_config(file=path, environ={})
    assert cfg.warnings == ()
    return cfg.keystone_authtoken


class Clock:
    """A settable UTC clock for the validator's caches."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def _whoami(request: Request) -> Response:
    context = await request_context(request)
    return JSONResponse({
        "user_id": context.user_id, "user_name": context.user_name,
        "project_id": context.project_id, "project_name": context.project_name,
        "domain_id": context.domain_id, "roles": sorted(context.roles),
    })


async def ask(validator: RemoteKeystoneValidator, token: str | bytes) -> httpx.Response:
    """``GET /volume/v3/whoami`` with ``token`` on a volume app using ``validator``."""
    app = volume_app(routes=[Route("/whoami", _whoami, methods=["GET"])], validator=validator)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://shoal.test") as client:
        return await client.get("/volume/v3/whoami", headers={"X-Auth-Token": token})


def run(scenario: Any) -> None:
    asyncio.run(scenario)


# --- valid tokens and the cache --------------------------------------------------------------


def test_valid_tokens_give_the_callers_context(service: IdentityService, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            async with RemoteKeystoneValidator(settings_for(tmp_path, ks.url)) as validator:
                demo = await ask(validator, await ks.login())
                admin = await ask(validator, await ks.login("admin", "admin-pw", "admin"))
            assert demo.status_code == 200, demo.text
            body = demo.json()
            project = service.get_project(ProjectRef(name="demo", domain=DEFAULT_DOMAIN))
            user = service.get_user(UserRef(name="demo", domain=DEFAULT_DOMAIN))
            assert body == {"user_id": user.id, "user_name": "demo", "project_id": project.id,
                            "project_name": "demo", "domain_id": "default",
                            "roles": ["auditor", "member", "reader"]}  # lower case
            assert admin.status_code == 200 and "admin" in admin.json()["roles"]
            # one login of the service user served both checks
            assert (ks.recorder.count("POST"), ks.recorder.count("GET")) == (3, 2)

    run(scenario())


def test_the_cache_spares_keystone(service: IdentityService, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            demo, admin = await ks.login(), await ks.login("admin", "admin-pw", "admin")
            async with RemoteKeystoneValidator(settings_for(tmp_path, ks.url)) as validator:
                for _ in range(5):
                    assert (await ask(validator, demo)).status_code == 200
                assert ks.recorder.count("GET") == 1
                assert (await ask(validator, admin)).status_code == 200
                assert (await ask(validator, demo)).status_code == 200
                assert ks.recorder.count("GET") == 2
                assert ks.recorder.count("POST") == 2 + 1  # two users' logins, one service's

    run(scenario())


def test_a_revoked_token_works_until_its_cache_entry_expires(
        service: IdentityService, tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = Clock()
        async with keystone(service) as ks:
            settings = settings_for(tmp_path, ks.url, "token_cache_time = 300")
            async with RemoteKeystoneValidator(settings, clock=clock) as validator:
                token = await ks.login()
                assert (await ask(validator, token)).status_code == 200
                await ks.revoke(token)
                clock.advance(seconds=299)
                assert (await ask(validator, token)).status_code == 200  # upstream does so too
                assert ks.recorder.count("GET") == 1
                clock.advance(seconds=2)
                refused = await ask(validator, token)
                assert ks.recorder.count("GET") == 2
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == 401  # Keystone's body, as auth_token's

    run(scenario())


@pytest.mark.parametrize("cache_time", [0, -1])
def test_without_a_cache_every_request_asks_keystone(
        service: IdentityService, tmp_path: Path, cache_time: int) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            settings = settings_for(tmp_path, ks.url, f"token_cache_time = {cache_time}")
            async with RemoteKeystoneValidator(settings) as validator:
                token = await ks.login()
                assert (await ask(validator, token)).status_code == 200
                assert (await ask(validator, token)).status_code == 200
                assert ks.recorder.count("GET") == 2 and validator.cached_tokens == 0
                await ks.revoke(token)
                assert (await ask(validator, token)).status_code == 401

    run(scenario())


def test_the_cache_never_outlives_the_token(service: IdentityService, tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = Clock()
        async with keystone(service) as ks:
            settings = settings_for(tmp_path, ks.url, "token_cache_time = 7200")
            async with RemoteKeystoneValidator(settings, clock=clock) as validator:
                token = await ks.login()  # lives one hour
                assert (await ask(validator, token)).status_code == 200
                clock.advance(minutes=30)
                assert (await ask(validator, token)).status_code == 200
                assert ks.recorder.count("GET") == 1
                clock.advance(minutes=31)  # past expires_at, within token_cache_time
                expired = await ask(validator, token)
                assert ks.recorder.count("GET") == 2
            assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]

    run(scenario())


def test_the_cache_is_bounded(service: IdentityService, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            tokens = [await ks.login() for _ in range(3)]
            settings = settings_for(tmp_path, ks.url)
            async with RemoteKeystoneValidator(settings, cache_entries_max=2) as validator:
                for token in tokens:
                    assert (await ask(validator, token)).status_code == 200
                assert validator.cached_tokens == 2
                assert (await ask(validator, tokens[2])).status_code == 200
                assert ks.recorder.count("GET") == 3  # the newest stayed
                assert (await ask(validator, tokens[0])).status_code == 200
                assert ks.recorder.count("GET") == 4  # the oldest had been dropped
                assert validator.cached_tokens == 2

    run(scenario())


# --- refused tokens ---------------------------------------------------------------------------


def test_unknown_tokens_are_401(service: IdentityService, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (keystone(service) as ks,
                    RemoteKeystoneValidator(settings_for(tmp_path, ks.url)) as validator):
            for _ in range(2):  # refusals are not cached: Keystone is asked each time
                reply = await ask(validator, "gAAAAABnot-a-real-token")
                assert reply.status_code == 401
            assert ks.recorder.count("GET") == 2
            assert reply.json()["error"]["title"] == "Unauthorized"

    run(scenario())


@pytest.mark.parametrize("token", [b"has space", b"\xe9t\xe9", b"tab\there", b"x" * 8193],
                         ids=["space", "latin-1", "tab", "too-long"])
def test_tokens_that_are_no_tokens_are_401_without_asking(
        service: IdentityService, tmp_path: Path, token: bytes) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            async with RemoteKeystoneValidator(settings_for(tmp_path, ks.url)) as validator:
                reply = await ask(validator, token)
                with pytest.raises(errors.AuthenticationFailed):
                    await validator.validate(token.decode("latin-1"))
            assert reply.status_code == 401
            assert ks.recorder.requests == []

    run(scenario())


# --- Keystone failing: 503, never 500 ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_503(reply: httpx.Response, why: str) -> str:
    assert reply.status_code == 503, reply.text
    fault = reply.json()["serviceUnavailable"]  # Cinder's body
    assert fault["code"] == 503 and why in fault["message"], fault
    return str(fault["message"])


def test_keystone_down_is_503(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        url = f"http://127.0.0.1:{_free_port()}/identity"
        async with RemoteKeystoneValidator(settings_for(tmp_path, url)) as validator:
            message = _assert_503(await ask(validator, "gAAAAABsome-token"),
                                  "cannot be reached")
        assert "127.0.0.1" not in message and SERVICE_USER not in message  # log only
        assert url in caplog.text

    with caplog.at_level(logging.ERROR, "shoal.api"):
        run(scenario())


@pytest.mark.parametrize(("method", "status", "why"), [
    ("GET", 500, "answered 500"),
    ("GET", 503, "answered 503"),
    ("GET", 400, "answered 400"),
    ("GET", 403, "may not validate tokens"),
    ("POST", 500, "answered 500"),
    ("POST", 401, "refuses the service's own credentials"),
])
def test_keystone_errors_are_503(service: IdentityService, tmp_path: Path,
                                 method: str, status: int, why: str) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            token = await ks.login()
            ks.recorder.fault = (method, status, {"error": {"code": status}})
            async with RemoteKeystoneValidator(settings_for(tmp_path, ks.url)) as validator:
                _assert_503(await ask(validator, token), why)

    run(scenario())


@pytest.mark.parametrize("body", [
    {"nope": 1},
    {"token": {"expires_at": "2999-01-01T00:00:00Z"}},
    {"token": {"expires_at": "soon", "user": {"id": "u"}}},
    {"token": {"expires_at": "2999-01-01T00:00:00Z", "user": {"id": "u"},
               "project": {"id": "p"}, "roles": "admin"}},
    [1, 2],
], ids=["no-token", "no-user", "bad-expiry", "bad-roles", "a-list"])
def test_answers_that_are_no_tokens_are_503(service: IdentityService, tmp_path: Path,
                                            body: Any) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            token = await ks.login()
            ks.recorder.fault = ("GET", 200, body)
            async with RemoteKeystoneValidator(settings_for(tmp_path, ks.url)) as validator:
                _assert_503(await ask(validator, token), "not a token")

    run(scenario())


def test_a_connection_broken_mid_answer_is_503(tmp_path: Path) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    async def scenario() -> None:
        settings = settings_for(tmp_path, "http://keystone.test:5000")
        transport = httpx.MockTransport(broken)
        async with RemoteKeystoneValidator(settings, transport=transport) as validator:
            _assert_503(await ask(validator, "gAAAAABsome-token"), "cannot be reached")

    run(scenario())


def test_a_slow_keystone_is_503_after_the_timeout(service: IdentityService,
                                                  tmp_path: Path) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            token = await ks.login()
            settings = settings_for(tmp_path, ks.url, "http_connect_timeout = 1")
            ks.recorder.hold = asyncio.Event()
            async with RemoteKeystoneValidator(settings) as validator:
                started = asyncio.get_running_loop().time()
                reply = await ask(validator, token)
                waited = asyncio.get_running_loop().time() - started
            _assert_503(reply, "did not answer within 1 s")
            assert 0.9 < waited < 5

    run(scenario())


def test_wrong_service_credentials_are_503_not_the_callers_fault(
        service: IdentityService, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            token = await ks.login()
            settings = dataclasses.replace(settings_for(tmp_path, ks.url), password="wrong")
            async with RemoteKeystoneValidator(settings) as validator:
                _assert_503(await ask(validator, token), "refuses the service's own credentials")
            assert ks.recorder.count("GET") == 0

    run(scenario())


# --- the service token ------------------------------------------------------------------------


def test_a_revoked_service_token_is_replaced_once(service: IdentityService,
                                                  tmp_path: Path) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            demo, admin = await ks.login(), await ks.login("admin", "admin-pw", "admin")
            async with RemoteKeystoneValidator(settings_for(tmp_path, ks.url)) as validator:
                assert (await ask(validator, demo)).status_code == 200
                service_token = next(t for m, t in ks.recorder.requests if m == "GET")
                await ks.revoke(service_token)
                logins = ks.recorder.count("POST")
                ks.recorder.requests.clear()
                assert (await ask(validator, admin)).status_code == 200
                methods = [m for m, _ in ks.recorder.requests]
                assert methods == ["GET", "POST", "GET"]  # 401, login again, 200
                assert ks.recorder.requests[2][1] != service_token
                assert ks.recorder.count("POST") == 1 and logins == 4

    run(scenario())


def test_the_service_token_is_renewed_before_it_expires(service: IdentityService,
                                                        tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = Clock()
        async with keystone(service) as ks:
            tokens = [await ks.login() for _ in range(3)]
            logins = ks.recorder.count("POST")
            async with RemoteKeystoneValidator(settings_for(tmp_path, ks.url),
                                               clock=clock) as validator:
                assert (await ask(validator, tokens[0])).status_code == 200
                clock.advance(minutes=57)  # the service token has 3 of its 60 minutes left
                assert (await ask(validator, tokens[1])).status_code == 200
                assert ks.recorder.count("POST") == logins + 1
                clock.advance(minutes=1, seconds=30)  # 90 s left: renew
                assert (await ask(validator, tokens[2])).status_code == 200
                assert ks.recorder.count("POST") == logins + 2

    run(scenario())


def test_concurrent_requests_share_one_login(service: IdentityService, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            tokens = [await ks.login() for _ in range(4)]
            logins = ks.recorder.count("POST")
            async with RemoteKeystoneValidator(settings_for(tmp_path, ks.url)) as validator:
                replies = await asyncio.gather(*(ask(validator, t) for t in tokens))
            assert [r.status_code for r in replies] == [200] * 4
            assert ks.recorder.count("POST") == logins + 1

    run(scenario())


# --- scopes of a real Keystone ----------------------------------------------------------------


_USER = {"id": "u1", "name": "alice", "domain": {"id": "d1", "name": "D1"}}


@pytest.mark.parametrize(("scope", "project_id", "roles"), [
    ({"project": {"id": "p1", "name": "P1", "domain": {"id": "d1"}}}, "p1", ["admin", "member"]),
    ({"system": {"all": True}}, None, ["admin", "member"]),
    ({"domain": {"id": "d1", "name": "D1"}}, None, []),
    ({}, None, []),
], ids=["project", "system", "domain", "unscoped"])
def test_scopes(service: IdentityService, tmp_path: Path, scope: dict[str, Any],
                project_id: str | None, roles: list[str]) -> None:
    async def scenario() -> None:
        async with keystone(service) as ks:
            body = {"token": {"expires_at": "2999-01-01T00:00:00.000000Z", "user": _USER,
                              "methods": ["password"], **scope}}
            if scope:
                body["token"]["roles"] = [{"id": "r1", "name": "Admin"},
                                          {"id": "r2", "name": "member"}]
            ks.recorder.fault = ("GET", 200, body)
            async with RemoteKeystoneValidator(settings_for(tmp_path, ks.url)) as validator:
                reply = await ask(validator, "gAAAAABtoken")
            assert reply.status_code == 200, reply.text
            seen = reply.json()
            assert (seen["project_id"], seen["roles"]) == (project_id, roles)
            assert (seen["user_name"], seen["domain_id"]) == ("alice", "d1")

    run(scenario())


# --- configuration ----------------------------------------------------------------------------


def test_validator_from_config(service: IdentityService, tmp_path: Path) -> None:
    assert validator_from_config(load_config(environ={})) is None  # shoal's own identity

    async def scenario() -> None:
        async with keystone(service) as ks:
            settings_for(tmp_path, f"{ks.url}/v3/")  # the versioned URL works as well
            validator = validator_from_config(load_config(file=tmp_path / "shoal.conf",
                                                          environ={}))
            assert isinstance(validator, RemoteKeystoneValidator)
            assert validator.identity_url == f"{ks.url}/v3"
            async with validator:
                assert (await ask(validator, await ks.login())).status_code == 200

    run(scenario())


def test_one_validator_serves_several_event_loops(service: IdentityService,
                                                  tmp_path: Path) -> None:
    port = _free_port()
    validator = RemoteKeystoneValidator(
        settings_for(tmp_path, f"http://127.0.0.1:{port}/identity"))

    async def scenario(last: bool) -> None:
        async with keystone(service, port) as ks:
            assert (await ask(validator, await ks.login())).status_code == 200
            if last:
                await validator.aclose()

    run(scenario(last=False))
    run(scenario(last=True))  # a new loop: the validator connects anew
    gc.collect()  # a connection left open in the first loop would warn (an error) now


def test_incomplete_settings_are_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "http://keystone.test:5000")
    with pytest.raises(errors.InvalidArgument, match="username, password"):
        RemoteKeystoneValidator(dataclasses.replace(settings, username=None, password=""))
    with pytest.raises(errors.InvalidArgument, match="v2"):
        RemoteKeystoneValidator(dataclasses.replace(settings, auth_url="http://k.test/v2.0"))
    with pytest.raises(errors.InvalidArgument, match="cache_entries_max"):
        RemoteKeystoneValidator(settings, cache_entries_max=0)
