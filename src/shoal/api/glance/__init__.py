"""Glance v2 images API: the parts that need no HTTP framework and no database.

The image service's routes call these; each module is pure (records in, records or
JSON-ready dicts out, :class:`~shoal.errors.ShoalError` subclasses for refusals):

- :mod:`.options`: :class:`ImageApiOptions`, the deployment options with upstream's
  defaults.
- :mod:`.records`: :class:`ImageRecord`, :class:`Location`, :class:`MemberRecord`.
- :mod:`.schemas`: the four ``/v2/schemas/...`` bodies, read-only/reserved attribute
  sets, value validation.
- :mod:`.metadefs`: the ten ``/v2/schemas/metadefs/...`` bodies.
- :mod:`.metadef_catalog`: ``/v2/metadefs/...``: a namespace as one stored document and
  every change to it (resource type associations, properties, objects, tags), policy.
- :mod:`.metadef_views`: metadefs rendered as Glance's bodies.
- :mod:`.create`: ``POST /v2/images`` body → :class:`NewImage`.
- :mod:`.patch`: ``PATCH /v2/images/{id}`` JSON-patch → :class:`PatchResult`.
- :mod:`.query`: ``GET /v2/images`` query → :class:`ImageQuery`; filter, sort, page.
- :mod:`.views`: records → Glance's JSON bodies.
- :mod:`.status`: the status machine; upload, download, (de)activate, delete rules.
- :mod:`.tags`: ``PUT``/``DELETE /v2/images/{id}/tags/{tag}``.
- :mod:`.members`: image sharing bodies and permissions.
- :mod:`.errors`: the 409, 413 and 415 refusals.
"""
