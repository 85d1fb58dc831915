"""Sweeps through the person's server (flux_hub/serverextension/sweeps.py, issue 28.1): a sweep
posted once is submitted by the server in the background and lands as one group of jobs; a
server stopped halfway (even in the middle of a submit) resumes it without doubling a job; a bad
sweep is a 400 in one line and nothing is submitted."""

import asyncio
import sqlite3
import time

import pytest
from serverext_support import JobList, UserServer, server_config

from flux_hub.history import History
from flux_hub.restful import ClusterUnavailable, FluxRestfulClient, LimitReached
from flux_hub.serverextension import jobs as jobs_module
from flux_hub.serverextension import sweeps


@pytest.fixture
def names_path(tmp_path):
    return tmp_path / "alice-data" / "flux-hub" / "job-names.json"


@pytest.fixture
def jp_server_config(cluster, names_path):
    return server_config(cluster, "alice", job_names_path=str(names_path))


@pytest.fixture(autouse=True)
def routes(jp_serverapp):
    """The sweeps' routes, as the lead adds them to the extension's."""
    web_app = jp_serverapp.web_app
    web_app.add_handlers(".*$", sweeps.handlers(web_app.settings["base_url"]))
    return web_app.settings


async def progress_until_done(api, sweep_id, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        code, progress = await api.get("sweeps", sweep_id)
        assert code == 200, progress
        if progress["done"]:
            return progress
        assert time.monotonic() < deadline, progress
        await asyncio.sleep(0.2)


def written(service):
    if service._recorder is not None:
        service._recorder.submit(lambda: None).result(timeout=30)


async def test_a_20_job_sweep_lands_as_one_group(api, service, names_path):
    code, answer = await api.post(
        "sweeps",
        body={
            "request": {"command": ["sh", "-c", "echo step {} of {seq1}"], "num_tasks": 1},
            "inputs": {"step": list(range(1, 21))},
            "group": "steps",
        },
    )
    assert code == 202, answer
    assert answer["count"] == answer["total"] == 20 and answer["group"] == "steps"
    progress = await progress_until_done(api, answer["sweep"])
    assert (progress["submitted"], progress["failed"], progress["errors"]) == (20, 0, [])
    ids = progress["ids"]
    assert len(set(ids)) == 20
    code, listing = await api.get("sweeps")
    assert code == 200 and [s["sweep"] for s in listing["sweeps"]] == [answer["sweep"]]
    # The panel's list shows every job under its group's name
    jobs = {job["id"]: job for job in await JobList(api).refresh()}
    assert [jobs[i]["name"] for i in ids] == [f"steps [{i}/20]" for i in range(1, 21)]
    last = await api.wait(ids[-1])
    assert last["result"] == "COMPLETED"
    code, output = await api.get("jobs", str(ids[-1]), "output")
    assert "".join(output["output"]).strip() == "step 20 of 20"
    written(service)
    with History(names_path=names_path, account="alice") as history:
        records = [history.get(i) for i in ids]
    assert [r["name"] for r in records] == [f"steps [{i}/20]" for i in range(1, 21)]
    assert {r["origin"]["kind"] for r in records} == {"panel"}


@pytest.mark.parametrize("submitted_before_the_stop", [True, False])
async def test_a_server_stopped_halfway_resumes_without_doubles(
    api, service, routes, submitted_before_the_stop
):
    """The server stops while submitting job 9 of 20: after flux-restful took it (its id never
    written) or before. A new server process (a new Sweeps on the same file) resumes."""
    before = {job["id"] for job in await service.client.jobs()}
    calls = 0
    real_submit = service.submit

    async def stopping(command, **fields):
        nonlocal calls
        calls += 1
        if calls == 9:
            if submitted_before_the_stop:
                await real_submit(command, **fields)
            raise asyncio.CancelledError  # the process ends here
        return await real_submit(command, **fields)

    service.submit = stopping
    code, answer = await api.post(
        "sweeps",
        body={"request": {"command": "sleep 0 {}"}, "inputs": [list(range(20))], "group": "r"},
    )
    assert code == 202, answer
    sweep_id = answer["sweep"]
    first = routes[sweeps.SETTING]
    with pytest.raises(asyncio.CancelledError):
        await first.tasks[sweep_id]
    stopped = first.store.progress(sweep_id)
    assert (stopped["submitted"], stopped["done"]) == (8, False)

    service.submit = real_submit
    routes[sweeps.SETTING] = sweeps.Sweeps(service)  # the restarted server's
    sweeps.resume(routes)
    progress = await progress_until_done(api, sweep_id)
    assert (progress["submitted"], progress["failed"]) == (20, 0)
    assert len(set(progress["ids"])) == 20
    # Exactly 20 new jobs on the cluster: none doubled, none missing
    on_cluster = [job["id"] for job in await service.client.jobs() if job["id"] not in before]
    assert sorted(on_cluster) == sorted(progress["ids"])


async def test_a_sweep_at_the_persons_active_jobs_limit_waits_for_some_to_end(
    api, service, routes, monkeypatch
):
    """The guard refuses a submit beyond the person's active jobs (429): a sweep larger than
    that limit waits and goes on, as a person would, instead of failing the rest."""
    monkeypatch.setattr(sweeps, "RETRY_FIRST", 0.05)
    before = {job["id"] for job in await service.client.jobs()}
    calls = 0
    real_submit = service.submit

    async def limited(command, **fields):
        nonlocal calls
        calls += 1
        if calls in (3, 4):
            raise LimitReached("alice has 100 active jobs, the most one person may have")
        return await real_submit(command, **fields)

    service.submit = limited
    code, answer = await api.post(
        "sweeps", body={"request": {"command": "true {}"}, "inputs": [list(range(6))]}
    )
    assert code == 202, answer
    progress = await progress_until_done(api, answer["sweep"])
    assert (progress["submitted"], progress["failed"]) == (6, 0)
    on_cluster = [job["id"] for job in await service.client.jobs() if job["id"] not in before]
    assert sorted(on_cluster) == sorted(progress["ids"])
    assert calls == 8  # two refusals, each job sent once it was taken


async def test_a_cluster_away_is_waited_for_without_doubles(api, service, routes, monkeypatch):
    """Job 5's submit times out after flux-restful took it, job 6's cannot reach it at all:
    the sweep waits, looks for job 5 before sending it again, and ends with each job once."""
    monkeypatch.setattr(sweeps, "RETRY_FIRST", 0.05)
    before = {job["id"] for job in await service.client.jobs()}
    calls = 0
    real_submit = service.submit

    async def flaky(command, **fields):
        nonlocal calls
        calls += 1
        if calls == 5:
            await real_submit(command, **fields)
        if calls in (5, 6):
            raise ClusterUnavailable("flux-restful did not answer", service.client.host)
        return await real_submit(command, **fields)

    service.submit = flaky
    code, answer = await api.post(
        "sweeps", body={"request": {"command": "true {}"}, "inputs": [list(range(10))]}
    )
    assert code == 202, answer
    progress = await progress_until_done(api, answer["sweep"])
    assert (progress["submitted"], progress["failed"]) == (10, 0)
    on_cluster = [job["id"] for job in await service.client.jobs() if job["id"] not in before]
    assert sorted(on_cluster) == sorted(progress["ids"])
    assert calls == 11  # job 5 found on the cluster, not sent again


def sweeping_server(tmp_path, cluster, data):
    """alice's real `jupyter server` process (the extension as installed), her data in ``data``."""
    return UserServer(
        tmp_path,
        {
            "FLUX_RESTFUL_HOST": cluster.url,
            "FLUX_USER": "alice",
            "FLUX_TOKEN": cluster.passwords["alice"],
            "FLUX_SECRET_KEY": cluster.secret_key,
            "XDG_DATA_HOME": str(data),
        },
    )


def test_a_server_killed_mid_sweep_resumes_it_at_its_next_start(cluster, tmp_path):
    """The server process is killed (SIGKILL) while a 60-job sweep is landing; the next server
    of the person's takes it up at its start: 60 jobs on the cluster, each once."""
    direct = FluxRestfulClient(cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key)
    before = {job["id"] for job in direct.jobs()}
    first = sweeping_server(tmp_path / "first", cluster, tmp_path / "data")
    code, answer = first.call(
        "POST",
        "sweeps",
        json={"request": {"command": "true {}"}, "inputs": [list(range(60))], "group": "k"},
    )
    assert code == 202, answer
    deadline = time.monotonic() + 60
    while first.call("GET", f"sweeps/{answer['sweep']}")[1]["submitted"] < 10:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.process.kill()
    first.process.wait()
    first.stop()
    killed = [job["id"] for job in direct.jobs() if job["id"] not in before]
    assert 10 <= len(killed) < 60, len(killed)

    second = sweeping_server(tmp_path / "second", cluster, tmp_path / "data")
    try:
        deadline = time.monotonic() + 120
        while not (progress := second.call("GET", f"sweeps/{answer['sweep']}")[1])["done"]:
            assert time.monotonic() < deadline, progress
            time.sleep(0.2)
    finally:
        second.stop()
    assert (progress["submitted"], progress["failed"]) == (60, 0), progress["errors"]
    on_cluster = [job["id"] for job in direct.jobs() if job["id"] not in before]
    assert sorted(on_cluster) == sorted(progress["ids"])
    direct.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", 'The request body must be a JSON object {"request": ..., "inputs": ...}.'),
        (
            {"request": {"command": "echo {2}"}, "inputs": [["a"]]},
            "The sweep was not submitted: the command: {2} asks for input 2, but there is only"
            " 1 (from 0).",
        ),
        (
            {"request": {"command": "echo {}"}, "inputs": [list(range(101))] * 2},
            "The sweep was not submitted: 101 x 101 = 10201 jobs: a sweep has at most 10000.",
        ),
        (
            {"request": {"command": "echo {}", "num_tasks": 0}, "inputs": [["a"]]},
            "The sweep was not submitted: job 1 of 1: 'num_tasks' must be a whole number of at"
            " least 1, not '0'.",
        ),
        (
            {"request": {"command": "echo {}", "nodes": 2}, "inputs": [["a"]]},
            "The sweep was not submitted: unknown job field 'nodes'.",
        ),
        (
            {"request": {"command": "echo"}, "inputs": []},
            "The sweep was not submitted: no inputs: give at least one list.",
        ),
    ],
)
async def test_a_bad_sweep_is_a_400_in_one_line_and_nothing_is_submitted(api, body, message):
    code, answer = await api.post("sweeps", body=body)
    assert code == 400
    assert answer["message"] == message and "\n" not in answer["message"]
    code, listing = await api.get("sweeps")
    assert code == 200 and listing["sweeps"] == []


