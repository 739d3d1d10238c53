"""cephx secrets, entity names and keyring text."""

from __future__ import annotations

import base64
import struct

import pytest

from shoal import errors
from shoal.cluster.keys import (
    KeyringEntry,
    check_entity_name,
    decode_secret,
    format_keyring,
    generate_secret,
    parse_keyring,
)

# A secret from Ceph's own ceph-authtool CLI tests.
CEPH_KEY = "AQAK7yxNeF+nHBAA0SgSdbs8IkJrxroDeJ6SwQ=="
CINDER_OSD = (
    "allow class-read object_prefix rbd_children, allow rwx pool=volumes, "
    "allow rwx pool=vms, allow rx pool=images"
)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --------------------------------------------------------------------------
# secrets
# --------------------------------------------------------------------------


def test_generated_secret_layout() -> None:
    secret = generate_secret(created=1_700_000_000.25)
    assert len(secret) == 40
    assert secret.startswith("AQ")
    assert secret.endswith("==")
    raw = base64.b64decode(secret)
    assert len(raw) == 28
    key_type, sec, nsec, key_len = struct.unpack_from("<HIIH", raw)
    assert (key_type, sec, nsec, key_len) == (1, 1_700_000_000, 250_000_000, 16)
    assert decode_secret(secret) == raw[12:]
    assert len(decode_secret(secret)) == 16


def test_generated_secrets_are_random_and_default_to_now() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert decode_secret(first) != decode_secret(second)
    sec = struct.unpack_from("<HI", base64.b64decode(first))[1]
    assert sec > 1_600_000_000


@pytest.mark.parametrize("created", [-1.0, float(2**32)])
def test_generate_secret_rejects_bad_times(created: float) -> None:
    with pytest.raises(errors.InvalidArgument):
        generate_secret(created=created)


def test_decode_ceph_written_secret() -> None:
    key = decode_secret(CEPH_KEY)
    assert key == base64.b64decode(CEPH_KEY)[12:]
    assert decode_secret(f"  {CEPH_KEY}\n") == key


HEADER = struct.pack("<HIIH", 1, 1_294_790_410, 0, 16)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("not base64!", "not valid base64"),
        (CEPH_KEY[:-2], "not valid base64"),  # padding missing
        (_b64(HEADER + bytes(15)), "27 bytes"),
        (_b64(HEADER + bytes(17)), "29 bytes"),
        (_b64(struct.pack("<HIIH", 0, 0, 0, 16) + bytes(16)), "key type 0"),
        (_b64(struct.pack("<HIIH", 2, 0, 0, 16) + bytes(16)), "key type 2"),
        (_b64(struct.pack("<HIIH", 1, 0, 0, 15) + bytes(16)), "key length 15"),
    ],
)
def test_bad_secrets_rejected(text: str, fragment: str) -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        decode_secret(text)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------
# entity names
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("client.cinder", ("client", "cinder")),
        ("client.cinder-backup", ("client", "cinder-backup")),
        ("client.rgw.host1.abc", ("client", "rgw.host1.abc")),
        ("osd.0", ("osd", "0")),
        ("mgr.x", ("mgr", "x")),
        ("mds.a", ("mds", "a")),
        ("mon.a", ("mon", "a")),
        ("mon.", ("mon", "")),
    ],
)
def test_entity_names(name: str, expected: tuple[str, str]) -> None:
    assert check_entity_name(name) == expected


@pytest.mark.parametrize(
    "name", ["cinder", "client", "client.", "user.x", "Client.x", ".x", "client.a b", "client.x]"]
)
def test_bad_entity_names(name: str) -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        check_entity_name(name)
    assert "bad entity name" in str(info.value)


# --------------------------------------------------------------------------
# keyring text
# --------------------------------------------------------------------------


def test_format_matches_ceph_auth_get() -> None:
    entry = KeyringEntry(
        entity="client.cinder", key=CEPH_KEY, caps={"osd": CINDER_OSD, "mon": "allow r"}
    )
    assert format_keyring([entry]) == (
        "[client.cinder]\n"
        f"\tkey = {CEPH_KEY}\n"
        '\tcaps mon = "allow r"\n'
        f'\tcaps osd = "{CINDER_OSD}"\n'
    )
    assert format_keyring([entry], with_caps=False) == f"[client.cinder]\n\tkey = {CEPH_KEY}\n"
    assert format_keyring([]) == ""


def test_format_orders_entities_like_ceph_and_escapes_quotes() -> None:
    key = generate_secret()
    entries = [
        KeyringEntry("mgr.x", key),
        KeyringEntry("client.b", key),
        KeyringEntry("client.a", key, {"mon": 'allow command "auth get"'}),
        KeyringEntry("osd.1", key),
        KeyringEntry("mon.", key),
        KeyringEntry("mds.a", key),
    ]
    text = format_keyring(entries)
    headings = [line for line in text.splitlines() if line.startswith("[")]
    assert headings == ["[mon.]", "[mds.a]", "[osd.1]", "[client.a]", "[client.b]", "[mgr.x]"]
    assert '\tcaps mon = "allow command \\"auth get\\""\n' in text
    assert parse_keyring(text)[3].caps["mon"] == 'allow command "auth get"'


def test_format_later_entry_replaces_earlier() -> None:
    old, new = generate_secret(), generate_secret()
    text = format_keyring([KeyringEntry("client.a", old), KeyringEntry("client.a", new)])
    assert text == f"[client.a]\n\tkey = {new}\n"


