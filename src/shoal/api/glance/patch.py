"""``PATCH /v2/images/{id}``: parse a JSON-patch body and apply it to an image record.

Two media types, as upstream (anything else is 415 with ``Accept-Patch``):

- ``application/openstack-images-v2.1-json-patch`` (what the clients send): a list of
  ``{"op": "add"|"remove"|"replace", "path": "/name", "value": ...}``. ``add`` on an
  attribute or property that exists replaces it (``openstack image set --property``
  relies on that).
- ``application/openstack-images-v2.0-json-patch`` (legacy): ``{"replace": "/name",
  "value": ...}``; there ``add`` on an existing key is 409.

RFC 6902's ``test``, ``move`` and ``copy`` are refused (400), as Glance does. A path
names one top-level attribute (``/name``, ``/tags``, ``/hw_disk_bus``); only locations
take a position (``/locations/-``, ``/locations/0``). ``~1`` and ``~0`` decode to ``/``
and ``~``.

Answers, in the order they are checked:

====  ==============================================================================
400   body not a list of objects; unknown op; bad or nested pointer; missing value;
      a value of the wrong type or range (``min_disk`` -1, ``visibility`` "x", a tag
      of 256 characters...); a disk/container format missing when locations make a
      queued image active
403   read-only (``id``, ``status``, ``size``, ``checksum``...) or reserved (``deleted``,
      ``os_glance*``) attribute; removing a core attribute; a non-admin changing
      ``owner`` or making the image ``public``; changing a format once the image has
      data; any location operation while ``show_multiple_locations`` is off
409   ``replace``/``remove`` of a property that does not exist; legacy ``add`` of one
      that does; a location operation in a status that forbids it
413   more properties, tags or locations than the quota allows
====  ==============================================================================

Parsing (:func:`parse_patch`) checks everything that does not depend on the image;
:func:`apply_patch` applies the operations in order to a copy and returns the new
record with what changed. Any error leaves nothing changed: the input is never mutated.
Who may patch the image at all (owner or admin) is the caller's check.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from shoal.api._errors import BadRequest
from shoal.api.glance import schemas
from shoal.api.glance.errors import (
    PATCH_MEDIA_TYPES,
    ImageConflict,
    LimitExceeded,
    UnsupportedPatch,
)
from shoal.api.glance.options import ImageApiOptions, quota_exceeded
from shoal.errors import PermissionDenied
from shoal.services.image.records import ImageRecord, Location

__all__ = [
    "PatchOperation",
    "PatchResult",
    "apply_patch",
    "parse_patch",
    "patch_image",
]

Op = Literal["add", "remove", "replace"]
OPERATIONS: Final[tuple[Op, ...]] = ("add", "remove", "replace")
_LEGACY_MEDIA_TYPE, _MEDIA_TYPE = PATCH_MEDIA_TYPES
#: Path lengths allowed per attribute and operation (others: 1).
_PATH_DEPTHS: Final[Mapping[str, Mapping[str, int]]] = {
    "locations": {"add": 2, "remove": 2, "replace": 1},
}
_MD5_BYTES: Final = 16
#: Statuses in which a format may still change (the data is not there yet).
_FORMAT_MUTABLE_STATUSES: Final = frozenset({"queued", "importing"})


@dataclass(frozen=True)
class PatchOperation:
    """One parsed, validated change.

    Attributes:
        op: ``add``, ``remove`` or ``replace``.
        path: the decoded pointer, e.g. ``("name",)`` or ``("locations", "-")``.
        value: the new value (None for ``remove``).
        legacy: from the v2.0 media type (its ``add`` refuses existing keys).
    """

    op: Op
    path: tuple[str, ...]
    value: Any = None
    legacy: bool = False

    @property
    def attribute(self) -> str:
        """The top-level attribute or property the operation changes."""
        return self.path[0]


@dataclass(frozen=True)
class PatchResult:
    """The outcome of :func:`apply_patch`.

    Attributes:
        image: the image after the patch (``updated_at`` untouched: the caller sets it).
        changed: core attributes whose value changed (``name``, ``tags``, ``locations``,
            ``status``, ``checksum``...); free properties are reported apart.
        properties_set: free properties added or given a new value.
        properties_removed: free properties removed.
        locations_removed: locations dropped, whose data the caller must delete.
    """

    image: ImageRecord
    changed: frozenset[str] = frozenset()
    properties_set: Mapping[str, str] = field(default_factory=dict)
    properties_removed: frozenset[str] = frozenset()
    locations_removed: tuple[Location, ...] = ()

    @property
    def is_noop(self) -> bool:
        """True when the patch changed nothing."""
        return not (self.changed or self.properties_set or self.properties_removed)


# --- parsing --------------------------------------------------------------------------


def media_type_of(content_type: str | None) -> str:
    """The bare media type of a ``Content-Type`` value (parameters dropped, lower case)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_patch(
    body: Any, content_type: str | None, options: ImageApiOptions
) -> tuple[PatchOperation, ...]:
    """Parse and validate a PATCH body (already decoded from JSON).

    Raises:
        UnsupportedPatch: ``content_type`` is not a JSON-patch type Glance speaks (415).
        BadRequest: malformed body, operation, pointer or value (400).
        PermissionDenied: an operation writes a read-only or reserved attribute (403).
    """
    media_type = media_type_of(content_type)
    if media_type not in PATCH_MEDIA_TYPES:
        raise UnsupportedPatch(media_type or "(none)")
    legacy = media_type == _LEGACY_MEDIA_TYPE
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    operations = []
    for index, raw in enumerate(body):
        if not isinstance(raw, dict):
            raise BadRequest(f"Operation {index} is not a JSON object.")
        operations.append(_parse_operation(index, raw, legacy, options))
    return tuple(operations)


