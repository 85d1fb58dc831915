"""What the reliability tests share: one real hub with four people and their servers, every
secret issued during the run, every page fetched, and tables for the test output.

The hub is the top-level jupyterhub_config.py (MiniCluster-credentials login, the local
MiniCluster and the accounts service as hub-managed services, single-user servers with the
flux-hub server extension), started by tests/e2e/hubprocess.py with three users and an admin.
"""

import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import jwt
import psutil
import requests
from e2e.hubprocess import HubProcess

from flux_hub.restful.protocol import Protocol

HUB_CONFIG = Path(__file__).resolve().with_name("jupyterhub_config.py")
USERS = ("alice", "bob", "carol")
ADMIN = "hubadmin"
PEOPLE = (*USERS, ADMIN)
FLUX_ENV = ("FLUX_RESTFUL_HOST", "FLUX_USER", "FLUX_TOKEN", "FLUX_SECRET_KEY")
SERVICE = "/services/flux-accounts/"

# Tables and numbers for the end of the test output: {title: [line, ...]}.
REPORTS = {}


def report(title, lines):
    REPORTS[title] = list(lines)


def table(header, rows):
    """Lines of a plain text table (columns as wide as their widest cell)."""
    rows = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return [line.rstrip() for line in lines]


def wait_until(check, timeout, what, interval=0.3):
    """Poll ``check()`` until it returns something true; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(interval)


# -- secrets -------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD")
ENV_KINDS = {
    "FLUX_SECRET_KEY": "cluster handshake key",
    "FLUX_TOKEN_SIGNING_KEY": "cluster token signing key",
    "FLUX_TOKEN": "flux password",
    "JUPYTERHUB_CRYPT_KEY": "hub key",
}
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")


@dataclass(frozen=True)
class Secret:
    value: str
    kind: str
    owner: str | None = None  # the person it belongs to; None: the servers' own


class Secrets:
    """Every password, key and token issued in the run, and where to look for them.

    Besides the values themselves, any JWT that verifies with a registered signing key counts:
    that finds flux-restful access tokens the test process never saw (the ones users' servers
    hold) and handshake JWTs (they carry a password).
    """

    def __init__(self):
        self._values = {}
        self.signing_keys = {}  # key -> what it signs
        self.logs = set()  # log files to scan

    def add(self, value, kind, owner=None):
        if isinstance(value, str) and len(value) >= 8 and value not in self._values:
            self._values[value] = Secret(value, kind, owner)

    def add_signing_key(self, key, kind):
        self._values[key] = Secret(key, kind)
        self.signing_keys[key] = kind

    def add_process_environments(self, processes):
        """The tokens and keys in processes' environments (a server's, a service's, the
        hub's own); what every process inherits from this machine is nobody's secret."""
        for process in processes:
            try:
                env = process.environ()
            except psutil.Error:
                continue  # gone since it was listed
            owner = env.get("JUPYTERHUB_USER")
            for name, value in env.items():
                if SECRET_NAME.search(name) and value and os.environ.get(name) != value:
                    kind = ENV_KINDS.get(name, name.lower())
                    self.add(value, kind, None if kind == "cluster handshake key" else owner)

    def __iter__(self):
        return iter(self._values.values())

    def __len__(self):
        return len(self._values)

    def kinds(self):
        counts = {}
        for secret in self:
            counts[secret.kind] = counts.get(secret.kind, 0) + 1
        return counts

    def found_in(self, text):
        """The secrets in ``text``, including unseen tokens signed with a registered key."""
        hits = [secret for value, secret in self._values.items() if value in text]
        for candidate in set(JWT.findall(text)) - set(self._values):
            for key, kind in self.signing_keys.items():
                try:
                    claims = jwt.decode(
                        candidate, key, algorithms=["HS256"], options={"verify_exp": False}
                    )
                except jwt.PyJWTError:
                    continue
                owner = claims.get("sub") or claims.get("user")
                hits.append(Secret(candidate, f"a JWT signed with the {kind}", owner))
        return hits


@contextmanager
def recording_flux_tokens(secrets):
    """Register every flux-restful access token any client in this process is issued."""
    original = Protocol._token_from

    def token_from(self, response):
        token = original(self, response)
        secrets.add(token, "flux access token", self.user)
        return token

    Protocol._token_from = token_from
    try:
        yield
    finally:
        Protocol._token_from = original


# -- pages ---------------------------------------------------------------------------------


@dataclass
class Page:
    method: str
    url: str
    status: int
    text: str
    requester: str | None

    @property
    def path(self):
        return unquote(urlsplit(self.url).path)

    def subject(self):
        """Whose credentials this page is meant to show, or None for any other page."""
        path = self.path
        if path.endswith((f"{SERVICE}api/me/credentials", f"{SERVICE}credentials")):
            return self.requester
        match = re.search(r"/accounts/([^/]+)/credentials$|/hub/api/users/([^/]+)/tokens$", path)
        if match:
            return match.group(1) or match.group(2)
        # JupyterHub's admin role reads users' auth_state (admin:auth_state); flux-hub keeps no
        # credentials there, but an authenticator wrapped by with_flux_accounts may keep its own.
        match = re.search(r"/hub/api/users/([^/]+)$", path)
        return match.group(1) if match and self.requester == ADMIN else None

    def may_show(self, secret):
        """Whether this page is meant to show ``secret``.

        A credentials page shows the account it is about (its password and the cluster's
        handshake key, which flux-restful-cli needs). Every HTML page a single-user server
        renders carries that server's own API token for its front end (jupyter_server's
        data-jupyter-api-token); only its owner (or an admin) can load such a page.
        """
        subject = self.subject()
        if subject is not None and (
            secret.kind == "cluster handshake key"
            or (secret.owner == subject and secret.kind in ("flux password", "hub API token"))
        ):
            return True
        server = re.match(r"/user/([^/]+)/", self.path)
        return (
            bool(server)
            and secret.kind == "jupyterhub_api_token"
            and (secret.owner == server.group(1))
        )


class Pages:
    """Every answer from the hub (its pages, the service, users' servers) this process read.

    Streams are left out (the tests read them themselves); the requester is found from the
    hub token sent, or from the login session it came with.
    """

    def __init__(self, hub_url, secrets):
        self.hub_url = hub_url
        self.secrets = secrets
        self.seen = []
        self.sessions = {}  # id(requests.Session) -> person logged in with it

    @contextmanager
    def recording(self):
        original = requests.Session.send
        pages = self

        def send(session, request, **kwargs):
            response = original(session, request, **kwargs)
            if request.url.startswith(pages.hub_url) and not kwargs.get("stream"):
                pages.seen.append(
                    Page(
                        request.method,
                        request.url,
                        response.status_code,
                        response.text,
                        pages._requester(session, request),
                    )
                )
            return response

        requests.Session.send = send
        try:
            yield self
        finally:
            requests.Session.send = original

    def _requester(self, session, request):
        header = request.headers.get("Authorization", "")
        if header.startswith("token "):
            for secret in self.secrets:
                if secret.value == header[6:]:
                    return secret.owner
        return self.sessions.get(id(session))


# -- the hub and its people ----------------------------------------------------------------


@dataclass
class Person:
    name: str
    password: str  # the MiniCluster password they log in to the hub with
    token: str  # a hub API token of theirs
    session: requests.Session = field(repr=False)  # logged in at /hub/login

    @property
    def admin(self):
        return self.name == ADMIN


class ReliabilityHub(HubProcess):
    """The hub of these tests; whatever secrets its processes get at a start are recorded."""

    def __init__(self, workdir, secrets):
        super().__init__(
            HUB_CONFIG,
            workdir,
            env={"FLUX_HUB_USERS": " ".join(PEOPLE), "FLUX_HUB_ADMIN": ADMIN},
        )
        self.secrets = secrets
        self.people = {}

    def start(self, timeout=120):
        super().start(timeout)
        self.secrets.add_process_environments(self.processes())
        return self

    def cluster_state(self):
        return json.loads((self.state / "cluster" / "flux-hub-local.json").read_text())

    def server_process(self, name):
        """The user's single-user server process (whether or not the hub knows it)."""
        api = f"http://127.0.0.1:{self.hub_port}/"
        for process in psutil.process_iter(["cmdline"]):
            if "jupyterhub.singleuser" not in (process.info["cmdline"] or []):
                continue
            try:
                env = process.environ()
            except psutil.Error:
                continue
            if env.get("JUPYTERHUB_USER") == name and env.get("JUPYTERHUB_API_URL", "").startswith(
                api
            ):
                return process
        return None

    def injected(self, name):
        """The FLUX_* credentials the hub gave the user's running server."""
        env = self.server_process(name).environ()
        return {key: env[key] for key in FLUX_ENV}

    def processes(self):
        """Every live process of this hub: itself, the proxy, services, users' servers and
        their children (servers outlive a hub restart, so they are found by environment)."""
        found = {}
        roots = [psutil.Process(self.proc.pid)] if self.proc and self.proc.poll() is None else []
        api = f"http://127.0.0.1:{self.hub_port}/"
        for process in psutil.process_iter():
            try:
                if process.environ().get("JUPYTERHUB_API_URL", "").startswith(api):
                    roots.append(process)
            except psutil.Error:
                continue
        for root in roots:
            try:
                for process in [root, *root.children(recursive=True)]:
                    found[process.pid] = process
            except psutil.Error:
                continue
        return list(found.values())

    def start_servers(self, people, timeout=180):
        """Start several people's servers at once; returns when all are ready."""
        for person in people:
            response = self.api(person.token, "POST", f"users/{quote(person.name)}/server")
            assert response.status_code in (201, 202, 400), response.text  # 400: already running
        for person in people:

            def ready(person=person):
                user = self.api(person.token, "GET", f"users/{quote(person.name)}").json()
                server = user.get("servers", {}).get("")
                return server if server and server.get("ready") else None

            wait_until(ready, timeout, f"{person.name}'s server start")
        self.secrets.add_process_environments(self.processes())

    def stop_servers(self, people, timeout=60):
        for person in people:
            self.api(person.token, "DELETE", f"users/{quote(person.name)}/server")
        for person in people:
            wait_until(
                lambda person=person: self.server_process(person.name) is None,
                timeout,
                f"{person.name}'s server stop",
            )

    def ext(self, person, owner, method, path, headers=None, timeout=120, **kwargs):
        """A call of the flux-hub API on ``owner``'s server, made with ``person``'s hub token."""
        return requests.request(
            method,
            f"{self.url}/user/{quote(owner)}/flux-hub/api/{path}",
            headers={"Authorization": f"token {person.token}", **(headers or {})},
            timeout=timeout,
            **kwargs,
        )

    def login_session(self):
        """A browser's session on the login page: its cookies and the form's xsrf token."""
        session = requests.Session()
        page = session.get(f"{self.url}/hub/login", timeout=30)
        page.raise_for_status()
        session.login_page = page.text
        session.xsrf = session.cookies.get("_xsrf", path="/hub/") or session.cookies.get("_xsrf")
        return session
