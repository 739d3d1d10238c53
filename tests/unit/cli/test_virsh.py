"""``shoal virsh secret-*`` as a real process: the guide's steps, virsh's words, tables,
blank lines and exit statuses."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

from shoal.cluster.keys import generate_secret
from tests.shoal_cli import RunShoal
from tests.unit.services.compute.libvirt._guide import GUIDE_XML, UUID

INSECURE = "error: Passing secret value as command-line argument is insecure!\n"


def test_the_guides_steps(run_shoal: RunShoal, data_dir: Path, tmp_path: Path) -> None:
    xml = tmp_path / "secret.xml"
    xml.write_text(GUIDE_XML)
    key = generate_secret()
    defined = run_shoal("virsh", "secret-define", "--file", str(xml), "--host", "compute1")
    assert (defined.returncode, defined.stdout, defined.stderr) == (
        0, f"Secret {UUID} created\n\n", "")
    value = run_shoal("virsh", "--host", "compute1", "secret-set-value", "--secret", UUID,
                      "--base64", key)
    assert (value.returncode, value.stdout, value.stderr) == (0, "Secret value set\n\n",
                                                              INSECURE)
    listed = run_shoal("virsh", "secret-list", "--host", "compute1")
    assert listed.returncode == 0
    assert listed.stdout == (
        " UUID                                   Usage\n"
        "-------------------------------------------------------------------\n"
        f" {UUID}   ceph client.cinder secret\n\n")
    got = run_shoal("virsh", "secret-get-value", UUID, "--host", "compute1")
    assert (got.returncode, got.stdout, got.stderr) == (0, f"{key}\n", "")
    directory = data_dir / "compute" / "compute1" / "secrets"
    for name in (f"{UUID}.xml", f"{UUID}.base64"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    # another host has none: virsh's two error lines, its blank line, exit status 1
    missing = run_shoal("virsh", "--host", "compute2", "secret-get-value", "--secret", UUID)
    assert (missing.returncode, missing.stdout) == (1, "\n")
    assert missing.stderr == (f"error: failed to get secret '{UUID}'\n"
                              f"error: Secret not found: no secret with matching uuid "
                              f"'{UUID}'\n")
    gone = run_shoal("virsh", "--host", "compute1", "secret-undefine", UUID)
    assert (gone.returncode, gone.stdout) == (0, f"Secret {UUID} deleted\n\n")
    empty = run_shoal("virsh", "--host", "compute1", "secret-list")
    assert empty.stdout == " UUID   Usage\n---------------\n\n"


def test_defaults_to_this_hosts_name_and_generates_a_uuid(run_shoal: RunShoal,
                                                          data_dir: Path,
                                                          tmp_path: Path) -> None:
    xml = tmp_path / "secret.xml"
    xml.write_text(GUIDE_XML.replace(f"  <uuid>{UUID}</uuid>\n", ""))
    defined = run_shoal("virsh", "secret-define", str(xml))  # virsh's [--file] FILE
    assert defined.returncode == 0, defined.stderr
    new_uuid = defined.stdout.split()[1]
    assert defined.stdout == f"Secret {new_uuid} created\n\n" and new_uuid != UUID
    host_dir = data_dir / "compute" / socket.gethostname() / "secrets"
    assert (host_dir / f"{new_uuid}.xml").is_file()
    value_file = tmp_path / "client.cinder.key"
    value_file.write_text("QUJD\n")  # `ceph auth get-key ... | tee FILE` output, base64
    by_file = run_shoal("virsh", "secret-set-value", new_uuid, "--file", str(value_file))
    assert (by_file.returncode, by_file.stdout, by_file.stderr) == (
        0, "Secret value set\n\n", "")
    plain = run_shoal("virsh", "secret-get-value", new_uuid, "--plain")
    assert (plain.returncode, plain.stdout) == (0, "ABC\n")
    dumped = run_shoal("virsh", "secret-dumpxml", "--secret", new_uuid)
    assert f"<uuid>{new_uuid}</uuid>" in dumped.stdout
    assert "<name>client.cinder secret</name>" in dumped.stdout


def test_bad_inputs(run_shoal: RunShoal, tmp_path: Path) -> None:
    truncated = tmp_path / "secret.xml"
    truncated.write_text("<secret ephemeral='no' private='no'>\n  <usage type='ceph'>\n"
                         "    <name>client.cinder secret</name>\n")
    bad = run_shoal("virsh", "secret-define", "--file", str(truncated))
    assert (bad.returncode, bad.stdout) == (1, "\n")
    assert bad.stderr == (f"error: Failed to set attributes from {truncated}\n"
                          "error: (definition_of_secret):4: no element found\n")
    nofile = run_shoal("virsh", "secret-define", "--file", str(tmp_path / "none.xml"))
    assert nofile.returncode == 1
    assert nofile.stderr == (f"error: Failed to open file '{tmp_path / 'none.xml'}': "
                             "No such file or directory\n")
    good = tmp_path / "good.xml"
    good.write_text(GUIDE_XML)
    assert run_shoal("virsh", "secret-define", "--file", str(good)).returncode == 0
    not_b64 = run_shoal("virsh", "secret-set-value", UUID, "--base64", "not-base64!!")
    assert not_b64.returncode == 1
    assert not_b64.stderr == (INSECURE + "error: Failed to set secret value\n"
                              "error: invalid argument: the secret value is not base64 "
                              "(Only base64 data is allowed)\n")
    both = run_shoal("virsh", "--host", "nowhere", "secret-set-value", UUID, "--base64", "QUJD",
                     "--file", "x")  # checked before the secret is looked up
    assert (both.returncode, both.stderr) == (
        1, "error: Options --file and --base64 are mutually exclusive\n")
    nothing = run_shoal("virsh", "secret-set-value", UUID)
    assert (nothing.returncode, nothing.stderr) == (1, "error: Input secret value is missing\n")
    no_value = run_shoal("virsh", "secret-get-value", UUID)
    assert (no_value.returncode, no_value.stderr) == (
        1, f"error: Secret not found: secret '{UUID}' does not have a value\n")
    no_uuid = run_shoal("virsh", "secret-undefine")
    assert (no_uuid.returncode, no_uuid.stderr) == (
        1, "error: command 'secret-undefine' requires <secret> option\n")
    bad_uuid = run_shoal("virsh", "secret-get-value", "nope")
    assert bad_uuid.returncode == 1
    assert bad_uuid.stderr.startswith("error: failed to get secret 'nope'\nerror: invalid "
                                      "argument:")
    bad_host = run_shoal("virsh", "--host", "../etc", "secret-list")
    assert bad_host.returncode == 1 and "is not a compute host name" in bad_host.stderr
