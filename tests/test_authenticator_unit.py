"""FluxAuthenticator and the provisioned-accounts mixin, without a hub, against a real cluster."""

import asyncio
import logging
import time
from types import SimpleNamespace

import pytest
from jupyterhub import orm
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from tornado import web
from traitlets.config import Config

from flux_hub.hub import FluxAccountsMixin, FluxAuthenticator, with_flux_accounts
from flux_hub.restful import AuthenticationFailed, FluxRestfulClient

# JUPYTERHUB_CRYPT_KEY for everything the hub encrypts (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("crypt_key")


def config_for(tmp_path, server_dir, url="", secret=""):
    c = Config()
    c.FluxAccounts.store_path = str(tmp_path / "accounts.sqlite")
    c.LocalProvisioner.server_dir = str(server_dir)
    c.LocalProvisioner.cluster_url = url
    c.LocalProvisioner.secret_key = secret
    return c


@pytest.fixture
def flux_auth(tmp_path, cluster):
    return FluxAuthenticator(
        config=config_for(tmp_path, cluster.state_dir, cluster.url, cluster.secret_key)
    )


class FakeUser:
    """What the hub hands an authenticator: a name, and auth_state it keeps."""

    def __init__(self, name, auth_state=None):
        self.name = name
        self.saved = auth_state

    async def get_auth_state(self):
        return self.saved

    async def save_auth_state(self, state):
        self.saved = state


def unique(prefix):
    return f"{prefix}{time.monotonic_ns() % 10**9}"


def works(env):
    client = FluxRestfulClient(
        env["FLUX_RESTFUL_HOST"], env["FLUX_USER"], env["FLUX_TOKEN"], env["FLUX_SECRET_KEY"]
    )
    try:
        return isinstance(client.submit("true"), int)
    finally:
        client.close()


@pytest.mark.asyncio
async def test_minicluster_password_logs_in(flux_auth, cluster):
    password = cluster.passwords["alice"]
    result = await flux_auth.get_authenticated_user(
        None, {"username": "alice", "password": password}
    )
    assert result["name"] == "alice" and not result.get("auth_state")  # no copy kept
    env = flux_auth.accounts.credentials("alice")  # what alice's server will be given
    assert env["FLUX_USER"] == "alice" and env["FLUX_TOKEN"] == password
    assert env["FLUX_RESTFUL_HOST"] == cluster.url
    assert env["FLUX_SECRET_KEY"] == cluster.secret_key


@pytest.mark.parametrize(
    "form",
    [
        {"username": "alice", "password": "wrong-password"},
        {"username": "nobody-here", "password": "whatever"},
        {"username": "alice", "password": ""},
        {"username": "", "password": "x"},
        {},
    ],
)
@pytest.mark.asyncio
async def test_bad_logins_are_refused(flux_auth, form):
    assert await flux_auth.get_authenticated_user(None, form) is None


@pytest.mark.asyncio
async def test_an_unreachable_cluster_says_so(tmp_path):
    auth = FluxAuthenticator(config=config_for(tmp_path, tmp_path, "http://127.0.0.1:9", ""))
    with pytest.raises(web.HTTPError) as caught:
        await auth.authenticate(None, {"username": "alice", "password": "secret-pw"})
    assert caught.value.status_code == 503
    assert "127.0.0.1:9" in caught.value.log_message
    assert "secret-pw" not in caught.value.log_message


@pytest.mark.asyncio
async def test_add_user_makes_a_working_account_and_is_cheap_the_second_time(flux_auth):
    name = unique("added")
    await flux_auth.add_user(FakeUser(name))
    runs = flux_auth.accounts.provisioner.runs
    env = flux_auth.accounts.credentials(name)
    assert works(env)
    await flux_auth.add_user(FakeUser(name))
    assert flux_auth.accounts.provisioner.runs == runs  # no process, no hash


@pytest.mark.asyncio
async def test_add_user_failure_raises_a_readable_message(tmp_path):
    c = config_for(tmp_path, tmp_path / "server")
    c.LocalProvisioner.python = str(tmp_path / "missing-python")
    auth = FluxAuthenticator(config=c)
    with pytest.raises(ValueError, match="could not provision a Flux account for zoe: Could"):
        await auth.add_user(FakeUser("zoe"))


@pytest.mark.asyncio
async def test_concurrent_add_users_share_one_batch(flux_auth):
    names = [unique(f"c{i}-") for i in range(5)]
    await asyncio.gather(*(flux_auth.add_user(FakeUser(n)) for n in names))
    assert flux_auth.accounts.provisioner.runs == 1
    assert all(flux_auth.accounts.credentials(n) for n in names)


