"""First-start identity content for ``shoal up``, created idempotently and race-safely.

What :func:`bootstrap` ensures (creating what is missing, reusing what is there):

- the domain ``default`` (name ``Default``);
- the roles ``admin``, ``member``, ``reader`` with admin ⇒ member ⇒ reader (Keystone's
  default roles);
- the project ``admin`` with the user ``admin`` holding ``admin``;
- the project ``demo`` with the user ``demo`` holding ``member``;
  both users get their project as default project.

Several processes may bootstrap the same database at once: every row is created with
get-or-create in a savepoint (a unique-constraint conflict means another process won: its row
is used), all in one transaction, so exactly one of each exists afterwards.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shoal.services.identity._service import IdentityService
from shoal.services.identity.models import (
    Domain,
    ImpliedRole,
    Project,
    Role,
    RoleAssignment,
    User,
    new_id,
)

__all__ = [
    "ADMIN_ROLE",
    "DEFAULT_DOMAIN_ID",
    "DEFAULT_DOMAIN_NAME",
    "MEMBER_ROLE",
    "READER_ROLE",
    "BootstrapResult",
    "Credentials",
    "bootstrap",
    "generate_password",
]

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"
ADMIN_ROLE = "admin"
MEMBER_ROLE = "member"
READER_ROLE = "reader"
_M = TypeVar("_M")


def generate_password() -> str:
    """A new random password: 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Credentials:
    """How one bootstrap user logs in (all in the ``default`` domain).

    ``password`` is the password now in effect when bootstrap knows it (given, or generated
    for a user it created); None for an existing user whose password was left unchanged.
    """

    user_id: str
    username: str
    password: str | None = field(repr=False)
    project_id: str
    project_name: str
    role: str
    created: bool
    domain_id: str = DEFAULT_DOMAIN_ID


@dataclass(frozen=True)
class BootstrapResult:
    admin: Credentials
    demo: Credentials


def _get_or_create(
    session: Session, model: type[_M], lookup: dict[str, Any], values: dict[str, Any]
) -> tuple[_M, bool]:
    """The row matching ``lookup``, created with ``values`` if missing; (row, created)."""
    query = select(model).filter_by(**lookup)
    row = session.scalars(query).first()
    if row is not None:
        return row, False
    try:
        with session.begin_nested():
            row = model(**lookup, **values)
            session.add(row)
    except IntegrityError:
        row = session.scalars(query).one()  # another process created it meanwhile
        return row, False
    return row, True


def bootstrap(
    service: IdentityService,
    *,
    admin_password: str | None = None,
    demo_password: str | None = None,
    admin_user: str = "admin",
    admin_project: str = "admin",
    demo_user: str = "demo",
    demo_project: str = "demo",
) -> BootstrapResult:
    """Ensure the default identity content (see the module doc); return the two logins.

    A password given for an existing user replaces its password (like ``keystone-manage
    bootstrap``); None keeps it (and ``Credentials.password`` is None). For a user that is
    created, None means a generated password, returned in the result. Existing users are
    re-enabled and given their role again if someone removed it.

    Raises:
        InvalidArgument: an empty or over-long name or password.
    """
    passwords = service.passwords
    wanted = ((admin_user, admin_project, ADMIN_ROLE, admin_password),
              (demo_user, demo_project, MEMBER_ROLE, demo_password))
    with service.db.session(readonly=True) as session:
        current = {name: session.scalars(select(User.password_hash).filter_by(
            domain_id=DEFAULT_DOMAIN_ID, name=name)).first() for name, *_ in wanted}
    plans = []
    for user, project, role, password in wanted:
        chosen = password if password is not None else generate_password()
        # Hashing is slow (argon2): do it before the transaction takes the write lock, and
        # only for a user to create or a password that changes (a restart hashes nothing).
        known = current[user]
        keep = known is not None and (password is None or passwords.verify(known, password))
        plans.append((user, project, role, password, chosen,
                      None if keep else passwords.hash(chosen)))
    results = []
    with service.db.session() as session:
        _get_or_create(
            session,
            Domain,
            {"id": DEFAULT_DOMAIN_ID},
            {"name": DEFAULT_DOMAIN_NAME, "description": "The default domain", "enabled": True},
        )
        roles = {
            name: _get_or_create(session, Role, {"name": name}, {"id": new_id()})[0]
            for name in (ADMIN_ROLE, MEMBER_ROLE, READER_ROLE)
        }
        for prior, implied in ((ADMIN_ROLE, MEMBER_ROLE), (MEMBER_ROLE, READER_ROLE)):
            _get_or_create(
                session,
                ImpliedRole,
                {"prior_role_id": roles[prior].id, "implied_role_id": roles[implied].id},
                {},
            )
        for user, project, role, given, chosen, planned_hash in plans:
            project_row, _ = _get_or_create(
                session,
                Project,
                {"domain_id": DEFAULT_DOMAIN_ID, "name": project},
                {"id": new_id(), "description": f"Bootstrap project {project}", "enabled": True},
            )
            lookup = {"domain_id": DEFAULT_DOMAIN_ID, "name": user}
            user_row = session.scalars(select(User).filter_by(**lookup)).first()
            created = False
            if user_row is None:
                # planned_hash is None if the user existed when we looked and was deleted
                # since: hash now rather than fail.
                new_row, created = _get_or_create(session, User, lookup, {
                    "id": new_id(),
                    "password_hash": planned_hash or passwords.hash(chosen),
                    "enabled": True,
                    "default_project_id": project_row.id,
                })
                user_row = new_row
            if not created:
                user_row.enabled = True
                if given is not None and planned_hash is not None:
                    user_row.password_hash = planned_hash
            _get_or_create(
                session,
                RoleAssignment,
                {"user_id": user_row.id, "project_id": project_row.id, "role_id": roles[role].id},
                {},
            )
            results.append(
                Credentials(
                    user_id=user_row.id,
                    username=user,
                    password=chosen if created or given is not None else None,
                    project_id=project_row.id,
                    project_name=project,
                    role=role,
                    created=created,
                )
            )
    return BootstrapResult(admin=results[0], demo=results[1])
