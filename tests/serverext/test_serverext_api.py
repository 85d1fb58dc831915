"""The flux-hub API of a single-user server, against the local MiniCluster (alice's account)."""

import asyncio
import json
import time
from urllib.parse import urlsplit

import jwt
import pytest
from restful_support import our_connections
from serverext_support import JobList, server_config

from flux_hub import jobid
from flux_hub.local.cluster import STATE_FILE
from flux_hub.notebook import connect

ENDPOINTS = [
    ("GET", "cluster"),
    ("GET", "jobs"),
    ("POST", "jobs"),
    ("GET", "request-fields"),
    ("GET", "jobs/1"),
    ("GET", "jobs/1/output"),
    ("GET", "jobs/1/output/stream"),
    ("POST", "jobs/1/cancel"),
]


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize("authorization", [None, "token not-the-token"])
async def test_every_endpoint_needs_authentication(api, method, path, authorization):
    headers = {"Authorization": authorization or ""}
    body = {"command": "hostname"} if method == "POST" else None
    code, data = await api.call(method, *path.split("/"), body=body, headers=headers)
    assert code == 403
    assert not {"jobs", "id", "account", "output"} & set(data or {})


@pytest.fixture
def flux_hub_paths():
    """FLUX_HUB_PATHS as the hub hands it to the server; None: unset (one filesystem)."""
    return None


@pytest.fixture
def jp_server_config(cluster, flux_hub_paths, jp_root_dir, monkeypatch):
    if flux_hub_paths is None:
        monkeypatch.delenv("FLUX_HUB_PATHS", raising=False)
    else:
        monkeypatch.setenv("FLUX_HUB_PATHS", flux_hub_paths.format(root=jp_root_dir))
    return server_config(cluster, "alice")


def files_of(flux_hub_paths, root):
    """What GET cluster says of the server's files for each FLUX_HUB_PATHS of the test below."""
    if flux_hub_paths is None:
        return {"shared": True, "same_filesystem": True, "folders": None}
    if flux_hub_paths == "":
        return {"shared": False, "same_filesystem": False, "folders": []}
    return {
        "shared": True,
        "same_filesystem": False,
        "folders": [
            # the file browser's root is in the person's folder: all of it is shared
            {"lab": str(root.parent), "cluster": "/shared/home/alice", "browser": ""},
            # a folder the file browser shows, and one it does not
            {"lab": f"{root}/scratch", "cluster": "/shared/scratch/alice", "browser": "scratch"},
            {"lab": "/data", "cluster": "/shared/data", "browser": None},
        ],
    }


@pytest.mark.parametrize(
    "flux_hub_paths",
    [
        None,
        "",
        "{root.parent}=/shared/home/alice;{root}/scratch=/shared/scratch/alice;/data=/shared/data",
    ],
    ids=["one-filesystem", "nothing-shared", "mapped"],
)
async def test_cluster_summary(api, cluster, flux_hub_paths, jp_root_dir):
    code, summary = await api.get("cluster")
    assert code == 200
    assert summary == {
        "account": "alice",
        "url": cluster.url,
        "nodes": summary["nodes"],
        "reachable": True,
        "error": None,
        "legacy": False,
        "warning": None,
        "files": files_of(flux_hub_paths, jp_root_dir),
        # no reader of the cluster on this hub: nodes only, read from flux-restful
        "resources": None,
        "queue": None,
        "as_of": None,
        "reader": False,
    }
    assert summary["nodes"] and all(isinstance(node, str) for node in summary["nodes"])


async def test_submit_follow_and_list_a_job(api, client_for):
    job_id = await api.submit(
        command=["sh", "-c", "echo one; echo two"], name="two lines", num_tasks=1
    )
    job = await api.wait(job_id)
    assert job["id"] == job_id
    assert job["name"] == "two lines"
    assert job["result"] == "COMPLETED" and job["returncode"] == 0

    code, output = await api.get("jobs", str(job_id), "output")
    assert code == 200
    assert "".join(output["output"]) == "one\ntwo\n"

    mine = {job["id"]: job for job in await JobList(api).refresh()}
    assert mine[job_id]["name"] == "two lines"
    assert mine[job_id]["result"] == "COMPLETED"
    # The same jobs flux-restful itself lists for alice, with the details it gives
    direct = client_for("alice").jobs()
    assert set(mine) == {job["id"] for job in direct}
    assert {k: v for k, v in mine[job_id].items() if k != "name"} == {
        k: v for k, v in client_for("alice").job(job_id).items() if k != "name"
    }


