"""Two users' servers never see or touch each other's jobs.

Alice's server is the pytest-jupyter one; bob's is a real `jupyter server` process that gets his
credentials from its environment, as the hub starts it, with the extension enabled by flux-hub's
jupyter-config file alone.
"""

import requests

SCRIPT = "echo {who} starts; sleep 60"


async def test_two_users_servers_never_see_or_touch_each_others_jobs(api, bob_server):
    code, summary = bob_server.call("GET", "cluster")
    assert code == 200 and summary["account"] == "bob" and summary["reachable"]

    alice_job = await api.submit(command=["sh", "-c", SCRIPT.format(who="alice")], name="a")
    code, answer = bob_server.call(
        "POST", "jobs", json={"command": ["sh", "-c", SCRIPT.format(who="bob")], "name": "b"}
    )
    assert code == 201
    bob_job = answer["id"]
    await api.wait(alice_job, "RUN")

    # Listings: each sees their own job only
    code, alice_list = await api.get("jobs")
    assert code == 200
    alice_ids = {job["id"] for job in alice_list["jobs"]}
    assert alice_job in alice_ids and bob_job not in alice_ids
    code, bob_list = bob_server.call("GET", "jobs")
    assert code == 200
    bob_ids = {job["id"] for job in bob_list["jobs"]}
    assert bob_job in bob_ids and alice_job not in bob_ids
    assert all(job["name"] != "a" for job in bob_list["jobs"])
    assert "a" not in bob_list["names"].values() and "b" not in alice_list["names"].values()

    # Alice's server refuses bob's job: info, output, stream, cancel
    for method, path in [
        ("GET", ()),
        ("GET", ("output",)),
        ("GET", ("output", "stream")),
        ("POST", ("cancel",)),
    ]:
        code, error = await api.call(method, "jobs", str(bob_job), *path)
        assert code == 403, (path, error)
        assert "does not own job" in error["message"]
        # ... and bob's server refuses alice's
        code, error = bob_server.call(method, "/".join(["jobs", str(alice_job), *path]))
        assert code == 403, (path, error)
        assert "does not own job" in error["message"]

    # Neither job was touched: both still run, and each owner still follows and stops their own
    code, job = await api.get("jobs", str(alice_job))
    assert job["state"] == "RUN"
    code, job = bob_server.call("GET", f"jobs/{bob_job}")
    assert job["state"] == "RUN" and job["name"] == "b"
    with requests.get(
        bob_server.url + f"jobs/{bob_job}/output/stream",
        headers=bob_server.session.headers,
        stream=True,
        timeout=30,
    ) as stream:
        assert stream.status_code == 200
        assert next(stream.iter_content(chunk_size=None)) == b"bob starts\n"
    assert bob_server.call("POST", f"jobs/{bob_job}/cancel")[0] == 200
    code, _ = await api.post("jobs", str(alice_job), "cancel")
    assert code == 200
    assert (await api.wait(alice_job))["result"] == "CANCELED"
