"""shoal.rbd's shared byte helpers: the zero test, the trailing-zero trim, the re-chunker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shoal.rbd import ZERO_BLOCK_BYTES, is_zero, nonzero_length, rechunk


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, ZERO_BLOCK_BYTES, 2 * ZERO_BLOCK_BYTES + 3])
def test_zeros_are_zero_in_every_buffer_type(size: int) -> None:
    data = bytes(size)
    assert is_zero(data)
    assert is_zero(bytearray(size))
    assert is_zero(memoryview(data))


@pytest.mark.parametrize("size", [1, 4096, ZERO_BLOCK_BYTES, 2 * ZERO_BLOCK_BYTES + 3])
@pytest.mark.parametrize("where", ["first", "last"])
def test_one_non_zero_byte_anywhere_is_seen(size: int, where: str) -> None:
    data = bytearray(size)
    data[0 if where == "first" else -1] = 1
    assert not is_zero(bytes(data))
    assert not is_zero(data)
    assert not is_zero(memoryview(data))


def test_a_memoryview_of_another_format_is_read_as_bytes() -> None:
    words = memoryview(bytearray(16)).cast("I")
    assert is_zero(words)
    words[3] = 1 << 24
    assert not is_zero(words)


def test_nonzero_length_trims_only_trailing_zeros() -> None:
    assert nonzero_length(bytes(4096)) == 0
    assert nonzero_length(b"") == 0
    assert nonzero_length(b"\0a\0b\0\0") == 4
    assert nonzero_length(bytearray(b"x" + bytes(ZERO_BLOCK_BYTES))) == 1


def _pieces(*sizes: int) -> Iterator[bytes]:
    for index, size in enumerate(sizes):
        yield bytes([index + 1]) * size


def test_rechunk_cuts_pieces_of_any_size_into_exact_chunks() -> None:
    chunks = list(rechunk(_pieces(3, 0, 10, 1, 4), 4))
    assert [len(c) for c in chunks] == [4, 4, 4, 4, 2]
    assert b"".join(chunks) == b"".join(_pieces(3, 0, 10, 1, 4))


def test_rechunk_passes_whole_chunks_without_copying() -> None:
    piece = b"x" * 8
    assert next(rechunk([piece], 8)) is piece


def test_rechunk_yields_nothing_for_no_data_and_refuses_a_bad_size() -> None:
    assert list(rechunk([b"", b""], 4)) == []
    with pytest.raises(ValueError):
        list(rechunk([b"x"], 0))


def test_rechunk_lets_the_source_error_through() -> None:
    def failing() -> Iterator[bytes]:
        yield b"abcd"
        raise OSError("client went away")

    chunks = rechunk(failing(), 4)
    assert next(chunks) == b"abcd"
    with pytest.raises(OSError, match="went away"):
        next(chunks)
