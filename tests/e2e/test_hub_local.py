"""End to end: the top-level jupyterhub_config.py as is (MiniCluster-credentials login).

One real hub for the module (JupyterHub + configurable-http-proxy + the local MiniCluster and
accounts services + single-user servers with the flux-hub server extension), driven over HTTP.
The tests run in any order (``pytest -p randomly``): each adds the users it needs (``added``)
and changes only what it puts back or owns; the whole run's logs are checked once more when the
hub stops (``hub``), whichever test ran last.
"""

import json
import os
import pwd
import re
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import psutil
import pytest
from lanes import REAL_FLUX
from page_text import table_rows

from flux_hub.accounts import is_account_name
from flux_hub.restful import AuthenticationFailed, FluxRestfulClient

from .hubprocess import TOP_CONFIG, HubProcess, assert_no_failed_request, find_secrets

pytestmark = pytest.mark.timeout(900)

SEEDED = ("alice", "bob", "carol")
# As an admin types them; the hub keeps them lower-cased ("alice.smith@example.org").
TYPED = ["Alice.Smith@example.org", "ünïcode", "root", "a" * 60]
AWKWARD = [name.lower() for name in TYPED]


def runs_as(name):
    """The Unix account a person's jobs run as: their own when the hub runs as root (on real
    Flux, a multi-user instance), else the hub's."""
    return name if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture(scope="module")
def secrets():
    """Every secret the tests saw; none of them may appear in a log."""
    return set()


@pytest.fixture(scope="module")
def hub(tmp_path_factory, secrets):
    assert shutil.which("configurable-http-proxy"), "npm install -g configurable-http-proxy"
    hub = HubProcess(TOP_CONFIG, tmp_path_factory.mktemp("hub-top"))
    hub.start()
    yield hub
    cluster_secrets = hub.cluster_secrets()
    hub.stop()
    # After every test, in whatever order they ran: no secret any of them saw in any log, and
    # no request the service failed (the tests below check the same of the run so far).
    secrets.update(cluster_secrets, hub.hub_secrets(), hub.announced_passwords().values())
    assert find_secrets(hub.logs(), secrets) == []
    assert_no_failed_request(hub.log_text())


@pytest.fixture(scope="module")
def passwords(hub, secrets):
    found = hub.announced_passwords()
    secrets.update(found.values())
    return found


@pytest.fixture(scope="module")
def admin_token(hub, passwords, secrets):
    session = hub.login("alice", passwords["alice"])
    token = hub.token_for(session, "alice")
    secrets.add(token)
    return token


# The environment's FLUX_SERVER_MODE and the extension's setting it gives
SHOW_SERVER_MODE = (
    "import os; from flux_hub.serverextension.config import FluxHub; "
    "print(os.environ.get('FLUX_SERVER_MODE'), FluxHub().server_mode)"
)


def multi_user(hub):
    """Whether this hub gives each person their own Unix account (root, and a cluster that can)."""
    return "one Unix account for all users" not in hub.log_text() and os.geteuid() == 0


def own_token(hub, name, password, secrets):
    token = hub.token_for(hub.login(name, password), name)
    secrets.add(token)
    return token


def form_xsrf(html):
    return re.search(r'name="_xsrf" value="([^"]+)"', html).group(1)


def flux_client(creds):
    return FluxRestfulClient(
        creds["FLUX_RESTFUL_HOST"],
        creds["FLUX_USER"],
        creds["FLUX_TOKEN"],
        creds.get("FLUX_SECRET_KEY"),
    )


def test_seeded_users_passwords_are_printed_seed_style(hub, passwords):
    assert set(passwords) == set(SEEDED)
    assert all(len(p) >= 24 for p in passwords.values())
    assert not find_secrets(hub.logs(), passwords.values())


def test_seeded_user_logs_in_and_their_server_submits_with_its_credentials(hub, passwords, secrets):
    token = own_token(hub, "bob", passwords["bob"], secrets)
    hub.start_server(token, "bob")
    cluster = hub.server(token, "bob", "GET", "flux-hub/api/cluster").json()
    assert cluster["account"] == "bob" and cluster["reachable"] is True
    _, output = hub.run_job(token, "bob", "sh -c 'echo hello from $(id -un)'")
    assert output == f"hello from {runs_as('bob')}\n"
    home = hub.api(token, "GET", "users/bob").json()
    assert home["servers"][""]["ready"]
    hub.stop_server(token, "bob")


