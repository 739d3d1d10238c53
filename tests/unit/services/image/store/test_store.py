"""The RBD image store (glance_store's rbd driver) on the embedded engine.

The cluster is provisioned as ``shoal up`` does it (the guide's pools and users);
the store runs as ``client.glance`` with its keyring, so every operation goes
through the guide's caps; the checks look at the pool as client.admin.
"""

from __future__ import annotations

import errno
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shoal.rbd as rbd
from shoal import errors
from shoal.cluster import EmbeddedSession
from shoal.objstore import IoCtx
from shoal.services.image.store import (
    SNAPSHOT_NAME,
    BadStoreUri,
    Duplicate,
    ImageTooLarge,
    InUseByStore,
    RangeNotSatisfiable,
    RbdStore,
    SizeMismatch,
    StorageFull,
    StoreAccessDenied,
    StoreLocation,
    StoreNotFound,
    StoreUnavailable,
    parse_location,
)
from tests.unit._guide_cluster import GuideCluster

MiB = 1 << 20
#: Per-image objects (everything else in the pool is shared bookkeeping).
IMAGE_OBJECT_PREFIXES = ("rbd_data.", "rbd_header.", "rbd_id.", "rbd_object_map.")


class Cluster(GuideCluster):
    def io(self, pool: str = "images") -> IoCtx:
        return super().io(pool)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    yield c
    c.close()


@pytest.fixture
def glance(cluster: Cluster) -> EmbeddedSession:
    return cluster.session("client.glance")


