"""Faults: flux-restful killed mid-run, the hub restarted under running servers, the cluster
gone for a while, a token expiring mid-session.

Two MiniClusters of this module's own (the kill and the expiry need their own server), and the
shared hub. The tests run in file order; the token test comes last so that the minute its
tokens live passes while the others run.

What "none lost, none doubled" means across a kill: each start of flux-restful is a new Flux
instance, which (as with a real ``flux start``) keeps no job history. So the check is made on
what the user can see: every id returned before the kill was listed before the kill, every id
returned after the restart is listed after it, exactly once, under its own name, and the
cluster lists no job whose submission was reported as failed.
"""

import json
import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests
from browser.lab_support import ARTIFACTS, launch_browser, open_sidebar_tab
from playwright.sync_api import expect, sync_playwright
from serverext.serverext_support import UserServer

from flux_hub.local import LocalCluster
from flux_hub.notebook import connect
from flux_hub.restful import ClusterUnavailable, FluxRestfulClient, FluxRestfulError

from .support import PEOPLE, report, wait_until

pytestmark = pytest.mark.timeout(600)

SUBMISSIONS = 100
KILL_AFTER = 40  # submissions made before flux-restful is killed
DOWN_FOR = 2.0  # seconds it stays dead before it is started again
PAUSE = 0.05  # seconds between submissions, and after a failed one (as a script would wait)
BACKOFF = 0.25
TOKEN_MINUTES = 1
TICKS = 14  # lines a job writes 5 s apart: it runs past the token's end
NUMBERS = {}  # for the report at the end of the module