def test_the_terminal_cli_works_in_a_hub_spawned_server(hub, passwords, secrets):
    """`flux-hub` in a JupyterLab terminal: the server's own environment and Unix account."""
    token = own_token(hub, "carol", passwords["carol"], secrets)
    hub.start_server(token, "carol")
    try:
        flux_hub = [sys.executable, "-m", "flux_hub.cli"]
        done = hub.in_server(
            "carol",
            [
                *flux_hub,
                "submit",
                "--wait",
                "--name",
                "from a terminal",
                "sh",
                "-c",
                "echo hi from $(id -un)",
            ],
        )
        account = pwd.getpwnam("carol").pw_name if multi_user(hub) else pwd.getpwuid(0).pw_name
        assert (done.returncode, done.stdout) == (0, f"hi from {account}\n"), done.stderr
        # The server is told how flux-restful runs: multi-user on real Flux (jobs as their
        # owners, its listing the caller's own), single-user over the simulation
        mode = "multi-user" if multi_user(hub) and REAL_FLUX else "single-user"
        told = hub.in_server("carol", [sys.executable, "-c", SHOW_SERVER_MODE])
        assert told.stdout == f"{mode} {mode}\n", told.stderr
        listed = hub.in_server("carol", [*flux_hub, "jobs", "-a"])
        assert "from a terminal" in listed.stdout and "COMPLETED" in listed.stdout
        # the panel shows it under that name too
        jobs = hub.server(token, "carol", "GET", "flux-hub/api/jobs").json()
        assert "from a terminal" in jobs["names"].values()
    finally:
        hub.stop_server(token, "carol")


def test_a_wrong_password_does_not_log_in(hub, passwords):
    with pytest.raises(PermissionError):
        hub.login("bob", passwords["alice"])
    with pytest.raises(PermissionError):
        hub.login("fluxadmin", hub.cluster_secrets()[2])  # the cluster superuser


def test_the_accounts_service_is_in_the_services_menu(hub, passwords):
    home = hub.login("carol", passwords["carol"]).get(f"{hub.url}/hub/home", timeout=30)
    assert re.search(r'href="[^"]*/services/flux-accounts/?"', home.text)


def test_a_user_sees_only_their_own_account(hub, passwords, secrets):
    session = hub.login("carol", passwords["carol"])
    page = session.get(f"{hub.url}/services/flux-accounts/", timeout=60)
    assert page.status_code == 200
    assert "carol" in page.text and "flux-hub submit" in page.text
    assert passwords["carol"] not in page.text  # shown only on request
    shown = session.post(
        f"{hub.url}/services/flux-accounts/credentials",
        data={"_xsrf": form_xsrf(page.text)},
        timeout=60,
    )
    assert shown.status_code == 200
    assert f"export FLUX_TOKEN={passwords['carol']}" in shown.text
    token = own_token(hub, "carol", passwords["carol"], secrets)
    me = hub.service(token, "GET", "api/me").json()
    assert me["account"] == "carol" and me["state"] == "active"
    creds = hub.service(token, "GET", "api/me/credentials").json()
    assert creds["FLUX_USER"] == "carol" and creds["FLUX_TOKEN"] == passwords["carol"]