@pytest.mark.asyncio
async def test_hub_start_provisions_every_new_user_in_one_batch(flux_auth):
    # init_users calls add_user with database rows, one after another.
    db = orm.new_session_factory("sqlite://")()
    names = [unique(f"s{i}-") for i in range(6)]
    for name in names:
        db.add(orm.User(name=name))
    db.commit()
    for row in db.query(orm.User):
        await flux_auth.add_user(row)
    assert flux_auth.accounts.provisioner.runs == 1
    assert all(flux_auth.accounts.credentials(n) for n in names)


@pytest.mark.asyncio
async def test_delete_user_deactivates_the_account(flux_auth):
    name = unique("del")
    await flux_auth.add_user(FakeUser(name))
    env = flux_auth.accounts.credentials(name)
    await flux_auth.delete_user(FakeUser(name))
    client = FluxRestfulClient(
        env["FLUX_RESTFUL_HOST"], env["FLUX_USER"], env["FLUX_TOKEN"], env["FLUX_SECRET_KEY"]
    )
    with pytest.raises(AuthenticationFailed):
        client.login()
    client.close()


@pytest.mark.asyncio
async def test_pre_spawn_start_hands_the_server_working_credentials(flux_auth):
    name = unique("spawn")
    user = FakeUser(name, auth_state={"other": "kept"})
    await flux_auth.add_user(user)
    spawner = SimpleNamespace(environment={"EXISTING": "1"})
    await flux_auth.pre_spawn_start(user, spawner)
    env = spawner.environment
    assert env["EXISTING"] == "1"
    assert set(env) >= {"FLUX_RESTFUL_HOST", "FLUX_USER", "FLUX_TOKEN", "FLUX_SECRET_KEY"}
    assert works(env)
    assert user.saved == {"other": "kept"}  # the hub keeps no copy of the credentials
    assert "FLUX_SERVER_MODE" not in env  # not known: the server assumes single-user


@pytest.mark.asyncio
async def test_the_server_is_told_the_cluster_runs_multi_user(tmp_path, cluster, monkeypatch):
    from flux_hub.serverextension.config import FluxHub

    c = config_for(tmp_path, cluster.state_dir, cluster.url, cluster.secret_key)
    c.LocalProvisioner.flux_server_mode = "multi-user"
    auth = FluxAuthenticator(config=c)
    user = FakeUser(unique("mode"))
    await auth.add_user(user)
    spawner = SimpleNamespace(environment={})
    await auth.pre_spawn_start(user, spawner)
    assert spawner.environment["FLUX_SERVER_MODE"] == "multi-user"
    # ... which is what the server extension goes by
    for name, value in spawner.environment.items():
        monkeypatch.setenv(name, value)
    assert FluxHub().server_mode == "multi-user"


@pytest.mark.asyncio
async def test_pre_spawn_start_picks_up_a_rotated_password(flux_auth):
    name = unique("rot")
    user = FakeUser(name)
    await flux_auth.add_user(user)
    first = SimpleNamespace(environment={})
    await flux_auth.pre_spawn_start(user, first)
    old = first.environment["FLUX_TOKEN"]
    flux_auth.accounts.ensure([name], rotate=True)
    spawner = SimpleNamespace(environment={})
    await flux_auth.pre_spawn_start(user, spawner)
    assert spawner.environment["FLUX_TOKEN"] != old
    assert works(spawner.environment)


def test_missing_crypt_key_stops_the_hub_with_a_reason(tmp_path, monkeypatch):
    from jupyterhub.crypto import CryptKeeper

    monkeypatch.delenv("JUPYTERHUB_CRYPT_KEY")
    CryptKeeper.clear_instance()
    with pytest.raises(SystemExit, match="FluxAuthenticator: .*JUPYTERHUB_CRYPT_KEY"):
        FluxAuthenticator(config=config_for(tmp_path, tmp_path))


def test_an_accounts_store_of_a_newer_flux_hub_stops_the_hub_with_a_reason(tmp_path):
    """Not a traceback: one line naming the file and what to do (issue 29.6)."""
    import sqlite3

    store = tmp_path / "accounts.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(SystemExit) as stopped:
        FluxAuthenticator(config=config_for(tmp_path, tmp_path))
    said = str(stopped.value)
    assert said.startswith("FluxAuthenticator: ") and "\n" not in said
    assert str(store) in said and "newer flux-hub" in said


