"""The error edge: ShoalErrors in each service's upstream body format, malformed JSON is
400, unexpected failures are a generic 500, bodies above the limit are 413, non-UUID
lookups are 404."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from shoal import errors
from shoal.api import (
    ApiError,
    ErrorStyle,
    compute_app,
    error_body,
    identity_app,
    image_app,
    volume_app,
)
from tests.api.conftest import VOLUME_ID, call, chunks, make_app

ROOTS = {
    "identity": (identity_app, "/identity/v3"),
    "image": (image_app, "/image/v2"),
    "volume": (volume_app, "/volume/v3"),
    "compute": (compute_app, "/compute/v2.1"),
}


def _message(service: str, body: dict[str, Any], status: int) -> str:
    """Check ``body`` has ``service``'s shape for ``status``; return its message."""
    if service == "identity" or status == 401:
        assert set(body) == {"error"}
        assert body["error"]["code"] == status
        assert isinstance(body["error"]["title"], str) and body["error"]["title"]
        return str(body["error"]["message"])
    if service == "image":
        assert set(body) == {"code", "title", "message"}
        assert body["code"].startswith(f"{status} ")
        return str(body["message"])
    (key,) = body
    assert body[key]["code"] == status
    return str(body[key]["message"])


@pytest.mark.parametrize("service", sorted(ROOTS))
@pytest.mark.parametrize(
    "error,status,fault",
    [
        ("NotFound", 404, "itemNotFound"),
        ("PoolNotFound", 404, "itemNotFound"),
        ("AlreadyExists", 409, "conflictingRequest"),
        ("Busy", 409, "conflictingRequest"),
        ("InvalidArgument", 400, "badRequest"),
        ("PermissionDenied", 403, "forbidden"),
        ("NoSpace", 413, "overLimit"),
        ("NotSupported", 501, "notImplemented"),
    ],
)
def test_shoal_errors_render_in_service_format(
    service: str, error: str, status: int, fault: str
) -> None:
    factory, root = ROOTS[service]
    response = call(make_app(factory), "GET", f"{root}/raise/{error}")
    assert response.status_code == status
    body = response.json()
    assert _message(service, body, status) == f"{error} raised on purpose"
    if service in ("volume", "compute"):
        assert list(body) == [fault]


def test_exact_bodies_per_service() -> None:
    volume, compute = ErrorStyle.VOLUME, ErrorStyle.COMPUTE
    assert error_body(volume, 404, "m") == {"itemNotFound": {"code": 404, "message": "m"}}
    assert error_body(compute, 500, "m") == {"computeFault": {"code": 500, "message": "m"}}
    assert error_body(compute, 406, "m") == {"computeFault": {"code": 406, "message": "m"}}
    assert error_body(ErrorStyle.VOLUME, 429, "m") == {"overLimit": {"code": 429, "message": "m"}}
    assert error_body(ErrorStyle.IMAGE, 409, "m") == {
        "code": "409 Conflict", "title": "Conflict", "message": "m"
    }
    assert error_body(ErrorStyle.IDENTITY, 404, "m") == {
        "error": {"code": 404, "title": "Not Found", "message": "m"}
    }
    assert error_body(ErrorStyle.VOLUME, 401, "m") == {
        "error": {"code": 401, "title": "Unauthorized", "message": "m"}
    }


@pytest.mark.parametrize("service", sorted(ROOTS))
def test_unexpected_exception_is_generic_500_logged_not_shown(
    service: str, caplog: pytest.LogCaptureFixture
) -> None:
    factory, root = ROOTS[service]
    with caplog.at_level(logging.ERROR, logger="shoal.api"):
        response = call(make_app(factory), "GET", f"{root}/boom")
    assert response.status_code == 500
    text = response.text
    assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert "erred" in _message(service, response.json(), 500)
    assert "secret internal detail" in caplog.text


def test_unsafe_shoal_error_shows_no_detail(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="shoal.api"):
        response = call(make_app(volume_app), "GET", "/volume/v3/raise/ShoalError")
    assert response.status_code == 500
    (fault,) = response.json().values()
    assert list(response.json()) == ["computeFault"]
    assert "on purpose" not in fault["message"]
    assert "ShoalError raised on purpose" in caplog.text


def test_api_error_carries_status_and_headers() -> None:
    error = ApiError(429, "slow down", {"Retry-After": "3"})
    assert (error.http_status, error.headers, error.safe) == (429, {"Retry-After": "3"}, True)
    with pytest.raises(ValueError):
        ApiError(200, "not an error")


