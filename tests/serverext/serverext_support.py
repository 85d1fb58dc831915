"""Helpers of the server extension's tests: server config, the API as the panel calls it, and a
real single-user server process."""

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests
from jupyterhub.utils import random_port

REPO = Path(__file__).resolve().parents[2]
SERVER_CONFIG = REPO / "jupyter-config" / "server-config" / "flux_hub.json"


def server_config(cluster=None, user=None, **flux_hub):
    """Config of a Jupyter server with only the flux-hub extension, where nothing is reachable
    without the server's token; its account is ``user``'s on ``cluster`` if given."""
    settings = {}
    if cluster is not None:
        settings.update(host=cluster.url, secret_key=cluster.secret_key)
    if user is not None:
        settings.update(user=user, token=cluster.passwords[user])
    settings.update(flux_hub)
    return {
        "ServerApp": {
            "jpserver_extensions": {"flux_hub": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "FluxHub": settings,
    }


class Api:
    """The flux-hub API of the test server as the panel calls it: (status, JSON) answers."""

    def __init__(self, fetch):
        self._fetch = fetch

    async def call(self, method, *path, body=None, **kwargs):
        if body is not None:
            kwargs["body"] = body if isinstance(body, str | bytes) else json.dumps(body)
        elif method == "POST":
            kwargs["body"] = b""
        response = await self._fetch(
            "flux-hub", "api", *path, method=method, raise_error=False, **kwargs
        )
        data = json.loads(response.body) if response.body else None
        return response.code, data

    async def get(self, *path, **kwargs):
        return await self.call("GET", *path, **kwargs)

    async def post(self, *path, body=None, **kwargs):
        return await self.call("POST", *path, body=body, **kwargs)

    async def submit(self, **fields):
        code, data = await self.post("jobs", body=fields)
        assert code == 201, data
        return data["id"]

    async def wait(self, job_id, state="INACTIVE", timeout=60):
        """Poll the job through the API until it reaches ``state``; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            code, job = await self.get("jobs", str(job_id))
            assert code == 200, job
            if job["state"] == state:
                return job
            assert state != "RUN" or job["state"] != "INACTIVE", job
            assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
            await asyncio.sleep(0.2)


class JobList:
    """The jobs list as the panel keeps it: one complete answer, then refreshes that pass its
    version back (``?since=``) and merge what changed. ``answers`` keeps every raw answer."""

    def __init__(self, api):
        self.api = api
        self.version = None
        self.records = {}
        self.names = {}
        self.answers = []

    async def refresh(self, **params):
        """Refresh; returns the list as the panel shows it (flux-hub names in "name").
        ``params``: more of the query (``rescan="1"``, as the panel's Refresh button)."""
        if self.version:
            params["since"] = self.version
        code, data = await self.api.get("jobs", params=params or None)
        assert code == 200, data
        self.answers.append(data)
        records = {job["id"]: job for job in data["jobs"]}
        if data["complete"]:
            assert "ids" not in data
            self.records, self.names = records, {}
        else:
            ids = data.get("ids", list(self.records))  # no ids: same jobs in the same order
            unknown = [i for i in ids if i not in records and i not in self.records]
            assert not unknown, f"a delta left out jobs the panel never had: {unknown}"
            self.records = {i: records.get(i) or self.records[i] for i in ids}
        self.names.update((int(job_id), name) for job_id, name in data["names"].items())
        self.version = data["version"]
        return self.jobs()

    def jobs(self):
        return [
            {**job, "name": self.names.get(job_id, job["name"])}
            for job_id, job in self.records.items()
        ]


def record_requests(service):
    """The requests the service makes to flux-restful, as (method, args)."""
    asked = []
    client = service.client
    for method in ("list_jobs", "jobs", "jobs_body", "job"):
        original = getattr(client, method)

        async def recorded(*args, _original=original, _method=method, **kwargs):
            asked.append((_method, args))
            return await _original(*args, **kwargs)

        setattr(client, method, recorded)
    return asked


class UserServer:
    """A real `jupyter server` process started the way the hub starts one: credentials in its
    environment, the extension enabled by flux-hub's jupyter-config file only."""

    def __init__(self, tmp_path, env):
        self.token = secrets.token_hex(16)
        self.port = random_port()
        config_path = tmp_path / "etc-jupyter"
        (config_path / "jupyter_server_config.d").mkdir(parents=True)
        shutil.copy(SERVER_CONFIG, config_path / "jupyter_server_config.d" / "flux_hub.json")
        (tmp_path / "home").mkdir()
        env = {
            **os.environ,
            **env,
            "HOME": str(tmp_path / "home"),
            "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
            "JUPYTER_CONFIG_PATH": str(config_path),
            "JUPYTER_DATA_DIR": str(tmp_path / "data"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
            "JUPYTER_TOKEN": self.token,  # in the environment, never in argv
        }
        self.log = open(tmp_path / "server.log", "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_unauthenticated_access=False",
                "--allow-root",
                f"--ServerApp.root_dir={tmp_path}",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}/flux-hub/api/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"
        self._wait_ready(tmp_path / "server.log")

    def _wait_ready(self, log_path, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, log_path.read_text()[-3000:]
            try:
                if self.session.get(self.url + "cluster", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not up yet, or slow to answer on a busy machine
                pass
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.3)

    def call(self, method, path, **kwargs):
        response = self.session.request(method, self.url + path, timeout=30, **kwargs)
        return response.status_code, response.json()

    def stop(self):
        self.session.close()
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
