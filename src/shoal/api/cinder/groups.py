"""Cinder v3's generic volume groups: ``/group_types`` (3.11+, with ``group_specs``),
``/groups`` (3.13+; ``create-from-src`` 3.14, ``reset_status`` 3.20) and
``/group_snapshots`` (3.14+; ``reset_status`` 3.19), over
:class:`shoal.services.volume.VolumeGroups` (which enforces the policy and rules).

Bodies follow Cinder's views: a group shows ``group_snapshot_id``/``source_group_id`` from
3.14, ``volumes`` from 3.25 when asked (``list_volume=true``), ``replication_status`` from
3.38, ``project_id`` to admins from 3.58 (a group snapshot too); a group type shows its
``group_specs`` to admins only. Lists sort by ``sort=key:dir`` (default ``created_at``
descending) and page with ``limit``/``marker``/``offset``; other parameters filter on equal
values.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._errors import BadRequest
from shoal.api._ids import uuid_or_not_found
from shoal.api._microversion import APIVersion, api_version
from shoal.api.cinder import _validate as v
from shoal.api.cinder import microversions as mv
from shoal.api.cinder.admin_rules import parse_bool_text, parse_is_public
from shoal.api.cinder.routes import view_context
from shoal.api.cinder.viewcontext import ViewContext, cinder_time
from shoal.services.volume import ALL_TYPES, VolumeServices
from shoal.services.volume._groups import (
    GROUP_SNAPSHOT_STATUSES,
    GroupRecord,
    GroupSnapshotRecord,
    GroupTypeRecord,
)

__all__ = ["group_routes"]

GROUP_TYPE: Final = APIVersion(3, 11)
GROUP_VOLUME: Final = mv.GROUP_VOLUME
GROUP_SNAPSHOTS: Final = mv.GROUP_SNAPSHOTS
GROUP_SNAPSHOT_RESET_STATUS: Final = APIVersion(3, 19)
GROUP_VOLUME_RESET_STATUS: Final = APIVersion(3, 20)
GROUP_VOLUME_LIST: Final = APIVersion(3, 25)
GROUP_REPLICATION: Final = APIVersion(3, 38)
GROUP_GROUPSNAPSHOT_PROJECT_ID: Final = APIVersion(3, 58)

_Handler = Callable[[Request], Awaitable[Response]]
_R = TypeVar("_R")
_PAGING: Final = ("limit", "marker", "offset", "sort", "sort_key", "sort_dir")

# --- request bodies (Cinder's schemas) ---------------------------------------------------
_SPECS: Final = {"type": "object", "patternProperties": {
    "^[a-zA-Z0-9-_:.]{1,255}$": {"type": ["string", "null"], "maxLength": 255}},
    "additionalProperties": False}
_TYPE_CREATE: Final = v.body("group_type", v.obj(
    {"name": v.NAME, "description": v.DESCRIPTION, "is_public": v.BOOLEAN,
     "group_specs": {**v.METADATA_OR_NULL}}, required=["name"]))
_TYPE_UPDATE: Final = v.body("group_type", v.obj(
    {"name": v.NULLABLE_STRING, "description": v.DESCRIPTION, "is_public": v.BOOLEAN}))
_SPECS_CREATE: Final = v.body("group_specs", _SPECS)
_SPEC_UPDATE: Final = {**_SPECS, "minProperties": 1, "maxProperties": 1}
_GROUP_CREATE: Final = v.body("group", v.obj(
    {"description": v.DESCRIPTION, "group_type": {"type": "string"},
     "name": v.NULLABLE_STRING,
     "volume_types": {"type": "array", "minItems": 1, "uniqueItems": True,
                      "items": {"type": "string", "maxLength": 255}},
     "availability_zone": {"type": ["string", "null"]}},
    required=["group_type", "volume_types"]))
_GROUP_FROM_SOURCE: Final = v.body("create-from-src", {
    **v.obj({"description": v.DESCRIPTION, "name": v.NULLABLE_STRING,
             "source_group_id": v.UUID, "group_snapshot_id": v.UUID}),
    "oneOf": [{"required": ["group_snapshot_id"]}, {"required": ["source_group_id"]}]})
_GROUP_UPDATE: Final = v.body("group", {
    **v.obj({"description": v.DESCRIPTION, "name": v.NULLABLE_STRING,
             "add_volumes": v.DESCRIPTION, "remove_volumes": v.DESCRIPTION}),
    "anyOf": [{"required": [k]} for k in ("name", "description", "add_volumes",
                                          "remove_volumes")]})
_GROUP_DELETE: Final = v.body("delete", v.obj({"delete-volumes": v.BOOLEAN}))
_RESET: Final = v.body("reset_status", v.obj({"status": {"type": "string"}},
                                             required=["status"]))
_SNAPSHOT_CREATE: Final = v.body("group_snapshot", v.obj(
    {"group_id": v.UUID, "name": v.NULLABLE_STRING, "description": v.DESCRIPTION},
    required=["group_id"]))


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def _stripped(obj: Mapping[str, Any], key: str) -> str | None:
    """Cinder strips group names and descriptions (an empty one stays empty)."""
    return v.text(obj, key, strip=True)


# --- views -------------------------------------------------------------------------------
def group_type_view(record: GroupTypeRecord, ctx: ViewContext) -> dict[str, Any]:
    """A group type; ``group_specs`` for admins only (``access_group_types_specs``)."""
    view: dict[str, Any] = {"id": record.id, "name": record.name,
                            "description": record.description, "is_public": record.is_public}
    if ctx.is_admin:
        view["group_specs"] = dict(record.specs)
    return view


def group_view(record: GroupRecord, ctx: ViewContext, *, detail: bool,
               list_volume: bool = False) -> dict[str, Any]:
    """A group, summary (``id``, ``name``) or detailed for the caller's microversion."""
    if not detail:
        return {"id": record.id, "name": record.name}
    view: dict[str, Any] = {
        "id": record.id, "status": record.status,
        "availability_zone": record.availability_zone,
        "created_at": cinder_time(record.created_at), "name": record.name,
        "description": record.description, "group_type": record.group_type_id,
        "volume_types": list(record.volume_type_ids)}
    if ctx.at_least(GROUP_SNAPSHOTS):
        view["group_snapshot_id"] = record.group_snapshot_id
        view["source_group_id"] = record.source_group_id
    if ctx.at_least(GROUP_VOLUME_LIST) and list_volume:
        view["volumes"] = list(record.volume_ids)
    if ctx.at_least(GROUP_REPLICATION):
        view["replication_status"] = record.replication_status
    if ctx.at_least(GROUP_GROUPSNAPSHOT_PROJECT_ID) and ctx.is_admin:
        view["project_id"] = record.project_id
    return view


