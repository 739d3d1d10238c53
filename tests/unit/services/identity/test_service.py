"""IdentityService behaviour. ``IdentityServiceContract`` also runs on PostgreSQL (tests/pg)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from shoal import errors
from shoal.db import Database, default_url
from shoal.services.identity import (
    DEFAULT_DOMAIN,
    BootstrapResult,
    DomainRef,
    IdentityService,
    InvalidToken,
    ProjectRef,
    TokenData,
    UserRef,
    bootstrap,
)
from shoal.services.identity.models import Token, User

#: Cheap argon2 parameters: the tests hash many passwords (the default profile is covered once).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
BY_NAME = DomainRef(name="Default")


class FakeClock:
    """A settable clock (timezone-aware UTC)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def admin_ref(by: str = "name") -> UserRef:
    return UserRef(name="admin", domain=DEFAULT_DOMAIN)


class IdentityServiceContract:
    """Subclasses give ``db_url`` (an empty database)."""

    @pytest.fixture
    def db_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def db(self, db_url: str) -> Iterator[Database]:
        with Database(db_url) as database:
            database.upgrade()
            yield database

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def service(self, db: Database, clock: FakeClock) -> IdentityService:
        return IdentityService(db, clock=clock, hasher=FAST_HASHER)

    @pytest.fixture
    def boot(self, service: IdentityService) -> BootstrapResult:
        return bootstrap(service, admin_password="admin-secret", demo_password="demo-secret")

    # --- password authentication: who and where -----------------------------------------

    @pytest.mark.parametrize(
        "user",
        [
            UserRef(name="admin", domain=DomainRef(id="default")),
            UserRef(name="admin", domain=DomainRef(name="Default")),
        ],
    )
    @pytest.mark.parametrize(
        "project",
        [
            ProjectRef(name="admin", domain=DomainRef(id="default")),
            ProjectRef(name="admin", domain=DomainRef(name="Default")),
        ],
    )
    def test_password_auth_by_name_with_domain_id_or_name(
        self, service: IdentityService, boot: BootstrapResult, user: UserRef, project: ProjectRef
    ) -> None:
        issued = service.authenticate_password(user, "admin-secret", project)
        assert issued.data.user.id == boot.admin.user_id
        assert issued.data.project is not None
        assert issued.data.project.id == boot.admin.project_id

    def test_password_auth_by_ids(self, service: IdentityService, boot: BootstrapResult) -> None:
        issued = service.authenticate_password(
            UserRef(id=boot.demo.user_id), "demo-secret", ProjectRef(id=boot.demo.project_id)
        )
        assert issued.data.user.name == "demo"
        assert issued.data.project_id == boot.demo.project_id
        assert issued.data.methods == ("password",)

    def test_token_body_is_keystones(
        self, db: Database, clock: FakeClock, boot: BootstrapResult
    ) -> None:
        calls: list[TokenData] = []

        def catalog(data: TokenData) -> list[dict[str, Any]]:
            calls.append(data)
            return [{"type": "identity", "endpoints": []}]

        service = IdentityService(db, clock=clock, hasher=FAST_HASHER, catalog=catalog)
        issued = service.authenticate_password(
            admin_ref(), "admin-secret", ProjectRef(name="admin", domain=BY_NAME)
        )
        body = service.token_body(service.validate_token(issued.id))["token"]
        assert calls and calls[0].user.name == "admin"
        assert body["catalog"] == [{"type": "identity", "endpoints": []}]
        assert body["issued_at"] == "2026-01-02T03:04:05.000000Z"
        assert body["expires_at"] == "2026-01-02T04:04:05.000000Z"
        assert body["methods"] == ["password"]
        domain = {"id": "default", "name": "Default"}
        assert body["user"] == {
            "id": boot.admin.user_id,
            "name": "admin",
            "domain": domain,
            "password_expires_at": None,
        }
        assert body["project"] == {"id": boot.admin.project_id, "name": "admin", "domain": domain}
        assert [r["name"] for r in body["roles"]] == ["admin", "member", "reader"]
        assert all(set(r) == {"id", "name"} for r in body["roles"])
        assert len(body["audit_ids"]) == 1
        assert issued.id not in str(body)
        assert issued.id not in repr(issued)

    def test_no_scope_uses_the_default_project(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        issued = service.authenticate_password(admin_ref(), "admin-secret")
        assert issued.data.project_id == boot.admin.project_id

    def test_no_scope_and_no_default_project_gives_an_unscoped_token(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        service.create_user("loner", "pw")
        issued = service.authenticate_password(UserRef(name="loner", domain=BY_NAME), "pw")
        assert issued.data.project is None and issued.data.roles == ()
        body = service.token_body(service.validate_token(issued.id))["token"]
        assert "project" not in body and "roles" not in body and "catalog" not in body

    # --- failures never tell user from password apart -------------------------------------

    def test_wrong_password_unknown_user_and_unknown_domain_look_the_same(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        messages = set()
        for user, password in [
            (admin_ref(), "wrong"),
            (UserRef(name="nobody", domain=DEFAULT_DOMAIN), "admin-secret"),
            (UserRef(name="admin", domain=DomainRef(name="Elsewhere")), "admin-secret"),
            (UserRef(id="0" * 32), "admin-secret"),
            (admin_ref(), ""),
            (admin_ref(), "x" * 10_000),
        ]:
            with pytest.raises(errors.AuthenticationFailed) as info:
                service.authenticate_password(user, password)
            assert info.value.http_status == 401
            messages.add(info.value.message)
        assert len(messages) == 1
        (message,) = messages
        assert "password" in message and "admin-secret" not in message

    def test_disabled_user_is_told_only_with_the_right_password(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        service.update_user(UserRef(name="demo", domain=DEFAULT_DOMAIN), enabled=False)
        demo = UserRef(name="demo", domain=DEFAULT_DOMAIN)
        with pytest.raises(errors.AuthenticationFailed, match="disabled"):
            service.authenticate_password(demo, "demo-secret")
        with pytest.raises(errors.AuthenticationFailed) as info:
            service.authenticate_password(demo, "wrong")
        assert "disabled" not in info.value.message

    def test_disabled_domain_refuses_its_users(self, service: IdentityService) -> None:
        service.create_domain("Other", id="other", enabled=False)
        service.create_user("u", "pw", domain=DomainRef(id="other"))
        with pytest.raises(errors.AuthenticationFailed, match="disabled"):
            service.authenticate_password(UserRef(name="u", domain=DomainRef(id="other")), "pw")

    def test_scope_to_unknown_or_unassigned_project_fails(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        demo = UserRef(name="demo", domain=DEFAULT_DOMAIN)
        with pytest.raises(errors.AuthenticationFailed, match="does not exist"):
            service.authenticate_password(demo, "demo-secret", ProjectRef(id="f" * 32))
        # project isolation: demo holds no role on the admin project
        with pytest.raises(errors.AuthenticationFailed, match="no role on project 'admin'"):
            service.authenticate_password(
                demo, "demo-secret", ProjectRef(name="admin", domain=DEFAULT_DOMAIN)
            )

    def test_disabled_project_cannot_be_scoped_and_its_tokens_stop(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        demo = UserRef(name="demo", domain=DEFAULT_DOMAIN)
        project = ProjectRef(name="demo", domain=DEFAULT_DOMAIN)
        issued = service.authenticate_password(demo, "demo-secret", project)
        service.set_project_enabled(project, False)
        with pytest.raises(InvalidToken, match="project is disabled"):
            service.validate_token(issued.id)
        with pytest.raises(errors.AuthenticationFailed, match="disabled"):
            service.authenticate_password(demo, "demo-secret", project)

    # --- tokens: validation, expiry, revocation -------------------------------------------

    def test_token_expires_after_the_configured_lifetime(
        self, db: Database, clock: FakeClock, boot: BootstrapResult
    ) -> None:
        service = IdentityService(
            db, clock=clock, hasher=FAST_HASHER, token_ttl=timedelta(minutes=5)
        )
        issued = service.authenticate_password(admin_ref(), "admin-secret")
        assert issued.data.expires_at - issued.data.issued_at == timedelta(minutes=5)
        clock.advance(minutes=4, seconds=59)
        assert service.validate_token(issued.id).user.name == "admin"
        clock.advance(seconds=1)
        with pytest.raises(InvalidToken, match="expired") as info:
            service.validate_token(issued.id)
        assert info.value.http_status == 401

    def test_default_lifetime_is_one_hour(
        self, service: IdentityService, clock: FakeClock, boot: BootstrapResult
    ) -> None:
        issued = service.authenticate_password(admin_ref(), "admin-secret")
        clock.advance(minutes=59)
        service.validate_token(issued.id)
        clock.advance(minutes=1)
        with pytest.raises(InvalidToken, match="expired"):
            service.validate_token(issued.id)

    def test_token_lifetime_must_be_positive(self, db: Database) -> None:
        with pytest.raises(errors.InvalidArgument, match="positive"):
            IdentityService(db, token_ttl=timedelta(0))

    def test_revoked_token_is_refused_and_others_still_work(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        first = service.authenticate_password(admin_ref(), "admin-secret")
        second = service.authenticate_password(admin_ref(), "admin-secret")
        assert first.id != second.id
        service.revoke_token(first.id)
        service.revoke_token(first.id)  # idempotent
        with pytest.raises(InvalidToken, match="revoked"):
            service.validate_token(first.id)
        assert service.validate_token(second.id).user.name == "admin"

    @pytest.mark.parametrize("token", ["", "nope", "x" * 300])
    def test_unknown_or_malformed_tokens_are_refused(
        self, service: IdentityService, boot: BootstrapResult, token: str
    ) -> None:
        with pytest.raises(InvalidToken):
            service.validate_token(token)
        with pytest.raises(InvalidToken):
            service.revoke_token(token)

    def test_only_a_hash_of_the_token_is_stored(
        self, service: IdentityService, db: Database, boot: BootstrapResult
    ) -> None:
        issued = service.authenticate_password(admin_ref(), "admin-secret")
        assert len(issued.id) >= 43
        with db.session(readonly=True) as session:
            keys = session.scalars(select(Token.id_sha256)).all()
        assert len(keys) == 1 and issued.id not in keys[0]

    def test_disabling_the_user_invalidates_its_tokens(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        issued = service.authenticate_password(admin_ref(), "admin-secret")
        service.update_user(admin_ref(), enabled=False)
        with pytest.raises(InvalidToken, match="disabled"):
            service.validate_token(issued.id)

    def test_token_auth_rescopes_and_keeps_the_expiry(
        self, service: IdentityService, clock: FakeClock, boot: BootstrapResult
    ) -> None:
        service.assign_role(admin_ref(), ProjectRef(id=boot.demo.project_id), "reader")
        issued = service.authenticate_password(admin_ref(), "admin-secret")
        clock.advance(minutes=10)
        rescoped = service.authenticate_token(issued.id, ProjectRef(id=boot.demo.project_id))
        assert rescoped.data.project_id == boot.demo.project_id
        assert rescoped.data.expires_at == issued.data.expires_at
        assert rescoped.data.methods == ("password", "token")
        assert [r.name for r in rescoped.data.roles] == ["reader"]
        same = service.authenticate_token(rescoped.id)
        assert same.data.project_id == boot.demo.project_id
        service.revoke_token(issued.id)
        with pytest.raises(InvalidToken, match="revoked"):
            service.authenticate_token(issued.id)

    def test_purge_removes_only_expired_tokens(
        self, service: IdentityService, clock: FakeClock, boot: BootstrapResult
    ) -> None:
        old = service.authenticate_password(admin_ref(), "admin-secret")
        clock.advance(minutes=30)
        new = service.authenticate_password(admin_ref(), "admin-secret")
        clock.advance(minutes=31)
        assert service.purge_expired_tokens() == 1
        with pytest.raises(InvalidToken, match="unknown"):
            service.validate_token(old.id)
        service.validate_token(new.id)

    # --- roles: implication and isolation --------------------------------------------------

    def test_roles_imply_each_other_admin_member_reader(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        project = ProjectRef(name="demo", domain=DEFAULT_DOMAIN)
        service.create_user("watcher", "pw", default_project=project)
        service.assign_role(UserRef(name="watcher", domain=BY_NAME), project, "reader")
        names = {}
        for user, password in [
            ("admin", "admin-secret"),
            ("demo", "demo-secret"),
            ("watcher", "pw"),
        ]:
            data = service.authenticate_password(
                UserRef(name=user, domain=DEFAULT_DOMAIN), password
            ).data
            names[user] = sorted(data.role_names)
        assert names == {
            "admin": ["admin", "member", "reader"],
            "demo": ["member", "reader"],
            "watcher": ["reader"],
        }

    def test_require_role_raises_permission_denied(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        demo = service.authenticate_password(
            UserRef(name="demo", domain=DEFAULT_DOMAIN), "demo-secret"
        ).data
        demo.require_role("member")
        demo.require_role("admin", "reader")
        with pytest.raises(errors.PermissionDenied, match="'admin' on project 'demo'") as info:
            demo.require_role("admin")
        assert info.value.http_status == 403

    def test_role_changes_apply_to_existing_tokens(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        demo = UserRef(name="demo", domain=DEFAULT_DOMAIN)
        project = ProjectRef(name="demo", domain=DEFAULT_DOMAIN)
        issued = service.authenticate_password(demo, "demo-secret")
        service.assign_role(demo, project, "admin")
        assert service.validate_token(issued.id).has_role("admin")
        service.unassign_role(demo, project, "admin")
        service.unassign_role(demo, project, "member")
        with pytest.raises(InvalidToken, match="no role"):
            service.validate_token(issued.id)

    def test_projects_are_isolated(self, service: IdentityService, boot: BootstrapResult) -> None:
        one = service.create_project("one")
        two = service.create_project("two")
        service.create_user("alice", "pw")
        alice = UserRef(name="alice", domain=DEFAULT_DOMAIN)
        service.assign_role(alice, ProjectRef(id=one.id), "admin")
        assert service.authenticate_password(alice, "pw", ProjectRef(id=one.id)).data.is_admin
        with pytest.raises(errors.AuthenticationFailed, match="no role"):
            service.authenticate_password(alice, "pw", ProjectRef(id=two.id))
        assert service.effective_roles(alice, ProjectRef(id=two.id)) == []
        assert [a.project_id for a in service.list_role_assignments(user=alice)] == [one.id]
        assert service.list_role_assignments(project=ProjectRef(id=two.id)) == []

    # --- directory ----------------------------------------------------------------------------

    def test_passwords_are_stored_as_argon2id(
        self, service: IdentityService, db: Database, boot: BootstrapResult
    ) -> None:
        with db.session(readonly=True) as session:
            hashes = session.scalars(select(User.password_hash)).all()
        assert len(hashes) == 2
        assert all(h.startswith("$argon2id$") and "secret" not in h for h in hashes)

    def test_set_password(self, service: IdentityService, boot: BootstrapResult) -> None:
        service.update_user(admin_ref(), password="new-secret")
        assert service.check_password(admin_ref(), "new-secret")
        assert not service.check_password(admin_ref(), "admin-secret")
        with pytest.raises(errors.AuthenticationFailed):
            service.authenticate_password(admin_ref(), "admin-secret")

    def test_duplicates_are_already_exists(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        with pytest.raises(errors.AlreadyExists, match="user 'admin' in domain 'Default'"):
            service.create_user("admin", "pw")
        with pytest.raises(errors.AlreadyExists, match="project 'demo'"):
            service.create_project("demo")
        with pytest.raises(errors.AlreadyExists, match="role 'reader'"):
            service.create_role("reader")
        with pytest.raises(errors.AlreadyExists, match="domain"):
            service.create_domain("Default")
        # the same name in another domain is fine
        service.create_domain("Other", id="other")
        service.create_user("admin", "pw", domain=DomainRef(name="Other"))
        assert len(service.list_users()) == 3
        assert [u.name for u in service.list_users(domain=DomainRef(id="other"))] == ["admin"]

    def test_unknown_references_are_not_found(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        with pytest.raises(errors.NotFound, match="no domain 'Nowhere'"):
            service.create_project("p", domain=DomainRef(name="Nowhere"))
        with pytest.raises(errors.NotFound, match="no role 'superuser'"):
            service.assign_role(admin_ref(), ProjectRef(id=boot.admin.project_id), "superuser")
        with pytest.raises(errors.NotFound, match="no user"):
            service.get_user(UserRef(id="missing"))
        with pytest.raises(errors.NotFound, match="does not hold"):
            service.unassign_role(admin_ref(), ProjectRef(id=boot.demo.project_id), "admin")

    @pytest.mark.parametrize(
        "call",
        [
            lambda s: s.create_user("", "pw"),
            lambda s: s.create_user("x" * 256, "pw"),
            lambda s: s.create_user("bob", ""),
            lambda s: s.create_user("bob", "p" * 4097),
            lambda s: s.create_project("  "),
            lambda s: s.add_implied_role("admin", "admin"),
        ],
    )
    def test_invalid_arguments(
        self, service: IdentityService, boot: BootstrapResult, call: Any
    ) -> None:
        with pytest.raises(errors.InvalidArgument) as info:
            call(service)
        assert info.value.http_status == 400

    def test_delete_user_and_project_remove_their_tokens(
        self, service: IdentityService, boot: BootstrapResult
    ) -> None:
        demo = UserRef(name="demo", domain=DEFAULT_DOMAIN)
        token = service.authenticate_password(demo, "demo-secret").id
        service.delete_project(ProjectRef(name="demo", domain=DEFAULT_DOMAIN))
        with pytest.raises(InvalidToken):
            service.validate_token(token)
        assert service.get_user(demo).default_project_id is None
        service.delete_user(demo)
        with pytest.raises(errors.NotFound):
            service.get_user(demo)
        assert [p.name for p in service.list_projects()] == ["admin"]


class TestIdentityServiceSQLite(IdentityServiceContract):
    @pytest.fixture
    def db_url(self, tmp_path: Path) -> str:
        return default_url(tmp_path)

    def test_default_argon2_profile_round_trips(self, db: Database) -> None:
        service = IdentityService(db)  # argon2-cffi's default parameters
        bootstrap(service, admin_password="pw-admin")
        assert service.authenticate_password(admin_ref(), "pw-admin").data.is_admin


class TestKeystoneRequestBodies:
    """``IdentityService.authenticate(body)``: the shapes the real clients send (CLIENTS.md)."""

    @pytest.fixture
    def service(self, tmp_path: Path) -> Iterator[IdentityService]:
        with Database(default_url(tmp_path)) as db:
            db.upgrade()
            service = IdentityService(db, hasher=FAST_HASHER)
            bootstrap(service, admin_password="admin-secret", demo_password="demo-secret")
            yield service

    @staticmethod
    def password_body(user: dict[str, Any], scope: Any = None) -> dict[str, Any]:
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": user}}}
        if scope is not None:
            auth["scope"] = scope
        return {"auth": auth}

    def test_cli_form_domain_ids(self, service: IdentityService) -> None:
        body = self.password_body(
            {"name": "admin", "domain": {"id": "default"}, "password": "admin-secret"},
            {"project": {"name": "admin", "domain": {"id": "default"}}},
        )
        assert service.authenticate(body).data.is_admin

    def test_tempest_form_domain_names(self, service: IdentityService) -> None:
        body = self.password_body(
            {"name": "demo", "domain": {"name": "Default"}, "password": "demo-secret"},
            {"project": {"name": "demo", "domain": {"name": "Default"}}},
        )
        assert service.authenticate(body).data.role_names == {"member", "reader"}

    def test_token_method_and_explicit_unscoped(self, service: IdentityService) -> None:
        first = service.authenticate(
            self.password_body(
                {"name": "admin", "domain": {"id": "default"}, "password": "admin-secret"}
            )
        )
        body = {"auth": {"identity": {"methods": ["token"], "token": {"id": first.id}}}}
        again = service.authenticate(body)
        assert again.data.project_id == first.data.project_id
        body["auth"]["scope"] = "unscoped"
        assert service.authenticate(body).data.project is None

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ([], "'auth' must be a JSON object"),
            ({"auth": {}}, "'auth.identity' must be a JSON object"),
            ({"auth": {"identity": {"methods": "password"}}}, "methods' must be a non-empty"),
            ({"auth": {"identity": {"methods": ["password"]}}}, "identity.password' must be"),
            (
                {
                    "auth": {
                        "identity": {"methods": ["password"], "password": {"user": {"id": "x"}}}
                    }
                },
                "user.password' must be a string",
            ),
            ({"auth": {"identity": {"methods": ["token"], "token": {}}}}, "token.id' must be"),
        ],
    )
    def test_malformed_bodies_name_the_field(
        self, service: IdentityService, body: Any, message: str
    ) -> None:
        with pytest.raises(errors.InvalidArgument, match=message) as info:
            service.authenticate(body)
        assert info.value.http_status == 400

    def test_unsupported_methods_and_scopes_are_401(self, service: IdentityService) -> None:
        user = {"name": "admin", "domain": {"id": "default"}, "password": "admin-secret"}
        with pytest.raises(errors.AuthenticationFailed, match="scope the token to a project"):
            service.authenticate(self.password_body(user, {"domain": {"id": "default"}}))
        body = {"auth": {"identity": {"methods": ["totp"], "totp": {}}}}
        with pytest.raises(errors.AuthenticationFailed, match="use 'password' or 'token'"):
            service.authenticate(body)