async def test_an_unknown_sweep_is_404(api):
    code, answer = await api.get("sweeps", "abc123")
    assert code == 404 and answer["message"] == "No sweep abc123."


def store_file(names_path):
    return names_path.with_name(sweeps.FILE_NAME)


async def test_a_sweeps_store_of_a_newer_flux_hub_is_a_503_in_one_line(api, names_path):
    # Issue 29.6: the file is refused, not rewritten, and the person is told why.
    path = store_file(names_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(sweeps.STEPS) + 1}")
    db.close()
    message = (
        f"the sweeps store {path} was written by a newer flux-hub (schema "
        f"{len(sweeps.STEPS) + 1}, this one knows up to {len(sweeps.STEPS)}); upgrade flux-hub"
    )
    for answered in (
        api.get("sweeps"),
        api.post("sweeps", body={"request": {"command": "echo {}"}, "inputs": [[1, 2]]}),
    ):
        code, answer = await answered
        assert (code, answer["message"]) == (503, message)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(sweeps.STEPS) + 1
    db.close()


async def test_a_dry_run_answers_the_count_group_and_first_jobs_and_keeps_nothing(
    api, service, names_path
):
    """The panel's preview: what the sweep would submit, nothing kept nor submitted (no store
    made for a person who never swept)."""
    before = {job["id"] for job in await service.client.jobs()}
    code, answer = await api.post(
        "sweeps",
        body={
            "request": {"command": "echo {x} {y}", "name": "grid"},
            "inputs": {"x": ["a", "b", "c"], "y": [1, 2, 3]},
            "dry_run": True,
        },
    )
    assert code == 200, answer
    assert answer == {
        "count": 9,
        "group": "grid",
        "preview": [
            {"name": "grid [1/9]", "command": "echo a 1"},
            {"name": "grid [2/9]", "command": "echo a 2"},
            {"name": "grid [3/9]", "command": "echo a 3"},
            {"name": "grid [4/9]", "command": "echo b 1"},
            {"name": "grid [5/9]", "command": "echo b 2"},
        ],
    }
    # A bad one is the same one line as a real one's
    code, answer = await api.post(
        "sweeps", body={"request": {"command": "echo {z}"}, "inputs": {"x": [1]}, "dry_run": True}
    )
    assert code == 400 and "\n" not in answer["message"]
    assert answer["message"].startswith("The sweep was not submitted: ")
    code, answer = await api.post(
        "sweeps", body={"request": {"command": "echo"}, "inputs": [[1]], "dry_run": "yes"}
    )
    assert (code, answer["message"]) == (
        400,
        "The sweep was not submitted: 'dry_run' must be true or false.",
    )
    for params in ({"unfinished": "1"}, None):
        code, listing = await api.get("sweeps", params=params)
        assert (code, listing) == (200, {"sweeps": []})
    code, _answer = await api.get("sweeps", "abc123")
    assert code == 404
    assert not store_file(names_path).exists()
    assert {job["id"] for job in await service.client.jobs()} == before


