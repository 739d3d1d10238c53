"""``POST /volumes/{id}/action``, ``/snapshots/{id}/action``, ``/backups/{id}/action``:
which action, with which checked arguments.

The body holds exactly one key, the action's name (Cinder: "Malformed request body"
otherwise; an unknown name is "There is no such action"). Each parser returns one of
the frozen action records below; the service matches on its type::

    match parse_volume_action(body, version):
        case ExtendVolume(new_size=size): ...
        case SetBootable(bootable=flag): ...

Who may run which action (admins for ``os-reset_status``, ``os-force_delete``,
``os-force_detach``, ``os-migrate...``) and whether the resource's state allows it are
the service's checks. An action newer than the request's microversion is a 404, as in
Cinder (``revert`` needs 3.40, ``os-reimage`` 3.68).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from shoal.api._errors import BadRequest
from shoal.api._microversion import APIVersion
from shoal.api.cinder import _validate as v
from shoal.api.cinder import microversions as mv
from shoal.api.cinder.viewcontext import cinder_time
from shoal.services.volume._upload import UploadRequest, UploadStarted
from shoal.services.volume.records import SNAPSHOT_STATUSES

__all__ = [
    "DISK_FORMATS",
    "SIMPLE_VOLUME_ACTIONS",
    "AttachVolume",
    "CompleteAttachment",
    "DetachVolume",
    "ExtendVolume",
    "ForceDelete",
    "ForceDetach",
    "InitializeConnection",
    "ReimageVolume",
    "ResetStatus",
    "RetypeVolume",
    "RevertVolume",
    "SetBootable",
    "SetImageMetadata",
    "ShowImageMetadata",
    "SimpleVolumeAction",
    "TerminateConnection",
    "UnsetImageMetadata",
    "UpdateReadonly",
    "UpdateSnapshotStatus",
    "UploadToImage",
    "action_name",
    "parse_attachment_action",
    "parse_backup_action",
    "parse_snapshot_action",
    "parse_volume_action",
    "upload_image_body",
]

#: Disk formats ``os-volume_upload_image`` may write.
DISK_FORMATS: Final = ("raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop")
#: Actions whose body carries nothing Cinder reads.
SIMPLE_VOLUME_ACTIONS: Final = ("os-reserve", "os-unreserve", "os-begin_detaching",
                                "os-roll_detaching")
_VISIBILITIES: Final = ("community", "public", "private", "shared")
_UPLOAD_VISIBILITY: Final = APIVersion(3, 1)
_REIMAGE_VERSION: Final = APIVersion(3, 68)


@dataclass(frozen=True)
class ExtendVolume:
    """``os-extend``: grow the volume to ``new_size`` GiB."""

    new_size: int


@dataclass(frozen=True)
class ResetStatus:
    """``os-reset_status`` (admins): the fields to force, lower case; None: unchanged.
    Snapshots and backups only have ``status``."""

    status: str | None = None
    attach_status: str | None = None
    migration_status: str | None = None


@dataclass(frozen=True)
class SetBootable:
    """``os-set_bootable``."""

    bootable: bool


@dataclass(frozen=True)
class UpdateReadonly:
    """``os-update_readonly_flag``: the volume's ``readonly`` admin metadata."""

    readonly: bool


@dataclass(frozen=True)
class RevertVolume:
    """``revert`` (3.40): back to ``snapshot_id``, which must be the latest snapshot."""

    snapshot_id: str


@dataclass(frozen=True)
class ForceDelete:
    """``os-force_delete`` (admins)."""


@dataclass(frozen=True)
class SimpleVolumeAction:
    """One of :data:`SIMPLE_VOLUME_ACTIONS` (the status dance of Nova's old attach)."""

    name: str


@dataclass(frozen=True)
class AttachVolume:
    """``os-attach``: record an attachment at ``mountpoint`` to a server or a host."""

    mountpoint: str
    instance_uuid: str | None = None
    host_name: str | None = None
    mode: str = "rw"


@dataclass(frozen=True)
class DetachVolume:
    """``os-detach``: end ``attachment_id`` (None: the only one)."""

    attachment_id: str | None = None


