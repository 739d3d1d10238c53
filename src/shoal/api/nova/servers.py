"""Nova v2.1 server routes over :class:`shoal.services.compute.Servers`.

``/servers`` (list, create: 202), ``/servers/detail``, ``/servers/{id}`` (show, update,
delete: 204), ``/servers/{id}/action`` (``os-stop``, ``os-start``, ``reboot``, ``pause``,
``unpause``, ``suspend``, ``resume``, ``lock``, ``unlock``, ``forceDelete``: 202),
``/servers/{id}/metadata[/{key}]``, ``/servers/{id}/os-instance-actions[/{request id}]``.

Bodies are checked against Nova's JSON schemas (Nova's 400 wording); ``networks`` is
required from 2.37 (``"auto"``, ``"none"`` or a list; recorded, shoal has no networking).
An action shoal does not do yet answers 400 naming it, never a silent success.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors, limits
from shoal.api._body import read_json
from shoal.api._context import RequestContext, request_context
from shoal.api._errors import BadRequest
from shoal.api._logging import REQUEST_ID_KEY
from shoal.api._microversion import APIVersion, api_version
from shoal.api._validation import CINDER
from shoal.api.nova._views import nova_views
from shoal.api.nova.server_views import (
    host_id,
    primitive_time,
    server_brief,
    server_update_view,
    server_view,
)
from shoal.services.compute import (
    BlockDevice,
    NewServer,
    ServerImages,
    ServerMoves,
    ServerQuery,
    Servers,
)

__all__ = ["server_routes"]

_Handler = Callable[[Request], Awaitable[Response]]
V = APIVersion

_NAME: Final = {"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": r"^(?! )[\S ]*(?<! )$"}
_DESCRIPTION: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 255,
                       "pattern": r"^[^\x00-\x1f\x7f]*$"}
_METADATA: Final = {"type": "object", "patternProperties": {
    r"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255}},
    "additionalProperties": False}
_BDM: Final = {"type": "object", "additionalProperties": False, "properties": {
    "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
    "destination_type": {"type": "string", "enum": ["local", "volume"]},
    "uuid": {"type": "string", "minLength": 1, "maxLength": 255},
    "boot_index": {"type": ["integer", "string", "null"]},
    "volume_size": {"type": ["integer", "string", "null"]},
    "delete_on_termination": {"type": ["boolean", "string"]},
    "device_name": {"type": ["string", "null"], "maxLength": 255},
    "device_type": {"type": ["string", "null"]}, "disk_bus": {"type": ["string", "null"]},
    "guest_format": {"type": ["string", "null"]}, "tag": {"type": "string", "maxLength": 60},
    "volume_type": {"type": ["string", "null"]}, "no_device": {},
    "boot_from_volume": {}, "connection_info": {}, "snapshot_id": {}, "volume_id": {},
    "image_id": {}, "encrypted": {}, "encryption_secret_uuid": {}, "encryption_format": {},
    "encryption_options": {}}}
_NETWORKS: Final = {"oneOf": [
    {"type": "string", "enum": ["auto", "none"]},
    {"type": "array", "items": {"type": "object", "properties": {
        "fixed_ip": {"type": "string"}, "port": {"type": ["string", "null"]},
        "uuid": {"type": "string"}, "tag": {"type": "string"}},
        "additionalProperties": False}}]}
_IPV4: Final = {"type": "string", "format": "ipv4"}
_IPV6: Final = {"type": "string", "format": "ipv6"}
_COUNT: Final = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1}


def _create_schema(version: APIVersion) -> dict[str, Any]:
    server: dict[str, Any] = {
        "name": _NAME, "imageRef": {"type": "string"},
        "flavorRef": {"type": ["string", "integer"], "minLength": 1},
        "adminPass": {"type": "string"}, "metadata": _METADATA, "networks": _NETWORKS,
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
        "accessIPv4": _IPV4, "accessIPv6": _IPV6,
        "personality": {"type": "array"}, "availability_zone": {"type": "string"},
        "block_device_mapping": {"type": "array"},
        "block_device_mapping_v2": {"type": "array", "items": _BDM},
        "config_drive": {"type": ["boolean", "string"]}, "key_name": {"type": "string"},
        "min_count": _COUNT, "max_count": _COUNT, "return_reservation_id": {},
        "security_groups": {"type": "array"}, "user_data": {"type": "string"},
        "description": _DESCRIPTION, "tags": {"type": "array"},
        "trusted_image_certificates": {}, "host": {"type": "string"},
        "hypervisor_hostname": {"type": "string"}, "hostname": {"type": "string"}}
    required = ["name", "flavorRef"]
    if version >= V(2, 37):
        required.append("networks")
    return {"type": "object", "required": ["server"], "properties": {
        "server": {"type": "object", "properties": server, "required": required,
                   "additionalProperties": False},
        "os:scheduler_hints": {"type": "object"},
        "OS-SCH-HNT:scheduler_hints": {"type": "object"}},
        "additionalProperties": False}


_UPDATE_SCHEMA: Final = {"type": "object", "required": ["server"], "properties": {
    "server": {"type": "object", "additionalProperties": False, "properties": {
        "name": _NAME, "description": _DESCRIPTION, "accessIPv4": _IPV4,
        "accessIPv6": _IPV6, "OS-DCF:diskConfig": {"type": "string"},
        "hostname": {"type": "string"}}}}, "additionalProperties": False}
_METADATA_SCHEMA: Final = {"type": "object", "required": ["metadata"],
                           "properties": {"metadata": _METADATA},
                           "additionalProperties": False}
_CREATE_IMAGE_SCHEMA: Final = {"type": "object", "required": ["createImage"],
                              "additionalProperties": False, "properties": {
                                  "createImage": {"type": "object", "required": ["name"],
                                                  "additionalProperties": False,
                                                  "properties": {"name": _NAME,
                                                                 "metadata": _METADATA}}}}
_HOST: Final = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}
#: The move actions' bodies (Nova's schemas, loosened to every microversion's fields).
_MOVES: Final[dict[str, Any]] = {
    "os-migrateLive": {"type": "object", "required": ["host"], "properties": {
        "host": _HOST, "block_migration": {"type": ["boolean", "string"]},
        "disk_over_commit": {"type": ["boolean", "string"]},
        "force": {"type": ["boolean", "string"]}}, "additionalProperties": False},
    "migrate": {"type": ["object", "null"], "properties": {"host": _HOST},
                "additionalProperties": False},
    "resize": {"type": "object", "required": ["flavorRef"], "properties": {
        "flavorRef": {"type": ["string", "integer"], "minLength": 1},
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]}},
        "additionalProperties": False},
    # null from novaclient and the SDK, {} from Tempest: Nova takes both
    "confirmResize": {"type": ["object", "null"], "additionalProperties": False},
    "revertResize": {"type": ["object", "null"], "additionalProperties": False},
    "evacuate": {"type": "object", "properties": {
        "host": _HOST, "adminPass": {"type": "string"},
        "onSharedStorage": {"type": ["boolean", "string"]},
        "force": {"type": ["boolean", "string"]},
        "targetState": {"type": "string", "enum": ["SHUTOFF", "ACTIVE"]}},
        "additionalProperties": False},
}
_META_ITEM_SCHEMA: Final = {"type": "object", "required": ["meta"],
                            "properties": {"meta": {**_METADATA, "minProperties": 1,
                                                    "maxProperties": 1}},
                            "additionalProperties": False}
#: body key → service action (shoal does these; others answer 400).
_ACTIONS: Final = {"os-stop": "stop", "os-start": "start", "reboot": "reboot",
                   "pause": "pause", "unpause": "unpause", "suspend": "suspend",
                   "resume": "resume", "lock": "lock", "unlock": "unlock"}
_TRUE: Final = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE: Final = frozenset({"0", "f", "false", "off", "n", "no"})
#: The statuses Nova's list filters on (another is 400 from 2.38).
_STATUSES: Final = frozenset({
    "ACTIVE", "BUILD", "REBOOT", "HARD_REBOOT", "REBUILD", "PASSWORD", "RESIZE",
    "MIGRATING", "SHUTOFF", "PAUSED", "SUSPENDED", "RESCUE", "ERROR", "DELETED",
    "SOFT_DELETED", "VERIFY_RESIZE", "REVERT_RESIZE", "SHELVED", "SHELVED_OFFLOADED"})


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def _password() -> str:
    """A generated admin password (Nova's 12 characters of letters and digits)."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))


def _request_id(request: Request) -> str:
    found = request.scope.get(REQUEST_ID_KEY)
    return found if isinstance(found, str) else "req-unknown"


def _bool(value: object) -> bool:
    return value is True or str(value).lower() in _TRUE


def _int(value: object, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute {what}. Value: {value}. "
                         f"'{value}' is not of type 'integer'") from None


def _block_devices(spec: dict[str, Any]) -> tuple[BlockDevice, ...]:
    out = []
    for item in spec.get("block_device_mapping_v2") or ():
        out.append(BlockDevice(
            source_type=item.get("source_type", "blank"),
            destination_type=item.get("destination_type", "local"),
            boot_index=_int(item.get("boot_index"), "boot_index"),
            uuid=item.get("uuid"), volume_size=_int(item.get("volume_size"), "volume_size"),
            delete_on_termination=_bool(item.get("delete_on_termination", False)),
            device_name=item.get("device_name"), tag=item.get("tag")))
    return (*out, *_legacy_block_devices(spec.get("block_device_mapping") or ()))


def _legacy_block_devices(items: Any) -> list[BlockDevice]:
    """Nova's legacy ``block_device_mapping`` (v1, what novaclient and Rally send for a
    ``{"vda": "<volume id>:::1"}``): each names a volume or snapshot by id at a device;
    the one at ``vda`` (or the first) boots."""
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or item.get("no_device"):
            continue
        source = "snapshot" if item.get("snapshot_id") else "volume"
        device = str(item.get("device_name") or "")
        boot = device.rsplit("/", 1)[-1] in ("vda", "xvda", "sda") or (index == 0 and not device)
        out.append(BlockDevice(
            source_type=source, destination_type="volume", boot_index=0 if boot else None,
            uuid=item.get("snapshot_id") or item.get("volume_id"),
            volume_size=_int(item.get("volume_size"), "volume_size"),
            delete_on_termination=_bool(item.get("delete_on_termination", False)),
            device_name=f"/dev/{device}" if device and not device.startswith("/") else
            device or None))
    return out


def _when(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid filter field: {what}.") from None


def _query(request: Request, admin: bool) -> ServerQuery:
    """The list request's filters as Nova reads them: ``limit`` a non-negative integer;
    ``all_tenants`` (present and not false) admins' only (403 otherwise), ``project_id``
    / ``tenant_id`` only with it; an unknown ``status`` is 400 from 2.38 (before: an empty
    list); admin-only filters (``host``, ``user_id``, ``deleted``) are dropped for others,
    who may not sort by ``host`` or ``node`` (403)."""
    params = request.query_params
    raw_limit = params.get("limit")
    if raw_limit is not None and not raw_limit.isdigit():
        raise BadRequest(f"Invalid input for query parameters limit. Value: {raw_limit}. "
                         f"'{raw_limit}' does not match '^[0-9]*$'")
    limit = _int(raw_limit, "limit")
    raw = params.get("all_tenants")  # present and not false: every project (admins)
    if raw is not None and raw != "" and raw.lower() not in _TRUE | _FALSE:
        raise BadRequest(f"Invalid input received: Unrecognized value '{raw}', acceptable "
                         "values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', "
                         "'true', 'y', 'yes'")
    all_projects = raw is not None and (raw == "" or _bool(raw))
    if all_projects and not admin:
        which = "detail" if request.url.path.endswith("/detail") else "index"
        raise errors.PermissionDenied(f"Policy doesn't allow os_compute_api:servers:{which}:"
                                      "get_all_tenants to be performed.")
    project = params.get("project_id") or params.get("tenant_id")
    status = params.get("status")
    if status is not None and status.upper() not in _STATUSES \
            and api_version(request) >= V(2, 38):
        raise BadRequest("Invalid status value")
    # a time without a zone is UTC (as Nova's parse_isotime reads it)
    before, since = (None if t is None else t if t.tzinfo else t.replace(tzinfo=UTC)
                     for t in (_when(params.get("changes-before"), "changes-before"),
                               _when(params.get("changes-since"), "changes-since")))
    if since is not None and before is not None and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    sort_keys = tuple(params.getlist("sort_key")) or ("created_at",)
    for key in sort_keys:
        if key in ("host", "node") and not admin:
            raise errors.PermissionDenied(f"Only administrators can sort servers by {key}")
    locked = params.get("locked")
    return ServerQuery(
        name=params.get("name"), status=status, image=params.get("image"),
        flavor=params.get("flavor"), host=params.get("host") if admin else None,
        availability_zone=params.get("availability_zone"),
        locked=None if locked is None else _bool(locked), all_projects=all_projects,
        project_id=project if all_projects else None,
        user_id=params.get("user_id") if admin else None,
        deleted=admin and _bool(params.get("deleted", "false")),
        changes_since=since, changes_before=before,
        limit=limit, marker=params.get("marker"),
        sort_keys=sort_keys, sort_dirs=tuple(params.getlist("sort_dir")) or ("desc",))


class _ServerHandlers:
    def __init__(self, servers: Servers, images: ServerImages | None,
                 moves: ServerMoves | None) -> None:
        self.servers = servers
        self.images = images
        self.moves = moves

    async def _list(self, request: Request, *, detail: bool) -> Response:
        context = await request_context(request)
        query = _query(request, context.is_admin)
        found = await run_in_threadpool(self.servers.list_servers, context, query)
        views = nova_views(request, context)
        body: dict[str, Any] = {"servers": [
            server_view(s, views) if detail else server_brief(s, views) for s in found]}
        if query.limit is not None and found and len(found) == query.limit:
            body["servers_links"] = [{"rel": "next", "href": views.next_link(
                "servers/detail" if detail else "servers",
                request.query_params.multi_items(), found[-1].id)}]
        return _json(body)

    async def list(self, request: Request) -> Response:
        return await self._list(request, detail=False)

    async def detail(self, request: Request) -> Response:
        return await self._list(request, detail=True)

    async def show(self, request: Request) -> Response:
        context = await request_context(request)
        found = await run_in_threadpool(self.servers.get, context,
                                        request.path_params["server_id"])
        return _json({"server": server_view(found, nova_views(request, context), show=True)})

    async def create(self, request: Request) -> Response:
        context = await request_context(request)
        version = api_version(request)
        body = await read_json(request)
        CINDER.check(_create_schema(version), body)
        spec = body["server"]
        min_count = _int(spec.get("min_count"), "min_count") or 1
        max_count = _int(spec.get("max_count"), "max_count") or min_count
        if min_count > max_count:
            raise BadRequest("min_count must be <= max_count")
        if spec.get("personality"):
            raise BadRequest("Personality files are not supported (removed in 2.57).")
        image_ref = spec.get("imageRef") or None
        if image_ref is not None:
            image_ref = image_ref.rstrip("/").rsplit("/", 1)[-1]
        new = NewServer(
            name=spec["name"], flavor_ref=str(spec["flavorRef"]), image_ref=image_ref,
            block_devices=_block_devices(spec), networks=spec.get("networks", "auto"),
            min_count=min_count, max_count=max_count, key_name=spec.get("key_name"),
            user_data=spec.get("user_data"), metadata=spec.get("metadata") or {},
            availability_zone=spec.get("availability_zone"),
            description=spec.get("description") if version >= V(2, 19) else None,
            config_drive=_bool(spec.get("config_drive", False)),
            access_ip_v4=spec.get("accessIPv4", ""), access_ip_v6=spec.get("accessIPv6", ""),
            hostname=spec.get("hostname") if version >= V(2, 90) else None)
        made = await run_in_threadpool(self.servers.create, context, new, _request_id(request))
        views = nova_views(request, context)
        if _bool(spec.get("return_reservation_id", False)):
            return _json({"reservation_id": made[0].reservation_id}, 202)
        first = made[0]
        reply: dict[str, Any] = {"id": first.id, "links": views.links("servers", first.id),
                                 "OS-DCF:diskConfig": "MANUAL",
                                 "security_groups": [{"name": "default"}]}
        # Nova's enable_instance_password (default on): the one asked for, or a new one
        reply["adminPass"] = spec.get("adminPass") or _password()
        return _json({"server": reply}, 202)

    async def update(self, request: Request) -> Response:
        context = await request_context(request)
        body = await read_json(request)
        CINDER.check(_UPDATE_SCHEMA, body)
        spec = body["server"]
        if "description" in spec and api_version(request) < V(2, 19):
            raise BadRequest("Invalid input for field/attribute server. Additional "
                             "properties are not allowed ('description' was unexpected)")
        changes = {k: spec[k] for k in ("name", "description", "hostname") if k in spec}
        if "accessIPv4" in spec:
            changes["access_ip_v4"] = spec["accessIPv4"]
        if "accessIPv6" in spec:
            changes["access_ip_v6"] = spec["accessIPv6"]
        done = await run_in_threadpool(self.servers.update, context,
                                       request.path_params["server_id"], changes)
        return _json({"server": server_update_view(done, nova_views(request, context))})

    async def delete(self, request: Request) -> Response:
        context = await request_context(request)
        await run_in_threadpool(self.servers.delete, context,
                                request.path_params["server_id"], _request_id(request))
        return Response(status_code=204)

    async def action(self, request: Request) -> Response:
        context = await request_context(request)
        server_id = request.path_params["server_id"]
        body = await read_json(request)
        if not isinstance(body, dict) or len(body) != 1:
            raise BadRequest("There is no such action: None")
        ((name, args),) = body.items()
        if name == "forceDelete":
            await run_in_threadpool(lambda: self.servers.delete(
                context, server_id, _request_id(request), force=True))
            return Response(status_code=202)
        if name == "createImage" and self.images is not None:
            return await self._create_image(request, context, server_id, body)
        if name in _MOVES and self.moves is not None:
            return await self._move(request, context, server_id, name, args)
        action = _ACTIONS.get(name)
        if action is None:
            if name not in _LATER:
                raise BadRequest(f"There is no such action: {name}")
            # Nova finds the server first: an unknown one is 404 whatever the action
            await run_in_threadpool(self.servers.get, context, server_id)
            raise BadRequest(f"The server action {name} is not available in shoal yet.")
        reason = None
        hard = False
        if action == "lock" and isinstance(args, dict):
            reason = args.get("locked_reason")
            if reason is not None and api_version(request) < V(2, 73):
                raise BadRequest("Invalid input for field/attribute lock. Additional "
                                 "properties are not allowed ('locked_reason' was unexpected)")
        if action == "reboot":
            kind = args.get("type") if isinstance(args, dict) else None
            if kind not in ("HARD", "SOFT", "hard", "soft"):
                raise BadRequest("Invalid input for field/attribute type. Value: "
                                 f"{kind}. '{kind}' is not one of ['HARD', 'Hard', 'hard', "
                                 "'SOFT', 'Soft', 'soft']")
            hard = kind.upper() == "HARD"
        await run_in_threadpool(lambda: self.servers.act(
            context, server_id, action, _request_id(request), reason=reason, hard=hard))
        return Response(status_code=202)

    async def _create_image(self, request: Request, context: RequestContext, server_id: str,
                            body: dict[str, Any]) -> Response:
        assert self.images is not None
        CINDER.check(_CREATE_IMAGE_SCHEMA, body)
        spec = body["createImage"]
        images = self.images
        image_id = await run_in_threadpool(lambda: images.create_image(
            context, server_id, spec["name"], spec.get("metadata") or {},
            _request_id(request)))
        if api_version(request) >= V(2, 45):
            return _json({"image_id": image_id}, 202)
        location = nova_views(request, context).links("images", image_id)[0]["href"]
        return Response(status_code=202, headers={"Location": location})

    async def _move(self, request: Request, context: RequestContext, server_id: str,
                    name: str, args: Any) -> Response:
        """``os-migrateLive``, ``migrate``, ``resize``, ``confirmResize``,
        ``revertResize``, ``evacuate`` (Nova's status codes)."""
        assert self.moves is not None
        moves, rid, version = self.moves, _request_id(request), api_version(request)
        spec = args if isinstance(args, dict) else {}
        CINDER.check(_MOVES[name], args)
        host = spec.get("host")
        if name == "os-migrateLive":
            await run_in_threadpool(moves.live_migrate, context, server_id, host, rid)
        elif name == "migrate":
            await run_in_threadpool(moves.migrate, context, server_id,
                                    host if version >= V(2, 56) else None, rid)
        elif name == "resize":
            await run_in_threadpool(moves.resize, context, server_id, str(spec["flavorRef"]),
                                    rid)
        elif name == "confirmResize":
            await run_in_threadpool(moves.confirm_resize, context, server_id, rid)
            return Response(status_code=204)
        elif name == "revertResize":
            await run_in_threadpool(moves.revert_resize, context, server_id, rid)
        else:
            await run_in_threadpool(lambda: moves.evacuate(
                context, server_id, host, rid, stop=version >= V(2, 95)))
            if version < V(2, 14):
                return _json({"adminPass": spec.get("adminPass") or _password()})
            return Response(status_code=200)
        return Response(status_code=202)

    # --- metadata ---------------------------------------------------------------------
    async def metadata(self, request: Request) -> Response:
        context = await request_context(request)
        server_id = request.path_params["server_id"]
        if request.method == "GET":
            found = await run_in_threadpool(self.servers.get, context, server_id)
            return _json({"metadata": dict(found.metadata)})
        body = await read_json(request)
        CINDER.check(_METADATA_SCHEMA, body)
        done = await run_in_threadpool(lambda: self.servers.set_metadata(
            context, server_id, body["metadata"], replace=request.method == "PUT"))
        return _json({"metadata": done})

    async def metadata_item(self, request: Request) -> Response:
        context = await request_context(request)
        server_id, key = request.path_params["server_id"], request.path_params["key"]
        if request.method == "DELETE":
            await run_in_threadpool(self.servers.delete_metadata, context, server_id, key)
            return Response(status_code=204)
        if request.method == "PUT":
            body = await read_json(request)
            CINDER.check(_META_ITEM_SCHEMA, body)
            if key not in body["meta"]:
                raise BadRequest("Request body and URI mismatch")
            await run_in_threadpool(lambda: self.servers.set_metadata(
                context, server_id, body["meta"], replace=False))
            return _json({"meta": body["meta"]})
        found = await run_in_threadpool(self.servers.get, context, server_id)
        if key not in found.metadata:
            raise errors.NotFound("Metadata item was not found")
        return _json({"meta": {key: found.metadata[key]}})

    # --- instance actions -------------------------------------------------------------
    async def instance_actions(self, request: Request) -> Response:
        context = await request_context(request)
        version = api_version(request)
        server_id = request.path_params["server_id"]
        found = await run_in_threadpool(lambda: self.servers.instance_actions(
            context, server_id, deleted=version >= V(2, 21)))
        body: dict[str, Any] = {}
        if version >= V(2, 58):  # paged, filtered on updated_at
            found, more = _action_page(request, found)
            if more:
                views = nova_views(request, context)
                body["links"] = [{"rel": "next", "href": views.next_link(
                    f"servers/{server_id}/os-instance-actions",
                    request.query_params.multi_items(), found[-1]["request_id"])}]
        body["instanceActions"] = [_action_body(a, version, context.is_admin) for a in found]
        return _json(body)

    async def instance_action(self, request: Request) -> Response:
        context = await request_context(request)
        version = api_version(request)
        found = await run_in_threadpool(lambda: self.servers.instance_action(
            context, request.path_params["server_id"], request.path_params["request_id"],
            deleted=version >= V(2, 21)))
        return _json({"instanceAction": _action_body(found, version, context.is_admin)})


def _action_page(request: Request, found: list[dict[str, Any]]
                 ) -> tuple[list[dict[str, Any]], bool]:
    """Nova's 2.58 paging of instance actions (newest first): ``changes-since`` /
    ``changes-before`` on ``updated_at``, ``marker`` a request id (unknown: 400), ``limit``
    (at most :data:`shoal.limits.compute_page_entries_max`); (page, whether more follow)."""
    params = request.query_params
    since = _when(params.get("changes-since"), "changes-since")
    before = _when(params.get("changes-before"), "changes-before")
    if since is not None:
        found = [a for a in found if _aware(a["updated_at"]) >= since]
    if before is not None:
        found = [a for a in found if _aware(a["updated_at"]) <= before]
    marker = params.get("marker")
    if marker is not None:
        ids = [a["request_id"] for a in found]
        if marker not in ids:
            raise BadRequest(f"Marker {marker} could not be found.")
        found = found[ids.index(marker) + 1:]
    limit = _int(params.get("limit"), "limit")
    cap = limits.compute_page_entries_max
    limit = cap if limit is None else min(limit, cap)
    return found[:limit], len(found) > limit


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: Actions Nova has that shoal has not built yet (400 says so, not "no such action").
_LATER: Final = frozenset({
    "createImage", "os-migrateLive", "migrate", "evacuate", "resize", "confirmResize",
    "revertResize", "rebuild", "os-getConsoleOutput", "shelve", "unshelve",
    "shelveOffload", "rescue", "unrescue", "changePassword", "createBackup",
    "os-resetState", "restore", "trigger_crash_dump", "addSecurityGroup",
    "removeSecurityGroup", "os-getVNCConsole", "os-getSerialConsole", "injectNetworkInfo",
    "resetNetwork"})


def _action_body(action: dict[str, Any], version: APIVersion, admin: bool = False
                 ) -> dict[str, Any]:
    """One instance action as Nova shows it at ``version``: ``updated_at`` from 2.58;
    events (the service gives them to a show, with ``traceback`` for admins only) for
    admins always and for others from 2.51; in each event ``hostId`` from 2.62, ``host``
    (2.62) and ``details`` (2.84, the error's text or null) for admins. Times are naive
    UTC with microseconds, as Nova's encoder writes them."""
    out = {k: v for k, v in action.items() if k not in ("updated_at", "events")}
    out["start_time"] = primitive_time(action["start_time"])
    if version >= V(2, 58):
        out["updated_at"] = primitive_time(action["updated_at"])
    events = action.get("events")
    if events is not None and (admin or version >= V(2, 51)):
        out["events"] = []
        for e in events:
            item = {"event": e["event"], "start_time": primitive_time(e["start_time"]),
                    "finish_time": primitive_time(e["finish_time"]), "result": e["result"]}
            if admin:
                item["traceback"] = e.get("traceback")
            if version >= V(2, 62):
                item["hostId"] = host_id(action["project_id"], e["host"])
                if admin:
                    item["host"] = e["host"] or ""
            if version >= V(2, 84) and admin:
                item["details"] = e.get("traceback") if e["result"] == "Error" else None
            out["events"].append(item)
    return out


def server_routes(servers: Servers, images: ServerImages | None = None,
                  moves: ServerMoves | None = None) -> list[BaseRoute]:
    """The server routes under ``/compute/v2.1`` (``createImage`` with ``images``, the
    migrations and resizes with ``moves``)."""
    h = _ServerHandlers(servers, images, moves)
    one = "/servers/{server_id}"
    table: Sequence[tuple[str, _Handler, Sequence[str]]] = (
        ("/servers", h.list, ("GET",)),
        ("/servers", h.create, ("POST",)),
        ("/servers/detail", h.detail, ("GET",)),
        (one, h.show, ("GET",)),
        (one, h.update, ("PUT",)),
        (one, h.delete, ("DELETE",)),
        (one + "/action", h.action, ("POST",)),
        (one + "/metadata", h.metadata, ("GET", "POST", "PUT")),
        (one + "/metadata/{key}", h.metadata_item, ("GET", "PUT", "DELETE")),
        (one + "/os-instance-actions", h.instance_actions, ("GET",)),
        (one + "/os-instance-actions/{request_id}", h.instance_action, ("GET",)),
    )
    return [Route(path, handler, methods=list(methods)) for path, handler, methods in table]