async def test_submit_takes_every_field_flux_restful_takes(api, tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    job_id = await api.submit(
        command='sh -c "echo $GREETING from $(pwd)"',
        name="every field",
        num_tasks=2,
        cores_per_task=1,
        num_nodes=2,
        exclusive=False,
        option_flags={"cpu-affinity": "off"},
        workdir=str(workdir),
        runtime=120,
        envars={"GREETING": "hello"},
    )
    job = await api.wait(job_id)
    assert job["result"] == "COMPLETED", job
    assert job["ntasks"] == 2 and job["nnodes"] == 2
    code, output = await api.get("jobs", str(job_id), "output")
    assert "".join(output["output"]).splitlines() == [f"hello from {workdir}"] * 2


async def test_a_runtime_limit_reaches_the_job(api):
    job_id = await api.submit(command="sleep 30", runtime=1)
    job = await api.wait(job_id)
    assert job["result"] == "TIMEOUT"


@pytest.mark.parametrize(
    "body,reasons",
    [
        ({}, ["'command' is required"]),
        ({"command": ""}, ["'command' is required"]),
        (
            {"command": "hostname", "num_tasks": "two", "runtime": -1, "colour": "red"},
            [
                "'num_tasks' must be",
                "'runtime': '-1' is not a time limit",
                "unknown field 'colour'",
            ],
        ),
        ({"command": "hostname", "envars": {"A": [1]}}, ["environment variable 'A' must be"]),
        ({"command": "hostname", "option_flags": {"a,b": "c"}}, ["'option_flags' must be"]),
        ({"command": "hostname", "name": "x" * 201}, ["'name': a job name must be at most"]),
    ],
)
async def test_a_bad_submission_is_400_with_reasons_and_submits_nothing(
    api, client_for, body, reasons
):
    before = len(client_for("alice").list_jobs())
    code, error = await api.post("jobs", body=body)
    assert code == 400
    assert set(error) == {"message", "reasons"}
    assert len(error["reasons"]) == len(reasons)
    for reason, expected in zip(error["reasons"], reasons, strict=True):
        assert reason.startswith(expected), error
    assert len(client_for("alice").list_jobs()) == before


async def test_request_fields_describe_what_post_jobs_takes(api):
    code, described = await api.get("request-fields")
    assert code == 200
    fields = {field["name"]: field for field in described["fields"]}
    assert fields["runtime"]["flags"] == ["-t", "--time-limit"]
    assert fields["gpus_per_task"]["minimum"] == 0
    # Every field it describes is one POST jobs takes: none is an "unknown field"
    code, error = await api.post("jobs", body={name: "?" for name in fields})
    assert code == 400
    assert not [reason for reason in error["reasons"] if reason.startswith("unknown field")]


async def test_a_time_limit_in_flux_duration_is_rounded_up_not_dropped(api):
    job_id = await api.submit(command="sleep 30", runtime="0.4s")
    job = await api.wait(job_id)
    assert job["result"] == "TIMEOUT"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]"])
async def test_a_body_that_is_not_a_job_is_400(api, body):
    code, error = await api.post("jobs", body=body)
    assert code == 400
    assert "JSON object" in error["message"]


@pytest.mark.parametrize(
    "fields,reason",
    [
        ({"num_nodes": 5}, "The server only has 2 nodes, you requested 5"),
        ({"gpus_per_task": 1}, "This server does not support gpus: gpus_per_task cannot be set."),
    ],
)
async def test_the_clusters_refusal_is_400_with_its_reasons(api, fields, reason):
    code, error = await api.post("jobs", body={"command": "hostname", **fields})
    assert code == 400
    assert error["reasons"] == [reason]
    assert reason in error["message"]


async def test_unknown_and_malformed_job_ids(api):
    for path in [("jobs", "123456789"), ("jobs", "123456789", "output")]:
        code, error = await api.get(*path)
        assert code == 404, error
        assert "123456789" in error["message"]
    code, error = await api.post("jobs", "123456789", "cancel")
    assert code in (400, 404), error  # flux-restful: "Job cannot be cancelled: ... job is inactive"
    code, error = await api.get("jobs", "F00", "output")
    assert code == 400
    assert error["message"] == "'F00' is not a job id (decimal, or F58 like ƒ2Vj1dB9)."
    for text in ("0", "ƒ1", "²", "-3", "1e3"):
        assert (await api.get("jobs", text))[0] == 400, text


async def test_a_job_can_be_named_by_its_f58_id(api):
    job_id = await api.submit(command="true")
    job = await api.wait(job_id)
    for text in (jobid.f58(job_id), "f" + jobid.f58(job_id)[1:], hex(job_id)):
        code, same = await api.get("jobs", text)
        assert code == 200 and same == job, text


async def test_cancel_a_running_job(api):
    job_id = await api.submit(command="sleep 60")
    await api.wait(job_id, "RUN")
    code, answer = await api.post("jobs", str(job_id), "cancel")
    assert code == 200
    assert answer == {"message": "Job is requested to cancel."}
    job = await api.wait(job_id)
    assert job["result"] == "CANCELED"
    code, error = await api.post("jobs", str(job_id), "cancel")
    assert code == 400
    assert "inactive" in error["message"]


