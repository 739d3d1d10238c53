"""Glance's metadata definitions API (``/v2/metadefs/...``) over :class:`MetadefStore`.

The rules and bodies are :mod:`shoal.api.glance.metadefs.catalog` and
:mod:`shoal.api.glance.metadefs.views`; each namespace is one document in the database,
changed atomically. The store applies the policy (:mod:`shoal.services.image.policy`:
reading follows the namespace's visibility, writing is for admins) for the caller each
handler passes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._body import read_json
from shoal.api._context import RequestContext, request_context
from shoal.api.glance.metadefs import catalog as cat
from shoal.api.glance.metadefs import views as mv
from shoal.services import Caller
from shoal.services.image import MetadefStore, policy

__all__ = ["metadef_routes"]

T = TypeVar("T")


class _Namespaces:
    """:class:`MetadefStore` documents as :class:`cat.Namespace` values, off the event loop."""

    def __init__(self, store: MetadefStore) -> None:
        self.store = store
        self.started = datetime.now(UTC)

    async def get(self, caller: Caller, name: str) -> cat.Namespace:
        document = await run_in_threadpool(self.store.get, caller, name)
        return cat.Namespace.from_document(document)

    async def all(self, caller: Caller) -> list[cat.Namespace]:
        docs = await run_in_threadpool(self.store.all, caller)
        return [cat.Namespace.from_document(d) for d in docs]

    async def create(self, caller: Caller, ns: cat.Namespace) -> None:
        await run_in_threadpool(self.store.create, caller, ns.namespace, ns.to_document())

    async def change(self, caller: Caller, name: str,
                     fn: Callable[[cat.Namespace], tuple[cat.Namespace, T]]) -> T:
        def apply(document: dict[str, Any]) -> tuple[str, dict[str, Any], T]:
            new, result = fn(cat.Namespace.from_document(document))
            return new.namespace, new.to_document(), result

        return await run_in_threadpool(self.store.change, caller, name, apply)

    async def delete(self, caller: Caller, name: str) -> None:
        def check(document: dict[str, Any]) -> None:
            cat.check_delete(cat.Namespace.from_document(document))

        await run_in_threadpool(self.store.delete, caller, name, check)


def _now() -> datetime:
    return datetime.now(UTC)


def metadef_routes(metadefs: MetadefStore) -> list[BaseRoute]:
    """Routes under ``/image/v2`` for the metadefs catalog kept in ``metadefs``."""
    store = _Namespaces(metadefs)

    async def visible(request: Request) -> tuple[RequestContext, cat.Namespace]:
        context = await request_context(request)
        return context, await store.get(context.caller(), request.path_params["ns"])

    async def change(request: Request, fn: Callable[[cat.Namespace], tuple[cat.Namespace, Any]]
                     ) -> Any:
        context = await request_context(request)
        return await store.change(context.caller(), request.path_params["ns"], fn)

    async def body(request: Request) -> Any:
        return await read_json(request)

    async def resource_types(request: Request) -> Response:
        await request_context(request)
        return JSONResponse(mv.resource_types_view(store.started))

    async def list_ns(request: Request) -> Response:
        context = await request_context(request)
        shown = await store.all(context.caller())
        types = [t for t in request.query_params.get("resource_types", "").split(",") if t]
        picked = mv.select_namespaces(shown, visibility=request.query_params.get("visibility"),
                                      resource_types=types)
        return JSONResponse(mv.namespaces_view(picked))

    async def create_ns(request: Request) -> Response:
        context = await request_context(request)
        policy.require_namespace_write(context.caller())  # 403 before 400
        ns = cat.parse_namespace(await body(request), project_id=context.project_id,
                                 now=_now())
        await store.create(context.caller(), ns)
        return JSONResponse(mv.namespace_view(ns), status_code=201)

    async def show_ns(request: Request) -> Response:
        _, ns = await visible(request)
        return JSONResponse(mv.namespace_view(ns))

    async def update_ns(request: Request) -> Response:
        data = await body(request)
        new = await change(request, lambda ns: (n := cat.update_namespace(ns, data, _now()), n))
        return JSONResponse(mv.namespace_view(new))

    async def delete_ns(request: Request) -> Response:
        context = await request_context(request)
        await store.delete(context.caller(), request.path_params["ns"])
        return Response(status_code=204)

    async def list_assoc(request: Request) -> Response:
        _, ns = await visible(request)
        return JSONResponse(mv.associations_view(ns))

    async def add_assoc(request: Request) -> Response:
        data = await body(request)
        item = await change(request, lambda ns: cat.add_association(ns, data, _now()))
        return JSONResponse(mv.association_view(item), status_code=201)

    async def del_assoc(request: Request) -> Response:
        name = request.path_params["name"]
        await change(request, lambda ns: (cat.remove_association(ns, name, _now()), None))
        return Response(status_code=204)

    async def list_props(request: Request) -> Response:
        _, ns = await visible(request)
        return JSONResponse(mv.properties_view(ns))

    async def add_prop(request: Request) -> Response:
        data = await body(request)
        item = await change(request, lambda ns: cat.add_property(ns, data, _now()))
        return JSONResponse(mv.property_view(data["name"], item), status_code=201)

    async def show_prop(request: Request) -> Response:
        _, ns = await visible(request)
        name = request.path_params["name"]
        if name not in ns.properties:
            raise errors.NotFound(f"No property named {name}.")
        return JSONResponse(mv.property_view(name, ns.properties[name]))

    async def update_prop(request: Request) -> Response:
        data = await body(request)
        name = request.path_params["name"]

        def fn(ns: cat.Namespace) -> tuple[cat.Namespace, Any]:
            new, new_name, item = cat.update_property(ns, name, data, _now())
            return new, (new_name, item)

        new_name, item = await change(request, fn)
        return JSONResponse(mv.property_view(new_name, item))

    async def del_prop(request: Request) -> Response:
        name = request.path_params["name"]
        await change(request, lambda ns: (cat.remove_property(ns, name, _now()), None))
        return Response(status_code=204)

    async def list_objs(request: Request) -> Response:
        _, ns = await visible(request)
        return JSONResponse(mv.objects_view(ns))

    async def add_obj(request: Request) -> Response:
        data = await body(request)
        _, ns = await visible(request)
        item = await change(request, lambda ns: cat.add_object(ns, data, _now()))
        return JSONResponse(mv.object_view(ns, item), status_code=201)

    async def show_obj(request: Request) -> Response:
        _, ns = await visible(request)
        name = request.path_params["name"]
        if name not in ns.objects:
            raise errors.NotFound(f"No object named {name}.")
        return JSONResponse(mv.object_view(ns, ns.objects[name]))

    async def update_obj(request: Request) -> Response:
        data = await body(request)
        name = request.path_params["name"]
        _, ns = await visible(request)
        item = await change(request, lambda ns: cat.update_object(ns, name, data, _now()))
        return JSONResponse(mv.object_view(ns, item))

    async def del_obj(request: Request) -> Response:
        name = request.path_params["name"]
        await change(request, lambda ns: (cat.remove_object(ns, name, _now()), None))
        return Response(status_code=204)

    async def list_tags(request: Request) -> Response:
        _, ns = await visible(request)
        return JSONResponse(mv.tags_view(ns.tags.values()))

    async def put_tags(request: Request) -> Response:
        data = await body(request)
        append = request.headers.get("x-openstack-append", "").lower() == "true"
        added = await change(request, lambda ns: cat.replace_tags(ns, data, _now(),
                                                                  append=append))
        return JSONResponse(mv.tags_view(added), status_code=201)

    async def clear(request: Request) -> Response:
        await change(request, lambda ns: (cat.clear_tags(ns, _now()), None))
        return Response(status_code=204)

    async def add_tag(request: Request) -> Response:
        name = request.path_params["name"]
        item = await change(request, lambda ns: cat.add_tag(ns, name, _now()))
        return JSONResponse(mv.tag_view(item), status_code=201)

    async def show_tag(request: Request) -> Response:
        _, ns = await visible(request)
        name = request.path_params["name"]
        if name not in ns.tags:
            raise errors.NotFound(f"No tag named {name}.")
        return JSONResponse(mv.tag_view(ns.tags[name]))

    async def update_tag(request: Request) -> Response:
        data = await body(request)
        name = request.path_params["name"]
        item = await change(request, lambda ns: cat.update_tag(ns, name, data, _now()))
        return JSONResponse(mv.tag_view(item))

    async def del_tag(request: Request) -> Response:
        name = request.path_params["name"]
        await change(request, lambda ns: (cat.remove_tag(ns, name, _now()), None))
        return Response(status_code=204)

    ns = "/metadefs/namespaces/{ns}"
    return [
        Route("/metadefs/resource_types", resource_types, methods=["GET"]),
        Route("/metadefs/namespaces", list_ns, methods=["GET"]),
        Route("/metadefs/namespaces", create_ns, methods=["POST"]),
        Route(ns, show_ns, methods=["GET"]),
        Route(ns, update_ns, methods=["PUT"]),
        Route(ns, delete_ns, methods=["DELETE"]),
        Route(ns + "/resource_types", list_assoc, methods=["GET"]),
        Route(ns + "/resource_types", add_assoc, methods=["POST"]),
        Route(ns + "/resource_types/{name}", del_assoc, methods=["DELETE"]),
        Route(ns + "/properties", list_props, methods=["GET"]),
        Route(ns + "/properties", add_prop, methods=["POST"]),
        Route(ns + "/properties/{name}", show_prop, methods=["GET"]),
        Route(ns + "/properties/{name}", update_prop, methods=["PUT"]),
        Route(ns + "/properties/{name}", del_prop, methods=["DELETE"]),
        Route(ns + "/objects", list_objs, methods=["GET"]),
        Route(ns + "/objects", add_obj, methods=["POST"]),
        Route(ns + "/objects/{name}", show_obj, methods=["GET"]),
        Route(ns + "/objects/{name}", update_obj, methods=["PUT"]),
        Route(ns + "/objects/{name}", del_obj, methods=["DELETE"]),
        Route(ns + "/tags", list_tags, methods=["GET"]),
        Route(ns + "/tags", put_tags, methods=["POST"]),
        Route(ns + "/tags", clear, methods=["DELETE"]),
        Route(ns + "/tags/{name}", show_tag, methods=["GET"]),
        Route(ns + "/tags/{name}", add_tag, methods=["POST"]),
        Route(ns + "/tags/{name}", update_tag, methods=["PUT"]),
        Route(ns + "/tags/{name}", del_tag, methods=["DELETE"]),
    ]