async def test_inputs_from_a_lab_file_relative_to_the_root_or_absolute(api, jp_root_dir, tmp_path):
    (jp_root_dir / "data").mkdir()
    (jp_root_dir / "data" / "samples.txt").write_text("s1.fa\n\ns2.fa\r\ns3.fa\n")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("x\ny\n")
    code, answer = await api.post(
        "sweeps",
        body={
            "request": {"command": "align {} {}"},
            "inputs": [{"file": "data/samples.txt"}, {"file": str(elsewhere)}],
            "dry_run": True,
        },
    )
    assert code == 200, answer
    assert answer["count"] == 6
    assert [job["command"] for job in answer["preview"]] == [
        "align s1.fa x", "align s1.fa y", "align s2.fa x", "align s2.fa y", "align s3.fa x",
    ]  # fmt: skip
    # The whole inputs one file; named inputs from files
    code, answer = await api.post(
        "sweeps",
        body={"request": {"command": "cat {}"}, "inputs": {"file": "data/samples.txt"},
              "dry_run": True},
    )  # fmt: skip
    assert (code, answer["count"]) == (200, 3), answer
    code, answer = await api.post(
        "sweeps",
        body={"request": {"command": "cat {s}"}, "inputs": {"s": {"file": "data/samples.txt"}},
              "dry_run": True},
    )  # fmt: skip
    assert (code, answer["preview"][2]["command"]) == (200, "cat s3.fa"), answer


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("data/missing.txt", "No such file or directory"),
        ("data", "it is not a file"),
    ],
)
async def test_an_input_file_that_cannot_be_read_is_a_400_naming_it(
    api, jp_root_dir, given, reason
):
    (jp_root_dir / "data").mkdir()
    for dry_run in (True, False):
        code, answer = await api.post(
            "sweeps",
            body={"request": {"command": "cat {}"}, "inputs": [{"file": given}],
                  "dry_run": dry_run},
        )  # fmt: skip
        assert code == 400
        assert answer["message"] == (
            f"The sweep was not submitted: cannot read inputs from {given}: {reason}."
        )
    code, listing = await api.get("sweeps")
    assert listing["sweeps"] == []


