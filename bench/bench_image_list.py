"""Listing images: ``GET /v2/images`` in SQL vs the former every-record-in-Python path.

One run, side by side, on one temporary SQLite database holding ``--count`` image records
(10,000 by default) made through :class:`ImageService` (20 projects; public, private,
shared with accepted members and community images; a quarter qcow2, some tagged):

- **sql**: what the route does now, :meth:`ImageService.list_images` (filters, order,
  limit and marker in one SELECT);
- **python**: what it did before (commit 5295f29): :meth:`ImageService.all` +
  :meth:`ImageService.memberships`, then :func:`shoal.api.glance.query.apply_query`.

Both answer the same caller (a member of one project, not admin) the same queries (the
bench checks the pages are equal): the first page (``limit=25``), a filtered page
(``disk_format=qcow2&sort=name:asc&limit=25``) and paging through everything with
``limit=1000`` (api_limit_max). Figures are medians over ``--rounds`` in seconds, and
ratios python / sql (how many times faster the SQL path is).

    .venv/bin/python bench/bench_image_list.py [--count 10000] [--rounds 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from shoal.api.glance.options import DEFAULT_OPTIONS
from shoal.api.glance.query import ImageQuery, apply_query, parse_query
from shoal.db import Database
from shoal.services import Caller
from shoal.services.image import ImageRecord, ImageService, ImageServiceOptions
from shoal.services.image.store import RbdStore

PROJECTS = 20
CALLER = Caller("bench-user", "project-0", frozenset({"member", "reader"}))
QUERIES: dict[str, list[tuple[str, str]]] = {
    "first_page": [("limit", "25")],
    "filtered_page": [("disk_format", "qcow2"), ("sort", "name:asc"), ("limit", "25")],
}
WALK_LIMIT = "1000"
_VISIBILITIES = ("public", "private", "shared", "community")
_BASE = datetime(2026, 1, 1, tzinfo=UTC)

Lister = Callable[[ImageService, ImageQuery], tuple[list[ImageRecord], str | None]]


def _sql(service: ImageService, query: ImageQuery) -> tuple[list[ImageRecord], str | None]:
    return service.list_images(CALLER, query)


def _python(service: ImageService, query: ImageQuery
            ) -> tuple[list[ImageRecord], str | None]:
    records = service.all()
    memberships = service.memberships(CALLER.project_id)
    return apply_query(records, query, project_id=CALLER.project_id, is_admin=False,
                       memberships=memberships)


def populate(service: ImageService, count: int) -> None:
    """``count`` images over :data:`PROJECTS` projects, each shared one with the caller's
    project as an accepted member."""
    for n in range(count):
        owner = Caller(f"user-{n % PROJECTS}", f"project-{n % PROJECTS}",
                       frozenset({"member"}))
        visibility = _VISIBILITIES[n % len(_VISIBILITIES)]
        at = _BASE + timedelta(seconds=n)
        record = ImageRecord(
            id=f"{n:08x}-0000-4000-8000-000000000000", status="active", created_at=at,
            updated_at=at, name=f"image-{n % 997}", visibility=visibility,
            owner=owner.project_id, disk_format="qcow2" if n % 4 == 0 else "raw",
            container_format="bare", size=n * 1024, tags=("bench",) if n % 10 == 0 else ())
        service.create(owner, record)
        if visibility == "shared" and owner.project_id != CALLER.project_id:
            service.add_member(owner, record.id, str(CALLER.project_id),
                               lambda current, members: None)
            service.update_member(CALLER, record.id, str(CALLER.project_id), "accepted",
                                  lambda current, member: None)


def _page_ids(lister: Lister, *, service: ImageService, params: list[tuple[str, str]]
              ) -> list[str]:
    """The ids of the one page ``params`` asks for."""
    return [r.id for r in lister(service, parse_query(params, DEFAULT_OPTIONS))[0]]


def _walk(lister: Lister, *, service: ImageService) -> list[str]:
    """Every id the caller lists, page by page."""
    ids: list[str] = []
    marker: str | None = None
    while True:
        params = [("limit", WALK_LIMIT)] + ([("marker", marker)] if marker else [])
        page, marker = lister(service, parse_query(params, DEFAULT_OPTIONS))
        ids += [r.id for r in page]
        if marker is None:
            return ids


def _median(action: Callable[[], object], rounds: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(rounds):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def run(count: int, rounds: int, base: Path) -> dict[str, float]:
    """Median seconds of each case on both paths, and their ratios (python / sql)."""
    with Database(f"sqlite:///{base / 'bench.db'}") as db:
        db.upgrade()
        # Listing and creating records never touch the store.
        service = ImageService(db, cast(RbdStore, None), ImageServiceOptions(spool_dir=base),
                               owner="bench", owner_gone=lambda owner: False)
        began = time.perf_counter()
        populate(service, count)
        out: dict[str, float] = {"images": float(count),
                                 "populate_s": time.perf_counter() - began}
        cases: dict[str, Callable[[Lister], object]] = {
            name: functools.partial(_page_ids, service=service, params=params)
            for name, params in QUERIES.items()
        }
        cases["walk_all"] = functools.partial(_walk, service=service)
        for name, case in cases.items():
            sql_s, sql_result = _median(functools.partial(case, _sql), rounds)
            python_s, python_result = _median(functools.partial(case, _python), rounds)
            assert sql_result == python_result, f"{name}: the two paths disagree"
            out[f"{name}_sql_s"] = sql_s
            out[f"{name}_python_s"] = python_s
            out[f"{name}_ratio"] = python_s / sql_s
        out["listed"] = float(len(_walk(_sql, service=service)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-image-list-", dir=args.dir) as tmp:
        out = run(args.count, args.rounds, Path(tmp))
    print(json.dumps({k: round(v, 4) for k, v in out.items()}, indent=2))


if __name__ == "__main__":
    main()
