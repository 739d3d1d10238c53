"""Request ids and log lines: every answer of every service carries its request id, every
line logged while handling the request names it, the access log has one line per request,
and no line shows a password or a token."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shoal import limits
from shoal.api import (
    ApiSettings,
    IdentityTokenValidator,
    RequestContextFilter,
    SecretMask,
    catalog_for,
    compute_app,
    current_request_id,
    identity_app,
    identity_routes,
    image_app,
    request_context,
    volume_app,
)
from shoal.db import Database
from shoal.deploy import LogOptions, setup_logging
from shoal.services.identity import IdentityService, bootstrap
from tests.api.conftest import call, make_app
from tests.api.test_errors import ROOTS

_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def logged() -> Iterator[Callable[[], str]]:
    """shoal up's logging at DEBUG into a string; call the fixture for the text so far."""
    stream = io.StringIO()
    setup = setup_logging(LogOptions(debug=True), stream=stream)
    try:
        yield stream.getvalue
    finally:
        setup.close()


def _lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


# --- the headers ---------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(ROOTS))
def test_every_answer_of_every_service_has_a_request_id(service: str) -> None:
    factory, root = ROOTS[service]
    app = make_app(factory)
    prefix = root.rsplit("/", 1)[0]
    seen = set()
    for path, status in ((prefix, None), (f"{root}/whoami", 401), (f"{root}/boom", 500),
                         (f"{root}/raise/NotFound", 404), (f"{root}/nothing-here", 404)):
        reply = call(app, "GET", path, headers={"X-Auth-Token": "no-such-token"})
        assert status is None or reply.status_code == status, (path, reply.text)
        request_id = reply.headers["X-OpenStack-Request-Id"]
        assert _ID.match(request_id), request_id
        if service in ("volume", "compute"):  # Cinder and Nova also answer the old header
            assert reply.headers["X-Compute-Request-Id"] == request_id
        else:
            assert "X-Compute-Request-Id" not in reply.headers
        seen.add(request_id)
    assert len(seen) == 5  # a new id per request


@pytest.mark.parametrize("service", ["identity", "volume", "compute"])
def test_oslo_services_keep_a_clients_id_as_the_global_request_id_only(
        service: str, logged: Callable[[], str]) -> None:
    factory, root = ROOTS[service]
    client_id = f"req-{uuid.uuid4()}"
    reply = call(make_app(factory), "GET", f"{root}/raise/NotFound",
                 headers={"X-OpenStack-Request-Id": client_id})
    ours = reply.headers["X-OpenStack-Request-Id"]
    assert _ID.match(ours) and ours != client_id
    assert _lines_with(logged(), f"[{client_id} {ours}]")  # logged as oslo: global first
    for bogus in ("req-not-a-uuid", client_id.upper()):  # not oslo's form: ignored
        reply = call(make_app(factory), "GET", f"{root}/raise/NotFound",
                     headers={"X-OpenStack-Request-Id": bogus})
        ours = reply.headers["X-OpenStack-Request-Id"]
        assert _ID.match(ours) and _lines_with(logged(), f"[{ours}]"), bogus
        assert not _lines_with(logged(), f"[{bogus} ")  # not even as the global id


def test_glance_adopts_the_clients_request_id() -> None:
    app = make_app(image_app)
    given = f"req-{uuid.uuid4()}"
    for sent, answered in ((given, given), ("trace-42", "req-trace-42")):
        reply = call(app, "GET", "/image/v2/raise/NotFound",
                     headers={"X-OpenStack-Request-Id": sent})
        assert reply.status_code == 404
        assert reply.headers["X-OpenStack-Request-Id"] == answered
    spaced = call(app, "GET", "/image/v2/raise/NotFound", headers={"X-OpenStack-Request-Id": "a b"})
    assert _ID.match(spaced.headers["X-OpenStack-Request-Id"])  # not printable ASCII only


def test_glance_refuses_a_too_long_client_request_id() -> None:
    longest = "x" * limits.request_id_chars_max
    app = make_app(image_app)
    ok = call(app, "GET", "/image/v2/raise/NotFound", headers={"X-OpenStack-Request-Id": longest})
    assert ok.headers["X-OpenStack-Request-Id"] == f"req-{longest}"
    refused = call(app, "GET", "/image/v2/raise/NotFound",
                   headers={"X-OpenStack-Request-Id": longest + "x"})
    assert refused.status_code == 431
    assert refused.json()["code"] == "431 Request Header Fields Too Large"
    assert str(limits.request_id_chars_max) in refused.json()["message"]
    assert _ID.match(refused.headers["X-OpenStack-Request-Id"])