async def test_a_sweeps_jobs_carry_their_sweep_in_complete_and_delta_answers(api, names_path):
    panel = JobList(api)
    await panel.refresh()  # the panel's first (complete) answer, before the sweep
    code, answer = await api.post(
        "sweeps",
        body={"request": {"command": "true {}"}, "inputs": [list(range(20))], "group": "tag"},
    )
    assert code == 202, answer
    progress = await progress_until_done(api, answer["sweep"])
    ids = progress["ids"]
    expected = {
        job_id: {"id": answer["sweep"], "group": "tag", "index": i, "total": 20}
        for i, job_id in enumerate(ids, 1)
    }
    await panel.refresh()
    delta = panel.answers[-1]
    assert not delta["complete"]
    # (the cluster's other jobs, of the tests before, may change in it too: no sweep of hers)
    tags = {job["id"]: job.get("sweep") for job in delta["jobs"]}
    assert {job_id: tags[job_id] for job_id in ids} == expected
    assert all(tags[job_id] is None for job_id in set(tags) - set(ids))
    other = await api.submit(command=["true"], name="alone")
    complete = JobList(api)
    jobs = {job["id"]: job for job in await complete.refresh()}
    assert complete.answers[-1]["complete"]
    assert {i: jobs[i]["sweep"] for i in ids} == expected
    assert "sweep" not in jobs[other]
    code, job = await api.get("jobs", str(ids[4]))
    assert code == 200 and job["sweep"] == expected[ids[4]]
    code, job = await api.get("jobs", str(other))
    assert code == 200 and "sweep" not in job


