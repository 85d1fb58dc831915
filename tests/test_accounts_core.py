"""The accounts core against real flux-restful databases (the DB script) and a real server."""

import json
import sqlite3
import time

import pytest

from flux_hub.accounts import (
    ACTIVE,
    DEACTIVATED,
    FAILED,
    DBScriptProvisioner,
    EnsureOp,
    FluxAccounts,
    LocalProvisioner,
    Status,
)
from flux_hub.restful import AuthenticationFailed, FluxRestfulClient

# JUPYTERHUB_CRYPT_KEY for everything the hub encrypts (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("crypt_key")


def make_accounts(tmp_path, server_dir, **kwargs):
    provisioner = LocalProvisioner(server_dir=str(server_dir))
    return FluxAccounts(
        store_path=str(tmp_path / "accounts.sqlite"), provisioner=provisioner, **kwargs
    )


@pytest.fixture
def offline(tmp_path):
    """Accounts in a flux-restful database of their own (no server needed)."""
    return make_accounts(tmp_path, tmp_path / "server")


@pytest.fixture
def live(tmp_path, cluster):
    """Accounts in the running session cluster."""
    accounts = make_accounts(tmp_path, cluster.state_dir)
    accounts.provisioner.cluster_url = cluster.url
    accounts.provisioner.secret_key = cluster.secret_key
    return accounts


def cluster_users(accounts):
    return {a.name: a for a in accounts.provisioner.list()}


def login(accounts, hub_user, password=None):
    env = accounts.credentials(hub_user)
    client = FluxRestfulClient(
        env["FLUX_RESTFUL_HOST"],
        env["FLUX_USER"],
        password or env["FLUX_TOKEN"],
        env.get("FLUX_SECRET_KEY"),
    )
    try:
        client.login()
        return client
    except Exception:
        client.close()
        raise


def unique(prefix):
    return f"{prefix}{time.monotonic_ns() % 10**9}"


def test_a_batch_is_one_process_and_running_it_again_changes_nothing(offline):
    names = [f"batch{i}" for i in range(6)]
    outcomes = offline.ensure(names)
    assert [o.status for o in outcomes] == ["created"] * 6
    assert offline.provisioner.runs == 1
    records = offline.records()
    assert {records[n].state for n in names} == {ACTIVE}
    assert all(offline.credentials(n)["FLUX_TOKEN"] for n in names)
    before = {n: offline.credentials(n)["FLUX_TOKEN"] for n in names}

    again = offline.ensure(names)
    assert [o.status for o in again] == ["exists"] * 6
    assert offline.provisioner.runs == 1  # no process for accounts that exist
    assert {n: offline.credentials(n)["FLUX_TOKEN"] for n in names} == before
    assert {n for n, a in cluster_users(offline).items() if a.active} >= set(names)


def test_passwords_are_strong_and_distinct(offline):
    offline.ensure(["p1", "p2", "p3"])
    passwords = [offline.credentials(n)["FLUX_TOKEN"] for n in ("p1", "p2", "p3")]
    assert len(set(passwords)) == 3
    assert all(len(p) >= 32 for p in passwords)


def test_awkward_hub_names_get_distinct_valid_accounts(offline):
    names = ["alice.smith@example.org", "ünïcode", "root", "a" * 60, "fluxadmin"]
    outcomes = offline.ensure(names)
    assert all(o.ok for o in outcomes), outcomes
    accounts = [o.account for o in outcomes]
    assert len(set(accounts)) == len(accounts)
    assert "root" not in accounts and "fluxadmin" not in accounts
    assert set(accounts) <= set(cluster_users(offline))


def test_a_mapping_collision_is_refused_with_a_reason(tmp_path):
    accounts = make_accounts(tmp_path, tmp_path / "server", account_name=lambda n: "same")
    first, second = accounts.ensure(["one", "two"])
    assert first.status == "created"
    assert second.status == "error"
    assert "already belongs to hub user 'one'" in second.error
    assert accounts.record("two") is None


