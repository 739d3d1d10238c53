"""The JSON schemas Glance serves, the attribute rules they imply, and value validation.

``GET /v2/schemas/image``, ``/v2/schemas/images``, ``/v2/schemas/member`` and
``/v2/schemas/members`` answer :func:`image_schema`, :func:`images_schema`,
:func:`member_schema` and :func:`members_schema`. glanceclient builds its models from
them: it needs ``additionalProperties: {"type": "string"}`` in the image schema to show
and set free properties (``hw_disk_bus``...), and it validates a request client-side
against the schema before sending it.

The image schema holds Glance's base properties and the properties Glance's default
``schema-image.json`` adds (``kernel_id``, ``os_distro``...), plus the ones the Ceph
guide sets on images (``hw_scsi_model``, ``hw_disk_bus``, ``hw_qemu_guest_agent``,
``os_require_quiesce``), all strings and marked ``"is_base": false`` (glanceclient
then patches them with ``add``, not ``replace``, when an image lacks them).

The attribute sets say what a client may write:

- :data:`READ_ONLY_ATTRIBUTES`: the server computes them; writing one is 403
  ("Attribute 'size' is read-only."). On create, ``id`` may be given.
- :data:`RESERVED_ATTRIBUTES` and every name starting with :data:`RESERVED_NAMESPACE`
  (``os_glance``): Glance keeps them for itself; writing one is 403.
- :data:`BASE_ATTRIBUTES`: the writable core attributes; they cannot be removed.
- anything else is a free property: a string of at most
  :data:`PROPERTY_VALUE_LENGTH_MAX` characters under a name of at most
  :data:`PROPERTY_NAME_LENGTH_MAX`.

:func:`validate_attribute` checks one value against its schema as Glance does
(``jsonschema``, 400 "Provided object does not match schema 'image': <reason>"), then
shoal's bounds beyond the schema (400 "Invalid value for '<name>': ...").
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, Final

from shoal.api._errors import BadRequest
from shoal.api._validation import GLANCE
from shoal.api.glance.options import ImageApiOptions
from shoal.errors import PermissionDenied
from shoal.services.image.records import IMAGE_STATUSES, INT32_MAX, MEMBER_STATUSES, VISIBILITIES

__all__ = [
    "BASE_ATTRIBUTES",
    "CREATE_READ_ONLY_ATTRIBUTES",
    "HIDDEN_PROPERTIES",
    "PROPERTY_NAME_LENGTH_MAX",
    "PROPERTY_VALUE_LENGTH_MAX",
    "READ_ONLY_ATTRIBUTES",
    "RESERVED_ATTRIBUTES",
    "RESERVED_NAMESPACE",
    "check_writable",
    "image_schema",
    "images_schema",
    "is_reserved",
    "member_schema",
    "members_schema",
    "nullable_properties",
    "schema_problem",
    "schema_refusal",
    "validate_attribute",
    "validate_location",
]

#: Computed by the server; a client writing one gets 403.
READ_ONLY_ATTRIBUTES: Final = frozenset({
    "id", "status", "created_at", "updated_at", "checksum", "os_hash_algo",
    "os_hash_value", "size", "virtual_size", "direct_url", "self", "file", "schema",
    "stores",
})
#: Read-only on create: a client may choose the new image's ``id``.
CREATE_READ_ONLY_ATTRIBUTES: Final = READ_ONLY_ATTRIBUTES - {"id"}
#: Names Glance keeps for itself (403 "reserved").
RESERVED_ATTRIBUTES: Final = frozenset({"location", "deleted", "deleted_at"})
#: Every name with this prefix is reserved (Glance's own bookkeeping properties).
RESERVED_NAMESPACE: Final = "os_glance"
#: The writable core attributes (not free properties): they exist on every image.
BASE_ATTRIBUTES: Final = frozenset({
    "name", "visibility", "protected", "os_hidden", "owner", "disk_format",
    "container_format", "min_disk", "min_ram", "tags", "locations",
})
#: Free properties never shown to clients.
HIDDEN_PROPERTIES: Final = frozenset({"os_glance_stage_host"})
#: Longest free-property name (Glance's column is 255 characters).
PROPERTY_NAME_LENGTH_MAX: Final = 255
#: Longest free-property value (a MySQL TEXT column; Glance itself sets no bound).
PROPERTY_VALUE_LENGTH_MAX: Final = 65535

_UUID_PATTERN: Final = (
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
)
_FREE_PROPERTY: Final[Mapping[str, Any]] = {"type": "string"}


def _base_properties(options: ImageApiOptions) -> dict[str, Any]:
    def read_only(kind: Any, text: str, **extra: Any) -> dict[str, Any]:
        return {"type": kind, "readOnly": True, "description": text, **extra}

    return {
        "id": {"type": "string", "description": "The image's UUID.", "pattern": _UUID_PATTERN},
        "name": {"type": ["null", "string"], "description": "A name for the image.",
                 "maxLength": 255},
        "status": read_only("string", "Where the image is in its lifecycle.",
                            enum=list(IMAGE_STATUSES)),
        "visibility": {"type": "string", "description": "Who may see and use the image.",
                       "enum": list(VISIBILITIES)},
        "protected": {"type": "boolean",
                      "description": "When true the image cannot be deleted."},
        "os_hidden": {"type": "boolean",
                      "description": "When true the image is left out of default listings."},
        "checksum": read_only(["null", "string"], "MD5 hex digest of the image data.",
                              maxLength=32),
        "os_hash_algo": read_only(["null", "string"],
                                  "hashlib name of the algorithm of os_hash_value.",
                                  maxLength=64),
        "os_hash_value": read_only(["null", "string"],
                                   "Hex digest of the image data with os_hash_algo.",
                                   maxLength=128),
        "owner": {"type": ["null", "string"], "description": "The owning project's id.",
                  "maxLength": 255},
        "size": read_only(["null", "integer"], "Size of the image data in bytes."),
        "virtual_size": read_only(["null", "integer"],
                                  "Size of the disk the data describes, in bytes."),
        "container_format": {"type": ["null", "string"],
                             "description": "Format of the container around the disk.",
                             "enum": [None, *options.container_formats]},
        "disk_format": {"type": ["null", "string"], "description": "Format of the disk.",
                        "enum": [None, *options.disk_formats]},
        "created_at": read_only("string", "When the image was created (ISO 8601, UTC)."),
        "updated_at": read_only("string", "When the image last changed (ISO 8601, UTC)."),
        "tags": {"type": "array", "description": "Strings attached to the image.",
                 "items": {"type": "string", "maxLength": 255}},
        "direct_url": read_only("string", "URL of the image data in its store."),
        "min_ram": {"type": "integer", "description": "MiB of RAM the image needs to boot."},
        "min_disk": {"type": "integer", "description": "GiB of disk the image needs to boot."},
        "self": read_only("string", "The image's URL."),
        "file": read_only("string", "The URL of the image's data."),
        "stores": read_only("string", "Comma-separated ids of the stores holding the data."),
        "schema": read_only("string", "The URL of this schema."),
        "locations": {
            "type": "array",
            "description": "URLs of the image data in external stores.",
            "items": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "maxLength": 255},
                    "metadata": {"type": "object"},
                    "validation_data": {
                        "description": "Checksums for a queued image's data; for any"
                                       " other image they must equal the image's own.",
                        "type": "object",
                        "writeOnly": True,
                        "additionalProperties": False,
                        "properties": {
                            "checksum": {"type": "string", "minLength": 32, "maxLength": 32},
                            "os_hash_algo": {"type": "string", "maxLength": 64},
                            "os_hash_value": {"type": "string", "maxLength": 128},
                        },
                        "required": ["os_hash_algo", "os_hash_value"],
                    },
                },
                "required": ["url", "metadata"],
            },
        },
    }


def _custom_properties() -> dict[str, Any]:
    def text(description: str) -> dict[str, Any]:
        return {"type": "string", "description": description}

    return {
        "kernel_id": {"type": ["null", "string"], "pattern": _UUID_PATTERN,
                      "description": "Image id of the kernel of an AMI-style image."},
        "ramdisk_id": {"type": ["null", "string"], "pattern": _UUID_PATTERN,
                       "description": "Image id of the ramdisk of an AMI-style image."},
        "instance_uuid": text("The server this image was taken from (informational)."),
        "architecture": text("CPU architecture the image needs, e.g. x86_64."),
        "os_distro": text("Operating system distribution, e.g. ubuntu."),
        "os_version": text("Operating system version, as its distributor names it."),
        "description": text("A description of the image."),
        "hw_scsi_model": text("SCSI controller model for the guest; the Ceph guide sets"
                              " virtio-scsi (needed for discard on RBD)."),
        "hw_disk_bus": text("Bus the guest's disks attach to, e.g. scsi or virtio."),
        "hw_qemu_guest_agent": text("yes to give the guest a QEMU guest agent channel."),
        "os_require_quiesce": text("yes to freeze the guest's filesystems for snapshots"
                                   " (needs the guest agent)."),
    }


def _image_properties(options: ImageApiOptions) -> dict[str, Any]:
    properties = _base_properties(options)
    custom = _custom_properties()
    assert not properties.keys() & custom.keys(), "custom properties must not shadow base ones"
    for schema in custom.values():
        # glanceclient patches a schema property the image lacks with "replace" unless
        # it is marked non-base; upstream marks schema-image.json's properties so.
        schema["is_base"] = False
    properties.update(custom)
    return properties


@functools.lru_cache(maxsize=8)
def _property_schemas(options: ImageApiOptions) -> Mapping[str, Any]:
    """The image schema's properties, built once per options (read them, never change them)."""
    return _image_properties(options)