def group_snapshot_view(record: GroupSnapshotRecord, ctx: ViewContext, *, detail: bool
                        ) -> dict[str, Any]:
    """A group snapshot, summary (``id``, ``name``, ``group_type_id``) or detailed."""
    if not detail:
        return {"id": record.id, "name": record.name, "group_type_id": record.group_type_id}
    view: dict[str, Any] = {
        "id": record.id, "group_id": record.group_id, "group_type_id": record.group_type_id,
        "status": record.status, "created_at": cinder_time(record.created_at),
        "name": record.name, "description": record.description}
    if ctx.at_least(GROUP_GROUPSNAPSHOT_PROJECT_ID) and ctx.is_admin:
        view["project_id"] = record.project_id
    return view


# --- listing -----------------------------------------------------------------------------
def _listed(records: Sequence[_R], params: Sequence[tuple[str, str]], *,
            fields: Callable[[_R], Mapping[str, Any]], ignored: Sequence[str] = ()
            ) -> list[_R]:
    """Filter (equal values), sort (``sort=k:dir,...`` or ``sort_key``/``sort_dir``) and page
    (``marker``, ``offset``, ``limit``) as Cinder's list calls do.

    Raises:
        BadRequest: an unknown sort key or direction, a bad ``limit``/``offset``, an unknown
            ``marker``.
    """
    query = dict(params)
    items = list(records)
    for key, value in query.items():
        if key in _PAGING or key in ignored:
            continue
        items = [r for r in items if str(fields(r).get(key, value)) == value]
    for key, direction in reversed(_sort_keys(query)):
        if items and key not in fields(items[0]):
            raise BadRequest(f"Invalid input received: sort key {key} is not valid")
        items.sort(key=functools.partial(_sort_value, fields, key),
                   reverse=direction == "desc")
    if "marker" in query:
        ids = [fields(r)["id"] for r in items]
        if query["marker"] not in ids:
            raise BadRequest(f"Invalid input received: marker [{query['marker']}] not found")
        items = items[ids.index(query["marker"]) + 1:]
    offset = _count(query, "offset")
    limit = _count(query, "limit")
    items = items[offset or 0:]
    return items if limit is None else items[:limit]


