"""``auth ...`` commands and their Ceph (Pacific) replies."""

from __future__ import annotations

import json

import pytest

from shoal.cluster import EmbeddedSession, MonResult, keys

CINDER_CAPS = ["mon", "allow r", "osd",
               "allow class-read object_prefix rbd_children, allow rwx pool=volumes"]


def run(session: EmbeddedSession, prefix: str, inbuf: bytes = b"", **args: object) -> MonResult:
    return session.mon_command({"prefix": prefix, **args}, inbuf)


def _key(session: EmbeddedSession, name: str) -> str:
    return run(session, "auth get-key", entity=name).check().outbuf.decode()


def test_get_or_create_is_idempotent(admin: EmbeddedSession) -> None:
    first = run(admin, "auth get-or-create", entity="client.cinder", caps=CINDER_CAPS)
    key = _key(admin, "client.cinder")
    assert first == MonResult(0, f"[client.cinder]\n\tkey = {key}\n".encode(), "")
    assert run(admin, "auth get-or-create", entity="client.cinder", caps=CINDER_CAPS) == first
    # no caps given: any existing caps are fine
    assert run(admin, "auth get-or-create", entity="client.cinder") == first
    # a subset that matches is fine too
    assert run(admin, "auth get-or-create", entity="client.cinder",
               caps=["mon", "allow r"]) == first


def test_get_or_create_refuses_different_caps(admin: EmbeddedSession) -> None:
    run(admin, "auth get-or-create", entity="client.cinder", caps=CINDER_CAPS)
    assert run(admin, "auth get-or-create", entity="client.cinder",
               caps=["mon", "allow rw"]) == MonResult(
        -22, b"", "key for client.cinder exists but cap mon does not match")
    assert run(admin, "auth get-or-create", entity="client.cinder",
               caps=["mgr", "allow r"]) == MonResult(
        -22, b"", "key for client.cinder exists but cap mgr does not match")


@pytest.mark.parametrize(
    ("args", "outs"),
    [
        ({"entity": "cinder"}, "bad entity name"),
        ({"entity": "client.x", "caps": ["mon"]},
         "bad capabilities request; odd number of arguments"),
        ({"entity": "client.x", "caps": ["mon", "allow bogus"]}, "mon"),
        ({"entity": "client.x", "caps": ["osd", "allow rwx pool"]}, "osd"),
        ({"entity": "client.x", "caps": ["fs", "allow r"]}, "unknown caps service 'fs'"),
    ],
)
def test_get_or_create_validates(
    admin: EmbeddedSession, args: dict[str, object], outs: str
) -> None:
    result = run(admin, "auth get-or-create", **args)
    assert result.ret == -22 and outs in result.outs
    assert run(admin, "auth get", entity="client.x").ret == -2


def test_get_or_create_json_and_key(admin: EmbeddedSession) -> None:
    created = run(admin, "auth get-or-create", entity="client.g", caps=["mon", "allow r"],
                  format="json")
    key = _key(admin, "client.g")
    assert json.loads(created.outbuf) == [
        {"entity": "client.g", "key": key, "caps": {"mon": "allow r"}}]
    assert run(admin, "auth get-or-create-key", entity="client.g").outbuf == key.encode()
    assert json.loads(run(admin, "auth get-or-create-key", entity="client.g",
                          format="json").outbuf) == {"key": key}
    fresh = run(admin, "auth get-or-create-key", entity="client.h").outbuf.decode()
    keys.decode_secret(fresh)


def test_get_and_get_key(admin: EmbeddedSession) -> None:
    run(admin, "auth get-or-create", entity="client.cinder", caps=CINDER_CAPS)
    key = _key(admin, "client.cinder")
    assert run(admin, "auth get", entity="client.cinder") == MonResult(
        0,
        (f"[client.cinder]\n\tkey = {key}\n\tcaps mon = \"allow r\"\n"
         f"\tcaps osd = \"{CINDER_CAPS[3]}\"\n").encode(),
        "exported keyring for client.cinder")
    assert json.loads(run(admin, "auth get", entity="client.cinder", format="json").outbuf) == [
        {"entity": "client.cinder", "key": key,
         "caps": {"mon": "allow r", "osd": CINDER_CAPS[3]}}]
    for prefix in ("auth get-key", "auth print-key", "auth print_key"):
        assert run(admin, prefix, entity="client.cinder") == MonResult(0, key.encode(), "")
    assert run(admin, "auth get", entity="client.x") == MonResult(
        -2, b"", "failed to find client.x in keyring")
    assert run(admin, "auth get-key", entity="client.x") == MonResult(
        -2, b"", "don't have client.x")


