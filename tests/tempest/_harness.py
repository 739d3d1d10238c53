"""Tempest (the OpenStack integration suite) against a running ``shoal up``.

::

    with ShoalUp.start(data_dir) as up:
        accounts = provision_accounts(up)               # idempotent
        workspace = init_workspace(tempest_bin(), tmp)  # ``tempest init``
        config = write_config(up, workspace, accounts)
        run = run_tempest(tempest_bin(), workspace, config, r"^tempest\\.api\\.image\\.v2")
        run.counts()                                    # {"passed": .., "failed": .., ...}
        print(run.report())

Tempest runs with pre-provisioned accounts (``use_dynamic_credentials = False``, as
CLIENTS.md records): an ``accounts.yaml`` with an admin, two members and two readers in the
projects ``tempest-a`` and ``tempest-b``, created through the Keystone admin API with the
``shoal up`` admin's token. Tempest lives in its own venv (``scripts/tempest-venv``;
``$SHOAL_TEMPEST_BIN`` names its bin directory); the subunit stream it writes is read by a
small script run with that venv's Python (``subunit`` and ``testtools`` live there).

Results count every test Tempest lists for the regex: a test that never reported (its class's
``setUpClass`` failed or was skipped) takes the outcome and traceback of that class fixture.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]

#: The two projects of the pre-provisioned accounts (``alt`` credentials come from the other).
PROJECTS: tuple[str, str] = ("tempest-a", "tempest-b")
REGION = "RegionOne"
_HTTP_TIMEOUT_S = 30.0
#: The pieces of a subunit stream the reader script hands back, one JSON object a line.
_SUBUNIT_READER = r"""
import json, sys
import subunit, testtools

def emit(test):
    details = test.get("details") or {}
    text = []
    for name in ("traceback", "reason"):
        if name in details:
            text.append(details[name].as_text())
    stamps = [t for t in test.get("timestamps") or () if t is not None]
    seconds = (stamps[-1] - stamps[0]).total_seconds() if len(stamps) == 2 else 0.0
    print(json.dumps({"id": test["id"], "status": test["status"],
                      "detail": "\n".join(text), "seconds": seconds}))

with open(sys.argv[1], "rb") as stream:
    case = subunit.ByteStreamToStreamResult(stream, non_subunit_name="stdout")
    result = testtools.StreamToDict(emit)
    result.startTestRun()
    try:
        case.run(result)
    finally:
        result.stopTestRun()