def test_a_broken_provisioner_fails_readably_and_records_why(tmp_path):
    accounts = make_accounts(tmp_path, tmp_path / "server")
    accounts.provisioner.python = str(tmp_path / "no-such-python")
    (outcome,) = accounts.ensure(["dora"])
    assert outcome.status == "error"
    assert "Could not run the account script" in outcome.error
    record = accounts.record("dora")
    assert record.state == FAILED and record.error == outcome.error
    assert accounts.credentials("dora") is None


def test_a_mapping_refusal_fails_only_that_user(tmp_path):
    accounts = make_accounts(tmp_path, tmp_path / "server", account_name=lambda n: n)
    good, bad = accounts.ensure(["good", "Bad Name"])
    assert good.status == "created"
    assert bad.status == "error" and "lower case" in bad.error
    assert accounts.record("Bad Name") is None


class EchoingScript(DBScriptProvisioner):
    """A DB script that fails every op and (wrongly) repeats the request in its error."""

    def run_script(self, request):
        ops = json.loads(request)["ops"]
        return json.dumps(
            {
                "results": [
                    {
                        "op": o["op"],
                        "name": o["name"],
                        "status": "error",
                        "error": f"refused {request}",
                    }
                    for o in ops
                ]
            }
        )


class UnknownStatusScript(DBScriptProvisioner):
    """A DB script (of another version, say) that answers with a status flux-hub does not know."""

    def run_script(self, request):
        ops = json.loads(request)["ops"]
        return json.dumps({"results": [{"name": o["name"], "status": "renamed"} for o in ops]})


def test_an_unknown_status_is_an_unreadable_answer_not_a_success(tmp_path):
    accounts = FluxAccounts(
        store_path=str(tmp_path / "accounts.sqlite"), provisioner=UnknownStatusScript()
    )
    (outcome,) = accounts.ensure(["fay"])
    assert outcome.status == "error" and outcome.status is Status.ERROR
    assert "gave an answer flux-hub cannot read" in outcome.error
    assert json.dumps({"status": outcome.status}) == '{"status": "error"}'


def test_script_errors_are_recorded_without_the_password(tmp_path):
    accounts = FluxAccounts(
        store_path=str(tmp_path / "accounts.sqlite"), provisioner=EchoingScript()
    )
    (outcome,) = accounts.ensure(["fay"])
    assert outcome.status == "error" and outcome.error.startswith("refused")
    assert '"password":"********"' in outcome.error
    assert accounts.record("fay").state == FAILED
    assert accounts.credentials("fay") is None


def test_existing_accounts_keep_their_password_when_people_log_in_with_it(tmp_path):
    server = tmp_path / "server"
    seeder = make_accounts(tmp_path / "other", server)
    seeder.ensure(["erin"])
    known = seeder.credentials("erin")["FLUX_TOKEN"]
    hashes = _hashes(server)

    credentials_mode = make_accounts(tmp_path, server, login_with_account_password=True)
    (outcome,) = credentials_mode.ensure(["erin"])
    assert outcome.status == "unchanged" and outcome.password is None
    assert _hashes(server)["erin"] == hashes["erin"]
    assert credentials_mode.credentials("erin") is None  # not known until erin logs in
    credentials_mode.remember_password("erin", "erin", known)
    assert credentials_mode.credentials("erin")["FLUX_TOKEN"] == known

    # Provisioned accounts (flux-hub sets the passwords): an account flux-hub did not make
    # is not taken over ...
    provisioned = make_accounts(tmp_path / "third", server)
    (outcome,) = provisioned.ensure(["erin"])
    assert outcome.status == "error" and "was not made by flux-hub" in outcome.error
    assert _hashes(server)["erin"] == hashes["erin"]
    # ... unless an admin adopts it
    adopting = make_accounts(tmp_path / "fourth", server, adopt_accounts={"erin"})
    (outcome,) = adopting.ensure(["erin"])
    assert outcome.status == "password-set"
    assert _hashes(server)["erin"] != hashes["erin"]


def _hashes(server):
    db = sqlite3.connect(server / "flux-restful.db")
    try:
        return dict(db.execute("SELECT user_name, hashed_password FROM user"))
    finally:
        db.close()


