"""The panel's API on the legacy flux-restful-api (the seed's server, run for real)."""

import asyncio
import time

import pytest
from serverext_support import JobList, server_config

from flux_hub.restful import LEGACY_WARNING

pytestmark = pytest.mark.cluster


class TestOnTheLegacyServer:
    @pytest.fixture
    def jp_server_config(self, legacy_cluster):
        # As the hub provisions it there: user and password, no secret key
        config = server_config(host=legacy_cluster.url)
        config["FluxHub"].update(user="alice", token=legacy_cluster.passwords["alice"])
        return config

    async def test_the_summary_says_it_cannot_keep_users_apart(self, api):
        code, summary = await api.get("cluster")
        assert code == 200, summary
        assert summary["reachable"] is True and summary["legacy"] is True
        assert summary["warning"] == LEGACY_WARNING
        assert "any user can read and cancel any job" in summary["warning"]

    async def test_list_submit_output_and_cancel(self, api):
        ids = [await api.submit(command=f"echo number {n}", name=f"n{n}") for n in range(3)]
        for job_id in ids:
            await api.wait(job_id)
        jobs = {job["id"]: job for job in await JobList(api).refresh()}
        assert {jobs[i]["name"] for i in ids} == {"n0", "n1", "n2"}
        assert {jobs[i]["result"] for i in ids} == {"COMPLETED"}
        code, data = await api.get("jobs", str(ids[1]), "output")
        assert (code, data) == (200, {"output": ["number 1\n"]})

        running = await api.submit(command="sleep 60")
        await api.wait(running, "RUN")
        started = time.monotonic()
        code, data = await api.get("jobs", str(running), "output")
        assert (code, data) == (200, {"output": []})  # not asked of the server while it runs
        assert time.monotonic() - started < 3
        code, data = await api.post("jobs", str(running), "cancel")
        assert code == 200, data
        assert (await api.wait(running))["result"] == "CANCELED"

    async def test_live_output_comes_when_the_job_ends_and_nothing_waits_on_it(self, api, jp_fetch):
        job_id = await api.submit(command=["sh", "-c", "echo first; sleep 3; echo last"])
        stream = asyncio.ensure_future(
            jp_fetch("flux-hub", "api", "jobs", str(job_id), "output", "stream")
        )
        await asyncio.sleep(0.5)
        waits = []
        while not stream.done():
            started = time.monotonic()
            code, _ = await api.get("cluster")
            assert code == 200
            waits.append(time.monotonic() - started)
            await asyncio.sleep(0.2)
        response = await stream
        assert response.body.decode() == "first\nlast\n"
        assert waits and max(waits) < 1.5, waits


class TestOnFluxRestful11:
    @pytest.fixture
    def jp_server_config(self, cluster):
        return server_config(cluster, "alice")

    async def test_no_warning(self, api):
        code, summary = await api.get("cluster")
        assert code == 200
        assert (summary["legacy"], summary["warning"]) == (False, None)