"""
#: A fixture outcome Tempest reports in place of a class's tests.
_CLASS_FIXTURE = re.compile(r"^(setUpClass|tearDownClass) \((?P<cls>[\w.]+)\)$")
_ATTRS = re.compile(r"\[.*\]$")
#: One request in Tempest's log: ``Request (Class:test): 404 GET http://host:port/path``.
_LOGGED_REQUEST = re.compile(r"Request \((?P<cls>\w+):(?P<test>\w+)\): (?P<status>\d{3}) "
                             r"(?P<method>[A-Z]+) (?P<url>\S+)")
#: A traceback's exception line (``testtools.matchers._impl.MismatchError: ...``).
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failure|Found|Request|"
                             r"Implemented|Code|Body)\b: ")
_CAUSE_CHARS = 200
#: What :func:`request_template` replaces in a logged URL: the origin, ids, the query.
_URL_PARTS = ((re.compile(r"^https?://[^/]+"), ""),
              (re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}"), "{id}"),
              (re.compile(r"/[0-9a-f]{32}(?=/|$)"), ""),
              (re.compile(r"\?.*$"), ""))


class TempestError(RuntimeError):
    """Tempest could not be set up or run (not: some of its tests failed)."""


@dataclass(frozen=True)
class Account:
    """One pre-provisioned Tempest user: ``roles`` on ``project_name`` (domain Default)."""

    username: str
    password: str
    project_name: str
    roles: tuple[str, ...]

    def as_yaml_entry(self) -> dict[str, object]:
        """The ``accounts.yaml`` entry (``types: [admin]`` for the admin)."""
        entry: dict[str, object] = {
            "username": self.username, "password": self.password,
            "project_name": self.project_name, "user_domain_name": "Default",
            "project_domain_name": "Default",
        }
        if "admin" in self.roles:
            entry["types"] = ["admin"]
        else:
            entry["roles"] = list(self.roles)
        return entry


#: The accounts: (user, project, roles granted in Keystone, roles named in accounts.yaml).
#: Members come before readers: Tempest's ``alt`` credentials take the first free non-admin
#: account, which is then the member of the project ``primary`` did not take.
_ACCOUNT_PLAN: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("tempest-admin", PROJECTS[0], ("admin", "member", "reader")),
    ("tempest-member-a", PROJECTS[0], ("member",)),
    ("tempest-member-b", PROJECTS[1], ("member",)),
    ("tempest-reader-a", PROJECTS[0], ("reader",)),
    ("tempest-reader-b", PROJECTS[1], ("reader",)),
)


def tempest_bin() -> Path:
    """Tempest's venv bin directory (``$SHOAL_TEMPEST_BIN`` or ``.venv-tempest/bin``).

    Raises:
        TempestError: Tempest is not installed there.
    """
    env = os.environ.get("SHOAL_TEMPEST_BIN")
    path = Path(env) if env else REPO / ".venv-tempest" / "bin"
    if not (path / "tempest").exists():
        raise TempestError(f"Tempest is not installed in {path}: run `bash scripts/tempest-venv`"
                           f" (the test command does)")
    return path


# --- accounts ---------------------------------------------------------------------------


def _cloud_login(up_data_dir: Path, cloud: str = "shoal") -> dict[str, str]:
    """``auth`` of ``cloud`` in the ``clouds.yaml`` that ``shoal up`` wrote (JSON values)."""
    login: dict[str, str] = {}
    current = None
    for line in (up_data_dir / "clouds.yaml").read_text().splitlines():
        stripped = line.strip()
        if line.startswith("  ") and not line.startswith("   ") and stripped.endswith(":"):
            current = json.loads(stripped[:-1])
        elif current == cloud and ":" in stripped and not stripped.endswith(":"):
            key, _, value = stripped.partition(":")
            login[key] = json.loads(value.strip())
    if not {"auth_url", "username", "password", "project_name"} <= login.keys():
        raise TempestError(f"no complete cloud {cloud!r} in {up_data_dir / 'clouds.yaml'}")
    return login


class KeystoneAdmin:
    """The Keystone v3 admin API of ``shoal up``, with its admin's project-scoped token."""

    def __init__(self, identity_url: str, login: dict[str, str]) -> None:
        self.base = identity_url.rstrip("/") + "/v3"
        self.http = httpx.Client(timeout=_HTTP_TIMEOUT_S)
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": login["username"], "password": login["password"],
                "domain": {"name": "Default"}}}},
            "scope": {"project": {"name": login["project_name"],
                                  "domain": {"name": "Default"}}},
        }}
        reply = self.http.post(self.base + "/auth/tokens", json=body)
        self._check(reply, "admin login")
        self.http.headers["X-Auth-Token"] = reply.headers["X-Subject-Token"]

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def _check(reply: httpx.Response, what: str) -> None:
        if reply.status_code >= 400:
            raise TempestError(f"{what}: {reply.status_code} {reply.text}")

    def find(self, collection: str, name: str) -> dict[str, object] | None:
        reply = self.http.get(f"{self.base}/{collection}", params={"name": name})
        self._check(reply, f"list {collection}")
        found = reply.json()[collection]
        return found[0] if found else None

    def ensure(self, collection: str, name: str, body: dict[str, object]) -> str:
        """The id of the ``collection`` entry called ``name``, created with ``body`` if new."""
        existing = self.find(collection, name)
        if existing is not None:
            return str(existing["id"])
        kind = collection[:-1]
        reply = self.http.post(f"{self.base}/{collection}",
                               json={kind: {"name": name, **body}})
        self._check(reply, f"create {kind} {name}")
        return str(reply.json()[kind]["id"])

    def ensure_user(self, name: str, password: str, project_id: str) -> str:
        """The id of user ``name`` whose password is now ``password``."""
        user_id = self.ensure("users", name, {"password": password, "domain_id": "default",
                                              "default_project_id": project_id,
                                              "enabled": True})
        reply = self.http.patch(f"{self.base}/users/{user_id}",
                                json={"user": {"password": password, "enabled": True}})
        self._check(reply, f"set the password of {name}")
        return user_id

    def grant(self, project_id: str, user_id: str, role_id: str) -> None:
        reply = self.http.put(f"{self.base}/projects/{project_id}/users/{user_id}/roles/"
                              f"{role_id}")
        self._check(reply, "grant")


