"""The image store: images' data as RBD images (glance_store's ``rbd`` driver).

Synchronous and HTTP-free; the Image API calls it. Public API::

    store = RbdStore(session, pool="images", chunk_size_mib=8)  # session as client.glance
    result = store.add(image_id, chunks, size)   # AddResult(location, size, checksum, ...)
    reader, size = store.get(result.location, offset=0, length=None)
    store.get_size(result.location); store.delete(result.location)
    parse_location("rbd://FSID/POOL/IMAGE/snap")  # StoreLocation

:mod:`shoal.services.image.store.convert` inspects and converts uploaded disk
images (qcow2 to raw) with ``qemu-img``.
"""

from __future__ import annotations

from shoal.services.image.store._digest import BackgroundDigests as BackgroundDigests
from shoal.services.image.store._errors import BadStoreUri as BadStoreUri
from shoal.services.image.store._errors import Duplicate as Duplicate
from shoal.services.image.store._errors import ImageTooLarge as ImageTooLarge
from shoal.services.image.store._errors import InUseByStore as InUseByStore
from shoal.services.image.store._errors import InvalidImageData as InvalidImageData
from shoal.services.image.store._errors import RangeNotSatisfiable as RangeNotSatisfiable
from shoal.services.image.store._errors import SizeMismatch as SizeMismatch
from shoal.services.image.store._errors import StorageFull as StorageFull
from shoal.services.image.store._errors import StoreAccessDenied as StoreAccessDenied
from shoal.services.image.store._errors import StoreNotFound as StoreNotFound
from shoal.services.image.store._errors import StoreUnavailable as StoreUnavailable
from shoal.services.image.store._rbdstore import CHUNK_SIZE_MIB_DEFAULT as CHUNK_SIZE_MIB_DEFAULT
from shoal.services.image.store._rbdstore import CHUNK_SIZE_MIB_MAX as CHUNK_SIZE_MIB_MAX
from shoal.services.image.store._rbdstore import GROW_STEP_BYTES_MAX as GROW_STEP_BYTES_MAX
from shoal.services.image.store._rbdstore import (
    IMAGE_SIZE_BYTES_MAX_DEFAULT as IMAGE_SIZE_BYTES_MAX_DEFAULT,
)
from shoal.services.image.store._rbdstore import SNAPSHOT_NAME as SNAPSHOT_NAME
from shoal.services.image.store._rbdstore import AddResult as AddResult
from shoal.services.image.store._rbdstore import ImageReader as ImageReader
from shoal.services.image.store._rbdstore import RbdStore as RbdStore
from shoal.services.image.store._rbdstore import configured_features as configured_features
from shoal.services.rbd_location import SCHEME as SCHEME
from shoal.services.rbd_location import StoreLocation as StoreLocation
from shoal.services.rbd_location import parse_location as parse_location

__all__ = [
    "CHUNK_SIZE_MIB_DEFAULT",
    "CHUNK_SIZE_MIB_MAX",
    "GROW_STEP_BYTES_MAX",
    "IMAGE_SIZE_BYTES_MAX_DEFAULT",
    "SCHEME",
    "SNAPSHOT_NAME",
    "AddResult",
    "BackgroundDigests",
    "BadStoreUri",
    "Duplicate",
    "ImageReader",
    "ImageTooLarge",
    "InUseByStore",
    "InvalidImageData",
    "RangeNotSatisfiable",
    "RbdStore",
    "SizeMismatch",
    "StorageFull",
    "StoreAccessDenied",
    "StoreLocation",
    "StoreNotFound",
    "StoreUnavailable",
    "configured_features",
    "parse_location",
]
