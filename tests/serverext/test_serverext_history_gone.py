"""The history's jobs the cluster no longer knows become "cluster gone" (issue 26.2): after each
complete listing the server looks up, one by one and in the background, the person's ACTIVE
records on its cluster that the listing does not show (flux_hub/serverextension/jobs.py,
``JobsService._reconciled``).

The cluster is a real flux-restful in front of a Flux instance; restarting it starts a new
instance, which knows none of the old jobs and hands out ids from the same range again.
"""

import asyncio
import json
import logging
import time

import pytest
from serverext_support import server_config

from flux_hub.history import History
from flux_hub.notebook import connect
from flux_hub.restful import FluxRestfulClient, JobNotFound
from flux_hub.serverextension import jobs as jobs_module


@pytest.fixture
def names_path(tmp_path):
    return tmp_path / "alice-data" / "flux-hub" / "job-names.json"


def history_of(names_path):
    return History(names_path=names_path, account="alice")


def kernel(cluster, names_path, user="alice"):
    """The notebook API in a kernel of ``user``'s: it records what it submits."""
    return connect(
        cluster.url, user, cluster.passwords[user], cluster.secret_key, names_path=names_path
    )


def direct(cluster, user):
    """A client of ``user``'s that records nothing (a job submitted outside flux-hub)."""
    return FluxRestfulClient(cluster.url, user, cluster.passwords[user], cluster.secret_key)


def ends_unseen(cluster, job_id):
    """Wait until the job has ended, asking the cluster directly: a kernel's wait would record
    its end in the history itself (Job.refresh), and these tests are about ends nobody saw."""
    with direct(cluster, "alice") as alice:
        deadline = time.monotonic() + 60
        while alice.job(job_id)["state"] != "INACTIVE":
            assert time.monotonic() < deadline, f"job {job_id} did not end"
            time.sleep(0.2)


async def reconciled(service):
    """Wait for the reconcile started by the last complete listing and what it wrote."""
    if service._reconciling is not None:
        await asyncio.wait_for(asyncio.shield(service._reconciling), 60)
    if service._recorder is not None:
        await asyncio.wrap_future(service._recorder.submit(lambda: None))


def statuses(names_path, cluster, *job_ids):
    with history_of(names_path) as history:
        return [history.get(job_id, cluster.url)["status"] for job_id in job_ids]


def recorded_as_if_earlier(names_path, cluster, job_id, seconds):
    """A record of ``job_id`` made ``seconds`` before that id's job on the cluster now was
    submitted: the record of the job a former instance had under the same id."""
    with direct(cluster, "alice") as client:
        submitted = client.job(job_id)["t_submit"] - seconds
    with history_of(names_path) as history:
        history.record_submitted(
            job_id,
            cluster=cluster.url,
            request={"command": "hostname"},
            name="from the old instance",
            origin_kind="notebook",
            origin_path="old.ipynb",
            submitted=submitted,
        )


class TestAfterARestart:
    @pytest.fixture
    def jp_server_config(self, fresh_cluster, names_path):
        return server_config(fresh_cluster, "alice", job_names_path=str(names_path))

    async def test_the_first_listing_marks_the_jobs_the_cluster_lost_gone(
        self, api, service, fresh_cluster, names_path
    ):
        with kernel(fresh_cluster, names_path) as flux:
            running = flux.submit(["sleep", "300"], name="long one", num_tasks=2)
            ended = flux.submit(["sh", "-c", "exit 0"], name="short one")
        # It ends unseen, and the server never listed either before the restart.
        ends_unseen(fresh_cluster, ended.id)
        assert statuses(names_path, fresh_cluster, running.id, ended.id) == ["ACTIVE", "ACTIVE"]
        with history_of(names_path) as history:
            history.record_submitted(
                running.id, cluster="http://another.cluster:5000", request={"command": "x"},
                origin_kind="cli", submitted=time.time(),
            )  # fmt: skip

        fresh_cluster.restart()
        with direct(fresh_cluster, "alice") as alice, direct(fresh_cluster, "bob") as bob:
            with pytest.raises(JobNotFound):
                alice.job(running.id)  # a new instance: the old jobs are unknown
            # The new instance's jobs, and records of ids a former instance had as well
            reused_listed = alice.submit("sleep 300")
            reused_bobs = bob.submit("sleep 300")
        recorded_as_if_earlier(names_path, fresh_cluster, reused_listed, 3600)
        with history_of(names_path) as history:
            history.record_submitted(
                reused_bobs, cluster=fresh_cluster.url, request={"command": "hostname"},
                origin_kind="panel", submitted=time.time() - 3600,
            )  # fmt: skip

        code, listing = await api.get("jobs")
        assert code == 200 and reused_listed in {job["id"] for job in listing["jobs"]}
        await reconciled(service)

        lost = (running.id, ended.id, reused_listed, reused_bobs)
        assert statuses(names_path, fresh_cluster, *lost) == ["GONE"] * 4
        code, page = await api.get("history", params={"state": "GONE"})
        assert code == 200
        shown = {record["id"]: record for record in page["records"]}
        assert set(shown) == set(lost)
        record = shown[running.id]
        assert (record["name"], record["command"], record["cluster_gone"]) == (
            "long one", "sleep 300", True,
        )  # fmt: skip
        assert record["request"]["num_tasks"] == 2 and record["origin"]["kind"] == "notebook"
        assert record["result"] is None and record["ended"] is None
        # The same id on another cluster is another job: not this cluster's to say
        with history_of(names_path) as history:
            assert history.get(running.id, "http://another.cluster:5000")["status"] == "ACTIVE"

        # The new instance's own job stays as it is
        with kernel(fresh_cluster, names_path) as flux:
            job = flux.submit(["true"], name="after").wait(timeout=60)
        code, _ = await api.get("jobs", params={"rescan": "1"})
        await reconciled(service)
        assert statuses(names_path, fresh_cluster, job.id) == ["COMPLETED"]


