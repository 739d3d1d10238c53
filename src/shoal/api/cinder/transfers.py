"""``os-volume-transfer`` and ``volume-transfers`` (3.55+): bodies and views.

Create ``{"transfer": {"volume_id": UUID, "name": str|null}}`` (``no_snapshots`` from 3.55
on ``/volume-transfers``); accept ``{"accept": {"auth_key": str}}``. Views per microversion:
``no_snapshots`` from 3.55, ``source_project_id``/``destination_project_id``/``accepted``
from 3.57, as Tempest's schemas expect.
"""

from __future__ import annotations

from typing import Any, Final

from shoal.api._microversion import APIVersion
from shoal.api.cinder import _validate as v
from shoal.api.cinder.viewcontext import ViewContext, cinder_time
from shoal.services.volume import TransferRecord

__all__ = ["parse_accept", "parse_transfer_create", "transfer_body", "transfers_body"]

NO_SNAPSHOTS: Final = APIVersion(3, 55)
PROJECTS_SHOWN: Final = APIVersion(3, 57)


_TRANSFER: Final = {"volume_id": v.UUID, "name": v.NULLABLE_STRING}
_CREATE: Final = v.body("transfer", v.obj(_TRANSFER, required=["volume_id"]))
_CREATE_NO_SNAPSHOTS: Final = v.body("transfer", v.obj(
    {**_TRANSFER, "no_snapshots": v.BOOLEAN}, required=["volume_id"]))
_ACCEPT: Final = v.body("accept", v.obj({"auth_key": {"type": "string", "minLength": 1}},
                                        required=["auth_key"]))


def parse_transfer_create(body: Any, *, allow_no_snapshots: bool
                          ) -> tuple[str, str | None, bool]:
    """The volume id, name and ``no_snapshots`` (``/volume-transfers`` only) of a create
    body, checked against Cinder's schema.

    Raises:
        BadRequest: another shape, a missing or bad ``volume_id``, a bad name (400).
    """
    v.check(_CREATE_NO_SNAPSHOTS if allow_no_snapshots else _CREATE, body)
    transfer = body["transfer"]
    return (str(transfer["volume_id"]), v.text(transfer, "name"),
            bool(v.flag(transfer, "no_snapshots")))


def parse_accept(body: Any) -> str:
    """The auth key of an accept body.

    Raises:
        BadRequest: no ``accept`` object or no string ``auth_key`` (400).
    """
    v.check(_ACCEPT, body)
    return str(body["accept"]["auth_key"])


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
