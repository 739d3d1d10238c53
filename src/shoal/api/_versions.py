"""Version documents: what each service answers before any token, as upstream shapes them.

=========================  ======  ==========================================
request                    status  body
=========================  ======  ==========================================
``GET /identity``          300     ``{"versions": {"values": [v3]}}``
``GET /identity/v3``       200     ``{"version": v3}``
``GET /image``             300     ``{"versions": [v2.N, ...]}``
``GET /image/versions``    200     the same list
``GET /volume/``           300     ``{"versions": [v3.0]}``
``GET /volume/v3/``        200     ``{"versions": [v3.0]}`` (Cinder lists here too)
``GET /compute/``          200     ``{"versions": [v2.1]}`` (Nova's root index is 200)
``GET /compute/v2.1``      200     ``{"version": v2.1}``
=========================  ======  ==========================================

Every path answers with and without a trailing slash. Links are absolute, built from the
request's scheme and ``Host`` (or the app's configured public URL, as upstream's
``public_endpoint``), so a client reaching 127.0.0.1:PORT is sent back there.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request

from shoal.api._microversion import VersionRange

__all__ = [
    "COMPUTE_UPDATED",
    "IDENTITY_VERSION_ID",
    "IMAGE_VERSION_MINOR_MAX",
    "VOLUME_UPDATED",
    "base_url",
    "compute_root_document",
    "compute_version_document",
    "identity_root_document",
    "identity_version_document",
    "image_versions_document",
    "volume_versions_document",
]

#: Keystone's current v3 minor version and its date.
IDENTITY_VERSION_ID: Final = "v3.14"
IDENTITY_UPDATED: Final = "2020-04-07T00:00:00Z"
#: Glance v2's highest minor version advertised (v2.0 ... v2.N; N is CURRENT).
IMAGE_VERSION_MINOR_MAX: Final = 16
#: Dates upstream stamps on the volume and compute version entries.
VOLUME_UPDATED: Final = "2023-08-31T00:00:00Z"
COMPUTE_UPDATED: Final = "2013-07-23T11:33:21Z"

_DOCS_LINK: Final = {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}


def base_url(request: Request, public_url: str | None) -> str:
    """Scheme://host[:port] to put in links (no trailing slash), or the configured URL."""
    if public_url:
        return public_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


def _identity_v3(root: str) -> dict[str, Any]:
    return {
        "id": IDENTITY_VERSION_ID,
        "status": "stable",
        "updated": IDENTITY_UPDATED,
        "links": [{"rel": "self", "href": f"{root}/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


def identity_root_document(root: str) -> dict[str, Any]:
    """``GET /identity`` (300); ``root`` is the service URL, e.g. ``http://h:5000/identity``."""
    return {"versions": {"values": [_identity_v3(root)]}}


def identity_version_document(root: str) -> dict[str, Any]:
    """``GET /identity/v3`` (200)."""
    return {"version": _identity_v3(root)}


def image_versions_document(root: str) -> dict[str, Any]:
    """``GET /image`` (300) and ``GET /image/versions`` (200): newest first."""
    versions = []
    for minor in range(IMAGE_VERSION_MINOR_MAX, -1, -1):
        versions.append(
            {
                "id": f"v2.{minor}",
                "status": "CURRENT" if minor == IMAGE_VERSION_MINOR_MAX else "SUPPORTED",
                "links": [{"rel": "self", "href": f"{root}/v2/"}],
            }
        )
    return {"versions": versions}


def volume_versions_document(root: str, served: VersionRange) -> dict[str, Any]:
    """``GET /volume/`` (300) and ``GET /volume/v3/`` (200), Cinder's shape."""
    return {
        "versions": [
            {
                "id": "v3.0",
                "status": "CURRENT",
                "version": str(served.maximum),
                "min_version": str(served.minimum),
                "updated": VOLUME_UPDATED,
                "links": [dict(_DOCS_LINK), {"rel": "self", "href": f"{root}/v3/"}],
                "media-types": [
                    {
                        "base": "application/json",
                        "type": "application/vnd.openstack.volume+json;version=3",
                    }
                ],
            }
        ]
    }


def compute_root_document(root: str, served: VersionRange) -> dict[str, Any]:
    """``GET /compute/`` (200), Nova's index of versions."""
    return {
        "versions": [
            {
                "id": "v2.1",
                "status": "CURRENT",
                "version": str(served.maximum),
                "min_version": str(served.minimum),
                "updated": COMPUTE_UPDATED,
                "links": [{"rel": "self", "href": f"{root}/v2.1/"}],
            }
        ]
    }


def compute_version_document(root: str, served: VersionRange) -> dict[str, Any]:
    """``GET /compute/v2.1`` (200)."""
    return {
        "version": {
            "id": "v2.1",
            "status": "CURRENT",
            "version": str(served.maximum),
            "min_version": str(served.minimum),
            "updated": COMPUTE_UPDATED,
            "links": [{"rel": "self", "href": f"{root}/v2.1/"}, dict(_DOCS_LINK)],
            "media-types": [
                {
                    "base": "application/json",
                    "type": "application/vnd.openstack.compute+json;version=2.1",
                }
            ],
        }
    }
