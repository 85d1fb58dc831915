"""Every rule flux-hub applies in more than one place gives the same answer everywhere (issue 29.2).

Each rule lives in one place now; these tests run every caller of it on the same inputs and
check they agree with the rule, answer and message alike. A new caller is one more entry in the
rule's CALLERS table.
"""

import argparse
import io
import json
import os
import re
import subprocess
import sys
import types
from contextlib import redirect_stdout

import pytest
from traitlets import TraitError

from flux_hub import jobstates, terminal, waiting
from flux_hub.accounts import default_account_name
from flux_hub.names import (
    HASH_MARK,
    account_name_error,
    hashed_name,
    is_account_name,
    is_dns_label,
    is_dns_subdomain,
)
from flux_hub.notebook.api import Job, JobList

# -- which job states are active (and pending) -------------------------------------------------

STATES = ("NEW", "DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP", "INACTIVE")


def _flux_hub_jobs_shows(state, monkeypatch):
    """`flux-hub jobs` (no --all): whether a job in ``state`` is listed."""
    info = {"id": 1234, "state": state, "name": "x", "userid": 1000}
    monkeypatch.setattr(
        terminal, "_your_jobs", lambda cluster: (JobList([Job(None, 1234, info)]), None)
    )
    out = io.StringIO()
    with redirect_stdout(out):
        terminal.list_jobs(None, argparse.Namespace(all=False, json=True))
    return '"id": 1234' in out.getvalue()


def _flux_hub_cancel_active(state, monkeypatch):
    """`flux-hub cancel --all --states=active`: whether a job in ``state`` is one it cancels."""
    return state in terminal._cancel_states("active")


def _flux_hub_cancel_by_name(state, monkeypatch):
    """`flux-hub cancel --states=<state>`: a state's own name is taken only for active ones."""
    try:
        return state in terminal._cancel_states(state.lower())
    except terminal.CommandError:
        return False


ACTIVE_CALLERS = {
    "flux-hub jobs": _flux_hub_jobs_shows,
    "flux-hub cancel --states=active": _flux_hub_cancel_active,
    "flux-hub cancel --states=STATE": _flux_hub_cancel_by_name,
}


@pytest.mark.parametrize("caller", ACTIVE_CALLERS)
@pytest.mark.parametrize("state", STATES)
def test_active_states_agree(caller, state, monkeypatch):
    expected = jobstates.is_active({"state": state})
    assert expected == (state != "INACTIVE")  # NEW too: a job being submitted has not ended
    assert ACTIVE_CALLERS[caller](state, monkeypatch) == expected


def _server_waiting(state):
    """The server extension's listing: a job it tells why it waits (A's module reads its own
    set; listed here so that a drift shows)."""
    from flux_hub.serverextension import jobs

    return state in jobs._PENDING


PENDING_CALLERS = {
    "why_waiting (reader, CLI, server)": lambda state: (
        waiting.why_waiting({"state": state}) is not None
    ),
    "flux-hub cancel --states=pending": lambda state: state in terminal._cancel_states("pending"),
    "server extension listing": _server_waiting,
}


@pytest.mark.parametrize("caller", PENDING_CALLERS)
@pytest.mark.parametrize("state", STATES)
def test_pending_states_agree(caller, state):
    assert PENDING_CALLERS[caller](state) == (state in jobstates.PENDING)


# -- the flux-restful URL (FLUX_RESTFUL_HOST) ---------------------------------------------------

HOSTS = {
    "127.0.0.1:9": "http://127.0.0.1:9",  # no scheme: http://, everywhere
    "localhost:9/": "http://localhost:9",
    " https://127.0.0.1:9/ ": "https://127.0.0.1:9",
    "HTTP://127.0.0.1:9": "HTTP://127.0.0.1:9",
    "ftp://127.0.0.1:9": None,
    "http://": None,
    "127.0.0.1:port": None,
    "http://127.0.0.1:99999": None,
}
REFUSAL = "must be the URL of the flux-restful server, like http://127.0.0.1:5000, not {!r}"


def _env_without_flux(**more):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    return {**environ, **more}


