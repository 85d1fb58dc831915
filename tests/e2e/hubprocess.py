"""A real `jupyterhub` process (with configurable-http-proxy) driven over HTTP like a person.

Everything the hub and its services print goes to ``hub.log`` in the work directory; the tests
scan it (and the cluster's log) for secrets at the end.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests
from jupyterhub.utils import random_port

REPO = Path(__file__).resolve().parents[2]
TOP_CONFIG = REPO / "jupyterhub_config.py"
PROVISIONED_CONFIG = REPO / "examples" / "hub-provisioned" / "jupyterhub_config.py"
SERVICE = "flux-accounts"


class HubProcess:
    def __init__(self, config, workdir, env=None):
        self.config = Path(config)
        self.workdir = Path(workdir)
        self.state = self.workdir / "state"
        self.log_path = self.workdir / "hub.log"
        self.port, self.hub_port, self.api_port = random_port(), random_port(), random_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("FLUX_", "JUPYTERHUB_"))},
            "FLUX_HUB_STATE_DIR": str(self.state),
            "FLUX_HUB_CLUSTER_PORT": str(random_port()),
            **(env or {}),
        }
        self.proc = None
        self.starts = 0

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout=120):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyterhub",
                    "-f",
                    str(self.config),
                    f"--JupyterHub.bind_url={self.url}",
                    f"--JupyterHub.hub_bind_url=http://127.0.0.1:{self.hub_port}",
                    f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{self.api_port}",
                ],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # no controlling terminal, its own process group
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._kill_proxy()
                raise RuntimeError(f"jupyterhub exited ({self.proc.returncode}):\n{self.tail()}")
            if self._ready():
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"jupyterhub did not come up within {timeout} s:\n{self.tail()}")

    def _ready(self):
        try:
            hub = requests.get(f"{self.url}/hub/api/", timeout=5)
            service = requests.get(
                f"{self.url}/services/{SERVICE}/api/me", timeout=5, allow_redirects=False
            )
            cluster = requests.get(f"{self.cluster_url}/v1/auth", timeout=5)
        except requests.RequestException:
            return False
        # the legacy flux-restful-api has no /v1/auth: its 404 is its answer
        up = cluster.status_code == 404 if self.legacy else cluster.ok
        return hub.status_code == 200 and service.status_code == 401 and up

    @property
    def legacy(self):
        return self.env.get("FLUX_HUB_CLUSTER_SERVER") == "legacy"

    @property
    def cluster_url(self):
        return f"http://127.0.0.1:{self.env['FLUX_HUB_CLUSTER_PORT']}"

    def stop(self, timeout=90):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self._kill_proxy()  # in a session of its own: the hub would have stopped it
            raise RuntimeError(f"jupyterhub did not stop within {timeout} s") from None
        finally:
            self._wait_port_free(self.port)

    def _kill_proxy(self):
        try:
            os.kill(int((self.state / "jupyterhub-proxy.pid").read_text()), signal.SIGTERM)
        except (OSError, ValueError):
            pass

    def _wait_port_free(self, port, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) != 0:
                    return
            time.sleep(0.2)

    def restart(self):
        self.stop()
        return self.start()

    def log_text(self, since_last_start=False):
        text = self.log_path.read_text(errors="replace")
        return text[self.log_offset :] if since_last_start else text

    def tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def logs(self):
        """Every log file the run produced: the hub's (services and servers included) and any
        *.log below the state directory (the cluster's server log)."""
        return [self.log_path, *sorted(self.state.rglob("*.log"))]

    # -- people ---------------------------------------------------------------------------
    def login(self, name, password):
        """Log in at /hub/login like a browser; returns a logged-in requests.Session."""
        session = requests.Session()
        page = session.get(f"{self.url}/hub/login", timeout=30)
        page.raise_for_status()
        xsrf = session.cookies.get("_xsrf", path="/hub/") or session.cookies.get("_xsrf")
        response = session.post(
            f"{self.url}/hub/login",
            data={"username": name, "password": password, "_xsrf": xsrf},
            timeout=60,
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise PermissionError(f"login of {name} failed: {response.status_code}")
        # The hub binds its xsrf token to the login session and sets a new one now.
        session.xsrf = session.cookies.get("_xsrf", path="/hub/")
        return session

    def token_for(self, session, name):
        """An API token, made on the hub's token page API with the person's login cookie."""
        response = session.post(
            f"{self.url}/hub/api/users/{quote(name)}/tokens",
            json={"note": "e2e", "expires_in": 3600},
            headers={"X-XSRFToken": session.xsrf},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["token"]

    def api(self, token, method, path, **kwargs):
        """A hub REST API call (what the admin page calls) with an API token."""
        headers = {"Authorization": f"token {token}"}
        return requests.request(
            method, f"{self.url}/hub/api/{path}", headers=headers, timeout=120, **kwargs
        )

    def service(self, token, method, path, **kwargs):
        headers = {"Authorization": f"token {token}"}
        return requests.request(
            method,
            f"{self.url}/services/{SERVICE}/{path}",
            headers=headers,
            timeout=120,
            **kwargs,
        )

    def start_server(self, token, name, timeout=120):
        response = self.api(token, "POST", f"users/{quote(name)}/server")
        assert response.status_code in (201, 202), response.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            user = self.api(token, "GET", f"users/{quote(name)}").json()
            server = user.get("servers", {}).get("")
            if server and server.get("ready"):
                return server
            time.sleep(0.5)
        raise RuntimeError(f"{name}'s server did not start:\n{self.tail()}")

    def stop_server(self, token, name):
        self.api(token, "DELETE", f"users/{quote(name)}/server")

    def server(self, token, name, method, path, **kwargs):
        """A request to the user's single-user server (the flux-hub server extension)."""
        headers = {"Authorization": f"token {token}"}
        return requests.request(
            method,
            f"{self.url}/user/{quote(name)}/{path}",
            headers=headers,
            timeout=120,
            **kwargs,
        )

    def run_job(self, token, name, command, timeout=60):
        """Submit through the user's server; returns (job id, output text)."""
        response = self.server(token, name, "POST", "flux-hub/api/jobs", json={"command": command})
        assert response.status_code == 201, response.text
        job = response.json()["id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.server(token, name, "GET", f"flux-hub/api/jobs/{job}").json()
            if info.get("state") == "INACTIVE":
                output = self.server(token, name, "GET", f"flux-hub/api/jobs/{job}/output")
                return job, "".join(output.json()["output"])
            time.sleep(0.3)
        raise RuntimeError(f"job {job} of {name} did not finish")

    def server_pid(self, name):
        """The pid of the person's running single-user server of this hub (found by its
        JUPYTERHUB_USER and its JUPYTERHUB_API_URL: another hub on the machine, such as another
        test run's, may run a server for the same person)."""
        api_url = f"JUPYTERHUB_API_URL=http://127.0.0.1:{self.hub_port}/".encode()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                b"jupyterhub.singleuser" in argv
                and f"JUPYTERHUB_USER={name}".encode() in environ
                and any(item.startswith(api_url) for item in environ)
            ):
                return int(entry)
        return None

    def in_server(self, name, argv, timeout=120):
        """Run argv as a terminal in the person's server would: with that server's environment,
        Unix account and groups (read from /proc; the tests run as root)."""
        pid = self.server_pid(name)
        assert pid, f"{name}'s server is not running"
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        uid, gid, groups = process_identity(pid)
        return subprocess.run(
            argv,
            env=env,
            user=uid,
            group=gid,
            extra_groups=groups,
            cwd=env.get("HOME", "/"),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def announced_passwords(self):
        """{account: password} printed seed-style to the state directory's file, including
        those read before: the hub removes each line at its person's first login."""
        announced = self.__dict__.setdefault("_announced", {})
        path = self.state / "new-passwords.txt"
        if path.exists():
            pattern = re.compile(r"^Adding '([^']+)' with password '([^']+)'$")
            lines = path.read_text().splitlines()
            announced.update(pattern.match(line).groups() for line in lines)
        return dict(announced)

    def cluster_secrets(self):
        """The local cluster's keys and superuser password (from its 0600 state file)."""
        state = json.loads((self.state / "cluster" / "flux-hub-local.json").read_text())
        return [state["secret_key"], state["token_signing_key"], *state["passwords"].values()]

    def hub_secrets(self):
        found = []
        for name in ("jupyterhub-crypt-key", "jupyterhub_cookie_secret"):
            path = self.state / name
            if path.exists():
                found.append(path.read_text().strip())
        return found


def assert_no_failed_request(log):
    """The accounts service was asked, never answered a 500 and never logged an uncaught
    exception."""
    assert "/services/flux-accounts" in log
    assert not re.search(r"\b500 (GET|POST) /services/flux-accounts", log)
    assert "Uncaught exception" not in log


def process_identity(pid):
    """(uid, gid, groups) of a running process, from /proc/PID/status."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (
        int(fields["Uid"].split()[1]),
        int(fields["Gid"].split()[1]),
        [int(g) for g in fields["Groups"].split()],
    )


def find_secrets(paths, secrets):
    """[(file, secret prefix)] for every secret found in any of the files."""
    hits = []
    for path in paths:
        text = Path(path).read_text(errors="replace")
        for secret in {s for s in secrets if s and len(s) >= 8}:
            if secret in text:
                hits.append((str(path), secret[:4] + "..."))
    return hits
