"""Keystone token endpoints over the identity service and a real SQLite database,
and other services authenticating through the same tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shoal.api import (
    IdentityTokenValidator,
    build_catalog,
    catalog_for,
    identity_app,
    identity_routes,
    request_context,
    require_role,
    volume_app,
)
from shoal.db import Database
from shoal.services.identity import IdentityService, bootstrap

from .conftest import call

URLS = {
    "identity": "http://127.0.0.1:5000/identity/v3",
    "image": "http://127.0.0.1:9292/image",
    "volume": "http://127.0.0.1:8776/volume/v3",
    "compute": "http://127.0.0.1:8774/compute/v2.1",
}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[IdentityService]:
    with Database(f"sqlite:///{tmp_path / 'shoal.db'}") as db:
        db.upgrade()
        yield IdentityService(db, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                        parallelism=1),
                              catalog=catalog_for(URLS))


@pytest.fixture
def logins(service: IdentityService) -> Any:
    return bootstrap(service, admin_password="admin-pw", demo_password="demo-pw")


@pytest.fixture
def app(service: IdentityService) -> Any:
    return identity_app(routes=identity_routes(service),
                        validator=IdentityTokenValidator(service))


def password_body(user: str, password: str, project: str | None, *,
                  by_domain_name: bool = False) -> dict[str, Any]:
    domain = {"name": "Default"} if by_domain_name else {"id": "default"}
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": domain, "password": password}}}}
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": domain}}
    return {"auth": auth}


def issue(app: Any, user: str = "admin", password: str = "admin-pw",
          project: str | None = "admin", **kw: Any) -> str:
    reply = call(app, "POST", "/identity/v3/auth/tokens",
                 json=password_body(user, password, project, **kw))
    assert reply.status_code == 201, reply.text
    return str(reply.headers["x-subject-token"])


def test_password_login_gives_a_scoped_token_with_the_catalog(app: Any, logins: Any) -> None:
    reply = call(app, "POST", "/identity/v3/auth/tokens",
                 json=password_body("demo", "demo-pw", "demo", by_domain_name=True))
    assert reply.status_code == 201
    token = reply.json()["token"]
    assert reply.headers["x-subject-token"]
    assert token["user"]["name"] == "demo" and token["project"]["name"] == "demo"
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    assert token["expires_at"] and token["methods"] == ["password"]
    types = [entry["type"] for entry in token["catalog"]]
    assert types == ["identity", "image", "block-storage", "volumev3", "compute"]
    volume = next(e for e in token["catalog"] if e["type"] == "volumev3")
    assert {e["url"] for e in volume["endpoints"]} == {
        f"{URLS['volume']}/{token['project']['id']}"}
    assert {e["interface"] for e in volume["endpoints"]} == {"public", "internal", "admin"}


def test_nocatalog_leaves_the_catalog_out(app: Any, logins: Any) -> None:
    reply = call(app, "POST", "/identity/v3/auth/tokens?nocatalog",
                 json=password_body("admin", "admin-pw", "admin"))
    assert reply.status_code == 201 and "catalog" not in reply.json()["token"]


@pytest.mark.parametrize(("user", "password"), [("admin", "wrong"), ("nobody", "admin-pw")])
def test_bad_credentials_are_401_in_keystone_format(
    app: Any, logins: Any, user: str, password: str
) -> None:
    reply = call(app, "POST", "/identity/v3/auth/tokens",
                 json=password_body(user, password, "admin"))
    assert reply.status_code == 401
    body = reply.json()["error"]
    assert body["code"] == 401 and body["title"] == "Unauthorized"
    assert "x-subject-token" not in reply.headers


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'{"auth": {}}'])
def test_malformed_bodies_are_400(app: Any, logins: Any, raw: bytes) -> None:
    reply = call(app, "POST", "/identity/v3/auth/tokens", content=raw,
                 headers={"Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["code"] == 400


def test_validate_and_revoke(app: Any, logins: Any) -> None:
    admin = issue(app)
    demo = issue(app, "demo", "demo-pw", "demo")
    headers = {"X-Auth-Token": admin, "X-Subject-Token": demo}
    shown = call(app, "GET", "/identity/v3/auth/tokens", headers=headers)
    assert shown.status_code == 200 and shown.headers["x-subject-token"] == demo
    assert shown.json()["token"]["user"]["name"] == "demo"
    assert call(app, "HEAD", "/identity/v3/auth/tokens", headers=headers).status_code == 200
    assert call(app, "DELETE", "/identity/v3/auth/tokens", headers=headers).status_code == 204
    assert call(app, "GET", "/identity/v3/auth/tokens", headers=headers).status_code == 404
    assert call(app, "HEAD", "/identity/v3/auth/tokens", headers=headers).status_code == 404
    no_caller = call(app, "GET", "/identity/v3/auth/tokens",
                     headers={"X-Auth-Token": demo, "X-Subject-Token": admin})
    assert no_caller.status_code == 401  # the caller's own token is revoked


def test_other_services_accept_the_tokens(service: IdentityService, app: Any,
                                          logins: Any) -> None:
    async def whoami(request: Request) -> Response:
        context = await request_context(request)
        require_role(context, "admin")
        return JSONResponse({"user": context.user_name, "project": context.project_id})

    volume = volume_app(routes=[Route("/whoami", whoami, methods=["GET"])],
                        validator=IdentityTokenValidator(service))
    admin, demo = issue(app), issue(app, "demo", "demo-pw", "demo")
    ok = call(volume, "GET", "/volume/v3/whoami", headers={"X-Auth-Token": admin})
    assert ok.status_code == 200 and ok.json()["user"] == "admin"
    forbidden = call(volume, "GET", "/volume/v3/whoami", headers={"X-Auth-Token": demo})
    assert forbidden.status_code == 403 and forbidden.json()["forbidden"]["code"] == 403
    unknown = call(volume, "GET", "/volume/v3/whoami", headers={"X-Auth-Token": "x" * 43})
    assert unknown.status_code == 401


def test_catalog_without_a_project_has_plain_urls() -> None:
    entries = build_catalog({"volume": "http://h/volume/v3/"}, region="R")
    assert [e["type"] for e in entries] == ["block-storage", "volumev3"]
    assert {ep["url"] for ep in entries[0]["endpoints"]} == {"http://h/volume/v3"}
    assert {ep["region"] for ep in entries[0]["endpoints"]} == {"R"}
