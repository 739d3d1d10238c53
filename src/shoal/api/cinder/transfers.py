"""``os-volume-transfer`` and ``volume-transfers`` (3.55+): bodies and views.

Create ``{"transfer": {"volume_id": UUID, "name": str|null}}`` (``no_snapshots`` from 3.55
on ``/volume-transfers``); accept ``{"accept": {"auth_key": str}}``. Views per microversion:
``no_snapshots`` from 3.55, ``source_project_id``/``destination_project_id``/``accepted``
from 3.57, as Tempest's schemas expect.
"""

from __future__ import annotations

from typing import Any, Final

from shoal.api._errors import BadRequest
from shoal.api._microversion import APIVersion
from shoal.api.cinder import _validate as v
from shoal.api.cinder.viewcontext import ViewContext, cinder_time
from shoal.services.volume import TransferRecord

__all__ = ["parse_accept", "parse_transfer_create", "transfer_body", "transfers_body"]

NO_SNAPSHOTS: Final = APIVersion(3, 55)
PROJECTS_SHOWN: Final = APIVersion(3, 57)


def parse_transfer_create(body: Any, *, allow_no_snapshots: bool
                          ) -> tuple[str, str | None, bool]:
    """The volume id, name and ``no_snapshots`` (``/volume-transfers`` only) of a create
    body.

    Raises:
        BadRequest: another shape, a missing or bad ``volume_id``, a bad name (400).
    """
    transfer = v.require_object(body, "transfer")
    keys: tuple[str, ...] = ("volume_id", "name")
    if allow_no_snapshots:
        keys += ("no_snapshots",)
    v.check_keys(transfer, keys, "'transfer'")
    name = transfer.get("name")
    if name is not None and (not isinstance(name, str) or len(name.strip()) > 255):
        raise v.invalid("name", name, "'name' must be a string of at most 255 characters.")
    no_snapshots = transfer.get("no_snapshots", False)
    if not isinstance(no_snapshots, bool):
        raise v.invalid("no_snapshots", no_snapshots, "'no_snapshots' must be a boolean.")
    return v.require_uuid(transfer, "volume_id"), name, no_snapshots


def parse_accept(body: Any) -> str:
    """The auth key of an accept body.

    Raises:
        BadRequest: no ``accept`` object or no string ``auth_key`` (400).
    """
    accept = v.require_object(body, "accept")
    key = accept.get("auth_key")
    if not isinstance(key, str) or not key:
        raise BadRequest("Incorrect request body format: 'auth_key' is required.")
    return key


def _view(record: TransferRecord, ctx: ViewContext, *, collection: str, detail: bool,
          version: APIVersion | None, accept: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {"id": record.id, "name": record.name,
                            "volume_id": record.volume_id,
                            "links": ctx.links(collection, record.id)}
    if accept:
        return view
    if detail:
        view["created_at"] = cinder_time(record.created_at)
        if version is not None and version >= NO_SNAPSHOTS:
            view["no_snapshots"] = record.no_snapshots
        if version is not None and version >= PROJECTS_SHOWN:
            view["source_project_id"] = record.source_project_id
            view["destination_project_id"] = record.destination_project_id
            view["accepted"] = record.accepted
    if record.auth_key is not None:
        view["auth_key"] = record.auth_key
    return view


def transfer_body(record: TransferRecord, ctx: ViewContext, *, collection: str,
                  version: APIVersion | None, accept: bool = False) -> dict[str, Any]:
    """``{"transfer": ...}`` of create (with ``auth_key``), show, or accept (short).

    ``version`` None: the bodies of ``os-volume-transfer``, which never change."""
    return {"transfer": _view(record, ctx, collection=collection, detail=True,
                              version=version, accept=accept)}


def transfers_body(records: list[TransferRecord], ctx: ViewContext, *, collection: str,
                   detail: bool, version: APIVersion | None) -> dict[str, Any]:
    """``{"transfers": [...]}`` of the list (summaries) or ``/detail``."""
    return {"transfers": [_view(r, ctx, collection=collection, detail=detail,
                                version=version) for r in records]}