def _sort_value(fields: Callable[[Any], Mapping[str, Any]], key: str, record: Any
                ) -> tuple[bool, Any]:
    """A record's sort value for ``key`` (None sorts first)."""
    value = fields(record)[key]
    return (value is not None, value if value is not None else "")


def _sort_keys(query: Mapping[str, str]) -> list[tuple[str, str]]:
    if "sort" in query:
        pairs = [[*part.split(":", 1), "asc"][:2] for part in query["sort"].split(",")
                 if part.strip()]
    else:
        keys = query.get("sort_key", "created_at").split(",")
        dirs = query.get("sort_dir", "desc").split(",")
        pairs = [[k, dirs[i] if i < len(dirs) else dirs[-1]] for i, k in enumerate(keys)]
    out = [(k.strip(), d.strip().lower()) for k, d in pairs]
    for _key, direction in out:
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid input received: Invalid sort dir {direction}")
    return out


def _count(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest(f"Invalid input received: {name} param must be an integer")
    return int(value)


def _type_fields(r: GroupTypeRecord) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "description": r.description,
            "is_public": r.is_public, "created_at": r.created_at}


def _group_fields(r: GroupRecord) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "description": r.description, "status": r.status,
            "availability_zone": r.availability_zone, "group_type_id": r.group_type_id,
            "group_type": r.group_type_id, "created_at": r.created_at,
            "project_id": r.project_id, "host": r.host}


def _snapshot_fields(r: GroupSnapshotRecord) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "description": r.description, "status": r.status,
            "group_id": r.group_id, "group_type_id": r.group_type_id,
            "created_at": r.created_at, "project_id": r.project_id}


def _bool_param(value: str | None) -> bool:
    return value is not None and parse_bool_text(value) is True


