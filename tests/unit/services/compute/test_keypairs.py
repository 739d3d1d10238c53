"""Key pairs (:class:`Keypairs`) on SQLite: imports with Nova's fingerprints (checked
against ``ssh-keygen -l -E md5`` and ``openssl x509 -fingerprint`` when the machine has
them, else against digests computed here), generated pairs that the tools read back,
per-user names and quota, owner-or-admin policy, paging."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from shoal import errors
from shoal.db import Database
from shoal.services import Caller
from shoal.services.compute import Keypairs
from shoal.services.compute._keypairs import ssh_fingerprint, x509_fingerprint
from shoal.services.volume.policy import PolicyNotAuthorized

ALICE = Caller("u-alice", "p-one", frozenset({"member", "reader"}))
BOB = Caller("u-bob", "p-one", frozenset({"member", "reader"}))
ADMIN = Caller("u-admin", "p-one", frozenset({"admin", "member", "reader"}))
NOW = datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'shoal.db'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def keypairs(db: Database) -> Keypairs:
    return Keypairs(db, lambda: NOW)


def _openssh(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
             comment: str = "me@host") -> str:
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}"


def _md5_colons(public_key: str) -> str:
    """The fingerprint computed independently: MD5 of the base64 blob, colon hex."""
    digest = hashlib.md5(base64.b64decode(public_key.split()[1]),
                         usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _keygen_md5(public_key: str, tmp_path: Path) -> str | None:
    """``ssh-keygen -l -E md5`` of the key (``aa:bb:...``), None without ssh-keygen."""
    tool = shutil.which("ssh-keygen")
    if tool is None:
        return None
    path = tmp_path / "key.pub"
    path.write_text(public_key + "\n")
    out = subprocess.run([tool, "-l", "-E", "md5", "-f", str(path)], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    return out.split()[1].removeprefix("MD5:")


def _certificate(common_name: str = "someone") -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(NOW).not_valid_after(NOW + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("make", [
    lambda: rsa.generate_private_key(65537, 2048),
    ed25519.Ed25519PrivateKey.generate,
    lambda: ec.generate_private_key(ec.SECP256R1()),
    lambda: ec.generate_private_key(ec.SECP384R1()),
], ids=["rsa", "ed25519", "ecdsa-p256", "ecdsa-p384"])
def test_imported_ssh_keys_get_nova_md5_fingerprints(
        keypairs: Keypairs, tmp_path: Path, make: object) -> None:
    assert callable(make)
    public_key = _openssh(make())
    made = keypairs.create(ALICE, "mine", public_key=public_key)
    assert made.private_key is None
    record = made.keypair
    assert (record.name, record.user_id, record.type, record.public_key,
            record.created_at) == ("mine", "u-alice", "ssh", public_key, NOW)
    assert record.fingerprint == _md5_colons(public_key)
    assert len(record.fingerprint) == 47  # 16 bytes, colon hex
    keygen = _keygen_md5(public_key, tmp_path)
    if keygen is not None:
        assert record.fingerprint == keygen
    assert keypairs.get(ALICE, "mine") == record


def test_fingerprint_of_a_known_key() -> None:
    # Tempest's imported key; its MD5 computed once with ssh-keygen -l -E md5
    key = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCsNe3/1ILNCqFyfYWDeTKLD6jEXC2OQHLmietMWW+/vd"
           "aZq7KZEwO0jhglaFjU1mpqq4Gz5RX156sCTNM9vRbwKAxfsdF9laBYVsex3m3Wmui3uYrKyumsoJn2g9GNnG1P"
           "I1mrVjZ61i0GY3khna+wzlTpCCmy5HNlrmbj3XLqBUpipTOXmsnr4sChzC53KCd8LXuwc1i/CZPvF+3XipvAgF"
           "SE53pCtLOeB1kYMOBaiUPLQTWXR3JpckqFIQwhIH0zoHlJvZE8hh90XcPojYN56tI0OlrGqojbediJYD0rUsJu"
           "4weZpbn8vilb3JuDY+jwssnSA8wzBx3A/8y9Pp1B nova@ubuntu")
    assert ssh_fingerprint(key) == _md5_colons(key)


@pytest.mark.parametrize("public_key", [
    "", " ", "ssh-rsa JUNK nova@ubuntu", "ssh-rsa " + "A" * 2048 + " openstack@ubuntu",
    "ssh-rsa", "AAAAB3NzaC1yc2EAAAADAQABAAABAQCs",
    # a real Ed25519 blob announced as RSA
    "ssh-rsa " + _openssh(ed25519.Ed25519PrivateKey.generate()).split()[1],
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
], ids=["empty", "blank", "junk", "long-junk", "type-only", "no-type", "ed25519-as-rsa",
        "bad-pem"])  # stable ids: xdist's workers must collect the same tests
def test_bad_ssh_keys_are_400(keypairs: Keypairs, public_key: str) -> None:
    with pytest.raises(errors.InvalidArgument,
                       match=r"^Keypair data is invalid: failed to generate fingerprint$"):
        keypairs.create(ALICE, "bad", public_key=public_key)
    assert keypairs.list_keypairs(ALICE) == []


def test_dsa_keys_are_refused(keypairs: Keypairs) -> None:
    with warnings.catch_warnings():  # cryptography deprecates DSA
        warnings.simplefilter("ignore")
        public = dsa.generate_private_key(1024).public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert public.startswith("ssh-dss ")
    with pytest.raises(errors.InvalidArgument, match="failed to generate fingerprint"):
        keypairs.create(ALICE, "dsa", public_key=public)


def test_imported_x509_certificates_get_sha1_fingerprints(
        keypairs: Keypairs, tmp_path: Path) -> None:
    pem = _certificate()
    record = keypairs.create(ALICE, "cert", public_key=pem, key_type="x509").keypair
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(
        serialization.Encoding.DER)
    expected = ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())
    assert (record.type, record.fingerprint) == ("x509", expected)
    tool = shutil.which("openssl")
    if tool is not None:
        (tmp_path / "cert.pem").write_text(pem)
        out = subprocess.run([tool, "x509", "-in", str(tmp_path / "cert.pem"), "-noout",
                              "-fingerprint", "-sha1"], capture_output=True, text=True,
                             check=True, timeout=30).stdout
        assert out.strip().split("=", 1)[1].lower() == expected
    with pytest.raises(errors.InvalidArgument,
                       match=r"^Keypair data is invalid: failed to generate X509 fingerprint"):
        keypairs.create(ALICE, "ssh-as-cert", key_type="x509",
                        public_key=_openssh(ed25519.Ed25519PrivateKey.generate()))
    with pytest.raises(errors.InvalidArgument, match="failed to generate fingerprint"):
        keypairs.create(ALICE, "cert-as-ssh", public_key=pem)


def test_generated_ssh_pair_reads_back(keypairs: Keypairs, tmp_path: Path) -> None:
    made = keypairs.create(ALICE, "new")
    assert made.private_key is not None
    assert made.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----")
    private = serialization.load_pem_private_key(made.private_key.encode(), None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    record = made.keypair
    assert record.public_key.startswith(_openssh(private, "").rstrip() + " ")
    assert record.fingerprint == _md5_colons(record.public_key)
    tool = shutil.which("ssh-keygen")
    if tool is not None:  # OpenSSH derives the same public key from the private one
        path = tmp_path / "id_rsa"
        path.write_text(made.private_key)
        path.chmod(0o600)
        derived = subprocess.run([tool, "-y", "-f", str(path)], capture_output=True,
                                 text=True, check=True, timeout=30).stdout.split()
        assert derived[:2] == record.public_key.split()[:2]
        assert _keygen_md5(record.public_key, tmp_path) == record.fingerprint
    # the private key is handed out once, never kept
    assert made.private_key not in repr(keypairs.get(ALICE, "new"))


@pytest.mark.parametrize("user", ["u-alice", "x" * 200], ids=["short", "long"])
def test_generated_x509_pair_is_a_client_certificate(keypairs: Keypairs, user: str) -> None:
    made = keypairs.create(ADMIN, "cert", key_type="x509", user_id=user)
    assert made.private_key is not None
    key, cert, extra = pkcs12.load_key_and_certificates(
        base64.b64decode(made.private_key), None)
    assert key is not None and cert is not None and extra == []
    assert cert.public_bytes(serialization.Encoding.PEM).decode() == made.keypair.public_key
    assert made.keypair.fingerprint == x509_fingerprint(made.keypair.public_key)
    common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == user[:64]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=3650)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    upn = san.get_values_for_type(x509.OtherName)[0]
    expected = f"{user}@localhost".encode()
    assert upn.value.endswith(expected) and upn.value[0] == 0x0C  # a DER UTF8String


def test_names_are_per_user_and_unique(keypairs: Keypairs) -> None:
    key = _openssh(ed25519.Ed25519PrivateKey.generate())
    keypairs.create(ALICE, "shared", public_key=key)
    keypairs.create(BOB, "shared", public_key=key)  # another user: another namespace
    with pytest.raises(errors.AlreadyExists, match=r"^Key pair 'shared' already exists\.$"):
        keypairs.create(ALICE, "shared", public_key=key)
    with pytest.raises(errors.AlreadyExists):
        keypairs.create(ADMIN, "shared", public_key=key, user_id="u-bob")
    assert [k.user_id for k in keypairs.list_keypairs(ADMIN, user_id="u-bob")] == ["u-bob"]


@pytest.mark.parametrize("name", ["", " lead", "trail ", "a/b", "tab\tbed", "x" * 256, "ü"])
def test_bad_names_are_400(keypairs: Keypairs, name: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=r"^Keypair data is invalid: "):
        keypairs.create(ALICE, name, public_key=_openssh(ed25519.Ed25519PrivateKey.generate()))


def test_unknown_type_and_user_ids_too_long_are_400(keypairs: Keypairs) -> None:
    key = _openssh(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(errors.InvalidArgument, match="type"):
        keypairs.create(ALICE, "k", public_key=key, key_type="pgp")
    with pytest.raises(errors.InvalidArgument, match="user_id"):
        keypairs.create(ADMIN, "k", public_key=key, user_id="u" * 256)


def test_unknown_key_pairs_are_404_in_novas_words(keypairs: Keypairs) -> None:
    with pytest.raises(errors.NotFound, match=r"^Keypair nope not found for user u-alice$"):
        keypairs.get(ALICE, "nope")
    with pytest.raises(errors.NotFound, match=r"^Keypair nope not found for user u-bob$"):
        keypairs.delete(ADMIN, "nope", user_id="u-bob")


def test_owner_or_admin(keypairs: Keypairs) -> None:
    key = _openssh(ed25519.Ed25519PrivateKey.generate())
    keypairs.create(ALICE, "a", public_key=key)
    # a user names itself: allowed; another user: admins only
    assert keypairs.get(ALICE, "a", user_id="u-alice").name == "a"
    for call in (lambda: keypairs.get(BOB, "a", user_id="u-alice"),
                 lambda: keypairs.list_keypairs(BOB, user_id="u-alice"),
                 lambda: keypairs.delete(BOB, "a", user_id="u-alice"),
                 lambda: keypairs.create(BOB, "b", public_key=key, user_id="u-alice")):
        with pytest.raises(PolicyNotAuthorized, match="os_compute_api:os-keypairs:"):
            call()
    with pytest.raises(errors.NotFound):  # Bob's own namespace has no "a"
        keypairs.get(BOB, "a")
    made = keypairs.create(ADMIN, "for-alice", public_key=key, user_id="u-alice").keypair
    assert made.user_id == "u-alice"
    assert [k.name for k in keypairs.list_keypairs(ALICE)] == ["a", "for-alice"]
    assert keypairs.list_keypairs(ADMIN) == []  # the admin's own
    keypairs.delete(ADMIN, "a", user_id="u-alice")
    assert [k.name for k in keypairs.list_keypairs(ALICE)] == ["for-alice"]


def test_quota_per_user(db: Database) -> None:
    keypairs = Keypairs(db, lambda: NOW, quota=2)
    key = _openssh(ed25519.Ed25519PrivateKey.generate())
    keypairs.create(ALICE, "one", public_key=key)
    keypairs.create(ALICE, "two", public_key=key)
    with pytest.raises(errors.PermissionDenied,
                       match=r"^Quota exceeded, too many key pairs\.$") as caught:
        keypairs.create(ALICE, "three", public_key=key)
    assert caught.value.http_status == 403
    with pytest.raises(errors.PermissionDenied):  # quota comes before the name check
        keypairs.create(ALICE, "one", public_key=key)
    keypairs.create(BOB, "three", public_key=key)  # Bob's own count
    keypairs.delete(ALICE, "one")
    keypairs.create(ALICE, "three", public_key=key)
    unlimited = Keypairs(db, lambda: NOW, quota=-1)
    for n in range(5):
        unlimited.create(ALICE, f"more-{n}", public_key=key)
    assert len(unlimited.list_keypairs(ALICE)) == 7


def test_default_quota_is_novas_100(keypairs: Keypairs) -> None:
    assert keypairs.quota == 100


def test_list_is_sorted_and_paged(keypairs: Keypairs) -> None:
    key = _openssh(ed25519.Ed25519PrivateKey.generate())
    for name in ("delta", "alpha", "charlie", "bravo"):
        keypairs.create(ALICE, name, public_key=key)
    keypairs.create(BOB, "aardvark", public_key=key)
    assert [k.name for k in keypairs.list_keypairs(ALICE)] == [
        "alpha", "bravo", "charlie", "delta"]
    assert [k.name for k in keypairs.list_keypairs(ALICE, limit=2)] == ["alpha", "bravo"]
    assert [k.name for k in keypairs.list_keypairs(ALICE, marker="bravo")] == [
        "charlie", "delta"]
    assert [k.name for k in keypairs.list_keypairs(ALICE, limit=1, marker="charlie")] == [
        "delta"]
    assert keypairs.list_keypairs(ALICE, marker="delta") == []
    assert keypairs.list_keypairs(ALICE, limit=0) == []
    with pytest.raises(errors.InvalidArgument, match=r"^Marker aardvark could not be found\.$"):
        keypairs.list_keypairs(ALICE, marker="aardvark")  # Bob's, not Alice's
