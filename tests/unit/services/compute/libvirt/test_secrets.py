"""Per-host libvirt secrets: secret XML as libvirt reads it, define/set/get/list/undefine
round trips, libvirt's conflict rules, bad inputs, file modes, and the check the compute
service runs before a guest starts."""

from __future__ import annotations

import base64
import os
import stat
import threading
import uuid
from pathlib import Path

import pytest

from shoal import errors, limits
from shoal.cluster.keys import generate_secret
from shoal.services.compute.libvirt import (
    GuestSecretError,
    GuestSecretMismatch,
    GuestSecretMissing,
    InvalidSecretValue,
    InvalidSecretXML,
    SecretConflict,
    SecretDef,
    SecretNotFound,
    SecretPrivate,
    SecretStore,
    check_guest_secret,
    decode_base64,
    parse_secret_xml,
    secret_xml,
)
from tests.unit.services.compute.libvirt._guide import GUIDE_XML, UUID

#: The Vietnamese guide's secret.xml as printed there: no <uuid>, and cut off after
#: <name> (no closing tags).
TRUNCATED_XML = """<secret ephemeral='no' private='no'>
  <usage type='ceph'>
    <name>client.cinder secret</name>
"""
NO_UUID_XML = GUIDE_XML.replace(f"  <uuid>{UUID}</uuid>\n", "")


@pytest.fixture
def store(tmp_path: Path) -> SecretStore:
    return SecretStore(tmp_path / "compute")


def test_the_guides_xml_parses_and_formats_back() -> None:
    definition = parse_secret_xml(GUIDE_XML)
    assert definition == SecretDef(uuid=UUID, usage_type="ceph",
                                   usage_id="client.cinder secret")
    assert definition.usage == "ceph client.cinder secret"
    assert parse_secret_xml(secret_xml(definition)) == definition
    described = parse_secret_xml(GUIDE_XML.replace(
        "<usage", "<description>nova</description><usage").replace("'no'", "'yes'"))
    assert (described.description, described.ephemeral, described.private) == (
        "nova", True, True)
    assert parse_secret_xml(secret_xml(described)) == described


def test_a_missing_uuid_gets_a_new_one() -> None:
    first, second = parse_secret_xml(NO_UUID_XML), parse_secret_xml(NO_UUID_XML)
    assert first.uuid != second.uuid
    assert uuid.UUID(first.uuid).version == 4
    assert parse_secret_xml(NO_UUID_XML.replace("<usage", "<uuid></uuid><usage")).uuid
    unused = parse_secret_xml("<secret/>")
    assert (unused.usage_type, unused.usage_id, unused.usage) == ("none", None, "Unused")
    assert parse_secret_xml("<secret><usage type='none'/></secret>").usage == "Unused"


@pytest.mark.parametrize(("text", "message"), [
    (TRUNCATED_XML, "(definition_of_secret):4: no element found"),
    ("", "(definition_of_secret):1: no element found"),
    ("<secret><uuid>x</secret>", "(definition_of_secret):1: mismatched tag"),
    ("<domain/>", "XML error: unexpected root element <domain>, expecting <secret>"),
    ("<secret ephemeral='maybe'/>", "XML error: invalid value of 'ephemeral'"),
    ("<secret private='1'/>", "XML error: invalid value of 'private'"),
    ("<secret><uuid>457eb676</uuid></secret>", "internal error: malformed uuid element"),
    ("<secret><usage/></secret>", "XML error: unknown secret usage type"),
    ("<secret><usage type='disk'/></secret>",
     "unsupported configuration: unknown secret usage type disk"),
    ("<secret><usage type='ceph'/></secret>",
     "internal error: Ceph usage specified, but name is missing"),
    ("<secret><usage type='ceph'><name></name></usage></secret>",
     "internal error: Ceph usage specified, but name is missing"),
    ("<secret><usage type='volume'/></secret>",
     "internal error: volume usage specified, but volume path is missing"),
    ("<secret><usage type='iscsi'/></secret>",
     "internal error: iSCSI usage specified, but target is missing"),
    ("<!DOCTYPE s [<!ENTITY a 'b'>]><secret/>",
     "(definition_of_secret):1: document type and entity declarations"),
])
def test_malformed_secret_xml_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidSecretXML) as caught:
        parse_secret_xml(text)
    assert caught.value.message.startswith(message), caught.value.message


def test_secret_xml_is_bounded() -> None:
    big = "<secret><description>" + "x" * limits.secret_xml_bytes_max + "</description></secret>"
    with pytest.raises(InvalidSecretXML, match="larger than"):
        parse_secret_xml(big)


