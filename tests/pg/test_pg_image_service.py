"""The image service on a real PostgreSQL: the SQLite test bodies, reused."""

from __future__ import annotations

import pytest

from tests.unit.services.image.test_service import ImageServiceContract


class TestImageServicePostgres(ImageServiceContract):
    @pytest.fixture
    def db_url(self, pg_url: str) -> str:
        return pg_url
