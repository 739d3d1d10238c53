"""Keystone's directory administration API (/v3/domains, projects, users, roles, grants,
role_assignments, auth/projects) over the identity service and a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from shoal.api import (
    IdentityTokenValidator,
    catalog_for,
    identity_admin_routes,
    identity_app,
    identity_routes,
)
from shoal.db import Database
from shoal.services.identity import IdentityService, bootstrap

from .conftest import call

V3 = "/identity/v3"
ROOT = "http://shoal.test:8080/identity/v3"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[IdentityService]:
    with Database(f"sqlite:///{tmp_path / 'shoal.db'}") as db:
        db.upgrade()
        yield IdentityService(
            db,
            hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
            catalog=catalog_for({"identity": "http://127.0.0.1:5000/identity/v3"}),
        )


@pytest.fixture
def app(service: IdentityService) -> Any:
    bootstrap(service, admin_password="admin-pw", demo_password="demo-pw")
    routes = [*identity_routes(service), *identity_admin_routes(service)]
    return identity_app(routes=routes, validator=IdentityTokenValidator(service))


def login(app: Any, user: str, password: str, project: str | None) -> str:
    """A token for ``user`` (project scoped by name in the Default domain, or unscoped)."""
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"id": "default"}, "password": password}}}}
    auth["scope"] = ("unscoped" if project is None
                     else {"project": {"name": project, "domain": {"name": "Default"}}})
    reply = call(app, "POST", f"{V3}/auth/tokens", json={"auth": auth})
    assert reply.status_code == 201, reply.text
    return str(reply.headers["x-subject-token"])


class Client:
    """Requests to the app with one caller's token."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.headers = {} if token is None else {"X-Auth-Token": token}

    def __call__(self, method: str, path: str, headers: dict[str, str] | None = None,
                 **kw: Any) -> Any:
        headers = {**self.headers, **(headers or {})}
        return call(self.app, method, V3 + path, headers=headers, **kw)


@pytest.fixture
def admin(app: Any) -> Client:
    return Client(app, login(app, "admin", "admin-pw", "admin"))


@pytest.fixture
def demo(app: Any) -> Client:
    return Client(app, login(app, "demo", "demo-pw", "demo"))


def make(client: Client, kind: str, **fields: Any) -> dict[str, Any]:
    """POST /v3/{kind}s with ``fields``; the created object."""
    reply = client("POST", f"/{kind}s", json={kind: fields})
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()[kind]
    return body


def error(reply: Any, status: int) -> str:
    """The message of a Keystone-style error reply of ``status``."""
    assert reply.status_code == status, reply.text
    body = reply.json()["error"]
    assert body["code"] == status and body["title"]
    return str(body["message"])


# ---------------------------------------------------------------------------------------------
# domains


def test_domains_by_name_as_tempest_looks_up_default(admin: Client) -> None:
    reply = admin("GET", "/domains?name=Default")
    assert reply.status_code == 200
    body = reply.json()
    assert [d["id"] for d in body["domains"]] == ["default"]
    assert body["links"] == {"self": f"{ROOT}/domains?name=Default",
                             "previous": None, "next": None}
    domain = body["domains"][0]
    assert domain["links"]["self"] == f"{ROOT}/domains/default" and domain["enabled"] is True
    assert admin("GET", "/domains?name=nope").json()["domains"] == []


def test_create_and_get_domain(admin: Client, demo: Client) -> None:
    made = make(admin, "domain", name="d1", description="first")
    assert made["name"] == "d1" and made["description"] == "first" and made["enabled"] is True
    shown = admin("GET", f"/domains/{made['id']}")
    assert shown.status_code == 200 and shown.json()["domain"] == made
    assert "d1" in error(admin("POST", "/domains", json={"domain": {"name": "d1"}}), 409)
    error(demo("GET", f"/domains/{made['id']}"), 403)
    assert demo("GET", "/domains/default").json()["domain"]["name"] == "Default"  # its own
    error(admin("GET", "/domains/missing"), 404)
    error(demo("GET", "/domains"), 403)


# ---------------------------------------------------------------------------------------------
# projects


