"""bootstrap(): idempotent, race-safe. ``BootstrapContract`` also runs on PostgreSQL (tests/pg)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shoal.db import Database, default_url
from shoal.db._migrate import heads
from shoal.services.identity import (
    DEFAULT_DOMAIN,
    DomainRef,
    IdentityService,
    ProjectRef,
    UserRef,
    bootstrap,
)
from shoal.services.identity.models import (
    Domain,
    ImpliedRole,
    Project,
    Role,
    RoleAssignment,
    User,
)
from tests.unit.services.identity.test_service import FAST_HASHER

REPO_ROOT = Path(__file__).resolve().parents[4]
PROCESSES = 4
PROCESS_TIMEOUT_S = 120

# Runs in each racing process: wait for the go file, then migrate and bootstrap.
WORKER = """
import json, os, sys, time
from argon2 import PasswordHasher
from shoal.db import Database
from shoal.services.identity import IdentityService, bootstrap
url, ready, go = sys.argv[1:4]
open(ready, "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("no go signal within 60 s")
    time.sleep(0.001)
db = Database(url)
db.upgrade()
service = IdentityService(db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
result = bootstrap(service)
print(json.dumps({
    "admin": [result.admin.user_id, result.admin.created, result.admin.password],
    "demo": [result.demo.user_id, result.demo.created, result.demo.password],
}))
"""


def row_counts(db: Database) -> dict[str, int]:
    with db.session(readonly=True) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Domain, Role, ImpliedRole, Project, User, RoleAssignment)
        }


EXPECTED_COUNTS = {
    "identity_domains": 1,
    "identity_roles": 3,
    "identity_implied_roles": 2,
    "identity_projects": 2,
    "identity_users": 2,
    "identity_role_assignments": 2,
}


class BootstrapContract:
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
    def service(self, db: Database) -> IdentityService:
        return IdentityService(db, hasher=FAST_HASHER)

    def test_first_run_creates_everything_with_generated_passwords(
        self, service: IdentityService, db: Database
    ) -> None:
        result = bootstrap(service)
        assert row_counts(db) == EXPECTED_COUNTS
        assert result.admin.created and result.demo.created
        assert result.admin.password and result.demo.password
        assert result.admin.password != result.demo.password
        assert result.admin.password not in repr(result)
        domain = service.get_domain(DomainRef(id="default"))
        assert (domain.id, domain.name, domain.enabled) == ("default", "Default", True)
        admin = service.authenticate_password(
            UserRef(name="admin", domain=DEFAULT_DOMAIN),
            result.admin.password,
            ProjectRef(name="admin", domain=DEFAULT_DOMAIN),
        )
        assert admin.data.user.id == result.admin.user_id
        assert sorted(admin.data.role_names) == ["admin", "member", "reader"]
        demo = service.authenticate_password(UserRef(id=result.demo.user_id), result.demo.password)
        assert demo.data.project_id == result.demo.project_id
        assert sorted(demo.data.role_names) == ["member", "reader"]

    def test_second_run_reuses_everything(self, service: IdentityService, db: Database) -> None:
        first = bootstrap(service)
        second = bootstrap(service)
        assert row_counts(db) == EXPECTED_COUNTS
        assert (second.admin.user_id, second.admin.project_id) == (
            first.admin.user_id,
            first.admin.project_id,
        )
        assert not second.admin.created and second.admin.password is None
        assert first.admin.password is not None
        assert service.check_password(UserRef(id=first.admin.user_id), first.admin.password)

    def test_given_password_resets_and_user_is_repaired(
        self, service: IdentityService, db: Database
    ) -> None:
        first = bootstrap(service, admin_password="one")
        admin = UserRef(id=first.admin.user_id)
        service.update_user(admin, enabled=False)
        service.unassign_role(admin, ProjectRef(id=first.admin.project_id), "admin")
        second = bootstrap(service, admin_password="two")
        assert second.admin.password == "two" and not second.admin.created
        assert service.check_password(admin, "two")
        assert not service.check_password(admin, "one")
        assert service.get_user(admin).enabled
        assert service.authenticate_password(admin, "two").data.is_admin
        assert row_counts(db) == EXPECTED_COUNTS

    def test_concurrent_processes_create_no_duplicates(self, db_url: str, tmp_path: Path) -> None:
        go = tmp_path / "go"
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, db_url, str(tmp_path / f"ready{i}"), str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=REPO_ROOT,
            )
            for i in range(PROCESSES)
        ]
        try:
            deadline = time.monotonic() + PROCESS_TIMEOUT_S
            while not all((tmp_path / f"ready{i}").exists() for i in range(PROCESSES)):
                assert time.monotonic() < deadline, "workers never became ready"
                assert all(p.poll() is None for p in procs), "a worker died before the race"
                time.sleep(0.01)
            go.touch()
            outputs = [p.communicate(timeout=PROCESS_TIMEOUT_S) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for p, (_out, err) in zip(procs, outputs, strict=True):
            assert p.returncode == 0, err
        results = [json.loads(out) for out, _err in outputs]
        for who in ("admin", "demo"):
            assert len({r[who][0] for r in results}) == 1  # one user id for everyone
            creators = [r[who] for r in results if r[who][1]]
            assert len(creators) == 1  # exactly one process created it ...
            assert all(r[who][2] is None for r in results if not r[who][1])  # ... and knows it
        with Database(db_url) as db:
            assert db.current_revision() == heads()[0]
            assert row_counts(db) == EXPECTED_COUNTS
            service = IdentityService(db, hasher=FAST_HASHER)
            admin_id, _created, password = next(r["admin"] for r in results if r["admin"][1])
            assert service.authenticate_password(UserRef(id=admin_id), password).data.is_admin


class TestBootstrapSQLite(BootstrapContract):
    @pytest.fixture
    def db_url(self, tmp_path: Path) -> str:
        return default_url(tmp_path)