def test_provisioned_accounts_work_on_the_server(live):
    name = unique("acct")
    (outcome,) = live.ensure([name])
    assert outcome.status == "created"
    client = login(live, name)
    try:
        job = client.submit("echo provisioned")
        assert isinstance(job, int)
    finally:
        client.close()


def test_rotation_replaces_the_password(live):
    name = unique("rot")
    live.ensure([name])
    old = live.credentials(name)["FLUX_TOKEN"]
    (outcome,) = live.ensure([name], rotate=True)
    assert outcome.status == "password-set"
    new = live.credentials(name)["FLUX_TOKEN"]
    assert new != old
    login(live, name).close()
    with pytest.raises(AuthenticationFailed):
        login(live, name, password=old)


def test_deactivation_stops_tokens_and_reprovisioning_restores(live, client_for):
    name = unique("gone")
    live.ensure([name])
    client = login(live, name)
    job = client.submit("sleep 120")
    wait_running(client, job)
    (outcome,) = live.deactivate([name])
    assert outcome.status == "deactivated"
    assert live.record(name).state == DEACTIVATED
    with pytest.raises(AuthenticationFailed):
        client.login()  # a token request for a deactivated account fails
    client.close()
    # Its running job was cancelled first (cancel_jobs_on_deactivate).
    admin = client_for(_superuser(live))
    for _ in range(150):
        info = admin.job(job)
        if info["state"] == "INACTIVE":
            break
        time.sleep(0.2)
    assert info["result"] == "CANCELED", info

    (outcome,) = live.ensure([name])
    assert outcome.status == "reactivated"
    login(live, name).close()


def wait_running(client, job):
    for _ in range(150):
        if client.job(job)["state"] == "RUN":
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not start")


def _superuser(accounts):
    return next(a.name for a in accounts.provisioner.list() if a.superuser)


def test_reconcile_repairs_and_reports(live):
    keep, lost, off, gone = (unique(p) for p in ("keep", "lost", "off", "gone"))
    live.ensure([keep, lost, off, gone])
    lost_password = live.credentials(lost)["FLUX_TOKEN"]
    live.deactivate([off])
    db = sqlite3.connect(live.provisioner.server_dir + "/flux-restful.db")
    db.execute("DELETE FROM user WHERE user_name = ?", (lost,))
    db.commit()
    db.close()
    newcomer = unique("new")

    changes = live.reconcile([keep, lost, off, newcomer])
    by_user = {c.hub_user: c.status for c in changes}
    assert by_user == {lost: "created", newcomer: "created", gone: "deactivated"}
    # The lost account came back with the password its user's server already has.
    assert live.credentials(lost)["FLUX_TOKEN"] == lost_password
    login(live, lost).close()
    login(live, newcomer).close()
    assert live.record(off).state == DEACTIVATED
    assert live.record(gone).state == DEACTIVATED and not live.record(gone).has_password
    assert live.reconcile([keep, lost, off, newcomer]) == []


def test_overview_reports_each_state(live):
    fine, off = unique("fine"), unique("off")
    live.ensure([fine, off])
    live.deactivate([off], cancel_jobs=False)
    rows = {r.hub_user: r for r in live.overview([fine, off, "never-provisioned"])}
    assert rows[fine].state == "active" and rows[fine].password_known
    assert rows[off].state == "deactivated"
    assert rows["never-provisioned"].state == "missing"
    assert rows[fine].provisioned_at is not None


def test_deactivation_can_leave_running_jobs_alone(live, client_for):
    live.cancel_jobs_on_deactivate = False
    name = unique("keepjobs")
    live.ensure([name])
    client = login(live, name)
    job = client.submit("sleep 120")
    wait_running(client, job)
    client.close()
    live.deactivate([name])
    admin = client_for(_superuser(live))
    try:
        assert admin.job(job)["state"] == "RUN"
    finally:
        admin.cancel(job)


def test_a_superuser_the_mapping_did_not_know_is_never_handed_out(offline):
    offline.provisioner.ensure([EnsureOp("boss", "boss-password-123", superuser=True)])
    (outcome,) = offline.ensure(["boss"])
    assert outcome.status == "error"
    assert "is a superuser on this cluster" in outcome.error
    assert offline.credentials("boss") is None
    assert offline.record("boss").state == FAILED
