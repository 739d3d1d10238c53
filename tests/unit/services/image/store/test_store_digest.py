"""BackgroundDigests: the same digests as hashing inline; errors and abandonment."""

from __future__ import annotations

import hashlib
import os

import pytest

from shoal.services.image.store._digest import BackgroundDigests


def test_digests_equal_inline_hashing() -> None:
    pieces = [os.urandom(n) for n in (0, 1, 4096, 1 << 20, 12345)]
    md5, sha = hashlib.md5(), hashlib.sha512()
    with BackgroundDigests((md5, sha), depth=2) as digests:
        for piece in pieces:
            digests.update(piece)
        digests.finish()
    joined = b"".join(pieces)
    assert md5.hexdigest() == hashlib.md5(joined).hexdigest()
    assert sha.hexdigest() == hashlib.sha512(joined).hexdigest()


class _Broken:
    def update(self, piece: bytes) -> None:
        raise ValueError("broken digest")


def test_a_digest_error_is_raised_by_finish() -> None:
    with BackgroundDigests((_Broken(),)) as digests:
        digests.update(b"x")
        with pytest.raises(ValueError, match="broken digest"):
            digests.finish()


def test_leaving_early_stops_the_threads() -> None:
    import threading

    before = threading.active_count()
    with pytest.raises(RuntimeError), BackgroundDigests((hashlib.sha512(),), depth=1) as d:
        for _ in range(8):
            d.update(os.urandom(1 << 16))
        raise RuntimeError("the upload failed")
    assert threading.active_count() == before