def test_project_lifecycle(admin: Client) -> None:
    made = make(admin, "project", name="p1", description="d", domain_id="default")
    assert made["domain_id"] == "default" and made["parent_id"] == "default"
    assert made["is_domain"] is False and made["enabled"] is True and made["description"] == "d"
    assert made["links"]["self"] == f"{ROOT}/projects/{made['id']}"
    pid = made["id"]
    assert admin("GET", f"/projects/{pid}").json()["project"] == made
    listed = admin("GET", "/projects?name=p1&domain_id=default").json()["projects"]
    assert [p["id"] for p in listed] == [pid]
    assert admin("GET", "/projects?domain_id=elsewhere").json()["projects"] == []
    names = {p["name"] for p in admin("GET", "/projects").json()["projects"]}
    assert names == {"admin", "demo", "p1"}
    changed = admin("PATCH", f"/projects/{pid}",
                    json={"project": {"name": "p2", "enabled": False, "description": "x"}})
    assert changed.status_code == 200
    assert {k: changed.json()["project"][k] for k in ("name", "enabled", "description")} == {
        "name": "p2", "enabled": False, "description": "x"}
    assert admin("GET", "/projects?enabled=false").json()["projects"][0]["id"] == pid
    assert admin("DELETE", f"/projects/{pid}").status_code == 204
    error(admin("GET", f"/projects/{pid}"), 404)
    error(admin("DELETE", f"/projects/{pid}"), 404)
    error(admin("PATCH", f"/projects/{pid}", json={"project": {"name": "q"}}), 404)


def test_project_without_domain_goes_to_the_callers_domain(admin: Client) -> None:
    assert make(admin, "project", name="here")["domain_id"] == "default"


def test_project_conflicts(admin: Client) -> None:
    make(admin, "project", name="p1")
    message = error(admin("POST", "/projects", json={"project": {"name": "p1"}}), 409)
    assert "p1" in message and message.startswith("Conflict occurred")
    other = make(admin, "project", name="p2")
    error(admin("PATCH", f"/projects/{other['id']}", json={"project": {"name": "p1"}}), 409)
    dom = make(admin, "domain", name="d2")
    assert make(admin, "project", name="p1", domain_id=dom["id"])["domain_id"] == dom["id"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": 7}, "name"),
    ({"name": "x" * 300}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "p", "enabled": "yes"}, "enabled"),
    ({"name": "p", "domain_id": "nowhere"}, "domain_id"),
    ({"name": "p", "parent_id": "0123"}, "parent_id"),
    ({"name": "p", "is_domain": True}, "is_domain"),
    ({"name": "p", "tags": ["a"]}, "tags"),
])
def test_bad_project_bodies_are_400_naming_the_field(
    admin: Client, body: dict[str, Any], field: str
) -> None:
    assert field in error(admin("POST", "/projects", json={"project": body}), 400)
    assert admin("GET", "/projects?name=p").json()["projects"] == []  # nothing half-made


@pytest.mark.parametrize(("body", "message"), [
    ({}, "'name' is a required property"),
    ({"name": ""}, "Invalid input for field 'name': '' should be non-empty"),
    ({"name": "p", "enabled": "yes"},
     "Invalid input for field 'enabled': 'yes' is not of type 'boolean'"),
    ({"name": "p", "tags": ["a", "a"]},
     "Invalid input for field 'tags': ['a', 'a'] has non-unique elements"),
    ({"name": "p", "tags": [str(n) for n in range(81)]},
     "Invalid input for field 'tags': ['0', '1', "),
    ({"name": "p", "tags": ["a/b"]}, "Invalid input for field 'tags/0': 'a/b' does not match"),
])
def test_project_bodies_are_refused_in_keystone_words(
    admin: Client, body: dict[str, Any], message: str
) -> None:
    assert error(admin("POST", "/projects", json={"project": body}), 400).startswith(message)


def test_an_update_must_change_something(admin: Client) -> None:
    pid = make(admin, "project", name="p1")["id"]
    assert error(admin("PATCH", f"/projects/{pid}", json={"project": {}}), 400) == (
        "{} should be non-empty")
    uid = make(admin, "user", name="u1")["id"]
    assert error(admin("PATCH", f"/users/{uid}", json={"user": {"name": None}}), 400) == (
        "Invalid input for field 'name': None is not of type 'string'")


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"projekt": {}}', b'{"project": 3}'])
def test_malformed_bodies_are_400(admin: Client, raw: bytes) -> None:
    error(admin("POST", "/projects", content=raw,
                headers={"Content-Type": "application/json"}), 400)


