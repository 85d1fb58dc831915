"""End to end on the seed's own server: the top-level jupyterhub_config.py with the local cluster
running the legacy flux-restful-api (FLUX_HUB_CLUSTER_SERVER=legacy), for real, on the lane's Flux.

login -> spawn -> the panel's list, submit, output, cancel -> a notebook's API and %%flux; the
warning where people look; an account the admin adds works at once.
"""

import os
import re
import shutil
import sqlite3
import sys
import textwrap
import time

import bcrypt
import pytest

from flux_hub.local.legacy import SOURCE_ENV
from flux_hub.restful import LEGACY_WARNING, FluxRestfulClient

from .hubprocess import TOP_CONFIG, HubProcess, find_secrets

pytestmark = pytest.mark.timeout(900)

SEEDED = ("alice", "bob", "carol")


@pytest.fixture(scope="module")
def secrets():
    return set()


@pytest.fixture(scope="module")
def hub(tmp_path_factory, secrets):
    assert shutil.which("configurable-http-proxy"), "npm install -g configurable-http-proxy"
    env = {"FLUX_HUB_CLUSTER_SERVER": "legacy"}
    if os.environ.get(SOURCE_ENV):
        env[SOURCE_ENV] = os.environ[SOURCE_ENV]
    hub = HubProcess(TOP_CONFIG, tmp_path_factory.mktemp("hub-legacy"), env=env)
    hub.start(timeout=300)
    yield hub
    found = [*secrets, *hub.cluster_secrets(), *hub.announced_passwords().values()]
    hub.stop()
    # after every test, in whatever order they ran (the test below checks the run so far)
    assert not find_secrets(hub.logs(), [*found, *hub.hub_secrets()])


@pytest.fixture(scope="module")
def passwords(hub, secrets):
    found = hub.announced_passwords()
    secrets.update(found.values())
    return found


@pytest.fixture(scope="module")
def bob(hub, passwords, secrets):
    """bob, logged in, with his server spawned by the hub (once for the module)."""
    token = own_token(hub, "bob", passwords["bob"], secrets)
    hub.start_server(token, "bob")
    yield token
    hub.stop_server(token, "bob")


def own_token(hub, name, password, secrets):
    token = hub.token_for(hub.login(name, password), name)
    secrets.add(token)
    return token


def wait_state(hub, token, name, job, states, timeout=60):
    deadline = time.monotonic() + timeout
    while (info := hub.server(token, name, "GET", f"flux-hub/api/jobs/{job}").json())[
        "state"
    ] not in states:
        assert time.monotonic() < deadline, info
        time.sleep(0.3)
    return info


def test_the_hub_log_warns_at_start(hub):
    assert LEGACY_WARNING in hub.log_text()


def test_the_seeded_accounts_are_bcrypt_rows_of_its_own_init_db(hub, passwords):
    assert set(passwords) == set(SEEDED)
    db = hub.state / "cluster" / "flux-restful-api" / "flux-restful.db"
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT user_name, hashed_password FROM user").fetchall())
    for name in SEEDED:
        assert rows[name].startswith("$2b$12$")
        assert bcrypt.checkpw(passwords[name].encode(), rows[name].encode())


def test_login_spawn_and_the_panel_on_the_legacy_server(hub, bob):
    token = bob
    cluster = hub.server(token, "bob", "GET", "flux-hub/api/cluster").json()
    assert cluster["account"] == "bob" and cluster["reachable"] is True
    assert (cluster["legacy"], cluster["warning"]) == (True, LEGACY_WARNING)
    # submit and read its output
    job, output = hub.run_job(token, "bob", "sh -c 'echo hello from the legacy server'")
    assert output == "hello from the legacy server\n"
    # the list (ids plus one info each: every job, in full)
    more = [hub.run_job(token, "bob", f"echo {n}")[0] for n in range(2)]
    listed = hub.server(token, "bob", "GET", "flux-hub/api/jobs", params={"rescan": "1"})
    assert listed.status_code == 200, listed.text
    jobs = {j["id"]: j for j in listed.json()["jobs"]}
    assert {job, *more} <= set(jobs)
    assert {jobs[i]["result"] for i in (job, *more)} == {"COMPLETED"}
    # a running job: no output asked of the server yet; then cancel it
    submitted = hub.server(token, "bob", "POST", "flux-hub/api/jobs", json={"command": "sleep 120"})
    running = submitted.json()["id"]
    wait_state(hub, token, "bob", running, {"RUN"})
    started = time.monotonic()
    out = hub.server(token, "bob", "GET", f"flux-hub/api/jobs/{running}/output")
    assert (out.status_code, out.json()) == (200, {"output": []})
    assert time.monotonic() - started < 5
    cancel = hub.server(token, "bob", "POST", f"flux-hub/api/jobs/{running}/cancel")
    assert cancel.status_code == 200, cancel.text
    assert wait_state(hub, token, "bob", running, {"INACTIVE"})["result"] == "CANCELED"


