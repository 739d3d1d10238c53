"""``[keystone_authtoken]``: a remote Keystone in keystonemiddleware's spelling, checked at load;
``[DEFAULT] auth_strategy``."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.config import KEYSTONE_TIMEOUT_S_DEFAULT, ConfigInvalid, load_config, write_default
from shoal.config._sections import identity_v3_url

# The install guide's snippet (cinder.conf), memcached line included.
GUIDE = """\
[DEFAULT]
auth_strategy = keystone

[keystone_authtoken]
www_authenticate_uri = http://controller:5000
auth_url = http://controller:5000
memcached_servers = controller:11211
auth_type = password
project_domain_name = default
user_domain_name = default
project_name = service
username = cinder
password = CINDER_PASS
"""


def conf(tmp_path: Path, text: str, name: str = "shoal.conf") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unset_means_shoals_own_identity() -> None:
    section = load_config(environ={}).keystone_authtoken
    assert not section.enabled and section.public_url is None
    assert (section.token_cache_time, section.http_request_max_retries) == (300, 3)
    assert section.timeout_s == KEYSTONE_TIMEOUT_S_DEFAULT
    with pytest.raises(ValueError, match="auth_url is not set"):
        section.identity_url  # noqa: B018


def test_the_install_guides_section_loads_without_warnings(tmp_path: Path) -> None:
    cfg = load_config(file=conf(tmp_path, GUIDE), environ={})
    assert cfg.warnings == ()
    section = cfg.keystone_authtoken
    assert section.enabled and section.identity_url == "http://controller:5000/v3"
    assert section.public_url == "http://controller:5000"
    assert (section.username, section.password, section.project_name) == (
        "cinder", "CINDER_PASS", "service")
    assert section.user_domain == section.project_domain == {"name": "default"}
    assert section.memcached_servers == ("controller:11211",)  # accepted, unused
    assert "CINDER_PASS" not in repr(section)
    rows = {(o["section"], o["name"]): o for o in cfg.to_json()["options"]}  # type: ignore[index, union-attr]
    assert rows[("keystone_authtoken", "password")]["value"] == "****"
    assert cfg.cinder.auth_strategy == "keystone"


def test_domain_ids_win_over_names_and_the_timeout_is_read(tmp_path: Path) -> None:
    text = GUIDE + ("user_domain_id = d-user\nproject_domain_id = d-project\n"
                    "http_connect_timeout = 3\ntoken_cache_time = -1\n")
    section = load_config(file=conf(tmp_path, text), environ={}).keystone_authtoken
    assert (section.user_domain, section.project_domain) == ({"id": "d-user"},
                                                             {"id": "d-project"})
    assert (section.timeout_s, section.token_cache_time) == (3.0, -1)


@pytest.mark.parametrize(("url", "v3"), [
    ("http://controller:5000", "http://controller:5000/v3"),
    ("http://controller:5000/", "http://controller:5000/v3"),
    ("https://controller:5000/v3/", "https://controller:5000/v3"),
    ("http://10.0.0.1/identity", "http://10.0.0.1/identity/v3"),
    ("http://[::1]:5000/identity/v3", "http://[::1]:5000/identity/v3"),
])
def test_auth_url_with_or_without_the_version(url: str, v3: str) -> None:
    assert identity_v3_url(url) == v3


@pytest.mark.parametrize(("line", "reason"), [
    ("auth_url = http://controller:5000/v2.0", "Identity v2 endpoint"),
    ("auth_url = controller:5000", "not an http:// or https:// URL"),
    ("auth_url = ftp://controller", "not an http:// or https:// URL"),
    ("auth_url = http://controller:99999", "bad port"),
    ("auth_url = http://controller:5000/v3?x=1", "query or fragment"),
    ("www_authenticate_uri = controller", "not an http:// or https:// URL"),
])
def test_bad_urls_name_the_line(tmp_path: Path, line: str, reason: str) -> None:
    path = conf(tmp_path, GUIDE + line + "\n")
    with pytest.raises(ConfigInvalid, match=reason) as caught:
        load_config(file=path, environ={})
    assert (caught.value.path, caught.value.line) == (path, 14)
    assert caught.value.section == "keystone_authtoken"


def test_auth_url_without_the_service_user_is_refused(tmp_path: Path) -> None:
    path = conf(tmp_path, "[keystone_authtoken]\nauth_url = http://controller:5000\n"
                          "username = cinder\nuser_domain_id = default\n")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(file=path, environ={})
    message = str(caught.value)
    assert message.startswith(f"{path}:2: [keystone_authtoken] auth_url = ")
    assert "set password, project_name, project_domain_name in [keystone_authtoken]" in message


def test_old_spellings_are_read(tmp_path: Path) -> None:
    text = GUIDE.replace("www_authenticate_uri", "auth_uri")
    cfg = load_config(file=conf(tmp_path, text), environ={})
    assert cfg.keystone_authtoken.www_authenticate_uri == "http://controller:5000"
    assert cfg.warnings == (
        f"{tmp_path / 'shoal.conf'}:5: [keystone_authtoken] auth_uri is an old spelling of "
        "[keystone_authtoken] www_authenticate_uri",)
    placeholder = GUIDE.replace("auth_url = http://controller:5000\n", "") + (
        "[shoal]\nauth_url = http://k:5000\n")  # shoal's earlier placeholder
    cfg = load_config(file=conf(tmp_path, placeholder), environ={})
    assert cfg.keystone_authtoken.identity_url == "http://k:5000/v3"
    assert cfg.setting("keystone_authtoken", "auth_url").source.section == "shoal"
    alone = conf(tmp_path, "[shoal]\nauth_url = http://k:5000\n")
    with pytest.raises(ConfigInvalid, match=r"^\S+:2: \[shoal\] auth_url = .*set username"):
        load_config(file=alone, environ={})


def test_noauth_is_refused(tmp_path: Path) -> None:
    path = conf(tmp_path, "[DEFAULT]\nauth_strategy = noauth\n")
    with pytest.raises(ConfigInvalid, match="shoal always checks Keystone tokens") as caught:
        load_config(file=path, environ={})
    assert caught.value.line == 2
    with pytest.raises(ConfigInvalid, match="not one of keystone, noauth"):
        load_config(file=conf(tmp_path, "[DEFAULT]\nauth_strategy = none\n"), environ={})


def test_real_files_sections_are_not_read(tmp_path: Path) -> None:
    conf(tmp_path, GUIDE, "cinder.conf")
    cfg = load_config(directory=tmp_path, environ={})
    assert not cfg.keystone_authtoken.enabled
    assert cfg.cinder.auth_strategy == "keystone"  # cinder's own [DEFAULT] option
    assert cfg.warnings == (
        f"{tmp_path / 'cinder.conf'}:4: section [keystone_authtoken] is read from shoal.conf "
        "only (one service user for every API); ignored",)
    conf(tmp_path, GUIDE.replace("[DEFAULT]\nauth_strategy = keystone\n", ""))
    assert load_config(directory=tmp_path, environ={}).keystone_authtoken.enabled


def test_the_written_default_leaves_it_commented_out(tmp_path: Path) -> None:
    path = write_default(tmp_path / "shoal.conf")
    text = path.read_text()
    assert "\n[keystone_authtoken]\n" in text and "\n# auth_url = \n" in text
    cfg = load_config(file=path, environ={})
    assert not cfg.keystone_authtoken.enabled
    body = GUIDE.split("[keystone_authtoken]\n", 1)[1]
    path.write_text(text.replace("\n[keystone_authtoken]\n", "\n[keystone_authtoken]\n" + body))
    cfg = load_config(file=path, environ={})
    assert cfg.warnings == () and cfg.keystone_authtoken.enabled
