"""Shared fixtures: a real flux-restful server (the local MiniCluster) and clients for its users.

The suite runs in one of two lanes, chosen as the local cluster chooses (``FLUX_HUB_SIMULATE``,
else flux-core on PATH): the simulated Flux instance, or real Flux. Tests marked
``simulator_only`` need what only the simulation does and are skipped, with their reason, in
the real lane; every other test runs in both.
"""

import os
import subprocess

import pytest
import unix_accounts
from lanes import FLUX, REAL_FLUX

from flux_hub.local import LocalCluster
from flux_hub.restful import FluxRestfulClient

SEEDED_USERS = ("alice", "bob", "carol")
# The clusters start as if up for 30 days: their job ids are above 2**53, as on any Flux instance
# up for more than 6.2 days, so every test sees ids that a JavaScript number cannot hold.
OLD_INSTANCE = {"FLUX_SIM_UPTIME": str(30 * 86400)}


def _start(path, **kwargs):
    kwargs.setdefault("users", SEEDED_USERS)
    kwargs.setdefault("server_env", OLD_INSTANCE)
    kwargs.setdefault("nodes", 2)
    kwargs.setdefault("cores_per_node", 4)
    return LocalCluster(path, **kwargs).start(timeout=120)


@pytest.fixture(scope="session", autouse=True)
def _no_accounts_left():
    """Every Unix account and home flux-hub made during the session is removed at its end
    (tests/unix_accounts.py): `getent passwd` is the same before and after a run. Only where
    ``FLUX_HUB_TEST_REMOVE_ACCOUNTS=1`` (scripts/test sets it; it runs one session at a time): two
    sessions at once on one machine cannot tell whose accounts are whose."""
    if os.geteuid() != 0 or os.environ.get("FLUX_HUB_TEST_REMOVE_ACCOUNTS") != "1":
        yield
        return
    before = unix_accounts.snapshot()
    yield
    left = unix_accounts.remove_new(before)
    assert not left, f"Unix accounts the tests made could not be removed: {left}"


# The hub's key for auth state and the stored passwords (JUPYTERHUB_CRYPT_KEY), in tests
CRYPT_KEY = "ab" * 32


@pytest.fixture
def crypt_key(monkeypatch):
    """JUPYTERHUB_CRYPT_KEY set, and JupyterHub's CryptKeeper made anew with it (and after):
    for tests of the authenticator and the accounts, which encrypt what they keep. Its value."""
    from jupyterhub.crypto import CryptKeeper

    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", CRYPT_KEY)
    CryptKeeper.clear_instance()
    yield CRYPT_KEY
    CryptKeeper.clear_instance()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """One local MiniCluster for the whole session; tests must not stop it."""
    cl = _start(tmp_path_factory.mktemp("cluster"))
    yield cl
    cl.stop()


@pytest.fixture(scope="session")
def legacy_cluster(tmp_path_factory):
    """The legacy flux-restful-api (the seed's server) for the session, seeded the seed's way."""
    cl = _start(tmp_path_factory.mktemp("legacy"), legacy=True)
    yield cl
    cl.stop()


@pytest.fixture
def legacy_client_for(legacy_cluster):
    """Make a synchronous client of the legacy server for one of the seeded users (it hands
    out no secret key: logins go through the form)."""
    yield from _clients(legacy_cluster, secret_key=False)


@pytest.fixture
def fresh_cluster(tmp_path):
    """A cluster of the test's own, for tests that stop or restart it."""
    cl = _start(tmp_path / "cluster")
    yield cl
    cl.stop()


@pytest.fixture
def client_for(cluster):
    """Make a synchronous client logged in (lazily) as one of the seeded users."""
    yield from _clients(cluster)


def _clients(cluster, secret_key=True):
    """A client factory for seeded users of ``cluster``; closes what it made afterwards."""
    made = []

    def make(name, **kwargs):
        kwargs.setdefault("host", cluster.url)
        kwargs.setdefault("user", name)
        kwargs.setdefault("token", cluster.passwords[name])
        if secret_key:
            kwargs.setdefault("secret_key", cluster.secret_key)
        client = FluxRestfulClient(**kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def pytest_report_header(config):
    if REAL_FLUX:
        version = subprocess.run([FLUX, "version"], capture_output=True, text=True).stdout
        core = next((ln.split()[-1] for ln in version.splitlines() if "libflux-core" in ln), "?")
        return f"flux-hub lane: real Flux, flux-core {core} ({FLUX})"
    return "flux-hub lane: simulated Flux instance"


def pytest_collection_modifyitems(config, items):
    """Skip simulator-only tests on real Flux (with their reason); run the browser tests last.

    Playwright's sync API leaves its event loop marked as running in the main thread after it
    stops, which breaks every asyncio-based test that comes after it in the same process.
    """
    if REAL_FLUX:
        for item in items:
            marker = item.get_closest_marker("simulator_only")
            if marker is not None:
                reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
                item.add_marker(pytest.mark.skip(reason=f"simulator only: {reason}"))
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/"))
