"""The embedded cluster as ``shoal up`` provisions it, shared by the service tests.

``GuideCluster(root)``: a memory store, a data directory, a ``client.admin`` session and the
guide's pools and cephx users (``provision_cluster``: ``client.glance``, ``client.cinder``,
``client.cinder-backup`` with their keyrings). ``session(entity)`` connects as one of them,
so that every operation goes through the guide's caps; ``close()`` shuts every session down.
The image store, volume driver and backup driver tests subclass it with their own helpers.
"""

from __future__ import annotations

from pathlib import Path

from shoal.cluster import EmbeddedSession, connect
from shoal.deploy import provision_cluster
from shoal.objstore import IoCtx
from shoal.objstore.memory import MemoryStore

__all__ = ["GuideCluster"]


class GuideCluster:
    """A provisioned embedded cluster and the sessions opened on it."""

    def __init__(self, root: Path) -> None:
        self.memory = MemoryStore()
        self.data_dir = root / "data"
        self.admin = connect(self.data_dir, store=self.memory)
        self.keyrings = provision_cluster(self.admin, root).keyrings
        self.sessions: list[EmbeddedSession] = [self.admin]

    def session(self, entity: str) -> EmbeddedSession:
        """A session as ``entity`` (``client.cinder`` ...), with its keyring."""
        s = connect(self.data_dir, name=entity, keyring=self.keyrings[entity],
                    store=self.memory)
        self.sessions.append(s)
        return s

    def io(self, pool: str) -> IoCtx:
        """An I/O context of ``pool`` as client.admin."""
        return self.admin.open_ioctx(pool)

    def close(self) -> None:
        """Shut every session down and close the store."""
        for s in self.sessions:
            s.shutdown()
        self.memory.close()
