"""The image service (and its SQL listing) on a real PostgreSQL: the SQLite test bodies,
reused."""

from __future__ import annotations

import pytest

from tests.unit.services.image.test_listing import ListingContract
from tests.unit.services.image.test_service import ImageServiceContract


class TestImageServicePostgres(ImageServiceContract):
    @pytest.fixture
    def db_url(self, pg_url: str) -> str:
        return pg_url


class TestListingPostgres(ListingContract):
    """GET /v2/images in PostgreSQL's SQL (code-point order, NULLS FIRST/LAST) against
    the Python reference."""

    @pytest.fixture
    def db_url(self, pg_url: str) -> str:
        return pg_url