def listening_process(port):
    for connection in psutil.net_connections("tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
            return psutil.Process(connection.pid)
    return None


def kill_server(process):
    """SIGKILL flux-restful (and its process group), as a crash would."""
    os.killpg(os.getpgid(process.pid), signal.SIGKILL)
    wait_until(lambda: dead(process), 30, "flux-restful dying", interval=0.01)


def dead(process):
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # its parent has not reaped it yet
    except psutil.NoSuchProcess:
        return True


def alice_env(cluster):
    return {
        "FLUX_RESTFUL_HOST": cluster.url,
        "FLUX_USER": "alice",
        "FLUX_TOKEN": cluster.passwords["alice"],
        "FLUX_SECRET_KEY": cluster.secret_key,
    }


def own_cluster(path, secrets, **kwargs):
    cluster = LocalCluster(path / "cluster", users=("alice",), **kwargs).start(timeout=120)
    state = json.loads((cluster.state_dir / "flux-hub-local.json").read_text())
    secrets.add_signing_key(state["secret_key"], "cluster handshake key")
    secrets.add_signing_key(state["token_signing_key"], "cluster token signing key")
    for name, password in cluster.passwords.items():
        secrets.add(password, "flux password", name)
    secrets.logs.add(cluster.log_path)
    return cluster


def user_server(path, cluster, secrets):
    server = UserServer(path, alice_env(cluster))
    secrets.add(server.token, "jupyter server token", "alice")
    secrets.logs.add(path / "server.log")
    return server


class ShortTokens:
    """A cluster whose tokens last a minute, and a session on it that began at once: a client,
    the notebook API, a user's server, and a live output stream that stays open throughout."""

    def __init__(self, path, secrets):
        self.cluster = own_cluster(
            path,
            secrets,
            server_env={"FLUX_ACCESS_TOKEN_EXPIRES_MINUTES": str(TOKEN_MINUTES)},
        )
        env = alice_env(self.cluster)
        self.client = FluxRestfulClient(*env.values())
        self.notebook = connect(*env.values(), names_path=path / "names.json")
        self.server = user_server(path / "server", self.cluster, secrets)
        self.client.jobs()
        self.notebook.jobs()
        status, _ = self.server.call("GET", "jobs")
        assert status == 200
        self.logged_in = time.monotonic()
        script = f"for i in $(seq 1 {TICKS}); do echo tick $i; sleep 5; done"
        status, job = self.server.call("POST", "jobs", json={"command": ["sh", "-c", script]})
        assert status == 201, job
        self.ticker = job["id"]
        self.ticks = []
        self.stream_error = None
        self.reader = threading.Thread(target=self._follow, daemon=True)
        self.reader.start()

    def _follow(self):
        with requests.get(
            f"{self.server.url}jobs/{self.ticker}/output/stream",
            headers=self.server.session.headers,
            stream=True,
            timeout=300,
        ) as response:
            try:
                for chunk in response.iter_content(chunk_size=None):
                    self.ticks.append((time.monotonic(), chunk.decode()))
            except requests.RequestException as error:
                self.stream_error = error  # the test says so; at teardown it does not matter

    def logins(self):
        return self.cluster.log_path.read_text().count('"POST /v1/token HTTP/1.1" 200')

    def stop(self):
        self.client.close()
        self.notebook.close()
        self.server.stop()
        self.cluster.stop()


@pytest.fixture(scope="module", autouse=True)
def short_tokens(tmp_path_factory, secrets):
    session = ShortTokens(tmp_path_factory.mktemp("short-tokens"), secrets)
    yield session
    session.stop()


@pytest.fixture(scope="module", autouse=True)
def fault_report():
    yield
    report("faults survived", [f"{key}: {value}" for key, value in NUMBERS.items()])


# -- flux-restful killed during 100 submissions ----------------------------------------------


def test_100_submissions_across_a_flux_restful_kill(tmp_path, secrets):
    cluster = own_cluster(tmp_path, secrets)
    server = user_server(tmp_path / "server", cluster, secrets)
    client = FluxRestfulClient(*alice_env(cluster).values())
    observer = FluxRestfulClient(*alice_env(cluster).values())
    # Each submission runs a program of its own name: the job's name (the basename of its
    # first word) tells which submission a listed job came from.
    programs = tmp_path / "programs"
    programs.mkdir()
    for i in range(SUBMISSIONS):
        (programs / f"sub-{i:03d}").symlink_to("/bin/true")
    try:
        moments = {}
        outcomes = []
        server_process = listening_process(cluster.port)

        def kill_and_restart():
            try:
                moments["listed"] = time.monotonic()
                moments["before"] = {job["name"] for job in observer.jobs()}
                kill_server(server_process)
                moments["killed"] = time.monotonic()
                time.sleep(DOWN_FOR)
                cluster.restart(timeout=120)
                moments["up"] = time.monotonic()
            except BaseException as error:
                moments["error"] = error
                raise

        killer = threading.Thread(target=kill_and_restart)
        for i in range(SUBMISSIONS):
            if i == KILL_AFTER:
                killer.start()
            name = f"sub-{i:03d}"
            started = time.monotonic()
            # Even submissions with the client, odd ones through the user's server.
            if i % 2 == 0:
                try:
                    result = client.submit([str(programs / name)])
                except FluxRestfulError as error:  # anything else fails the test
                    result = error
            else:
                response = server.session.post(
                    f"{server.url}jobs", json={"command": [str(programs / name)]}, timeout=60
                )
                result = response.json()["id"] if response.status_code == 201 else response
            outcomes.append((name, started, time.monotonic(), result))
            time.sleep(PAUSE if isinstance(result, int) else BACKOFF)
        killer.join()
        assert "error" not in moments, moments["error"]
        after = [job["name"] for job in observer.jobs()]
    finally:
        client.close()
        observer.close()
        server.stop()
        cluster.stop()

    accepted = [(n, s, e, r) for n, s, e, r in outcomes if isinstance(r, int)]
    failed = [(n, s, e, r) for n, s, e, r in outcomes if not isinstance(r, int)]
    for name, _, _, error in failed:
        # A clear error: the client's ClusterUnavailable, the server's 503, naming the cluster.
        if isinstance(error, requests.Response):
            assert error.status_code == 503, (name, error.text)
            assert cluster.url in error.json()["message"], error.text
        else:
            assert isinstance(error, ClusterUnavailable), (name, repr(error))
            assert cluster.url in str(error)
    before_kill = [n for n, s, e, r in accepted if e < moments["killed"]]
    seen_before = [n for n, s, e, r in accepted if e < moments["listed"]]
    after_restart = [n for n, s, e, r in accepted if s > moments["killed"]]
    # Answered around the kill: their jobs were in the old instance, if anywhere.
    in_flight = {n for n, *_ in accepted} - set(before_kill) - set(after_restart)
    assert set(seen_before) <= moments["before"]
    assert moments["before"] <= set(before_kill) | in_flight  # nothing listed but accepted
    assert sorted(after) == sorted(after_restart)  # each once, and no unreported job
    assert failed and after_restart, "the kill did not fall inside the run"
    assert len(accepted) + len(failed) == SUBMISSIONS
    NUMBERS["flux-restful SIGKILLed during 100 submissions (client and a user's server)"] = (
        f"{len(before_kill)} accepted before the kill (all listed), {len(failed)} refused with "
        f"ClusterUnavailable/503 naming the cluster while it was down "
        f"({moments['up'] - moments['killed']:.1f} s), {len(after_restart)} accepted after the "
        f"restart, each listed exactly once; {len(in_flight)} answered as it died; "
        "0 lost unreported, 0 doubled"
    )


# -- the hub restarted with users' servers running --------------------------------------------


def test_users_servers_and_credentials_survive_a_hub_restart(hub, people, secrets):
    before = {name: hub.server_process(name) for name in PEOPLE}
    creds = {name: hub.injected(name) for name in PEOPLE}
    started = time.monotonic()
    hub.restart()
    restart = time.monotonic() - started
    for name, person in people.items():
        process = hub.server_process(name)
        assert process is not None and process.pid == before[name].pid, f"{name}'s server"
        assert process.create_time() == before[name].create_time()
        # The hub knows the server again, the person's hub token and login cookie still work,
        # and the server's injected credentials still work on the (restarted) cluster.
        user = hub.api(person.token, "GET", f"users/{name}").json()
        assert user["servers"][""]["ready"], user
        assert person.session.get(f"{hub.url}/hub/home", timeout=60).status_code == 200
        summary = hub.ext(person, name, "GET", "cluster").json()
        assert summary["reachable"] and summary["account"] == creds[name]["FLUX_USER"]
        _, output = hub.run_job(person.token, name, ["echo", f"{name} after the restart"])
        assert output == f"{name} after the restart\n"
        with FluxRestfulClient(*creds[name].values()) as client:
            assert client.jobs()
    assert "Flux account" not in hub.log_text(since_last_start=True)  # nothing re-provisioned
    NUMBERS["hub restarted under 4 running servers"] = (
        f"{restart:.1f} s; the same 4 server processes served jobs after it with the "
        "credentials injected before it"
    )


# -- the cluster unreachable for a while ------------------------------------------------------


class BrowserThread:
    """Playwright's sync API in a thread of its own: it allows one instance per thread, and the
    browser tests' session fixture may hold this one's. Call it with a function to run there."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._manager = sync_playwright()
        self.playwright = self(self._manager.__enter__)

    def __call__(self, function, *args):
        return self._pool.submit(function, *args).result()

    def close(self):
        self(self._manager.__exit__, None, None, None)
        self._pool.shutdown()


class Panel:
    """A person's JupyterLab through the hub in chromium, with the Flux panel open."""

    TAB = '.jp-SideBar .lm-TabBar-tab[data-id="flux-hub-jobs"]'

    def __init__(self, playwright, hub, person):
        self.browser = launch_browser(playwright)
        self.page = self.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page = self.page
        page.goto(f"{hub.url}/hub/login")
        page.locator("#username_input").fill(person.name)
        page.locator("#password_input").fill(person.password)
        page.locator("#login_submit").click()
        page.wait_for_url(f"**/user/{person.name}/lab**", timeout=120_000)
        expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=120_000)
        # A person's JupyterLab keeps its layout in their home: it may show the panel already,
        # and a click on its tab would then close it
        tab = page.locator(self.TAB)
        expect(tab).to_be_visible(timeout=120_000)
        open_sidebar_tab(page, tab)
        self.panel = page.locator("#flux-hub-jobs")
        expect(self.panel.locator(".jp-FluxHub-account")).to_have_text(person.name)
        self.alert = self.panel.get_by_role("alert")
        expect(self.alert).to_have_count(0)

    def shows_unreachable(self, url):
        expect(self.alert).to_contain_text("The Flux cluster is unreachable.", timeout=60_000)
        expect(self.alert).to_contain_text(url)

    def recovers(self):
        # No click: the panel's poll backs off to at most a minute and finds the cluster back.
        expect(self.alert).to_have_count(0, timeout=120_000)
        expect(self.panel.locator(".jp-FluxHub-nodes")).to_have_text(re.compile(r"^[1-9]"))

    def close(self, failed):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(ARTIFACTS / "FAILED-cluster-gone-panel.png"))
        self.browser.close()


