"""Lookups inside a session: refs to rows, effective roles (with implications)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.services.identity._refs import DomainRef, ProjectRef, UserRef
from shoal.services.identity._types import (
    DomainInfo,
    NamedRecord,
    ProjectInfo,
    RoleInfo,
    UserInfo,
)
from shoal.services.identity.models import (
    Domain,
    ImpliedRole,
    Project,
    Role,
    RoleAssignment,
    User,
)

__all__ = [
    "assignment_key",
    "domain",
    "domain_info",
    "effective_roles",
    "implied_closure",
    "named",
    "of_domain",
    "project",
    "project_info",
    "role",
    "user",
    "user_info",
]

_InDomainT = TypeVar("_InDomainT", Project, User)


def domain(session: Session, ref: DomainRef) -> Domain:
    """The domain ``ref`` names. Raises NotFound."""
    if ref.id is not None:
        row = session.get(Domain, ref.id)
    else:
        row = session.scalars(select(Domain).where(Domain.name == ref.name)).first()
    if row is None:
        raise errors.NotFound(f"no {ref}")
    return row


def _in_domain(
    session: Session, model: type[_InDomainT], ref: ProjectRef | UserRef
) -> _InDomainT:
    """The ``model`` row (a project or user) ``ref`` names: by id, else by name in its
    domain. Raises NotFound (also for an unknown domain)."""
    if ref.id is not None:
        row = session.get(model, ref.id)
    else:
        assert ref.domain is not None
        dom = domain(session, ref.domain)
        query = select(model).where(model.domain_id == dom.id, model.name == ref.name)
        row = session.scalars(query).first()
    if row is None:
        raise errors.NotFound(f"no {ref}")
    return row


def project(session: Session, ref: ProjectRef) -> Project:
    """The project ``ref`` names. Raises NotFound (also for an unknown domain)."""
    return _in_domain(session, Project, ref)


def user(session: Session, ref: UserRef) -> User:
    """The user ``ref`` names. Raises NotFound (also for an unknown domain)."""
    return _in_domain(session, User, ref)


def of_domain(
    session: Session, model: type[_InDomainT], domain_ref: DomainRef | None
) -> Sequence[_InDomainT]:
    """Every ``model`` row (projects or users), only those of the domain ``domain_ref``
    names if given, sorted by name then id. Raises NotFound (unknown domain)."""
    query = select(model).order_by(model.name, model.id)
    if domain_ref is not None:
        query = query.where(model.domain_id == domain(session, domain_ref).id)
    return session.scalars(query).all()


def role(session: Session, id_or_name: str) -> Role:
    """The role with that id, else that name. Raises NotFound."""
    row = session.get(Role, id_or_name)
    if row is None:
        row = session.scalars(select(Role).where(Role.name == id_or_name)).first()
    if row is None:
        raise errors.NotFound(f"no role {id_or_name!r}")
    return row


def assignment_key(
    session: Session, user_ref: UserRef, project_ref: ProjectRef, role_ref: str
) -> tuple[str, str, str]:
    """(user id, project id, role id) of a role assignment, the primary key of
    :class:`RoleAssignment`; ``role_ref`` is a role id or name. Raises NotFound."""
    return (
        user(session, user_ref).id,
        project(session, project_ref).id,
        role(session, role_ref).id,
    )


def implied_closure(session: Session, role_ids: Iterable[str]) -> set[str]:
    """``role_ids`` plus every role they imply, transitively (cycles are harmless)."""
    edges: dict[str, list[str]] = {}
    for prior, implied in session.execute(
        select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)
    ):
        edges.setdefault(prior, []).append(implied)
    result: set[str] = set()
    pending = list(role_ids)
    while pending:
        current = pending.pop()
        if current in result:
            continue
        result.add(current)
        pending.extend(edges.get(current, ()))
    return result


def effective_roles(session: Session, user_id: str, project_id: str) -> tuple[RoleInfo, ...]:
    """The roles ``user_id`` holds on ``project_id``, implied ones included, sorted by name."""
    direct = session.scalars(
        select(RoleAssignment.role_id).where(
            RoleAssignment.user_id == user_id, RoleAssignment.project_id == project_id
        )
    ).all()
    if not direct:
        return ()
    ids = implied_closure(session, direct)
    rows = session.scalars(select(Role).where(Role.id.in_(ids))).all()
    return tuple(sorted((RoleInfo(r.id, r.name) for r in rows), key=lambda r: r.name))


def named(session: Session, row: User | Project) -> NamedRecord:
    """A user or project with its domain's name, as tokens show them."""
    dom = session.get(Domain, row.domain_id)
    assert dom is not None  # foreign key
    return NamedRecord(row.id, row.name, dom.id, dom.name)


def domain_info(row: Domain) -> DomainInfo:
    return DomainInfo(row.id, row.name, row.description, row.enabled)


def project_info(row: Project) -> ProjectInfo:
    return ProjectInfo(row.id, row.name, row.domain_id, row.description, row.enabled)


def user_info(row: User) -> UserInfo:
    return UserInfo(row.id, row.name, row.domain_id, row.enabled, row.default_project_id)
