"""The volume e2e suite (:mod:`tests.e2e._volume_suite`) on the embedded backend: ``shoal up``
on its data directory's cluster, ``shoal rbd`` (as ``client.cinder`` or ``client.admin``) to
look at the pools."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e._volume_suite import Rbd, VolumeSuite, log_problems, suite_config
from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp


class TestVolumesEmbedded(VolumeSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def up(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
        data = tmp_path_factory.mktemp("vol") / "data"
        data.mkdir()
        (data / "shoal.conf").write_text(suite_config(str(data / "ceph.conf")))
        with ShoalUp.start(data) as running:
            yield running
        assert not log_problems(running), running.output

    @pytest.fixture(scope="class")
    @classmethod
    def rbd(cls, up: ShoalUp) -> Rbd:
        def run(*args: str, admin: bool = False) -> str:
            user = () if admin else ("--id", "cinder")
            result = run_shoal_cli(up.data_dir, "rbd", *args, *user)
            assert result.returncode == 0, (args, result.stderr)
            return result.stdout

        return run
