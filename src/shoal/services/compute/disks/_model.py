"""What the guest disks driver takes and gives: options, the image, the flavor's
plan, and the disks made or found."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from shoal import errors
from shoal.config import ShoalConfig

__all__ = ["DiskHow", "DiskImage", "DiskInfo", "DiskOptions", "DiskPlan", "MadeDisk"]

#: How a disk was made: a copy-on-write clone of the image's snapshot, the image's
#: data downloaded and written in, or an empty image (ephemeral, swap).
DiskHow = Literal["clone", "import", "blank"]


@dataclass(frozen=True)
class DiskOptions:
    """Nova's options for the RBD image backend, as plain values.

    Attributes:
        pool: ``[libvirt] images_rbd_pool``, where the disks live.
        never_download: ``[workarounds] never_download_image_if_on_rbd``: refuse
            to download an image that cannot be cloned (upstream refuses every
            download then, whatever the image's locations).
        destroy_retries: ``[libvirt] rbd_destroy_volume_retries``: retries of a
            busy disk's removal (the removal is tried ``destroy_retries + 1`` times).
        destroy_retry_interval_s: ``[libvirt] rbd_destroy_volume_retry_interval``,
            seconds between two tries.

    Raises (constructor):
        errors.InvalidArgument: an empty pool or a negative number.
    """

    pool: str = "rbd"
    never_download: bool = False
    destroy_retries: int = 12
    destroy_retry_interval_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.pool:
            raise errors.InvalidArgument("images_rbd_pool must not be empty")
        if self.destroy_retries < 0:
            raise errors.InvalidArgument(
                f"rbd_destroy_volume_retries must not be negative: {self.destroy_retries}")
        if self.destroy_retry_interval_s < 0:
            raise errors.InvalidArgument("rbd_destroy_volume_retry_interval must not be "
                                         f"negative: {self.destroy_retry_interval_s}")

    @classmethod
    def from_config(cls, cfg: ShoalConfig) -> DiskOptions:
        """The options of ``cfg``'s ``[libvirt]`` and ``[workarounds]`` (``images_type``
        is not looked at: whether disks live in RBD is the compute service's choice)."""
        libvirt = cfg.libvirt
        return cls(
            pool=libvirt.images_rbd_pool,
            never_download=cfg.workarounds.never_download_image_if_on_rbd,
            destroy_retries=libvirt.rbd_destroy_volume_retries,
            destroy_retry_interval_s=float(libvirt.rbd_destroy_volume_retry_interval),
        )


@dataclass(frozen=True)
class DiskImage:
    """What the disks need of a Glance image.

    Attributes:
        id: the image's id.
        disk_format: Glance's ``disk_format``; only ``raw`` images are cloned.
        size: bytes stored in Glance.
        virtual_size: the disk size the image's data makes (bytes; None when
            Glance does not know it: then ``size``, right for raw images).
        locations: the image's location URLs in the order to try (Glance's
            ``locations``, else its ``direct_url``; ``rbd://FSID/POOL/IMAGE/SNAP``
            for the RBD store); may be empty.
        raw_data: gives the image's bytes as raw (converted if the image is not
            raw), from offset 0, in pieces of any size; called only to download.
    """

    id: str
    disk_format: str
    size: int
    virtual_size: int | None
    locations: tuple[str, ...]
    raw_data: Callable[[], Iterable[bytes]]

    @property
    def virtual_bytes(self) -> int:
        """``virtual_size`` if known, else ``size``."""
        return self.size if self.virtual_size is None else self.virtual_size


@dataclass(frozen=True)
class DiskPlan:
    """The flavor's disks: ``root_gb`` GiB (0: the image's size), ``ephemeral_gb`` GiB
    and ``swap_mb`` MiB (0: no such disk)."""

    root_gb: int = 0
    ephemeral_gb: int = 0
    swap_mb: int = 0


@dataclass(frozen=True)
class MadeDisk:
    """A disk :meth:`GuestDisks.create` made (or found complete from an earlier run).

    Attributes:
        name: the RBD image's name in the disks' pool.
        size: its size, bytes.
        parent: ``pool/image@snap`` it is a clone of, None if it is not a clone.
        how: how it was made.
    """

    name: str
    size: int
    parent: str | None
    how: DiskHow


@dataclass(frozen=True)
class DiskInfo:
    """A disk present in the pool (:meth:`GuestDisks.disks`).

    Attributes:
        name, size (bytes), parent (``pool/image@snap`` or None): as :class:`MadeDisk`.
        how: how it was made; None if it is incomplete (an interrupted create
            left it: the next create removes and remakes it).
    """

    name: str
    size: int
    parent: str | None
    how: DiskHow | None

    @property
    def complete(self) -> bool:
        return self.how is not None