def test_project_update_validation(admin: Client) -> None:
    pid = make(admin, "project", name="p1")["id"]
    for body, field in (({"name": None}, "name"), ({"enabled": 1}, "enabled"),
                        ({"domain_id": "other"}, "domain_id")):
        assert field in error(admin("PATCH", f"/projects/{pid}", json={"project": body}), 400)
    assert admin("GET", f"/projects/{pid}").json()["project"]["name"] == "p1"


def test_members_and_readers_may_not_administer_projects(admin: Client, demo: Client,
                                                         app: Any) -> None:
    pid = make(admin, "project", name="p1")["id"]
    reader = make(admin, "user", name="r", password="r-pw")
    demo_pid = admin("GET", "/projects?name=demo").json()["projects"][0]["id"]
    reader_role = admin("GET", "/roles?name=reader").json()["roles"][0]["id"]
    assert admin("PUT", f"/projects/{demo_pid}/users/{reader['id']}/roles/{reader_role}"
                 ).status_code == 204
    readers = Client(app, login(app, "r", "r-pw", "demo"))
    for client in (demo, readers):
        error(client("GET", "/projects"), 403)
        error(client("POST", "/projects", json={"project": {"name": "mine"}}), 403)
        error(client("PATCH", f"/projects/{pid}", json={"project": {"name": "z"}}), 403)
        error(client("DELETE", f"/projects/{pid}"), 403)
        error(client("GET", f"/projects/{pid}"), 403)
        error(client("GET", f"/projects/{pid}-unknown"), 403)  # existence is not told
        own = client("GET", f"/projects/{demo_pid}")
        assert own.status_code == 200 and own.json()["project"]["name"] == "demo"
    assert admin("GET", f"/projects/{pid}").json()["project"]["name"] == "p1"


def test_no_token_is_401(app: Any) -> None:
    error(Client(app, None)("GET", "/projects"), 401)
    error(Client(app, "not-a-token")("GET", "/users"), 401)


# ---------------------------------------------------------------------------------------------
# users


def test_user_lifecycle_never_shows_a_password(admin: Client, app: Any) -> None:
    pid = make(admin, "project", name="p1")["id"]
    made = make(admin, "user", name="u1", password="u1-pw", default_project_id=pid,
                email="u1@example.org")
    assert made["domain_id"] == "default" and made["default_project_id"] == pid
    assert made["enabled"] is True and made["links"]["self"] == f"{ROOT}/users/{made['id']}"
    uid = made["id"]
    listed = admin("GET", "/users").json()
    assert {u["name"] for u in listed["users"]} == {"admin", "demo", "u1"}
    assert admin("GET", "/users?name=u1&domain_id=default").json()["users"] == [made]
    for text in (str(made), str(listed), admin("GET", f"/users/{uid}").text):
        assert "argon2" not in text and "password_hash" not in text and "u1-pw" not in text
    changed = admin("PATCH", f"/users/{uid}", json={"user": {"name": "u2", "enabled": False}})
    assert changed.status_code == 200 and changed.json()["user"]["name"] == "u2"
    assert changed.json()["user"]["enabled"] is False
    cleared = admin("PATCH", f"/users/{uid}", json={"user": {"default_project_id": None}})
    assert "default_project_id" not in cleared.json()["user"]
    assert admin("DELETE", f"/users/{uid}").status_code == 204
    error(admin("GET", f"/users/{uid}"), 404)
    error(admin("DELETE", f"/users/{uid}"), 404)