@pytest.mark.asyncio
async def test_any_authenticator_gets_provisioned_accounts(tmp_path, cluster):
    cls = with_flux_accounts("shared-password")
    assert issubclass(cls, FluxAccountsMixin) and issubclass(cls, SharedPasswordAuthenticator)
    assert with_flux_accounts(cls) is cls
    c = config_for(tmp_path, cluster.state_dir, cluster.url, cluster.secret_key)
    c.SharedPasswordAuthenticator.user_password = "shared-secret-pw"
    c.Authenticator.allow_all = True
    auth = cls(config=c)
    assert not auth.accounts.login_with_account_password
    name = unique("shared")
    # The wrapped authenticator decides who logs in ...
    result = await auth.get_authenticated_user(
        None, {"username": name, "password": "shared-secret-pw"}
    )
    assert result["name"] == name
    assert await auth.get_authenticated_user(None, {"username": name, "password": "no"}) is None
    # ... and flux-hub gives them an account.
    user = FakeUser(name)
    await auth.add_user(user)
    spawner = SimpleNamespace(environment={})
    await auth.pre_spawn_start(user, spawner)
    assert spawner.environment["FLUX_USER"] == name
    assert works(spawner.environment)


@pytest.mark.asyncio
async def test_new_passwords_are_announced_seed_style_never_logged(tmp_path, cluster, caplog):
    c = config_for(tmp_path, cluster.state_dir, cluster.url, cluster.secret_key)
    target = tmp_path / "new-passwords.txt"
    c.FluxAuthenticator.announce_passwords_to = [str(tmp_path / "no/such/dir/x"), str(target)]
    caplog.set_level(logging.INFO)
    auth = FluxAuthenticator(config=c, log=logging.getLogger("flux-hub-test"))
    name = unique("seed")
    await auth.add_user(FakeUser(name))
    password = auth.accounts.credentials(name)["FLUX_TOKEN"]
    assert target.read_text() == f"Adding '{name}' with password '{password}'\n"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert "New Flux account passwords were printed to" in caplog.text
    assert password not in caplog.text
    # the person logs in with the announced password
    result = await auth.get_authenticated_user(None, {"username": name, "password": password})
    assert result["name"] == name


@pytest.mark.asyncio
async def test_the_server_is_told_where_the_hubs_reader_is(tmp_path, cluster, monkeypatch):
    """add_accounts_service points servers at the service's reader, and lets their own token
    in (the 'server' role); the server extension and terminals go by FLUX_HUB_READER_URL."""
    from flux_hub.hub import add_accounts_service
    from flux_hub.serverextension.config import FluxHub

    c = config_for(tmp_path, cluster.state_dir, cluster.url, cluster.secret_key)
    c.JupyterHub.load_roles = [{"name": "server", "scopes": ["users:activity!user", "custom"]}]
    add_accounts_service(c, __file__, port=8555)
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert roles["server"]["scopes"] == [
        "users:activity!user",
        "custom",  # an earlier config's scopes are kept
        "access:services!service=flux-accounts",
    ]
    url = "http://127.0.0.1:8555/services/flux-accounts/api/reader"
    assert c.FluxAccountsMixin.reader_url == url
    auth = FluxAuthenticator(config=c)
    user = FakeUser(unique("reader"))
    await auth.add_user(user)
    spawner = SimpleNamespace(environment={})
    await auth.pre_spawn_start(user, spawner)
    assert spawner.environment["FLUX_HUB_READER_URL"] == url
    holds = "http://127.0.0.1:8555/services/flux-accounts/api/holds/"
    assert spawner.environment["FLUX_HUB_HOLDS_URL"] == holds
    for name, value in spawner.environment.items():
        monkeypatch.setenv(name, value)
    assert FluxHub().reader_url == url + "/"

    # A config that names its own reader URL keeps it; without a reader URL servers get none
    c2 = config_for(tmp_path, cluster.state_dir, cluster.url, cluster.secret_key)
    c2.FluxAccountsMixin.reader_url = "http://hub:8181/services/flux-accounts/api/reader/"
    add_accounts_service(c2, __file__, port=8556)
    assert c2.FluxAccountsMixin.reader_url.startswith("http://hub:8181/")
    plain = FluxAuthenticator(config=config_for(tmp_path, cluster.state_dir, cluster.url))
    spawner = SimpleNamespace(environment={})
    await plain.pre_spawn_start(user, spawner)
    assert "FLUX_HUB_READER_URL" not in spawner.environment
    assert "FLUX_HUB_HOLDS_URL" not in spawner.environment
