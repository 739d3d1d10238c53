"""The mon command table: argument validation and its agreement with the caps table."""

from __future__ import annotations

import pytest

from shoal import errors
from shoal.cluster import COMMANDS
from shoal.cluster._commands import convert, lookup, validate
from shoal.cluster._mon import handled_prefixes
from shoal.cluster.caps import MON_COMMAND_PERMS


def test_every_command_has_a_handler_and_every_handler_a_command() -> None:
    assert handled_prefixes() == {spec.prefix for spec in COMMANDS}


def test_command_perms_agree_with_the_caps_table() -> None:
    for spec in COMMANDS:
        if spec.prefix in MON_COMMAND_PERMS:
            assert MON_COMMAND_PERMS[spec.prefix] == (spec.service, spec.perms), spec.prefix


def test_prefixes_are_unique_and_normalised() -> None:
    prefixes = [spec.prefix for spec in COMMANDS]
    assert len(prefixes) == len(set(prefixes))
    assert all(p == " ".join(p.split()) for p in prefixes)
    assert lookup("osd  pool   ls") is lookup("osd pool ls")


def _spec(prefix: str):  # type: ignore[no-untyped-def]
    spec = lookup(prefix)
    assert spec is not None
    return spec


def test_validate_converts_and_ignores_unknown_keys() -> None:
    spec = _spec("osd pool create")
    cmd = {"prefix": "osd pool create", "pool": "v", "pg_num": "128", "format": "json"}
    assert validate(spec, cmd) == {"pool": "v", "pg_num": 128}


@pytest.mark.parametrize(
    ("prefix", "cmd", "message"),
    [
        ("osd pool create", {}, "missing required parameter pool"),
        ("osd pool create", {"pool": 5}, "bad or missing field 'pool'"),
        ("osd pool create", {"pool": "v", "pg_num": -1}, "pg_num: -1 is less than 0"),
        ("osd pool create", {"pool": "v", "pg_num": True}, "doesn't represent an int"),
        ("osd pool create", {"pool": "v", "target_size_ratio": 2}, "greater than 1"),
        ("osd pool create", {"pool": "v", "target_size_ratio": "nan"}, "not a number"),
        ("osd pool delete", {"pool": "v", "yes_i_really_really_mean_it": "maybe"},
         "is not a boolean"),
    ],
)
def test_validate_rejects_bad_values(prefix: str, cmd: dict[str, object], message: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=message):
        validate(_spec(prefix), cmd)


def test_choices_and_characters_are_checked_by_the_cli_only() -> None:
    spec = _spec("osd pool get")
    assert validate(spec, {"pool": "v", "var": "colour"}) == {"pool": "v", "var": "colour"}
    arg = spec.args[1]
    with pytest.raises(errors.InvalidArgument, match=r"colour not in size\|min_size\|"):
        convert(arg, "colour")
    app = _spec("osd pool application enable").args[1]
    assert convert(app, "a b", client=False) == "a b"
    with pytest.raises(errors.InvalidArgument, match="invalid chars   in a b"):
        convert(app, "a b")


def test_many_accepts_a_single_string() -> None:
    spec = _spec("auth caps")
    assert validate(spec, {"entity": "client.x", "caps": "mon"})["caps"] == ["mon"]


def test_usage_lines() -> None:
    assert _spec("osd pool delete").usage() == (
        "osd pool delete <pool> [<pool2>] [--yes-i-really-really-mean-it] "
        "[--yes-i-really-really-mean-it-not-faking]"
    )
    assert _spec("osd pool ls").usage() == "osd pool ls [detail]"
    assert _spec("auth caps").usage() == "auth caps <entity> <caps>..."
