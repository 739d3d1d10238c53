"""The identity service and bootstrap on a real PostgreSQL: the SQLite test bodies, reused."""

from __future__ import annotations

import pytest

from tests.unit.services.identity.test_bootstrap import BootstrapContract
from tests.unit.services.identity.test_service import IdentityServiceContract


class TestIdentityServicePostgres(IdentityServiceContract):
    @pytest.fixture
    def db_url(self, pg_url: str) -> str:
        return pg_url


class TestBootstrapPostgres(BootstrapContract):
    @pytest.fixture
    def db_url(self, pg_url: str) -> str:
        return pg_url
