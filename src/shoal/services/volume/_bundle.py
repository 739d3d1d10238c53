"""The volume service's parts, as the API mounts them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shoal.services.volume._admin import VolumeAdmin
from shoal.services.volume._attach import VolumeAttachments
from shoal.services.volume._encryption import VolumeEncryption
from shoal.services.volume._groups import VolumeGroups
from shoal.services.volume._messages import VolumeMessages
from shoal.services.volume._qos import VolumeQos
from shoal.services.volume._quota_sets import QuotaSets
from shoal.services.volume._service import VolumeService
from shoal.services.volume._transfers import VolumeTransfers
from shoal.services.volume._types import VolumeTypes

if TYPE_CHECKING:  # the backup service is built on this package: no import at run time
    from shoal.services.backup import BackupService

__all__ = ["VolumeServices"]


@dataclass(frozen=True)
class VolumeServices:
    """Volumes, snapshots and types; attachments; transfers; the admin parts: services and
    pools, type administration, quota sets, user messages, QoS specs, type encryption,
    generic volume groups; backups (None when the deployment serves none) (one
    deployment's)."""

    volumes: VolumeService
    attachments: VolumeAttachments
    transfers: VolumeTransfers
    admin: VolumeAdmin
    types: VolumeTypes
    quota_sets: QuotaSets
    messages: VolumeMessages
    qos: VolumeQos
    encryption: VolumeEncryption
    groups: VolumeGroups
    backups: BackupService | None = None
