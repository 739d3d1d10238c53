"""libvirt's ``<secret>`` XML and secret values, read and written as libvirt does.

The guide's ``secret.xml``::

    <secret ephemeral='no' private='no'>
      <uuid>457eb676-33da-42ec-9a8c-9293d545c337</uuid>
      <usage type='ceph'>
        <name>client.cinder secret</name>
      </usage>
    </secret>

:func:`parse_secret_xml` follows libvirt's ``virSecretDefParse``: the root must be
``<secret>``; ``ephemeral`` and ``private`` are ``yes`` or ``no`` (absent: no); a
missing or empty ``<uuid>`` gets a new random one (as ``virsh secret-define`` does); an
optional ``<description>``; an optional ``<usage type=...>`` whose id element depends
on the type (``ceph``/``tls``/``vtpm``: ``<name>``, ``volume``: ``<volume>``,
``iscsi``: ``<target>``; ``none``: nothing). Errors carry libvirt's words and prefixes
(``XML error: ...``, ``internal error: ...``); a document that is not well formed is
named as libvirt names it, ``(definition_of_secret):LINE: what is wrong``.

Values are bytes; on the command line and on disk they are base64
(:func:`decode_base64`, strict, unlike glib's decoder that skips stray characters).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid as uuid_mod
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from shoal import errors, limits
from shoal.services.compute.libvirt._errors import InvalidSecretValue, InvalidSecretXML

__all__ = ["USAGE_ID_ELEMENTS", "SecretDef", "canonical_uuid", "decode_base64",
           "parse_secret_xml", "secret_xml"]

#: Usage type -> the element holding its id (``None``: the type has no id).
USAGE_ID_ELEMENTS: dict[str, str | None] = {
    "none": None, "volume": "volume", "ceph": "name", "iscsi": "target", "tls": "name",
    "vtpm": "name",
}
#: libvirt's name for the document in parse errors.
_DOCUMENT = "(definition_of_secret)"
_WHITESPACE = re.compile(r"\s+")
_POSITION = re.compile(r": line \d+, column \d+$")


@dataclass(frozen=True)
class SecretDef:
    """A secret's definition (not its value).

    Attributes:
        uuid: lowercase, dashed.
        usage_type: one of :data:`USAGE_ID_ELEMENTS` (``none`` when the XML has no
            ``<usage>``).
        usage_id: the usage's id (``client.cinder secret``); None for ``none``.
        ephemeral, private: libvirt's flags (a private secret's value is never read
            back through :meth:`~shoal.services.compute.libvirt.SecretStore.get_value`).
        description: free text, or None.
    """

    uuid: str
    usage_type: str = "none"
    usage_id: str | None = None
    ephemeral: bool = False
    private: bool = False
    description: str | None = None

    @property
    def usage(self) -> str:
        """The ``Usage`` column of ``virsh secret-list``: ``ceph client.cinder secret``,
        or ``Unused`` for a secret without usage."""
        if self.usage_type == "none":
            return "Unused"
        return f"{self.usage_type} {self.usage_id}"


def canonical_uuid(text: str) -> str:
    """``text`` as a lowercase dashed UUID (dashes and case as given are accepted).

    Raises:
        errors.InvalidArgument: not a UUID.
    """
    try:
        return str(uuid_mod.UUID(text.strip()))
    except (ValueError, AttributeError):
        raise errors.InvalidArgument(
            f"invalid argument: uuidstr {text!r} must be a valid UUID") from None


def _flag(root: ET.Element, name: str) -> bool:
    value = root.get(name)
    if value is None:
        return False
    if value not in ("yes", "no"):
        raise InvalidSecretXML(f"XML error: invalid value of '{name}'")
    return value == "yes"


def _child_text(root: ET.Element, path: str) -> str | None:
    """XPath ``string(path)`` as libvirt reads it: None when absent or empty."""
    found = root.find(path)
    text = "".join(found.itertext()) if found is not None else ""
    return text or None


def _usage(root: ET.Element) -> tuple[str, str | None]:
    usage = root.find("usage")
    if usage is None:
        return "none", None
    kind = usage.get("type")
    if not kind:
        raise InvalidSecretXML("XML error: unknown secret usage type")
    if kind not in USAGE_ID_ELEMENTS:
        raise InvalidSecretXML(f"unsupported configuration: unknown secret usage type {kind}")
    element = USAGE_ID_ELEMENTS[kind]
    if element is None:
        return kind, None
    usage_id = _child_text(usage, element)
    if usage_id is None:
        what = {"ceph": "Ceph", "iscsi": "iSCSI", "tls": "TLS", "vtpm": "vTPM"}.get(kind, kind)
        raise InvalidSecretXML(f"internal error: {what} usage specified, but {element} "
                               f"{'path ' if kind == 'volume' else ''}is missing")
    return kind, usage_id


def _parse_document(text: str) -> ET.Element:
    if len(text.encode("utf-8")) > limits.secret_xml_bytes_max:
        raise InvalidSecretXML(f"secret XML is larger than {limits.secret_xml_bytes_max} "
                               "bytes")
    if "<!ENTITY" in text or "<!DOCTYPE" in text:
        raise InvalidSecretXML(f"{_DOCUMENT}:1: document type and entity declarations "
                               "are not accepted")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 1
        raise InvalidSecretXML(f"{_DOCUMENT}:{line}: {_POSITION.sub('', str(exc))}") from None


def parse_secret_xml(text: str) -> SecretDef:
    """The definition a ``secret.xml`` holds (a new uuid4 when it has no ``<uuid>``).

    Raises:
        InvalidSecretXML: not well formed, larger than
            :data:`shoal.limits.secret_xml_bytes_max`, with a DOCTYPE or entities, a
            root other than ``<secret>``, a flag other than yes/no, a malformed uuid, an
            unknown usage type or a usage without its id.
    """
    root = _parse_document(text)
    if root.tag != "secret":
        raise InvalidSecretXML(f"XML error: unexpected root element <{root.tag}>, "
                               "expecting <secret>")
    ephemeral, private = _flag(root, "ephemeral"), _flag(root, "private")
    uuid_text = _child_text(root, "uuid")
    if uuid_text is None:
        secret_uuid = str(uuid_mod.uuid4())
    else:
        try:
            secret_uuid = str(uuid_mod.UUID(uuid_text.strip()))
        except ValueError:
            raise InvalidSecretXML("internal error: malformed uuid element") from None
    usage_type, usage_id = _usage(root)
    return SecretDef(uuid=secret_uuid, usage_type=usage_type, usage_id=usage_id,
                     ephemeral=ephemeral, private=private,
                     description=_child_text(root, "description"))


def secret_xml(definition: SecretDef) -> str:
    """The XML of ``definition`` as ``virsh secret-dumpxml`` prints it (both flags, the
    uuid, the description and the usage; ``none`` usage is left out)."""
    root = ET.Element("secret", ephemeral="yes" if definition.ephemeral else "no",
                      private="yes" if definition.private else "no")
    ET.SubElement(root, "uuid").text = definition.uuid
    if definition.description is not None:
        ET.SubElement(root, "description").text = definition.description
    element = USAGE_ID_ELEMENTS.get(definition.usage_type)
    if definition.usage_type != "none":
        usage = ET.SubElement(root, "usage", type=definition.usage_type)
        if element is not None:
            ET.SubElement(usage, element).text = definition.usage_id
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def decode_base64(text: str) -> bytes:
    """The bytes of base64 ``text``; whitespace anywhere (a key file's newline) is
    ignored.

    Raises:
        InvalidSecretValue: empty, not strict base64 (stray characters, bad padding), or
            decoding to more than :data:`shoal.limits.secret_value_bytes_max` bytes. The
            message never repeats the value.
    """
    compact = _WHITESPACE.sub("", text)
    if not compact:
        raise InvalidSecretValue("invalid argument: the secret value is empty")
    try:
        if len(compact) % 4:
            raise binascii.Error("its length is not a multiple of 4")
        value = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecretValue(
            f"invalid argument: the secret value is not base64 ({exc})") from None
    if not value:
        raise InvalidSecretValue("invalid argument: the secret value is empty")
    if len(value) > limits.secret_value_bytes_max:
        raise InvalidSecretValue(f"invalid argument: the secret value is {len(value)} "
                                 f"bytes, more than {limits.secret_value_bytes_max}")
    return value
