"""The hub's published job templates (issue 26): ``c.FluxAccountsMixin.job_templates`` is checked
when the hub starts (a template that is not a valid job request stops it, in one sentence naming
the template and the field) and handed to every server as FLUX_HUB_TEMPLATES, which the server
extension reads (``c.FluxHub.templates``) and shows read-only."""

import json
import logging
from types import SimpleNamespace

import pytest
from test_authenticator_unit import FakeUser, config_for, unique, works

from flux_hub.hub import FluxAuthenticator, with_flux_accounts
from flux_hub.serverextension.config import FluxHub
from flux_hub.serverextension.history import published_templates

# JUPYTERHUB_CRYPT_KEY for everything the hub encrypts (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("crypt_key")


TEMPLATES = [
    {
        "name": " MPI hello ",
        "description": "4 tasks on 2 nodes, 10 minutes",
        "request": {"command": "mpirun ./hello", "num_nodes": 2, "num_tasks": "4",
                    "runtime": "10m", "exclusive": True},
    },
    {"name": "one GPU", "request": {"gpus_per_task": 1, "envars": {"CUDA_CACHE": "/tmp/c"}}},
]  # fmt: skip


@pytest.mark.asyncio
async def test_every_server_gets_the_templates_and_shows_them(tmp_path, cluster, monkeypatch):
    c = config_for(tmp_path, cluster.state_dir, cluster.url, cluster.secret_key)
    c.FluxAccountsMixin.job_templates = TEMPLATES  # also FluxAuthenticator's, by inheritance
    auth = FluxAuthenticator(config=c)
    user = FakeUser(unique("tmpl"))
    await auth.add_user(user)
    spawner = SimpleNamespace(environment={"EXISTING": "1"})
    await auth.pre_spawn_start(user, spawner)
    env = spawner.environment
    assert works(env) and env["EXISTING"] == "1"
    # compact JSON, each request as the server will show it
    assert env["FLUX_HUB_TEMPLATES"] == json.dumps(
        [
            {
                "description": "4 tasks on 2 nodes, 10 minutes",
                "name": "MPI hello",
                "request": {"command": "mpirun ./hello", "exclusive": True, "num_nodes": 2,
                            "num_tasks": 4, "runtime": 600},
            },
            {"description": "", "name": "one GPU",
             "request": {"envars": {"CUDA_CACHE": "/tmp/c"}, "gpus_per_task": 1}},
        ],
        separators=(",", ":"),
    )  # fmt: skip

    # ... which is what the server extension shows, read-only
    monkeypatch.setenv("FLUX_HUB_TEMPLATES", env["FLUX_HUB_TEMPLATES"])
    shown = published_templates(FluxHub().templates, logging.getLogger("test"))
    assert [(t["name"], t["published"], t["request"].get("runtime")) for t in shown] == [
        ("MPI hello", True, 600),
        ("one GPU", True, None),
    ]

    # A server started without working credentials (a deactivated account) gets them too
    monkeypatch.setattr(auth.accounts, "credentials", lambda *args: None)
    plain = SimpleNamespace(environment={})
    await auth.pre_spawn_start(user, plain)
    assert "FLUX_TOKEN" not in plain.environment
    assert plain.environment["FLUX_HUB_TEMPLATES"] == env["FLUX_HUB_TEMPLATES"]


def test_no_templates_is_an_empty_list(tmp_path):
    auth = FluxAuthenticator(config=config_for(tmp_path, tmp_path))
    assert auth.job_templates == [] and auth.job_templates_environment() == "[]"


BAD = [
    ([{"name": "MPI hello", "request": {"command": "mpirun", "num_tasks": "many"}}],
     "the template 'MPI hello': 'num_tasks' must be a whole number of at least 1, not 'many'"),
    ([TEMPLATES[1], {"name": "later", "request": {"runtime": "soon"}}],
     "the template 'later': 'runtime': 'soon' is not a time limit: use a Flux duration"),
    ([{"name": "x", "request": {"command": "true", "colour": "red"}}],
     "the template 'x': unknown field 'colour'"),
    ([{"name": "x", "request": "hostname"}],
     "the template 'x': 'request': a template's request is an object of job fields, not "
     "'hostname'"),
    ([{"request": {"command": "true"}}],
     "template number 1: a template's name is 1 to 80 characters of text, not None"),
    ([{"name": "x", "request": {}}, {"name": " x", "request": {}}],
     "the template ' x': two templates have that name"),
    ([{"name": "x", "descr": "typo", "request": {}}],
     "the template 'x' has an unknown key 'descr' (it takes name, description and request)"),
    ([{"name": "x", "description": 3, "request": {}}],
     "the template 'x': 'description' must be text, not 3"),
]  # fmt: skip


@pytest.mark.parametrize("templates, message", BAD)
def test_a_bad_template_stops_the_hub_in_one_sentence(tmp_path, templates, message):
    c = config_for(tmp_path, tmp_path)
    c.FluxAuthenticator.job_templates = templates
    with pytest.raises(SystemExit) as stopped:
        FluxAuthenticator(config=c)
    text = str(stopped.value)
    assert text.startswith(f"FluxAuthenticator.job_templates: {message}"), text
    assert "\n" not in text


def test_any_authenticator_with_flux_accounts_checks_them(tmp_path):
    cls = with_flux_accounts("shared-password")
    c = config_for(tmp_path, tmp_path)
    c.SharedPasswordAuthenticator.user_password = "shared-secret-pw"
    c.FluxAccountsMixin.job_templates = [{"name": "x", "request": {"num_nodes": 0}}]
    with pytest.raises(SystemExit) as stopped:
        cls(config=c)
    assert str(stopped.value) == (
        "FluxSharedPasswordAuthenticator.job_templates: the template 'x': 'num_nodes' must be "
        "a whole number of at least 1, not '0'"
    )
