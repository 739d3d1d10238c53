"""What the server service takes and gives: requests, records and Nova's states.

States are Nova's (``nova.compute.vm_states``, ``task_states``, ``power_state``); the
``status`` users see is derived from ``vm_state`` and ``task_state`` as Nova's API does
(:func:`server_status`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

__all__ = [
    "NOSTATE", "PAUSED", "RUNNING", "SHUTDOWN", "SUSPENDED",
    "BlockDevice", "FaultRecord", "NewServer", "ServerQuery", "ServerRecord",
    "VolumeAttached", "server_status",
]

# power states (Nova's numbers)
NOSTATE: Final = 0
RUNNING: Final = 1
PAUSED: Final = 3
SHUTDOWN: Final = 4
SUSPENDED: Final = 7

#: (vm_state, task_state) → status; ``None`` task: the state's default.
_STATUS: Final[Mapping[str, Mapping[str | None, str]]] = {
    "building": {None: "BUILD"},
    "active": {None: "ACTIVE", "rebooting": "REBOOT", "reboot_pending": "REBOOT",
               "reboot_started": "REBOOT", "rebooting_hard": "HARD_REBOOT",
               "reboot_pending_hard": "HARD_REBOOT", "reboot_started_hard": "HARD_REBOOT",
               "rebuilding": "REBUILD", "rebuild_block_device_mapping": "REBUILD",
               "rebuild_spawning": "REBUILD", "migrating": "MIGRATING",
               "resize_prep": "RESIZE", "resize_migrating": "RESIZE",
               "resize_migrated": "RESIZE", "resize_finish": "RESIZE"},
    "stopped": {None: "SHUTOFF", "resize_prep": "RESIZE", "resize_migrating": "RESIZE",
                "resize_migrated": "RESIZE", "resize_finish": "RESIZE",
                "rebuilding": "REBUILD", "rebooting_hard": "HARD_REBOOT"},
    "paused": {None: "PAUSED", "migrating": "MIGRATING"},
    "suspended": {None: "SUSPENDED"},
    "resized": {None: "VERIFY_RESIZE", "resize_reverting": "REVERT_RESIZE"},
    "rescued": {None: "RESCUE"},
    "error": {None: "ERROR", "rebuilding": "REBUILD"},
    "deleted": {None: "DELETED"},
    "soft-delete": {None: "SOFT_DELETED"},
    "shelved": {None: "SHELVED"},
    "shelved_offloaded": {None: "SHELVED_OFFLOADED"},
}


def server_status(vm_state: str, task_state: str | None) -> str:
    """Nova's status of a server (``UNKNOWN`` for a state Nova would not map)."""
    by_task = _STATUS.get(vm_state)
    if by_task is None:
        return "UNKNOWN"
    return by_task.get(task_state, by_task[None])


@dataclass(frozen=True)
class BlockDevice:
    """One entry of ``block_device_mapping_v2`` (``volume_size`` GiB; ``uuid`` names the
    image, volume or snapshot of ``source_type``)."""

    source_type: str
    destination_type: str
    boot_index: int | None = None
    uuid: str | None = None
    volume_size: int | None = None
    delete_on_termination: bool = False
    device_name: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class NewServer:
    """A create request (validated by the API's schema). ``networks``: ``"auto"``,
    ``"none"`` or the list asked (recorded; shoal has no networking)."""

    name: str
    flavor_ref: str
    image_ref: str | None = None
    block_devices: tuple[BlockDevice, ...] = ()
    networks: Any = "auto"
    min_count: int = 1
    max_count: int = 1
    key_name: str | None = None
    user_data: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    description: str | None = None
    config_drive: bool = False
    access_ip_v4: str = ""
    access_ip_v6: str = ""
    hostname: str | None = None
    host: str | None = None


@dataclass(frozen=True)
class FaultRecord:
    """Why a server is in ERROR: Nova's ``fault`` (``code`` an HTTP-like number)."""

    code: int
    message: str
    details: str
    created_at: datetime


@dataclass(frozen=True)
class VolumeAttached:
    """A volume attached to a server (``os-extended-volumes:volumes_attached``)."""

    volume_id: str
    delete_on_termination: bool
    device: str | None = None
    attachment_id: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class ServerRecord:
    """A server as the API shows it. ``flavor``: the embedded flavor (``flavorid``,
    ``name``, ``memory_mb``, ``vcpus``, ``root_gb``, ``ephemeral_gb``, ``swap``,
    ``extra_specs``); ``image_id`` None for a server booted from a volume."""

    id: str
    name: str
    project_id: str
    user_id: str
    status: str
    vm_state: str
    task_state: str | None
    power_state: int
    flavor: Mapping[str, Any]
    image_id: str | None
    host: str | None
    node: str | None
    availability_zone: str | None
    key_name: str | None
    user_data: str | None
    description: str | None
    hostname: str
    locked: bool
    locked_reason: str | None
    config_drive: str
    access_ip_v4: str
    access_ip_v6: str
    reservation_id: str
    launch_index: int
    root_device_name: str | None
    metadata: Mapping[str, str]
    created_at: datetime
    updated_at: datetime | None
    launched_at: datetime | None
    terminated_at: datetime | None
    deleted: bool
    fault: FaultRecord | None
    volumes: tuple[VolumeAttached, ...]
    instance_name: str
    pinned_availability_zone: str | None = None


@dataclass(frozen=True)
class ServerQuery:
    """A list request's filters (None: not asked), sort and page.

    ``all_projects`` (admins' ``all_tenants``) lists every project's servers, or those of
    ``project_id`` when given; ``changes_since`` also lists deleted ones as Nova does.
    """

    name: str | None = None
    status: str | None = None
    image: str | None = None
    flavor: str | None = None
    host: str | None = None
    availability_zone: str | None = None
    locked: bool | None = None
    all_projects: bool = False
    project_id: str | None = None
    user_id: str | None = None
    deleted: bool = False
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    limit: int | None = None
    marker: str | None = None
    sort_keys: tuple[str, ...] = ("created_at",)
    sort_dirs: tuple[str, ...] = ("desc",)
