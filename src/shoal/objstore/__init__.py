"""Object layer: pools of named objects with data, xattrs and omap (librados-like).

Implementations: :class:`MemoryStore` (tests) and :class:`LocalStore` (embedded
default, a data directory on disk). Open one with :func:`open_store`. On a real
Ceph cluster, :class:`shoal.objstore.rados.RadosStore` / ``RadosIoCtx`` implement
the same interfaces over librados (imported from that module: it loads the
``rados`` binding lazily, so this package imports without Ceph).
"""

from __future__ import annotations

from shoal.objstore._base import IoCtx as IoCtx
from shoal.objstore._base import ObjectStore as ObjectStore
from shoal.objstore._base import check_pg_num as check_pg_num
from shoal.objstore._base import check_pool_name as check_pool_name
from shoal.objstore._ops import MethodFlags as MethodFlags
from shoal.objstore._ops import ObjectContext as ObjectContext
from shoal.objstore._ops import WriteOp as WriteOp
from shoal.objstore._ops import lookup_method as lookup_method
from shoal.objstore._ops import register_method as register_method
from shoal.objstore._types import SNAP_HEAD as SNAP_HEAD
from shoal.objstore._types import CloneInfo as CloneInfo
from shoal.objstore._types import ObjectPage as ObjectPage
from shoal.objstore._types import ObjectStat as ObjectStat
from shoal.objstore._types import OmapPage as OmapPage
from shoal.objstore._types import PoolInfo as PoolInfo
from shoal.objstore._types import PoolStats as PoolStats
from shoal.objstore._types import SnapContext as SnapContext
from shoal.objstore._types import SnapSet as SnapSet

__all__ = [
    "SNAP_HEAD",
    "CloneInfo",
    "IoCtx",
    "MethodFlags",
    "ObjectContext",
    "ObjectPage",
    "ObjectStat",
    "ObjectStore",
    "OmapPage",
    "PoolInfo",
    "PoolStats",
    "SnapContext",
    "SnapSet",
    "WriteOp",
    "check_pg_num",
    "check_pool_name",
    "lookup_method",
    "register_method",
]
