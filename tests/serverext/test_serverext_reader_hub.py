"""The person's server against the hub's own reader (issue 27): the accounts service's reader
endpoints (flux_hub/service/handlers.py, the hub's token check stood in for as in
tests/test_reader_service.py) with a real Reader polling the session cluster's guard as its
superuser, in a thread of their own as on the hub. What alice's panel gets through her server:
her own jobs only, each waiting one with its place in everyone's queue, and the cluster's
resources and queue."""

import asyncio
import time

import pytest
from reader_stub import HubReader
from serverext_support import JobList, record_requests, server_config
from test_reader_service import Accounts, Hub

from flux_hub.service import handlers

pytestmark = pytest.mark.cluster

TIMEOUT = 60


@pytest.fixture
def hub_reader(cluster, monkeypatch):
    monkeypatch.setattr(handlers.BaseHandler, "hub_auth", Hub())
    side = HubReader(cluster, Accounts())
    yield side
    side.stop()


@pytest.fixture
def jp_server_config(cluster, hub_reader):
    # alice's server's own hub token, as the stand-in for the hub knows it
    return server_config(cluster, "alice", reader_url=hub_reader.url, reader_token="alice-server")


async def refreshed_until(panel, check):
    deadline = time.monotonic() + TIMEOUT
    while True:
        jobs = {job["id"]: job for job in await panel.refresh()}
        if check(jobs):
            return jobs
        assert time.monotonic() < deadline, jobs
        await asyncio.sleep(0.3)


async def test_the_panel_gets_its_own_jobs_and_the_queue_from_the_hubs_reader(
    api, service, cluster, client_for, hub_reader
):
    alice, bob = client_for("alice"), client_for("bob")
    made = []
    try:
        # alice's job holds all 8 cores; bob's job waits first, then alice's second
        full = await api.submit(command="sleep 300", num_tasks=8)
        made.append(full)
        await api.wait(full, "RUN")
        bobs = bob.submit("true", num_tasks=4)
        made.append(bobs)
        behind = await api.submit(command="true", num_tasks=2, name="behind bob's")
        made.append(behind)
        panel = JobList(api)
        jobs = await refreshed_until(
            panel, lambda jobs: (jobs.get(behind) or {}).get("waiting", {}).get("position")
        )
        asked = record_requests(service)
        jobs = await refreshed_until(panel, lambda jobs: True)

        waiting = jobs[behind]["waiting"]
        assert jobs[behind]["name"] == "behind bob's"
        assert (waiting["position"], waiting["ahead"]) == (2, 1)  # everyone's queue
        assert "behind 1 job" in waiting["reason"] and "0 free now" in waiting["reason"]
        assert bobs not in jobs and bobs not in panel.answers[-1].get("ids", [])
        assert all("owner" not in job for answer in panel.answers for job in answer["jobs"])
        assert asked == []  # the refresh asked flux-restful nothing
        assert set(jobs) == {job["id"] for job in alice.jobs()}

        code, summary = await api.get("cluster")
        assert code == 200 and summary["reader"] is True
        assert summary["resources"]["cores"] == {
            "total": 8,
            "up": 8,
            "down": 0,
            "busy": 8,
            "free": 0,
        }
        assert summary["queue"] == {"running": 1, "waiting": 2}
        assert summary["nodes"] == sorted(alice.nodes())
        code, detail = await api.get("jobs", str(behind))
        assert detail["waiting"] == waiting
    finally:
        for job_id in made:
            for client in (alice, bob):
                try:
                    client.cancel(job_id)
                except Exception:  # noqa: BLE001 (the other's, or ended)
                    pass
    assert hub_reader.reader.error is None
