"""Microversion negotiation: parsing, comparison, ranges, headers, and 406/400 bodies."""

from __future__ import annotations

import pytest

from shoal.api import (
    APIVersion,
    BadRequest,
    NotAcceptable,
    VersionRange,
    compute_app,
    volume_app,
)
from shoal.api._microversion import negotiate
from tests.api.conftest import call, make_app

VOLUME = VersionRange("volume", APIVersion(3, 0), APIVersion(3, 71))


def test_apiversion_parses_and_compares_with_strings() -> None:
    v = APIVersion.parse("3.59")
    assert (v.major, v.minor, str(v)) == (3, 59, "3.59")
    assert v >= "3.55" and v > "3.9" and v < "3.60" and v <= "3.59" and v == "3.59"
    assert APIVersion(3, 10) > APIVersion(3, 9)
    assert v != "3.5"
    assert len({APIVersion(2, 1), APIVersion.parse("2.1")}) == 1
    assert sorted([APIVersion(3, 10), APIVersion(3, 2)]) == [APIVersion(3, 2), APIVersion(3, 10)]


@pytest.mark.parametrize("text", ["3", "3.", "a.b", "3.5.1", "03.1", "3.01", "-3.1", "0.5", ""])
def test_apiversion_rejects_malformed(text: str) -> None:
    with pytest.raises(BadRequest, match="invalid format"):
        APIVersion.parse(text)


def test_range_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        VersionRange("volume", APIVersion(3, 5), APIVersion(3, 1))


@pytest.mark.parametrize(
    "headers,expected",
    [
        ([], "3.0"),
        ([("OpenStack-API-Version", "volume 3.59")], "3.59"),
        ([("openstack-api-version", "VOLUME 3.10")], "3.10"),
        ([("OpenStack-API-Version", "volume latest")], "3.71"),
        ([("OpenStack-API-Version", "compute 2.5, volume 3.44")], "3.44"),
        ([("OpenStack-API-Version", "compute 2.5")], "3.0"),
        ([("X-OpenStack-Nova-API-Version", "2.5")], "3.0"),
    ],
)
def test_negotiate_volume(headers: list[tuple[str, str]], expected: str) -> None:
    assert str(negotiate(headers, VOLUME)) == expected


def test_negotiate_out_of_range_and_malformed() -> None:
    with pytest.raises(NotAcceptable, match=r"Minimum is 3\.0 and maximum is 3\.71"):
        negotiate([("OpenStack-API-Version", "volume 3.72")], VOLUME)
    with pytest.raises(NotAcceptable):
        negotiate([("OpenStack-API-Version", "volume 2.99")], VOLUME)
    with pytest.raises(BadRequest):
        negotiate([("OpenStack-API-Version", "volume 3.x")], VOLUME)


def test_volume_request_sees_version_and_reply_names_it() -> None:
    app = make_app(volume_app)
    response = call(app, "GET", "/volume/v3/version",
                    headers={"OpenStack-API-Version": "volume 3.59"})
    assert response.json() == {"version": "3.59", "ge_3_55": True}
    assert response.headers["OpenStack-API-Version"] == "volume 3.59"
    assert response.headers["Vary"] == "OpenStack-API-Version"
    default = call(app, "GET", "/volume/v3/version")
    assert default.json() == {"version": "3.0", "ge_3_55": False}
    assert default.headers["OpenStack-API-Version"] == "volume 3.0"


def test_version_headers_also_on_errors_and_documents() -> None:
    app = make_app(volume_app)
    missing = call(app, "GET", "/volume/v3/raise/NotFound",
                   headers={"OpenStack-API-Version": "volume 3.64"})
    assert missing.status_code == 404
    assert missing.headers["OpenStack-API-Version"] == "volume 3.64"
    doc = call(app, "GET", "/volume/v3/", headers={"OpenStack-API-Version": "volume latest"})
    assert doc.headers["OpenStack-API-Version"] == "volume 3.71"
    root = call(app, "GET", "/volume/", headers={"OpenStack-API-Version": "volume 9.9"})
    assert root.status_code == 300
    assert "OpenStack-API-Version" not in root.headers


def test_volume_out_of_range_is_406_in_cinder_format() -> None:
    response = call(make_app(volume_app), "GET", "/volume/v3/version",
                    headers={"OpenStack-API-Version": "volume 3.72"})
    assert response.status_code == 406
    assert response.json() == {
        "computeFault": {
            "code": 406,
            "message": "Version 3.72 is not supported by the API. Minimum is 3.0 and"
            " maximum is 3.71.",
        }
    }
    assert response.headers["Vary"] == "OpenStack-API-Version"


def test_malformed_version_is_400() -> None:
    response = call(make_app(volume_app), "GET", "/volume/v3/version",
                    headers={"OpenStack-API-Version": "volume three"})
    assert response.status_code == 400
    assert "invalid format" in response.json()["badRequest"]["message"]


def test_compute_reads_both_headers_new_one_wins() -> None:
    app = make_app(compute_app)
    legacy = call(app, "GET", "/compute/v2.1/version",
                  headers={"X-OpenStack-Nova-API-Version": "2.47"})
    assert legacy.json()["version"] == "2.47"
    assert legacy.headers["X-OpenStack-Nova-API-Version"] == "2.47"
    assert legacy.headers["OpenStack-API-Version"] == "compute 2.47"
    assert legacy.headers["Vary"] == "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
    both = call(app, "GET", "/compute/v2.1/version", headers={
        "X-OpenStack-Nova-API-Version": "2.47", "OpenStack-API-Version": "compute 2.79"})
    assert both.json()["version"] == "2.79"
    latest = call(app, "GET", "/compute/v2.1/version",
                  headers={"X-OpenStack-Nova-API-Version": "latest"})
    assert latest.json()["version"] == "2.96"
    none = call(app, "GET", "/compute/v2.1/version")
    assert none.json()["version"] == "2.1"


def test_compute_out_of_range_is_406() -> None:
    response = call(make_app(compute_app), "GET", "/compute/v2.1/version",
                    headers={"OpenStack-API-Version": "compute 2.97"})
    assert response.status_code == 406
    assert response.json()["computeFault"]["code"] == 406
    low = call(make_app(compute_app), "GET", "/compute/v2.1/version",
               headers={"X-OpenStack-Nova-API-Version": "2.0"})
    assert low.status_code == 406


def test_versions_with_project_id_in_url() -> None:
    response = call(make_app(volume_app), "GET",
                    "/volume/v3/6f1b0c5e3a9d4e2f8b7c1d0e9f8a7b6c/version",
                    headers={"OpenStack-API-Version": "volume 3.65"})
    assert response.json()["version"] == "3.65"