@dataclass(frozen=True)
class InitializeConnection:
    """``os-initialize_connection``: the connector describes the host (an object)."""

    connector: Mapping[str, Any] | str


@dataclass(frozen=True)
class TerminateConnection:
    """``os-terminate_connection``."""

    connector: Mapping[str, Any] | str | None


@dataclass(frozen=True)
class ForceDetach:
    """``os-force_detach`` (admins)."""

    connector: Mapping[str, Any] | str | None = None
    attachment_id: str | None = None


@dataclass(frozen=True)
class RetypeVolume:
    """``os-retype``: to type ``new_type`` (name or id); ``migration_policy`` is
    ``never`` (default) or ``on-demand``."""

    new_type: str
    migration_policy: str = "never"


#: ``os-volume_upload_image``: copy the volume into a new Glance image (the service's
#: request record; ``visibility`` and ``protected`` are read from 3.1).
UploadToImage = UploadRequest


@dataclass(frozen=True)
class SetImageMetadata:
    """``os-set_image_metadata``: merge into ``volume_image_metadata``."""

    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UnsetImageMetadata:
    """``os-unset_image_metadata``: remove ``key``."""

    key: str


@dataclass(frozen=True)
class ShowImageMetadata:
    """``os-show_image_metadata``."""


@dataclass(frozen=True)
class ReimageVolume:
    """``os-reimage`` (3.68): rewrite the volume from ``image_id``."""

    image_id: str
    reimage_reserved: bool = False


@dataclass(frozen=True)
class UpdateSnapshotStatus:
    """``os-update_snapshot_status`` (snapshots; used by volume drivers)."""

    status: str
    progress: str | None = None


def action_name(body: Any) -> str:
    """The action a body asks for: its one key.

    Raises:
        BadRequest: the body is no object or does not hold exactly one key (400).
    """
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: an action body is an object with exactly"
                         " one key, the action's name, e.g. {\"os-extend\": {\"new_size\": 2}}.")
    name = next(iter(body))
    assert isinstance(name, str)  # JSON object keys are strings
    return name


def _action(name: str, args: Mapping[str, Any], *, required: tuple[str, ...] = (),
            nullable: bool = False, **more: Any) -> dict[str, Any]:
    """Cinder's schema of action ``name`` whose argument object holds ``args``."""
    return v.body(name, v.obj(args, required=required, nullable=nullable, **more))


def _checked(body: Mapping[str, Any], schema: Mapping[str, Any], name: str) -> Any:
    """``body[name]`` once ``body`` fits ``schema``."""
    v.check(schema, body)
    return body[name]


_EXTEND: Final = _action("os-extend", {"new_size": v.VOLUME_SIZE}, required=("new_size",))
_RESET_VOLUME: Final = _action("os-reset_status", {
    "status": {"type": ["string", "null"], "format": "volume_status"},
    "attach_status": {"type": ["string", "null"], "format": "volume_attach_status"},
    "migration_status": {"type": ["string", "null"], "format": "volume_migration_status"},
}, format="validate_volume_reset_body")
_REVERT: Final = v.body("revert", v.obj({"snapshot_id": {"type": ["string", "null"]}},
                                        additional=True))
_ATTACH: Final = _action("os-attach", {
    "instance_uuid": v.UUID,
    "mountpoint": {"type": "string", "minLength": 1, "maxLength": 255},
    "host_name": {"type": "string", "maxLength": 255},
    "mode": {"type": "string", "enum": ["rw", "ro"]},
}, required=("mountpoint",), anyOf=[{"required": ["instance_uuid"]},
                                    {"required": ["host_name"]}])
# Cinder asks for a server or a host before it refuses unknown keys
_ATTACH["properties"]["os-attach"]["additionalProperties"] = (
    _ATTACH["properties"]["os-attach"].pop("additionalProperties"))
_DETACH: Final = _action("os-detach", {"attachment_id": v.UUID_OR_NULL}, nullable=True)
_INITIALIZE: Final = _action("os-initialize_connection",
                             {"connector": {"type": ["object", "string"]}},
                             required=("connector",))