def test_the_cluster_gone_for_a_while_and_back_by_itself(hub, people, tmp_path):
    server_process = listening_process(int(hub.env["FLUX_HUB_CLUSTER_PORT"]))
    notebooks = {
        name: connect(*hub.injected(name).values(), names_path=tmp_path / f"{name}-names.json")
        for name in PEOPLE
    }
    for flux in notebooks.values():
        flux.jobs()
    # The hub's cluster service (python -m flux_hub.hub.local) exits when its flux-restful
    # dies, and the hub starts it again at its next poll (every 30 s, at a random phase). It is
    # frozen until everyone has seen the outage, so that the outage lasts at least that long.
    service = server_process.parent()
    browser = BrowserThread()
    panel = None
    failed = True
    try:
        panel = browser(Panel, browser.playwright, hub, people["alice"])
        service.suspend()
        kill_server(server_process)
        gone = time.monotonic()
        browser(panel.shows_unreachable, hub.cluster_url)
        for name, person in people.items():
            summary = hub.ext(person, name, "GET", "cluster").json()
            assert summary["reachable"] is False and hub.cluster_url in summary["error"]
            # (Refresh asks for the complete listing; a plain refresh with no active job to
            # follow asks the cluster nothing and answers from memory: the banner comes from
            # the cluster summary above)
            for method, path, body in (
                ("GET", "jobs?rescan=1", None),
                ("POST", "jobs", {"command": "true"}),
            ):
                response = hub.ext(person, name, method, path, json=body)
                assert response.status_code == 503, response.text
                assert hub.cluster_url in response.json()["message"]
            with pytest.raises(ClusterUnavailable, match=hub.cluster_url):
                notebooks[name].jobs()
        # Logging in needs the cluster (it checks the password): a page that says so.
        session = hub.login_session()
        bob = {"username": "bob", "password": people["bob"].password, "_xsrf": session.xsrf}
        page = session.post(f"{hub.url}/hub/login", data=bob, timeout=60)
        assert page.status_code == 503 and "cannot be reached" in page.text
        assert "Traceback" not in page.text
        service.resume()
        # Nobody does anything: the hub starts its cluster service again, and every server,
        # notebook connection and the panel find it back.
        wait_until(
            lambda: hub.ext(people["alice"], "alice", "GET", "cluster").json()["reachable"],
            120,
            "the cluster coming back",
            interval=1,
        )
        back = time.monotonic()
        for name, person in people.items():
            assert hub.ext(person, name, "GET", "jobs").status_code == 200
            _, output = hub.run_job(person.token, name, ["echo", "back"])
            assert output == "back\n"
            assert notebooks[name].submit(["true"]).wait(timeout=60).result == "COMPLETED"
        browser(panel.recovers)
        panel_back = time.monotonic()
        failed = False
    finally:
        if service.is_running():
            service.resume()
        if panel is not None:
            browser(panel.close, failed)
        browser.close()
        for flux in notebooks.values():
            flux.close()
    NUMBERS["the hub's cluster killed, back by itself"] = (
        f"unreachable {back - gone:.0f} s until the hub restarted its service; meanwhile 503s "
        "naming the URL, reachable=false, the panel's banner; then the same servers and "
        "notebook connections worked without a restart, and the panel cleared its banner "
        f"{panel_back - back:.0f} s later without a click"
    )


