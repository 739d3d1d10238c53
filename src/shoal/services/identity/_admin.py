"""Directory administration over :class:`IdentityService`: what Keystone's admin API needs
beyond the service's own calls (filtered listings, updates, grants by id, effective
assignments, self-service password change).

Everything here addresses objects by id, as the HTTP API does, and a missing object is
:class:`shoal.errors.NotFound` with Keystone's wording (``Could not find project: <id>.``).
A role is found by its id only (never by name, unlike :meth:`IdentityService.get_role`).

Changing a user's password (by an administrator or by the user) or disabling a user revokes
every token of that user; disabling a project revokes every token scoped to it (as Keystone
does), so enabling it again does not bring old tokens back.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session

from shoal import errors
from shoal.services.identity import _resolve
from shoal.services.identity._bootstrap import generate_password
from shoal.services.identity._refs import DomainRef, ProjectRef, UserRef
from shoal.services.identity._service import IdentityService, _check_name
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
    Token,
    User,
)

__all__ = ["UNCHANGED", "AssignmentInfo", "IdentityAdmin", "Unchanged"]

_RowT = TypeVar("_RowT", Domain, Project, User, Role)
_SelectedT = TypeVar("_SelectedT")
_InDomainT = TypeVar("_InDomainT", Project, User)
_InfoT = TypeVar("_InfoT")


class Unchanged(enum.Enum):
    """Marks an update argument that was not given (``None`` may be a value to set)."""

    UNCHANGED = "unchanged"


#: The value of an update argument left as it is.
UNCHANGED: Final = Unchanged.UNCHANGED


@dataclass(frozen=True)
class AssignmentInfo:
    """``user`` holds ``role`` on ``project``.

    ``prior_role_id`` is None for a direct assignment; for an effective one it is the
    directly assigned role that implies ``role`` (transitively).
    """

    user: NamedRecord
    project: NamedRecord
    role: RoleInfo
    prior_role_id: str | None = None


def _missing(kind: str, id: str) -> errors.NotFound:
    return errors.NotFound(f"Could not find {kind}: {id}.")


def _get(session: Session, model: type[_RowT], kind: str, id: str) -> _RowT:
    row = session.get(model, id)
    if row is None:
        raise _missing(kind, id)
    return row


def _where_given(
    query: Select[_SelectedT], *filters: tuple[QueryableAttribute[Any], object]
) -> Select[_SelectedT]:
    """``query`` narrowed to ``column == value`` for each ``(column, value)`` whose value
    is not None (None: that filter was not given)."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def _flush(session: Session, what: str) -> None:
    """Write pending changes now, so that a uniqueness conflict is an AlreadyExists."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise errors.AlreadyExists(f"{what} already exists") from exc


class IdentityAdmin:
    """Administrative operations on ``service``'s directory (same database, same hasher).

    Every method opens its own transaction; all are synchronous (call them from a thread
    in async code).
    """

    def __init__(self, service: IdentityService) -> None:
        self.service = service
        self.db = service.db

    # -----------------------------------------------------------------------------------------
    # lookups by id

    def domain(self, id: str) -> DomainInfo:
        """Raises NotFound."""
        with self.db.session(readonly=True) as session:
            return _resolve.domain_info(_get(session, Domain, "domain", id))

    def project(self, id: str) -> ProjectInfo:
        """Raises NotFound."""
        with self.db.session(readonly=True) as session:
            return _resolve.project_info(_get(session, Project, "project", id))

    def user(self, id: str) -> UserInfo:
        """Raises NotFound."""
        with self.db.session(readonly=True) as session:
            return _resolve.user_info(_get(session, User, "user", id))

    def role(self, id: str) -> RoleInfo:
        """The role with this id (a role name is not accepted). Raises NotFound."""
        with self.db.session(readonly=True) as session:
            row = _get(session, Role, "role", id)
            return RoleInfo(row.id, row.name)

    # -----------------------------------------------------------------------------------------
    # filtered listings (an unknown domain id just matches nothing)

    def find_domains(
        self, *, name: str | None = None, enabled: bool | None = None
    ) -> list[DomainInfo]:
        """Domains with this exact name and/or enabled state, sorted by name."""
        query = _where_given(
            select(Domain).order_by(Domain.name), (Domain.name, name), (Domain.enabled, enabled)
        )
        with self.db.session(readonly=True) as session:
            return [_resolve.domain_info(r) for r in session.scalars(query).all()]

    def find_projects(
        self,
        *,
        name: str | None = None,
        domain_id: str | None = None,
        enabled: bool | None = None,
    ) -> list[ProjectInfo]:
        """Projects matching every given filter, sorted by name."""
        return self._find_in_domain(Project, _resolve.project_info, name, domain_id, enabled)

    def find_users(
        self,
        *,
        name: str | None = None,
        domain_id: str | None = None,
        enabled: bool | None = None,
    ) -> list[UserInfo]:
        """Users matching every given filter, sorted by name."""
        return self._find_in_domain(User, _resolve.user_info, name, domain_id, enabled)

    def _find_in_domain(
        self,
        model: type[_InDomainT],
        info: Callable[[_InDomainT], _InfoT],
        name: str | None,
        domain_id: str | None,
        enabled: bool | None,
    ) -> list[_InfoT]:
        """``info`` of each project or user matching every filter given (None: not
        given), sorted by name then id."""
        query = _where_given(
            select(model).order_by(model.name, model.id),
            (model.name, name),
            (model.domain_id, domain_id),
            (model.enabled, enabled),
        )
        with self.db.session(readonly=True) as session:
            return [info(r) for r in session.scalars(query).all()]

    def find_roles(self, *, name: str | None = None) -> list[RoleInfo]:
        """Roles (with this exact name), sorted by name."""
        query = _where_given(select(Role).order_by(Role.name), (Role.name, name))
        with self.db.session(readonly=True) as session:
            return [RoleInfo(r.id, r.name) for r in session.scalars(query).all()]

    def user_projects(self, user_id: str, *, usable_only: bool = False) -> list[ProjectInfo]:
        """Projects on which the user holds at least one role, sorted by name.

        ``usable_only`` keeps only those it can scope a token to now (the project and
        its domain enabled). Raises NotFound (user).
        """
        with self.db.session(readonly=True) as session:
            _get(session, User, "user", user_id)
            query = (
                select(Project)
                .where(
                    Project.id.in_(
                        select(RoleAssignment.project_id).where(RoleAssignment.user_id == user_id)
                    )
                )
                .order_by(Project.name, Project.id)
            )
            if usable_only:
                query = query.join(Domain, Domain.id == Project.domain_id).where(
                    Project.enabled.is_(True), Domain.enabled.is_(True)
                )
            return [_resolve.project_info(r) for r in session.scalars(query).all()]

    # -----------------------------------------------------------------------------------------
    # creation and updates

    def create_user(
        self,
        name: str,
        password: str | None,
        *,
        domain_id: str,
        default_project_id: str | None = None,
        enabled: bool = True,
    ) -> UserInfo:
        """Create a user. Without ``password`` it gets a random one nobody knows (it cannot
        log in with a password until one is set), as Keystone's password-less users.

        Raises:
            NotFound: the domain or the default project does not exist.
            AlreadyExists: a user of that name exists in the domain.
            InvalidArgument: empty or over-long name or password.
        """
        self.domain(domain_id)
        if default_project_id is not None:
            self.project(default_project_id)
        return self.service.create_user(
            name,
            generate_password() if password is None else password,
            domain=DomainRef(id=domain_id),
            default_project=(
                None if default_project_id is None else ProjectRef(id=default_project_id)
            ),
            enabled=enabled,
        )

    def update_project(
        self,
        id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> ProjectInfo:
        """Change the given attributes (None: keep). Disabling revokes its tokens.

        Raises NotFound, AlreadyExists (name taken in the domain), InvalidArgument (name).
        """
        if name is not None:
            _check_name("project", name)
        with self.db.session() as session:
            row = _get(session, Project, "project", id)
            if name is not None:
                row.name = name
            if description is not None:
                row.description = description
            if enabled is not None:
                row.enabled = enabled
                if not enabled:
                    _revoke_tokens(session, Token.project_id == row.id)
            _flush(session, f"a project named {row.name!r} in domain {row.domain_id!r}")
            return _resolve.project_info(row)

    def update_user(
        self,
        id: str,
        *,
        name: str | None = None,
        enabled: bool | None = None,
        password: str | None = None,
        default_project_id: str | Unchanged | None = UNCHANGED,
    ) -> UserInfo:
        """Change the given attributes (None / UNCHANGED: keep; ``default_project_id=None``
        clears it). A new password, or disabling, revokes the user's tokens.

        Raises NotFound (user or project), AlreadyExists (name taken in the domain),
        InvalidArgument (name or password).
        """
        if name is not None:
            _check_name("user", name)
        password_hash = None if password is None else self.service.passwords.hash(password)
        with self.db.session() as session:
            row = _get(session, User, "user", id)
            if name is not None:
                row.name = name
            if enabled is not None:
                row.enabled = enabled
            if password_hash is not None or enabled is False:
                _revoke_tokens(session, Token.user_id == row.id)
            if not isinstance(default_project_id, Unchanged):
                if default_project_id is not None:
                    _get(session, Project, "project", default_project_id)
                row.default_project_id = default_project_id
            if password_hash is not None:
                row.password_hash = password_hash
            _flush(session, f"a user named {row.name!r} in domain {row.domain_id!r}")
            return _resolve.user_info(row)

    def change_password(self, user_id: str, original_password: str, password: str) -> None:
        """The user's own password change: ``original_password`` must be the current one.
        Revokes the user's tokens.

        Raises:
            AuthenticationFailed: unknown user or wrong original password (not told apart).
            InvalidArgument: the new password is empty or too long.
        """
        self.service.passwords.check_new(password)
        with self.db.session(readonly=True) as session:
            row = session.get(User, user_id)
            current = None if row is None else row.password_hash
        if not self.service.passwords.verify(current, original_password):
            raise errors.AuthenticationFailed(
                "Error when changing user password: the original password is wrong"
            )
        self.update_user(user_id, password=password)

    def delete_role(self, id: str) -> None:
        """Delete a role, its assignments and implications. Raises NotFound."""
        with self.db.session() as session:
            row = _get(session, Role, "role", id)
            session.execute(delete(RoleAssignment).where(RoleAssignment.role_id == id))
            session.execute(
                delete(ImpliedRole).where(
                    (ImpliedRole.prior_role_id == id) | (ImpliedRole.implied_role_id == id)
                )
            )
            session.delete(row)

    # -----------------------------------------------------------------------------------------
    # grants

    def grant(self, user_id: str, project_id: str, role_id: str) -> None:
        """Give the user the role on the project; idempotent. Raises NotFound."""
        self._check_grant_parts(user_id, project_id, role_id)
        self.service.assign_role(UserRef(id=user_id), ProjectRef(id=project_id), role_id)

    def revoke(self, user_id: str, project_id: str, role_id: str) -> None:
        """Take the role away. Raises NotFound (also when it was not granted)."""
        if not self.has_grant(user_id, project_id, role_id):
            raise errors.NotFound(
                f"Could not find role assignment: user {user_id} has no role {role_id}"
                f" on project {project_id}."
            )
        self.service.unassign_role(UserRef(id=user_id), ProjectRef(id=project_id), role_id)

    def has_grant(self, user_id: str, project_id: str, role_id: str) -> bool:
        """Whether the role is assigned directly. Raises NotFound (user, project, role)."""
        self._check_grant_parts(user_id, project_id, role_id)
        with self.db.session(readonly=True) as session:
            return session.get(RoleAssignment, (user_id, project_id, role_id)) is not None

    def granted_roles(self, user_id: str, project_id: str) -> list[RoleInfo]:
        """The roles assigned directly to the user on the project, sorted by name.

        Raises NotFound (user, project).
        """
        with self.db.session(readonly=True) as session:
            _get(session, User, "user", user_id)
            _get(session, Project, "project", project_id)
            query = (
                select(Role)
                .join(RoleAssignment, RoleAssignment.role_id == Role.id)
                .where(RoleAssignment.user_id == user_id, RoleAssignment.project_id == project_id)
                .order_by(Role.name)
            )
            return [RoleInfo(r.id, r.name) for r in session.scalars(query).all()]

    def assignments(
        self,
        *,
        user_id: str | None = None,
        project_id: str | None = None,
        role_id: str | None = None,
        effective: bool = False,
    ) -> list[AssignmentInfo]:
        """Role assignments matching the filters (unknown ids match nothing).

        ``effective`` adds, for each direct assignment, the roles its role implies
        (transitively), each with ``prior_role_id`` set; ``role_id`` filters after that
        expansion. Sorted by user name, project name, role name.
        """
        with self.db.session(readonly=True) as session:
            query = _where_given(
                select(RoleAssignment),
                (RoleAssignment.user_id, user_id),
                (RoleAssignment.project_id, project_id),
                # with ``effective``, role_id filters after the expansion (below)
                (RoleAssignment.role_id, None if effective else role_id),
            )
            direct = session.scalars(query).all()
            roles = {r.id: RoleInfo(r.id, r.name) for r in session.scalars(select(Role))}
            user_ids = {a.user_id for a in direct}
            project_ids = {a.project_id for a in direct}
            users = {
                row.id: _resolve.named(session, row)
                for row in session.scalars(select(User).where(User.id.in_(user_ids)))
            }
            projects = {
                row.id: _resolve.named(session, row)
                for row in session.scalars(select(Project).where(Project.id.in_(project_ids)))
            }
            implied: dict[str, list[str]] = {}
            if effective:
                for prior in {a.role_id for a in direct}:
                    implied[prior] = sorted(_resolve.implied_closure(session, [prior]) - {prior})
        out: list[AssignmentInfo] = []
        for row in direct:
            held: list[tuple[str, str | None]] = [(row.role_id, None)]
            held += [(other, row.role_id) for other in implied.get(row.role_id, ())]
            for held_id, prior_id in held:
                if role_id is None or held_id == role_id:
                    user, project = users[row.user_id], projects[row.project_id]
                    out.append(AssignmentInfo(user, project, roles[held_id], prior_id))
        out.sort(key=lambda a: (a.user.name, a.project.name, a.role.name, a.prior_role_id or ""))
        return out

    def _check_grant_parts(self, user_id: str, project_id: str, role_id: str) -> None:
        with self.db.session(readonly=True) as session:
            _get(session, Project, "project", project_id)
            _get(session, User, "user", user_id)
            _get(session, Role, "role", role_id)


def _revoke_tokens(session: Session, which: ColumnElement[bool]) -> None:
    """Revoke the tokens matching ``which`` (a condition on :class:`Token`)."""
    session.execute(update(Token).where(which, Token.revoked.is_(False)).values(revoked=True))
