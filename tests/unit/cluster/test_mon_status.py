"""``fsid``, ``health``, ``status``, ``mon dump`` and ``df``."""

from __future__ import annotations

import json
import os
import re

from shoal.cluster import EmbeddedSession, MonResult
from shoal.cluster._format import byte_u


def run(session: EmbeddedSession, prefix: str, **args: object) -> MonResult:
    return session.mon_command({"prefix": prefix, **args}).check()


def test_fsid(admin: EmbeddedSession) -> None:
    fsid = admin.get_fsid()
    assert run(admin, "fsid") == MonResult(0, fsid.encode(), "")
    assert json.loads(run(admin, "fsid", format="json-pretty").outbuf) == {"fsid": fsid}


def test_health(admin: EmbeddedSession) -> None:
    assert run(admin, "health").outbuf == b"HEALTH_OK\n"
    assert run(admin, "health", detail="detail").outbuf == b"HEALTH_OK\n"
    assert json.loads(run(admin, "health", format="json").outbuf) == {
        "status": "HEALTH_OK", "checks": {}, "mutes": []}


def test_mon_dump_json_has_cinder_parsable_addresses(admin: EmbeddedSession) -> None:
    result = run(admin, "mon dump", format="json")
    assert result.outs == "dumped monmap epoch 1"
    monmap = json.loads(result.outbuf)
    assert monmap["fsid"] == admin.get_fsid() and monmap["epoch"] == 1
    (mon,) = monmap["mons"]
    assert mon["name"] == "a" and mon["addr"] == "127.0.0.1:6789/0"
    assert mon["public_addrs"]["addrvec"][0] == {
        "type": "v2", "addr": "127.0.0.1:3300", "nonce": 0}
    # what cinder's RBDDriver._get_mon_addrs does with it
    host_port = mon["addr"][: mon["addr"].rindex("/")]
    assert host_port.rsplit(":", 1) == ["127.0.0.1", "6789"]
    assert monmap["quorum"] == [0]


def test_mon_dump_plain(admin: EmbeddedSession) -> None:
    lines = run(admin, "mon dump").outbuf.decode().splitlines()
    assert lines[0] == "epoch 1" and lines[1] == f"fsid {admin.get_fsid()}"
    assert re.fullmatch(r"created \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}", lines[3])
    assert lines[4:] == ["min_mon_release 16 (pacific)", "election_strategy: 1",
                         "0: [v2:127.0.0.1:3300/0,v1:127.0.0.1:6789/0] mon.a"]


def test_status(admin: EmbeddedSession) -> None:
    admin.create_pool("volumes", pg_num=64)
    text = run(admin, "status").outbuf.decode()
    assert text.startswith(f"  cluster:\n    id:     {admin.get_fsid()}\n    health: HEALTH_OK\n")
    assert "    pools:   1 pools, 64 pgs\n" in text
    assert "    pgs:     64 active+clean\n" in text
    status = json.loads(run(admin, "status", format="json").outbuf)
    assert status["health"]["status"] == "HEALTH_OK"
    assert status["pgmap"]["num_pgs"] == 64 and status["pgmap"]["num_pools"] == 1


def test_df_plain_layout(admin: EmbeddedSession) -> None:
    admin.create_pool("volumes", pg_num=128)
    admin.create_pool("images", pg_num=8)
    with admin.open_ioctx("images") as io:
        io.write_full("obj", b"x" * 3000)
    lines = run(admin, "df").outbuf.decode().split("\n")
    assert lines[0] == "--- RAW STORAGE ---"
    assert lines[1].split() == ["CLASS", "SIZE", "AVAIL", "USED", "RAW", "USED", "%RAW", "USED"]
    assert lines[2].startswith("TOTAL")
    assert lines[3] == "" and lines[4] == "--- POOLS ---"
    assert re.fullmatch(r"POOL +ID +PGS +STORED +OBJECTS +USED +%USED +MAX AVAIL", lines[5])
    assert lines[6].split()[:5] == ["volumes", "1", "128", "0", "B"]
    images = lines[7].split()
    assert images[:8] == ["images", "2", "8", "2.9", "KiB", "1", "2.9", "KiB"]
    assert lines[8:] == [""]
    st = os.statvfs(admin.layout.root)
    assert byte_u(st.f_blocks * st.f_frsize) in lines[2]


def test_df_json(admin: EmbeddedSession) -> None:
    admin.create_pool("images")
    with admin.open_ioctx("images") as io:
        io.write_full("obj", b"x" * 3000)
    raw = run(admin, "df", format="json").outbuf
    assert raw.endswith(b"}\n")
    df = json.loads(raw)
    stats = df["stats"]
    assert stats["total_bytes"] >= stats["total_avail_bytes"] > 0
    assert stats["total_used_bytes"] == 3000 and stats["num_osds"] == 1
    (pool,) = df["pools"]
    assert pool["name"] == "images" and pool["id"] == 1
    assert pool["stats"]["stored"] == 3000 and pool["stats"]["objects"] == 1
    assert pool["stats"]["kb_used"] == 3 and pool["stats"]["bytes_used"] == 3000
    assert 0 <= pool["stats"]["percent_used"] < 1
    assert 0 < pool["stats"]["max_avail"] <= stats["total_avail_bytes"]