@pytest.fixture
def store(glance: EmbeddedSession) -> RbdStore:
    return RbdStore(glance, chunk_size_mib=1)


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def pieces(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    """``data`` cut into pieces of the given sizes, cycling; the rest in one piece."""
    pos, i = 0, 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        yield data[pos:pos + n]
        pos += n
        i += 1


def image_objects(io: IoCtx) -> set[str]:
    names: set[str] = set()
    for prefix in IMAGE_OBJECT_PREFIXES:
        cursor = None
        while True:
            page = io.list_objects(prefix, cursor, 1000)
            names.update(page.names)
            cursor = page.cursor
            if cursor is None:
                break
    return names


def read_all(store: RbdStore, location: str, offset: int = 0,
             length: int | None = None) -> bytes:
    reader, _size = store.get(location, offset, length)
    with reader:
        return b"".join(reader)


# --- add -------------------------------------------------------------------------------------
def test_add_known_size_stores_data_snapshot_and_hashes(cluster: Cluster,
                                                        store: RbdStore) -> None:
    data = payload(3 * MiB + 12345)
    result = store.add("11111111-2222-3333-4444-555555555555", pieces(data, [MiB]), len(data))

    fsid = cluster.admin.get_fsid()
    assert result.location == f"rbd://{fsid}/images/11111111-2222-3333-4444-555555555555/snap"
    assert result.size == len(data)
    assert result.checksum == hashlib.md5(data).hexdigest()
    assert result.multihash == hashlib.sha512(data).hexdigest()
    assert result.hash_algo == "sha512"
    assert result.order == 20
    with rbd.Image(cluster.io(), "11111111-2222-3333-4444-555555555555",
                   snapshot=SNAPSHOT_NAME, read_only=True) as img:
        assert img.size() == len(data)
        assert img.order() == 20
        assert img.features() == rbd.FEATURES_DEFAULT  # the cluster's rbd_default_features
        assert img.read(0, len(data)) == data
        assert [(s["name"], s["protected"]) for s in img.list_snaps()] == [("snap", True)]
    assert read_all(store, result.location) == data
    assert store.get_size(result.location) == len(data)


def test_default_order_is_23_for_8_mib_chunks(glance: EmbeddedSession) -> None:
    assert RbdStore(glance).order == 23
    assert RbdStore(glance, chunk_size_mib=3).order == 21  # log2 rounded down, as glance
    assert RbdStore(glance, chunk_size_mib=32).order == 25


@pytest.mark.parametrize("bad", [0, -1, 33, True, 1.5])
def test_chunk_size_out_of_range_is_refused(glance: EmbeddedSession, bad: Any) -> None:
    with pytest.raises(errors.InvalidArgument, match="rbd_store_chunk_size"):
        RbdStore(glance, chunk_size_mib=bad)


def test_features_follow_configuration(cluster: Cluster, glance: EmbeddedSession) -> None:
    assert RbdStore(glance).features == 61
    assert RbdStore(glance, rbd_default_features=0).features == rbd.FEATURE_LAYERING
    assert RbdStore(glance, rbd_default_features="layering,exclusive-lock").features == 5
    conf = cluster.data_dir / "ceph.conf"
    conf.write_text(conf.read_text() + "\n[client]\nrbd default features = 0\n")
    store = RbdStore(glance, chunk_size_mib=1)
    assert store.features == rbd.FEATURE_LAYERING  # 0 means layering only (glance)
    store.add("layered", [b"x" * 100], 100)
    with rbd.Image(cluster.io(), "layered", read_only=True) as img:
        assert img.features() == rbd.FEATURE_LAYERING


def test_add_rechunks_arbitrary_pieces(cluster: Cluster, store: RbdStore) -> None:
    data = payload(4 * MiB + 77, seed=2)
    offsets: list[int] = []
    result = store.add("odd", pieces(data, [1, 7, MiB + 3, 0, 65536, 2 * MiB]), len(data),
                       on_progress=offsets.append)
    assert read_all(store, result.location) == data
    # one write per chunk, each a whole chunk but the last
    assert offsets == [MiB, 2 * MiB, 3 * MiB, 4 * MiB, 4 * MiB + 77]


def test_add_unknown_size_grows_then_trims(cluster: Cluster, store: RbdStore) -> None:
    data = payload(5 * MiB + 1, seed=3)
    result = store.add("unknown", pieces(data, [300_000]), None)
    assert result.size == len(data)
    assert store.get_size(result.location) == len(data)
    assert read_all(store, result.location) == data
    with rbd.Image(cluster.io(), "unknown", read_only=True) as img:
        assert img.size() == len(data)


def test_growth_step_starts_afresh_for_every_upload(cluster: Cluster, store: RbdStore) -> None:
    """glance keeps the step across uploads (configure_add); each upload here starts at
    2 chunks and doubles: 2, 6, 14 MiB."""
    io = cluster.io()

    def sizes_during(name: str, data: bytes) -> list[int]:
        seen: list[int] = []

        def probe(_offset: int) -> None:
            with rbd.Image(io, name, read_only=True) as img:
                seen.append(img.size())

        store.add(name, pieces(data, [MiB]), None, on_progress=probe)
        return seen

    expected = [2 * MiB, 2 * MiB, 6 * MiB, 6 * MiB, 6 * MiB, 6 * MiB, 14 * MiB]
    assert sizes_during("first", payload(7 * MiB)) == expected
    assert sizes_during("second", payload(7 * MiB)) == expected


@pytest.mark.parametrize("size", [0, None])
def test_add_empty_image(cluster: Cluster, store: RbdStore, size: int | None) -> None:
    result = store.add("empty", iter([]), size)
    assert result.size == 0
    assert result.checksum == hashlib.md5(b"").hexdigest()
    assert store.get_size(result.location) == 0
    assert read_all(store, result.location) == b""


def test_other_hash_algorithm(store: RbdStore) -> None:
    data = payload(1000)
    result = store.add("sha256", [data], len(data), hashing_algo="sha256")
    assert (result.hash_algo, result.multihash) == ("sha256", hashlib.sha256(data).hexdigest())


@pytest.mark.parametrize("algo", ["nope", "shake_128"])
def test_unknown_hash_algorithm_is_refused_before_creating(
        cluster: Cluster, store: RbdStore, algo: str) -> None:
    with pytest.raises(errors.InvalidArgument, match="hashing algorithm"):
        store.add("hashless", [b"x"], 1, hashing_algo=algo)
    assert rbd.RBD().list(cluster.io()) == []


@pytest.mark.parametrize("image_id", ["", "x" * 5000])
def test_bad_image_id_is_refused(cluster: Cluster, store: RbdStore, image_id: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        store.add(image_id, [b"x"], 1)
    assert rbd.RBD().list(cluster.io()) == []


def test_bad_size_is_refused(cluster: Cluster, store: RbdStore) -> None:
    with pytest.raises(errors.InvalidArgument):
        store.add("neg", [b"x"], -1)
    with pytest.raises(ImageTooLarge, match="larger than the largest accepted") as info:
        store.add("huge", [b"x"], (1 << 40) + 1)  # glance's image_size_cap: 1 TiB
    assert info.value.http_status == 413
    assert rbd.RBD().list(cluster.io()) == []


def test_image_size_cap(cluster: Cluster, glance: EmbeddedSession) -> None:
    store = RbdStore(glance, chunk_size_mib=1, image_size_max=3 * MiB)
    before = image_objects(cluster.io())
    with pytest.raises(ImageTooLarge):
        store.add("declared", [b"x"], 3 * MiB + 1)
    with pytest.raises(ImageTooLarge, match="passes the largest image accepted"):
        store.add("streamed", pieces(payload(4 * MiB), [MiB]), None)
    assert_nothing_left(cluster, before)
    data = payload(3 * MiB)  # exactly the cap: growth stops at it
    result = store.add("at-cap", pieces(data, [MiB]), None)
    assert read_all(store, result.location) == data
    with pytest.raises(errors.InvalidArgument, match="image_size_max"):
        RbdStore(glance, image_size_max=0)


def test_image_id_with_slashes_round_trips(cluster: Cluster, store: RbdStore) -> None:
    result = store.add("a/b c@d", [b"data"], 4)
    assert result.location.endswith("/images/a%2Fb%20c%40d/snap")
    assert parse_location(result.location).image == "a/b c@d"
    assert read_all(store, result.location) == b"data"
    store.delete(result.location)
    assert rbd.RBD().list(cluster.io()) == []


# --- failed adds leave nothing -------------------------------------------------------------
class ClientWentAway(ConnectionError):
    pass


def broken_stream(data: bytes, fail_after: int) -> Iterator[bytes]:
    yield data[:fail_after]
    raise ClientWentAway("client disconnected mid-upload")


def assert_nothing_left(cluster: Cluster, before: set[str]) -> None:
    io = cluster.io()
    assert rbd.RBD().list(io) == []
    assert rbd.RBD().trash_list(io) == []
    assert image_objects(io) == before


@pytest.mark.parametrize("size", [3 * MiB, None])
def test_client_disconnect_mid_stream_leaves_nothing(
        cluster: Cluster, store: RbdStore, size: int | None) -> None:
    before = image_objects(cluster.io())
    with pytest.raises(ClientWentAway):
        store.add("half", broken_stream(payload(3 * MiB), 2 * MiB + 5), size)
    assert_nothing_left(cluster, before)


def test_data_past_declared_size_is_refused_early(cluster: Cluster, store: RbdStore) -> None:
    before = image_objects(cluster.io())
    pulled: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            pulled.append(1)
            yield b"z" * 65536

    with pytest.raises(SizeMismatch, match="exceeds the declared size of 100000") as info:
        store.add("long", endless(), 100_000)
    assert info.value.http_status == 400
    assert len(pulled) <= MiB // 65536 + 1  # stopped at the first chunk, not at the end
    assert_nothing_left(cluster, before)


def test_data_short_of_declared_size_is_refused(cluster: Cluster, store: RbdStore) -> None:
    before = image_objects(cluster.io())
    with pytest.raises(SizeMismatch, match="size mismatch: the image data is 2097152 bytes"):
        store.add("short", [payload(2 * MiB)], 3 * MiB)
    assert_nothing_left(cluster, before)


def test_progress_callback_can_abort(cluster: Cluster, store: RbdStore) -> None:
    before = image_objects(cluster.io())

    def deleted_meanwhile(offset: int) -> None:
        if offset >= 2 * MiB:
            raise errors.NotFound("image record deleted during upload")

    with pytest.raises(errors.NotFound, match="deleted during upload"):
        store.add("aborted", [payload(4 * MiB)], None, on_progress=deleted_meanwhile)
    assert_nothing_left(cluster, before)


@pytest.mark.parametrize("failure", [
    errors.NoSpace("out of space"),
    errors.error_for_errno(errno.EDQUOT, "quota exceeded"),
])
def test_full_storage_is_storage_full(cluster: Cluster, store: RbdStore,
                                      monkeypatch: pytest.MonkeyPatch,
                                      failure: errors.ShoalError) -> None:
    before = image_objects(cluster.io())
    real_write = rbd.Image.write
    calls: list[int] = []

    def filling_up(self: rbd.Image, data: bytes, offset: int, fadvise_flags: int = 0) -> int:
        calls.append(offset)
        if len(calls) > 1:
            raise failure
        return real_write(self, data, offset, fadvise_flags)

    monkeypatch.setattr(rbd.Image, "write", filling_up)
    with pytest.raises(StorageFull, match="image storage is full") as info:
        store.add("full", [payload(3 * MiB)], 3 * MiB)
    assert info.value.http_status == 413
    monkeypatch.undo()
    assert_nothing_left(cluster, before)


def test_duplicate_id_is_refused_and_the_original_kept(cluster: Cluster,
                                                        store: RbdStore) -> None:
    data = payload(MiB + 1)
    first = store.add("dup", [data], len(data))
    with pytest.raises(Duplicate, match="already stored") as info:
        store.add("dup", [b"other"], 5)
    assert info.value.http_status == 409
    assert read_all(store, first.location) == data
    assert store.get_size(first.location) == len(data)


# --- thin provisioning --------------------------------------------------------------------
def data_objects(io: IoCtx) -> int:
    return sum(1 for name in image_objects(io) if name.startswith("rbd_data."))


@pytest.mark.parametrize(("thin", "objects"), [(True, 2), (False, 4)])
def test_thin_provisioning_skips_zero_chunks_but_hashes_them(
        cluster: Cluster, glance: EmbeddedSession, thin: bool, objects: int) -> None:
    store = RbdStore(glance, chunk_size_mib=1, thin_provisioning=thin)
    data = payload(MiB) + bytes(2 * MiB) + payload(MiB // 2, seed=9)
    result = store.add("sparse", pieces(data, [500_000]), None)
    assert result.checksum == hashlib.md5(data).hexdigest()
    assert result.multihash == hashlib.sha512(data).hexdigest()
    assert data_objects(cluster.io()) == objects
    assert read_all(store, result.location) == data


def test_thin_unknown_size_with_trailing_zeros_keeps_the_size(
        glance: EmbeddedSession) -> None:
    store = RbdStore(glance, chunk_size_mib=1, thin_provisioning=True)
    data = payload(100) + bytes(3 * MiB)
    result = store.add("tail", [data], None)
    assert store.get_size(result.location) == len(data)
    assert read_all(store, result.location) == data


# --- get -------------------------------------------------------------------------------------
@pytest.fixture
def stored(store: RbdStore) -> tuple[str, bytes]:
    data = payload(3 * MiB + 500, seed=5)
    return store.add("ranged", [data], len(data)).location, data


@pytest.mark.parametrize(("offset", "length"), [
    (0, None), (10, 100), (MiB - 10, 20), (MiB, MiB), (5, 3 * MiB), (3 * MiB, None),
    (3 * MiB + 500, None), (3 * MiB + 400, 1000), (7, 0),
])
def test_get_ranges(store: RbdStore, stored: tuple[str, bytes], offset: int,
                    length: int | None) -> None:
    location, data = stored
    reader, size = store.get(location, offset, length)
    assert size == len(data)
    expected = data[offset:] if length is None else data[offset:offset + length]
    assert reader.length == len(expected)
    chunks = list(reader)
    assert b"".join(chunks) == expected
    assert all(0 < len(c) <= MiB for c in chunks)
    # after the first, each piece starts on a chunk boundary
    starts = [offset + sum(len(c) for c in chunks[:i]) for i in range(1, len(chunks))]
    assert all(s % MiB == 0 for s in starts)


def test_get_past_the_end_is_not_satisfiable(store: RbdStore,
                                             stored: tuple[str, bytes]) -> None:
    location, data = stored
    with pytest.raises(RangeNotSatisfiable) as info:
        store.get(location, len(data) + 1)
    assert info.value.http_status == 416
    with pytest.raises(errors.InvalidArgument):
        store.get(location, -1)
    with pytest.raises(errors.InvalidArgument):
        store.get(location, 0, -5)


def test_reader_close_is_idempotent(store: RbdStore, stored: tuple[str, bytes]) -> None:
    location, data = stored
    reader, _ = store.get(location)
    assert next(reader) == data[:MiB]
    reader.close()
    reader.close()
    assert list(reader) == []


def test_get_reads_the_snapshot_not_the_head(cluster: Cluster, store: RbdStore,
                                             stored: tuple[str, bytes]) -> None:
    location, data = stored
    with rbd.Image(cluster.io(), "ranged") as head:
        head.write(b"CHANGED", 0)
    assert read_all(store, location, 0, 7) == data[:7]


def test_get_missing_image_pool_or_snapshot(cluster: Cluster, store: RbdStore,
                                            stored: tuple[str, bytes]) -> None:
    fsid = cluster.admin.get_fsid()
    for uri in (f"rbd://{fsid}/images/nope/snap", f"rbd://{fsid}/nopool/ranged/snap",
                f"rbd://{fsid}/images/ranged/nosnap"):
        with pytest.raises(StoreNotFound) as info:
            store.get(uri)
        assert info.value.http_status == 404
        with pytest.raises(StoreNotFound):
            store.get_size(uri)


def test_location_of_another_cluster_is_not_found(cluster: Cluster, store: RbdStore,
                                                  stored: tuple[str, bytes]) -> None:
    location, _ = stored
    other = parse_location(location)
    foreign = StoreLocation(image=other.image, fsid="00000000-0000-0000-0000-000000000000",
                            pool=other.pool, snapshot=other.snapshot)
    with pytest.raises(StoreNotFound, match="another Ceph cluster"):
        store.get(foreign)
    with pytest.raises(StoreNotFound, match="another Ceph cluster"):
        store.delete(foreign.uri)
    assert store.get_size(location) > 0  # untouched


def test_legacy_location_reads_the_head_in_the_store_pool(cluster: Cluster,
                                                         store: RbdStore) -> None:
    rbd.RBD().create(cluster.io(), "legacy", 10, order=20)
    with rbd.Image(cluster.io(), "legacy") as img:
        img.write(b"0123456789", 0)
    assert read_all(store, "rbd://legacy") == b"0123456789"
    assert store.get_size("rbd://legacy") == 10
    store.delete("rbd://legacy")
    assert rbd.RBD().list(cluster.io()) == []


@pytest.mark.parametrize("uri", [
    "rbd://", "rbd://a/b", "rbd://a/b/c", "rbd://a/b/c/d/e", "rbd://a//c/d", "rbd://a/b/c/",
    "file:///etc/passwd", "rbd://%ff%fe", "swift://x",
])
def test_bad_locations_are_bad_store_uris(store: RbdStore, uri: str) -> None:
    for call in (store.get, store.get_size, store.delete):
        with pytest.raises(BadStoreUri) as info:
            call(uri)
        assert info.value.http_status == 400


# --- delete ----------------------------------------------------------------------------------
def test_delete_removes_everything(cluster: Cluster, store: RbdStore) -> None:
    before = image_objects(cluster.io())
    result = store.add("gone", [payload(2 * MiB)], None)
    store.delete(result.location)
    assert_nothing_left(cluster, before)
    with pytest.raises(StoreNotFound) as info:
        store.delete(result.location)
    assert info.value.http_status == 404


def test_delete_with_clones_is_in_use(cluster: Cluster, store: RbdStore) -> None:
    result = store.add("parent", [payload(MiB)], MiB)
    cinder = cluster.session("client.cinder")
    rbd.RBD().clone(cinder.open_ioctx("images"), "parent", "snap",
                    cinder.open_ioctx("volumes"), "volume-1")
    with pytest.raises(InUseByStore, match="volumes or instance disks") as info:
        store.delete(result.location)
    assert info.value.http_status == 409
    with rbd.Image(cluster.io(), "parent", snapshot="snap", read_only=True) as img:
        assert img.is_protected_snap("snap")  # still cloneable
    rbd.RBD().remove(cinder.open_ioctx("volumes"), "volume-1")
    store.delete(result.location)
    assert rbd.RBD().list(cluster.io()) == []


def test_delete_with_other_snapshots_moves_to_trash(cluster: Cluster, store: RbdStore) -> None:
    result = store.add("snappy", [payload(MiB)], MiB)
    with rbd.Image(cluster.io(), "snappy") as img:
        img.create_snap("someone-elses")
    store.delete(result.location)
    io = cluster.io()
    assert rbd.RBD().list(io) == []
    assert [e["name"] for e in rbd.RBD().trash_list(io)] == ["snappy"]


def test_delete_unprotected_or_missing_snapshot_still_deletes(cluster: Cluster,
                                                              store: RbdStore) -> None:
    one = store.add("unprotected", [b"a"], 1)
    with rbd.Image(cluster.io(), "unprotected") as img:
        img.unprotect_snap("snap")
    store.delete(one.location)
    two = store.add("snapless", [b"b"], 1)
    with rbd.Image(cluster.io(), "snapless") as img:
        img.unprotect_snap("snap")
        img.remove_snap("snap")
    store.delete(two.location)
    assert rbd.RBD().list(cluster.io()) == []


def test_delete_of_an_open_image_is_in_use_and_a_retry_finishes(cluster: Cluster,
                                                                 store: RbdStore) -> None:
    result = store.add("busy", [b"x" * 10], 10)
    # open for writing elsewhere (a watcher)
    with rbd.Image(cluster.io(), "busy"), pytest.raises(InUseByStore,
                                                         match="open by another client"):
        store.delete(result.location)
    store.delete(result.location)  # its snapshot is gone already: the image goes
    assert rbd.RBD().list(cluster.io()) == []


# --- caps and configuration ------------------------------------------------------------------
def test_glance_caps_refuse_other_pools(cluster: Cluster, glance: EmbeddedSession) -> None:
    elsewhere = RbdStore(glance, pool="volumes", chunk_size_mib=1)
    with pytest.raises(StoreAccessDenied, match=r"client\.glance is not allowed to use pool "
                                                r"'volumes'") as info:
        elsewhere.add("x", [b"a"], 1)
    assert isinstance(info.value, errors.PermissionDenied)
    assert info.value.http_status == 503  # glance's StorageWriteDenied: a deployment fault
    volumes = cluster.io("volumes")
    assert rbd.RBD().list(volumes) == []

    rbd.RBD().create(volumes, "volume-x", 10, order=20)
    with rbd.Image(volumes, "volume-x") as img:
        img.create_snap("snap")
        img.protect_snap("snap")
    uri = f"rbd://{cluster.admin.get_fsid()}/volumes/volume-x/snap"
    store = RbdStore(glance, chunk_size_mib=1)
    with pytest.raises(StoreAccessDenied):
        store.get(uri)
    with pytest.raises(StoreAccessDenied):
        store.delete(uri)
    assert rbd.RBD().list(volumes) == ["volume-x"]


def test_missing_store_pool_is_unavailable(glance: EmbeddedSession) -> None:
    with pytest.raises(StoreUnavailable, match="pool 'nopool' does not exist") as info:
        RbdStore(glance, pool="nopool").add("x", [b"a"], 1)
    assert info.value.http_status == 503