def _notebook(value, monkeypatch, tmp_path):
    """flux_hub.notebook.connect() from $FLUX_RESTFUL_HOST: (its URL, None) or (None, error)."""
    from flux_hub.notebook import connect

    monkeypatch.setenv("FLUX_RESTFUL_HOST", value)
    try:
        return connect(names_path=str(tmp_path / "names.json")).client.host, None
    except ValueError as error:
        return None, str(error)


def _terminal(value, monkeypatch, tmp_path):
    """`flux-hub jobs` with $FLUX_RESTFUL_HOST: the URL it could not reach (nothing listens on
    port 9), or its one-line refusal."""
    env = _env_without_flux(FLUX_RESTFUL_HOST=value, FLUX_USER="a", FLUX_TOKEN="b")
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "flux_hub.cli", "jobs"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    said = done.stderr.strip()
    assert done.returncode == 1 and said.startswith("flux-hub: "), said
    reached = re.fullmatch(r"flux-hub: Cannot reach the Flux cluster at (\S+): .*", said)
    return (reached.group(1), None) if reached else (None, said.removeprefix("flux-hub: "))


def _server_extension(value, monkeypatch, tmp_path):
    """The server extension's FluxHub.host from $FLUX_RESTFUL_HOST (a bad one stops it)."""
    from flux_hub.serverextension.config import FluxHub

    monkeypatch.setenv("FLUX_RESTFUL_HOST", value)
    try:
        return FluxHub(job_names_path=str(tmp_path / "names.json")).host, None
    except TraitError as error:
        return None, str(error)


def _hub_setting(value, monkeypatch, tmp_path):
    """The hub's LocalProvisioner.cluster_url (handed to servers as FLUX_RESTFUL_HOST)."""
    from flux_hub.accounts import LocalProvisioner

    try:
        return LocalProvisioner(cluster_url=value).cluster_url, None
    except TraitError as error:
        return None, str(error)


HOST_CALLERS = {
    "notebook": (_notebook, "$FLUX_RESTFUL_HOST"),
    "terminal": (_terminal, "$FLUX_RESTFUL_HOST"),
    "server extension": (_server_extension, "FluxHub.host (or $FLUX_RESTFUL_HOST)"),
    "hub setting": (_hub_setting, "LocalProvisioner.cluster_url"),
}


@pytest.mark.parametrize("caller", HOST_CALLERS)
@pytest.mark.parametrize("value", HOSTS)
def test_flux_restful_host_agrees(caller, value, monkeypatch, tmp_path):
    run, name = HOST_CALLERS[caller]
    url, error = run(value, monkeypatch, tmp_path)
    expected = HOSTS[value]
    if expected is None:
        assert (url, error) == (None, f"{name} {REFUSAL.format(value)}")
    else:
        assert (url, error) == (expected, None)


# -- account names (POSIX), Kubernetes names, name-plus-hash --------------------------------------

ACCOUNT_NAMES = ("alice", "a", "a" * 32, "a" * 33, "Alice", "_apt", "9lives", "a.b", "a b", "a-b_c")
ACCOUNT_NAMES += ("ab-", "é", "", "alice\n")


def _hub_mapping(name):
    """A hub's account_name_mapping answering ``name``: taken, or refused saying why."""
    from flux_hub.accounts import AccountNamer

    try:
        return AccountNamer(custom=lambda hub_name: name)("bob") == name, None
    except ValueError as error:
        prefix = "The account name mapping gave no usable name for hub user 'bob': "
        text = str(error)
        assert text.startswith(prefix) and text.endswith("."), text
        return False, text.removeprefix(prefix).removesuffix(".")


def _pod_accounts(name):
    """The Kubernetes side's Linux accounts in the MiniCluster's pods (before any exec)."""
    from flux_hub.kubernetes.runner import MiniClusterRunner

    runner = object.__new__(MiniClusterRunner)
    errors = runner.ensure_linux_users([name], info=types.SimpleNamespace(user_targets=[]))
    return name not in errors, errors.get(name)


