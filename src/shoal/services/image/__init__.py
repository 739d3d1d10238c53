"""The image service (Glance v2 semantics) on the RBD store. No HTTP here.

::

    store = RbdStore(glance_session, pool="images", chunk_size_mib=8)
    images = ImageService(db, store, ImageServiceOptions(spool_dir=...), owner=...,
                          owner_gone=...)
    caller = Caller(user_id, project_id, frozenset({"member", "reader"}))
    images.create(caller, record); images.upload(caller, image_id, chunks, size)
    page, next_marker = images.list_images(caller, query)
    reader, size = images.open_data(images.show(caller, image_id))

Records (:mod:`.records`), the status machine (:mod:`.status`), the store (:mod:`.store`),
who may do what (:mod:`.policy`), listings in SQL (:mod:`.listing`).
"""

from __future__ import annotations

from shoal.services.image._metadefs import MetadefStore as MetadefStore
from shoal.services.image._service import ImageService as ImageService
from shoal.services.image._service import ImageServiceOptions as ImageServiceOptions
from shoal.services.image.errors import ImageConflict as ImageConflict
from shoal.services.image.errors import ImageGone as ImageGone
from shoal.services.image.records import ImageRecord as ImageRecord
from shoal.services.image.records import Location as Location
from shoal.services.image.records import MemberRecord as MemberRecord

__all__ = [
    "ImageConflict",
    "ImageGone",
    "ImageRecord",
    "ImageService",
    "ImageServiceOptions",
    "Location",
    "MemberRecord",
    "MetadefStore",
]