def test_disabling_or_resetting_a_password_ends_tokens(app: Any,
                                                                   admin: Client) -> None:
    pid = make(admin, "project", name="p1")["id"]
    uid = make(admin, "user", name="u1", password="pw-1", default_project_id=pid)["id"]
    member = admin("GET", "/roles?name=member").json()["roles"][0]["id"]
    admin("PUT", f"/projects/{pid}/users/{uid}/roles/{member}")
    user = Client(app, login(app, "u1", "pw-1", "p1"))
    assert user("GET", f"/users/{uid}").status_code == 200
    admin("PATCH", f"/users/{uid}", json={"user": {"password": "pw-2"}})
    error(user("GET", f"/users/{uid}"), 401)
    user = Client(app, login(app, "u1", "pw-2", "p1"))
    admin("PATCH", f"/users/{uid}", json={"user": {"enabled": False}})
    error(user("GET", f"/users/{uid}"), 401)
    admin("PATCH", f"/users/{uid}", json={"user": {"enabled": True}})
    error(user("GET", f"/users/{uid}"), 401)  # enabling again does not revive old tokens
    user = Client(app, login(app, "u1", "pw-2", "p1"))
    admin("PATCH", f"/projects/{pid}", json={"project": {"enabled": False}})
    admin("PATCH", f"/projects/{pid}", json={"project": {"enabled": True}})
    error(user("GET", f"/users/{uid}"), 401)
    assert Client(app, login(app, "u1", "pw-2", "p1"))("GET", f"/users/{uid}").status_code == 200
    assert admin("DELETE", f"/projects/{pid}").status_code == 204
    assert "default_project_id" not in admin("GET", f"/users/{uid}").json()["user"]


def test_user_errors(admin: Client) -> None:
    make(admin, "user", name="u1", password="pw")
    assert "u1" in error(admin("POST", "/users", json={"user": {"name": "u1"}}), 409)
    assert "domain" in error(admin("POST", "/users", json={
        "user": {"name": "u9", "domain_id": "DEFAULT"}}), 404)
    assert "project" in error(admin("POST", "/users", json={
        "user": {"name": "u9", "default_project_id": "f" * 32}}), 404)
    assert "name" in error(admin("POST", "/users", json={"user": {"password": "x"}}), 400)
    assert "password" in error(admin("POST", "/users", json={
        "user": {"name": "u9", "password": 12}}), 400)
    assert admin("GET", "/users?name=u9").json()["users"] == []
    uid = admin("GET", "/users?name=u1").json()["users"][0]["id"]
    error(admin("PATCH", f"/users/{uid}", json={"user": {"domain_id": "x"}}), 400)
    make(admin, "user", name="u2")  # no password: Keystone allows it
    error(admin("PATCH", f"/users/{uid}", json={"user": {"name": "u2"}}), 409)


def test_a_user_may_see_itself_and_its_projects_only(admin: Client, demo: Client) -> None:
    users = {u["name"]: u["id"] for u in admin("GET", "/users").json()["users"]}
    me = demo("GET", f"/users/{users['demo']}")
    assert me.status_code == 200 and me.json()["user"]["name"] == "demo"
    mine = demo("GET", f"/users/{users['demo']}/projects").json()["projects"]
    assert [p["name"] for p in mine] == ["demo"]
    error(demo("GET", f"/users/{users['admin']}"), 403)
    error(demo("GET", f"/users/{users['admin']}/projects"), 403)
    error(demo("GET", "/users"), 403)
    error(demo("POST", "/users", json={"user": {"name": "x"}}), 403)
    error(demo("PATCH", f"/users/{users['demo']}", json={"user": {"enabled": True}}), 403)
    error(demo("DELETE", f"/users/{users['admin']}"), 403)
    theirs = admin("GET", f"/users/{users['admin']}/projects").json()["projects"]
    assert [p["name"] for p in theirs] == ["admin"]


