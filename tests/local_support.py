"""Talk to a local MiniCluster over HTTP with plain requests (independent of flux_hub.restful)."""

import pwd
import subprocess
import time

import pytest
import requests


class Api:
    """One user's view of a flux-restful server, logged in with the OAuth2 form."""

    def __init__(self, url, user, password):
        self.url = url
        self.user = user
        self.session = requests.Session()
        response = self.session.post(
            f"{url}/v1/login/access-token", data={"username": user, "password": password}
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def get(self, path, **kwargs):
        return self.session.get(f"{self.url}{path}", timeout=30, **kwargs)

    def post(self, path, **kwargs):
        return self.session.post(f"{self.url}{path}", timeout=30, **kwargs)

    def submit(self, command, envars=None, **params):
        response = self.post("/v1/jobs/submit", params={"command": command, **params}, json=envars)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def info(self, jobid):
        response = self.get(f"/v1/jobs/{jobid}")
        assert response.status_code == 200, response.text
        return response.json()

    def output(self, jobid):
        return self.get(f"/v1/jobs/{jobid}/output").json().get("Output", [])

    def wait(self, jobid, state="INACTIVE", timeout=60):
        """Poll until the job reaches state (or ends); returns its info."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.info(jobid)
            if info["state"] in (state, "INACTIVE"):
                assert info["state"] == state, info
                return info
            assert time.monotonic() < deadline, f"job {jobid} still {info['state']}"
            time.sleep(0.1)

    def run(self, command, **params):
        """Submit, wait for the end; returns (info, output text)."""
        jobid = self.submit(command, **params)
        info = self.wait(jobid)
        return info, "".join(self.output(jobid))


def assert_same_as_restful(api, job, added, slack):
    """``job`` (a record flux-hub made from a listing) is flux-restful's own answer to
    ``api.info`` for it, but for the keys flux-hub ``added`` and a running job's runtime (which
    counts up while it runs: within ``slack`` seconds)."""
    theirs = api.info(job["id"])
    ours = {key: value for key, value in job.items() if key not in added}
    if ours["state"] in ("RUN", "CLEANUP"):
        assert ours.pop("runtime") == pytest.approx(theirs.pop("runtime"), abs=slack)
    assert ours == theirs


def api(cluster, user):
    return Api(cluster.url, user, cluster.passwords[user])


def f58(number):
    """RFC 19 F58 encoding, written out here so the test does not trust the code under test."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    digits = ""
    while True:
        number, remainder = divmod(number, 58)
        digits = alphabet[remainder] + digits
        if not number:
            return digits


def as_account(name, argv, *, path=("/usr/bin", "/bin"), timeout=60, **kwargs):
    """Run ``argv`` as Unix account ``name`` (a real second user, as an attacker with a
    terminal is): its uid and gid, no other groups, in its home, with a bare environment whose
    PATH is ``path``. A string is run by sh. Needs root."""
    account = pwd.getpwnam(name)
    if isinstance(argv, str):
        argv = ["sh", "-c", argv]
    return subprocess.run(
        argv,
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[],
        env={"HOME": account.pw_dir, "PATH": ":".join(path)},
        cwd=account.pw_dir,
        timeout=timeout,
        **kwargs,
    )