def test_round_trip_on_one_host(store: SecretStore) -> None:
    key = generate_secret()
    assert store.define("compute1", GUIDE_XML).uuid == UUID
    store.set_value("compute1", UUID.upper(), decode_base64(key))
    assert store.get_value("compute1", UUID.replace("-", "")) == base64.b64decode(key)
    assert [d.uuid for d in store.list_secrets("compute1")] == [UUID]
    assert store.lookup("compute1", UUID).usage_id == "client.cinder secret"
    # hosts are separate, as libvirt on two machines
    assert store.list_secrets("compute2") == []
    with pytest.raises(SecretNotFound) as caught:
        store.get_value("compute2", UUID)
    assert caught.value.message == (
        f"Secret not found: no secret with matching uuid '{UUID}'")
    store.undefine("compute1", UUID)
    assert store.list_secrets("compute1") == []
    with pytest.raises(SecretNotFound):
        store.undefine("compute1", UUID)


def test_files_are_private_and_written_whole(store: SecretStore) -> None:
    store.define("compute1", GUIDE_XML)
    store.set_value("compute1", UUID, b"\x01\x02")
    directory = store.directory("compute1")
    assert directory == store.root / "compute1" / "secrets"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(p.name for p in directory.iterdir())
    assert files == [".lock", f"{UUID}.base64", f"{UUID}.xml"]  # no temporary files left
    for name in files:
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
    assert (directory / f"{UUID}.base64").read_text() == "AQI="
    assert parse_secret_xml((directory / f"{UUID}.xml").read_text()).uuid == UUID


def test_redefining_keeps_the_value_and_libvirts_conflict_rules(store: SecretStore) -> None:
    store.define("c1", GUIDE_XML)
    store.set_value("c1", UUID, b"key")
    changed = store.define("c1", GUIDE_XML.replace("private='no'", "private='yes'"))
    assert changed.private and store.read_value("c1", UUID) == b"key"
    with pytest.raises(SecretConflict) as caught:
        store.define("c1", GUIDE_XML)  # clears the private flag
    assert caught.value.message == ("internal error: cannot change private flag on existing "
                                    "secret")
    with pytest.raises(SecretConflict) as caught:
        store.define("c1", GUIDE_XML.replace("client.cinder secret", "client.nova secret"))
    assert caught.value.message == (f"internal error: a secret with UUID {UUID} is already "
                                    "defined for use with client.cinder secret")
    with pytest.raises(SecretConflict) as caught:
        store.define("c1", NO_UUID_XML)  # another UUID for the same usage
    assert caught.value.message.endswith(
        f"a secret with UUID {UUID} already defined for use with client.cinder secret")
    store.define("c1", "<secret/>")
    store.define("c1", "<secret/>")  # usage none never conflicts
    assert len(store.list_secrets("c1")) == 3
    assert [d.uuid for d in store.list_secrets("c1")] == sorted(
        d.uuid for d in store.list_secrets("c1"))


def test_list_filters(store: SecretStore) -> None:
    store.define("c1", GUIDE_XML)
    store.define("c1", "<secret ephemeral='yes' private='yes'/>")
    assert len(store.list_secrets("c1")) == 2
    assert [d.ephemeral for d in store.list_secrets("c1", ephemeral=True)] == [True]
    assert [d.uuid for d in store.list_secrets("c1", private=False)] == [UUID]


def test_values(store: SecretStore) -> None:
    store.define("c1", GUIDE_XML)
    with pytest.raises(SecretNotFound) as caught:
        store.get_value("c1", UUID)
    assert caught.value.message == f"Secret not found: secret '{UUID}' does not have a value"
    for bad in (b"", b"x" * (limits.secret_value_bytes_max + 1)):
        with pytest.raises(InvalidSecretValue):
            store.set_value("c1", UUID, bad)
    with pytest.raises(SecretNotFound):
        store.set_value("c1", str(uuid.uuid4()), b"x")
    store.define("c1", GUIDE_XML.replace("private='no'", "private='yes'"))
    store.set_value("c1", UUID, b"x")
    with pytest.raises(SecretPrivate) as denied:
        store.get_value("c1", UUID)
    assert denied.value.message == "Invalid secret: secret is private"
    assert store.read_value("c1", UUID) == b"x"  # what libvirt hands qemu


@pytest.mark.parametrize("text", ["not base64!", "QUJD=", "QUJ", "   ", "AQ==AQ=="])
def test_decode_base64_is_strict(text: str) -> None:
    with pytest.raises(InvalidSecretValue) as caught:
        decode_base64(text)
    assert text.strip() == "" or text not in caught.value.message  # never echoes the value


def test_decode_base64_ignores_whitespace() -> None:
    assert decode_base64(" QUJD\nREVG\n") == b"ABCDEF"


