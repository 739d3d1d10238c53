"""Image CRUD, data, tags, members, (de)activation and schemas through the real image app."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

from tests.api.conftest import chunks
from tests.api.glance.conftest import BASE, Glance


def test_create_show_list_patch_delete(glance: Glance) -> None:
    image = glance.create(name="crud", min_disk=1)
    assert image["status"] == "queued" and image["name"] == "crud"
    shown = glance.call("GET", f"/images/{image['id']}")
    assert shown.status_code == 200 and shown.json()["id"] == image["id"]
    listed = glance.call("GET", "/images")
    assert listed.status_code == 200
    assert image["id"] in {i["id"] for i in listed.json()["images"]}
    patched = glance.call(
        "PATCH", f"/images/{image['id']}",
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
        json=[{"op": "replace", "path": "/name", "value": "renamed"},
              {"op": "add", "path": "/hw_disk_bus", "value": "scsi"}])
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "renamed" and patched.json()["hw_disk_bus"] == "scsi"
    wrong_type = glance.call("PATCH", f"/images/{image['id']}", json=[])
    assert wrong_type.status_code == 415
    assert glance.call("DELETE", f"/images/{image['id']}").status_code == 204
    assert glance.call("GET", f"/images/{image['id']}").status_code == 404


def test_create_location_and_invalid_bodies(glance: Glance) -> None:
    response = glance.call("POST", "/images", json={"disk_format": "nope"})
    assert response.status_code == 400
    assert glance.call("POST", "/images", content=b"{not json",
                       headers={"Content-Type": "application/json"}).status_code == 400
    image = glance.create()
    created = glance.call("POST", "/images", json={"name": "loc"})
    assert created.headers["location"].endswith("/image/v2/images/" + created.json()["id"])
    assert glance.call("DELETE", f"/images/{image['id']}").status_code == 204


def test_upload_download_range_and_md5(glance: Glance) -> None:
    data = bytes(range(256)) * 64
    image = glance.create()
    assert glance.upload(image["id"], data).status_code == 204
    shown = glance.call("GET", f"/images/{image['id']}").json()
    assert shown["status"] == "active" and shown["size"] == len(data)
    full = glance.call("GET", f"/images/{image['id']}/file")
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-md5"] == hashlib.md5(data).hexdigest()
    part = glance.call("GET", f"/images/{image['id']}/file", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    beyond = glance.call("GET", f"/images/{image['id']}/file",
                         headers={"Range": f"bytes={len(data) + 5}-"})
    assert beyond.status_code == 416
    again = glance.upload(image["id"], b"x")
    assert again.status_code == 409


def test_chunked_upload_and_empty_download(glance: Glance) -> None:
    data = b"chunked!" * 1000
    image = glance.create()
    assert glance.call("GET", f"/images/{image['id']}/file").status_code == 204
    response = glance.call("PUT", f"/images/{image['id']}/file", content=chunks(data, 777),
                           headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text
    assert glance.call("GET", f"/images/{image['id']}/file").content == data


def test_upload_errors(glance: Glance) -> None:
    image = glance.create()
    wrong_media = glance.call("PUT", f"/images/{image['id']}/file", content=b"abc",
                              headers={"Content-Type": "text/plain"})
    assert wrong_media.status_code == 415
    # the size is the data's, never the client's (Glance's read-only attribute, 403)
    read_only = glance.call(
        "PATCH", f"/images/{image['id']}",
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
        json=[{"op": "add", "path": "/size", "value": 4}])
    assert read_only.status_code == 403
    assert "read-only" in read_only.json()["message"]
    assert glance.upload(image["id"], b"abc", as_="reader").status_code == 403
    assert glance.upload(image["id"], b"abc", as_="other").status_code == 404


def test_size_mismatch_with_content_length(glance: Glance) -> None:
    image = glance.create()

    async def short() -> object:
        yield b"abc"

    response = glance.call("PUT", f"/images/{image['id']}/file", content=short(),
                           headers={"Content-Type": "application/octet-stream",
                                    "Content-Length": "10"})
    assert response.status_code == 400
    assert glance.call("GET", f"/images/{image['id']}").json()["status"] == "queued"


def test_tags(glance: Glance) -> None:
    image = glance.create(tags=["a"])
    assert glance.call("PUT", f"/images/{image['id']}/tags/b").status_code == 204
    assert sorted(glance.call("GET", f"/images/{image['id']}").json()["tags"]) == ["a", "b"]
    assert glance.call("DELETE", f"/images/{image['id']}/tags/a").status_code == 204
    assert glance.call("DELETE", f"/images/{image['id']}/tags/a").status_code == 404
    assert glance.call("PUT", f"/images/{image['id']}/tags/c", as_="reader").status_code == 403
    assert glance.call("GET", f"/images/{image['id']}").json()["tags"] == ["b"]


def test_members_share_and_accept(glance: Glance) -> None:
    other = glance.projects["other"]
    private = glance.create(visibility="private")
    assert glance.call("GET", f"/images/{private['id']}/members").status_code == 403
    image = glance.create(visibility="shared")
    assert glance.call("GET", f"/images/{image['id']}", as_="other").status_code == 404
    added = glance.call("POST", f"/images/{image['id']}/members", json={"member": other})
    assert added.status_code == 200, added.text
    assert added.json()["status"] == "pending" and added.json()["member_id"] == other
    assert glance.call("POST", f"/images/{image['id']}/members",
                       json={"member": other}).status_code == 409
    # pending members see the image when they ask for it by id
    assert glance.call("GET", f"/images/{image['id']}", as_="other").status_code == 200
    accept = glance.call("PUT", f"/images/{image['id']}/members/{other}", as_="other",
                         json={"status": "accepted"})
    assert accept.status_code == 200 and accept.json()["status"] == "accepted"
    owner_accepts = glance.call("PUT", f"/images/{image['id']}/members/{other}",
                                json={"status": "accepted"})
    assert owner_accepts.status_code == 403
    assert glance.call("PUT", f"/images/{image['id']}/members/{other}", as_="other",
                       json={"status": "maybe"}).status_code == 400
    listed = glance.call("GET", f"/images/{image['id']}/members")
    assert [m["member_id"] for m in listed.json()["members"]] == [other]
    seen = {i["id"] for i in glance.call("GET", "/images", as_="other").json()["images"]}
    assert image["id"] in seen
    shown = glance.call("GET", f"/images/{image['id']}/members/{other}", as_="other")
    assert shown.status_code == 200
    assert glance.call("GET", f"/images/{image['id']}/members/nobody").status_code == 404
    assert glance.call("DELETE", f"/images/{image['id']}/members/{other}",
                       as_="other").status_code == 403
    assert glance.call("DELETE", f"/images/{image['id']}/members/{other}").status_code == 204
    assert glance.call("GET", f"/images/{image['id']}", as_="other").status_code == 404


def test_deactivate_and_reactivate(glance: Glance) -> None:
    image = glance.create()
    glance.upload(image["id"], b"data")
    path = f"/images/{image['id']}"
    assert glance.call("POST", path + "/actions/deactivate", as_="reader").status_code == 403
    assert glance.call("POST", path + "/actions/deactivate").status_code == 204
    assert glance.call("GET", path).json()["status"] == "deactivated"
    assert glance.call("GET", path + "/file").status_code == 403
    assert glance.call("GET", path + "/file", as_="admin").status_code == 200
    assert glance.call("POST", path + "/actions/reactivate").status_code == 204
    assert glance.call("GET", path).json()["status"] == "active"
    queued = glance.create()  # Glance: only active images may be deactivated (403)
    assert glance.call("POST", f"/images/{queued['id']}/actions/deactivate"
                       ).status_code == 403


def test_protected_images_cannot_be_deleted(glance: Glance) -> None:
    image = glance.create(protected=True)
    assert glance.call("DELETE", f"/images/{image['id']}").status_code == 403
    glance.call("PATCH", f"/images/{image['id']}",
                headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
                json=[{"op": "replace", "path": "/protected", "value": False}])
    assert glance.call("DELETE", f"/images/{image['id']}").status_code == 204


def test_policy_reader_other_project_and_admin(glance: Glance) -> None:
    image = glance.create()
    path = f"/images/{image['id']}"
    assert glance.call("GET", path, as_="reader").status_code == 200
    assert glance.call("POST", "/images", as_="reader", json={"name": "r"}).status_code == 403
    patch: dict[str, Any] = {
        "headers": {"Content-Type": "application/openstack-images-v2.1-json-patch"},
        "json": [{"op": "replace", "path": "/name", "value": "x"}]}
    assert glance.call("PATCH", path, as_="reader", **patch).status_code == 403
    assert glance.call("DELETE", path, as_="reader").status_code == 403
    assert glance.call("GET", path, as_="other").status_code == 404
    assert glance.call("PATCH", path, as_="other", **patch).status_code == 404
    assert glance.call("DELETE", path, as_="other").status_code == 404
    assert image["id"] not in {
        i["id"] for i in glance.call("GET", "/images", as_="other").json()["images"]}
    assert glance.call("POST", "/images", json={"visibility": "public"}).status_code == 403
    public = glance.create(as_="admin", visibility="public")
    assert glance.call("GET", f"/images/{public['id']}", as_="other").status_code == 200
    assert glance.call("DELETE", f"/images/{public['id']}", as_="other").status_code == 403
    assert glance.call("PATCH", path, as_="admin", **patch).status_code == 200
    assert glance.call("DELETE", path, as_="admin").status_code == 204
    assert glance.call("GET", "/images", as_=None).status_code == 401


def test_listing_filters_and_paging(glance: Glance) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = {glance.create(name=f"page-{n}", tags=[tag])["id"] for n in range(3)}
    first = glance.call("GET", f"/images?tag={tag}&limit=2")
    assert first.status_code == 200 and len(first.json()["images"]) == 2
    assert "next" in first.json()
    rest = glance.call("GET", first.json()["next"].removeprefix("/v2"))
    got = {i["id"] for i in first.json()["images"]} | {i["id"] for i in rest.json()["images"]}
    assert got == ids
    assert glance.call("GET", "/images?limit=-1").status_code == 400
    assert glance.call("GET", "/images?sort_key=bogus").status_code == 400


def test_ids_that_are_not_uuids_and_trailing_slashes(glance: Glance) -> None:
    assert glance.call("GET", "/images/not-a-uuid").status_code == 404
    assert glance.call("DELETE", "/images/not-a-uuid").status_code == 404
    assert glance.call("GET", f"/images/{uuid.uuid4()}").status_code == 404
    slash = glance.call("GET", "/images/")
    assert slash.status_code == 404 and "location" not in slash.headers
    assert glance.call("GET", "/image/v2/schemas/image/").status_code == 404


def test_error_bodies_follow_accept(glance: Glance) -> None:
    missing = f"/images/{uuid.uuid4()}"
    as_json = glance.call("GET", missing)
    assert as_json.status_code == 404
    assert as_json.headers["content-type"].startswith("application/json")
    assert {"code", "title", "message"} <= as_json.json().keys()
    as_html = glance.call("GET", missing, accept="text/html")
    assert as_html.status_code == 404
    assert as_html.headers["content-type"].startswith("text/html")
    assert "404" in as_html.text


def test_schemas(glance: Glance) -> None:
    for name, root in (("image", "properties"), ("images", "properties"),
                       ("member", "properties"), ("members", "properties")):
        response = glance.call("GET", f"/schemas/{name}")
        assert response.status_code == 200 and root in response.json()
        assert response.json()["name"] == name
    assert glance.call("GET", "/schemas/metadefs/namespace").status_code == 200
    assert glance.call("GET", "/schemas/metadefs/nonsense").status_code == 404


def test_versions_documents(glance: Glance) -> None:
    assert glance.call("GET", "/image", as_=None).status_code == 300
    assert glance.call("GET", "/image/versions", as_=None).status_code == 200


def test_range_forms_that_serve_the_whole_image_or_a_suffix(glance: Glance) -> None:
    data = b"0123456789"
    image = glance.create()
    glance.upload(image["id"], data)
    path = f"/images/{image['id']}/file"
    suffix = glance.call("GET", path, headers={"Range": "bytes=-3"})
    assert suffix.status_code == 206 and suffix.content == b"789"
    assert suffix.headers["content-range"] == "bytes 7-9/10"
    for ignored in ("items=0-1", "bytes=-", "bytes=7-3"):
        whole = glance.call("GET", path, headers={"Range": ignored})
        assert whole.status_code == 200 and whole.content == data, ignored
    open_end = glance.call("GET", path, headers={"Range": "bytes=8-"})
    assert open_end.status_code == 206 and open_end.content == b"89"


def test_a_multi_piece_chunked_upload_and_a_refused_one(glance: Glance) -> None:
    data = bytes(range(251)) * (9 * 4096 + 7)  # about 9 MiB: several queue pieces
    image = glance.create()
    response = glance.call("PUT", f"/images/{image['id']}/file", content=chunks(data, 65536),
                           headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text
    assert glance.call("GET", f"/images/{image['id']}").json()["size"] == len(data)
    assert glance.call("GET", f"/images/{image['id']}/file").content == data
    refused = glance.create()
    response = glance.call("PUT", f"/images/{refused['id']}/file", as_="reader",
                           content=chunks(data, 65536),
                           headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 403
    assert glance.call("GET", f"/images/{refused['id']}").json()["status"] == "queued"


def test_a_client_gone_mid_body_is_400_and_the_image_stays_queued(glance: Glance) -> None:
    image = glance.create()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PUT",
        "scheme": "http", "server": ("shoal.test", 9292), "client": ("127.0.0.1", 1),
        "root_path": "", "path": f"{BASE}/images/{image['id']}/file",
        "raw_path": f"{BASE}/images/{image['id']}/file".encode(), "query_string": b"",
        "headers": [(b"host", b"shoal.test:9292"), (b"accept", b"application/json"),
                    (b"content-type", b"application/octet-stream"),
                    (b"x-auth-token", glance.tokens["member"].encode())],
    }
    events: list[dict[str, object]] = [
        {"type": "http.request", "body": b"x" * 1000, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        if len(events) > 1:
            return events.pop(0)
        await asyncio.sleep(0)
        return events[0]

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(glance.app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert glance.call("GET", f"/images/{image['id']}").json()["status"] == "queued"