def test_a_non_admin_cannot_reach_admin_pages_or_actions(hub, passwords, secrets):
    session = hub.login("bob", passwords["bob"])
    assert session.get(f"{hub.url}/services/flux-accounts/admin", timeout=60).status_code == 403
    token = own_token(hub, "bob", passwords["bob"], secrets)
    refused = [
        hub.service(token, "GET", "api/accounts"),
        hub.service(token, "POST", "api/accounts/alice/rotate"),
        hub.service(token, "POST", "api/accounts/alice/deactivate"),
        hub.service(token, "POST", "api/accounts/alice/provision"),
        hub.service(token, "GET", "api/accounts/alice/credentials"),
        hub.service(token, "POST", "api/reconcile"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert all("admin" in r.json()["message"] for r in refused), [r.text for r in refused]
    assert all(passwords["alice"] not in r.text for r in refused)
    hub.login("alice", passwords["alice"])  # nothing happened to alice's account


def test_admin_adds_a_user_who_logs_in_and_submits_at_once(hub, admin_token, secrets):
    response = hub.api(admin_token, "POST", "users", json={"usernames": ["dave"]})
    assert response.status_code == 201, response.text
    creds = hub.service(admin_token, "GET", "api/accounts/dave/credentials").json()
    secrets.add(creds["FLUX_TOKEN"])
    assert hub.announced_passwords()["dave"] == creds["FLUX_TOKEN"]
    token = own_token(hub, "dave", creds["FLUX_TOKEN"], secrets)
    hub.start_server(token, "dave")
    _, output = hub.run_job(token, "dave", "sh -c 'echo $(id -un) was here'")
    assert output == f"{runs_as('dave')} was here\n"
    rows = {
        r["hub_user"]: r for r in hub.service(admin_token, "GET", "api/accounts").json()["accounts"]
    }
    assert rows["dave"]["state"] == "active" and rows["dave"]["account"] == "dave"


def test_admin_page_lists_every_user_and_its_buttons_work(hub, passwords, added):
    added("erin")
    session = hub.login("alice", passwords["alice"])
    page = session.get(f"{hub.url}/services/flux-accounts/admin", timeout=60)
    assert page.status_code == 200
    shown = {row[0]: row for row in table_rows(page.text) if row}
    assert shown["Hub user"][:3] == ["Hub user", "Account", "State"]
    for name in (*SEEDED, "erin"):
        assert name in shown, f"{name} is not listed: {sorted(shown)}"
        assert "Re-provision" in shown[name][-1] and "Deactivate" in shown[name][-1]
    assert shown["erin"][1] == "erin" and shown["erin"][2].startswith("active")
    assert not any(p in page.text for p in passwords.values())
    done = session.post(
        f"{hub.url}/services/flux-accounts/admin/provision",
        data={"_xsrf": form_xsrf(page.text), "hub_user": "erin"},
        timeout=120,
    )
    assert done.status_code == 200
    assert "provision erin: password-set" in done.text  # re-provisioned with its password
    no_xsrf = session.post(
        f"{hub.url}/services/flux-accounts/admin/deactivate",
        data={"hub_user": "erin"},
        timeout=60,
    )
    assert no_xsrf.status_code == 403  # a form from elsewhere does nothing


def test_rotating_a_credential_replaces_the_password(hub, admin_token, passwords, secrets):
    response = hub.service(admin_token, "POST", "api/accounts/carol/rotate")
    assert response.status_code == 200 and response.json()["status"] == "password-set"
    new = hub.service(admin_token, "GET", "api/accounts/carol/credentials").json()["FLUX_TOKEN"]
    secrets.add(new)
    assert new != passwords["carol"]
    with pytest.raises(PermissionError):
        hub.login("carol", passwords["carol"])
    hub.login("carol", new)
    passwords["carol"] = new


def test_deleting_a_user_kills_their_credentials(hub, admin_token, secrets, added):
    added("frank")
    creds = hub.service(admin_token, "GET", "api/accounts/frank/credentials").json()
    client = flux_client(creds)
    secrets.add(client.login())
    # frank leaves a file and a long job behind
    running = client.submit(["sh", "-c", "echo kept > $HOME/kept.txt; sleep 600"])
    deadline = time.monotonic() + 60
    while client.job(running)["state"] != "RUN":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    response = hub.api(admin_token, "DELETE", "users/frank")
    assert response.status_code == 204, response.text
    with pytest.raises(AuthenticationFailed):
        client.login()
    client.close()
    with pytest.raises(PermissionError):
        hub.login("frank", creds["FLUX_TOKEN"])
    # the cluster's superuser sees the job end (flux-hub cancelled it with frank's credentials);
    # on multi-user real Flux the superuser has no Unix account, so flux-restful refuses it
    # there, and the processes below are the evidence
    state = json.loads((hub.state / "cluster" / "flux-hub-local.json").read_text())
    superuser = FluxRestfulClient(
        hub.cluster_url, "fluxadmin", state["passwords"]["fluxadmin"], state["secret_key"]
    )
    if not (REAL_FLUX and multi_user(hub)):
        deadline = time.monotonic() + 60
        while (info := superuser.job(running))["state"] != "INACTIVE":
            assert time.monotonic() < deadline, info["state"]
            time.sleep(0.3)
        assert info["result"] == "CANCELED"
    superuser.close()
    if multi_user(hub):
        # no process of frank's runs on (one killed may wait a moment to be reaped); his files stay
        frank = pwd.getpwnam("frank")

        def running():
            return [
                p
                for p in psutil.process_iter(["uids", "status"])
                if p.info["uids"]
                and p.info["uids"].real == frank.pw_uid
                and p.info["status"] != psutil.STATUS_ZOMBIE
            ]

        deadline = time.monotonic() + 30
        while running():
            assert time.monotonic() < deadline, running()
            time.sleep(0.2)
        assert Path(frank.pw_dir, "kept.txt").read_text() == "kept\n"


def test_awkward_hub_names_map_to_valid_distinct_accounts(hub, admin_token, secrets, added):
    added(*TYPED)
    rows = hub.service(admin_token, "GET", "api/accounts").json()["accounts"]
    accounts = {r["hub_user"]: r["account"] for r in rows}
    mapped = [accounts[n] for n in AWKWARD]
    assert all(is_account_name(a) for a in mapped), mapped
    assert len(set(accounts.values())) == len(accounts)
    assert "root" not in accounts.values() and "fluxadmin" not in accounts.values()
    assert accounts["ünïcode"].startswith("unicode--")
    # "root" logs in to the hub with the password of its own, unprivileged account.
    creds = hub.service(admin_token, "GET", "api/accounts/root/credentials").json()
    secrets.add(creds["FLUX_TOKEN"])
    assert creds["FLUX_USER"] == accounts["root"]
    token = own_token(hub, "root", creds["FLUX_TOKEN"], secrets)
    assert hub.service(token, "GET", "api/me").json()["account"] == accounts["root"]


def test_deactivate_reprovision_and_reconcile(hub, admin_token, passwords):
    # An admin deactivates bob: his password stops working, and reconcile keeps it so.
    response = hub.service(admin_token, "POST", "api/accounts/bob/deactivate")
    assert response.json()["status"] == "deactivated"
    with pytest.raises(PermissionError):
        hub.login("bob", passwords["bob"])
    report = hub.service(admin_token, "POST", "api/reconcile").json()
    assert report["error"] is None and report["changes"] == []
    rows = hub.service(admin_token, "GET", "api/accounts").json()["accounts"]
    assert {r["hub_user"]: r["state"] for r in rows}["bob"] == "deactivated"
    # Re-provisioning brings the account back with the password bob has.
    response = hub.service(admin_token, "POST", "api/accounts/bob/provision")
    assert response.json()["status"] == "reactivated"
    hub.login("bob", passwords["bob"])
    # The cluster loses carol's account (say its database was reset): reconcile re-creates it
    # with the password carol's server already has, and reports it.
    db = sqlite3.connect(hub.state / "cluster" / "flux-restful.db")
    db.execute("DELETE FROM user WHERE user_name = 'carol'")
    db.commit()
    db.close()
    with pytest.raises(PermissionError):
        hub.login("carol", passwords["carol"])
    report = hub.service(admin_token, "POST", "api/reconcile").json()
    assert [(c["hub_user"], c["status"]) for c in report["changes"]] == [("carol", "created")]
    hub.login("carol", passwords["carol"])


def test_a_restart_keeps_every_account_working(hub, admin_token, passwords, secrets, added):
    added(*TYPED)
    rows = hub.service(admin_token, "GET", "api/accounts").json()["accounts"]
    before = {
        r["hub_user"]: hub.service(
            admin_token, "GET", f"api/accounts/{r['hub_user']}/credentials"
        ).json()["FLUX_TOKEN"]
        for r in rows
        if r["state"] == "active"
    }
    secrets.update(before.values())
    assert set(before) >= {*SEEDED, *AWKWARD}

    hub.restart()
    fresh = hub.log_text(since_last_start=True)
    assert "Flux account" not in fresh  # nothing was provisioned again
    for name, password in before.items():
        hub.login(name, password)  # flux-restful itself checks each password
    token = own_token(hub, "bob", passwords["bob"], secrets)
    hub.start_server(token, "bob")
    _, output = hub.run_job(token, "bob", "echo after restart")
    assert output == "after restart\n"
    hub.stop_server(token, "bob")


def test_no_log_holds_a_password_secret_key_or_token(hub, admin_token, passwords, secrets, added):
    # Secrets of its own to look for, whichever tests ran before: each user's account password,
    # hub token and a flux-restful token from it, used to submit.
    added(*TYPED)
    for name in (*SEEDED, *AWKWARD):
        creds = hub.service(admin_token, "GET", f"api/accounts/{name}/credentials").json()
        secrets.add(creds["FLUX_TOKEN"])
        own_token(hub, name, creds["FLUX_TOKEN"], secrets)
        client = flux_client(creds)
        try:
            secrets.add(client.login())
            assert isinstance(client.submit("true"), int)
        finally:
            client.close()
    secrets.update(passwords.values())
    secrets.update(hub.announced_passwords().values())
    secrets.update(hub.cluster_secrets())
    secrets.update(hub.hub_secrets())
    assert len(secrets) > 15
    assert find_secrets(hub.logs(), secrets) == []


def test_the_service_never_failed_a_request(hub, admin_token):
    # a request of its own to the service, whichever tests ran before
    assert hub.service(admin_token, "GET", "api/accounts").status_code == 200
    assert_no_failed_request(hub.log_text())