def _this_machine_accounts(name):
    """accounts.system.ensure (the local cluster's Unix accounts): refused before anything is
    made, or on to looking the account up (stopped there: nothing is made)."""
    from flux_hub.accounts import system

    class Passed(Exception):
        pass

    def lookup(name):
        raise Passed

    original, system.lookup = system.lookup, lookup
    try:
        system.ensure(name, home_root="/nonexistent")
    except Passed:
        return True, None
    except system.SystemAccountError as error:
        return False, str(error)
    finally:
        system.lookup = original


def _default_mapping(name):
    """The default mapping keeps a valid, unreserved name as it is (and hashes any other)."""
    kept = default_account_name(name) == name
    return kept, None if kept else account_name_error(name)


ACCOUNT_NAME_CALLERS = {
    "hub account_name_mapping": _hub_mapping,
    "pod accounts (Kubernetes)": _pod_accounts,
    "Unix accounts (one machine)": _this_machine_accounts,
    "default mapping": _default_mapping,
}


@pytest.mark.parametrize("caller", ACCOUNT_NAME_CALLERS)
@pytest.mark.parametrize("name", ACCOUNT_NAMES)
def test_account_name_rule_agrees(caller, name):
    valid = is_account_name(name)
    assert valid == bool(re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", name) and "\n" not in name)
    assert ACCOUNT_NAME_CALLERS[caller](name) == (valid, account_name_error(name))


KUBE_NAMES = ("flux-sample", "a", "a" * 63, "a" * 64, "Flux", "-a", "a-", "a.b", "a_b", "", "a\n")
KUBE_NAMES += ("a." * 126 + "a", "a." * 127 + "a", "1a", "a..b")


def _kube_setting(kind):
    from flux_hub.kubernetes import KubernetesProvisioner

    trait = "namespace" if kind == "label" else "secret_name"

    def run(value):
        try:
            KubernetesProvisioner(**{trait: value})
            return True
        except TraitError:
            return False

    return run


def _per_person_claim(value):
    """The per-person provisioner's check of a claim name its template gives."""
    from flux_hub.accounts.provisioner import ProvisioningError
    from flux_hub.kubernetes.percluster import MiniClusterPerUserProvisioner

    provisioner = MiniClusterPerUserProvisioner(storage_class="nfs", storage_claim=value or "x")
    try:
        return provisioner.claim_name("alice") == value
    except ProvisioningError:
        return False


def _storage_class(value):
    from flux_hub.kubernetes.percluster import MiniClusterPerUserProvisioner

    try:
        MiniClusterPerUserProvisioner(storage_class=value)
        return True
    except TraitError:
        return False


def _cluster_name_kept(value):
    """A person's MiniCluster is named after an account that is a DNS label as it is."""
    from flux_hub.kubernetes.percluster.names import cluster_name

    return cluster_name("", value) == value


SETTINGS = (_kube_setting("label"), _kube_setting("subdomain"))
KUBE_NAME_CALLERS = {
    "label: KubernetesProvisioner.namespace": ("label", SETTINGS[0]),
    "label: per-person MiniCluster name": ("label", _cluster_name_kept),
    "subdomain: KubernetesProvisioner.secret_name": ("subdomain", SETTINGS[1]),
    "subdomain: per-person storage_class": ("subdomain", _storage_class),
    "subdomain: per-person claim name": ("subdomain", _per_person_claim),
}


@pytest.mark.parametrize("caller", KUBE_NAME_CALLERS)
@pytest.mark.parametrize("value", KUBE_NAMES)
def test_kubernetes_name_rules_agree(caller, value):
    kind, run = KUBE_NAME_CALLERS[caller]
    if value == "" and run in (_storage_class, *SETTINGS):
        pytest.skip("empty: a setting not set")
    expected = (is_dns_label if kind == "label" else is_dns_subdomain)(value)
    assert run(value) == expected


@pytest.mark.parametrize(
    "text", ("Alice.Smith@example.org", "a_b", "ab-", "ünïcode", "A" * 60, "--")
)
def test_one_name_plus_hash_scheme(text):
    """Hub names hashed into account names and accounts hashed into MiniCluster names are made
    the same way (each keeping its own salt, so no existing name changes)."""
    from flux_hub.accounts.naming import hashed_account_name
    from flux_hub.kubernetes.percluster.names import cluster_name

    for made, salt in (
        (hashed_account_name(text), b""),
        (cluster_name("", text), b"flux-hub cluster name\0"),
    ):
        assert made == hashed_name(text, salt=salt)
        assert is_account_name(made) and is_dns_label(made) and HASH_MARK in made


# -- which Unix accounts flux-hub made (this machine, and the pods' account script) -------------

PASSWD = {  # name: (uid, GECOS)
    "alice": (1001, "flux-hub account alice"),
    "erin": (1000, "flux-hub account erin (removed)"),  # retired, still flux-hub's
    "frank": (60001, "flux-hub account frank"),
    "bob": (999, "flux-hub account bob"),  # a system uid
    "carol": (1002, "Carol"),  # the image's own user
    "dave": (1003, "x flux-hub account dave"),
    "gina": (1004, ""),
}


def _this_machine(name, monkeypatch, tmp_path):
    """accounts.system.lookup: the record of flux-hub's account, or its refusal."""
    from flux_hub.accounts import system

    def getpwnam(wanted):
        uid, gecos = PASSWD[wanted]
        return types.SimpleNamespace(pw_name=wanted, pw_uid=uid, pw_gecos=gecos)

    monkeypatch.setattr(system, "pwd", types.SimpleNamespace(getpwnam=getpwnam))
    try:
        return system.lookup(name) is not None, None
    except system.SystemAccountError as error:
        return False, str(error)


def _pods(name, monkeypatch, tmp_path):
    """The pods' account script (kubernetes/runner.py USERADD) over the same passwd, with the
    stand-ins for getent and useradd the Kubernetes tests use."""
    from kube.containers import write_tools

    from flux_hub.kubernetes.runner import USERADD

    bin_dir, root = tmp_path / "bin", tmp_path / "root"
    bin_dir.mkdir()
    (root / "etc").mkdir(parents=True)
    write_tools(bin_dir)
    lines = (f"{n}:x:{uid}:{uid}:{gecos}:/home/{n}:/bin/sh\n" for n, (uid, gecos) in PASSWD.items())
    (root / "etc" / "passwd").write_text("".join(lines))
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_CONTAINER_ROOT": str(root),
    }
    done = subprocess.run(
        ["sh", "-c", USERADD, "flux-hub-useradd", f"{name}:"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    state, named, rest = done.stdout.strip().split(" ", 2)
    assert named == name and state in ("ok", "failed"), done
    if state == "ok":
        assert rest == str(PASSWD[name][0])
        return True, None
    return False, f"{name}: {rest}"


OWNERSHIP_CALLERS = {"this machine": _this_machine, "pods": _pods}


@pytest.mark.parametrize("caller", OWNERSHIP_CALLERS)
@pytest.mark.parametrize("name", PASSWD)
def test_account_ownership_agrees(caller, name, monkeypatch, tmp_path):
    from flux_hub.accounts.system import NOT_MADE_BY_FLUX_HUB, made_by_flux_hub

    ours = made_by_flux_hub(*PASSWD[name])
    assert ours == (name in ("alice", "erin", "frank"))
    expected = (True, None) if ours else (False, f"{name}: {NOT_MADE_BY_FLUX_HUB}")
    assert OWNERSHIP_CALLERS[caller](name, monkeypatch, tmp_path) == expected


# -- the account script's "ensure" request, and the passwords it carries ------------------------


def _local_cluster(name, monkeypatch, tmp_path):
    """LocalCluster.ensure_users (the local cluster's own users): the request it sends."""
    from flux_hub.local import cluster as local_cluster

    sent = []

    def run_dbscript(request, server_dir, **kwargs):
        sent.append(request)
        return json.dumps({"results": [{"op": "ensure", "name": name, "status": "created"}]})

    monkeypatch.setattr(local_cluster, "run_dbscript", run_dbscript)
    passwords = local_cluster.LocalCluster(state_dir=tmp_path / "state").ensure_users([name])
    return sent, passwords[name]


def _accounts_service(name, monkeypatch, tmp_path):
    """The hub's accounts (FluxAccounts -> LocalProvisioner.ensure with a new password)."""
    from flux_hub.accounts import EnsureOp, LocalProvisioner, new_password

    sent = []

    def run_script(request):
        sent.append(request)
        return json.dumps({"results": [{"op": "ensure", "name": name, "status": "created"}]})

    provisioner = LocalProvisioner(server_dir=str(tmp_path))
    monkeypatch.setattr(provisioner, "run_script", run_script)
    password = new_password()
    provisioner.ensure([EnsureOp(name, password, reset_password=True)])
    return sent, password


ENSURE_CALLERS = {"local cluster": _local_cluster, "accounts service": _accounts_service}


@pytest.mark.parametrize("caller", ENSURE_CALLERS)
def test_ensure_request_agrees(caller, monkeypatch, tmp_path):
    from flux_hub.provision import dbscript_request, ensure_op, new_password

    sent, password = ENSURE_CALLERS[caller]("alice", monkeypatch, tmp_path)
    assert sent == [dbscript_request([ensure_op("alice", password, reset_password=True)])]
    assert len(password) == len(new_password()) == 32
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", password)


# -- time limits: every Python front-end rounds a sub-second limit up ---------------------------

LIMITS = ("0.4s", "0.4", ".5h", "1.5m", "90", "0", "2h30m")


@pytest.fixture
def offline_cluster(tmp_path, monkeypatch):
    """A connection whose submits are recorded instead of sent: (cluster, submitted fields)."""
    from flux_hub.notebook import api

    monkeypatch.setenv("HOME", str(tmp_path))
    cluster = api.connect("http://127.0.0.1:9", "alice", "pw", names_path=str(tmp_path / "n.json"))
    sent = []

    def submit(command, **fields):
        sent.append(fields)
        return 1000 + len(sent)

    monkeypatch.setattr(cluster.client, "submit", submit)
    monkeypatch.setattr(api, "connect", lambda *args, **kwargs: cluster)
    monkeypatch.setattr(api, "_current", cluster)  # %%flux's connection
    monkeypatch.setattr(cluster, "_record", lambda *args, **kwargs: None)
    return cluster, sent


def _notebook_submit(limit, cluster):
    cluster.submit("true", runtime=limit)


def _terminal_submit(limit, cluster):
    from flux_hub.cli import main

    assert main(["submit", f"--time-limit={limit}", "true"]) == 0


def _magic(limit, cluster):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    shell.run_line_magic("load_ext", "flux_hub")
    assert shell.run_cell(f"%%flux -t {limit}\ntrue\n").success


def _bulksubmit(limit, cluster):
    from flux_hub.cli import main

    assert main(["bulksubmit", f"--time-limit={limit}", "echo", "{}", ":::", "a"]) == 0


def _notebook_submit_many(limit, cluster):
    cluster.submit_many("echo {}", {"x": ["a"]}, runtime=limit)


def _server_extension(limit, cluster):
    """POST flux-hub/api/jobs: its handler checks the body with jobrequest.parse alone."""
    from flux_hub import jobrequest

    fields = jobrequest.parse({"command": "true", "runtime": limit})
    cluster.client.submit(fields.pop("command"), **fields)


LIMIT_CALLERS = {
    "flux.submit": _notebook_submit,
    "flux-hub submit": _terminal_submit,
    "%%flux": _magic,
    "flux-hub bulksubmit": _bulksubmit,
    "flux.submit_many": _notebook_submit_many,
    "server extension": _server_extension,
}


@pytest.mark.parametrize("caller", LIMIT_CALLERS)
@pytest.mark.parametrize("limit", LIMITS)
def test_time_limits_agree(caller, limit, offline_cluster):
    from flux_hub.jobrequest import parse_duration

    cluster, sent = offline_cluster
    LIMIT_CALLERS[caller](limit, cluster)
    expected = parse_duration(limit)
    assert expected >= 1 or limit == "0"  # a sub-second limit is 1 s, never "no limit"
    assert [fields.get("runtime", 0) for fields in sent] == [expected]
