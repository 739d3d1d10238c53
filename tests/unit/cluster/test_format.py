"""Ceph's human-readable units, tables and JSON formatters."""

from __future__ import annotations

import pytest

from shoal.cluster._format import TextTable, byte_u, dump, percentify, si_u, utime_gmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (10 * 1024**3, "10 GiB"),
        (int(2.25 * 1024**3), "2.2 GiB"),  # "2.25 GiB" is 8 characters
        (int(297.5 * 1024**3), "298 GiB"),
        (1024**7, "1024 EiB"),
    ],
)
def test_byte_u_matches_ceph(value: int, text: str) -> None:
    assert byte_u(value) == text


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0"), (999, "999"), (1000, "1k"), (14500, "14.50k"), (1500, "1.50k"),
     (2_530_000, "2.53M")]
)
def test_si_u_matches_ceph(value: int, text: str) -> None:
    assert si_u(value) == text


def test_negative_quantity_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        byte_u(-1)


@pytest.mark.parametrize(("value", "text"), [(0.0, "0"), (0.009, "0"), (0.01, "0.01"),
                                             (69.1049, "69.10"), (100.0, "100.00")])
def test_percentify(value: float, text: str) -> None:
    assert percentify(value) == text


def test_text_table_pads_to_widest_cell_with_two_spaces_between() -> None:
    table = TextTable()
    table.define_column("POOL", "left", "left")
    table.define_column("ID", "right", "right")
    table.add_row("volumes", 1)
    table.add_row("a", 12)
    assert table.render() == "POOL     ID\nvolumes   1\na        12\n"


def test_text_table_rejects_a_short_row() -> None:
    table = TextTable()
    table.define_column("A", "left", "left")
    with pytest.raises(ValueError):
        table.add_row()


def test_json_formats() -> None:
    value = {"a": [1, {}], "b": "x"}
    assert dump(value, "json") == b'{"a":[1,{}],"b":"x"}'
    assert dump(value, "json-pretty") == (
        b'{\n    "a": [\n        1,\n        {}\n    ],\n    "b": "x"\n}\n'  # as Ceph 16
    )
    with pytest.raises(ValueError):
        dump(value, "plain")


def test_utime_gmt() -> None:
    assert utime_gmt(0.5) == "1970-01-01T00:00:00.500000Z"