def _parse_operation(
    index: int, raw: Mapping[str, Any], legacy: bool, options: ImageApiOptions
) -> PatchOperation:
    op, pointer = _legacy_op_and_path(index, raw) if legacy else _op_and_path(index, raw)
    path = decode_pointer(pointer)
    depth = _PATH_DEPTHS.get(path[0], {}).get(op, 1)
    if len(path) != depth:
        raise BadRequest(f"Invalid JSON pointer for this resource: {pointer!r}.")
    if op != "remove" and "value" not in raw:
        raise BadRequest(f'Operation {index} ("{op}") requires a member named "value".')
    operation = PatchOperation(op, path, raw.get("value"), legacy)
    schemas.check_writable(operation.attribute)
    if op != "remove":
        if len(path) == 1:
            _validate_value(operation.attribute, operation.value, options)
        else:
            schemas.validate_location(operation.value, options)
    return operation


def _validate_value(name: str, value: Any, options: ImageApiOptions) -> None:
    if value is None and name in schemas.nullable_properties():
        return
    schemas.validate_attribute(name, value, options)


def _op_and_path(index: int, raw: Mapping[str, Any]) -> tuple[Op, str]:
    choices = ", ".join(OPERATIONS)
    if "op" not in raw:
        raise BadRequest(f"Operation {index} has no 'op' member: give one of {choices}.")
    op = raw["op"]
    if op not in OPERATIONS:
        raise BadRequest(f"Invalid operation {op!r}: it must be one of {choices}.")
    pointer = raw.get("path")
    if not isinstance(pointer, str):
        raise BadRequest(f"Operation {index} needs a 'path' member holding a JSON pointer.")
    return op, pointer


def _legacy_op_and_path(index: int, raw: Mapping[str, Any]) -> tuple[Op, str]:
    present = [op for op in OPERATIONS if op in raw]
    if len(present) != 1:
        raise BadRequest(
            f"Operation {index} must contain exactly one member named \"add\", \"remove\""
            " or \"replace\" (the v2.0 patch format)."
        )
    op = present[0]
    pointer = raw[op]
    if not isinstance(pointer, str):
        raise BadRequest(f"Operation {index}: the {op!r} member must be a JSON pointer.")
    return op, pointer


def decode_pointer(pointer: str) -> tuple[str, ...]:
    """Split a JSON pointer into its decoded parts (``"/a~1b"`` → ``("a/b",)``).

    Each part is stripped of surrounding blanks, as Glance does.

    Raises:
        BadRequest: the pointer does not start with ``/``, has an empty part, ends with
            ``/``, or holds a ``~`` that is not ``~0`` or ``~1`` (400).
    """
    if not pointer.startswith("/"):
        raise BadRequest(f"Pointer {pointer!r} does not start with \"/\".")
    parts = pointer[1:].split("/")
    if len(parts) > 1 and any(not part.strip() for part in parts):
        raise BadRequest(f"Pointer {pointer!r} has an empty part (adjacent or trailing \"/\").")
    decoded = []
    for part in parts:
        if any(part[i + 1 : i + 2] not in ("0", "1") for i, c in enumerate(part) if c == "~"):
            raise BadRequest(
                f"Pointer {pointer!r} holds a \"~\" that is not \"~0\" or \"~1\"."
            )
        decoded.append(part.replace("~1", "/").replace("~0", "~").strip())
    return tuple(decoded)


# --- applying -------------------------------------------------------------------------


@dataclass
class _Draft:
    """The mutable copy a patch works on."""

    fields: dict[str, Any]
    properties: dict[str, str]
    locations: list[Location]
    locations_removed: list[Location] = field(default_factory=list)

    @classmethod
    def of(cls, image: ImageRecord) -> _Draft:
        names = [f.name for f in dataclasses.fields(image)]
        fields = {name: getattr(image, name) for name in names
                  if name not in ("properties", "locations")}
        return cls(fields, dict(image.properties), list(image.locations))

    def build(self, image: ImageRecord) -> ImageRecord:
        return dataclasses.replace(
            image, **self.fields, properties=self.properties, locations=tuple(self.locations)
        )