def provision_accounts(identity_url: str, up_data_dir: Path,
                       admin_project: str = PROJECTS[0]) -> list[Account]:
    """Create (or reuse) the projects, users and grants of the accounts; new passwords.

    ``admin_project`` is the Tempest admin's project: the first of :data:`PROJECTS` (it
    shares it with a member and a reader), or a project of its own (created too), as
    tests that compare the admin's resources with the primary user's need (Tempest picks
    the primary account at random among the members).

    Idempotent: a second call finds the projects and users, sets fresh passwords and
    grants again (a grant that exists is a no-op in Keystone).
    """
    admin = KeystoneAdmin(identity_url, _cloud_login(up_data_dir))
    try:
        roles = {name: admin.ensure("roles", name, {}) for name in ("admin", "member",
                                                                    "reader")}
        projects = {name: admin.ensure("projects", name, {
            "domain_id": "default", "description": "Tempest's pre-provisioned accounts",
            "enabled": True}) for name in dict.fromkeys((*PROJECTS, admin_project))}
        accounts = []
        for username, plan_project, granted in _ACCOUNT_PLAN:
            project = admin_project if "admin" in granted else plan_project
            password = secrets.token_urlsafe(16)
            user_id = admin.ensure_user(username, password, projects[project])
            for role in granted:
                admin.grant(projects[project], user_id, roles[role])
            accounts.append(Account(username, password, project, granted))
        return accounts
    finally:
        admin.close()


def upload_image(identity_url: str, image_url: str, up_data_dir: Path, name: str,
                 data: bytes) -> str:
    """The id of the public raw image ``name`` holding ``data``, uploaded by the admin.

    Idempotent: an active image of that name is reused (Tempest's ``[compute] image_ref``,
    the image a real deployment has uploaded before Tempest runs).
    """
    admin = KeystoneAdmin(identity_url, _cloud_login(up_data_dir))
    images = image_url.rstrip("/") + "/v2/images"
    try:
        reply = admin.http.get(images, params={"name": name})
        admin._check(reply, "list images")
        for image in reply.json()["images"]:
            if image["status"] == "active":
                return str(image["id"])
        reply = admin.http.post(images, json={
            "name": name, "disk_format": "raw", "container_format": "bare",
            "visibility": "public"})
        admin._check(reply, f"create image {name}")
        image_id = str(reply.json()["id"])
        reply = admin.http.put(f"{images}/{image_id}/file", content=data,
                               headers={"Content-Type": "application/octet-stream"})
        admin._check(reply, f"upload image {name}")
        return image_id
    finally:
        admin.close()


# --- workspace and configuration ------------------------------------------------------------


