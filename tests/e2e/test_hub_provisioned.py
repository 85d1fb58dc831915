"""End to end: examples/hub-provisioned (shared-password login, provisioned accounts).

People never see their account's password; it reaches their server's environment, and each
user can read their own on the accounts service page.

The tests run in any order (``pytest -p randomly``): each logs in or adds (``added``) the users
it needs and removes only users of its own; the whole run's logs are checked once more when the
hub stops (``hub``), whichever test ran last.
"""

import shutil

import pytest

from flux_hub.accounts import is_account_name
from flux_hub.restful import AuthenticationFailed, FluxRestfulClient

from .hubprocess import PROVISIONED_CONFIG, HubProcess, assert_no_failed_request, find_secrets

pytestmark = pytest.mark.timeout(900)

SHARED = "workshop-password-2024"
ADMIN_PASSWORD = "an-admin-password-of-32-characters!!"
# As an admin types them; the hub keeps them lower-cased ("alice.smith@example.org").
TYPED = ["Alice.Smith@example.org", "ünïcode", "root", "a" * 60]
AWKWARD = [name.lower() for name in TYPED]


@pytest.fixture(scope="module")
def secrets():
    """Every secret the tests saw; none of them may appear in a log."""
    return {SHARED, ADMIN_PASSWORD}


@pytest.fixture(scope="module")
def hub(tmp_path_factory, secrets):
    assert shutil.which("configurable-http-proxy"), "npm install -g configurable-http-proxy"
    hub = HubProcess(
        PROVISIONED_CONFIG,
        tmp_path_factory.mktemp("hub-provisioned"),
        env={"FLUX_HUB_SHARED_PASSWORD": SHARED, "FLUX_HUB_ADMIN_PASSWORD": ADMIN_PASSWORD},
    )
    hub.start()
    yield hub
    cluster_secrets = hub.cluster_secrets()
    hub.stop()
    # After every test, in whatever order they ran: no secret any of them saw in any log, and
    # no request the service failed (the tests below check the same of the run so far).
    secrets.update(cluster_secrets, hub.hub_secrets())
    assert find_secrets(hub.logs(), secrets) == []
    assert_no_failed_request(hub.log_text())


@pytest.fixture(scope="module")
def admin_token(hub, secrets):
    token = hub.token_for(hub.login("admin", ADMIN_PASSWORD), "admin")
    secrets.add(token)
    return token


def user_token(hub, name, secrets):
    token = hub.token_for(hub.login(name, SHARED), name)
    secrets.add(token)
    return token


def own_credentials(hub, token, secrets):
    creds = hub.service(token, "GET", "api/me/credentials").json()
    secrets.add(creds["FLUX_TOKEN"])
    return creds


def submits(creds):
    client = FluxRestfulClient(
        creds["FLUX_RESTFUL_HOST"],
        creds["FLUX_USER"],
        creds["FLUX_TOKEN"],
        creds["FLUX_SECRET_KEY"],
    )
    try:
        return isinstance(client.submit("true"), int)
    finally:
        client.close()


def test_nothing_is_announced(hub):
    assert hub.announced_passwords() == {}


def test_an_allowed_user_logs_in_and_their_server_submits(hub, secrets):
    token = user_token(hub, "alice", secrets)
    hub.start_server(token, "alice")
    cluster = hub.server(token, "alice", "GET", "flux-hub/api/cluster").json()
    assert cluster["account"] == "alice" and cluster["reachable"] is True
    _, output = hub.run_job(token, "alice", "echo provisioned alice")
    assert output == "provisioned alice\n"
    hub.stop_server(token, "alice")


def test_admins_never_see_provisioned_passwords(hub, admin_token, secrets):
    own_credentials(hub, user_token(hub, "alice", secrets), secrets)  # alice has her account
    response = hub.service(admin_token, "GET", "api/accounts/alice/credentials")
    assert response.status_code == 409
    rows = hub.service(admin_token, "GET", "api/accounts").json()["accounts"]
    assert {r["hub_user"]: r["state"] for r in rows}["alice"] == "active"


def test_admin_adds_a_user_who_logs_in_and_submits_at_once(hub, admin_token, secrets):
    response = hub.api(admin_token, "POST", "users", json={"usernames": ["erin"]})
    assert response.status_code == 201, response.text
    token = user_token(hub, "erin", secrets)
    hub.start_server(token, "erin")
    _, output = hub.run_job(token, "erin", "echo erin is in")
    assert output == "erin is in\n"
    hub.stop_server(token, "erin")


