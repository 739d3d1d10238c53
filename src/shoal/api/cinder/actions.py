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
from shoal.services.volume.records import (
    MIGRATION_STATUSES,
    SNAPSHOT_STATUSES,
    VOLUME_STATUSES,
)

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
]

#: Disk formats ``os-volume_upload_image`` may write.
DISK_FORMATS: Final = ("raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop")
#: Actions whose body carries nothing Cinder reads.
SIMPLE_VOLUME_ACTIONS: Final = ("os-reserve", "os-unreserve", "os-begin_detaching",
                                "os-roll_detaching")
_VISIBILITIES: Final = ("community", "public", "private", "shared")
_UPLOAD_VISIBILITY: Final = APIVersion(3, 1)
_REIMAGE: Final = APIVersion(3, 68)


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


@dataclass(frozen=True)
class UploadToImage:
    """``os-volume_upload_image``: copy the volume into a new Glance image."""

    image_name: str
    force: bool = False
    disk_format: str = "raw"
    container_format: str = "bare"
    visibility: str = "private"
    protected: bool = False


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


def _args(body: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    value = body[name]
    if not isinstance(value, dict):
        raise v.invalid(name, value, f"'{name}' must be a JSON object.")
    v.check_keys(value, allowed, f"'{name}'")
    return value


def _choice(obj: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.lower() not in allowed:
        raise v.invalid(key, value, f"'{key}' must be one of: {', '.join(allowed)}.")
    return value.lower()


def _extend(body: Mapping[str, Any], version: APIVersion) -> ExtendVolume:
    args = _args(body, "os-extend", ("new_size",))
    size = v.require_size(args, "new_size")
    assert size is not None  # not nullable
    return ExtendVolume(size)


def _reset(body: Mapping[str, Any], version: APIVersion) -> ResetStatus:
    args = _args(body, "os-reset_status", ("status", "attach_status", "migration_status"))
    reset = ResetStatus(
        status=_choice(args, "status", VOLUME_STATUSES),
        attach_status=_choice(args, "attach_status", ("attached", "detached")),
        migration_status=_choice(args, "migration_status", MIGRATION_STATUSES),
    )
    if reset == ResetStatus():
        raise BadRequest("Must specify 'status', 'attach_status' or 'migration_status' for"
                         " update.")
    return reset


def _flag(name: str, key: str) -> Callable[[Mapping[str, Any], APIVersion], bool]:
    def parse(body: Mapping[str, Any], version: APIVersion) -> bool:
        flag = v.optional_boolean(_args(body, name, (key,)), key, required=True)
        assert flag is not None  # required and not nullable
        return flag
    return parse


def _revert(body: Mapping[str, Any], version: APIVersion) -> RevertVolume:
    mv.require_version(version, mv.VOLUME_REVERT)
    args = _args(body, "revert", ("snapshot_id",))
    snapshot_id = args.get("snapshot_id")
    if not isinstance(snapshot_id, str) or not snapshot_id:
        raise v.invalid("snapshot_id", snapshot_id,
                        "Give the id of the volume's latest snapshot as 'snapshot_id'.")
    return RevertVolume(snapshot_id)


def _attach(body: Mapping[str, Any], version: APIVersion) -> AttachVolume:
    args = _args(body, "os-attach", ("instance_uuid", "mountpoint", "host_name", "mode"))
    mountpoint = v.optional_string(args, "mountpoint", min_length=1)
    if mountpoint is None:
        raise BadRequest("Invalid input: 'mountpoint' is a required property.")
    instance = v.optional_uuid(args, "instance_uuid")
    host = v.optional_string(args, "host_name")
    if instance is None and host is None:
        raise BadRequest("Give 'instance_uuid' or 'host_name' to attach the volume to.")
    mode = _choice(args, "mode", ("rw", "ro")) or "rw"
    return AttachVolume(mountpoint, instance, host, mode)


def _detach(body: Mapping[str, Any], version: APIVersion) -> DetachVolume:
    if body["os-detach"] is None:
        return DetachVolume()
    return DetachVolume(v.optional_uuid(_args(body, "os-detach", ("attachment_id",)),
                                        "attachment_id"))


def _connector(args: Mapping[str, Any], *, nullable: bool) -> Mapping[str, Any] | str | None:
    if "connector" not in args:
        raise BadRequest("Invalid input: 'connector' is a required property.")
    connector = args["connector"]
    if connector is None and nullable:
        return None
    if not isinstance(connector, (dict, str)):
        raise v.invalid("connector", connector, "'connector' must be an object.")
    return connector


def _initialize(body: Mapping[str, Any], version: APIVersion) -> InitializeConnection:
    connector = _connector(_args(body, "os-initialize_connection", ("connector",)),
                           nullable=False)
    assert connector is not None
    return InitializeConnection(connector)


def _terminate(body: Mapping[str, Any], version: APIVersion) -> TerminateConnection:
    args = _args(body, "os-terminate_connection", ("connector",))
    return TerminateConnection(_connector(args, nullable=True))


def _force_detach(body: Mapping[str, Any], version: APIVersion) -> ForceDetach:
    args = _args(body, "os-force_detach", ("connector", "attachment_id"))
    connector = _connector(args, nullable=True) if "connector" in args else None
    return ForceDetach(connector, v.optional_string(args, "attachment_id"))


def _retype(body: Mapping[str, Any], version: APIVersion) -> RetypeVolume:
    args = _args(body, "os-retype", ("new_type", "migration_policy"))
    new_type = args.get("new_type")
    if not isinstance(new_type, str):
        raise v.invalid("new_type", new_type, "'new_type' is required: give a volume type"
                                              " name or id.")
    policy = _choice(args, "migration_policy", ("on-demand", "never")) or "never"
    return RetypeVolume(new_type, policy)


def _upload(body: Mapping[str, Any], version: APIVersion) -> UploadToImage:
    keys: tuple[str, ...] = ("image_name", "force", "disk_format", "container_format")
    if version >= _UPLOAD_VISIBILITY:
        keys += ("visibility", "protected")
    args = _args(body, "os-volume_upload_image", keys)
    image_name = v.optional_string(args, "image_name", min_length=1)
    if image_name is None:
        raise BadRequest("Invalid input: 'image_name' is a required property.")
    disk_format = args.get("disk_format", "raw")
    if disk_format not in DISK_FORMATS:
        raise v.invalid("disk_format", disk_format,
                        f"'disk_format' must be one of: {', '.join(DISK_FORMATS)}.")
    visibility = args.get("visibility", "private")
    if visibility not in _VISIBILITIES:
        raise v.invalid("visibility", visibility,
                        f"'visibility' must be one of: {', '.join(_VISIBILITIES)}.")
    return UploadToImage(
        image_name=image_name,
        force=bool(v.optional_boolean(args, "force")),
        disk_format=disk_format,
        container_format=v.optional_description(args, "container_format") or "bare",
        visibility=visibility,
        protected=bool(v.optional_boolean(args, "protected")),
    )


def _set_image_metadata(body: Mapping[str, Any], version: APIVersion) -> SetImageMetadata:
    args = _args(body, "os-set_image_metadata", ("metadata",))
    if "metadata" not in args:
        raise BadRequest("Malformed request body: give 'metadata'.")
    return SetImageMetadata(v.optional_metadata(args, nullable=False) or {})


def _unset_image_metadata(body: Mapping[str, Any], version: APIVersion
                          ) -> UnsetImageMetadata:
    args = _args(body, "os-unset_image_metadata", ("key",))
    key = args.get("key")
    if not isinstance(key, str) or not key:
        raise v.invalid("key", key, "The key cannot be None: give the metadata key.")
    return UnsetImageMetadata(key)


def _reimage(body: Mapping[str, Any], version: APIVersion) -> ReimageVolume:
    mv.require_version(version, _REIMAGE)
    args = _args(body, "os-reimage", ("image_id", "reimage_reserved"))
    return ReimageVolume(v.require_uuid(args, "image_id"),
                         bool(v.optional_boolean(args, "reimage_reserved")))


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


def _status_reset(body: Mapping[str, Any], allowed: tuple[str, ...]) -> ResetStatus:
    args = _args(body, "os-reset_status", ("status",))
    status = _choice(args, "status", allowed)
    if status is None:
        raise v.invalid("status", args.get("status"),
                        f"'status' is required: one of {', '.join(allowed)}.")
    return ResetStatus(status=status)


def parse_snapshot_action(body: Any) -> object:
    """Check a snapshot action: ``os-reset_status`` (a snapshot status),
    ``os-force_delete`` or ``os-update_snapshot_status`` (``status``, ``progress``).

    Raises:
        BadRequest: a malformed body, an unknown action, a bad argument (400).
    """
    name = action_name(body)
    if name == "os-reset_status":
        return _status_reset(body, SNAPSHOT_STATUSES)
    if name == "os-force_delete":
        return ForceDelete()
    if name == "os-update_snapshot_status":
        args = _args(body, "os-update_snapshot_status", ("status", "progress"))
        status = _choice(args, "status", SNAPSHOT_STATUSES)
        if status is None:
            raise BadRequest("Invalid input: 'status' is a required property.")
        return UpdateSnapshotStatus(status, v.optional_string(args, "progress"))
    raise _no_such_action(name)


def parse_backup_action(body: Any) -> object:
    """Check a backup action: ``os-reset_status`` (``available`` or ``error``) or
    ``os-force_delete``.

    Raises:
        BadRequest: a malformed body, an unknown action, a bad argument (400).
    """
    name = action_name(body)
    if name == "os-reset_status":
        return _status_reset(body, ("available", "error"))
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
