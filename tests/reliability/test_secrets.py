"""Secrets: nothing issued during the reliability runs shows up where it should not.

Runs after the other modules of this directory and scans what they produced: every log (the
hub's, which holds the services' and the single-user servers' output, the clusters' server logs,
the user-server logs of the fault tests), every page and API answer the tests read from the hub,
the argv of every process of the hub, and the environment of a job run by each person.

The secrets: every flux password (seeded, created, rotated), the clusters' handshake and token
signing keys, the hub's crypt key and cookie secret, every hub API token made for a person,
the API tokens in the hub's, services' and servers' environments, every flux-restful access
token a client in this process was issued, and any token signed with a cluster's keys
(which finds the tokens users' servers hold, and handshake JWTs, which carry a password).
A credentials page may show the one account it is about (its password, and the cluster's
handshake key, which flux-restful-cli needs), and a single-user server's HTML pages carry that
server's own API token (jupyter_server's front end needs it); nothing else may show any secret.
"""

import re

import jwt
import pytest

from flux_hub.notebook import connect
from flux_hub.restful import FluxRestfulClient

from .support import SERVICE, report, table

pytestmark = pytest.mark.timeout(300)

SUMMARY = {}


@pytest.fixture(scope="module", autouse=True)
def known(hub, people, secrets):
    """Add what only the processes know (as at every start), and mint a token for each."""
    secrets.add_process_environments(hub.processes())
    for name, person in people.items():
        # A token minted for each person, as their server's is.
        with FluxRestfulClient(*hub.injected(name).values()) as client:
            client.login()
        # Each person's credentials, as the accounts service shows them: the pages checked below.
        hub.service(person.token, "GET", "api/me/credentials").raise_for_status()
        own = person.session.get(f"{hub.url}{SERVICE}", timeout=60)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', own.text).group(1)
        shown = person.session.post(f"{hub.url}{SERVICE}credentials", data={"_xsrf": xsrf})
        assert person.password in shown.text
    yield secrets
    report(
        "secrets scan",
        [f"{key}: {value}" for key, value in SUMMARY.items()]
        + [f"secrets looked for: {len(secrets)} ({describe(secrets.kinds())})"],
    )


def describe(counts):
    return ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))


def test_the_scan_finds_what_it_looks_for(hub, people, known):
    state = hub.cluster_state()
    password = people["bob"].password
    unseen_token = jwt.encode({"sub": "bob", "exp": 1}, state["token_signing_key"], "HS256")
    handshake = jwt.encode({"user": "bob", "pass": password, "scope": "token"},
                           state["secret_key"], "HS256")  # fmt: skip
    text = f"x {password} y Bearer {unseen_token} z {handshake}\n"
    found = {(secret.kind, secret.owner) for secret in known.found_in(text)}
    assert found == {
        ("flux password", "bob"),
        ("a JWT signed with the cluster token signing key", "bob"),
        ("a JWT signed with the cluster handshake key", "bob"),
    }


def test_no_job_environment_holds_a_secret(hub, people, known, tmp_path):
    seen = 0
    for name, person in people.items():
        _, via_server = hub.run_job(person.token, name, ["env"])
        names = tmp_path / f"{name}-names.json"  # (not the home of whoever runs the tests)
        with connect(*hub.injected(name).values(), names_path=names) as flux:
            via_notebook = flux.submit(["env"]).wait(timeout=60).output()
        for output in (via_server, via_notebook):
            assert "PATH=" in output  # it is the environment
            assert [(s.kind, s.owner) for s in known.found_in(output)] == [], name
            seen += 1
    SUMMARY["job environments"] = (
        f"{seen} (`env` run by each person through their server and the notebook API): 0 hits"
    )


def test_no_log_holds_a_secret(known):
    hits = []
    size = 0
    for path in sorted(known.logs):
        text = path.read_text(errors="replace")
        size += len(text)
        hits += [(str(path), s.kind, s.owner) for s in known.found_in(text)]
    assert len(known.logs) >= 2  # the hub's and its cluster's, at least
    assert hits == []
    SUMMARY["logs"] = f"{len(known.logs)} files, {size / 1e6:.1f} MB: 0 hits"


def test_pages_show_only_the_credentials_they_are_about(hub, known):
    pages = hub.pages.seen
    shown = 0
    wrong = []
    for page in pages:
        for secret in known.found_in(page.text):
            if page.may_show(secret):
                shown += 1
            else:
                wrong.append((page.method, page.path, page.requester, secret.kind, secret.owner))
    assert wrong == []
    assert shown > 0  # the credentials pages were among them, and were checked
    SUMMARY["pages"] = (
        f"{len(pages)} answers read from the hub, its service and the servers: 0 hits "
        f"outside the {shown} shown on purpose to their owner (or an admin): credentials "
        "pages, and a server's own API token in its HTML pages"
    )


def test_no_process_argv_holds_a_secret(hub, known):
    rows = []
    for process in hub.processes():
        try:
            argv = " ".join(process.cmdline())
        except Exception:
            continue
        hits = known.found_in(argv)
        rows.append([process.pid, argv[:60], len(hits)])
    assert len(rows) >= 6  # hub, proxy, two services, cluster, servers
    assert all(hits == 0 for *_, hits in rows), table(["pid", "argv", "hits"], rows)
    SUMMARY["process argv"] = f"{len(rows)} processes of the hub: 0 hits"