class TestOnARunningCluster:
    @pytest.fixture
    def jp_server_config(self, cluster, names_path):
        return server_config(cluster, "alice", job_names_path=str(names_path), rescan_interval=0.0)

    @pytest.fixture
    def unlisted(self, service):
        """Jobs the server's complete listing leaves out, as flux-restful's does for a job
        past its listing's limit (it walks at most 1000 jobs, everyone's, newest first)."""
        left_out = set()
        client = service.client
        original = client.jobs_body

        async def jobs_body(*args, **kwargs):
            body = await original(*args, **kwargs)
            return json.dumps([j for j in json.loads(body) if j["id"] not in left_out]).encode()

        client.jobs_body = jobs_body
        return left_out

    async def test_an_unlisted_job_gets_its_end_or_is_gone_when_another_has_its_id(
        self, api, service, cluster, names_path, unlisted
    ):
        with kernel(cluster, names_path) as flux:
            failed = flux.submit(["sh", "-c", "exit 3"], name="fails")
            running = flux.submit(["sleep", "120"], name="runs")
            reused = flux.submit(["true"])
        ends_unseen(cluster, failed.id)
        ends_unseen(cluster, reused.id)
        recorded_as_if_earlier(names_path, cluster, reused.id, 60)
        unlisted.update({failed.id, running.id, reused.id})
        looked_up = []
        lookup = service.client.job

        async def job(job_id):
            looked_up.append(job_id)
            return await lookup(job_id)

        service.client.job = job
        try:
            code, listing = await api.get("jobs")
            assert code == 200 and not unlisted & {job["id"] for job in listing["jobs"]}
            await reconciled(service)
            assert sorted(looked_up) == sorted(unlisted)  # one lookup each
            with history_of(names_path) as history:
                record = history.get(failed.id)
            assert (record["status"], record["exit_code"], record["state"]) == (
                "FAILED", 3, "INACTIVE",
            )  # fmt: skip
            assert record["nodes"] and record["runtime"] >= 0
            assert statuses(names_path, cluster, running.id, reused.id) == ["ACTIVE", "GONE"]

            # The next complete listing asks only about the one still active
            looked_up.clear()
            await api.get("jobs", params={"rescan": "1"})
            await reconciled(service)
            assert looked_up == [running.id]
        finally:
            flux = kernel(cluster, names_path)
            flux.client.cancel(running.id)
            flux.close()

    async def test_a_listed_job_under_a_recorded_id_is_another_job(
        self, api, service, cluster, names_path
    ):
        with direct(cluster, "alice") as alice:
            job_id = alice.submit("true")
        recorded_as_if_earlier(names_path, cluster, job_id, 600)
        code, listing = await api.get("jobs")
        assert code == 200 and job_id in {job["id"] for job in listing["jobs"]}
        await reconciled(service)
        with history_of(names_path) as history:
            record = history.get(job_id)
        # Its end is not the recorded job's
        assert (record["status"], record["result"], record["name"]) == (
            "GONE", None, "from the old instance",
        )  # fmt: skip

    async def test_the_lookups_are_bounded_and_never_hold_the_answer_back(
        self, api, service, cluster, names_path, monkeypatch
    ):
        monkeypatch.setattr(jobs_module, "RECONCILE_MOST", 2)
        now = time.time()
        unknown = [7_000_000_000_000_000 + n for n in range(3)]  # ids this instance never had
        with history_of(names_path) as history:
            for age, job_id in zip((300, 200, 100), unknown, strict=True):
                history.record_submitted(
                    job_id, cluster=cluster.url, request={"command": "true"},
                    origin_kind="panel", submitted=now - age,
                )  # fmt: skip
        lookup = service.client.job

        async def slow(job_id):
            await asyncio.sleep(2)
            return await lookup(job_id)

        service.client.job = slow
        started = time.monotonic()
        code, _ = await api.get("jobs")
        assert code == 200 and time.monotonic() - started < 1.5
        assert statuses(names_path, cluster, *unknown) == ["ACTIVE"] * 3
        await reconciled(service)
        assert statuses(names_path, cluster, *unknown) == [
            "GONE",
            "GONE",
            "ACTIVE",
        ]  # the oldest first
        await api.get("jobs", params={"rescan": "1"})
        await reconciled(service)
        assert statuses(names_path, cluster, *unknown) == ["GONE"] * 3

    async def test_a_history_that_cannot_be_read_costs_the_panel_nothing(
        self, api, service, names_path, caplog
    ):
        names_path.parent.mkdir(parents=True)
        (names_path.parent / "history.sqlite3").mkdir()  # in the way, even for root
        caplog.set_level(logging.WARNING)
        for params in (None, {"rescan": "1"}):
            code, listing = await api.get("jobs", params=params)
            assert code == 200 and "jobs" in listing
            await reconciled(service)
        lines = [r.getMessage() for r in caplog.records if "job history" in r.getMessage()]
        reading = [line for line in lines if "cannot be read" in line]
        assert len(reading) == 1, lines  # said once, not at every listing
        assert reading[0].startswith("flux-hub: the job history cannot be read: ")
