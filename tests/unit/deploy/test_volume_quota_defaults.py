"""cinder.conf's quota options become the volume service's default limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.config import ConfigInvalid, load_config
from shoal.deploy._volumes import quota_defaults
from shoal.services.volume.quotas import QuotaDefaults


def test_upstream_defaults() -> None:
    assert quota_defaults(load_config(environ={})) == QuotaDefaults(
        volumes=10, snapshots=10, gigabytes=1000, backups=10, backup_gigabytes=1000,
        per_volume_gigabytes=-1)


def test_configured_limits(tmp_path: Path) -> None:
    path = tmp_path / "shoal.conf"
    path.write_text("[DEFAULT]\nquota_volumes = 3\nquota_snapshots = -1\nquota_gigabytes = 50\n"
                    "quota_backups = 0\nquota_backup_gigabytes = 7\n"
                    "per_volume_size_limit = 20\n", encoding="utf-8")
    assert quota_defaults(load_config(file=path, environ={})) == QuotaDefaults(
        volumes=3, snapshots=-1, gigabytes=50, backups=0, backup_gigabytes=7,
        per_volume_gigabytes=20)


def test_below_unlimited_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "shoal.conf"
    path.write_text("[DEFAULT]\nquota_volumes = -2\n", encoding="utf-8")
    with pytest.raises(ConfigInvalid, match="quota_volumes"):
        load_config(file=path, environ={})