_TERMINATE: Final = _action("os-terminate_connection",
                            {"connector": {"type": ["string", "object", "null"]}},
                            required=("connector",))
_FORCE_DETACH: Final = _action("os-force_detach", {
    "connector": {"type": ["string", "object", "null"]},
    "attachment_id": {"type": ["string", "null"]}})
_RETYPE: Final = _action("os-retype", {
    "new_type": {"type": "string"},
    "migration_policy": {"type": ["string", "null"], "enum": ["on-demand", "never"]},
}, required=("new_type",))
_SET_IMAGE_METADATA: Final = _action("os-set_image_metadata",
                                     {"metadata": v.IMAGE_METADATA}, required=("metadata",))
_UNSET_IMAGE_METADATA: Final = _action("os-unset_image_metadata", {
    "key": {"type": "string", "minLength": 1, "maxLength": 255}}, required=("key",))
_REIMAGE: Final = _action("os-reimage", {"image_id": v.UUID, "reimage_reserved": v.BOOLEAN},
                          required=("image_id",))


def _upload_schema(version: APIVersion) -> dict[str, Any]:
    """``os-volume_upload_image``: ``visibility`` and ``protected`` from 3.1."""
    args: dict[str, Any] = {
        "image_name": {"type": "string", "minLength": 1, "maxLength": 255},
        "force": v.BOOLEAN,
        "disk_format": {"type": "string", "enum": list(DISK_FORMATS)},
        "container_format": v.DESCRIPTION,
    }
    if version >= _UPLOAD_VISIBILITY:
        args["visibility"] = {"type": "string", "enum": list(_VISIBILITIES)}
        args["protected"] = v.BOOLEAN
    return _action("os-volume_upload_image", args, required=("image_name",))


def _lower(obj: Mapping[str, Any], key: str) -> str | None:
    """A status the schema's format took (any case): lower case; None when absent,
    null or empty."""
    value = v.text(obj, key)
    return value.lower() if value else None


def _extend(body: Mapping[str, Any], version: APIVersion) -> ExtendVolume:
    size = v.size(_checked(body, _EXTEND, "os-extend"), "new_size")
    assert size is not None  # required, not nullable
    return ExtendVolume(size)


def _reset(body: Mapping[str, Any], version: APIVersion) -> ResetStatus:
    args = _checked(body, _RESET_VOLUME, "os-reset_status")
    return ResetStatus(status=_lower(args, "status"),
                       attach_status=_lower(args, "attach_status"),
                       migration_status=_lower(args, "migration_status"))


def _flag(name: str, key: str) -> Callable[[Mapping[str, Any], APIVersion], bool]:
    schema = _action(name, {key: v.BOOLEAN}, required=(key,))

    def parse(body: Mapping[str, Any], version: APIVersion) -> bool:
        flag = v.flag(_checked(body, schema, name), key)
        assert flag is not None  # required and not nullable
        return flag
    return parse


def _revert(body: Mapping[str, Any], version: APIVersion) -> RevertVolume:
    mv.require_version(version, mv.VOLUME_REVERT)
    snapshot_id = _checked(body, _REVERT, "revert").get("snapshot_id")
    if not snapshot_id:
        raise v.invalid("snapshot_id", snapshot_id,
                        "Give the id of the volume's latest snapshot as 'snapshot_id'.")
    return RevertVolume(snapshot_id)


def _attach(body: Mapping[str, Any], version: APIVersion) -> AttachVolume:
    args = _checked(body, _ATTACH, "os-attach")
    return AttachVolume(args["mountpoint"], v.uuid_text(args, "instance_uuid"),
                        args.get("host_name"), args.get("mode", "rw"))


def _detach(body: Mapping[str, Any], version: APIVersion) -> DetachVolume:
    args = _checked(body, _DETACH, "os-detach")
    return DetachVolume(None if args is None else v.uuid_text(args, "attachment_id"))


def _initialize(body: Mapping[str, Any], version: APIVersion) -> InitializeConnection:
    return InitializeConnection(
        _checked(body, _INITIALIZE, "os-initialize_connection")["connector"])