NOTEBOOK = textwrap.dedent(
    """
    from IPython.core.interactiveshell import InteractiveShell
    from flux_hub.notebook import connect

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "flux_hub")
    cell = shell.run_cell("%%flux --name from-a-cell --wait\\necho cell says hi\\n")
    assert cell.success, cell.error_in_exec
    flux = connect()
    job = flux.submit(["sh", "-c", "echo python says hi"], name="from-python")
    print("OUTPUT", repr(job.wait(timeout=60).output()))
    print("NAMES", sorted(j.name for j in flux.jobs() if j.name.startswith("from-")))
    """
)


def test_a_notebook_kernel_submits_with_the_api_and_flux_magic(hub, bob):
    """A kernel of bob's server (its environment and account), as a notebook runs it."""
    done = hub.in_server("bob", [sys.executable, "-c", NOTEBOOK])
    assert done.returncode == 0, done.stderr
    assert "cell says hi" in done.stdout  # %%flux --wait shows the output
    assert "OUTPUT 'python says hi\\n'" in done.stdout
    assert "NAMES ['from-a-cell', 'from-python']" in done.stdout
    # the panel shows both under their names
    names = hub.server(bob, "bob", "GET", "flux-hub/api/jobs").json()["names"]
    assert {"from-a-cell", "from-python"} <= set(names.values())


def test_the_accounts_pages_carry_the_warning(hub, passwords):
    session = hub.login("alice", passwords["alice"])
    for page in ("", "admin"):
        text = session.get(f"{hub.url}/services/flux-accounts/{page}", timeout=60).text
        assert 'id="flux-legacy-warning"' in text
        assert "any user can read and cancel any job" in text
        assert not re.search(r"isolat", text, re.IGNORECASE)
        if page == "":  # no secret key is handed out here: the page does not ask for one
            assert "FLUX_SECRET_KEY" not in text and "FLUX_TOKEN" in text


def test_an_account_the_admin_adds_works_at_once(hub, passwords, secrets):
    admin = own_token(hub, "alice", passwords["alice"], secrets)
    response = hub.api(admin, "POST", "users", json={"usernames": ["dave"]})
    assert response.status_code == 201, response.text
    creds = hub.service(admin, "GET", "api/accounts/dave/credentials").json()
    secrets.add(creds["FLUX_TOKEN"])
    assert "FLUX_SECRET_KEY" not in creds or not creds["FLUX_SECRET_KEY"]
    own_token(hub, "dave", creds["FLUX_TOKEN"], secrets)  # logs in to the hub with it
    # and, with what his server would be given, submits at once (spawning is tested above)
    with FluxRestfulClient(creds["FLUX_RESTFUL_HOST"], "dave", creds["FLUX_TOKEN"]) as client:
        job = client.submit("echo dave was here")
        deadline = time.monotonic() + 60
        while client.job(job)["state"] != "INACTIVE":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert "".join(client.output(job)) == "dave was here\n"


def test_no_secret_in_any_log(hub, passwords, secrets):
    # secrets of its own to look for, whichever tests ran before: each seeded user's password
    # and a hub token made with it
    for name in SEEDED:
        own_token(hub, name, passwords[name], secrets)
    assert set(passwords) >= set(SEEDED) and set(passwords.values()) <= secrets
    found = [*secrets, *hub.cluster_secrets(), *hub.hub_secrets()]
    assert not find_secrets(hub.logs(), found)
