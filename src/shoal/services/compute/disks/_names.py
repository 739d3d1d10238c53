"""RBD names of a server's guest disks, as Nova's libvirt Rbd backend makes them.

- the root disk is ``<server uuid>_disk`` in ``images_rbd_pool``;
- the ephemeral disk is ``<server uuid>_disk.local``, swap ``<server uuid>_disk.swap``;
- cleanup removes every image whose name starts with ``<server uuid>_disk``.
"""

from __future__ import annotations

__all__ = [
    "DISK_SUFFIX",
    "EPHEMERAL_SUFFIX",
    "SWAP_SUFFIX",
    "disk_names",
    "ephemeral_name",
    "is_server_disk",
    "root_name",
    "swap_name",
]

DISK_SUFFIX = "_disk"
EPHEMERAL_SUFFIX = ".local"
SWAP_SUFFIX = ".swap"


def root_name(server_id: str) -> str:
    """The root disk's RBD image name of server ``server_id`` (a uuid string)."""
    return f"{server_id}{DISK_SUFFIX}"


def ephemeral_name(server_id: str) -> str:
    """The ephemeral disk's RBD image name (flavor ``ephemeral_gb`` > 0)."""
    return f"{root_name(server_id)}{EPHEMERAL_SUFFIX}"


def swap_name(server_id: str) -> str:
    """The swap disk's RBD image name (flavor ``swap`` MiB > 0)."""
    return f"{root_name(server_id)}{SWAP_SUFFIX}"


def is_server_disk(server_id: str, image_name: str) -> bool:
    """Whether ``image_name`` is one of the server's disks (prefix ``<uuid>_disk``).

    An empty ``server_id`` matches nothing, so a cleanup never sweeps every ``_disk``.
    """
    return bool(server_id) and image_name.startswith(root_name(server_id))


def disk_names(server_id: str, image_names: list[str]) -> list[str]:
    """The names among ``image_names`` that belong to the server, sorted."""
    return sorted(n for n in image_names if is_server_disk(server_id, n))