async def test_a_new_server_knows_the_sweeps_jobs_from_the_store(api, service, names_path):
    code, answer = await api.post(
        "sweeps", body={"request": {"command": "true {}"}, "inputs": [[1, 2, 3]]}
    )
    ids = (await progress_until_done(api, answer["sweep"]))["ids"]
    service._sweep_jobs = None  # as a restarted server: read from the store once
    jobs = {job["id"]: job for job in await JobList(api).refresh()}
    assert [jobs[i]["sweep"]["index"] for i in ids] == [1, 2, 3]
    assert {jobs[i]["sweep"]["group"] for i in ids} == {"true"}


async def test_unfinished_sweeps_only_and_no_ids_in_the_list(api, service, routes):
    release = asyncio.Event()
    real_submit = service.submit

    async def slow(command, **fields):
        if "held" in command:
            await release.wait()
        return await real_submit(command, **fields)

    service.submit = slow
    code, done = await api.post(
        "sweeps", body={"request": {"command": "true {}"}, "inputs": [[1, 2]], "group": "quick"}
    )
    await progress_until_done(api, done["sweep"])
    code, held = await api.post(
        "sweeps",
        body={"request": {"command": "true {}"}, "inputs": [[1, "held", 3]], "group": "slow"},
    )
    assert code == 202, held
    deadline = time.monotonic() + 30
    while (await api.get("sweeps", held["sweep"]))[1]["submitted"] < 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    code, listing = await api.get("sweeps", params={"unfinished": "1"})
    assert code == 200
    assert listing["sweeps"] == [
        {
            "sweep": held["sweep"],
            "group": "slow",
            "total": 3,
            "submitted": 1,
            "failed": 0,
            "errors": [],
            "created": listing["sweeps"][0]["created"],
            "done": False,
        }
    ]
    code, every = await api.get("sweeps")
    assert [s["sweep"] for s in every["sweeps"]] == [held["sweep"], done["sweep"]]
    assert all("ids" not in s for s in every["sweeps"])
    release.set()
    await progress_until_done(api, held["sweep"])
    code, listing = await api.get("sweeps", params={"unfinished": "1"})
    assert listing == {"sweeps": []}


async def test_rerun_the_unsuccessful_jobs_of_a_sweep_as_a_new_sweep(api, service, names_path):
    code, first = await api.post(
        "sweeps",
        body={"request": {"command": "sh -c 'exit {}'"}, "inputs": [[0, 1, 0, 2]], "group": "g"},
    )
    old = (await progress_until_done(api, first["sweep"]))["ids"]
    for job_id in old:
        await api.wait(job_id)
    code, again = await api.post("sweeps", first["sweep"], "rerun", body={"which": "unsuccessful"})
    assert code == 202, again
    assert (again["group"], again["count"]) == ("g", 2) and again["sweep"] != first["sweep"]
    new = (await progress_until_done(api, again["sweep"]))["ids"]
    jobs = {job["id"]: job for job in await JobList(api).refresh()}
    assert [jobs[i]["name"] for i in new] == ["g [1/2]", "g [2/2]"]
    assert [jobs[i]["sweep"] for i in new] == [
        {"id": again["sweep"], "group": "g", "index": i, "total": 2} for i in (1, 2)
    ]
    for job_id in new:
        await api.wait(job_id)
    code, output = await api.get("jobs", str(new[1]), "output")
    written(service)
    with History(names_path=names_path, account="alice") as history:
        records = [history.get(i) for i in new]
        first_records = [history.get(i) for i in old]
    assert [r["rerun_of"] for r in records] == [old[1], old[3]]
    assert [r["command"] for r in records] == ["sh -c 'exit 1'", "sh -c 'exit 2'"]
    assert [r["sweep"] for r in records] == [jobs[i]["sweep"] for i in new]
    assert [r["sweep"]["index"] for r in first_records] == [1, 2, 3, 4]
    assert {r["sweep"]["id"] for r in first_records} == {first["sweep"]}
    # All of them again
    code, whole = await api.post("sweeps", first["sweep"], "rerun", body={"which": "all"})
    assert (code, whole["count"], whole["group"]) == (202, 4, "g"), whole
    await progress_until_done(api, whole["sweep"])