def test_a_non_admin_cannot_reach_admin_pages_or_actions(hub, secrets):
    session = hub.login("bob", SHARED)
    assert session.get(f"{hub.url}/services/flux-accounts/admin", timeout=60).status_code == 403
    token = user_token(hub, "bob", secrets)
    statuses = [
        hub.service(token, "GET", "api/accounts").status_code,
        hub.service(token, "POST", "api/accounts/alice/rotate").status_code,
        hub.service(token, "POST", "api/accounts/alice/deactivate").status_code,
        hub.service(token, "POST", "api/reconcile").status_code,
    ]
    assert statuses == [403] * 4
    assert own_credentials(hub, token, secrets)["FLUX_USER"] == "bob"


def test_deleting_a_user_kills_their_credentials(hub, admin_token, secrets, added):
    added("frank")  # a user of this test's own: no other test logs in as frank
    creds = own_credentials(hub, user_token(hub, "frank", secrets), secrets)
    client = FluxRestfulClient(
        creds["FLUX_RESTFUL_HOST"],
        creds["FLUX_USER"],
        creds["FLUX_TOKEN"],
        creds["FLUX_SECRET_KEY"],
    )
    secrets.add(client.login())
    response = hub.api(admin_token, "DELETE", "users/frank")
    assert response.status_code == 204, response.text
    with pytest.raises(AuthenticationFailed):
        client.login()
    client.close()
    rows = hub.service(admin_token, "GET", "api/accounts").json()["accounts"]
    assert "frank" not in {r["hub_user"] for r in rows}


def test_awkward_hub_names_get_valid_distinct_unprivileged_accounts(
    hub, admin_token, secrets, added
):
    added(*TYPED)
    rows = hub.service(admin_token, "GET", "api/accounts").json()["accounts"]
    accounts = {r["hub_user"]: r["account"] for r in rows}
    assert all(is_account_name(accounts[n]) for n in AWKWARD)
    assert len(set(accounts.values())) == len(accounts)
    assert not {"root", "fluxadmin"} & set(accounts.values())
    # The hub user "root" works on the cluster as its own ordinary account.
    token = user_token(hub, "root", secrets)
    hub.start_server(token, "root")
    cluster = hub.server(token, "root", "GET", "flux-hub/api/cluster").json()
    assert cluster["account"] == accounts["root"] and cluster["account"].startswith("root--")
    _, output = hub.run_job(token, "root", "echo not root")
    assert output == "not root\n"
    hub.stop_server(token, "root")


def test_a_restart_keeps_every_account_working(hub, admin_token, secrets, added):
    added(*TYPED)
    names = ["alice", "bob", *AWKWARD]
    before = {n: own_credentials(hub, user_token(hub, n, secrets), secrets) for n in names}
    hub.restart()
    assert "Flux account" not in hub.log_text(since_last_start=True)
    for name in names:
        after = own_credentials(hub, user_token(hub, name, secrets), secrets)
        assert after == before[name]
        assert submits(after)


def test_no_log_holds_a_password_secret_key_or_token(hub, admin_token, secrets, added):
    # Secrets of its own to look for, whichever tests ran before: each user's hub token, their
    # account's password and a flux-restful token from it, used to submit.
    added(*TYPED)
    for name in ["alice", "bob", *AWKWARD]:
        creds = own_credentials(hub, user_token(hub, name, secrets), secrets)
        client = FluxRestfulClient(
            creds["FLUX_RESTFUL_HOST"],
            creds["FLUX_USER"],
            creds["FLUX_TOKEN"],
            creds["FLUX_SECRET_KEY"],
        )
        try:
            secrets.add(client.login())
            assert isinstance(client.submit("true"), int)
        finally:
            client.close()
    secrets.update(hub.cluster_secrets())
    secrets.update(hub.hub_secrets())
    assert len(secrets) > 15
    assert find_secrets(hub.logs(), secrets) == []


def test_the_service_never_failed_a_request(hub, admin_token):
    # a request of its own to the service, whichever tests ran before
    assert hub.service(admin_token, "GET", "api/accounts").status_code == 200
    assert_no_failed_request(hub.log_text())
