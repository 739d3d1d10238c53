"""Cinder v3's ``/qos-specs`` (``qos_specs_manage``): requests, bodies and handlers.

=========================================  ======================================  ======
request                                    does                                    status
=========================================  ======================================  ======
``GET /qos-specs``                         every spec                              200
``POST /qos-specs``                        create (``name``, ``consumer``, keys)   200
``GET /qos-specs/{id}``                    one spec                                200
``PUT /qos-specs/{id}``                    set keys (``consumer`` too)             200
``DELETE /qos-specs/{id}?force=``          delete (``force``: even associated)     202
``PUT /qos-specs/{id}/delete_keys``        unset ``keys``                          202
``GET /qos-specs/{id}/associations``       the associated volume types             200
``GET /qos-specs/{id}/associate``          associate ``?vol_type_id=``             202
``GET /qos-specs/{id}/disassociate``       disassociate ``?vol_type_id=``          202
``GET /qos-specs/{id}/disassociate_all``   disassociate every type                 202
=========================================  ======================================  ======

A spec's body is ``{"qos_specs": {id, name, consumer, specs}, "links": [...]}``; the list
shows the inner objects. A set replies with the keys it was sent, as Cinder does. The
service (:class:`~shoal.services.volume.VolumeQos`) enforces the policy (admins only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._errors import BadRequest
from shoal.api.cinder import _validate as v
from shoal.api.cinder.admin_rules import parse_bool_text
from shoal.api.cinder.routes import view_context
from shoal.api.cinder.viewcontext import ViewContext
from shoal.services.volume import QosAssociation, QosSpecsRecord, VolumeQos

__all__ = [
    "QosCreate",
    "associations_body",
    "parse_qos_create",
    "parse_qos_keys",
    "parse_qos_set",
    "qos_routes",
    "qos_specs_body",
    "qos_specs_list_body",
]

#: Most characters of a spec's name once stripped (Cinder's
#: ``name_skip_leading_trailing_spaces``).
NAME_CHARS_MAX: Final = 255
_VALUE: Final = {"type": ["string", "null"], "maxLength": 255}
_CREATE: Final = v.body("qos_specs", v.obj({"name": {"type": "string"}}, required=("name",),
                                           additional=True))
_SET: Final = v.body("qos_specs", v.with_metadata_values(_VALUE))
_UNSET: Final = v.body("keys", {"type": "array", "uniqueItems": True, "items": {
    "type": "string", "minLength": 1, "maxLength": 255}})

_Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class QosCreate:
    """A checked ``POST /qos-specs``: the stripped name and the other keys (``consumer``
    among them when given)."""

    name: str
    specs: dict[str, str | None]


def parse_qos_create(body: Any) -> QosCreate:
    """Check ``{"qos_specs": {"name": N, key: value...}}``: a name of 1-255 characters
    once stripped; values strings (or null).

    Raises:
        BadRequest: another shape, a blank or too long name, a value that is no string.
    """
    v.check(_CREATE, body)
    specs = dict(body["qos_specs"])
    name = str(specs.pop("name")).strip()
    if not name:
        raise BadRequest("An invalid 'name' value was provided. The 'name' can not be empty.")
    if len(name) > NAME_CHARS_MAX:
        raise BadRequest("An invalid 'name' value was provided. The 'name' can not be greater"
                         f" than {NAME_CHARS_MAX} characters.")
    for key, value in specs.items():
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"Invalid input received: Value for key \"{key}\" is not a "
                             "string or unicode")
    return QosCreate(name, specs)


def parse_qos_set(body: Any) -> dict[str, str | None]:
    """Check ``{"qos_specs": {key: value}}`` of ``PUT /qos-specs/{id}`` (keys as extra
    specs', values strings of at most 255 characters or null).

    Raises:
        BadRequest: another shape or a bad key or value.
    """
    v.check(_SET, body)
    return dict(body["qos_specs"])


def parse_qos_keys(body: Any) -> list[str]:
    """Check ``{"keys": [key...]}`` of ``PUT /qos-specs/{id}/delete_keys`` (distinct keys
    of 1-255 characters).

    Raises:
        BadRequest: another shape.
    """
    v.check(_UNSET, body)
    return list(body["keys"])


def _view(spec: QosSpecsRecord) -> dict[str, Any]:
    return {"id": spec.id, "name": spec.name, "consumer": spec.consumer,
            "specs": dict(spec.specs)}


def qos_specs_body(spec: QosSpecsRecord, ctx: ViewContext) -> dict[str, Any]:
    """``{"qos_specs": {...}, "links": [...]}`` of a create or show."""
    return {"qos_specs": _view(spec), "links": ctx.links("qos-specs", spec.id)}


def qos_specs_list_body(specs: Iterable[QosSpecsRecord]) -> dict[str, Any]:
    """``{"qos_specs": [...]}`` of ``GET /qos-specs``."""
    return {"qos_specs": [_view(spec) for spec in specs]}


def associations_body(found: Iterable[QosAssociation]) -> dict[str, Any]:
    """``{"qos_associations": [{association_type, id, name}...]}``."""
    return {"qos_associations": [{"association_type": a.association_type, "id": a.id,
                                  "name": a.name} for a in found]}


def _type_id(request: Request) -> str:
    """The ``vol_type_id`` query parameter.

    Raises:
        BadRequest: it is missing or empty.
    """
    type_id = request.query_params.get("vol_type_id")
    if not type_id:
        raise BadRequest("Volume Type id must not be None.")
    return type_id


def _force(request: Request) -> bool:
    """The ``force`` query parameter of a delete (absent: False).

    Raises:
        BadRequest: a value that is no boolean.
    """
    value = request.query_params.get("force")
    if value is None:
        return False
    parsed = parse_bool_text(value)
    if parsed is None:
        raise BadRequest(f"Value '{value}' for 'force' is not a boolean.")
    return parsed


class _Qos:
    """The handlers (one instance per app)."""

    def __init__(self, qos: VolumeQos) -> None:
        self.qos = qos

    async def list_specs(self, request: Request) -> Response:
        context = await request_context(request)
        found = await run_in_threadpool(self.qos.list_specs, context)
        return JSONResponse(qos_specs_list_body(found))

    async def create(self, request: Request) -> Response:
        context = await request_context(request)
        new = parse_qos_create(await read_json(request))
        spec = await run_in_threadpool(self.qos.create, context, new.name, new.specs)
        return JSONResponse(qos_specs_body(spec, view_context(request, context)))

    async def show(self, request: Request) -> Response:
        context = await request_context(request)
        spec = await run_in_threadpool(self.qos.get, context, request.path_params["qos_id"])
        return JSONResponse(qos_specs_body(spec, view_context(request, context)))

    async def set_keys(self, request: Request) -> Response:
        context = await request_context(request)
        specs = parse_qos_set(await read_json(request))
        await run_in_threadpool(self.qos.set_keys, context, request.path_params["qos_id"],
                                specs)
        return JSONResponse({"qos_specs": specs})

    async def delete(self, request: Request) -> Response:
        context = await request_context(request)
        force = _force(request)
        await run_in_threadpool(lambda: self.qos.delete(
            context, request.path_params["qos_id"], force=force))
        return Response(status_code=202)

    async def unset_keys(self, request: Request) -> Response:
        context = await request_context(request)
        keys = parse_qos_keys(await read_json(request))
        await run_in_threadpool(self.qos.unset_keys, context, request.path_params["qos_id"],
                                keys)
        return Response(status_code=202)

    async def associations(self, request: Request) -> Response:
        context = await request_context(request)
        found = await run_in_threadpool(self.qos.associations, context,
                                        request.path_params["qos_id"])
        return JSONResponse(associations_body(found))

    async def associate(self, request: Request) -> Response:
        context = await request_context(request)
        type_id = _type_id(request)
        await run_in_threadpool(self.qos.associate, context, request.path_params["qos_id"],
                                type_id)
        return Response(status_code=202)

    async def disassociate(self, request: Request) -> Response:
        context = await request_context(request)
        type_id = _type_id(request)
        await run_in_threadpool(self.qos.disassociate, context,
                                request.path_params["qos_id"], type_id)
        return Response(status_code=202)

    async def disassociate_all(self, request: Request) -> Response:
        context = await request_context(request)
        await run_in_threadpool(self.qos.disassociate_all, context,
                                request.path_params["qos_id"])
        return Response(status_code=202)


def qos_routes(qos: VolumeQos) -> list[BaseRoute]:
    """The ``/qos-specs`` routes under ``/volume/v3`` (see the module docstring)."""
    h = _Qos(qos)
    one = "/qos-specs/{qos_id}"
    table: tuple[tuple[str, _Handler, str], ...] = (
        ("/qos-specs", h.list_specs, "GET"),
        ("/qos-specs", h.create, "POST"),
        (one, h.show, "GET"),
        (one, h.set_keys, "PUT"),
        (one, h.delete, "DELETE"),
        (one + "/delete_keys", h.unset_keys, "PUT"),
        (one + "/associations", h.associations, "GET"),
        (one + "/associate", h.associate, "GET"),
        (one + "/disassociate", h.disassociate, "GET"),
        (one + "/disassociate_all", h.disassociate_all, "GET"),
    )
    return [Route(path, handler, methods=[method]) for path, handler, method in table]