def _terminate(body: Mapping[str, Any], version: APIVersion) -> TerminateConnection:
    return TerminateConnection(
        _checked(body, _TERMINATE, "os-terminate_connection")["connector"])


def _force_detach(body: Mapping[str, Any], version: APIVersion) -> ForceDetach:
    args = _checked(body, _FORCE_DETACH, "os-force_detach")
    return ForceDetach(args.get("connector"), args.get("attachment_id"))


def _retype(body: Mapping[str, Any], version: APIVersion) -> RetypeVolume:
    args = _checked(body, _RETYPE, "os-retype")
    return RetypeVolume(args["new_type"], args.get("migration_policy") or "never")


def _upload(body: Mapping[str, Any], version: APIVersion) -> UploadToImage:
    args = _checked(body, _upload_schema(version), "os-volume_upload_image")
    return UploadToImage(
        image_name=args["image_name"],
        force=bool(v.flag(args, "force")),
        disk_format=args.get("disk_format", "raw"),
        container_format=v.text(args, "container_format", strip=True) or "bare",
        visibility=args.get("visibility", "private"),
        protected=bool(v.flag(args, "protected")),
    )


def upload_image_body(started: UploadStarted, *, is_admin: bool) -> dict[str, Any]:
    """The reply to ``os-volume_upload_image`` (202): the volume, now ``uploading``, its
    type (extra specs for admins only) and the image made for it (``visibility`` and
    ``protected`` as Glance shows them, whatever the microversion, as Cinder answers)."""
    volume = started.volume
    vtype = started.volume_type
    type_view: dict[str, Any] | None = None
    if vtype is not None:
        type_view = {"id": vtype.id, "name": vtype.name, "description": vtype.description,
                     "is_public": vtype.is_public,
                     "extra_specs": dict(vtype.extra_specs) if is_admin else {},
                     "qos_specs_id": vtype.qos_specs_id, "deleted": False,
                     "deleted_at": None, "created_at": None, "updated_at": None}
    return {"os-volume_upload_image": {
        "id": volume.id, "updated_at": cinder_time(started.updated_at), "status": "uploading",
        "display_description": volume.description, "size": volume.size,
        "volume_type": type_view, "image_id": started.image_id,
        "container_format": started.container_format, "disk_format": started.disk_format,
        "image_name": started.image_name, "protected": started.protected,
        "visibility": started.visibility}}


def _set_image_metadata(body: Mapping[str, Any], version: APIVersion) -> SetImageMetadata:
    args = _checked(body, _SET_IMAGE_METADATA, "os-set_image_metadata")
    return SetImageMetadata(v.metadata(args) or {})


def _unset_image_metadata(body: Mapping[str, Any], version: APIVersion
                          ) -> UnsetImageMetadata:
    return UnsetImageMetadata(
        _checked(body, _UNSET_IMAGE_METADATA, "os-unset_image_metadata")["key"])


def _reimage(body: Mapping[str, Any], version: APIVersion) -> ReimageVolume:
    mv.require_version(version, _REIMAGE_VERSION)
    args = _checked(body, _REIMAGE, "os-reimage")
    image_id = v.uuid_text(args, "image_id")
    assert image_id is not None  # required, not nullable
    return ReimageVolume(image_id, bool(v.flag(args, "reimage_reserved")))


def _simple(name: str) -> Callable[[Mapping[str, Any], APIVersion], SimpleVolumeAction]:
    def parse(body: Mapping[str, Any], version: APIVersion) -> SimpleVolumeAction:
        return SimpleVolumeAction(name)
    return parse