async def test_the_stream_delivers_lines_while_the_job_runs_and_ends_with_it(api, jp_fetch):
    script = "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.5; done"
    job_id = await api.submit(command=["sh", "-c", script])
    arrivals = []

    def on_chunk(chunk):
        arrivals.append((time.time(), chunk.decode()))

    response = await jp_fetch(
        "flux-hub",
        "api",
        "jobs",
        str(job_id),
        "output",
        "stream",
        streaming_callback=on_chunk,
        request_timeout=60,
    )
    closed = time.time()
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "".join(chunk for _, chunk in arrivals) == "".join(f"line {i}\n" for i in range(1, 7))
    code, job = await api.get("jobs", str(job_id))
    assert job["state"] == "INACTIVE"
    # The first line came while the job still had seconds to run; the stream ended with the job.
    assert arrivals[0][0] < job["t_inactive"] - 1.5
    assert job["t_inactive"] - 1 < closed < job["t_inactive"] + 5


async def test_the_stream_stops_upstream_when_the_browser_leaves(
    api, service, cluster, jp_http_port, jp_base_url, jp_auth_header
):
    job_id = await api.submit(command=["sh", "-c", "echo started; sleep 60"])
    await api.wait(job_id, "RUN")
    cluster_port = urlsplit(cluster.url).port
    before = our_connections(cluster_port)

    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    path = f"{jp_base_url}flux-hub/api/jobs/{job_id}/output/stream"
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {jp_auth_header['Authorization']}\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 200 OK"
    received = b""
    while b"started" not in received:
        received += await asyncio.wait_for(reader.read(1024), 30)
    assert service.open_streams == 1
    assert our_connections(cluster_port) - before, "no upstream stream connection seen"

    writer.close()
    deadline = time.monotonic() + 10
    while service.open_streams or our_connections(cluster_port) - before:
        assert time.monotonic() < deadline, "the upstream stream is still open"
        await asyncio.sleep(0.1)
    # Leaving only stops the stream, not the job, whose output so far can still be read
    code, job = await api.get("jobs", str(job_id))
    assert job["state"] == "RUN"
    assert await api.get("jobs", str(job_id), "output") == (200, {"output": ["started\n"]})
    await api.post("jobs", str(job_id), "cancel")


async def test_a_version_the_server_does_not_know_gets_the_whole_list(api, client_for):
    job_id = await api.submit(command="true", name="whole")
    await api.wait(job_id)
    panel = JobList(api)
    await panel.refresh()
    version = panel.version
    for since in ("", "nonsense", "0", "abc-1", version.split("-")[0] + "-99999", "²-1"):
        code, answer = await api.get("jobs", params={"since": since})
        assert code == 200 and answer["complete"] is True, since
        assert {job["id"] for job in answer["jobs"]} == {
            job["id"] for job in panel.records.values()
        }
        assert answer["names"][str(job_id)] == "whole"
    # A Jupyter server that restarted forgets versions: that is the same case (another prefix).
    code, answer = await api.get("jobs", params={"since": "0" * 12 + version[12:]})
    assert code == 200 and answer["complete"] is True


async def test_jobs_named_in_a_notebook_show_in_the_list(api, cluster):
    flux = connect(cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key)
    job = flux.submit("hostname", name="from my notebook")
    await api.wait(job.id)
    listing = await JobList(api).refresh()
    assert {j["id"]: j["name"] for j in listing}[job.id] == "from my notebook"
    flux.close()


async def test_an_expired_token_is_renewed_without_the_user_noticing(api, service, cluster):
    code, _ = await api.get("jobs")
    assert code == 200
    handshakes = service.client.handshakes
    # A token the cluster itself signed, expired an hour ago, in place of the extension's own
    state = json.loads((cluster.state_dir / STATE_FILE).read_text())
    now = int(time.time())
    claims = {"sub": "alice", "backend": "shared-secret", "iat": now - 7200, "exp": now - 3600}
    service.client._core.token = jwt.encode(claims, state["token_signing_key"], algorithm="HS256")
    code, listing = await api.get("jobs", params={"rescan": "1"})  # (asks flux-restful)
    assert code == 200, listing
    assert service.client.handshakes == handshakes + 1


async def test_the_panels_polling_is_not_activity_but_submitting_is(api, jp_serverapp):
    # JupyterHub's idle culler stops servers whose last activity is old: a panel left open
    # in a tab reads every few seconds, and must not keep the server running for ever.
    settings = jp_serverapp.web_app.settings
    settings.pop("api_last_activity", None)
    job_id = await api.submit(command="true")
    submitted = settings["api_last_activity"]
    await api.wait(job_id)
    for path in (("cluster",), ("jobs",), ("jobs", str(job_id)), ("jobs", str(job_id), "output")):
        assert (await api.get(*path))[0] == 200
    async with asyncio.timeout(30):
        code, _ = await api.get("jobs", str(job_id), "output", "stream")
    assert code == 200
    assert settings["api_last_activity"] == submitted
    await api.post("jobs", str(job_id), "cancel")  # refused (it is done), but someone acted
    assert settings["api_last_activity"] > submitted
