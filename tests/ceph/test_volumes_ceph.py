"""The volume e2e suite (:mod:`tests.e2e._volume_suite`) on the Ceph backend: one
``shoal up`` on the throwaway cluster (the guide's pools and users made there), and Ceph's own
``rbd`` tool to look at the pools: as ``client.cinder`` with the keyring ``shoal up`` wrote,
or as ``client.admin``. The suite's last scenario expects the ``volumes`` pool empty at its
end: on an external cluster (``SHOAL_CEPH_CONF``) the guide's pools must hold nothing else."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.ceph.conftest import CephCluster
from tests.e2e._guide import keyring_file
from tests.e2e._volume_suite import Rbd, VolumeSuite, log_problems, suite_config
from tests.shoal_up import ShoalUp

RBD_TIMEOUT_S = 60


class TestVolumesOnCeph(VolumeSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def up(cls, ceph_cluster: CephCluster, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ShoalUp]:
        data = tmp_path_factory.mktemp("vol-ceph") / "data"
        data.mkdir()
        (data / "shoal.conf").write_text(suite_config(str(ceph_cluster.conf), backend="ceph"))
        with ShoalUp.start(data) as running:
            assert "(ceph backend" in running.output
            yield running
        assert not log_problems(running), running.output

    @pytest.fixture(scope="class")
    @classmethod
    def rbd(cls, up: ShoalUp, ceph_cluster: CephCluster) -> Rbd:
        keyring = keyring_file(up.data_dir, "client.cinder")

        def run(*args: str, admin: bool = False) -> str:
            user = [] if admin else ["--id", "cinder", "--keyring", str(keyring)]
            result = subprocess.run(
                ["rbd", *ceph_cluster.cli_args(), *user, *args],
                capture_output=True, text=True, timeout=RBD_TIMEOUT_S, check=False,
                stdin=subprocess.DEVNULL)
            assert result.returncode == 0, (args, result.stderr)
            return result.stdout

        return run