def init_workspace(bin_dir: Path, workspace: Path) -> Path:
    """``tempest init`` a workspace in ``workspace`` (its registry kept beside it, not in ~)."""
    if not (workspace / ".stestr.conf").exists():
        result = subprocess.run(
            [str(bin_dir / "tempest"), "init", "--workspace-path",
             str(workspace.parent / "workspaces.yaml"), str(workspace)],
            capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise TempestError(f"tempest init failed:\n{result.stdout}{result.stderr}")
    return workspace


def _ini(sections: dict[str, dict[str, object]]) -> str:
    lines: list[str] = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        for key, value in options.items():
            text = str(value) if not isinstance(value, bool) else ("True" if value else "False")
            lines.append(f"{key} = {text}")
        lines.append("")
    return "\n".join(lines)


def tempest_config(identity_url: str, workspace: Path, accounts_file: Path
                   ) -> dict[str, dict[str, object]]:
    """The sections of ``tempest.conf`` for shoal's image service (see the comments)."""
    return {
        "DEFAULT": {"log_dir": workspace / "logs", "log_file": "tempest.log",
                    "use_stderr": False, "debug": True},
        "oslo_concurrency": {"lock_path": workspace / "tempest_lock"},
        "auth": {
            "use_dynamic_credentials": False,
            "test_accounts_file": accounts_file,
            "default_credentials_domain_name": "Default",
            "create_isolated_networks": False,
        },
        "identity": {
            "uri_v3": identity_url.rstrip("/") + "/v3",  # auth_version: v3 by default
            "region": REGION,
            "v3_endpoint_type": "public",
        },
        "service_available": {
            "glance": True, "cinder": False, "nova": False, "neutron": False,
            "swift": False, "horizon": False,
        },
        # Glance's default (secure RBAC) policy, which shoal enforces: readers read with
        # their own tokens.
        "enforce_scope": {"glance": True},
        "image": {
            "endpoint_type": "public",
            "region": REGION,
            # shoal has no http store and no tasks API: no remote image to fetch
            "http_image": "",
            "http_qcow2_image": "",
            "build_timeout": 60,
        },
        # (api_v2 is True by default; import_image and os_glance_reserved are deprecated
        # but still read)
        "image-feature-enabled": {
            "import_image": False,            # no /v2/images/{id}/import, /stage, /info
            "os_glance_reserved": True,       # os_glance* properties are refused (403)
            "manage_locations": False,        # no http store to add locations from
            "image_conversion": False,        # the guide's config converts nothing
            "image_format_enforcement": False,  # uploads are not inspected
            "do_secure_hash": True,           # os_hash_algo sha512 and os_hash_value
            "http_store_enabled": False,
            "store_weight_enabled": False,
        },
        "validation": {"run_validation": False},
    }


def write_config(identity_url: str, workspace: Path, accounts: Iterable[Account],
                 overrides: dict[str, dict[str, object]] | None = None) -> Path:
    """Write ``etc/accounts.yaml`` and ``etc/tempest.conf`` in ``workspace``; the config path.

    ``accounts.yaml`` is written as JSON (YAML reads it as it is). ``overrides`` adds or
    replaces options of :func:`tempest_config`, section by section (another service's run).
    """
    etc = workspace / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (workspace / "logs").mkdir(exist_ok=True)
    accounts_file = etc / "accounts.yaml"
    accounts_file.write_text(json.dumps([a.as_yaml_entry() for a in accounts], indent=1))
    accounts_file.chmod(0o600)
    config = etc / "tempest.conf"
    sections = tempest_config(identity_url, workspace, accounts_file)
    for section, options in (overrides or {}).items():
        sections[section] = {**sections.get(section, {}), **options}
    config.write_text(_ini(sections))
    return config


# --- running and results --------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One test's result: ``status`` is passed, failed or skipped."""

    test_id: str
    status: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class TempestRun:
    """What one ``tempest run`` did."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    seconds: float = 0.0
    returncode: int = 0
    output: str = ""

    def ids(self, status: str) -> list[str]:
        return sorted(i for i, o in self.outcomes.items() if o.status == status)

    def counts(self) -> dict[str, int]:
        found = Counter(o.status for o in self.outcomes.values())
        return {k: found.get(k, 0) for k in ("passed", "failed", "skipped")}

    def pass_rate(self) -> float:
        """Passed / (passed + failed); 0.0 when nothing ran."""
        counts = self.counts()
        ran = counts["passed"] + counts["failed"]
        return counts["passed"] / ran if ran else 0.0

    def report(self, tracebacks: bool = True) -> str:
        counts = self.counts()
        lines = [f"tempest: {counts['passed']} passed, {counts['failed']} failed, "
                 f"{counts['skipped']} skipped in {self.seconds:.0f} s "
                 f"(pass rate {100 * self.pass_rate():.1f} % of the tests that ran)"]
        failed = self.ids("failed")
        if failed:
            lines.append("failed:")
            lines += [f"  {i}" for i in failed]
        skipped = self.ids("skipped")
        if skipped:
            lines.append("skipped:")
            for test_id in skipped:
                reason = self.outcomes[test_id].detail.strip().splitlines()
                lines.append(f"  {test_id}: {reason[-1] if reason else '(no reason)'}")
        passed = self.ids("passed")
        if passed:
            lines.append("passed:")
            lines += [f"  {i}" for i in passed]
        if tracebacks:
            for test_id in failed:
                lines += ["", f"==== {test_id}", self.outcomes[test_id].detail.rstrip()]
        return "\n".join(lines) + "\n"


_STATUS = {"success": "passed", "xfail": "passed", "fail": "failed", "uxsuccess": "failed",
           "skip": "skipped"}


def _bare_id(test_id: str) -> str:
    return _ATTRS.sub("", test_id)


def read_subunit(bin_dir: Path, stream: Path) -> list[Outcome]:
    """The outcomes in a subunit v2 ``stream`` (read with Tempest's venv)."""
    result = subprocess.run([str(bin_dir / "python"), "-c", _SUBUNIT_READER, str(stream)],
                            capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise TempestError(f"cannot read {stream}:\n{result.stderr}")
    found = []
    for line in result.stdout.splitlines():
        item = json.loads(line)
        status = _STATUS.get(item["status"])
        if status is not None:
            found.append(Outcome(item["id"], status, item["detail"], item["seconds"]))
    return found


def merge_outcomes(listed: Iterable[str], reported: Iterable[Outcome]) -> dict[str, Outcome]:
    """Every listed test's outcome, keyed by id without the ``[id-...]`` attributes.

    A listed test that did not report takes its class's ``setUpClass`` outcome (failed or
    skipped); one with no outcome at all counts as failed. A ``tearDownClass`` failure
    counts as a failure of its own.
    """
    outcomes: dict[str, Outcome] = {}
    class_fixtures: dict[str, Outcome] = {}
    for outcome in reported:
        match = _CLASS_FIXTURE.match(outcome.test_id)
        if match and match.group(1) == "setUpClass":
            class_fixtures[match.group("cls")] = outcome
        else:
            key = outcome.test_id if match else _bare_id(outcome.test_id)
            outcomes[key] = Outcome(key, outcome.status, outcome.detail, outcome.seconds)
    for test_id in listed:
        key = _bare_id(test_id)
        if key in outcomes:
            continue
        fixture = class_fixtures.get(key.rsplit(".", 1)[0])
        if fixture is not None:
            outcomes[key] = Outcome(key, fixture.status,
                                    f"(setUpClass {fixture.status})\n{fixture.detail}")
        else:
            outcomes[key] = Outcome(key, "failed", "listed but never reported")
    for cls, fixture in class_fixtures.items():  # a class none of whose tests was listed
        if not any(k.startswith(cls + ".") for k in outcomes):
            key = f"setUpClass ({cls})"
            outcomes[key] = Outcome(key, fixture.status, fixture.detail)
    return outcomes


def list_tests(bin_dir: Path, workspace: Path, config: Path, regex: str) -> list[str]:
    """The ids ``tempest run --list-tests`` selects for ``regex``."""
    result = subprocess.run(
        [str(bin_dir / "tempest"), "run", "--config-file", str(config), "--regex", regex,
         "--list-tests"],
        cwd=workspace, capture_output=True, text=True, timeout=300, check=False,
        env=_env(bin_dir))
    if result.returncode != 0:
        raise TempestError(f"tempest run --list-tests failed:\n{result.stdout}{result.stderr}")
    return [line.strip() for line in result.stdout.splitlines()
            if line.strip().startswith("tempest.")]


def _env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "TEMPEST_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    return env


def run_tempest(bin_dir: Path, workspace: Path, config: Path, regex: str,
                concurrency: int = 1, timeout_s: float = 1800.0) -> TempestRun:
    """``tempest run`` the tests matching ``regex``; their outcomes (all listed tests).

    The subunit stream is kept as ``WORKSPACE/results.subunit`` and the console output as
    ``WORKSPACE/tempest-run.log``; Tempest's own log is ``WORKSPACE/logs/tempest.log``.

    Raises:
        TempestError: Tempest did not start or produced no results.
    """
    listed = list_tests(bin_dir, workspace, config, regex)
    stream = workspace / "results.subunit"
    began = time.monotonic()
    with stream.open("wb") as out:
        proc = subprocess.run(
            [str(bin_dir / "tempest"), "run", "--config-file", str(config), "--regex", regex,
             "--concurrency", str(concurrency), "--subunit"],
            cwd=workspace, stdout=out, stderr=subprocess.PIPE, timeout=timeout_s,
            check=False, env=_env(bin_dir))
    seconds = time.monotonic() - began
    output = proc.stderr.decode(errors="replace")
    (workspace / "tempest-run.log").write_text(output)
    reported = read_subunit(bin_dir, stream)
    if not reported:
        raise TempestError(f"tempest run reported nothing (exit {proc.returncode}):\n"
                           f"{output[-5000:]}")
    return TempestRun(outcomes=merge_outcomes(listed, reported), seconds=seconds,
                      returncode=proc.returncode, output=output)


def request_template(url: str) -> str:
    """A logged URL as a route: no origin, project id or query; UUIDs as ``{id}``."""
    for pattern, replacement in _URL_PARTS:
        url = pattern.sub(replacement, url)
    return url


def _exception_line(detail: str) -> str:
    """The last ``module.Exception: message`` line of a traceback, with its ``Details:``."""
    lines = [line.strip() for line in detail.strip().splitlines()]
    found = [i for i, line in enumerate(lines) if _EXCEPTION_LINE.match(line)]
    if not found:
        return lines[-1][:_CAUSE_CHARS] if lines else "(no detail)"
    at = found[-1]
    text = lines[at]
    if at + 1 < len(lines) and lines[at + 1].startswith("Details:"):
        text += " " + lines[at + 1]
    return text[:_CAUSE_CHARS]


def failure_causes(run: TempestRun, tempest_log: Path) -> dict[str, list[str]]:
    """The failed tests grouped by the first error reply they (or their class fixture) got.

    The key is ``STATUS METHOD /route`` of the first logged request with a status >= 400
    (an expected error of a negative test can come first), else the traceback's exception
    line (a wrong field or value, a timeout). Groups come largest first.
    """
    errors: dict[tuple[str, str], str] = {}
    for line in tempest_log.read_text(errors="replace").splitlines():
        match = _LOGGED_REQUEST.search(line)
        if match and int(match["status"]) >= 400:
            errors.setdefault((match["cls"], match["test"]),
                              f"{match['status']} {match['method']} "
                              f"{request_template(match['url'])}")
    groups: dict[str, list[str]] = {}
    for test_id in run.ids("failed"):
        outcome = run.outcomes[test_id]
        cls, _, test = test_id.rpartition(".")
        cls = cls.rpartition(".")[2]
        if outcome.detail.startswith("(setUpClass failed)"):
            test = "setUpClass"
        cause = errors.get((cls, test))
        if cause is None:
            cause = _exception_line(outcome.detail)
        elif test == "setUpClass":
            cause += " (setUpClass)"
        groups.setdefault(cause, []).append(test_id)
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))


def causes_report(groups: dict[str, list[str]]) -> str:
    """:func:`failure_causes` as text: ``N  cause`` then the tests, indented."""
    lines = ["failures by first error reply:"]
    for cause, test_ids in groups.items():
        lines.append(f"  {len(test_ids):3d}  {cause}")
        lines += [f"         {i}" for i in test_ids]
    return "\n".join(lines) + "\n"
