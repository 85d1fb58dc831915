"""The notebook API (flux_hub.notebook) running real jobs on the local MiniCluster."""

import multiprocessing
import os
import signal
import stat
import threading
import time

import pytest

from flux_hub.jobnames import JobNames
from flux_hub.notebook import JobList, connect, parse_duration
from flux_hub.restful import ClusterUnavailable, InvalidRequest, PermissionDenied


@pytest.fixture(autouse=True)
def own_data_home(tmp_path, monkeypatch):
    """Job names go to a directory of the test's own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def flux(cluster):
    with connect(cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key) as session:
        yield session


def test_connect_reads_the_environment_the_hub_sets(cluster, monkeypatch):
    monkeypatch.setenv("FLUX_RESTFUL_HOST", cluster.url)
    monkeypatch.setenv("FLUX_USER", "carol")
    monkeypatch.setenv("FLUX_TOKEN", cluster.passwords["carol"])
    monkeypatch.setenv("FLUX_SECRET_KEY", cluster.secret_key)
    with connect() as flux:
        assert (flux.user, flux.host) == ("carol", cluster.url)
        assert flux.nodes()
        assert cluster.passwords["carol"] not in repr(flux)


def test_submit_wait_and_read_the_output(flux):
    job = flux.submit(["sh", "-c", "echo out; echo err >&2"], name="both streams")
    assert job.wait(timeout=60) is job
    assert job.done and job.state == "INACTIVE"
    assert (job.result, job.returncode) == ("COMPLETED", 0)
    assert sorted(job.output().splitlines()) == ["err", "out"]
    assert job.name == "both streams"
    assert flux.job(job.id).name == "both streams"
    # the forms people copy: F58 from the panel or `flux jobs`, with ƒ or f, and decimal text
    for text in (job.f58, "f" + job.f58[1:], str(job.id), hex(job.id)):
        assert flux.job(text).id == job.id, text
    assert job.f58.startswith("ƒ") and repr(job) == f"<Job {job.f58} 'both streams' INACTIVE>"


def test_a_failed_job_says_how_it_failed(flux):
    job = flux.submit("sh -c 'exit 3'").wait(timeout=60)
    assert (job.result, job.returncode) == ("FAILED", 3)
    assert job.name == "sh"  # no name given: Flux's own


def test_wait_gives_up_after_its_timeout_and_the_job_can_be_cancelled(flux):
    job = flux.submit("sleep 60", runtime="5m")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=f"Job {job.f58} is still"):
        job.wait(timeout=1)
    assert 0.9 < time.monotonic() - started < 5
    assert not job.done
    assert job.cancel() == "Job is requested to cancel."
    assert job.wait(timeout=60).result == "CANCELED"


def test_wait_rides_out_a_cluster_that_stops_answering_for_a_while(fresh_cluster):
    server = fresh_cluster.server_pid  # the flux-restful process itself, on either Flux
    with connect(
        fresh_cluster.url,
        "alice",
        fresh_cluster.passwords["alice"],
        fresh_cluster.secret_key,
        timeout=1,
    ) as flux:
        job = flux.submit("sh -c 'sleep 2; echo survived'")
        os.kill(server, signal.SIGSTOP)  # requests now time out: ClusterUnavailable
        try:
            with pytest.raises(ClusterUnavailable):
                flux.job(job.id)
            resume = threading.Timer(3, os.kill, (server, signal.SIGCONT))
            resume.start()
            assert job.wait(timeout=60).result == "COMPLETED"
            resume.join()
        finally:
            os.kill(server, signal.SIGCONT)
        assert job.output() == "survived\n"
        # Away past the deadline: the wait ends with the cluster's own error, not a TimeoutError
        job = flux.submit("sleep 30", runtime=60)
        os.kill(server, signal.SIGSTOP)
        try:
            with pytest.raises(ClusterUnavailable, match=fresh_cluster.url):
                job.wait(timeout=3)
        finally:
            os.kill(server, signal.SIGCONT)
        job.cancel()


def test_a_time_limit_given_as_text_stops_the_job(flux):
    job = flux.submit("sleep 30", runtime="1s").wait(timeout=60)
    assert job.result == "TIMEOUT"


def test_stream_follows_the_output_until_the_job_ends(flux):
    job = flux.submit(["sh", "-c", "for i in 1 2 3; do echo step $i; sleep 0.3; done"])
    assert "".join(job.stream()) == "step 1\nstep 2\nstep 3\n"
    assert job.done


def test_the_jobs_table(flux):
    job = flux.submit("true", name="<b>not bold</b>").wait(timeout=60)
    jobs = flux.jobs()
    assert isinstance(jobs, JobList)
    assert job.id in [j.id for j in jobs]
    table = jobs._repr_html_()
    assert table.startswith('<table class="flux-hub-jobs">')
    assert "&lt;b&gt;not bold&lt;/b&gt;" in table and "<b>not bold" not in table
    assert f">{job.f58}<" in table and ">COMPLETED<" in table
    text = repr(jobs)
    assert text.splitlines()[0].split() == [
        "id",
        "name",
        "state",
        "result",
        "exit",
        "nodes",
        "submitted",
        "runtime",
    ]
    assert any(line.startswith(job.f58) for line in text.splitlines())
    assert job._repr_html_().count("<tr>") == 2


def test_another_users_job_is_out_of_reach(flux, client_for):
    bobs = client_for("bob").submit("sleep 30")
    with pytest.raises(PermissionDenied, match="does not own job"):
        flux.job(bobs)
    assert bobs not in [j.id for j in flux.jobs()]
    client_for("bob").cancel(bobs)


def test_bad_arguments_are_refused_before_anything_is_sent(flux):
    with pytest.raises(ValueError, match="is not a time limit"):
        flux.submit("true", runtime="soon")
    with pytest.raises(ValueError, match="at most 200"):
        flux.submit("true", name="x" * 201)
    with pytest.raises(InvalidRequest, match="The server only has 2 nodes"):
        flux.submit("true", num_nodes=5)


@pytest.mark.parametrize(
    "text,seconds",
    [
        (90, 90),
        (1.2, 2),
        ("90", 90),
        ("30s", 30),
        ("5m", 300),
        ("1.5h", 5400),
        ("1h30m", 5400),
        ("2d", 172800),
        (" 10M ", 600),
        (0, 0),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 m", "-3", -3, "1x", "h", None, True])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="is not a time limit"):
        parse_duration(text)


def _name_jobs(path, first, count):
    names = JobNames(path)
    for job_id in range(first, first + count):
        names.set(job_id, f"job {job_id}")


def test_names_written_at_once_by_two_processes_are_all_kept(tmp_path):
    path = tmp_path / "names" / "job-names.json"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_name_jobs, args=(path, n * 1000, 40)) for n in (1, 2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    names = JobNames(path).all()
    assert len(names) == 80
    assert names[1039] == "job 1039" and names[2000] == "job 2000"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_names_file_loses_names_not_jobs(tmp_path):
    path = tmp_path / "job-names.json"
    path.write_text("{not json")
    names = JobNames(path)
    assert names.all() == {}
    names.set(5, "five")
    assert JobNames(path).all() == {5: "five"}


def test_the_oldest_names_go_first(tmp_path):
    names = JobNames(tmp_path / "job-names.json", limit=3)
    for job_id in (1, 2, 3, 1, 4):
        names.set(job_id, f"n{job_id}")
    assert names.all() == {3: "n3", 1: "n1", 4: "n4"}