def test_round_trip() -> None:
    entries = [
        KeyringEntry("client.cinder", generate_secret(), {"mon": "allow r", "osd": CINDER_OSD}),
        KeyringEntry(
            "client.glance",
            generate_secret(),
            {"mon": "profile rbd", "osd": 'allow rwx pool="x y"; allow r'},
        ),
        KeyringEntry("client.cinder-backup", generate_secret()),
    ]
    parsed = parse_keyring(format_keyring(entries))
    assert sorted(parsed, key=lambda e: e.entity) == sorted(entries, key=lambda e: e.entity)
    assert {hash(e) for e in parsed} == {hash(e) for e in entries}


def test_parse_ceph_auth_get_output() -> None:
    text = (
        "[client.cinder]\n"
        f"\tkey = {CEPH_KEY}\n"
        '\tcaps mon = "allow r"\n'
        f'\tcaps osd = "{CINDER_OSD}"\n'
    )
    (entry,) = parse_keyring(text)
    assert entry.entity == "client.cinder"
    assert entry.key == CEPH_KEY
    assert dict(entry.caps) == {"mon": "allow r", "osd": CINDER_OSD}


def test_parse_ceph_variations() -> None:
    text = (
        "# written by hand\n"
        "; another comment\n"
        "[global]\n"
        "\tfsid = 0d5c7d1e-6b7a-4b2b-9f8f-2c1c7a0f1e2d\n"
        "\n"
        "[client.admin]\n"
        f"key={CEPH_KEY}\n"
        "    auid = 18446744073709551615\n"
        "  caps mon = allow *   # trailing comment\n"
        "caps_osd='allow *'\n"
        "caps  mds =   allow\n"
        "[client.glance]   ; comment after heading\n"
        f"  key   =   {CEPH_KEY}  \n"
        "  caps osd = allow class-read object_prefix rbd_children, \\\n"
        "allow rwx pool=images\n"
        "[client.admin]\n"
        '\tcaps mgr = "allow *" ; merged into the earlier section\n'
    )
    admin, glance = parse_keyring(text)
    assert admin.entity == "client.admin"
    assert dict(admin.caps) == {
        "mon": "allow *",
        "osd": "allow *",
        "mds": "allow",
        "mgr": "allow *",
    }
    assert glance.key == CEPH_KEY
    assert (
        glance.caps["osd"] == "allow class-read object_prefix rbd_children, allow rwx pool=images"
    )


def test_parse_escapes_and_repeated_keys() -> None:
    text = (
        "[client.x]\n"
        f"key = {CEPH_KEY}\n"
        'caps mon = "allow command \\"auth get\\""\n'
        "caps osd = allow r\n"
        "caps osd = allow rw pool\\=p \\# not a comment\n"
    )
    (entry,) = parse_keyring(text)
    assert entry.caps["mon"] == 'allow command "auth get"'
    assert entry.caps["osd"] == "allow rw pool=p # not a comment"


def test_parse_empty_keyring() -> None:
    assert parse_keyring("") == []
    assert parse_keyring("# nothing\n\n[global]\n") == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"key = {CEPH_KEY}\n", "outside any [section]"),
        (f"[client.x]\nkey = {CEPH_KEY}\nfoo = bar\n", "unknown field 'foo'"),
        (f"[client.x]\nkey = {CEPH_KEY}\ncaps = allow r\n", "unknown field 'caps'"),
        ('[client.x]\ncaps mon = "allow r"\n', "no key"),
        (f"[bogus.x]\nkey = {CEPH_KEY}\n", "bad entity name"),
        (f"[clientx]\nkey = {CEPH_KEY}\n", "bad entity name"),
        (f"[client.x\nkey = {CEPH_KEY}\n", "unterminated section"),
        (f"[client.x] junk\nkey = {CEPH_KEY}\n", "text after section"),
        ("[]\n", "empty section name"),
        ("[client.x]\nkey = AQAK\n", "bad cephx secret"),
        (f'[client.x]\nkey = {CEPH_KEY}\ncaps mon = "allow r\n', "unterminated quoted"),
        (f'[client.x]\nkey = {CEPH_KEY}\ncaps mon = "allow r" x\n', "after quoted value"),
        (f"[client.x]\nkey = {CEPH_KEY}\njust some words\n", "expected 'name = value'"),
    ],
)
def test_malformed_keyrings(text: str, fragment: str) -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        parse_keyring(text)
    assert fragment in str(info.value)


def test_keyring_entry_validation() -> None:
    with pytest.raises(errors.InvalidArgument, match="bad entity name"):
        KeyringEntry("nobody", CEPH_KEY)
    with pytest.raises(errors.InvalidArgument, match="bad cephx secret"):
        KeyringEntry("client.x", "AQAA")
    with pytest.raises(errors.InvalidArgument, match="line break"):
        KeyringEntry("client.x", CEPH_KEY, {"mon": "allow r\nallow w"})
    with pytest.raises(errors.InvalidArgument, match="service name"):
        KeyringEntry("client.x", CEPH_KEY, {"m on": "allow r"})


def test_keyring_entry_caps_are_read_only_copies() -> None:
    caps = {"mon": "allow r"}
    entry = KeyringEntry("client.x", CEPH_KEY, caps)
    caps["osd"] = "allow *"
    assert dict(entry.caps) == {"mon": "allow r"}
    with pytest.raises(TypeError):
        entry.caps["osd"] = "allow *"  # type: ignore[index]
    assert entry == KeyringEntry("client.x", CEPH_KEY, {"mon": "allow r"})
