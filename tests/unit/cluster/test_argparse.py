"""``ceph`` words -> mon command dicts, as Ceph's ceph_argparse builds them."""

from __future__ import annotations

import pytest

from shoal.cluster import CommandSyntaxError, parse_words

CINDER_OSD = (
    "allow class-read object_prefix rbd_children, allow rwx pool=volumes, "
    "allow rwx pool=vms, allow rx pool=images"
)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("osd pool create volumes 128",
         {"prefix": "osd pool create", "pool": "volumes", "pg_num": 128}),
        ("osd pool create volumes", {"prefix": "osd pool create", "pool": "volumes"}),
        ("osd pool create volumes 64 64 replicated",
         {"prefix": "osd pool create", "pool": "volumes", "pg_num": 64, "pgp_num": 64,
          "pool_type": "replicated"}),
        # an optional int that does not fit is skipped, as Ceph does
        ("osd pool create volumes replicated",
         {"prefix": "osd pool create", "pool": "volumes", "pool_type": "replicated"}),
        ("osd pool create volumes --pg_num 16",
         {"prefix": "osd pool create", "pool": "volumes", "pg_num": 16}),
        ("osd pool create volumes --pg-num=16",
         {"prefix": "osd pool create", "pool": "volumes", "pg_num": 16}),
        ("osd pool delete volumes volumes --yes-i-really-really-mean-it",
         {"prefix": "osd pool delete", "pool": "volumes", "pool2": "volumes",
          "yes_i_really_really_mean_it": True}),
        ("osd pool application enable volumes rbd",
         {"prefix": "osd pool application enable", "pool": "volumes", "app": "rbd"}),
        ("osd pool ls", {"prefix": "osd pool ls"}),
        ("osd pool ls detail", {"prefix": "osd pool ls", "detail": "detail"}),
        ("df", {"prefix": "df"}),
        ("auth get-or-create client.glance",
         {"prefix": "auth get-or-create", "entity": "client.glance"}),
        ("auth get-key client.cinder", {"prefix": "auth get-key", "entity": "client.cinder"}),
    ],
)
def test_words_become_ceph_commands(words: str, expected: dict[str, object]) -> None:
    assert parse_words(words.split()) == expected


def test_caps_take_every_remaining_word() -> None:
    words = ["auth", "get-or-create", "client.cinder", "mon", "allow r", "osd", CINDER_OSD]
    assert parse_words(words) == {
        "prefix": "auth get-or-create", "entity": "client.cinder",
        "caps": ["mon", "allow r", "osd", CINDER_OSD],
    }


def test_longest_prefix_wins() -> None:
    assert parse_words(["auth", "get", "client.x"])["prefix"] == "auth get"
    assert parse_words(["auth", "get-key", "client.x"])["prefix"] == "auth get-key"


def test_double_dash_ends_named_options() -> None:
    cmd = parse_words(["auth", "caps", "client.x", "--", "mon", "--weird"])
    assert cmd["caps"] == ["mon", "--weird"]


def test_unknown_command_lists_closest_matches() -> None:
    with pytest.raises(CommandSyntaxError) as info:
        parse_words(["osd", "pool", "frobnicate"])
    assert info.value.lines[0].startswith("no valid command found;")
    assert any(line.startswith("osd pool create <pool>") for line in info.value.lines)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("osd pool create", "Invalid command: missing required parameter pool(<pool>)"),
        ("osd pool get volumes size extra", "Invalid command: unused arguments: ['extra']"),
        ("osd pool create volumes --pg_num x", "Invalid command: x doesn't represent an int"),
        ("osd pool create volumes --pg_num", "needs a value"),
        ("osd pool create volumes --frob", "unknown option '--frob'"),
        ("osd pool get volumes bogus", "Invalid command: bogus not in size|min_size|"),
        ("osd pool application enable volumes r/b", "Invalid command: invalid chars / in r/b"),
    ],
)
def test_bad_arguments_explain_themselves(words: str, message: str) -> None:
    with pytest.raises(CommandSyntaxError) as info:
        parse_words(words.split())
    assert message in info.value.lines[0]
    assert info.value.lines[1].endswith(":  " + {
        "osd pool create": "create pool", "osd pool get": "get pool parameter <var>",
        "osd pool application enable":
            "enable use of an application <app> [cephfs,rbd,rgw] on pool <poolname>",
    }[" ".join(words.split()[:4 if "application" in words else 3])])