def test_ls(admin: EmbeddedSession) -> None:
    run(admin, "auth get-or-create", entity="client.b", caps=["mon", "allow r"])
    run(admin, "auth get-or-create", entity="osd.0", caps=["osd", "allow *"])
    listing = run(admin, "auth ls")
    assert listing.outs == "installed auth entries:\n"
    lines = listing.outbuf.decode().splitlines()
    assert [line for line in lines if not line.startswith("\t")] == [
        "osd.0", "client.admin", "client.b"]
    assert lines[1].startswith("\tkey: AQ") and lines[2] == "\tcaps: [osd] allow *"
    assert "\tcaps: [mds] allow *" in lines
    dumped = json.loads(run(admin, "auth list", format="json").outbuf)
    assert [e["entity"] for e in dumped["auth_dump"]] == ["osd.0", "client.admin", "client.b"]
    assert dumped["auth_dump"][2]["caps"] == {"mon": "allow r"}


def test_caps_replaces_all_caps(admin: EmbeddedSession) -> None:
    run(admin, "auth get-or-create", entity="client.cinder", caps=CINDER_CAPS)
    key = _key(admin, "client.cinder")
    assert run(admin, "auth caps", entity="client.cinder", caps=["osd", "allow r"]) == (
        MonResult(0, b"", "updated caps for client.cinder"))
    got = json.loads(run(admin, "auth get", entity="client.cinder", format="json").outbuf)
    assert got == [{"entity": "client.cinder", "key": key, "caps": {"osd": "allow r"}}]
    assert run(admin, "auth caps", entity="client.x", caps=["osd", "allow r"]) == MonResult(
        -2, b"", "couldn't find entry client.x")
    result = run(admin, "auth caps", entity="client.cinder", caps=["osd", "allow q"])
    assert result.ret == -22


@pytest.mark.parametrize("prefix", ["auth rm", "auth del"])
def test_rm(admin: EmbeddedSession, prefix: str) -> None:
    run(admin, "auth get-or-create", entity="client.x")
    assert run(admin, prefix, entity="client.x") == MonResult(0, b"", "updated")
    assert run(admin, prefix, entity="client.x") == MonResult(
        0, b"", "entity client.x does not exist")


def test_add(admin: EmbeddedSession) -> None:
    assert run(admin, "auth add", entity="client.a", caps=["mon", "allow r"]) == MonResult(
        0, b"", "added key for client.a")
    assert run(admin, "auth add", entity="client.a", caps=["mon", "allow r"]) == MonResult(
        0, b"", "")
    assert run(admin, "auth add", entity="client.a", caps=["mon", "allow rw"]) == MonResult(
        -22, b"", "entity client.a exists but cap mon does not match")
    assert run(admin, "auth add", entity="client.a") == MonResult(
        -22, b"", "entity client.a exists but caps do not match")


def test_add_from_a_keyring(admin: EmbeddedSession) -> None:
    key = keys.generate_secret()
    ring = keys.format_keyring([keys.KeyringEntry("client.k", key, {"osd": "allow r"})]).encode()
    assert run(admin, "auth add", ring, entity="client.k").outs == "added key for client.k"
    assert _key(admin, "client.k") == key
    assert run(admin, "auth add", ring, entity="client.k").ret == 0
    other = keys.format_keyring(
        [keys.KeyringEntry("client.k", keys.generate_secret(), {"osd": "allow r"})]).encode()
    assert run(admin, "auth add", other, entity="client.k") == MonResult(
        -17, b"", "entity client.k exists but key does not match")
    assert run(admin, "auth add", ring, entity="client.z") == MonResult(
        -22, b"", "key for client.z not found in provided keyring")
    assert run(admin, "auth add", ring, entity="client.k", caps=["mon", "allow r"]) == (
        MonResult(-22, b"", "caps cannot be specified both in keyring and in command"))
    assert run(admin, "auth add", b"[oops", entity="client.k").outs.startswith(
        "error decoding keyring")


def test_import(admin: EmbeddedSession) -> None:
    entries = [keys.KeyringEntry("client.i1", keys.generate_secret(), {"mon": "allow r"}),
               keys.KeyringEntry("client.i2", keys.generate_secret(), {"osd": "allow r"})]
    ring = keys.format_keyring(entries).encode()
    assert run(admin, "auth import", ring) == MonResult(0, b"", "imported keyring")
    assert _key(admin, "client.i2") == entries[1].key
    assert run(admin, "auth import") == MonResult(-22, b"", "auth import: no data supplied")
    capless = keys.format_keyring([keys.KeyringEntry("client.i3", keys.generate_secret())])
    assert run(admin, "auth import", ring + capless.encode()) == MonResult(
        -22, b"", "auth import: no caps supplied")
    assert run(admin, "auth get", entity="client.i3").ret == -2
    assert run(admin, "auth import", b"junk").outs.startswith("error decoding keyring")


def test_export(admin: EmbeddedSession) -> None:
    run(admin, "auth get-or-create", entity="client.e", caps=["mon", "allow r"])
    everything = run(admin, "auth export")
    assert everything.outs == "exported master keyring"
    parsed = keys.parse_keyring(everything.outbuf.decode())
    assert [e.entity for e in parsed] == ["client.admin", "client.e"]
    one = run(admin, "auth export", entity="client.e")
    key = run(admin, "auth get-key", entity="client.e").outbuf.decode()
    assert one.outs == f"export auth(key={key})" and b"caps mon" in one.outbuf  # as Ceph 16
    assert run(admin, "auth export", entity="client.nope").ret == -2
