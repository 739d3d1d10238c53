"""Identity (Keystone v3 semantics) for shoal: users, projects, roles, tokens. No HTTP here.

Public interface::

    from shoal.db import Database
    from shoal.services.identity import (IdentityService, ProjectRef, UserRef, DomainRef,
                                          bootstrap)

    db = Database(url); db.upgrade()
    identity = IdentityService(db, token_ttl=timedelta(hours=1), catalog=build_catalog)
    creds = bootstrap(identity)                       # default domain, roles, admin, demo
    issued = identity.authenticate_password(
        UserRef(name="admin", domain=DomainRef(id="default")), creds.admin.password,
        ProjectRef(name="admin", domain=DomainRef(name="Default")))
    issued = identity.authenticate(request_json)  # a POST /v3/auth/tokens body, parsed
    issued.id                          # the secret -> X-Subject-Token
    identity.token_body(issued.data)   # {"token": {...}} with the catalog
    data = identity.validate_token(token_id)   # TokenData; raises InvalidToken (401)
    data.require_role("admin")                 # PermissionDenied (403) otherwise

Roles: ``admin`` ⇒ ``member`` ⇒ ``reader`` (implied roles, as Keystone's defaults).

:class:`IdentityAdmin` (``IdentityAdmin(identity)``) adds what Keystone's admin API needs:
filtered listings, updates, grants by id, effective role assignments, password change.
"""

from __future__ import annotations

from shoal.services.identity._admin import UNCHANGED as UNCHANGED
from shoal.services.identity._admin import AssignmentInfo as AssignmentInfo
from shoal.services.identity._admin import IdentityAdmin as IdentityAdmin
from shoal.services.identity._admin import Unchanged as Unchanged
from shoal.services.identity._bootstrap import ADMIN_ROLE as ADMIN_ROLE
from shoal.services.identity._bootstrap import DEFAULT_DOMAIN_ID as DEFAULT_DOMAIN_ID
from shoal.services.identity._bootstrap import DEFAULT_DOMAIN_NAME as DEFAULT_DOMAIN_NAME
from shoal.services.identity._bootstrap import MEMBER_ROLE as MEMBER_ROLE
from shoal.services.identity._bootstrap import READER_ROLE as READER_ROLE
from shoal.services.identity._bootstrap import BootstrapResult as BootstrapResult
from shoal.services.identity._bootstrap import Credentials as Credentials
from shoal.services.identity._bootstrap import bootstrap as bootstrap
from shoal.services.identity._bootstrap import generate_password as generate_password
from shoal.services.identity._passwords import PASSWORD_LENGTH_MAX as PASSWORD_LENGTH_MAX
from shoal.services.identity._refs import DEFAULT_DOMAIN as DEFAULT_DOMAIN
from shoal.services.identity._refs import DomainRef as DomainRef
from shoal.services.identity._refs import ProjectRef as ProjectRef
from shoal.services.identity._refs import UserRef as UserRef
from shoal.services.identity._request import AuthRequest as AuthRequest
from shoal.services.identity._request import parse_auth as parse_auth
from shoal.services.identity._service import DEFAULT_TOKEN_TTL as DEFAULT_TOKEN_TTL
from shoal.services.identity._service import IdentityService as IdentityService
from shoal.services.identity._service import InvalidToken as InvalidToken
from shoal.services.identity._types import CatalogProvider as CatalogProvider
from shoal.services.identity._types import DomainInfo as DomainInfo
from shoal.services.identity._types import IssuedToken as IssuedToken
from shoal.services.identity._types import NamedRecord as NamedRecord
from shoal.services.identity._types import ProjectInfo as ProjectInfo
from shoal.services.identity._types import RoleAssignmentInfo as RoleAssignmentInfo
from shoal.services.identity._types import RoleInfo as RoleInfo
from shoal.services.identity._types import TokenData as TokenData
from shoal.services.identity._types import UserInfo as UserInfo
from shoal.services.identity._types import keystone_time as keystone_time

__all__ = [
    "ADMIN_ROLE",
    "DEFAULT_DOMAIN",
    "DEFAULT_DOMAIN_ID",
    "DEFAULT_DOMAIN_NAME",
    "DEFAULT_TOKEN_TTL",
    "MEMBER_ROLE",
    "PASSWORD_LENGTH_MAX",
    "READER_ROLE",
    "UNCHANGED",
    "AssignmentInfo",
    "AuthRequest",
    "BootstrapResult",
    "CatalogProvider",
    "Credentials",
    "DomainInfo",
    "DomainRef",
    "IdentityAdmin",
    "IdentityService",
    "InvalidToken",
    "IssuedToken",
    "NamedRecord",
    "ProjectInfo",
    "ProjectRef",
    "RoleAssignmentInfo",
    "RoleInfo",
    "TokenData",
    "Unchanged",
    "UserInfo",
    "UserRef",
    "bootstrap",
    "generate_password",
    "keystone_time",
    "parse_auth",
]
