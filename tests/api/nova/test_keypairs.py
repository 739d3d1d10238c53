"""Nova's key pair API in-process (issue 14): generated and imported ssh and x509 pairs,
each microversion's bodies and status codes (2.2 types, 2.10 other users, 2.35 paging,
2.75 strict queries, 2.92 names and required keys), Nova's 400/403/404/409 wording, and
every reply checked against Tempest's own compute schemas for its microversion (run in
Tempest's venv, as Tempest's keypairs client checks them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from shoal._time import utcnow
from shoal.api.nova import keypair_routes
from shoal.db import Database
from shoal.services.compute import Keypairs
from tests.api.conftest import PROJECT_A
from tests.api.nova._client import NovaApi
from tests.unit.services.compute.test_keypairs import _certificate, _md5_colons

#: Tempest's own imported key (its test_keypair_create_with_pub_key).
TEMPEST_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCsNe3/1ILNCqFyfYWDeTKLD6jEXC2OQHLmietMWW+/vdaZq7K"
    "ZEwO0jhglaFjU1mpqq4Gz5RX156sCTNM9vRbwKAxfsdF9laBYVsex3m3Wmui3uYrKyumsoJn2g9GNnG1PI1mrVj"
    "Z61i0GY3khna+wzlTpCCmy5HNlrmbj3XLqBUpipTOXmsnr4sChzC53KCd8LXuwc1i/CZPvF+3XipvAgFSE53pC"
    "tLOeB1kYMOBaiUPLQTWXR3JpckqFIQwhIH0zoHlJvZE8hh90XcPojYN56tI0OlrGqojbediJYD0rUsJu4weZpbn"
    "8vilb3JuDY+jwssnSA8wzBx3A/8y9Pp1B nova@ubuntu")


def _ed25519() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + " me@host"


class Api(NovaApi):
    def __init__(self, db: Database, quota: int) -> None:
        self.keypairs = Keypairs(db, utcnow, quota=quota)
        super().__init__(keypair_routes(self.keypairs), token="member-token")

    def create(self, version: str = "2.1", token: str = "member-token",
               **keypair: Any) -> httpx.Response:
        return self("POST", "/os-keypairs", token=token, version=version,
                    schema="create_keypair", json={"keypair": keypair})

    def error(self, reply: httpx.Response, status: int) -> str:
        """The message of a Nova fault body, after checking its status."""
        assert reply.status_code == status, reply.text
        (fault,) = reply.json().values()
        assert fault["code"] == status
        message = fault["message"]
        assert isinstance(message, str)
        return message


#: Tempest's keypairs schema modules (none after 2.2).
_SCHEMA_MODULES = (("2.2", "v2_2"), ("2.1", "v2_1"))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.upgrade()
    made = Api(db, quota=5)
    yield made
    made.check_tempest_schemas("keypairs", _SCHEMA_MODULES, tmp_path)
    db.dispose()


def test_generate_list_show_delete_at_2_1(api: Api) -> None:
    made = api.create(name="gen")
    assert made.status_code == 200, made.text
    keypair = made.json()["keypair"]
    assert set(keypair) == {"name", "public_key", "fingerprint", "user_id", "private_key"}
    assert keypair["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert (keypair["user_id"], keypair["fingerprint"]) == (
        "u-member", _md5_colons(keypair["public_key"]))
    listed = api("GET", "/os-keypairs", schema="list_keypairs").json()
    assert listed == {"keypairs": [{"keypair": {
        "name": "gen", "public_key": keypair["public_key"],
        "fingerprint": keypair["fingerprint"]}}]}
    shown = api("GET", "/os-keypairs/gen", schema="get_keypair").json()["keypair"]
    assert "type" not in shown and "private_key" not in shown
    assert (shown["deleted"], shown["deleted_at"], shown["updated_at"]) == (False, None, None)
    assert isinstance(shown["id"], int)
    stamp = datetime.fromisoformat(shown["created_at"])
    assert stamp.tzinfo is None and len(shown["created_at"]) == 26  # Nova's microseconds
    assert api("DELETE", "/os-keypairs/gen", schema="delete_keypair").status_code == 202
    assert api.error(api("GET", "/os-keypairs/gen"), 404) == \
        "Keypair gen not found for user u-member"
    assert api.error(api("DELETE", "/os-keypairs/gen"), 404) == \
        "Keypair gen not found for user u-member"


def test_import_and_types_from_2_2(api: Api) -> None:
    made = api.create("2.2", name="tempest", public_key=TEMPEST_KEY)
    assert made.status_code == 201, made.text
    keypair = made.json()["keypair"]
    assert "private_key" not in keypair
    assert (keypair["type"], keypair["public_key"], keypair["fingerprint"]) == (
        "ssh", TEMPEST_KEY, _md5_colons(TEMPEST_KEY))
    cert = _certificate()
    imported = api.create("2.2", name="cert", public_key=cert, type="x509").json()["keypair"]
    assert (imported["type"], len(imported["fingerprint"])) == ("x509", 59)  # SHA-1
    generated = api.create("2.2", name="gen-cert", type="x509").json()["keypair"]
    assert generated["type"] == "x509" and generated["private_key"]
    assert generated["public_key"].startswith("-----BEGIN CERTIFICATE-----")
    listed = api("GET", "/os-keypairs", version="2.2", schema="list_keypairs").json()
    assert [(k["keypair"]["name"], k["keypair"]["type"]) for k in listed["keypairs"]] == [
        ("cert", "x509"), ("gen-cert", "x509"), ("tempest", "ssh")]
    assert api("GET", "/os-keypairs/cert", version="2.2",
               schema="get_keypair").json()["keypair"]["type"] == "x509"
    assert api("DELETE", "/os-keypairs/cert", version="2.2",
               schema="delete_keypair").status_code == 204
    # before 2.2 there is no type to give
    assert "type" in api.error(api.create(name="t", type="ssh"), 400)


def test_other_users_key_pairs_from_2_10(api: Api) -> None:
    made = api.create("2.10", token="admin-token", name="given", public_key=_ed25519(),
                      user_id="u-member")
    assert made.status_code == 201 and made.json()["keypair"]["user_id"] == "u-member"
    assert [k["keypair"]["name"] for k in api("GET", "/os-keypairs").json()["keypairs"]] == [
        "given"]
    assert api("GET", "/os-keypairs", token="admin-token").json() == {"keypairs": []}
    as_admin = api("GET", "/os-keypairs?user_id=u-member", token="admin-token",
                   version="2.10", schema="list_keypairs").json()["keypairs"]
    assert [k["keypair"]["name"] for k in as_admin] == ["given"]
    assert api("GET", "/os-keypairs/given?user_id=u-member", token="admin-token",
               version="2.10", schema="get_keypair").json()["keypair"]["user_id"] == "u-member"
    # an empty user_id is the caller's own
    assert api("GET", "/os-keypairs?user_id=", version="2.10").json()["keypairs"]
    assert api.create("2.10", name="own", public_key=_ed25519(), user_id="").json()[
        "keypair"]["user_id"] == "u-member"
    assert api("DELETE", "/os-keypairs/own?user_id=", version="2.10").status_code == 204
    # a member may name itself, not anyone else
    assert api("GET", "/os-keypairs/given?user_id=u-member", version="2.10").status_code == 200
    refused = api("GET", "/os-keypairs?user_id=u-admin", version="2.10")
    assert api.error(refused, 403) == \
        "Policy doesn't allow os_compute_api:os-keypairs:index to be performed."
    assert api("DELETE", "/os-keypairs/given?user_id=u-admin", version="2.10"
               ).status_code == 403
    assert api.create("2.10", name="x", public_key=_ed25519(),
                      user_id="u-admin").status_code == 403
    # before 2.10 the query parameter is ignored and the body field refused
    assert api("GET", "/os-keypairs?user_id=u-member", token="admin-token",
               version="2.9").json() == {"keypairs": []}
    assert "user_id" in api.error(api.create("2.9", token="admin-token", name="y",
                                             user_id="u-member"), 400)
    assert api("DELETE", "/os-keypairs/given?user_id=u-member", token="admin-token",
               version="2.10", schema="delete_keypair").status_code == 204
    assert api("GET", "/os-keypairs").json() == {"keypairs": []}


def test_paging_from_2_35(api: Api) -> None:
    key = _ed25519()
    for name in ("d", "a", "c", "b"):
        api.create("2.35", name=name, public_key=key)
    page = api("GET", f"/{PROJECT_A}/os-keypairs?limit=2", version="2.35").json()
    assert [k["keypair"]["name"] for k in page["keypairs"]] == ["a", "b"]
    assert page["keypairs_links"] == [{"rel": "next", "href": (
        f"http://shoal.test:8080/compute/v2.1/{PROJECT_A}/os-keypairs?limit=2&marker=b")}]
    rest = api("GET", "/os-keypairs?marker=b", version="2.35", schema="list_keypairs").json()
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["c", "d"]
    assert "keypairs_links" not in rest  # a page not full
    last = api("GET", "/os-keypairs?marker=c&limit=5", version="2.35",
               schema="list_keypairs").json()
    assert [k["keypair"]["name"] for k in last["keypairs"]] == ["d"]
    assert api.error(api("GET", "/os-keypairs?marker=zz", version="2.35"), 400) == \
        "Marker zz could not be found."
    assert api.error(api("GET", "/os-keypairs?limit=-1", version="2.35"), 400) == (
        "Invalid input for query parameters limit. Value: -1. '-1' does not match "
        "'^[0-9]*$'")
    assert api("GET", "/os-keypairs?limit=lots", version="2.35").status_code == 400
    assert api("GET", "/os-keypairs?limit=0", version="2.35",
               schema="list_keypairs").json() == {"keypairs": []}
    # before 2.35: no paging, the parameters are ignored
    assert len(api("GET", "/os-keypairs?limit=1&marker=zz", version="2.34",
                   schema="list_keypairs").json()["keypairs"]) == 4


def test_unknown_query_parameters_from_2_75(api: Api) -> None:
    api.create("2.75", name="k", public_key=_ed25519())
    for method, path in (("GET", "/os-keypairs"), ("GET", "/os-keypairs/k"),
                         ("DELETE", "/os-keypairs/k")):
        refused = api(method, f"{path}?colour=red", version="2.75")
        assert api.error(refused, 400) == \
            "Additional properties are not allowed ('colour' was unexpected)"
    assert api("GET", "/os-keypairs/k?colour=red", version="2.74",
               schema="get_keypair").status_code == 200
    # paging parameters belong to the list only
    assert api("GET", "/os-keypairs/k?limit=1", version="2.75").status_code == 400


def test_names_and_required_keys_from_2_92(api: Api) -> None:
    key = _ed25519()
    made = api.create("2.92", name="me@host.example", public_key=key)
    assert made.status_code == 201, made.text
    assert api("GET", "/os-keypairs/me@host.example", version="2.92",
               schema="get_keypair").json()["keypair"]["name"] == "me@host.example"
    assert "does not match" in api.error(api.create("2.91", name="me@host", public_key=key),
                                         400)
    assert "public_key" in api.error(api.create("2.92", name="gen"), 400)
    assert api.create("2.91", name="gen").json()["keypair"]["private_key"]


@pytest.mark.parametrize(("name", "reason"), [
    ("", "Invalid input for field/attribute name. Value: . "),
    ("keypair-".ljust(260, "0"), "is too long"),
    (r"key_/.\@:", "does not match"),
    (" lead", "An invalid 'name' value was provided. The name must be: printable "
              "characters. Can not start or end with whitespace."),
    ("trail\u3000", "Can not start or end with whitespace."),
    (42, "is not of type 'string'"),
])
def test_bad_names_are_400(api: Api, name: object, reason: str) -> None:
    message = api.error(api.create(name=name, public_key=_ed25519()), 400)
    assert reason in message
    assert api("GET", "/os-keypairs").json() == {"keypairs": []}


@pytest.mark.parametrize("body", [
    {}, {"keypair": {}}, {"keypair": {"name": "k", "colour": "red"}},
    {"keypair": {"name": "k"}, "extra": 1}, {"keypair": {"name": "k", "public_key": 42}},
    {"keypair": {"name": "k", "type": "pgp"}}, [],
])
def test_bad_bodies_are_400(api: Api, body: object) -> None:
    api.error(api("POST", "/os-keypairs", version="2.10", json=body), 400)


@pytest.mark.parametrize("public_key", [
    " ", "", "ssh-rsa JUNK nova@ubuntu", "ssh-rsa " + "A" * 2048 + " openstack@ubuntu"])
def test_bad_public_keys_are_400(api: Api, public_key: str) -> None:
    assert api.error(api.create(name="k", public_key=public_key), 400) == \
        "Keypair data is invalid: failed to generate fingerprint"


def test_duplicates_and_quota(api: Api) -> None:
    key = _ed25519()
    api.create(name="dup", public_key=key)
    assert api.error(api.create(name="dup", public_key=key), 409) == \
        "Key pair 'dup' already exists."
    assert api.create(token="other-token", name="dup", public_key=key).status_code == 200
    for n in range(4):
        api.create(name=f"k{n}", public_key=key)
    assert api.error(api.create(name="k5", public_key=key), 403) == \
        "Quota exceeded, too many key pairs."