@pytest.mark.parametrize("host", ["", "..", ".hidden", "a/b", "-x", "h" * 254, "a b"])
def test_bad_host_names(store: SecretStore, host: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        store.list_secrets(host)


def test_bad_uuids(store: SecretStore) -> None:
    with pytest.raises(errors.InvalidArgument, match="must be a valid UUID"):
        store.lookup("c1", "not-a-uuid")


def test_a_broken_file_is_skipped_as_libvirt_skips_it(store: SecretStore) -> None:
    store.define("c1", GUIDE_XML)
    other = str(uuid.uuid4())
    (store.directory("c1") / f"{other}.xml").write_text("<secret>")
    (store.directory("c1") / "junk.xml").write_text("<secret/>")
    assert [d.uuid for d in store.list_secrets("c1")] == [UUID]
    store.define("c1", "<secret/>")  # still definable


def test_concurrent_defines_give_one_usage_one_uuid(store: SecretStore) -> None:
    outcomes: list[str] = []

    def define() -> None:
        try:
            outcomes.append(store.define("c1", NO_UUID_XML).uuid)
        except SecretConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=define) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("conflict") == 5
    assert len(store.list_secrets("c1")) == 1


# --- the check before a guest starts ----------------------------------------------------


def test_guest_secret_ok(store: SecretStore) -> None:
    key = generate_secret()
    store.define("compute1", GUIDE_XML)
    store.set_value("compute1", UUID, decode_base64(key))
    check_guest_secret(store, "compute1", UUID, key)
    check_guest_secret(store, "compute1", UUID.upper(), key + "\n")


def _assert_fix(message: str, host: str) -> None:
    assert UUID in message and host in message
    assert f"<uuid>{UUID}</uuid>" in message
    assert f"shoal virsh --host {host} secret-define --file secret.xml" in message
    assert f"secret-set-value --secret {UUID} --base64" in message
    assert "ceph auth get-key client.cinder" in message


def test_guest_secret_missing_names_the_uuid_and_the_fix(store: SecretStore,
                                                         tmp_path: Path) -> None:
    key = generate_secret()
    keyring = tmp_path / "ceph.client.cinder.keyring"
    with pytest.raises(GuestSecretMissing) as caught:
        check_guest_secret(store, "compute2", UUID, key, keyring=keyring)
    message = caught.value.message
    assert message.startswith(f"Secret not found: no secret with matching uuid '{UUID}' on "
                              "compute host compute2")
    _assert_fix(message, "compute2")
    assert str(keyring) in message and key not in message
    assert caught.value.http_status == 404 and isinstance(caught.value, GuestSecretError)
    store.define("compute2", GUIDE_XML)
    with pytest.raises(GuestSecretMissing) as caught:
        check_guest_secret(store, "compute2", UUID, key)
    assert "does not have a value" in caught.value.message
    _assert_fix(caught.value.message, "compute2")


def test_guest_secret_with_another_key(store: SecretStore) -> None:
    stored, expected = generate_secret(), generate_secret()
    store.define("compute1", GUIDE_XML)
    store.set_value("compute1", UUID, decode_base64(stored))
    with pytest.raises(GuestSecretMismatch) as caught:
        check_guest_secret(store, "compute1", UUID, expected)
    message = caught.value.message
    assert "does not hold the key of client.cinder" in message
    _assert_fix(message, "compute1")
    assert stored not in message and expected not in message
    assert caught.value.http_status == 400 and isinstance(caught.value, GuestSecretError)


def test_guest_secret_of_another_usage_type(store: SecretStore) -> None:
    key = generate_secret()
    store.define("c1", f"<secret><uuid>{UUID}</uuid><usage type='volume'>"
                       "<volume>/dev/x</volume></usage></secret>")
    store.set_value("c1", UUID, decode_base64(key))
    with pytest.raises(GuestSecretMismatch, match="of type 'volume' not expected 'ceph'"):
        check_guest_secret(store, "c1", UUID, key)


def test_guest_secret_bad_arguments(store: SecretStore) -> None:
    with pytest.raises(errors.InvalidArgument, match="not base64"):
        check_guest_secret(store, "c1", UUID, "!!")
    with pytest.raises(errors.InvalidArgument, match="valid UUID"):
        check_guest_secret(store, "c1", "x", generate_secret())


def test_private_secrets_are_still_checked(store: SecretStore) -> None:
    key = generate_secret()
    store.define("c1", GUIDE_XML.replace("private='no'", "private='yes'"))
    store.set_value("c1", UUID, decode_base64(key))
    check_guest_secret(store, "c1", UUID, key)
    assert os.listdir(store.directory("c1"))
