"""Version documents: the statuses and shapes the recorded clients need, links to the
request's host, and the microversion range constants."""

from __future__ import annotations

import pytest

from shoal.api import (
    COMPUTE_VERSION_MAX,
    VOLUME_VERSION_MAX,
    ApiSettings,
    APIVersion,
    VersionRange,
    compute_app,
    identity_app,
    image_app,
    volume_app,
)
from tests.api.conftest import call

HOST = "http://shoal.test:8080"


@pytest.mark.parametrize("path", ["/identity", "/identity/"])
def test_identity_root_is_300_with_v3(path: str) -> None:
    response = call(identity_app(), "GET", path)
    assert response.status_code == 300
    values = response.json()["versions"]["values"]
    assert [v["id"] for v in values] == ["v3.14"]
    assert values[0]["status"] == "stable"
    assert values[0]["links"] == [{"rel": "self", "href": f"{HOST}/identity/v3/"}]
    assert values[0]["media-types"][0]["type"] == "application/vnd.openstack.identity-v3+json"


@pytest.mark.parametrize("path", ["/identity/v3", "/identity/v3/"])
def test_identity_v3_is_200(path: str) -> None:
    response = call(identity_app(), "GET", path)
    assert response.status_code == 200
    version = response.json()["version"]
    assert version["id"] == "v3.14"
    assert version["links"][0]["href"] == f"{HOST}/identity/v3/"
    assert response.headers["content-type"] == "application/json"


def test_image_root_300_and_versions_200_list_v2_newest_first() -> None:
    app = image_app()
    root = call(app, "GET", "/image")
    listed = call(app, "GET", "/image/versions")
    assert (root.status_code, listed.status_code) == (300, 200)
    assert root.json() == listed.json()
    versions = listed.json()["versions"]
    assert versions[0] == {
        "id": "v2.16",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": f"{HOST}/image/v2/"}],
    }
    assert versions[-1]["id"] == "v2.0"
    assert {v["status"] for v in versions[1:]} == {"SUPPORTED"}


@pytest.mark.parametrize("path,status", [("/volume/", 300), ("/volume", 300),
                                         ("/volume/v3/", 200), ("/volume/v3", 200)])
def test_volume_documents(path: str, status: int) -> None:
    response = call(volume_app(), "GET", path)
    assert response.status_code == status
    (v3,) = response.json()["versions"]
    assert v3["id"] == "v3.0"
    assert v3["status"] == "CURRENT"
    assert (v3["min_version"], v3["version"]) == ("3.0", "3.71")
    assert {"rel": "self", "href": f"{HOST}/volume/v3/"} in v3["links"]
    assert v3["media-types"] == [
        {"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}
    ]


def test_volume_v3_document_with_project_id_in_url() -> None:
    response = call(volume_app(), "GET", "/volume/v3/6f1b0c5e3a9d4e2f8b7c1d0e9f8a7b6c/")
    assert response.status_code == 200
    assert response.json()["versions"][0]["id"] == "v3.0"


@pytest.mark.parametrize("path", ["/compute/v2.1", "/compute/v2.1/"])
def test_compute_v21_is_200(path: str) -> None:
    response = call(compute_app(), "GET", path)
    assert response.status_code == 200
    version = response.json()["version"]
    assert (version["id"], version["status"]) == ("v2.1", "CURRENT")
    assert (version["min_version"], version["version"]) == ("2.1", "2.96")
    assert version["links"][0] == {"rel": "self", "href": f"{HOST}/compute/v2.1/"}
    assert version["media-types"][0]["type"] == (
        "application/vnd.openstack.compute+json;version=2.1"
    )


def test_compute_root_is_nova_index() -> None:
    response = call(compute_app(), "GET", "/compute/")
    assert response.status_code == 200
    (v21,) = response.json()["versions"]
    assert v21["id"] == "v2.1"
    assert v21["links"] == [{"rel": "self", "href": f"{HOST}/compute/v2.1/"}]


def test_links_follow_the_request_host_or_the_public_url() -> None:
    app = volume_app()
    response = call(app, "GET", "/volume/", headers={"Host": "10.0.0.9:18776"})
    assert {"rel": "self", "href": "http://10.0.0.9:18776/volume/v3/"} in (
        response.json()["versions"][0]["links"]
    )
    public = volume_app(settings=ApiSettings(public_url="https://cloud.example/"))
    links = call(public, "GET", "/volume/").json()["versions"][0]["links"]
    assert {"rel": "self", "href": "https://cloud.example/volume/v3/"} in links


def test_served_range_is_configurable() -> None:
    served = VersionRange("volume", APIVersion(3, 0), APIVersion(3, 60))
    v3 = call(volume_app(served=served), "GET", "/volume/v3/").json()["versions"][0]
    assert v3["version"] == "3.60"
    assert (str(VOLUME_VERSION_MAX), str(COMPUTE_VERSION_MAX)) == ("3.71", "2.96")


def test_version_documents_need_no_token_and_answer_head() -> None:
    for app, path in [(identity_app(), "/identity/v3"), (compute_app(), "/compute/v2.1")]:
        assert call(app, "HEAD", path).status_code == 200


def test_unknown_path_is_404_in_service_format() -> None:
    response = call(image_app(), "GET", "/image/v9/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "404 Not Found"
