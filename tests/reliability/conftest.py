"""Fixtures of the reliability tests: one real hub for the whole directory, its four people with
their servers running, and the record of every secret issued and every page read.

The modules run in file order; test_secrets.py comes last and scans what all of them produced.
"""

import shutil

import pytest

from .support import (
    ADMIN,
    PEOPLE,
    REPORTS,
    Pages,
    Person,
    ReliabilityHub,
    Secrets,
    recording_flux_tokens,
)


def pytest_terminal_summary(terminalreporter):
    for title, lines in REPORTS.items():
        terminalreporter.write_sep("-", title)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="package")
def secrets():
    return Secrets()


@pytest.fixture(scope="package")
def hub(tmp_path_factory, secrets):
    assert shutil.which("configurable-http-proxy"), "npm install -g configurable-http-proxy"
    hub = ReliabilityHub(tmp_path_factory.mktemp("reliability-hub"), secrets)
    hub.pages = Pages(hub.url, secrets)
    with hub.pages.recording(), recording_flux_tokens(secrets):
        hub.start()
        register_hub_secrets(hub, secrets)
        try:
            yield hub
        finally:
            # Servers outlive the hub here (cleanup_servers is off): stop them first.
            people = hub.people
            try:
                hub.stop_servers(people.values())
            finally:
                for person in people.values():
                    process = hub.server_process(person.name)
                    if process is not None:
                        process.kill()
                hub.stop()


def register_hub_secrets(hub, secrets):
    state = hub.cluster_state()
    secrets.add_signing_key(state["secret_key"], "cluster handshake key")
    secrets.add_signing_key(state["token_signing_key"], "cluster token signing key")
    for name, password in state["passwords"].items():
        secrets.add(password, "flux password", name)
    for name, password in hub.announced_passwords().items():
        secrets.add(password, "flux password", name)
    for value in hub.hub_secrets():
        secrets.add(value, "hub key")
    secrets.logs.update(hub.logs())


@pytest.fixture(scope="package")
def people(hub, secrets):
    """{name: Person} for alice, bob, carol and the hub admin, each with a running server."""
    passwords = hub.announced_passwords()
    assert set(passwords) == set(PEOPLE)
    found = {}
    for name in PEOPLE:
        session = hub.login(name, passwords[name])
        hub.pages.sessions[id(session)] = name
        token = hub.token_for(session, name)
        secrets.add(token, "hub API token", name)
        found[name] = Person(name, passwords[name], token, session)
    assert hub.api(found[ADMIN].token, "GET", "users").status_code == 200
    hub.people = found
    hub.start_servers(found.values())
    return found
