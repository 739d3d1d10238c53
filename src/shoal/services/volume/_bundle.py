"""The volume service's parts, as the API mounts them."""

from __future__ import annotations

from dataclasses import dataclass

from shoal.services.volume._attach import VolumeAttachments
from shoal.services.volume._service import VolumeService
from shoal.services.volume._transfers import VolumeTransfers

__all__ = ["VolumeServices"]


@dataclass(frozen=True)
class VolumeServices:
    """Volumes, snapshots and types; attachments; transfers (one deployment's)."""

    volumes: VolumeService
    attachments: VolumeAttachments
    transfers: VolumeTransfers
