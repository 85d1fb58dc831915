"""The server extension writes the person's job history (issue 26.2): a job submitted through the
panel is recorded when submitted (origin "panel"), and its end once a refresh sees it end,
without asking flux-restful anything more."""

import logging
import time

import pytest
from serverext_support import JobList, record_requests, server_config

from flux_hub.history import History
from flux_hub.notebook import connect


@pytest.fixture
def names_path(tmp_path):
    return tmp_path / "alice-data" / "flux-hub" / "job-names.json"


@pytest.fixture
def jp_server_config(cluster, names_path):
    return server_config(cluster, "alice", job_names_path=str(names_path))


def history_of(names_path):
    return History(names_path=names_path, account="alice")


def written(service):
    """Wait for the history writes queued so far (made one after another in the background)."""
    if service._recorder is not None:
        service._recorder.submit(lambda: None).result(timeout=30)


async def test_a_panel_job_is_recorded_when_submitted_and_its_end_when_it_ends(
    api, service, cluster, names_path, jp_root_dir
):
    (jp_root_dir / "work").mkdir()
    started = time.time()
    job_id = await api.submit(
        command=["sh", "-c", "exit 3"],
        name="walk-steps",
        num_tasks=1,
        workdir="work",
        envars={"API_TOKEN": "s3cret-value"},
    )
    written(service)
    with history_of(names_path) as history:
        record = history.get(job_id)
    assert record["origin"] == {"kind": "panel", "path": None, "cell": None, "command": None}
    assert record["name"] == "walk-steps"
    assert record["command"] == "sh -c 'exit 3'"
    assert record["cluster"] == cluster.url
    assert record["lab_workdir"] == str(jp_root_dir / "work")
    assert record["workdir"] == record["request"]["workdir"] == str(jp_root_dir / "work")
    assert record["env_names"] == ["API_TOKEN"]
    assert "s3cret-value" not in repr(record)
    assert record["status"] == "ACTIVE" and record["ended"] is None
    assert started - 1 <= record["submitted"] <= time.time()

    await api.wait(job_id)
    jobs = JobList(api)
    await jobs.refresh()
    written(service)
    with history_of(names_path) as history:
        record = history.get(job_id)
        (found,) = history.search(state="FAILED")["records"]
    assert found["id"] == job_id
    assert record["status"] == "FAILED" and record["result"] == "FAILED"
    assert record["state"] == "INACTIVE" and record["exit_code"] == 3
    assert started - 1 <= record["ended"] <= time.time() and record["runtime"] >= 0
    assert record["nodes"] and all(isinstance(node, str) for node in record["nodes"])
    assert record["origin"]["kind"] == "panel"  # what was known at submission stays


async def test_an_end_is_recorded_once_and_costs_no_request(api, service, names_path):
    job_id = await api.submit(command=["true"])
    await api.wait(job_id)
    jobs = JobList(api)
    await jobs.refresh()
    written(service)
    finals = []
    original = History.record_final

    def counted(self, *args, **kwargs):
        finals.append(args)
        return original(self, *args, **kwargs)

    History.record_final = counted
    try:
        asked = record_requests(service)
        for _ in range(3):
            await jobs.refresh()
        written(service)
    finally:
        History.record_final = original
    assert finals == []  # its end is already recorded: not written again
    assert not [call for call in asked if call[0] == "job" and call[1][0] == job_id]
    with history_of(names_path) as history:
        assert history.get(job_id)["result"] == "COMPLETED"


async def test_a_history_that_cannot_be_written_does_not_fail_the_submit(
    api, service, names_path, caplog
):
    names_path.parent.mkdir(parents=True)
    (names_path.parent / "history.sqlite3").mkdir()  # in the way, even for root
    caplog.set_level(logging.WARNING)
    job_id = await api.submit(command=["true"], name="still runs")
    written(service)
    assert (await api.wait(job_id))["result"] == "COMPLETED"
    lines = [r.getMessage() for r in caplog.records if "job history" in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"flux-hub: job {job_id} not kept in the job history: ")
    assert "\n" not in lines[0]


async def test_a_notebook_job_gets_its_end_from_the_panels_refresh(
    api, service, cluster, names_path
):
    # The kernel records the job when it submits it; the server, sharing the person's data
    # folder, records its end when the panel's refresh sees it end (learnt from the journal).
    with connect(
        cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key, names_path=names_path
    ) as flux:
        job = flux.submit(["sh", "-c", "exit 4"], name="from a kernel").wait(timeout=60)
    jobs = JobList(api)
    await jobs.refresh()
    written(service)
    with history_of(names_path) as history:
        record = history.get(job.id)
    assert record["origin"]["kind"] == "notebook" and record["name"] == "from a kernel"
    assert (record["status"], record["exit_code"]) == ("FAILED", 4)