async def test_rerun_with_nothing_to_run_again_or_of_no_sweep(api):
    code, first = await api.post(
        "sweeps", body={"request": {"command": "true {}"}, "inputs": [[1, 2]], "group": "fine"}
    )
    ids = (await progress_until_done(api, first["sweep"]))["ids"]
    for job_id in ids:
        await api.wait(job_id)
    code, answer = await api.post("sweeps", first["sweep"], "rerun", body={"which": "unsuccessful"})
    assert (code, answer["message"]) == (400, "Every job of fine completed.")
    code, answer = await api.post("sweeps", first["sweep"], "rerun", body={"which": "some"})
    assert (code, answer["message"]) == (
        400,
        'The body must be {"which": "all"} or {"which": "unsuccessful"}.',
    )
    code, answer = await api.post("sweeps", "abc123", "rerun", body={"which": "all"})
    assert (code, answer["message"]) == (404, "No sweep abc123.")
    code, listing = await api.get("sweeps")
    assert len(listing["sweeps"]) == 1


async def test_a_large_lists_periodic_listing_never_holds_a_refresh_up(api, service, monkeypatch):
    """The periodic complete listing of a large list (on real Flux 7.5 s for 1,000 jobs, 27 s
    while a sweep loads flux-restful) is read in the background: refreshes answer from their
    lookups meanwhile, and the one after it shows the jobs it found."""
    monkeypatch.setattr(jobs_module, "BACKGROUND_LISTING_FROM", 1)
    mine = await api.submit(command=["true"], name="mine")
    panel = JobList(api)
    assert mine in {job["id"] for job in await panel.refresh()}
    elsewhere = await service.client.submit("true")  # not through flux-hub: only a listing shows it
    gate = asyncio.Event()
    original = service.client.jobs_body
    asked = []

    async def slow(**kwargs):
        asked.append(kwargs)
        await gate.wait()
        return await original(**kwargs)

    monkeypatch.setattr(service.client, "jobs_body", slow)
    monkeypatch.setattr(service.settings, "full_listing_interval", 0.0)
    jobs = await asyncio.wait_for(panel.refresh(), 10)  # due: started, not waited for
    assert asked == [{}] and elsewhere not in {job["id"] for job in jobs}
    gate.set()
    await service._listing
    monkeypatch.setattr(service.settings, "full_listing_interval", 300.0)
    jobs = {job["id"]: job for job in await panel.refresh()}
    assert elsewhere in jobs and jobs[mine]["name"] == "mine"
    assert service._listing is None and asked == [{}]


async def test_values_as_typed_and_keeping_the_environments_values(api, service, names_path):
    """The form's Values go as typed ({"words": text}: the server reads them as the terminal's
    words after ':::', one rule); keep_env keeps the environment's values in the history, as
    POST jobs' does, and only when asked."""
    code, answer = await api.post(
        "sweeps",
        body={
            "request": {"command": "echo {}"},
            "inputs": [{"words": "a 'b c' {1..2}"}],
            "dry_run": True,
        },
    )
    assert code == 200, answer
    assert [job["command"] for job in answer["preview"]] == [
        "echo a",
        "echo 'b c'",
        "echo 1",
        "echo 2",
    ]
    kept = {}
    for keep in (True, False):
        code, answer = await api.post(
            "sweeps",
            body={
                "request": {"command": "printenv ALPHA", "envars": {"ALPHA": "{}"}},
                "inputs": [{"words": "{1..2}"}],
                "group": f"keep-{keep}",
                "keep_env": keep,
            },
        )
        assert code == 202, answer
        kept[keep] = (await progress_until_done(api, answer["sweep"]))["ids"]
    written(service)
    with History(names_path=names_path, account="alice") as history:
        values = [history.get(i)["request"].get("envars") for i in kept[True]]
        names = [history.get(i) for i in kept[False]]
    assert values == [{"ALPHA": "1"}, {"ALPHA": "2"}]
    assert all(r["env_names"] == ["ALPHA"] and not r["request"].get("envars") for r in names)
    code, answer = await api.post(
        "sweeps", body={"request": {"command": "echo"}, "inputs": [[1]], "keep_env": "yes"}
    )
    assert (code, answer["message"]) == (
        400,
        "The sweep was not submitted: 'keep_env' must be true or false.",
    )
