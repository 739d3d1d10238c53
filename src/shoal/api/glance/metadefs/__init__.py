"""Glance's metadata definitions (``/v2/metadefs``, ``/v2/schemas/metadefs``).

- :mod:`.schemas`: the ten ``/v2/schemas/metadefs/...`` bodies.
- :mod:`.catalog`: a namespace as one stored document and every change to it (resource
  type associations, properties, objects, tags), with its policy. Pure.
- :mod:`.views`: metadefs rendered as Glance's bodies. Pure.
- :mod:`.routes`: the HTTP routes over :class:`shoal.services.image.MetadefStore`, which
  keeps each namespace as one document in the database.
"""
