"""``IdentityService``: password and token authentication, tokens, and the identity directory.

Authentication errors never say whether the user or the password was wrong; they say what to
do instead. Tokens are validated against the current state: a token stops being valid when it
expires, is revoked, its user or project (or their domain) is disabled or deleted, or the user
no longer holds any role on the project.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shoal import errors
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.identity import _resolve
from shoal.services.identity._passwords import PasswordHasher, Passwords
from shoal.services.identity._refs import DEFAULT_DOMAIN, DomainRef, ProjectRef, UserRef
from shoal.services.identity._request import parse_auth
from shoal.services.identity._tokens import (
    TOKEN_ID_LENGTH_MAX,
    new_audit_id,
    new_token_id,
    token_key,
)
from shoal.services.identity._types import (
    CatalogProvider,
    DomainInfo,
    IssuedToken,
    ProjectInfo,
    RoleAssignmentInfo,
    RoleInfo,
    TokenData,
    UserInfo,
)
from shoal.services.identity.models import (
    NAME_LENGTH_MAX,
    Domain,
    ImpliedRole,
    Project,
    Role,
    RoleAssignment,
    Token,
    User,
    new_id,
)

__all__ = ["DEFAULT_TOKEN_TTL", "IdentityService", "InvalidToken", "utcnow"]

#: Keystone's default token lifetime ([token] expiration = 3600 s).
DEFAULT_TOKEN_TTL = timedelta(hours=1)
_BAD_CREDENTIALS = (
    "invalid user name or password (check OS_USERNAME, OS_USER_DOMAIN_* and OS_PASSWORD)"
)
_T = TypeVar("_T")


class InvalidToken(errors.AuthenticationFailed):
    """A token that is unknown, expired, revoked or no longer backed by a valid user/project."""


def _check_name(what: str, name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.InvalidArgument(f"{what} name must be a non-empty string")
    if len(name) > NAME_LENGTH_MAX:
        raise errors.InvalidArgument(f"{what} name is at most {NAME_LENGTH_MAX} characters")
    return name


class IdentityService:
    """Keystone v3 identity over a :class:`shoal.db.Database` (migrated with ``upgrade()``).

    Args:
        db: the database; its schema must be at the current migration.
        token_ttl: lifetime of a password-issued token (default 1 h); must be positive.
        clock: returns the current time (timezone-aware); tests pass a fake one.
        hasher: argon2 parameters (default: argon2-cffi's RFC 9106 low-memory profile).
        catalog: builds a token's service catalog for :meth:`token_body`.
    """

    def __init__(
        self,
        db: Database,
        *,
        token_ttl: timedelta = DEFAULT_TOKEN_TTL,
        clock: Callable[[], datetime] = utcnow,
        hasher: PasswordHasher | None = None,
        catalog: CatalogProvider | None = None,
    ) -> None:
        if token_ttl <= timedelta(0):
            raise errors.InvalidArgument(f"token lifetime must be positive, not {token_ttl}")
        self.db = db
        self.token_ttl = token_ttl
        self.clock = clock
        self.passwords = Passwords(hasher)
        self.catalog = catalog

    # -----------------------------------------------------------------------------------------
    # authentication and tokens

    def authenticate_password(
        self,
        user: UserRef,
        password: str,
        scope: ProjectRef | None = None,
        *,
        unscoped: bool = False,
    ) -> IssuedToken:
        """Issue a token for ``user``'s ``password``, scoped to ``scope``.

        Without ``scope`` the token is scoped to the user's default project if it has one,
        else unscoped (no roles), as Keystone does; ``unscoped=True`` always gives an
        unscoped token.

        Raises:
            AuthenticationFailed: unknown user or domain, wrong password, disabled user or
                domain (told only after a correct password), unknown or disabled project, or
                no role on it.
        """
        with self.db.session(readonly=True) as session:
            try:
                row = _resolve.user(session, user)
                user_id, password_hash = row.id, row.password_hash
            except errors.NotFound:
                user_id, password_hash = None, None
        if not self.passwords.verify(password_hash, password) or user_id is None:
            raise errors.AuthenticationFailed(_BAD_CREDENTIALS)
        assert password_hash is not None
        with self.db.session() as session:
            row = self._active_user(session, user_id)
            if self.passwords.needs_rehash(password_hash):
                row.password_hash = self.passwords.hash(password)
            return self._issue(session, row, scope, ("password",), None, unscoped)

    def authenticate(self, body: Any) -> IssuedToken:
        """Authenticate a Keystone ``POST /v3/auth/tokens`` body (see ``_request`` for the
        accepted forms): password or token method, project scope, default or no scope.

        Raises:
            InvalidArgument: the body is malformed (400; the message names the field).
            AuthenticationFailed: as :meth:`authenticate_password` / :meth:`authenticate_token`,
                or an unsupported method or scope kind.
        """
        request = parse_auth(body)
        if request.method == "password":
            assert request.user is not None and request.password is not None
            return self.authenticate_password(
                request.user, request.password, request.scope, unscoped=request.explicit_unscoped
            )
        assert request.token_id is not None
        return self.authenticate_token(
            request.token_id, request.scope, unscoped=request.explicit_unscoped
        )

    def authenticate_token(
        self, token_id: str, scope: ProjectRef | None = None, *, unscoped: bool = False
    ) -> IssuedToken:
        """Issue a new token from a valid one (Keystone's ``token`` method, e.g. rescoping).

        The new token expires when the old one does. Without ``scope`` it keeps the old
        token's project. Raises InvalidToken / AuthenticationFailed like
        :meth:`authenticate_password`.
        """
        old = self.validate_token(token_id)
        if scope is None and old.project is not None and not unscoped:
            scope = ProjectRef(id=old.project.id)
        methods = tuple(dict.fromkeys((*old.methods, "token")))
        with self.db.session() as session:
            row = self._active_user(session, old.user.id)
            return self._issue(session, row, scope, methods, old.expires_at, unscoped)

    def validate_token(self, token_id: str) -> TokenData:
        """The content of a valid token, roles as of now.

        Raises:
            InvalidToken: unknown, malformed, expired or revoked; or its user, project or
                their domain is disabled/deleted; or the user holds no role on the project.
        """
        if not isinstance(token_id, str) or not 0 < len(token_id) <= TOKEN_ID_LENGTH_MAX:
            raise InvalidToken("the token is malformed: authenticate again")
        now = self.clock()
        with self.db.session(readonly=True) as session:
            token = session.get(Token, token_key(token_id))
            if token is None:
                raise InvalidToken("the token is unknown: authenticate again")
            if token.revoked:
                raise InvalidToken("the token was revoked: authenticate again")
            if token.expires_at <= now:
                raise InvalidToken(
                    f"the token expired at {token.expires_at.isoformat()}: authenticate again"
                )
            try:
                return self._token_data(session, token)
            except errors.AuthenticationFailed as exc:
                raise InvalidToken(f"the token is no longer valid: {exc.message}") from exc

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token (idempotent). Raises InvalidToken if it is unknown."""
        if not isinstance(token_id, str) or not 0 < len(token_id) <= TOKEN_ID_LENGTH_MAX:
            raise InvalidToken("the token is malformed")
        with self.db.session() as session:
            token = session.get(Token, token_key(token_id))
            if token is None:
                raise InvalidToken("the token is unknown")
            token.revoked = True

    def purge_expired_tokens(self) -> int:
        """Delete the rows of tokens that expired; returns how many."""
        with self.db.session() as session:
            result = session.execute(delete(Token).where(Token.expires_at <= self.clock()))
            return int(getattr(result, "rowcount", 0) or 0)

    def token_body(self, data: TokenData) -> dict[str, Any]:
        """Keystone's ``{"token": {...}}`` for ``data``, with the catalog if one is set."""
        return data.to_keystone(None if self.catalog is None else self.catalog(data))

    def _active_user(self, session: Session, user_id: str) -> User:
        row = session.get(User, user_id)
        if row is None:
            raise errors.AuthenticationFailed(_BAD_CREDENTIALS)
        domain = session.get(Domain, row.domain_id)
        if not row.enabled or domain is None or not domain.enabled:
            raise errors.AuthenticationFailed(
                f"user {row.name!r} is disabled (or its domain is): ask an administrator"
            )
        return row

    def _issue(
        self,
        session: Session,
        user: User,
        scope: ProjectRef | None,
        methods: tuple[str, ...],
        expires_at: datetime | None,
        unscoped: bool = False,
    ) -> IssuedToken:
        project_id = None if unscoped else self._scope_project(session, user, scope)
        now = self.clock()
        token_id = new_token_id()
        token = Token(
            id_sha256=token_key(token_id),
            user_id=user.id,
            project_id=project_id,
            methods=" ".join(methods),
            audit_id=new_audit_id(),
            issued_at=now,
            expires_at=expires_at or now + self.token_ttl,
            revoked=False,
        )
        session.add(token)
        return IssuedToken(token_id, self._token_data(session, token))

    def _scope_project(self, session: Session, user: User, scope: ProjectRef | None) -> str | None:
        if scope is None:
            if user.default_project_id is None:
                return None
            scope = ProjectRef(id=user.default_project_id)
        try:
            project = _resolve.project(session, scope)
        except errors.NotFound as exc:
            raise errors.AuthenticationFailed(
                f"cannot scope to {scope}: it does not exist"
            ) from exc
        if not _resolve.effective_roles(session, user.id, project.id):
            raise errors.AuthenticationFailed(
                f"user {user.name!r} has no role on project {project.name!r}"
            )
        return project.id

    def _token_data(self, session: Session, token: Token) -> TokenData:
        user = self._active_user(session, token.user_id)
        project_record = None
        roles: tuple[RoleInfo, ...] = ()
        if token.project_id is not None:
            project = session.get(Project, token.project_id)
            domain = None if project is None else session.get(Domain, project.domain_id)
            if project is None or not project.enabled or domain is None or not domain.enabled:
                raise errors.AuthenticationFailed("its project is disabled or deleted")
            roles = _resolve.effective_roles(session, user.id, project.id)
            if not roles:
                raise errors.AuthenticationFailed(
                    f"user {user.name!r} has no role on project {project.name!r} any more"
                )
            project_record = _resolve.named(session, project)
        return TokenData(
            audit_id=token.audit_id,
            methods=tuple(token.methods.split()),
            issued_at=token.issued_at,
            expires_at=token.expires_at,
            user=_resolve.named(session, user),
            project=project_record,
            roles=roles,
        )

    # -----------------------------------------------------------------------------------------
    # directory: domains, projects, users, roles, assignments

    def _insert(self, session: Session, row: _T, what: str) -> _T:
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError as exc:
            raise errors.AlreadyExists(f"{what} already exists") from exc
        return row

    def create_domain(
        self, name: str, *, id: str | None = None, description: str = "", enabled: bool = True
    ) -> DomainInfo:
        """Create a domain. Raises AlreadyExists (same id or name), InvalidArgument."""
        _check_name("domain", name)
        with self.db.session() as session:
            row = Domain(id=id or new_id(), name=name, description=description, enabled=enabled)
            return _resolve.domain_info(self._insert(session, row, f"domain {name!r}"))

    def get_domain(self, ref: DomainRef) -> DomainInfo:
        """Raises NotFound."""
        with self.db.session(readonly=True) as session:
            return _resolve.domain_info(_resolve.domain(session, ref))

    def list_domains(self) -> list[DomainInfo]:
        with self.db.session(readonly=True) as session:
            rows = session.scalars(select(Domain).order_by(Domain.name)).all()
            return [_resolve.domain_info(r) for r in rows]

    def create_project(
        self,
        name: str,
        *,
        domain: DomainRef = DEFAULT_DOMAIN,
        description: str = "",
        enabled: bool = True,
    ) -> ProjectInfo:
        """Create a project in ``domain``. Raises AlreadyExists, NotFound (domain)."""
        _check_name("project", name)
        with self.db.session() as session:
            dom = _resolve.domain(session, domain)
            row = Project(name=name, domain_id=dom.id, description=description, enabled=enabled)
            what = f"project {name!r} in domain {dom.name!r}"
            return _resolve.project_info(self._insert(session, row, what))

    def get_project(self, ref: ProjectRef) -> ProjectInfo:
        """Raises NotFound."""
        with self.db.session(readonly=True) as session:
            return _resolve.project_info(_resolve.project(session, ref))

    def list_projects(self, *, domain: DomainRef | None = None) -> list[ProjectInfo]:
        """All projects (of ``domain`` if given), sorted by name."""
        with self.db.session(readonly=True) as session:
            return [_resolve.project_info(r) for r in _resolve.of_domain(session, Project, domain)]

    def set_project_enabled(self, project: ProjectRef, enabled: bool) -> ProjectInfo:
        """Enable or disable a project (its tokens stop validating). Raises NotFound."""
        with self.db.session() as session:
            row = _resolve.project(session, project)
            row.enabled = enabled
            return _resolve.project_info(row)

    def delete_project(self, project: ProjectRef) -> None:
        """Delete a project, its role assignments and tokens. Raises NotFound."""
        with self.db.session() as session:
            row = _resolve.project(session, project)
            session.execute(delete(Token).where(Token.project_id == row.id))
            session.execute(delete(RoleAssignment).where(RoleAssignment.project_id == row.id))
            session.delete(row)

    def create_user(
        self,
        name: str,
        password: str,
        *,
        domain: DomainRef = DEFAULT_DOMAIN,
        default_project: ProjectRef | None = None,
        enabled: bool = True,
    ) -> UserInfo:
        """Create a user (password hashed with argon2id).

        Raises AlreadyExists, NotFound (domain or project), InvalidArgument (empty or
        over-long name or password).
        """
        _check_name("user", name)
        password_hash = self.passwords.hash(password)
        with self.db.session() as session:
            dom = _resolve.domain(session, domain)
            project_id = None
            if default_project is not None:
                project_id = _resolve.project(session, default_project).id
            row = User(
                name=name,
                domain_id=dom.id,
                password_hash=password_hash,
                enabled=enabled,
                default_project_id=project_id,
            )
            what = f"user {name!r} in domain {dom.name!r}"
            return _resolve.user_info(self._insert(session, row, what))

    def get_user(self, ref: UserRef) -> UserInfo:
        """Raises NotFound."""
        with self.db.session(readonly=True) as session:
            return _resolve.user_info(_resolve.user(session, ref))

    def list_users(self, *, domain: DomainRef | None = None) -> list[UserInfo]:
        """All users (of ``domain`` if given), sorted by name."""
        with self.db.session(readonly=True) as session:
            return [_resolve.user_info(r) for r in _resolve.of_domain(session, User, domain)]

    def update_user(
        self, user: UserRef, *, enabled: bool | None = None, password: str | None = None
    ) -> UserInfo:
        """Enable/disable a user or set its password. Raises NotFound, InvalidArgument."""
        password_hash = None if password is None else self.passwords.hash(password)
        with self.db.session() as session:
            row = _resolve.user(session, user)
            if enabled is not None:
                row.enabled = enabled
            if password_hash is not None:
                row.password_hash = password_hash
            return _resolve.user_info(row)

    def check_password(self, user: UserRef, password: str) -> bool:
        """Whether ``password`` is ``user``'s (False for unknown users too)."""
        with self.db.session(readonly=True) as session:
            try:
                password_hash: str | None = _resolve.user(session, user).password_hash
            except errors.NotFound:
                password_hash = None
        return self.passwords.verify(password_hash, password)

    def delete_user(self, user: UserRef) -> None:
        """Delete a user, its role assignments and tokens. Raises NotFound."""
        with self.db.session() as session:
            row = _resolve.user(session, user)
            session.execute(delete(Token).where(Token.user_id == row.id))
            session.execute(delete(RoleAssignment).where(RoleAssignment.user_id == row.id))
            session.delete(row)

    def create_role(self, name: str, *, id: str | None = None) -> RoleInfo:
        """Create a (global) role. Raises AlreadyExists, InvalidArgument."""
        _check_name("role", name)
        with self.db.session() as session:
            row = self._insert(session, Role(id=id or new_id(), name=name), f"role {name!r}")
            return RoleInfo(row.id, row.name)

    def get_role(self, id_or_name: str) -> RoleInfo:
        """Raises NotFound."""
        with self.db.session(readonly=True) as session:
            row = _resolve.role(session, id_or_name)
            return RoleInfo(row.id, row.name)

    def list_roles(self) -> list[RoleInfo]:
        with self.db.session(readonly=True) as session:
            rows = session.scalars(select(Role).order_by(Role.name)).all()
            return [RoleInfo(r.id, r.name) for r in rows]

    def add_implied_role(self, prior: str, implied: str) -> None:
        """Make role ``prior`` imply role ``implied`` (ids or names; idempotent)."""
        with self.db.session() as session:
            prior_id = _resolve.role(session, prior).id
            implied_id = _resolve.role(session, implied).id
            if prior_id == implied_id:
                raise errors.InvalidArgument(f"role {prior!r} cannot imply itself")
            if session.get(ImpliedRole, (prior_id, implied_id)) is None:
                self._insert(
                    session,
                    ImpliedRole(prior_role_id=prior_id, implied_role_id=implied_id),
                    "implication",
                )

    def assign_role(self, user: UserRef, project: ProjectRef, role: str) -> None:
        """Give ``user`` the role (id or name) on ``project``; idempotent. Raises NotFound."""
        with self.db.session() as session:
            key = _resolve.assignment_key(session, user, project, role)
            if session.get(RoleAssignment, key) is None:
                row = RoleAssignment(user_id=key[0], project_id=key[1], role_id=key[2])
                # a concurrent assign_role may win: same result
                with contextlib.suppress(errors.AlreadyExists):
                    self._insert(session, row, "assignment")

    def unassign_role(self, user: UserRef, project: ProjectRef, role: str) -> None:
        """Take the role away. Raises NotFound (also when it was not assigned)."""
        with self.db.session() as session:
            key = _resolve.assignment_key(session, user, project, role)
            row = session.get(RoleAssignment, key)
            if row is None:
                raise errors.NotFound(f"{user} does not hold role {role!r} on {project}")
            session.delete(row)

    def list_role_assignments(
        self, *, user: UserRef | None = None, project: ProjectRef | None = None
    ) -> list[RoleAssignmentInfo]:
        """Direct assignments, filtered by user and/or project."""
        with self.db.session(readonly=True) as session:
            query = select(RoleAssignment, Role).join(Role, Role.id == RoleAssignment.role_id)
            if user is not None:
                query = query.where(RoleAssignment.user_id == _resolve.user(session, user).id)
            if project is not None:
                project_id = _resolve.project(session, project).id
                query = query.where(RoleAssignment.project_id == project_id)
            return [
                RoleAssignmentInfo(a.user_id, a.project_id, RoleInfo(r.id, r.name))
                for a, r in session.execute(query.order_by(Role.name))
            ]

    def effective_roles(self, user: UserRef, project: ProjectRef) -> list[RoleInfo]:
        """The roles ``user`` holds on ``project``, implied ones included, sorted by name."""
        with self.db.session(readonly=True) as session:
            user_id = _resolve.user(session, user).id
            project_id = _resolve.project(session, project).id
            return list(_resolve.effective_roles(session, user_id, project_id))
