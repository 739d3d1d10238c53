"""Glance v2 image routes over :class:`shoal.services.image.ImageService`.

Mounted under ``/image/v2`` by :func:`shoal.api.image_app`. The handlers only translate
HTTP to service calls: the service applies Glance's default policy
(:mod:`shoal.services.image.policy`) for the :class:`~shoal.services.Caller` each handler
builds from its request context; publicizing is for admins (the create and patch rules).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._body import read_json, read_json_object
from shoal.api._context import RequestContext, request_context, require_role
from shoal.api.glance import members as member_rules
from shoal.api.glance import schemas, tags, views
from shoal.api.glance.create import parse_create
from shoal.api.glance.data import parse_range, stream_reader, upload_stream
from shoal.api.glance.metadefs.routes import metadef_routes
from shoal.api.glance.metadefs.schemas import metadefs_schema
from shoal.api.glance.options import ImageApiOptions
from shoal.api.glance.patch import patch_image
from shoal.api.glance.query import parse_query
from shoal.services.image import ImageRecord, ImageService, MemberRecord, MetadefStore, status

__all__ = ["image_routes"]

_OCTET = "application/octet-stream"


def _json(body: Any, status_code: int = 200, headers: dict[str, str] | None = None
          ) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=headers)


class _Images:
    """The handlers (one instance per app)."""

    def __init__(self, service: ImageService, options: ImageApiOptions) -> None:
        self.service = service
        self.options = options

    # --- helpers --------------------------------------------------------------------------

    def _view(self, record: ImageRecord, context: RequestContext) -> dict[str, Any]:
        return views.image_view(record, self.options, is_admin=context.is_admin)

    # --- schemas --------------------------------------------------------------------------

    async def schema_image(self, request: Request) -> Response:
        return _json(schemas.image_schema(self.options))

    async def schema_images(self, request: Request) -> Response:
        return _json(schemas.images_schema(self.options))

    async def schema_member(self, request: Request) -> Response:
        return _json(schemas.member_schema())

    async def schema_members(self, request: Request) -> Response:
        return _json(schemas.members_schema())

    async def schema_metadefs(self, request: Request) -> Response:
        body = metadefs_schema(request.path_params["name"])
        if body is None:
            raise errors.NotFound("The resource could not be found.")
        return _json(body)

    # --- images -----------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        context = await request_context(request)
        require_role(context, "member")
        body = await read_json(request)
        new = parse_create(body, self.options, project_id=context.project_id,
                           is_admin=context.is_admin)
        image_id = new.id or str(uuid.uuid4())
        record = await run_in_threadpool(
            self.service.create, context.caller(), new.to_record(image_id, self.service.clock()))
        return _json(self._view(record, context), 201,
                     {"Location": str(request.url).rstrip("/") + f"/{record.id}"})

    async def index(self, request: Request) -> Response:
        context = await request_context(request)
        params = list(request.query_params.multi_items())
        query = parse_query(params, self.options)
        page, next_marker = await run_in_threadpool(self.service.list_images,
                                                  context.caller(), query)
        return _json(views.images_view(page, self.options, params=params,
                                       next_marker=next_marker, is_admin=context.is_admin))

    async def show(self, request: Request) -> Response:
        context = await request_context(request)
        record = await run_in_threadpool(self.service.show, context.caller(),
                                         request.path_params["image_id"])
        return _json(self._view(record, context))

    async def update(self, request: Request) -> Response:
        context = await request_context(request)
        caller = context.caller()
        image_id = request.path_params["image_id"]
        await run_in_threadpool(self.service.show, caller, image_id)  # 404 before 400
        body = await read_json(request)
        content_type = request.headers.get("content-type")
        removed: list[str] = []

        def change(current: ImageRecord) -> ImageRecord | None:
            result = patch_image(current, body, content_type, self.options,
                                 is_admin=context.is_admin)
            removed.extend(loc.url for loc in result.locations_removed)
            return None if result.is_noop else result.image

        updated = await run_in_threadpool(self.service.update, caller, image_id, change)
        return _json(self._view(updated, context))

    async def delete(self, request: Request) -> Response:
        context = await request_context(request)
        await run_in_threadpool(self.service.delete, context.caller(),
                                request.path_params["image_id"])
        return Response(status_code=204)

    async def deactivate(self, request: Request) -> Response:
        return await self._set_active(request, status.deactivate)

    async def reactivate(self, request: Request) -> Response:
        return await self._set_active(request, status.reactivate)

    async def _set_active(self, request: Request,
                          rule: Callable[..., str | None]) -> Response:
        context = await request_context(request)
        image_id = request.path_params["image_id"]

        def change(current: ImageRecord) -> ImageRecord | None:
            target = rule(current, project_id=context.project_id, is_admin=context.is_admin)
            return None if target is None else _with_status(current, target)

        await run_in_threadpool(self.service.update, context.caller(), image_id, change)
        return Response(status_code=204)

    # --- data -------------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        context = await request_context(request)
        caller = context.caller()
        image_id = request.path_params["image_id"]
        await run_in_threadpool(self.service.show, caller, image_id)  # 404 before 415
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != _OCTET:
            raise _UnsupportedMedia()
        declared = request.headers.get("content-length")
        size = int(declared) if declared and declared.isdigit() and int(declared) else None

        def write(pieces: Iterator[bytes]) -> ImageRecord:
            return self.service.upload(caller, image_id, pieces, size)

        await upload_stream(request, write)
        return Response(status_code=204)

    async def download(self, request: Request) -> Response:
        context = await request_context(request)
        record = await run_in_threadpool(self.service.show, context.caller(),
                                         request.path_params["image_id"])
        if not status.check_download(record, is_admin=context.is_admin):
            return Response(status_code=204)
        size = record.size or 0
        wanted = parse_range(request.headers.get("range"), size) if size else None
        offset, length = wanted if wanted is not None else (0, None)
        reader, total = await run_in_threadpool(self.service.open_data, record, offset, length)
        headers = {"Content-Type": _OCTET, "Content-Length": str(reader.length)}
        code = 200
        if wanted is not None:
            code = 206
            headers["Content-Range"] = f"bytes {offset}-{offset + reader.length - 1}/{total}"
        elif record.checksum:
            headers["Content-MD5"] = record.checksum
        return StreamingResponse(stream_reader(reader, reader.close), status_code=code,
                                 headers=headers, media_type=_OCTET)

    # --- tags -------------------------------------------------------------------------------

    async def add_tag(self, request: Request) -> Response:
        return await self._tag(request, lambda rec, tag: tags.add_tag(rec, tag, self.options))

    async def delete_tag(self, request: Request) -> Response:
        return await self._tag(request, tags.remove_tag)

    async def _tag(self, request: Request,
                   rule: Callable[[ImageRecord, str], ImageRecord]) -> Response:
        context = await request_context(request)
        tag = request.path_params["tag"]

        def change(current: ImageRecord) -> ImageRecord | None:
            return rule(current, tag)

        await run_in_threadpool(self.service.update, context.caller(),
                                request.path_params["image_id"], change)
        return Response(status_code=204)

    # --- members ----------------------------------------------------------------------------

    async def list_members(self, request: Request) -> Response:
        context = await request_context(request)
        record, found = await run_in_threadpool(self.service.members, context.caller(),
                                                request.path_params["image_id"])
        if record.visibility != "shared":
            raise errors.PermissionDenied(
                f"Only shared images have members (image {record.id} is "
                f"{record.visibility}).")
        shown = member_rules.visible_members(record, found, project_id=context.project_id,
                                             is_admin=context.is_admin)
        return _json(views.members_view(shown))

    async def show_member(self, request: Request) -> Response:
        context = await request_context(request)
        member_id = request.path_params["member_id"]
        record, found = await run_in_threadpool(self.service.members, context.caller(),
                                                request.path_params["image_id"])
        shown = member_rules.visible_members(record, found, project_id=context.project_id,
                                             is_admin=context.is_admin)
        for member in shown:
            if member.member_id == member_id:
                return _json(views.member_view(member))
        raise errors.NotFound(f"{member_id} is not a member of image {record.id}.")

    async def add_member(self, request: Request) -> Response:
        context = await request_context(request)
        caller = context.caller()
        image_id = request.path_params["image_id"]
        await run_in_threadpool(self.service.show, caller, image_id)  # 404 before 403
        require_role(context, "member")  # 403 before 400; the service checks it too
        member_id = member_rules.parse_member_create(await read_json(request))

        def check(current: ImageRecord, count: int) -> None:
            member_rules.check_add_member(current, project_id=context.project_id,
                                          is_admin=context.is_admin, member_count=count,
                                          options=self.options)

        added = await run_in_threadpool(self.service.add_member, caller, image_id, member_id,
                                        check)
        return _json(views.member_view(added))

    async def update_member(self, request: Request) -> Response:
        context = await request_context(request)
        caller = context.caller()
        image_id = request.path_params["image_id"]
        await run_in_threadpool(self.service.show, caller, image_id)  # 404 before 400
        member_id = request.path_params["member_id"]
        new_status = member_rules.parse_member_update(await read_json_object(request))

        def check(current: ImageRecord, member: MemberRecord) -> None:
            member_rules.check_update_member(current, member.member_id,
                                             project_id=context.project_id,
                                             is_admin=context.is_admin)

        updated = await run_in_threadpool(self.service.update_member, caller, image_id,
                                          member_id, new_status, check)
        return _json(views.member_view(updated))

    async def delete_member(self, request: Request) -> Response:
        context = await request_context(request)
        member_id = request.path_params["member_id"]

        def check(current: ImageRecord, member: MemberRecord) -> None:
            member_rules.check_delete_member(current, project_id=context.project_id,
                                             is_admin=context.is_admin)

        await run_in_threadpool(self.service.delete_member, context.caller(),
                                request.path_params["image_id"], member_id, check)
        return Response(status_code=204)


class _UnsupportedMedia(errors.ShoalError):
    http_status = 415
    safe = True

    def __init__(self) -> None:
        super().__init__("Image data must be sent as application/octet-stream.")


def _with_status(record: ImageRecord, target: str) -> ImageRecord:
    return replace(record, status=target)


def image_routes(service: ImageService, options: ImageApiOptions) -> list[BaseRoute]:
    """Routes under ``/image/v2`` for :func:`shoal.api.image_app`."""
    h = _Images(service, options)
    image = "/images/{image_id}"
    return [
        Route("/schemas/image", h.schema_image, methods=["GET"]),
        Route("/schemas/images", h.schema_images, methods=["GET"]),
        Route("/schemas/member", h.schema_member, methods=["GET"]),
        Route("/schemas/members", h.schema_members, methods=["GET"]),
        Route("/schemas/metadefs/{name}", h.schema_metadefs, methods=["GET"]),
        Route("/images", h.index, methods=["GET"]),
        Route("/images", h.create, methods=["POST"]),
        Route(image, h.show, methods=["GET"]),
        Route(image, h.update, methods=["PATCH"]),
        Route(image, h.delete, methods=["DELETE"]),
        Route(image + "/file", h.upload, methods=["PUT"]),
        Route(image + "/file", h.download, methods=["GET"]),
        Route(image + "/actions/deactivate", h.deactivate, methods=["POST"]),
        Route(image + "/actions/reactivate", h.reactivate, methods=["POST"]),
        Route(image + "/tags/{tag}", h.add_tag, methods=["PUT"]),
        Route(image + "/tags/{tag}", h.delete_tag, methods=["DELETE"]),
        Route(image + "/members", h.list_members, methods=["GET"]),
        Route(image + "/members", h.add_member, methods=["POST"]),
        Route(image + "/members/{member_id}", h.show_member, methods=["GET"]),
        Route(image + "/members/{member_id}", h.update_member, methods=["PUT"]),
        Route(image + "/members/{member_id}", h.delete_member, methods=["DELETE"]),
        *metadef_routes(MetadefStore(service.db)),
    ]
