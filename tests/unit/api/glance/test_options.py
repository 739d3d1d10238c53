"""The image API's options and their defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.api.glance.options import DEFAULT_OPTIONS, ImageApiOptions, quota_exceeded
from shoal.config import load_config


def test_upstream_defaults() -> None:
    assert DEFAULT_OPTIONS.limit_param_default == 25
    assert DEFAULT_OPTIONS.api_limit_max == 1000
    assert DEFAULT_OPTIONS.image_property_quota == 128
    assert DEFAULT_OPTIONS.image_tag_quota == 128
    assert DEFAULT_OPTIONS.show_image_direct_url is False
    assert DEFAULT_OPTIONS.show_multiple_locations is False
    assert "raw" in DEFAULT_OPTIONS.disk_formats
    assert "bare" in DEFAULT_OPTIONS.container_formats


def test_quota_exceeded() -> None:
    assert not quota_exceeded(2, 2)
    assert quota_exceeded(2, 3)
    assert quota_exceeded(0, 1)
    assert not quota_exceeded(-1, 10**6)


@pytest.mark.parametrize("fields", [{"limit_param_default": 0}, {"api_limit_max": 0},
                                    {"disk_formats": ()}, {"hashing_algorithm": "crc99"}])
def test_invalid_options_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ImageApiOptions(**fields)  # type: ignore[arg-type]


def test_from_config(tmp_path: Path) -> None:
    assert ImageApiOptions.from_config(load_config(environ={})) == DEFAULT_OPTIONS
    conf = tmp_path / "shoal.conf"
    conf.write_text("[DEFAULT]\nshow_multiple_locations = True\nhashing_algorithm = sha256\n"
                    "[glance_store]\nshow_image_direct_url = True\n")
    options = ImageApiOptions.from_config(load_config(file=conf, environ={}))
    assert options.show_image_direct_url is True
    assert options.show_multiple_locations is True
    assert options.hashing_algorithm == "sha256"