def image_schema(options: ImageApiOptions) -> dict[str, Any]:
    """The body of ``GET /v2/schemas/image`` (a fresh dict the caller may change)."""
    return {
        "name": "image",
        "properties": _image_properties(options),
        "additionalProperties": dict(_FREE_PROPERTY),
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def _collection(name: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "properties": {
            name: {"type": "array", "items": item},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def images_schema(options: ImageApiOptions) -> dict[str, Any]:
    """The body of ``GET /v2/schemas/images``: a page of images and its links."""
    return _collection("images", image_schema(options))


def member_schema() -> dict[str, Any]:
    """The body of ``GET /v2/schemas/member``."""
    return {
        "name": "member",
        "properties": {
            "member_id": {"type": "string",
                          "description": "The project the image is shared with."},
            "image_id": {"type": "string", "description": "The shared image's UUID.",
                         "pattern": _UUID_PATTERN},
            "created_at": {"type": "string",
                           "description": "When the membership was created."},
            "updated_at": {"type": "string",
                           "description": "When the membership last changed."},
            "status": {"type": "string",
                       "description": "Whether the project took the image.",
                       "enum": list(MEMBER_STATUSES)},
            "schema": {"type": "string", "readOnly": True},
        },
        "additionalProperties": False,
    }


def members_schema() -> dict[str, Any]:
    """The body of ``GET /v2/schemas/members``."""
    return _collection("members", member_schema())


# --- validation ---------------------------------------------------------------------

def schema_problem(schema: Mapping[str, Any], value: Any) -> str | None:
    """What is wrong with ``value`` under ``schema``, or None when it conforms.

    The check is Glance's: ``jsonschema`` with the newest draft, no format checks, and
    the best-matching error's reason (``"-5 is less than the minimum of 0"``). Beyond the
    schema, strings holding NUL never conform (no database column takes them).
    """
    problem = GLANCE.problem(schema, value)
    if problem is None and _holds_nul(value):
        problem = "a string in it contains a NUL character"
    return problem


def schema_refusal(schema_name: str, problem: str) -> BadRequest:
    """Glance's 400 for a body that ``schema_name``'s schema refuses for ``problem``."""
    return BadRequest(f"Provided object does not match schema '{schema_name}': {problem}")


def is_reserved(name: str) -> bool:
    """True for names Glance keeps for itself (:data:`RESERVED_ATTRIBUTES`, ``os_glance*``)."""
    return name in RESERVED_ATTRIBUTES or name.startswith(RESERVED_NAMESPACE)


def check_writable(name: str, *, read_only: frozenset[str] = READ_ONLY_ATTRIBUTES) -> None:
    """Refuse writing a read-only or reserved attribute.

    Raises:
        PermissionDenied: ``name`` is read-only or reserved (403, as upstream).
    """
    if name in read_only:
        raise PermissionDenied(f"Attribute '{name}' is read-only.")
    if is_reserved(name):
        raise PermissionDenied(f"Attribute '{name}' is reserved.")


def validate_attribute(name: str, value: Any, options: ImageApiOptions) -> None:
    """Check that ``value`` may be stored under ``name`` (a base attribute or a property).

    Beyond the schema: ``min_disk``/``min_ram`` must be ints (not ``2.0``) in
    0..2**31-1, a free property's name must be 1..255 characters and its value at most
    65535, and no string may hold NUL.

    Raises:
        BadRequest: the schema refuses the value (Glance's message) or a bound beyond it
            does ("Invalid value for '<name>': ...", 400).
    """
    schema = _property_schemas(options).get(name)
    if schema is None:
        _check_property_name(name)
        schema = _FREE_PROPERTY
    problem = GLANCE.problem(schema, value)
    if problem is not None:
        raise schema_refusal("image", problem)
    if name in ("min_disk", "min_ram"):
        if not isinstance(value, int):  # jsonschema takes 2.0 for an integer
            problem = f"{value!r} is not a whole number of units"
        elif value < 0:
            problem = f"{value} is negative (give 0 or more)"
        elif value > INT32_MAX:
            problem = f"{value} is larger than {INT32_MAX}"
    if problem is None and _holds_nul(value):
        problem = "a string in it contains a NUL character"
    if problem is None and isinstance(value, str) and len(value) > PROPERTY_VALUE_LENGTH_MAX:
        problem = f"longer than {PROPERTY_VALUE_LENGTH_MAX} characters"
    if problem is not None:
        raise BadRequest(f"Invalid value for '{name}': {problem}.")


def _check_property_name(name: str) -> None:
    if not name:
        raise BadRequest("A property name must not be empty.")
    if "\x00" in name:
        raise BadRequest("A property name must not contain a NUL character.")
    if len(name) > PROPERTY_NAME_LENGTH_MAX:
        raise BadRequest(
            f"Property name {name[:40]!r}... is longer than {PROPERTY_NAME_LENGTH_MAX}"
            " characters."
        )


def nullable_properties() -> frozenset[str]:
    """Free properties the schema lets a client set to null (``kernel_id``, ``ramdisk_id``).

    shoal stores no null properties: setting one of these to null removes it (Glance
    would store and show a null).
    """
    nullable = set()
    for key, schema in _custom_properties().items():
        kinds = schema.get("type")
        if isinstance(kinds, Sequence) and not isinstance(kinds, str) and "null" in kinds:
            nullable.add(key)
    return frozenset(nullable)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    return False


def validate_location(value: Any, options: ImageApiOptions) -> None:
    """Check one element of ``locations`` (``{"url": ..., "metadata": {...}}``).

    Raises:
        BadRequest: it does not fit the schema (400).
    """
    problem = GLANCE.problem(_property_schemas(options)["locations"]["items"], value)
    if problem is not None:
        raise schema_refusal("image", problem)
    if _holds_nul(value):
        raise BadRequest("Invalid location: a string in it contains a NUL character.")
