"""Cinder v3's volume type encryption (``/types/{id}/encryption``): requests, bodies and
handlers.

============================================  =================================  ======
request                                       does                               status
============================================  =================================  ======
``GET /types/{id}/encryption``                the type's encryption (``{}``:     200
                                              none)
``POST /types/{id}/encryption``               create                             200
``GET /types/{id}/encryption/{key}``          one field ``{key: value}``         200
``PUT /types/{id}/encryption/{encryption}``   update the fields sent             200
``DELETE /types/{id}/encryption/{enc}``       delete                             202
============================================  =================================  ======

As in Cinder, the encryption id in the URL of an update or delete is not read (a type has
one encryption); a create replies with the fields sent plus ``volume_type_id`` and
``encryption_id``, an update with the fields sent. The service
(:class:`~shoal.services.volume.VolumeEncryption`) enforces the policy (admins only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._errors import BadRequest
from shoal.api.cinder import _validate as v
from shoal.api.cinder.viewcontext import cinder_time
from shoal.limits import INT32_MAX
from shoal.services.volume import EncryptionRecord, EncryptionSpec, VolumeEncryption

__all__ = ["encryption_routes", "encryption_view", "parse_encryption"]

_FIELDS: Final = ("provider", "cipher", "key_size", "control_location")
_PROPERTIES: Final = {
    "key_size": {"type": ["string", "integer", "null"], "minimum": 0,
                 "maximum": INT32_MAX},
    "provider": {"type": "string", "minLength": 0, "maxLength": 255},
    "control_location": {"enum": ["front-end", "back-end"]},
    "cipher": {"type": ["string", "null"], "minLength": 0, "maxLength": 255},
}
_CREATE: Final = v.body("encryption", v.obj(_PROPERTIES, required=("provider",
                                                                  "control_location"),
                                            additional=True))
_UPDATE: Final = v.body("encryption", v.obj(_PROPERTIES, additional=True))

_Handler = Callable[[Request], Awaitable[Response]]


def _key_size(value: Any) -> int | None:
    """A ``key_size`` (bits) as an integer: an integer, a string of one, or None.

    Raises:
        BadRequest: a string that is no integer, or one out of 0..2**31-1.
    """
    if value is None or isinstance(value, int):
        return value
    try:
        number = int(str(value).strip())
    except ValueError:
        raise BadRequest("Invalid input received: key_size must be an integer.") from None
    if not 0 <= number <= INT32_MAX:
        raise BadRequest(f"Invalid input for field/attribute key_size. Value: {value}. "
                         f"It must be 0 to {INT32_MAX}.")
    return number


def parse_encryption(body: Any, *, create: bool) -> tuple[EncryptionSpec, dict[str, Any]]:
    """Check ``{"encryption": {...}}`` of a create (``provider`` and
    ``control_location`` required) or an update; return the spec and the fields sent
    (``key_size`` as an integer; other keys are ignored).

    Raises:
        BadRequest: another shape or a bad field.
    """
    v.check(_CREATE if create else _UPDATE, body)
    sent = {name: body["encryption"][name] for name in _FIELDS if name in body["encryption"]}
    if "key_size" in sent:
        sent["key_size"] = _key_size(sent["key_size"])
    spec = EncryptionSpec(provider=sent.get("provider"), cipher=sent.get("cipher"),
                          key_size=sent.get("key_size"),
                          control_location=sent.get("control_location"),
                          given=frozenset(sent))
    return spec, sent


def encryption_view(record: EncryptionRecord | None) -> dict[str, Any]:
    """The body of ``GET /types/{id}/encryption``: every field, ``{}`` without one."""
    if record is None:
        return {}
    return {
        "volume_type_id": record.volume_type_id,
        "encryption_id": record.encryption_id,
        "provider": record.provider,
        "cipher": record.cipher,
        "key_size": record.key_size,
        "control_location": record.control_location,
        "deleted": False,
        "created_at": cinder_time(record.created_at),
        "updated_at": cinder_time(record.updated_at),
        "deleted_at": None,
    }


class _Encryption:
    """The handlers (one instance per app)."""

    def __init__(self, encryption: VolumeEncryption) -> None:
        self.encryption = encryption

    async def show(self, request: Request) -> Response:
        context = await request_context(request)
        record = await run_in_threadpool(self.encryption.get, context,
                                         request.path_params["type_id"])
        return JSONResponse(encryption_view(record))

    async def create(self, request: Request) -> Response:
        context = await request_context(request)
        spec, sent = parse_encryption(await read_json(request), create=True)
        record = await run_in_threadpool(self.encryption.create, context,
                                         request.path_params["type_id"], spec)
        return JSONResponse({"encryption": {
            **sent, "volume_type_id": record.volume_type_id,
            "encryption_id": record.encryption_id}})

    async def show_item(self, request: Request) -> Response:
        context = await request_context(request)
        type_id = request.path_params["type_id"]
        key = request.path_params["key"]
        view = encryption_view(await run_in_threadpool(self.encryption.get, context, type_id))
        if key not in view:
            raise errors.NotFound(f"Volume type encryption for type {type_id} does not "
                                  "exist.")
        return JSONResponse({key: view[key]})

    async def update(self, request: Request) -> Response:
        context = await request_context(request)
        spec, sent = parse_encryption(await read_json(request), create=False)
        await run_in_threadpool(self.encryption.update, context,
                                request.path_params["type_id"], spec)
        return JSONResponse({"encryption": sent})

    async def delete(self, request: Request) -> Response:
        context = await request_context(request)
        await run_in_threadpool(self.encryption.delete, context,
                                request.path_params["type_id"])
        return Response(status_code=202)


def encryption_routes(encryption: VolumeEncryption) -> list[BaseRoute]:
    """The ``/types/{type_id}/encryption`` routes (see the module docstring)."""
    h = _Encryption(encryption)
    base = "/types/{type_id}/encryption"
    table: tuple[tuple[str, _Handler, tuple[str, ...]], ...] = (
        (base, h.show, ("GET",)),
        (base, h.create, ("POST",)),
        (base + "/{key}", h.show_item, ("GET",)),
        (base + "/{key}", h.update, ("PUT",)),
        (base + "/{key}", h.delete, ("DELETE",)),
    )
    return [Route(path, handler, methods=list(methods)) for path, handler, methods in table]