def test_a_header_the_app_set_is_kept() -> None:
    async def own(request: Request) -> Response:
        return Response(status_code=204, headers={"X-OpenStack-Request-Id": "req-mine"})

    app = volume_app(routes=[Route("/own", own)])
    reply = call(app, "GET", "/volume/v3/own")
    assert reply.headers.get_list("X-OpenStack-Request-Id") == ["req-mine"]
    assert _ID.match(reply.headers["X-Compute-Request-Id"])


# --- log lines -------------------------------------------------------------------------


def _noisy_routes() -> list[Route]:
    log = logging.getLogger("shoal.test.handler")

    async def chatty(request: Request) -> Response:
        log.debug("handling it as %s", current_request_id())
        log.info("still handling it")
        return Response(b"done")

    return [Route("/chatty", chatty)]


def test_every_line_of_a_request_names_its_id(logged: Callable[[], str]) -> None:
    reply = call(image_app(routes=_noisy_routes()), "GET", "/image/v2/chatty")
    request_id = reply.headers["X-OpenStack-Request-Id"]
    lines = _lines_with(logged(), "shoal.test.handler")
    assert len(lines) == 2
    assert all(f" [{request_id}] " in line for line in lines)
    assert f"handling it as {request_id}" in lines[0]
    # oslo.log's shape: date time.ms pid LEVEL logger [ids] message (+ where, at DEBUG)
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ DEBUG shoal\.test\.handler "
                    r"\[req-\S+\] handling it as req-\S+ chatty \S+test_request_log\.py:\d+$",
                    lines[0]), lines[0]
    assert " INFO shoal.test.handler " in lines[1] and lines[1].endswith("still handling it")
    logging.getLogger("shoal.test.handler").info("outside")
    assert _lines_with(logged(), "[-] outside")
    assert current_request_id() is None


def test_the_filter_gives_any_format_the_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(global_request_id)s %(request_id)s %(message)s"))
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("shoal.test.handler")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client_id = f"req-{uuid.uuid4()}"
        reply = call(volume_app(routes=_noisy_routes()), "GET", "/volume/v3/chatty",
                     headers={"X-OpenStack-Request-Id": client_id})
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    ours = reply.headers["X-OpenStack-Request-Id"]
    assert stream.getvalue().splitlines()[-2:] == [f"{client_id} {ours} still handling it",
                                                   "- - outside"]


def test_a_500_is_logged_with_its_traceback_and_request_id(logged: Callable[[], str]) -> None:
    reply = call(make_app(volume_app), "GET", "/volume/v3/boom")
    assert reply.status_code == 500 and "secret internal detail" not in reply.text
    request_id = reply.headers["X-OpenStack-Request-Id"]
    text = logged()
    first = _lines_with(text, "GET /volume/v3/boom failed: 500")
    assert len(first) == 1 and f" ERROR shoal.api [{request_id}] " in first[0]
    tail = text[text.index(first[0]):]
    assert "Traceback (most recent call last)" in tail
    assert "RuntimeError: secret internal detail /etc/shadow" in tail


def test_a_4xx_is_logged_at_info_without_traceback(logged: Callable[[], str]) -> None:
    reply = call(make_app(compute_app), "GET", "/compute/v2.1/raise/NotFound")
    request_id = reply.headers["X-OpenStack-Request-Id"]
    lines = _lines_with(logged(), "GET /compute/v2.1/raise/NotFound returned 404")
    assert len(lines) == 1 and f" INFO shoal.api [{request_id}] " in lines[0]
    assert "NotFound raised on purpose" in lines[0] and "Traceback" not in logged()


# --- the access log --------------------------------------------------------------------


def test_the_access_log_is_off_by_default(logged: Callable[[], str]) -> None:
    call(make_app(image_app), "GET", "/image/v2/volumes/x")
    assert "shoal.api.access" not in logged()


def test_the_access_log_has_one_line_per_request(logged: Callable[[], str]) -> None:
    app = make_app(volume_app, access_log=True)
    project = "6f1b0c5e3a9d4e2f8b7c1d0e9f8a7b6c"
    reply = call(app, "GET", f"/volume/v3/{project}/whoami?name=x&password=hunter2",
                 headers={"X-Auth-Token": "admin-token"})
    assert reply.status_code == 200
    request_id = reply.headers["X-OpenStack-Request-Id"]
    lines = _lines_with(logged(), "shoal.api.access")
    assert len(lines) == 1
    # as sent (project id kept, query string dropped), the status, the body's bytes, ms
    assert re.search(rf' INFO shoal\.api\.access \[{request_id}\] 127\.0\.0\.1 "GET '
                     rf'/volume/v3/{project}/whoami HTTP/1\.1" status: 200 '
                     rf'len: {len(reply.content)} time: \d+\.\d ms$', lines[0]), lines[0]
    assert "hunter2" not in logged() and "admin-token" not in logged()
    call(app, "GET", "/volume/v3/boom")
    call(app, "GET", "/volume/v3/nothing-here")
    statuses = [line.split("status: ")[1].split()[0]
                for line in _lines_with(logged(), "shoal.api.access")]
    assert statuses == ["200", "500", "404"]


