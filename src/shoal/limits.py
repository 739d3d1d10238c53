"""Every bound shoal enforces, in one place, with the relations between them.

Names put the unit and qualifier last (``object_name_bytes_max``). Values follow
Ceph's defaults where Ceph has one (the option name is given).
"""

from __future__ import annotations

from typing import Final

# --- object store ---------------------------------------------------------
#: ``osd_max_object_name_len``: object names longer than this (UTF-8 bytes) are EINVAL.
object_name_bytes_max: Final = 2048
#: ``osd_max_object_namespace_len``.
namespace_bytes_max: Final = 256
#: ``osd_max_attr_name_len``.
xattr_name_bytes_max: Final = 100
#: ``osd_max_attr_size`` is 0 (unlimited) in Ceph; we bound a single value.
xattr_value_bytes_max: Final = 64 * 1024
#: ``osd_max_omap_entries_per_request`` bounds omap listings and bulk sets.
omap_entries_per_request_max: Final = 1024
omap_key_bytes_max: Final = 4096
omap_value_bytes_max: Final = 16 * 1024 * 1024
#: ``osd_max_object_size`` (128 MiB): no object may grow past this.
object_size_bytes_max: Final = 128 * 1024 * 1024
#: One object listing page.
list_page_entries_max: Final = 10_000
#: Data writes up to this size into an existing object go through the redo
#: log (atomic after a crash); a write that replaces the whole object never does.
redo_inline_bytes_max: Final = 128 * 1024 * 1024

# --- pools ----------------------------------------------------------------
pool_name_bytes_max: Final = 256
#: ``mon_max_pool_pg_num``.
pg_num_max: Final = 65536
#: ``osd_pool_default_pg_num``.
pg_num_default: Final = 32
pools_max: Final = 1024

# --- rbd ------------------------------------------------------------------
#: ``rbd_default_order`` range (object size 4 KiB .. 32 MiB).
rbd_order_min: Final = 12
rbd_order_max: Final = 25
rbd_order_default: Final = 22
#: Largest image we accept (bytes); librbd's own bound is far higher.
image_size_bytes_max: Final = 1 << 60
image_name_bytes_max: Final = 4096
#: The largest RBD object (bytes): 2^``rbd_order_max``.
rbd_object_bytes_max: Final = 1 << rbd_order_max
#: The largest ``rbd_store_chunk_size`` (MiB; glance's image store and Cinder's volume
#: driver): one chunk is one object, so the largest object.
chunk_size_mib_max: Final = rbd_object_bytes_max >> 20
snap_name_bytes_max: Final = 4096
#: Snapshots per image (``rbd snap limit`` default is unlimited; we bound it).
snaps_per_image_max: Final = 1024
#: ``rbd_max_clone_depth`` upper bound we accept in configuration.
clone_depth_max: Final = 64
#: One diff-stream ``w`` record (bytes) accepted by import-diff.
diff_record_bytes_max: Final = 1 << 30
#: How long a write waits for another handle's automatic exclusive lock to be released
#: before ImageBusy (librbd asks the owner and waits; ``rbd_request_timed_out_seconds``).
exclusive_lock_wait_s_max: Final = 30.0

# --- cephx ----------------------------------------------------------------
entity_name_bytes_max: Final = 256
caps_string_bytes_max: Final = 4096

# --- libvirt (compute hosts) ---------------------------------------------
#: libvirt's ``SECRET_MAX_XML_FILE`` (and virsh's ``VSH_MAX_XML_FILE``): a longer secret
#: XML is refused.
secret_xml_bytes_max: Final = 10 * 1024 * 1024
#: ``virsh secret-set-value --file`` reads at most this many bytes; shoal bounds every
#: secret value (decoded bytes) by it as well (a cephx key is 28 bytes).
secret_value_bytes_max: Final = 1024
#: A compute host's name (a DNS name: 253 characters; it names a directory).
compute_host_chars_max: Final = 253

# --- API edge -------------------------------------------------------------
#: Glance's ``max_request_id_length``: a longer ``X-OpenStack-Request-Id`` from a client
#: is refused with 431 by the image API (the one that adopts the client's id).
request_id_chars_max: Final = 64

# --- OpenStack APIs -------------------------------------------------------
#: Glance's ``min_disk``/``min_ram`` and Cinder's GiB sizes are signed 32-bit integer
#: columns upstream; a value above this is a 400.
INT32_MAX: Final = 2**31 - 1
#: An imported backup record's ``backup_url`` (base64 JSON of a few hundred bytes), chars.
backup_record_chars_max: Final = 64 * 1024
#: Nova's ``[api] max_limit``: a paged compute list (key pairs from 2.35) holds at most
#: this many entries.
compute_page_entries_max: Final = 1000
#: Nova's default ``key_pairs`` quota: key pairs one user may keep (-1: no limit).
keypairs_per_user_default: Final = 100

# --- local store tuning ---------------------------------------------------
#: Open data-file descriptors kept per process.
fd_cache_entries_max: Final = 256
#: Threads that fdatasync a flush's files at once (a deeper disk queue than one).
sync_threads_max: Final = 8
#: Writes at least this large (bytes) start their writeback at once (write-behind).
writebehind_bytes_min: Final = 1 << 20

assert omap_entries_per_request_max <= list_page_entries_max
assert redo_inline_bytes_max <= object_size_bytes_max
assert 1 <= pg_num_default <= pg_num_max
assert xattr_name_bytes_max < object_name_bytes_max
assert rbd_order_min <= rbd_order_default <= rbd_order_max
assert (1 << rbd_order_max) <= object_size_bytes_max
assert chunk_size_mib_max << 20 == rbd_object_bytes_max
