"""shoal's HTTP platform: one ASGI app per OpenStack service and the edge they share.

Layout: one subpackage per service, each holding its routes and the pure rules they
call (:mod:`shoal.api.keystone`, :mod:`shoal.api.glance`, :mod:`shoal.api.cinder`); the
edge they share sits at the top in private modules: ``_app`` (the four apps, error
rendering, version documents), ``_body`` (JSON bodies and size limits), ``_context``
(tokens → :class:`RequestContext`), ``_errors`` (each service's error body), ``_logging``
(request ids, the access log, log lines without secrets), ``_microversion``, ``_server``
(uvicorn on 127.0.0.1), ``_validation`` (JSON Schema checks in each service's dialect) and
``_versions``.

Service pieces plug their routes into :func:`identity_app`, :func:`image_app`,
:func:`volume_app` and :func:`compute_app`; :class:`Server` (or :func:`serve`) runs the
apps on 127.0.0.1 ports in one process. Handlers use :func:`request_context`,
:func:`require_role`, :func:`require_project`, :func:`api_version`, :func:`read_json_object`
/ :func:`read_valid_object` and raise :class:`shoal.errors.ShoalError` subclasses (or
:class:`ApiError`); the edge renders them in each service's upstream error format.
"""

from __future__ import annotations

from shoal.api._app import ApiSettings as ApiSettings
from shoal.api._app import compute_app as compute_app
from shoal.api._app import identity_app as identity_app
from shoal.api._app import image_app as image_app
from shoal.api._app import volume_app as volume_app
from shoal.api._body import DEFAULT_MAX_BODY_BYTES as DEFAULT_MAX_BODY_BYTES
from shoal.api._body import read_json as read_json
from shoal.api._body import read_json_object as read_json_object
from shoal.api._body import read_valid_object as read_valid_object
from shoal.api._context import RequestContext as RequestContext
from shoal.api._context import TokenValidator as TokenValidator
from shoal.api._context import request_context as request_context
from shoal.api._context import require_project as require_project
from shoal.api._context import require_role as require_role
from shoal.api._context import requires_role as requires_role
from shoal.api._errors import ApiError as ApiError
from shoal.api._errors import BadRequest as BadRequest
from shoal.api._errors import ErrorStyle as ErrorStyle
from shoal.api._errors import NotAcceptable as NotAcceptable
from shoal.api._errors import RequestTooLarge as RequestTooLarge
from shoal.api._errors import error_body as error_body
from shoal.api._errors import error_response as error_response
from shoal.api._ids import is_uuid_like as is_uuid_like
from shoal.api._ids import uuid_or_not_found as uuid_or_not_found
from shoal.api._logging import RequestContextFilter as RequestContextFilter
from shoal.api._logging import RequestFormatter as RequestFormatter
from shoal.api._logging import SecretMask as SecretMask
from shoal.api._logging import current_request_id as current_request_id
from shoal.api._microversion import COMPUTE_VERSION_MAX as COMPUTE_VERSION_MAX
from shoal.api._microversion import COMPUTE_VERSION_MIN as COMPUTE_VERSION_MIN
from shoal.api._microversion import VOLUME_VERSION_MAX as VOLUME_VERSION_MAX
from shoal.api._microversion import VOLUME_VERSION_MIN as VOLUME_VERSION_MIN
from shoal.api._microversion import APIVersion as APIVersion
from shoal.api._microversion import VersionRange as VersionRange
from shoal.api._microversion import api_version as api_version
from shoal.api._server import Binding as Binding
from shoal.api._server import Server as Server
from shoal.api._server import serve as serve
from shoal.api.glance.routes import image_routes as image_routes
from shoal.api.keystone.admin_routes import identity_admin_routes as identity_admin_routes
from shoal.api.keystone.remote import RemoteKeystoneValidator as RemoteKeystoneValidator
from shoal.api.keystone.remote import validator_from_config as validator_from_config
from shoal.api.keystone.routes import IdentityTokenValidator as IdentityTokenValidator
from shoal.api.keystone.routes import build_catalog as build_catalog
from shoal.api.keystone.routes import catalog_for as catalog_for
from shoal.api.keystone.routes import identity_routes as identity_routes

__all__ = [
    "COMPUTE_VERSION_MAX",
    "COMPUTE_VERSION_MIN",
    "DEFAULT_MAX_BODY_BYTES",
    "VOLUME_VERSION_MAX",
    "VOLUME_VERSION_MIN",
    "APIVersion",
    "ApiError",
    "ApiSettings",
    "BadRequest",
    "Binding",
    "ErrorStyle",
    "IdentityTokenValidator",
    "NotAcceptable",
    "RemoteKeystoneValidator",
    "RequestContext",
    "RequestContextFilter",
    "RequestFormatter",
    "RequestTooLarge",
    "SecretMask",
    "Server",
    "TokenValidator",
    "VersionRange",
    "api_version",
    "build_catalog",
    "catalog_for",
    "compute_app",
    "current_request_id",
    "error_body",
    "error_response",
    "identity_admin_routes",
    "identity_app",
    "identity_routes",
    "image_app",
    "image_routes",
    "is_uuid_like",
    "read_json",
    "read_json_object",
    "read_valid_object",
    "request_context",
    "require_project",
    "require_role",
    "requires_role",
    "serve",
    "uuid_or_not_found",
    "validator_from_config",
    "volume_app",
]
