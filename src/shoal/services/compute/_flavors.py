"""Flavors (Nova's ``flavor_manage``, ``flavors``, ``flavor_extra_specs`` and
``flavor_access`` rules), kept in :mod:`._models`.

- Everyone lists and shows flavors: a non-admin sees the public, enabled ones and the
  private ones shared with its project; an admin sees all (``is_public=None``) or filters
  on ``is_public``. Lists are sorted (``flavorid`` ascending by default) and paged
  (``marker`` is a flavorid; an unknown one is 400 as in Nova).
- Admins create (``id`` optional: a UUID is made; ``name`` and ``flavorid`` unique: 409),
  delete, change the description (2.55), edit extra specs and share private flavors with
  projects (``addTenantAccess``; a public flavor has no access list: 409/403 as Nova).
- :data:`DEFAULT_FLAVORS` are upstream's five ``m1`` flavors (ids 1 to 5), made once on
  first start by :meth:`Flavors.seed_defaults`.

Messages are Nova's (``Flavor 42 could not be found.``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.compute import policy
from shoal.services.compute._models import Flavor, FlavorExtraSpec, FlavorProject
from shoal.services.volume.policy import CallerLike

__all__ = ["DEFAULT_FLAVORS", "FlavorRecord", "Flavors", "NewFlavor"]

#: Upstream's default flavors: (flavorid, name, MiB of RAM, vCPUs, GiB of root disk).
DEFAULT_FLAVORS: Final = (
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
    ("3", "m1.medium", 4096, 2, 40),
    ("4", "m1.large", 8192, 4, 80),
    ("5", "m1.xlarge", 16384, 8, 160),
)
#: Columns a list may be sorted by (Nova's ``VALID_SORT_KEYS`` that shoal keeps).
SORT_KEYS: Final = ("created_at", "description", "disabled", "ephemeral_gb", "flavorid",
                    "id", "is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap",
                    "updated_at", "vcpus")


@dataclass(frozen=True)
class FlavorRecord:
    """A flavor as the API shows it (sizes: MiB of RAM and swap, GiB of disks)."""

    flavorid: str
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int
    swap: int
    rxtx_factor: float
    is_public: bool
    disabled: bool
    description: str | None
    extra_specs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewFlavor:
    """What a create asks for (validated by the API's schema: sizes are integers)."""

    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    flavorid: str | None = None
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None


@dataclass(frozen=True)
class FlavorQuery:
    """A list request: ``is_public`` None lists public and private (admins only);
    ``min_memory_mb``/``min_root_gb`` bound the sizes; ``limit`` None: all."""

    is_public: bool | None = True
    min_memory_mb: int | None = None
    min_root_gb: int | None = None
    name: str | None = None
    sort_key: str = "flavorid"
    sort_dir: str = "asc"
    limit: int | None = None
    marker: str | None = None


def _not_found(flavorid: str) -> errors.NotFound:
    return errors.NotFound(f"Flavor {flavorid} could not be found.")


def _record(row: Flavor) -> FlavorRecord:
    return FlavorRecord(row.flavorid, row.name, row.memory_mb, row.vcpus, row.root_gb,
                        row.ephemeral_gb, row.swap, row.rxtx_factor, row.is_public,
                        row.disabled, row.description,
                        {s.key: s.value for s in row.extra_specs})


class Flavors:
    """Flavors of one deployment (see the module doc)."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now

    def seed_defaults(self) -> int:
        """Create :data:`DEFAULT_FLAVORS` if no flavor exists yet; returns how many were
        made (0 on every later start, even if an admin deleted some)."""
        with self.db.session() as session:
            if session.execute(select(Flavor.id).limit(1)).first() is not None:
                return 0
            for flavorid, name, ram, vcpus, disk in DEFAULT_FLAVORS:
                session.add(self._row(NewFlavor(name, ram, vcpus, disk, flavorid)))
        return len(DEFAULT_FLAVORS)

    def _row(self, new: NewFlavor) -> Flavor:
        return Flavor(flavorid=new.flavorid or str(uuid.uuid4()), name=new.name,
                      memory_mb=new.memory_mb, vcpus=new.vcpus, root_gb=new.root_gb,
                      ephemeral_gb=new.ephemeral_gb, swap=new.swap,
                      rxtx_factor=new.rxtx_factor, is_public=new.is_public, disabled=False,
                      description=new.description, created_at=self.now())

    # --- reading -------------------------------------------------------------------------
    def _visible(self, session: Session, caller: CallerLike, flavorid: str) -> Flavor:
        row = session.execute(select(Flavor).where(Flavor.flavorid == flavorid)
                              ).scalar_one_or_none()
        if row is None or not _may_use(caller, row):
            raise _not_found(flavorid)
        return row

    def get(self, caller: CallerLike, flavorid: str) -> FlavorRecord:
        """One flavor (404 when absent, or private and not shared with the caller).

        Nova shows a disabled flavor by id (servers keep their flavors)."""
        with self.db.session(readonly=True) as session:
            return _record(self._visible(session, caller, flavorid))

    def list_flavors(self, caller: CallerLike, query: FlavorQuery) -> list[FlavorRecord]:
        """The flavors ``query`` selects, sorted and paged (see the module doc).

        Raises:
            InvalidArgument: an unknown sort key or direction, or a marker that names
                no listed flavor (400).
        """
        if query.sort_key not in SORT_KEYS or query.sort_dir not in ("asc", "desc"):
            raise errors.InvalidArgument(
                f"Invalid sort: {query.sort_key} {query.sort_dir}")
        with self.db.session(readonly=True) as session:
            rows = [r for r in session.execute(select(Flavor)).scalars()
                    if _listed(caller, r, query)]
        rows.sort(key=lambda r: (_sort_value(r, query.sort_key), r.flavorid),
                  reverse=query.sort_dir == "desc")
        if query.marker is not None:
            at = next((i for i, r in enumerate(rows) if r.flavorid == query.marker), None)
            if at is None:
                raise errors.InvalidArgument(f"marker [{query.marker}] not found")
            rows = rows[at + 1:]
        if query.limit is not None:
            rows = rows[:query.limit]
        return [_record(r) for r in rows]

    # --- admin ---------------------------------------------------------------------------
    def create(self, caller: CallerLike, new: NewFlavor) -> FlavorRecord:
        """Create a flavor (admins).

        Raises:
            PolicyNotAuthorized: not an admin (403).
            AlreadyExists: the name or the id is taken (409, Nova's words).
        """
        policy.authorize(caller, "os_compute_api:os-flavor-manage:create")
        with self.db.session() as session:
            if session.execute(select(Flavor.id).where(Flavor.name == new.name)).first():
                raise errors.AlreadyExists(f"Flavor with name {new.name} already exists.")
            if new.flavorid is not None and session.execute(
                    select(Flavor.id).where(Flavor.flavorid == new.flavorid)).first():
                raise errors.AlreadyExists(f"Flavor with ID {new.flavorid} already exists.")
            row = self._row(new)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # a concurrent create took the name or id
                raise errors.AlreadyExists(
                    f"Flavor with name {new.name} already exists.") from None
            return _record(row)

    def delete(self, caller: CallerLike, flavorid: str) -> None:
        """Delete a flavor (admins); servers keep their copy of its sizes.

        Raises:
            PolicyNotAuthorized: not an admin (403). NotFound: no such flavor (404).
        """
        policy.authorize(caller, "os_compute_api:os-flavor-manage:delete")
        with self.db.session() as session:
            session.delete(self._visible(session, caller, flavorid))

    def update_description(self, caller: CallerLike, flavorid: str,
                           description: str | None) -> FlavorRecord:
        """Set the description (2.55, admins)."""
        policy.authorize(caller, "os_compute_api:os-flavor-manage:update")
        with self.db.session() as session:
            row = self._visible(session, caller, flavorid)
            row.description = description
            row.updated_at = self.now()
            session.flush()
            return _record(row)

    # --- extra specs -------------------------------------------------------------------
    def extra_specs(self, caller: CallerLike, flavorid: str) -> dict[str, str]:
        """The flavor's extra specs (everyone who sees the flavor)."""
        return dict(self.get(caller, flavorid).extra_specs)

    def set_extra_specs(self, caller: CallerLike, flavorid: str,
                        specs: Mapping[str, str]) -> dict[str, str]:
        """Add or replace ``specs`` (admins); returns the specs given, as Nova answers."""
        policy.authorize(caller, "os_compute_api:os-flavor-extra-specs:create")
        with self.db.session() as session:
            row = self._visible(session, caller, flavorid)
            current = {s.key: s for s in row.extra_specs}
            for key, value in specs.items():
                if key in current:
                    current[key].value = value
                else:
                    row.extra_specs.append(FlavorExtraSpec(key=key, value=value))
            row.updated_at = self.now()
        return dict(specs)

    def delete_extra_spec(self, caller: CallerLike, flavorid: str, key: str) -> None:
        """Remove one key (admins); 404 naming the key when the flavor has none such."""
        policy.authorize(caller, "os_compute_api:os-flavor-extra-specs:delete")
        with self.db.session() as session:
            row = self._visible(session, caller, flavorid)
            spec = next((s for s in row.extra_specs if s.key == key), None)
            if spec is None:
                raise errors.NotFound(
                    f"Flavor {flavorid} has no extra specs with key {key}.")
            row.extra_specs.remove(spec)
            row.updated_at = self.now()

    # --- access --------------------------------------------------------------------------
    def access(self, caller: CallerLike, flavorid: str) -> list[str]:
        """The projects a private flavor is shared with (admins).

        Raises:
            NotFound: no such flavor, or it is public: "Access list not available for
                public flavors." (404, as Nova).
        """
        policy.authorize(caller, "os_compute_api:os-flavor-access")
        with self.db.session(readonly=True) as session:
            row = self._visible(session, caller, flavorid)
            if row.is_public:
                raise errors.NotFound("Access list not available for public flavors.")
            return [p.project_id for p in row.projects]

    def change_access(self, caller: CallerLike, flavorid: str, project_id: str, *,
                      add: bool) -> list[str]:
        """Share (``add``) or stop sharing a private flavor with a project (admins);
        returns the access list.

        Raises:
            AlreadyExists: the flavor is public ("Can not add access to a public flavor.") or
                the project has access already (409).
            NotFound: removing access the project does not have (404).
        """
        action = "add_tenant_access" if add else "remove_tenant_access"
        policy.authorize(caller, f"os_compute_api:os-flavor-access:{action}")
        with self.db.session() as session:
            row = self._visible(session, caller, flavorid)
            have = next((p for p in row.projects if p.project_id == project_id), None)
            if add:
                if row.is_public:
                    raise errors.AlreadyExists("Can not add access to a public flavor.")
                if have is not None:
                    raise errors.AlreadyExists(f"Flavor access already exists for flavor "
                                          f"{flavorid} and project {project_id} combination.")
                row.projects.append(FlavorProject(project_id=project_id))
            else:
                if have is None:
                    raise errors.NotFound(f"Flavor access not found for {flavorid} / "
                                          f"{project_id} combination.")
                row.projects.remove(have)
            session.flush()
            return [p.project_id for p in row.projects]


def _may_use(caller: CallerLike, row: Flavor) -> bool:
    return row.is_public or policy.is_admin(caller) or any(
        p.project_id == caller.project_id for p in row.projects)


def _listed(caller: CallerLike, row: Flavor, query: FlavorQuery) -> bool:
    if policy.is_admin(caller):
        if query.is_public is not None and row.is_public != query.is_public:
            return False
    elif row.disabled or not _may_use(caller, row):
        return False
    if query.min_memory_mb is not None and row.memory_mb < query.min_memory_mb:
        return False
    if query.min_root_gb is not None and row.root_gb < query.min_root_gb:
        return False
    return query.name is None or row.name == query.name


def _sort_value(row: Flavor, key: str) -> tuple[int, object]:
    value = getattr(row, key)
    if key == "flavorid":
        # Nova's column sorts as text; ids that are numbers sort as numbers here so
        # that 1..5 precede 10 (the SDK and Tempest only need a stable order)
        return (0, int(value)) if str(value).isdigit() else (1, str(value))
    return (0, value) if value is not None else (1, "")