def apply_patch(
    image: ImageRecord,
    operations: Sequence[PatchOperation],
    options: ImageApiOptions,
    *,
    is_admin: bool,
) -> PatchResult:
    """Apply ``operations`` in order to a copy of ``image``.

    Args:
        image: the image as stored; never changed.
        operations: from :func:`parse_patch`.
        options: the deployment's options (quotas, ``show_multiple_locations``...).
        is_admin: whether the caller is an admin (``owner``, ``public``, removing
            locations).

    Raises:
        BadRequest, PermissionDenied, ImageConflict, LimitExceeded: see the module
            docstring (400, 403, 409, 413).
    """
    draft = _Draft.of(image)
    for operation in operations:
        if operation.attribute == "locations":
            _apply_location_operation(draft, operation, options, is_admin=is_admin)
        else:
            _apply_attribute_operation(draft, operation, is_admin=is_admin)
    new_image = draft.build(image)
    _check_quotas(image, new_image, options)
    return _result(image, new_image, draft.locations_removed)


def patch_image(
    image: ImageRecord,
    body: Any,
    content_type: str | None,
    options: ImageApiOptions,
    *,
    is_admin: bool,
) -> PatchResult:
    """:func:`parse_patch` then :func:`apply_patch`: the whole PATCH in one call."""
    operations = parse_patch(body, content_type, options)
    return apply_patch(image, operations, options, is_admin=is_admin)


def _result(old: ImageRecord, new: ImageRecord, removed: Sequence[Location]) -> PatchResult:
    changed = frozenset(
        f.name for f in dataclasses.fields(old)
        if f.name != "properties" and getattr(old, f.name) != getattr(new, f.name)
    )
    properties_set = {key: value for key, value in new.properties.items()
                      if old.properties.get(key) != value}
    properties_removed = frozenset(old.properties.keys() - new.properties.keys())
    kept_urls = {location.url for location in new.locations}
    return PatchResult(
        image=new,
        changed=changed,
        properties_set=properties_set,
        properties_removed=properties_removed,
        locations_removed=tuple(loc for loc in removed if loc.url not in kept_urls),
    )


def _check_quotas(old: ImageRecord, new: ImageRecord, options: ImageApiOptions) -> None:
    counts = (
        ("properties", len(old.properties), len(new.properties), options.image_property_quota),
        ("tags", len(old.tags), len(new.tags), options.image_tag_quota),
        ("locations", len(old.locations), len(new.locations), options.image_location_quota),
    )
    for what, before, after, quota in counts:
        if after > before and quota_exceeded(quota, after):
            raise LimitExceeded(what, after, quota)


def _apply_attribute_operation(
    draft: _Draft, operation: PatchOperation, *, is_admin: bool
) -> None:
    name = operation.attribute
    is_core = name in schemas.BASE_ATTRIBUTES
    if operation.op == "remove":
        if is_core:
            raise PermissionDenied(f"Property {name} may not be removed.")
        if name not in draft.properties:
            raise ImageConflict(f"Property {name} does not exist.")
        del draft.properties[name]
        return
    exists = is_core or name in draft.properties
    if operation.op == "replace" and not exists:
        raise ImageConflict(f"Property {name} does not exist.")
    if operation.op == "add" and operation.legacy and exists:
        raise ImageConflict(f"Property {name} already present.")
    if is_core:
        _set_core(draft, name, operation.value, is_admin=is_admin)
    elif operation.value is None:
        draft.properties.pop(name, None)  # a nullable property set to null: not stored
    else:
        draft.properties[name] = operation.value


def _set_core(draft: _Draft, name: str, value: Any, *, is_admin: bool) -> None:
    current = draft.fields[name]
    if name == "owner" and not is_admin and value != current:
        raise PermissionDenied("Only an admin may change the owner of an image.")
    if name == "visibility" and value == "public" and current != "public" and not is_admin:
        raise PermissionDenied("Only an admin may make an image public.")
    if (name in ("disk_format", "container_format") and value != current
            and draft.fields["status"] not in _FORMAT_MUTABLE_STATUSES):
        raise PermissionDenied(
            f"Attribute {name} can only be changed while the image is queued (its status"
            f" is {draft.fields['status']})."
        )
    if name == "tags":
        value = tuple(dict.fromkeys(value))
    draft.fields[name] = value


# --- locations ------------------------------------------------------------------------


