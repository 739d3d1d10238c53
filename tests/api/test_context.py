"""Policy plumbing: tokens become contexts through the validator; 401 and 403 cases;
the project id in Cinder/Nova URLs."""

from __future__ import annotations

import pytest

from shoal.api import (
    ApiSettings,
    RequestContext,
    TokenValidator,
    compute_app,
    identity_app,
    require_project,
    require_role,
    volume_app,
)
from shoal.errors import PermissionDenied
from tests.api.conftest import (
    PROJECT_A,
    PROJECT_B,
    TOKENS,
    FakeValidator,
    call,
    demo_routes,
    make_app,
)


def _auth(token: str) -> dict[str, str]:
    return {"X-Auth-Token": token}


def test_fake_validator_implements_the_protocol() -> None:
    assert isinstance(FakeValidator(TOKENS), TokenValidator)


def test_context_roles() -> None:
    admin, member, reader = TOKENS["admin-token"], TOKENS["member-token"], TOKENS["reader-token"]
    assert admin.is_admin and not member.is_admin
    assert member.has_role("member") and not reader.has_role("member")
    assert admin.has_role("anything")
    require_role(member, "member", "admin")
    with pytest.raises(PermissionDenied):
        require_role(reader, "member")
    require_project(member, PROJECT_A)
    require_project(admin, PROJECT_B)
    with pytest.raises(PermissionDenied):
        require_project(member, PROJECT_B)
    with pytest.raises(PermissionDenied):
        require_project(RequestContext("u", None), PROJECT_A)
    with pytest.raises(ValueError):
        require_role(member)


def test_valid_token_gives_the_context() -> None:
    response = call(make_app(volume_app), "GET", "/volume/v3/whoami",
                    headers=_auth("member-token"))
    assert response.json() == {"user_id": "u-member", "project_id": PROJECT_A, "admin": False}


@pytest.mark.parametrize("factory,root", [(volume_app, "/volume/v3"),
                                          (compute_app, "/compute/v2.1"),
                                          (identity_app, "/identity/v3")])
@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": "forged"}, {"X-Auth-Token": " "}])
def test_missing_or_bad_token_is_401_keystone_body(
    factory: object, root: str, headers: dict[str, str]
) -> None:
    response = call(make_app(factory), "GET", f"{root}/whoami", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["title"]) == (401, "Unauthorized")


def test_401_names_keystone_when_configured() -> None:
    app = volume_app(routes=demo_routes(), validator=FakeValidator(TOKENS),
                     settings=ApiSettings(identity_url="http://127.0.0.1:5000/identity"))
    response = call(app, "GET", "/volume/v3/whoami")
    assert response.headers["WWW-Authenticate"] == 'Keystone uri="http://127.0.0.1:5000/identity"'


def test_no_validator_means_401() -> None:
    app = volume_app(routes=demo_routes())
    response = call(app, "GET", "/volume/v3/whoami", headers=_auth("member-token"))
    assert response.status_code == 401


@pytest.mark.parametrize(
    "token,project,status",
    [
        ("member-token", PROJECT_A, 204),
        ("admin-token", PROJECT_B, 204),
        ("reader-token", PROJECT_A, 403),
        ("other-token", PROJECT_A, 403),
        ("member-token", PROJECT_B, 403),
    ],
)
def test_roles_and_projects(token: str, project: str, status: int) -> None:
    response = call(make_app(volume_app), "PUT", f"/volume/v3/owned/{project}",
                    headers=_auth(token))
    assert response.status_code == status
    if status == 403:
        assert list(response.json()) == ["forbidden"]
        assert "Policy does not allow" in response.json()["forbidden"]["message"]


def test_requires_role_decorator() -> None:
    app = make_app(compute_app)
    assert call(app, "GET", "/compute/v2.1/admin-only", headers=_auth("admin-token")).json() == {
        "ok": True
    }
    denied = call(app, "GET", "/compute/v2.1/admin-only", headers=_auth("member-token"))
    assert denied.status_code == 403
    assert call(app, "GET", "/compute/v2.1/admin-only").status_code == 401


@pytest.mark.parametrize("factory,root", [(volume_app, "/volume/v3"),
                                          (compute_app, "/compute/v2.1")])
def test_project_id_in_url_is_optional_and_checked(factory: object, root: str) -> None:
    app = make_app(factory)
    with_id = call(app, "GET", f"{root}/{PROJECT_A}/whoami", headers=_auth("member-token"))
    assert with_id.json()["project_id"] == PROJECT_A
    dashed = PROJECT_A[:8] + "-" + PROJECT_A[8:12] + "-" + PROJECT_A[12:16] + "-" + (
        PROJECT_A[16:20] + "-" + PROJECT_A[20:])
    mismatch = call(app, "GET", f"{root}/{PROJECT_B}/whoami", headers=_auth("member-token"))
    assert mismatch.status_code == 400
    assert "Malformed request URL" in next(iter(mismatch.json().values()))["message"]
    assert call(app, "GET", f"{root}/{dashed}/whoami",
                headers=_auth("member-token")).status_code == 400


def test_validator_called_once_per_request() -> None:
    validator = FakeValidator(TOKENS)
    app = volume_app(routes=demo_routes(), validator=validator)
    response = call(app, "GET", "/volume/v3/whoami", headers=_auth("member-token"))
    assert response.status_code == 200
    assert validator.calls == 1