# -- a token expiring mid-session ---------------------------------------------------------------


def test_a_token_expiring_mid_session(short_tokens):
    session = short_tokens
    remaining = session.logged_in + TOKEN_MINUTES * 60 + 5 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    logins = session.logins()
    handshakes = session.client.handshakes
    # Every part of the session goes on as if nothing happened.
    assert session.client.jobs()
    assert session.notebook.submit(["true"]).wait(timeout=60).result == "COMPLETED"
    status, jobs = session.server.call("GET", "jobs")
    assert status == 200 and session.ticker in {job["id"] for job in jobs["jobs"]}
    status, job = session.server.call("POST", "jobs", json={"command": ["echo", "still me"]})
    assert status == 201
    wait_until(
        lambda: session.server.call("GET", f"jobs/{job['id']}")[1]["state"] == "INACTIVE",
        60,
        "the job",
    )
    assert session.server.call("GET", f"jobs/{job['id']}/output")[1] == {"output": ["still me\n"]}
    # ... each with exactly one new login: the client, the notebook API, the server.
    assert session.client.handshakes == handshakes + 1
    assert session.logins() == logins + 3
    # The stream opened before the token expired kept flowing past its end.
    session.reader.join(timeout=120)
    assert session.stream_error is None
    texts = "".join(chunk for _, chunk in session.ticks)
    assert texts == "".join(f"tick {i}\n" for i in range(1, TICKS + 1)), texts
    expired_at = session.logged_in + TOKEN_MINUTES * 60
    assert any(moment > expired_at for moment, _ in session.ticks)
    NUMBERS["a token expiring mid-session (FLUX_ACCESS_TOKEN_EXPIRES_MINUTES=1)"] = (
        "client, notebook API and user's server each logged in again once, transparently; "
        f"a live output stream opened before the expiry delivered all {TICKS} lines"
    )