class _Groups:
    """The handlers (one instance per app)."""

    def __init__(self, services: VolumeServices) -> None:
        self.groups = services.groups

    @staticmethod
    async def _context(request: Request, minimum: APIVersion) -> tuple[Any, ViewContext]:
        context = await request_context(request)
        mv.require_version(api_version(request), minimum)
        return context, view_context(request, context)

    # --- group types -----------------------------------------------------------------------
    async def create_type(self, request: Request) -> Response:
        context, ctx = await self._context(request, GROUP_TYPE)
        raw = await read_json(request)
        v.check(_TYPE_CREATE, raw)
        body = raw["group_type"]
        is_public = v.flag(body, "is_public")
        record = await run_in_threadpool(lambda: self.groups.create_type(
            context, body["name"], description=v.text(body, "description"),
            is_public=True if is_public is None else is_public,
            specs=body.get("group_specs") or {}))
        return _json({"group_type": group_type_view(record, ctx)}, 202)

    async def list_types(self, request: Request) -> Response:
        context, ctx = await self._context(request, GROUP_TYPE)
        params = list(request.query_params.multi_items())
        wanted = parse_is_public(request.query_params.get("is_public"))
        is_public = None if wanted == ALL_TYPES else bool(wanted)
        records = await run_in_threadpool(self.groups.list_types, context, is_public)
        items = _listed(records, params, fields=_type_fields, ignored=("is_public",))
        return _json({"group_types": [group_type_view(r, ctx) for r in items]})

    async def show_type(self, request: Request) -> Response:
        context, ctx = await self._context(request, GROUP_TYPE)
        ref = request.path_params["group_type_id"]
        if ref == "default":
            record = await run_in_threadpool(self.groups.get_default_type, context)
        else:
            record = await run_in_threadpool(self.groups.get_type, context, ref)
        return _json({"group_type": group_type_view(record, ctx)})

    async def update_type(self, request: Request) -> Response:
        context, ctx = await self._context(request, GROUP_TYPE)
        raw = await read_json(request)
        v.check(_TYPE_UPDATE, raw)
        body = raw["group_type"]
        record = await run_in_threadpool(lambda: self.groups.update_type(
            context, request.path_params["group_type_id"], name=v.text(body, "name"),
            description=v.text(body, "description"), is_public=v.flag(body, "is_public")))
        return _json({"group_type": group_type_view(record, ctx)})

    async def delete_type(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_TYPE)
        await run_in_threadpool(self.groups.delete_type, context,
                                request.path_params["group_type_id"])
        return Response(status_code=202)

    # --- group specs -----------------------------------------------------------------------
    async def list_specs(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_TYPE)
        specs = await run_in_threadpool(self.groups.specs, context,
                                        request.path_params["group_type_id"])
        return _json({"group_specs": specs})

    async def create_specs(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_TYPE)
        raw = await read_json(request)
        v.check(_SPECS_CREATE, raw)
        await run_in_threadpool(self.groups.set_specs, context,
                                request.path_params["group_type_id"], raw["group_specs"])
        return _json({"group_specs": raw["group_specs"]}, 202)

    async def show_spec(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_TYPE)
        key = request.path_params["key"]
        value = await run_in_threadpool(self.groups.spec, context,
                                        request.path_params["group_type_id"], key)
        return _json({key: value})

    async def update_spec(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_TYPE)
        raw = await read_json(request)
        v.check(_SPEC_UPDATE, raw)
        if request.path_params["key"] not in raw:
            raise BadRequest("Request body and URI mismatch")
        await run_in_threadpool(lambda: self.groups.set_specs(
            context, request.path_params["group_type_id"], raw,
            action="group:group_types_specs:update"))
        return _json(raw)

    async def delete_spec(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_TYPE)
        await run_in_threadpool(self.groups.delete_spec, context,
                                request.path_params["group_type_id"],
                                request.path_params["key"])
        return Response(status_code=202)

    # --- groups ----------------------------------------------------------------------------
    async def create_group(self, request: Request) -> Response:
        context, ctx = await self._context(request, GROUP_VOLUME)
        raw = await read_json(request)
        v.check(_GROUP_CREATE, raw)
        body = raw["group"]
        record = await run_in_threadpool(lambda: self.groups.create_group(
            context, group_type=body["group_type"], volume_types=body["volume_types"],
            name=_stripped(body, "name"), description=_stripped(body, "description"),
            availability_zone=v.text(body, "availability_zone")))
        return _json({"group": group_view(record, ctx, detail=False)}, 202)

    async def create_from_source(self, request: Request) -> Response:
        context, ctx = await self._context(request, GROUP_SNAPSHOTS)
        raw = await read_json(request)
        v.check(_GROUP_FROM_SOURCE, raw)
        body = raw["create-from-src"]
        record = await run_in_threadpool(lambda: self.groups.create_group_from_source(
            context, name=_stripped(body, "name"), description=_stripped(body, "description"),
            group_snapshot_id=v.uuid_text(body, "group_snapshot_id"),
            source_group_id=v.uuid_text(body, "source_group_id")))
        return _json({"group": group_view(record, ctx, detail=False)}, 202)

    async def _list_groups(self, request: Request, *, detail: bool) -> Response:
        context, ctx = await self._context(request, GROUP_VOLUME)
        params = list(request.query_params.multi_items())
        all_projects = context.is_admin and _bool_param(
            request.query_params.get("all_tenants"))
        records = await run_in_threadpool(lambda: self.groups.list_groups(
            context, all_projects=all_projects))
        items = _listed(records, params, fields=_group_fields,
                        ignored=("all_tenants", "list_volume"))
        list_volume = _bool_param(request.query_params.get("list_volume"))
        return _json({"groups": [group_view(r, ctx, detail=detail, list_volume=list_volume)
                                 for r in items]})

    async def list_groups(self, request: Request) -> Response:
        return await self._list_groups(request, detail=False)

    async def list_groups_detail(self, request: Request) -> Response:
        return await self._list_groups(request, detail=True)

    async def show_group(self, request: Request) -> Response:
        context, ctx = await self._context(request, GROUP_VOLUME)
        group_id = uuid_or_not_found(request.path_params["group_id"], "Group")
        record = await run_in_threadpool(self.groups.get_group, context, group_id)
        list_volume = _bool_param(request.query_params.get("list_volume"))
        return _json({"group": group_view(record, ctx, detail=True, list_volume=list_volume)})

    async def update_group(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_VOLUME)
        group_id = uuid_or_not_found(request.path_params["group_id"], "Group")
        raw = await read_json(request)
        v.check(_GROUP_UPDATE, raw)
        body = raw["group"]
        await run_in_threadpool(lambda: self.groups.update_group(
            context, group_id, name=_stripped(body, "name"),
            description=_stripped(body, "description"),
            add_volumes=v.text(body, "add_volumes"),
            remove_volumes=v.text(body, "remove_volumes")))
        return Response(status_code=202)

    async def group_action(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_VOLUME)
        group_id = uuid_or_not_found(request.path_params["group_id"], "Group")
        raw = await read_json(request)
        if isinstance(raw, dict) and "reset_status" in raw:
            mv.require_version(api_version(request), GROUP_VOLUME_RESET_STATUS)
            v.check(_RESET, raw)
            status = str(raw["reset_status"]["status"]).lower()
            await run_in_threadpool(self.groups.reset_group_status, context, group_id, status)
            return Response(status_code=202)
        if isinstance(raw, dict) and "delete" in raw:
            v.check(_GROUP_DELETE, raw)
            delete_volumes = v.flag(raw["delete"], "delete-volumes") or False
            await run_in_threadpool(lambda: self.groups.delete_group(
                context, group_id, delete_volumes=delete_volumes))
            return Response(status_code=202)
        raise BadRequest("There is no such action: the group actions served are delete and "
                         "reset_status.")

    # --- group snapshots -------------------------------------------------------------------
    async def create_snapshot(self, request: Request) -> Response:
        context, ctx = await self._context(request, GROUP_SNAPSHOTS)
        raw = await read_json(request)
        v.check(_SNAPSHOT_CREATE, raw)
        body = raw["group_snapshot"]
        group_id = v.uuid_text(body, "group_id")
        assert group_id is not None  # required by the schema
        record = await run_in_threadpool(lambda: self.groups.create_group_snapshot(
            context, group_id, name=v.text(body, "name"),
            description=v.text(body, "description")))
        return _json({"group_snapshot": group_snapshot_view(record, ctx, detail=False)}, 202)

    async def _list_snapshots(self, request: Request, *, detail: bool) -> Response:
        context, ctx = await self._context(request, GROUP_SNAPSHOTS)
        params = list(request.query_params.multi_items())
        if not ctx.at_least(APIVersion(3, 29)):
            params = [(k, val) for k, val in params if k == "all_tenants"]
        all_projects = context.is_admin and _bool_param(
            request.query_params.get("all_tenants"))
        records = await run_in_threadpool(lambda: self.groups.list_group_snapshots(
            context, all_projects=all_projects))
        items = _listed(records, params, fields=_snapshot_fields, ignored=("all_tenants",))
        views = [group_snapshot_view(r, ctx, detail=detail) for r in items]
        if not detail:
            for view in views:
                view.pop("group_type_id", None)
        return _json({"group_snapshots": views})

    async def list_snapshots(self, request: Request) -> Response:
        return await self._list_snapshots(request, detail=False)

    async def list_snapshots_detail(self, request: Request) -> Response:
        return await self._list_snapshots(request, detail=True)

    async def show_snapshot(self, request: Request) -> Response:
        context, ctx = await self._context(request, GROUP_SNAPSHOTS)
        snapshot_id = uuid_or_not_found(request.path_params["group_snapshot_id"],
                                        "GroupSnapshot")
        record = await run_in_threadpool(self.groups.get_group_snapshot, context, snapshot_id)
        return _json({"group_snapshot": group_snapshot_view(record, ctx, detail=True)})

    async def delete_snapshot(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_SNAPSHOTS)
        snapshot_id = uuid_or_not_found(request.path_params["group_snapshot_id"],
                                        "GroupSnapshot")
        await run_in_threadpool(self.groups.delete_group_snapshot, context, snapshot_id)
        return Response(status_code=202)

    async def snapshot_action(self, request: Request) -> Response:
        context, _ctx = await self._context(request, GROUP_SNAPSHOT_RESET_STATUS)
        snapshot_id = uuid_or_not_found(request.path_params["group_snapshot_id"],
                                        "GroupSnapshot")
        raw = await read_json(request)
        v.check(_RESET, raw)
        status = str(raw["reset_status"]["status"]).lower()
        if status not in GROUP_SNAPSHOT_STATUSES:
            raise BadRequest(f"Group snapshot status: {status} is invalid, valid statuses "
                             f"are: {GROUP_SNAPSHOT_STATUSES}.")
        await run_in_threadpool(self.groups.reset_group_snapshot_status, context,
                                snapshot_id, status)
        return Response(status_code=202)


