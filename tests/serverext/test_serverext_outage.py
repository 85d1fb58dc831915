"""The cluster going away and coming back, seen through the extension (a cluster of its own)."""

import pytest
from serverext_support import server_config

from flux_hub.restful import FluxRestfulClient


@pytest.fixture
def jp_server_config(fresh_cluster):
    return server_config(fresh_cluster, "alice")


async def test_a_stopped_cluster_is_503_naming_it_and_the_extension_recovers(api, fresh_cluster):
    done = await api.submit(command="hostname")
    await api.wait(done)
    running = await api.submit(command="sleep 60")
    await api.wait(running, "RUN")
    assert (await api.get("jobs"))[0] == 200

    fresh_cluster.stop()
    requests = [
        ("GET", ("jobs",), None),
        ("POST", ("jobs",), {"command": "hostname"}),
        ("GET", ("jobs", str(running)), None),
        ("GET", ("jobs", str(done), "output"), None),
        ("GET", ("jobs", str(running), "output", "stream"), None),
        ("POST", ("jobs", str(running), "cancel"), None),
    ]
    for method, path, body in requests:
        code, error = await api.call(method, *path, body=body)
        assert code == 503, (path, error)
        assert set(error) == {"message", "reasons"}
        assert fresh_cluster.url in error["message"]
        assert "Traceback" not in error["message"]
    code, summary = await api.get("cluster")
    assert code == 200
    assert summary["reachable"] is False and summary["nodes"] == []
    assert fresh_cluster.url in summary["error"]

    fresh_cluster.restart()
    code, summary = await api.get("cluster")
    assert (code, summary["reachable"], summary["error"]) == (200, True, None)
    code, listing = await api.get("jobs")
    assert code == 200
    # Whatever the cluster kept across the restart, the list is what it lists for alice now.
    with FluxRestfulClient(
        fresh_cluster.url, "alice", fresh_cluster.passwords["alice"], fresh_cluster.secret_key
    ) as direct:
        assert {job["id"] for job in listing["jobs"]} == {job["id"] for job in direct.jobs()}
    job_id = await api.submit(command=["echo", "back again"])
    await api.wait(job_id)
    code, output = await api.get("jobs", str(job_id), "output")
    assert (code, output) == (200, {"output": ["back again\n"]})
