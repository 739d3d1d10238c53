"""Glance v2 images API: the routes, and the pure rules they call.

Every module but :mod:`.routes`, :mod:`.data` and :mod:`.metadefs.routes` is pure (records
in, records or JSON-ready dicts out, :class:`~shoal.errors.ShoalError` subclasses for
refusals), with no HTTP framework and no database:

- :mod:`.routes`: the ``/v2/images`` and ``/v2/schemas`` routes (HTTP, over
  :class:`shoal.services.image.ImageService`); :mod:`.data`: upload and download
  streaming between the request and the (blocking) store.
- :mod:`.options`: :class:`ImageApiOptions`, the deployment options with upstream's
  defaults.
- :mod:`.schemas`: the four ``/v2/schemas/...`` image bodies, read-only/reserved
  attribute sets, value validation.
- :mod:`.create`: ``POST /v2/images`` body → :class:`NewImage`.
- :mod:`.patch`: ``PATCH /v2/images/{id}`` JSON-patch → :class:`PatchResult`.
- :mod:`.query`: ``GET /v2/images`` query → :class:`ImageQuery`; filter, sort, page.
- :mod:`.views`: records → Glance's JSON bodies.
- :mod:`.tags`: ``PUT``/``DELETE /v2/images/{id}/tags/{tag}``.
- :mod:`.members`: image sharing bodies and permissions.
- :mod:`.errors`: the 409, 413 and 415 refusals.
- :mod:`.metadefs`: the metadata definitions API (``/v2/metadefs``): its schemas,
  catalog rules, views and routes.

Records and the status machine live in :mod:`shoal.services.image` (``records``,
``status``).
"""