def test_password_change_needs_the_original_and_revokes_tokens(app: Any,
                                                               admin: Client) -> None:
    made = make(admin, "user", name="u1", password="old-pw")
    pid = make(admin, "project", name="p1")["id"]
    member = admin("GET", "/roles?name=member").json()["roles"][0]["id"]
    admin("PUT", f"/projects/{pid}/users/{made['id']}/roles/{member}")
    token = login(app, "u1", "old-pw", "p1")
    path = f"/users/{made['id']}/password"
    anyone = Client(app, None)
    wrong = anyone("POST", path, json={"user": {"original_password": "nope", "password": "n"}})
    error(wrong, 401)
    assert "original_password" in error(anyone("POST", path, json={"user": {"password": "n"}}),
                                        400)
    done = anyone("POST", path, json={"user": {"original_password": "old-pw",
                                               "password": "new-pw"}})
    assert done.status_code == 204
    error(Client(app, token)("GET", "/auth/projects"), 401)  # revoked
    login(app, "u1", "new-pw", "p1")
    reply = call(app, "POST", f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": "u1", "domain": {"id": "default"}, "password": "old-pw"}}}}})
    error(reply, 401)
    error(anyone("GET", path), 405)
    error(anyone("POST", "/users/nobody/password",
                 json={"user": {"original_password": "x", "password": "y"}}), 401)


# ---------------------------------------------------------------------------------------------
# roles and grants


def test_roles(admin: Client, demo: Client) -> None:
    names = [r["name"] for r in admin("GET", "/roles").json()["roles"]]
    assert names == ["admin", "member", "reader"]
    made = make(admin, "role", name="observer")
    assert made["domain_id"] is None and made["links"]["self"] == f"{ROOT}/roles/{made['id']}"
    assert admin("GET", f"/roles/{made['id']}").json()["role"] == made
    assert admin("GET", "/roles?name=observer").json()["roles"] == [made]
    error(admin("GET", "/roles/observer"), 404)  # ids only: clients then list by name
    error(admin("POST", "/roles", json={"role": {"name": "observer"}}), 409)
    error(admin("POST", "/roles", json={"role": {"name": "x", "domain_id": "default"}}), 400)
    error(demo("GET", "/roles"), 403)
    error(demo("POST", "/roles", json={"role": {"name": "mine"}}), 403)
    error(demo("DELETE", f"/roles/{made['id']}"), 403)
    assert admin("DELETE", f"/roles/{made['id']}").status_code == 204
    error(admin("GET", f"/roles/{made['id']}"), 404)
    error(admin("DELETE", f"/roles/{made['id']}"), 404)


def test_grants_on_projects(admin: Client, demo: Client) -> None:
    pid = make(admin, "project", name="p1")["id"]
    uid = make(admin, "user", name="u1", password="pw")["id"]
    role = make(admin, "role", name="observer")["id"]
    grant = f"/projects/{pid}/users/{uid}/roles/{role}"
    assert admin("HEAD", grant).status_code == 404
    error(admin("GET", grant), 404)
    assert admin("PUT", grant).status_code == 204
    assert admin("PUT", grant).status_code == 204  # idempotent, as Tempest expects
    assert admin("HEAD", grant).status_code == 204
    listed = admin("GET", f"/projects/{pid}/users/{uid}/roles").json()
    assert [r["id"] for r in listed["roles"]] == [role]
    error(demo("PUT", grant), 403)
    error(demo("DELETE", grant), 403)
    assert demo("HEAD", grant).status_code == 403
    assert admin("DELETE", grant).status_code == 204
    error(admin("DELETE", grant), 404)
    assert admin("GET", f"/projects/{pid}/users/{uid}/roles").json()["roles"] == []
    for p, u, r in (("x", uid, role), (pid, "x", role), (pid, uid, "x"), (pid, uid, "member")):
        error(admin("PUT", f"/projects/{p}/users/{u}/roles/{r}"), 404)  # roles by id only


def test_deleting_a_role_removes_its_grants(admin: Client) -> None:
    pid = make(admin, "project", name="p1")["id"]
    uid = make(admin, "user", name="u1", password="pw")["id"]
    role = make(admin, "role", name="observer")["id"]
    admin("PUT", f"/projects/{pid}/users/{uid}/roles/{role}")
    admin("DELETE", f"/roles/{role}")
    assert admin("GET", f"/role_assignments?user.id={uid}").json()["role_assignments"] == []


def test_role_assignments(admin: Client, demo: Client) -> None:
    ids = {u["name"]: u["id"] for u in admin("GET", "/users").json()["users"]}
    roles = {r["name"]: r["id"] for r in admin("GET", "/roles").json()["roles"]}
    projects = {p["name"]: p["id"] for p in admin("GET", "/projects").json()["projects"]}
    direct = admin("GET", f"/role_assignments?user.id={ids['demo']}").json()
    assert direct["role_assignments"] == [{
        "user": {"id": ids["demo"]},
        "scope": {"project": {"id": projects["demo"]}},
        "role": {"id": roles["member"]},
        "links": {"assignment": f"{ROOT}/projects/{projects['demo']}/users/{ids['demo']}"
                                f"/roles/{roles['member']}"},
    }]
    assert direct["links"]["self"] == f"{ROOT}/role_assignments?user.id={ids['demo']}"
    effective = admin("GET", f"/role_assignments?user.id={ids['demo']}&effective"
                             "&include_names=true").json()["role_assignments"]
    assert [(a["role"]["name"], a["user"]["name"], a["scope"]["project"]["name"])
            for a in effective] == [("member", "demo", "demo"), ("reader", "demo", "demo")]
    assert effective[0]["user"]["domain"] == {"id": "default", "name": "Default"}
    assert effective[1]["links"]["prior_role"].endswith(
        f"/roles/{roles['member']}/implies/{roles['reader']}")
    everyone = admin("GET", f"/role_assignments?scope.project.id={projects['admin']}"
                            f"&effective=1&role.id={roles['reader']}").json()["role_assignments"]
    assert [(a["user"]["id"], a["role"]["id"]) for a in everyone] == [
        (ids["admin"], roles["reader"])]
    assert admin("GET", "/role_assignments?effective=0").json()["role_assignments"] != []
    assert admin("GET", "/role_assignments?user.id=nobody").json()["role_assignments"] == []
    assert admin("GET", "/role_assignments?group.id=g").json()["role_assignments"] == []
    error(admin("GET", "/role_assignments?user.id=a&group.id=b"), 400)
    error(demo("GET", "/role_assignments"), 403)


def test_auth_projects_lists_the_projects_a_token_can_scope_to(app: Any, admin: Client) -> None:
    uid = make(admin, "user", name="u1", password="pw")["id"]
    member = admin("GET", "/roles?name=member").json()["roles"][0]["id"]
    p1, p2, p3 = (make(admin, "project", name=n)["id"] for n in ("p1", "p2", "p3"))
    for pid in (p1, p2):
        admin("PUT", f"/projects/{pid}/users/{uid}/roles/{member}")
    admin("PATCH", f"/projects/{p2}", json={"project": {"enabled": False}})
    unscoped = Client(app, login(app, "u1", "pw", None))
    reply = unscoped("GET", "/auth/projects")
    assert reply.status_code == 200
    assert [p["id"] for p in reply.json()["projects"]] == [p1]
    assert reply.json()["links"]["self"] == f"{ROOT}/auth/projects"
    assert p3 not in {p["id"] for p in unscoped("GET", f"/users/{uid}/projects").json()["projects"]}


# ---------------------------------------------------------------------------------------------
# Tempest's dynamic credentials, end to end


def test_tempest_dynamic_credentials_flow(app: Any, admin: Client) -> None:
    domain = admin("GET", "/domains?name=Default").json()["domains"][0]
    project = make(admin, "project", name="tempest-p-123", description="tempest-p-123-desc",
                   domain_id=domain["id"])
    user = make(admin, "user", name="tempest-u-123", password="Secret-1", domain_id=domain["id"],
                default_project_id=project["id"], email="tempest-u-123@example.com")
    roles = admin("GET", "/roles").json()["roles"]
    member = next(r for r in roles if r["name"].lower() == "member")
    grant = f"/projects/{project['id']}/users/{user['id']}/roles/{member['id']}"
    assert admin("PUT", grant).status_code == 204

    # the new user logs in with ids, scoped to its project, as Tempest's credentials do
    reply = call(app, "POST", f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "id": user["id"], "password": "Secret-1"}}},
        "scope": {"project": {"id": project["id"]}}}})
    assert reply.status_code == 201, reply.text
    token = reply.json()["token"]
    assert token["project"]["id"] == project["id"] and token["user"]["id"] == user["id"]
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    default_scoped = login(app, "tempest-u-123", "Secret-1", None)  # explicitly unscoped
    assert Client(app, default_scoped)("GET", "/auth/projects").json()["projects"][0][
        "id"] == project["id"]

    # a member of its own project still is no identity admin
    mine = Client(app, str(reply.headers["x-subject-token"]))
    error(mine("POST", "/projects", json={"project": {"name": "more"}}), 403)
    assert mine("GET", f"/projects/{project['id']}").status_code == 200

    # clean-up, as Tempest does it
    assert admin("DELETE", f"/users/{user['id']}").status_code == 204
    assert admin("DELETE", f"/projects/{project['id']}").status_code == 204
    error(mine("GET", f"/projects/{project['id']}"), 401)  # its token died with it
