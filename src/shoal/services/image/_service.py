"""The image service: image records in the database, their data in the RBD store.

Every call that acts for a client takes its :class:`~shoal.services.Caller` and applies
:mod:`.policy` (404 for an image the caller may not see, 403 for one it may see but not
change); :meth:`ImageService.get` and :meth:`ImageService.all` are the unchecked reads of
the service itself. Records and data stay consistent, whatever fails:

- **create** writes a ``queued`` record (a duplicate id is 409).
- **upload** moves ``queued`` → ``saving`` (committed, with this process as the uploader),
  streams the data into the store (converting it to raw first when
  ``[image_conversion] output_format = raw`` and the image is qcow2), then records size,
  checksums, virtual size and location and moves to ``active``. If anything fails the
  store has already removed its half-written RBD image and the record goes back to
  ``queued``, so the client can upload again. If the record is deleted meanwhile, the
  upload stops and its data is removed (410).
- **delete** removes the data first (409, and nothing changes, while volumes or guest
  disks are cloned from it), then the record.
- **recover_uploads** (at start-up) puts back to ``queued`` the images whose uploader
  died mid-upload, removing their partial data: nothing stays ``saving`` forever.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shoal import errors
from shoal._time import utcnow
from shoal.db import Database
from shoal.services._caller import Caller
from shoal.services.image import policy, status
from shoal.services.image._rows import member_record, record_of, write_record
from shoal.services.image.errors import ImageConflict, ImageGone
from shoal.services.image.listing import ImageQuery, listing_select
from shoal.services.image.models import Image, ImageMember
from shoal.services.image.records import ImageRecord, Location, MemberRecord
from shoal.services.image.store import (
    AddResult,
    ImageReader,
    RbdStore,
    StoreNotFound,
)
from shoal.services.image.store.convert import prepare_upload

__all__ = ["ImageService", "ImageServiceOptions"]

log = logging.getLogger("shoal.image")

MiB = 1 << 20
_QCOW2_MAGIC = b"QFI\xfb"




@dataclass(frozen=True)
class ImageServiceOptions:
    """Deployment options of the image service.

    Attributes:
        convert_to: ``[image_conversion] output_format`` (``"raw"``), None: store as given.
        spool_dir: where conversions spool uploads (needs room for the upload and the raw).
        image_size_cap: largest upload in bytes (glance's ``image_size_cap``).
        hashing_algorithm: algorithm of ``os_hash_value``.
        progress_check_bytes: how often (bytes) an upload checks its record still exists.
    """

    spool_dir: Path
    convert_to: str | None = None
    image_size_cap: int = 1 << 40
    hashing_algorithm: str = "sha512"
    progress_check_bytes: int = 64 * MiB


class ImageService:
    """Image records and data (see the module doc). Thread-safe; methods are blocking.

    Args:
        db: the database (migrated).
        store: the RBD store, connected as the image service's cephx user.
        owner: this process's id, recorded on uploads in progress (the task runner's).
        owner_gone: whether the process with that id has died (for recovery).
    """

    def __init__(self, db: Database, store: RbdStore, options: ImageServiceOptions, *,
                 owner: str, owner_gone: Callable[[str], bool],
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.store = store
        self.options = options
        self.owner = owner
        self._owner_gone = owner_gone
        self.clock = clock

    # --- records ------------------------------------------------------------------------

    def create(self, caller: Caller, record: ImageRecord) -> ImageRecord:
        """Store a new ``queued`` record for ``caller`` (the create rules have set its owner
        and visibility).

        Raises:
            PermissionDenied: the caller lacks the ``member`` role (403).
            ImageConflict: an image with this id exists (409).
        """
        policy.require_role(caller, "member")
        try:
            with self.db.session() as session:
                row = Image(id=record.id, upload_owner=None)
                write_record(row, record)
                session.add(row)
        except IntegrityError:
            raise ImageConflict(f"Image with identifier {record.id} already exists!") from None
        return self.get(record.id)

    def get(self, image_id: str) -> ImageRecord:
        """The record of ``image_id``; NotFound (404) if there is none."""
        with self.db.session(readonly=True) as session:
            return record_of(self._row(session, image_id))

    def show(self, caller: Caller, image_id: str) -> ImageRecord:
        """The record of ``image_id`` if ``caller`` may see it; NotFound (404) otherwise."""
        with self.db.session(readonly=True) as session:
            record = record_of(self._row(session, image_id))
            policy.require_visible(caller, record, self._membership(session, record, caller))
            return record

    @staticmethod
    def _membership(session: Session, record: ImageRecord, caller: Caller) -> str | None:
        """The status of ``caller``'s project's membership of ``record`` (None: none, or
        not needed to decide visibility)."""
        if caller.is_admin or caller.project_id is None or record.visibility != "shared":
            return None
        return session.scalars(select(ImageMember.status).filter_by(
            image_id=record.id, member=caller.project_id)).first()

    def _checked(self, session: Session, caller: Caller, image_id: str,
                 action: str | None) -> tuple[Image, ImageRecord]:
        """The locked row of ``image_id`` and its record, if ``caller`` may see it (404)
        and, with ``action``, change it (403; see :func:`.policy.require_change`)."""
        row = self._row(session, image_id, for_update=True)
        record = record_of(row)
        policy.require_visible(caller, record, self._membership(session, record, caller))
        if action is not None:
            policy.require_change(caller, record, action)
        return row, record

    def list_images(self, caller: Caller, query: ImageQuery
                    ) -> tuple[list[ImageRecord], str | None]:
        """One page of the images ``caller`` lists for ``query`` (filtered, ordered and
        paged in SQL, see :mod:`.listing`), and the id to pass as ``marker`` for the next
        page (None when no image follows).

        Raises:
            InvalidArgument: ``query.marker`` names no image the caller can see (400).
        """
        with self.db.session(readonly=True) as session:
            marker: ImageRecord | None = None
            if query.marker is not None:
                found = session.get(Image, query.marker)
                marker = None if found is None else record_of(found)
                if marker is None or not policy.can_see(
                        caller, marker, self._membership(session, marker, caller)):
                    raise errors.InvalidArgument(
                        f"Marker {query.marker} names no image you can see.")
            if query.limit <= 0:
                return [], None
            statement = listing_select(caller, query, marker=marker, dialect=self.db.dialect)
            rows = [record_of(row) for row in session.scalars(statement)]
        page = rows[: query.limit]
        more = len(rows) > len(page)
        return page, (page[-1].id if page and more else None)

    def all(self) -> list[ImageRecord]:
        """Every image record (the API filters, sorts and pages)."""
        with self.db.session(readonly=True) as session:
            return [record_of(row) for row in session.scalars(select(Image))]

    def memberships(self, project_id: str | None) -> dict[str, str]:
        """image id → the status of ``project_id``'s membership, for its shared images."""
        if project_id is None:
            return {}
        with self.db.session(readonly=True) as session:
            rows = session.scalars(select(ImageMember).filter_by(member=project_id))
            return {row.image_id: row.status for row in rows}

    def update(self, caller: Caller, image_id: str,
               change: Callable[[ImageRecord], ImageRecord | None]) -> ImageRecord:
        """Apply ``change`` to the current record in one transaction and store its result
        (None: nothing to change). ``updated_at`` is set when something changed.

        ``change`` may raise to refuse (its error propagates; nothing is written).

        Raises:
            NotFound: no such image, or ``caller`` may not see it (404).
            PermissionDenied: ``caller`` may not modify it (403).
        """
        with self.db.session() as session:
            row, current = self._checked(session, caller, image_id, "modify")
            new = change(current)
            if new is not None and new != current:
                write_record(row, replace(new, updated_at=self.clock()))
            session.flush()
            return record_of(row)

    @staticmethod
    def _row(session: Session, image_id: str, *, for_update: bool = False) -> Image:
        query = select(Image).filter_by(id=image_id)
        if for_update:
            query = query.with_for_update()
        row = session.scalars(query).first()
        if row is None:
            raise errors.NotFound(f"No image found with ID {image_id}")
        return row

    # --- delete -------------------------------------------------------------------------

    def delete(self, caller: Caller, image_id: str) -> None:
        """Remove the image's data, then its record.

        Raises:
            NotFound: no such image, or ``caller`` may not see it (404).
            PermissionDenied: ``caller`` may not delete it, or it is protected (403).
            InUseByStore: volumes or guest disks are cloned from it (409; nothing changes).
        """
        with self.db.session() as session:
            _, record = self._checked(session, caller, image_id, "delete")
        if record.protected:
            raise errors.PermissionDenied(
                f"Image {record.id} is protected and cannot be deleted: unset "
                f"'protected' first.")
        status.check_delete(record)
        if record.status != "saving":  # an upload in progress removes its own data
            for location in record.locations:
                self._delete_data(location.url)
        with self.db.session() as session:
            row = session.get(Image, image_id)
            if row is not None:
                session.delete(row)

    def _delete_data(self, url: str) -> None:
        try:
            self.store.delete(url)
        except StoreNotFound:
            log.info("image data at %s was already gone", url)

    # --- data ---------------------------------------------------------------------------

    def upload(self, caller: Caller, image_id: str, data: Iterable[bytes],
               size: int | None) -> ImageRecord:
        """Store the image's data (see the module doc) and return the active record.

        ``size`` is the declared length (Content-Length), None when unknown (chunked).
        Policy first (404 invisible, 403 not ``caller``'s to upload to), then status
        rules (409/400).

        Raises:
            ImageConflict: the image is not ``queued`` (409).
            errors.InvalidArgument: formats unset (400), or the store refused the data
                (size mismatch, bad qcow2: 400).
            ImageGone: the image was deleted during the upload (410).
            shoal.errors.ShoalError: the store's errors (413 full/too large, 503 ...).
        """
        with self.db.session() as session:
            row, record = self._checked(session, caller, image_id, "upload data to")
            status.check_upload(record)
            row.status = "saving"
            row.upload_owner = self.owner
            row.updated_at = self.clock()
        try:
            result, disk_format, virtual_size = self._store_data(record, data, size)
        except BaseException:
            self._restore_queued(image_id)
            raise
        with self.db.session() as session:
            found = session.scalars(
                select(Image).filter_by(id=image_id).with_for_update()).first()
            if found is None or found.status != "saving" or found.upload_owner != self.owner:
                gone = found is None
                session.rollback()
                self._delete_data(result.location)
                if gone:
                    raise ImageGone(f"Image {image_id} could not be found after upload: it "
                                    f"was deleted during the upload; its data is removed.")
                raise ImageConflict(f"Image {image_id} changed during the upload; its "
                                    f"data is removed.")
            row = found
            current = record_of(row)
            done = replace(
                current, status="active", size=result.size, checksum=result.checksum,
                os_hash_algo=result.hash_algo, os_hash_value=result.multihash,
                virtual_size=virtual_size, disk_format=disk_format,
                locations=(Location(result.location, {}),), updated_at=self.clock())
            write_record(row, done)
            row.upload_owner = None
            session.flush()
            return record_of(row)

    def _store_data(self, record: ImageRecord, data: Iterable[bytes], size: int | None
                    ) -> tuple[AddResult, str | None, int | None]:
        """(result, disk_format, virtual_size) of storing ``data`` for ``record``."""
        opts = self.options
        on_progress = self._progress_check(record.id)
        convert = (opts.convert_to == "raw" and record.disk_format not in (None, "raw")
                   and record.disk_format in ("qcow2",))
        if convert:
            assert record.disk_format is not None
            with prepare_upload(data, disk_format=record.disk_format, spool_dir=opts.spool_dir,
                                size_max=opts.image_size_cap) as prepared:
                on_progress(0)  # deleted while spooling?
                result = self.store.add(record.id, prepared.chunks(self.store.chunk_bytes),
                                        prepared.size, hashing_algo=opts.hashing_algorithm,
                                        on_progress=on_progress)
            return result, "raw", prepared.virtual_size
        if size is not None and size > opts.image_size_cap:
            raise errors.TooLarge(f"the image is {size} bytes; at most {opts.image_size_cap} "
                                  f"bytes are accepted (image_size_cap)")
        head: list[bytes] = []
        stream = _peek(data, head)
        result = self.store.add(record.id, stream, size, hashing_algo=opts.hashing_algorithm,
                                on_progress=on_progress)
        virtual: int | None = None
        if record.disk_format in ("raw", "iso"):
            virtual = result.size
        elif record.disk_format == "qcow2" and head:
            virtual = _qcow2_virtual_size(head[0])
        return result, record.disk_format, virtual

    def _progress_check(self, image_id: str) -> Callable[[int], None]:
        step = self.options.progress_check_bytes
        next_check = [step]

        def check(done: int) -> None:
            if done < next_check[0] and done:
                return
            next_check[0] = done + step
            with self.db.session(readonly=True) as session:
                row = session.get(Image, image_id)
                if row is None:
                    raise ImageGone(f"Image {image_id} was deleted during the upload; the "
                                    f"data received is removed.")

        return check

    def _restore_queued(self, image_id: str) -> None:
        """After a failed upload: back to ``queued`` (if still ours)."""
        try:
            with self.db.session() as session:
                row = session.get(Image, image_id)
                if row is not None and row.status == "saving" and row.upload_owner == self.owner:
                    row.status = "queued"
                    row.upload_owner = None
                    row.updated_at = self.clock()
        except Exception:  # the original error matters more
            log.exception("could not put image %s back to queued", image_id)

    def open_data(self, record: ImageRecord, offset: int = 0, length: int | None = None
                  ) -> tuple[ImageReader, int]:
        """A reader of the image's data from ``offset`` (``length`` bytes, None: to the
        end) and the image's whole size.

        Raises:
            NotFound: the image has no data location.
            RangeNotSatisfiable: ``offset`` is past the end (416).
        """
        if not record.locations:
            raise errors.NotFound(f"image {record.id} has no data")
        return self.store.get(record.locations[0].url, offset=offset, length=length)

    # --- recovery -----------------------------------------------------------------------

    def recover_uploads(self) -> list[str]:
        """Put back to ``queued`` the images whose uploader died, removing partial data;
        return their ids."""
        with self.db.session(readonly=True) as session:
            stuck = [(row.id, row.upload_owner) for row in
                     session.scalars(select(Image).filter_by(status="saving"))]
        recovered = []
        for image_id, owner in stuck:
            if owner is not None and owner != self.owner and not self._owner_gone(owner):
                continue
            self._delete_data(self.store.location_for(image_id).uri)
            with self.db.session() as session:
                row = session.get(Image, image_id)
                if row is None or row.status != "saving" or row.upload_owner != owner:
                    continue
                row.status = "queued"
                row.upload_owner = None
                row.updated_at = self.clock()
                recovered.append(image_id)
                log.warning("image %s: its upload was interrupted (uploader %s gone); it is "
                            "queued again", image_id, owner)
        return recovered

    # --- members ------------------------------------------------------------------------

    # The membership rules themselves (owner shares, member accepts) are Glance's member
    # policy, applied by ``check``; the image must be visible to ``caller`` (404) first.

    def members(self, caller: Caller, image_id: str
                ) -> tuple[ImageRecord, list[MemberRecord]]:
        """The image (visible to ``caller``, else 404) and all its memberships."""
        with self.db.session(readonly=True) as session:
            row = self._row(session, image_id)
            record = record_of(row)
            policy.require_visible(caller, record, self._membership(session, record, caller))
            return record, [member_record(m) for m in row.members]

    def add_member(self, caller: Caller, image_id: str, member: str,
                   check: Callable[[ImageRecord, int], None]) -> MemberRecord:
        """Share the image with project ``member`` (status ``pending``).

        ``check(record, member_count)`` applies the member policy and quota. Raises
        NotFound (404) when ``caller`` may not see the image, PermissionDenied (403)
        without the ``member`` role, ImageConflict (409) when ``member`` is already one.
        """
        policy.require_role(caller, "member")
        now = self.clock()
        try:
            with self.db.session() as session:
                row, record = self._checked(session, caller, image_id, None)
                check(record, len(row.members))
                if any(m.member == member for m in row.members):
                    raise ImageConflict(f"Member {member} is already a member of image "
                                        f"{image_id}.")
                added = ImageMember(member=member, status="pending", created_at=now,
                                    updated_at=now)
                row.members.append(added)
                session.flush()
                return member_record(added)
        except IntegrityError:
            raise ImageConflict(f"Member {member} is already a member of image "
                                f"{image_id}.") from None

    def update_member(self, caller: Caller, image_id: str, member: str, new_status: str,
                      check: Callable[[ImageRecord, MemberRecord], None]) -> MemberRecord:
        """Set ``member``'s membership status; ``check`` applies the member policy."""
        with self.db.session() as session:
            row, record = self._checked(session, caller, image_id, None)
            found = self._member(row, member)
            check(record, member_record(found))
            if found.status != new_status:
                found.status = new_status
                found.updated_at = self.clock()
            session.flush()
            return member_record(found)

    def delete_member(self, caller: Caller, image_id: str, member: str,
                      check: Callable[[ImageRecord, MemberRecord], None]) -> None:
        """Remove ``member``'s membership; ``check`` applies the member policy."""
        with self.db.session() as session:
            row, record = self._checked(session, caller, image_id, None)
            found = self._member(row, member)
            check(record, member_record(found))
            row.members.remove(found)

    @staticmethod
    def _member(row: Image, member: str) -> ImageMember:
        for m in row.members:
            if m.member == member:
                return m
        raise errors.NotFound(f"{member} is not a member of image {row.id}.")


def _peek(data: Iterable[bytes], head: list[bytes]) -> Iterator[bytes]:
    """``data``, keeping its first piece in ``head``."""
    it = iter(data)
    for first in itertools.islice(it, 1):
        head.append(bytes(first[:64]))
        yield first
    yield from it


def _qcow2_virtual_size(header: bytes) -> int | None:
    """The disk size a qcow2 header declares (bytes 24..31, big-endian), None if not qcow2."""
    if len(header) < 32 or header[:4] != _QCOW2_MAGIC:
        return None
    return int.from_bytes(header[24:32], "big")