def _apply_location_operation(
    draft: _Draft, operation: PatchOperation, options: ImageApiOptions, *, is_admin: bool
) -> None:
    if operation.op == "replace" and not operation.value:
        raise PermissionDenied("Cannot set locations to an empty list.")
    if operation.op == "remove" and not is_admin:
        raise PermissionDenied("Only an admin may remove an image location.")
    if not options.show_multiple_locations:
        raise PermissionDenied(
            f"Not allowed to {operation.op} locations while locations are hidden"
            " (show_multiple_locations is off)."
        )
    status = draft.fields["status"]
    allowed = ("active",) if operation.op == "remove" else ("active", "queued")
    if status not in allowed:
        raise ImageConflict(
            f"Not allowed to {operation.op} locations of an image in status {status}."
        )
    if operation.op == "remove":
        _remove_location(draft, operation.path[1])
        return
    values = operation.value if operation.op == "replace" else [operation.value]
    validation = _validation_data(draft, values, options)
    new = [Location(v["url"], v["metadata"]) for v in values]
    if operation.op == "replace":
        _replace_locations(draft, new)
    else:
        _insert_location(draft, operation.path[1], new[0])
    if status == "queued":
        _activate(draft, validation)


def _replace_locations(draft: _Draft, new: list[Location]) -> None:
    urls = [location.url for location in new]
    if len(set(urls)) != len(urls):
        raise BadRequest("The same location URL is given twice.")
    if draft.locations and sorted(urls) != sorted(loc.url for loc in draft.locations):
        raise BadRequest(
            "The image already has locations: a replace may only change their metadata,"
            " not their URLs."
        )
    draft.locations = new


def _insert_location(draft: _Draft, position: str, location: Location) -> None:
    count = len(draft.locations)
    index = count if position == "-" else _position(position)
    if index is None or index > count:
        raise BadRequest(
            f"Invalid position {position!r} for adding a location: give 0..{count} or -."
        )
    if any(existing.url == location.url for existing in draft.locations):
        raise BadRequest(f"The location {location.url} already exists.")
    draft.locations.insert(index, location)


def _remove_location(draft: _Draft, position: str) -> None:
    count = len(draft.locations)
    if count == 1:
        raise PermissionDenied("Cannot remove the last location of an image.")
    index = count - 1 if position == "-" else _position(position)
    if index is None or not 0 <= index < count:
        raise BadRequest(
            f"Invalid position {position!r} for removing a location: give"
            f" 0..{count - 1} or -."
        )
    draft.locations_removed.append(draft.locations.pop(index))


def _position(text: str) -> int | None:
    return int(text) if text.isdigit() and text.isascii() else None


def _activate(draft: _Draft, validation: Mapping[str, str]) -> None:
    missing = [name for name in ("disk_format", "container_format") if not draft.fields[name]]
    if missing:
        noun = "Property" if len(missing) == 1 else "Properties"
        raise BadRequest(f"{noun} {', '.join(missing)} must be set prior to saving data.")
    draft.fields.update(validation)
    draft.fields["status"] = "active"


def _validation_data(
    draft: _Draft, values: Sequence[Mapping[str, Any]], options: ImageApiOptions
) -> dict[str, str]:
    """The checksums the locations' ``validation_data`` brings that the image lacks.

    Raises:
        ImageConflict: the locations disagree, contradict the image's checksums, bring
            new ones for an image that is not queued, or bring malformed ones (409).
    """
    given: dict[str, str] = {}
    for value in values:
        for key, item in value.get("validation_data", {}).items():
            if given.get(key, item) != item:
                raise ImageConflict(f"Conflicting values for {key} in validation_data.")
            given[key] = item
    new: dict[str, str] = {}
    for key, item in given.items():
        current = draft.fields[key]
        if item == current:
            continue
        if current:
            raise ImageConflict(f"{key} is already set with a different value.")
        new[key] = item
    if new and draft.fields["status"] != "queued":
        raise ImageConflict(
            f"New value(s) for {', '.join(sorted(new))} may only be given while the image"
            " is queued."
        )
    _check_digests(new, options)
    return new


def _check_digests(new: Mapping[str, str], options: ImageApiOptions) -> None:
    if "checksum" in new:
        _check_hex("checksum", new["checksum"], _MD5_BYTES)
    if "os_hash_algo" in new and new["os_hash_algo"] != options.hashing_algorithm:
        raise ImageConflict(
            f"os_hash_algo must be {options.hashing_algorithm}, not {new['os_hash_algo']}."
        )
    if "os_hash_value" in new:
        size = hashlib.new(options.hashing_algorithm).digest_size
        _check_hex("os_hash_value", new["os_hash_value"], size)


def _check_hex(name: str, value: str, size_bytes: int) -> None:
    try:
        digest = bytes.fromhex(value)
    except ValueError:
        raise ImageConflict(f"{name} ({value}) is not a hexadecimal value.") from None
    if len(digest) != size_bytes:
        raise ImageConflict(f"{name} ({value}) must be {size_bytes} bytes long.")