def group_routes(services: VolumeServices) -> list[BaseRoute]:
    """The group routes under ``/volume/v3`` (joined into ``volume_routes``)."""
    h = _Groups(services)
    gtype = "/group_types/{group_type_id}"
    group = "/groups/{group_id}"
    gsnap = "/group_snapshots/{group_snapshot_id}"
    table: Sequence[tuple[str, _Handler, str]] = (
        ("/group_types", h.create_type, "POST"),
        ("/group_types", h.list_types, "GET"),
        (gtype, h.show_type, "GET"),
        (gtype, h.update_type, "PUT"),
        (gtype, h.delete_type, "DELETE"),
        (gtype + "/group_specs", h.list_specs, "GET"),
        (gtype + "/group_specs", h.create_specs, "POST"),
        (gtype + "/group_specs/{key}", h.show_spec, "GET"),
        (gtype + "/group_specs/{key}", h.update_spec, "PUT"),
        (gtype + "/group_specs/{key}", h.delete_spec, "DELETE"),
        ("/groups", h.create_group, "POST"),
        ("/groups", h.list_groups, "GET"),
        ("/groups/detail", h.list_groups_detail, "GET"),
        ("/groups/action", h.create_from_source, "POST"),
        (group, h.show_group, "GET"),
        (group, h.update_group, "PUT"),
        (group + "/action", h.group_action, "POST"),
        ("/group_snapshots", h.create_snapshot, "POST"),
        ("/group_snapshots", h.list_snapshots, "GET"),
        ("/group_snapshots/detail", h.list_snapshots_detail, "GET"),
        (gsnap, h.show_snapshot, "GET"),
        (gsnap, h.delete_snapshot, "DELETE"),
        (gsnap + "/action", h.snapshot_action, "POST"),
    )
    return [Route(path, handler, methods=[method]) for path, handler, method in table]
