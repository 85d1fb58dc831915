"""The person's server's side of the hub's holds (flux_hub/serverextension/holds.py), wired as
the extension's routes are to be (HeldJobsHandler on POST jobs, HoldsHandler on GET holds),
against the accounts service's holds on the session cluster (the hub's token check stood in for
as in tests/test_reader_service.py): a job with a dependency is held by the hub and released
as alice; everything refused says so in one line and holds nothing."""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from jupyter_server.utils import url_path_join
from serverext_support import JobList, server_config
from test_holds_cluster import HoldsHubThread
from test_reader_service import Hub

import flux_hub.serverextension
from flux_hub import jobid
from flux_hub.history import History
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
def names_path(tmp_path):
    return tmp_path / "alice-data" / "flux-hub" / "job-names.json"


@pytest.fixture
def jp_server_config(cluster, hub, names_path):
    # the hub hands the server its reader's URL (the holds are next to it) and its own token
    return server_config(
        cluster,
        "alice",
        reader_url=hub.reader_url,
        reader_token="alice-server",
        job_names_path=str(names_path),
    )


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


def written(service):
    """Wait for the history writes queued so far (made one after another in the background)."""
    if service._recorder is not None:
        service._recorder.submit(lambda: None).result(timeout=30)


def history_command(cluster, names_path):
    """``flux-hub history --json`` in alice's terminal (her data folder: names_path's)."""
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(names_path.parent.parent),
        "FLUX_RESTFUL_HOST": cluster.url,
        "FLUX_USER": "alice",
        "FLUX_TOKEN": cluster.passwords["alice"],
        "FLUX_SECRET_KEY": cluster.secret_key or "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "flux_hub.cli", "history", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_a_job_the_hub_released_is_the_persons_own_under_its_name_and_in_its_history(
    api, service, cluster, hub, names_path, jp_root_dir, jp_serverapp
):
    (jp_root_dir / "work").mkdir()
    first = await api.submit(command="true")
    code, held = await api.post(
        "jobs",
        body={
            "command": "echo chained",
            "name": "step two",
            "workdir": "work",
            "dependency": f"afterok:{jobid.f58(first)}",
            "origin": {"kind": "file", "path": "work/run.job"},
        },
    )
    assert code == 201, held
    # the hub releases it while nobody reads the holds here (as with the server stopped)
    deadline = time.monotonic() + 60
    while (hold := hub.holder.store.get(held["hold"])).state != "SUBMITTED":
        assert hold.state == "DEPEND" and time.monotonic() < deadline, hold
        await asyncio.sleep(0.2)
    job_id = hold.job
    assert service.names.all().get(job_id) is None
    # the server starts again more than a week later: it takes it up all the same
    with sqlite3.connect(hub.holder.store.path) as db:
        db.execute("UPDATE holds SET updated = updated - 8 * 86400")
    hold = hub.holder.store.get(held["hold"])
    holds.resume(jp_serverapp.web_app.settings)
    while service.names.all().get(job_id) is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    written(service)
    jobs = await JobList(api).refresh()
    assert [job["name"] for job in jobs if job["id"] == job_id] == ["step two"]
    with History(names_path=names_path, account="alice") as history:
        record = history.get(job_id)
    assert record["name"] == "step two"
    assert record["origin"] == {
        "kind": "file", "path": "work/run.job", "cell": None, "command": None
    }  # fmt: skip
    assert record["command"] == "echo chained" and record["cluster"] == cluster.url
    assert record["workdir"] == str(jp_root_dir / "work")
    assert record["lab_workdir"] == str(jp_root_dir / "work")
    assert abs(record["submitted"] - hold.updated) < 0.01  # when the hub submitted it
    # and once: reading the holds again (as the panel polls) records nothing more
    service.names.set(job_id, "renamed by alice")
    code, listing = await api.get("holds", params={"all": "1"})
    assert code == 200 and [h["job"] for h in listing["holds"]] == [job_id]
    assert listing["holds"][0]["after_text"] == f"afterok:{jobid.f58(first)}"
    assert listing["holds"][0]["origin"] == {"origin_kind": "file", "origin_path": "work/run.job"}
    written(service)
    assert service.names.all()[job_id] == "renamed by alice"
    # flux-hub history in alice's terminal shows it
    (shown,) = [r for r in history_command(cluster, names_path) if r["id"] == job_id]
    assert shown["name"] == "step two" and shown["origin"]["kind"] == "file"


async def test_the_holds_listing_takes_up_a_released_job_and_passes_all_on(
    api, service, hub, names_path
):
    first = await api.submit(command="true")
    code, held = await api.post(
        "jobs", body={"command": "true", "dependency": f"afterany:{first}", "name": "b"}
    )
    released = await held_until(api, held["hold"])  # GET holds, as the panel polls
    assert service.names.all()[released["job"]] == "b"
    written(service)
    with History(names_path=names_path, account="alice") as history:
        assert history.get(released["job"])["origin"]["kind"] == "panel"
    assert (names_path.parent / holds.TAKEN_FILE).read_text() == f"{held['hold']}\n"
    # a hold ended more than a week ago: only with ?all=1
    with sqlite3.connect(hub.holder.store.path) as db:
        db.execute("UPDATE holds SET updated = updated - 8 * 86400")
    assert (await api.get("holds"))[1] == {"holds": []}
    code, everything = await api.get("holds", params={"all": "1"})
    assert code == 200 and [h["id"] for h in everything["holds"]] == [held["hold"]]