_VOLUME_PARSERS: Final[Mapping[str, Callable[[Mapping[str, Any], APIVersion], object]]] = {
    "os-extend": _extend,
    "os-reset_status": _reset,
    "os-set_bootable": lambda b, ver: SetBootable(_flag("os-set_bootable", "bootable")(b, ver)),
    "os-update_readonly_flag": lambda b, ver: UpdateReadonly(
        _flag("os-update_readonly_flag", "readonly")(b, ver)),
    "revert": _revert,
    "os-force_delete": lambda b, ver: ForceDelete(),
    "os-attach": _attach,
    "os-detach": _detach,
    "os-initialize_connection": _initialize,
    "os-terminate_connection": _terminate,
    "os-force_detach": _force_detach,
    "os-retype": _retype,
    "os-volume_upload_image": _upload,
    "os-set_image_metadata": _set_image_metadata,
    "os-unset_image_metadata": _unset_image_metadata,
    "os-show_image_metadata": lambda b, ver: ShowImageMetadata(),
    "os-reimage": _reimage,
    **{name: _simple(name) for name in SIMPLE_VOLUME_ACTIONS},
}


def _no_such_action(name: str) -> BadRequest:
    return BadRequest(f"There is no such action: {name}")


def parse_volume_action(body: Any, version: APIVersion) -> object:
    """Check a volume action body at microversion ``version``: one of the records of
    this module.

    Raises:
        BadRequest: a malformed body, an unknown action, a bad argument (400).
        NotFound: an action newer than ``version`` (404).
    """
    name = action_name(body)
    parser = _VOLUME_PARSERS.get(name)
    if parser is None:
        raise _no_such_action(name)
    return parser(body, version)


def _status_reset_schema(status_format: str) -> dict[str, Any]:
    return _action("os-reset_status", {"status": {"type": "string", "format": status_format}},
                   required=("status",))


_RESET_SNAPSHOT: Final = _status_reset_schema("snapshot_status")
_RESET_BACKUP: Final = _status_reset_schema("backup_status")
_UPDATE_SNAPSHOT_STATUS: Final = _action("os-update_snapshot_status", {
    "status": {"type": "string"}, "progress": {"format": "progress"}}, required=("status",))


def _status_reset(body: Mapping[str, Any], schema: Mapping[str, Any]) -> ResetStatus:
    return ResetStatus(status=_lower(_checked(body, schema, "os-reset_status"), "status"))


def parse_snapshot_action(body: Any) -> object:
    """Check a snapshot action: ``os-reset_status`` (a snapshot status),
    ``os-force_delete`` or ``os-update_snapshot_status`` (``status``, ``progress``).

    Raises:
        BadRequest: a malformed body, an unknown action, a bad argument (400).
    """
    name = action_name(body)
    if name == "os-reset_status":
        return _status_reset(body, _RESET_SNAPSHOT)
    if name == "os-force_delete":
        return ForceDelete()
    if name == "os-update_snapshot_status":
        args = _checked(body, _UPDATE_SNAPSHOT_STATUS, "os-update_snapshot_status")
        status = args["status"].lower()
        if status not in SNAPSHOT_STATUSES:
            raise v.invalid("status", args["status"],
                            f"'status' must be one of {', '.join(SNAPSHOT_STATUSES)}.")
        progress = args.get("progress")
        return UpdateSnapshotStatus(status, progress if isinstance(progress, str) else None)
    raise _no_such_action(name)


def parse_backup_action(body: Any) -> object:
    """Check a backup action: ``os-reset_status`` (``available`` or ``error``) or
    ``os-force_delete``.

    Raises:
        BadRequest: a malformed body, an unknown action, a bad argument (400).
    """
    name = action_name(body)
    if name == "os-reset_status":
        return _status_reset(body, _RESET_BACKUP)
    if name == "os-force_delete":
        return ForceDelete()
    raise _no_such_action(name)


@dataclass(frozen=True)
class CompleteAttachment:
    """``os-complete`` (3.44): the attachment is in use; the volume becomes in-use."""


def parse_attachment_action(body: Any, version: APIVersion) -> object:
    """Check a ``POST /attachments/{id}/action`` body (``{"os-complete": null}``).

    Raises:
        NotFound: ``version`` is before 3.44 (404).
        BadRequest: a malformed body or an unknown action (400).
    """
    mv.require_version(version, mv.NEW_ATTACH_COMPLETION)
    name = action_name(body)
    if name != "os-complete":
        raise _no_such_action(name)
    return CompleteAttachment()
