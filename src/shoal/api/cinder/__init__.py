"""Cinder v3 volume API: the parts that need no HTTP framework and no database.

The volume service's routes call these; each module is pure (records in, records or
JSON-ready dicts out, :class:`~shoal.errors.ShoalError` subclasses for refusals):

- :mod:`.microversions`: the versions that change bodies (``GROUP_VOLUME`` = 3.13...),
  :func:`~.microversions.require_version` (404 before a call exists).
- :mod:`.options`: :class:`~.options.VolumeApiOptions`, the deployment options with
  upstream's defaults (page size, resource filters...).
- :mod:`.viewcontext`: :class:`~.viewcontext.ViewContext` (version, admin, project,
  endpoint), links and Cinder's timestamp format.
- :mod:`.views`: volumes, snapshots, backups, attachments → Cinder's bodies, per
  microversion and role.
- :mod:`.service_views`: volume types, ``os-services``, limits, availability zones.
- :mod:`.create`: ``POST /volumes``, ``/snapshots``, ``/backups``, ``/attachments``,
  backup restore.
- :mod:`.update`: ``PUT`` of volumes, snapshots, backups, attachments, volume types;
  metadata.
- :mod:`.actions`: ``POST .../action`` bodies of volumes, snapshots, backups,
  attachments.
- :mod:`.query`: list query strings → :class:`~.query.ListQuery`; filter, sort, page.

Records live in :mod:`shoal.services.volume.records`.
"""