@pytest.mark.parametrize("service", sorted(ROOTS))
@pytest.mark.parametrize(
    "body,what",
    [
        (b'{"a": ', "invalid JSON at line 1"),
        (b"{'a': 1}", "invalid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "must be a JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"a": ' + b"9" * 5000 + b"}", "a number has too many digits"),
        (b"[" * 20000 + b"]" * 20000, "nested too deeply"),
    ],
)
def test_malformed_json_is_400(service: str, body: bytes, what: str) -> None:
    factory, root = ROOTS[service]
    response = call(
        make_app(factory), "POST", f"{root}/echo", content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert what in _message(service, response.json(), 400)


def test_valid_json_reaches_the_handler() -> None:
    response = call(make_app(volume_app), "POST", "/volume/v3/echo", json={"a": [1, 2]})
    assert (response.status_code, response.json()) == (200, {"got": {"a": [1, 2]}})


def test_schema_validation_names_the_field() -> None:
    app = make_app(compute_app)
    ok = call(app, "POST", "/compute/v2.1/widgets", json={"widget": {"name": "w", "size": 2}})
    assert (ok.status_code, ok.json()) == (202, {"widget": {"name": "w", "size": 2}})
    bad = call(app, "POST", "/compute/v2.1/widgets", json={"widget": {"name": "w", "size": 0}})
    assert bad.status_code == 400
    assert bad.json()["badRequest"] == {
        "code": 400,
        "message": "Invalid input for field/attribute size. Value: 0. 0 is less than the"
                   " minimum of 1"}
    missing = call(app, "POST", "/compute/v2.1/widgets", json={"thing": {}})
    assert missing.status_code == 400
    assert "'widget'" in missing.json()["badRequest"]["message"]


@pytest.mark.parametrize("service", sorted(ROOTS))
def test_body_over_limit_is_413_by_content_length(service: str) -> None:
    factory, root = ROOTS[service]
    app = make_app(factory, max_body_bytes=64)
    fits = json.dumps({"k": "x" * 40}).encode()
    assert call(app, "POST", f"{root}/echo", content=fits).status_code == 200
    response = call(app, "POST", f"{root}/echo", content=json.dumps({"k": "x" * 80}).encode())
    assert response.status_code == 413
    assert "at most 64 bytes" in _message(service, response.json(), 413)


def test_chunked_body_over_limit_is_413() -> None:
    app = make_app(volume_app, max_body_bytes=100)
    data = json.dumps({"k": "x" * 300}).encode()
    response = call(app, "POST", "/volume/v3/echo", content=chunks(data, 32))
    assert response.status_code == 413
    assert list(response.json()) == ["overLimit"]
    small = call(app, "POST", "/volume/v3/echo", content=chunks(b'{"k": 1}', 3))
    assert small.json() == {"got": {"k": 1}}


def test_default_limit_is_upstreams() -> None:
    app = make_app(compute_app)
    over = json.dumps({"k": "x" * 114688}).encode()
    assert call(app, "POST", "/compute/v2.1/echo", content=over).status_code == 413


def test_image_upload_streams_past_the_limit() -> None:
    app = make_app(image_app, max_body_bytes=16)
    data = b"\0" * 100_000
    for content in (data, chunks(data, 4096)):
        response = call(app, "PUT", f"/image/v2/images/{VOLUME_ID}/file", content=content)
        assert (response.status_code, response.json()) == (200, {"bytes": 100_000})
    # the exemption is for image data only
    other = call(app, "PUT", f"/image/v2/small/{VOLUME_ID}/file", content=data)
    assert other.status_code == 413


def test_bad_content_length_is_400() -> None:
    app = make_app(volume_app)
    response = call(
        app, "POST", "/volume/v3/echo", content=b"{}", headers={"Content-Length": "ten"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("name", ["my-volume", "12345", VOLUME_ID[:-1] + "x"])
def test_lookup_of_a_non_uuid_is_404_not_400(name: str) -> None:
    response = call(make_app(volume_app), "GET", f"/volume/v3/volumes/{name}")
    assert response.status_code == 404
    assert response.json() == {
        "itemNotFound": {"code": 404, "message": f"Volume {name} could not be found."}
    }


def test_lookup_of_a_uuid_finds_it_in_either_form() -> None:
    app = make_app(volume_app)
    for form in (VOLUME_ID, VOLUME_ID.replace("-", "").upper()):
        response = call(app, "GET", f"/volume/v3/volumes/{form}")
        assert response.json() == {"volume": {"id": VOLUME_ID}}


def test_wrong_method_is_405_bad_method() -> None:
    response = call(make_app(compute_app), "DELETE", "/compute/v2.1/echo")
    assert response.status_code == 405
    assert list(response.json()) == ["badMethod"]


def test_not_found_route_in_identity_format() -> None:
    response = call(identity_app(), "GET", "/identity/v3/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["title"] == "Not Found"


def test_errors_module_tree_statuses_all_render() -> None:
    for name in errors.__all__:
        error = getattr(errors, name)
        if isinstance(error, type) and issubclass(error, errors.ShoalError):
            response = call(make_app(image_app), "GET", f"/image/v2/raise/{name}")
            assert response.status_code == error.http_status
            expected = {"error"} if error.http_status == 401 else {"code", "title", "message"}
            assert set(response.json()) == expected


def test_every_reply_has_a_request_id() -> None:
    app = make_app(volume_app)
    ids = set()
    for path in ("/volume/", "/volume/v3/raise/NotFound", "/volume/v3/boom", "/volume/v3/x"):
        request_id = call(app, "GET", path).headers["X-OpenStack-Request-Id"]
        assert request_id.startswith("req-") and len(request_id) == 40
        ids.add(request_id)
    assert len(ids) == 4


@pytest.mark.parametrize(("accept", "media"), [
    (None, "text/html"), ("*/*", "text/html"), ("application/json", "application/json"),
    ("text/plain", "text/plain"), ("application/json;q=0.5, text/plain", "text/plain"),
    ("text/*;q=0, application/json", "application/json"), ("image/png", "text/html"),
])
def test_image_errors_follow_accept_as_webob(accept: str | None, media: str) -> None:
    from shoal.api._errors import negotiate_error_type

    assert negotiate_error_type(accept) == media


def test_image_error_pages_carry_the_message() -> None:
    from shoal.api import ErrorStyle, error_response

    page = error_response(ErrorStyle.IMAGE, 404, "No image <x>", accept="*/*")
    assert page.media_type is not None and page.media_type.startswith("text/html")
    assert b"<h1>404 Not Found</h1>" in page.body and b"No image &lt;x&gt;" in page.body
    plain = error_response(ErrorStyle.IMAGE, 409, "in use", accept="text/plain")
    assert plain.body.startswith(b"409 Conflict\n\nin use")
    other = error_response(ErrorStyle.VOLUME, 404, "gone", accept="*/*")
    assert other.media_type == "application/json"