def test_the_access_log_escapes_what_could_forge_a_line(logged: Callable[[], str]) -> None:
    call(make_app(image_app, access_log=True), "GET", "/image/v2/a%0Ab\u00e9")
    line = _lines_with(logged(), "shoal.api.access")[0]
    assert '"GET /image/v2/a%0Ab%C3%A9 HTTP/1.1" status: 404' in line


# --- no secrets ------------------------------------------------------------------------

PASSWORD = "Pa55-word-of-the-admin"


@pytest.fixture
def keystone(tmp_path: Path) -> Iterator[Any]:
    """The real identity routes over SQLite, plus a route that fails with the caller's
    token and a password in its exception."""

    async def fail(request: Request) -> Response:
        context = await request_context(request)
        body = await request.json()
        logging.getLogger("shoal.test.handler").debug("got %s with %s", body,
                                                      dict(request.headers))
        raise RuntimeError(f"cannot handle {body!r} for token {context.token}")

    with Database(f"sqlite:///{tmp_path / 'shoal.db'}") as db:
        db.upgrade()
        service = IdentityService(db, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1),
                                  catalog=catalog_for({}))
        bootstrap(service, admin_password=PASSWORD, demo_password="demo-password-x")
        yield identity_app(routes=[*identity_routes(service), Route("/fail", fail,
                                                                    methods=["POST"])],
                           validator=IdentityTokenValidator(service),
                           settings=ApiSettings(access_log=True))


def test_no_password_or_token_is_ever_logged(keystone: Any, logged: Callable[[], str]) -> None:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    issued = call(keystone, "POST", "/identity/v3/auth/tokens", json=body)
    assert issued.status_code == 201
    token = issued.headers["X-Subject-Token"]
    checked = call(keystone, "GET", "/identity/v3/auth/tokens",
                   headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert checked.status_code == 200
    refused = call(keystone, "POST", "/identity/v3/auth/tokens",
                   json={**body, "auth": {**body["auth"], "identity": {
                       "methods": ["password"], "password": {"user": {
                           "name": "admin", "domain": {"id": "default"},
                           "password": PASSWORD + "-wrong"}}}}})
    assert refused.status_code == 401
    failed = call(keystone, "POST", "/identity/v3/fail", headers={"X-Auth-Token": token},
                  content=json.dumps({"user": {"password": PASSWORD}}))
    assert failed.status_code == 500
    text = logged()
    assert PASSWORD not in text and token not in text
    for reply in (issued, checked, refused, failed):  # each request's id is in the log
        assert _lines_with(text, f"[{reply.headers['X-OpenStack-Request-Id']}]")
    failure = _lines_with(text, "POST /identity/v3/fail failed: 500")
    assert len(failure) == 1
    assert failed.headers["X-OpenStack-Request-Id"] in failure[0]
    tail = text[text.index(failure[0]):]
    assert "Traceback (most recent call last)" in tail and "RuntimeError: cannot handle" in tail
    assert "'password': '***'" in tail and "for token ***" in tail
    assert len(_lines_with(text, "shoal.api.access")) == 4


def test_the_mask_hides_secret_fields_and_registered_values() -> None:
    mask = SecretMask(["hunter22", None, "abc"])
    assert mask.apply('{"password": "x\\"y", "name": "n"}') == '{"password": "***", "name": "n"}'
    assert mask.apply("{'adminPass': 'p', 'original_password': 'o'}") == (
        "{'adminPass': '***', 'original_password': '***'}")
    assert mask.apply("password=p&x=1 passwd: q") == "password=***&x=1 passwd: ***"
    assert mask.apply("X-Auth-Token: gAAAA-1") == "X-Auth-Token: ***"
    assert mask.apply("[(b'x-subject-token', b'gAAAA-1')]") == "[(b'x-subject-token', b'***')]"
    assert mask.apply("login hunter22 ok, abc kept") == "login *** ok, abc kept"
    assert mask.apply("a tok-3456 b", ["tok-3456"]) == "a *** b"
    assert mask.apply("password_expires_at: 2030") == "password_expires_at: 2030"
