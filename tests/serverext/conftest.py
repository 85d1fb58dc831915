"""Fixtures for the server extension's tests: a Jupyter server per test (pytest-jupyter) and a
second, real single-user server process for another account.

pytest-jupyter's fixtures and its hooks (which run the coroutine tests on the server's loop) are
imported here rather than listed in ``pytest_plugins``, so that they apply to this directory only.
"""

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403
from serverext_support import Api, UserServer, server_config


@pytest.fixture
def jp_server_config(cluster):
    return server_config(cluster, "alice")


@pytest.fixture
def service(jp_serverapp):
    """The extension's JobsService inside the test server (to look at what it asked for)."""
    return jp_serverapp.web_app.settings["flux_hub"]


@pytest.fixture
def api(jp_fetch):
    return Api(jp_fetch)


@pytest.fixture(scope="module")
def bob_server(cluster, tmp_path_factory):
    """Bob's own single-user server (alice's is the pytest-jupyter one)."""
    server = UserServer(
        tmp_path_factory.mktemp("bob-server"),
        {
            "FLUX_RESTFUL_HOST": cluster.url,
            "FLUX_USER": "bob",
            "FLUX_TOKEN": cluster.passwords["bob"],
            "FLUX_SECRET_KEY": cluster.secret_key,
        },
    )
    yield server
    server.stop()
