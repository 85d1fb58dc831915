"""The person's server's side of the hub's holds (flux_hub/serverextension/holds.py), wired as
the extension's routes are to be (HeldJobsHandler on POST jobs, HoldsHandler on GET holds),
against the accounts service's holds on the session cluster (the hub's token check stood in for
as in tests/test_reader_service.py): a job with a dependency is held by the hub and released
as alice; everything refused says so in one line and holds nothing."""

import asyncio
import time

import pytest
from jupyter_server.utils import url_path_join
from serverext_support import server_config
from test_holds_cluster import HoldsHubThread
from test_reader_service import Hub

import flux_hub.serverextension
from flux_hub import jobid
from flux_hub.serverextension import holds
from flux_hub.serverextension.handlers import handlers as extension_routes
from flux_hub.service import handlers as service_handlers

pytestmark = pytest.mark.cluster


def wired(base_url):
    """The extension's routes with the lead's wiring of the holds' handlers."""
    api = url_path_join(base_url, "flux-hub", "api")
    return [
        (url_path_join(api, "jobs"), holds.HeldJobsHandler),
        (url_path_join(api, "holds"), holds.HoldsHandler),
        (url_path_join(api, "holds", r"(?P<hold_id>[^/]+)"), holds.HoldHandler),
        *extension_routes(base_url),
    ]


@pytest.fixture
def hub(cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(service_handlers.BaseHandler, "hub_auth", Hub())
    monkeypatch.setattr(flux_hub.serverextension, "handlers", wired)
    side = HoldsHubThread(cluster, tmp_path)
    yield side
    side.stop()


@pytest.fixture
def jp_server_config(cluster, hub):
    # the hub hands the server its reader's URL (the holds are next to it) and its own token
    return server_config(cluster, "alice", reader_url=hub.reader_url, reader_token="alice-server")


async def held_until(api, hold_id, states=("SUBMITTED", "NEVER_RUN")):
    deadline = time.monotonic() + 60
    while True:
        code, answer = await api.get("holds")
        assert code == 200, answer
        (hold,) = [h for h in answer["holds"] if h["id"] == hold_id]
        if hold["state"] in states:
            return hold
        assert time.monotonic() < deadline, hold
        await asyncio.sleep(0.2)


async def test_a_job_with_a_dependency_is_held_by_the_hub_and_released_as_its_owner(
    api, cluster, client_for
):
    alice, bob = client_for("alice"), client_for("bob")
    first = await api.submit(command="sleep 1")
    code, held = await api.post(
        "jobs",
        body={
            "command": "echo after",
            "name": "step two",
            "dependency": f"afterok:{jobid.f58(first)}",
        },
    )
    assert code == 201, held
    assert held == {
        "hold": held["hold"],
        "state": "DEPEND",
        "after": [{"kind": "afterok", "id": first}],
        "name": "step two",
    }
    released = await held_until(api, held["hold"])
    assert released["state"] == "SUBMITTED" and released["name"] == "step two"
    assert (await api.wait(released["job"]))["result"] == "COMPLETED"
    assert "after" in "".join(alice.output(released["job"]))
    assert released["job"] not in {job["id"] for job in bob.jobs()}
    code, one = await api.get("holds", held["hold"])
    assert (code, one) == (200, released)
    # a hold already released is not canceled; one waiting is
    code, one = await api.call("DELETE", "holds", held["hold"])
    assert (code, one["state"]) == (200, "SUBMITTED")
    running = await api.submit(command="sleep 300")
    try:
        code, waiting = await api.post(
            "jobs", body={"command": "true", "dependency": [f"afterany:{running}"]}
        )
        code, one = await api.call("DELETE", "holds", waiting["hold"])
        assert (code, one["state"], one["reason"]) == (200, "CANCELED", "canceled by you")
    finally:
        await api.post("jobs", str(running), "cancel")
    code, answer = await api.get("holds", "h0000")
    assert (code, answer["message"]) == (404, "There is no hold h0000 of yours.")
    code, answer = await api.get("holds", "a.b")
    assert code == 400 and answer["message"] == "'a.b' is not a hold's id."
    # without a dependency POST jobs submits at once, as before
    code, plain = await api.post("jobs", body={"command": "true", "dependency": None})
    assert code == 201 and set(plain) == {"id"}


async def test_refusals_are_one_line_and_hold_nothing(api, client_for):
    bobs = client_for("bob").submit("true")
    mine = await api.submit(command="true")
    cases = [
        ({"command": "id", "dependency": "afterok"}, "dependency"),
        ({"command": "id", "dependency": [{"kind": "after", "id": 1}]}, "dependency"),
        ({"command": "id", "num_tasks": "x", "dependency": f"afterok:{mine}"}, None),
        ({"command": "id", "owner": "bob", "dependency": f"afterok:{mine}"}, None),
    ]
    for body, field in cases:
        code, answer = await api.post("jobs", body=body)
        assert code == 400, answer
        assert answer.get("field") == field
        assert all("\n" not in line for line in [answer["message"], *answer["reasons"]])
    code, answer = await api.post("jobs", body={"command": "id", "dependency": f"afterok:{bobs}"})
    assert (code, answer["message"]) == (
        400,
        f"There is no job {jobid.f58(bobs)} of yours to wait for.",
    )
    assert (await api.get("holds"))[1] == {"holds": []}


async def test_without_a_hub_a_dependency_is_refused(api, monkeypatch, jp_serverapp):
    jp_serverapp.web_app.settings["flux_hub"].settings.reader_url = ""
    code, answer = await api.post("jobs", body={"command": "id", "dependency": "afterok:1"})
    assert code == 503
    assert answer["message"].startswith("This server was given no hub to hold jobs")
