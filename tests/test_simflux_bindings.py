"""The simulated flux bindings called directly, in a process of their own (as in the server).

Most behaviour is tested through HTTP; these cover what needs many jobs or exact API
semantics: job-list's 1000-entry cap and order, JobID encodings, eventlog watches.
"""

import os
import subprocess
import sys
import textwrap

from flux_hub.local.simserve import SIMFLUX

PRELUDE = f"""
import sys
sys.path.insert(0, {SIMFLUX!r})
import flux, flux._broker, flux.job
from flux.job import JobID, JobspecV1
flux._broker.start_instance(1, 2)
h = flux.Flux()
"""


def run(code):
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_job_list_returns_at_most_1000_newest_first():
    out = run("""
        # Too big for the instance: each is denied at once, no process is started
        spec = JobspecV1.from_command(["true"], num_tasks=3, environment={})
        ids = [flux.job.submit(h, spec) for _ in range(1005)]
        jobs = flux.job.job_list(h).get_jobs()
        assert len(jobs) == 1000
        assert [j["id"] for j in jobs] == ids[::-1][:1000]
        assert {j["result"] for j in jobs} == {flux.constants.FLUX_JOB_RESULT_FAILED}
        print(len(flux.job.job_list(h, max_entries=0).get_jobs()))
    """)
    assert out == "1005\n"


def test_job_id_encodings():
    run("""
        jobid = JobID(123456789012)
        assert (jobid.dec, jobid.hex) == ("123456789012", "0x1cbe991a14")
        assert jobid.dothex == "0000.001c.be99.1a14" and jobid.kvs == "job.0000.001c.be99.1a14"
        assert jobid.f58plain == "f4F6TKCo" and str(jobid) in ("\u01924F6TKCo", "f4F6TKCo")
        for text in ("123456789012", " 123456789012 ", "0x1cbe991a14", "\u01924F6TKCo",
                     "f4F6TKCo", "0000.001c.be99.1a14", "job.0000.001c.be99.1a14"):
            assert JobID(text) == jobid, text
        assert JobID("fjpXCZedGfVQ") == 2**64 - 1
        for bad in ("", "abc", "-1", "f0", "0x", "18446744073709551616", "1.2", "a-b-c"):
            try:
                JobID(bad)
            except ValueError:
                continue
            raise AssertionError(bad)
    """)


def test_output_watch_waits_for_the_start_and_ends_with_the_job():
    run("""
        import errno
        busy = flux.job.submit(h, JobspecV1.from_command(["sleep", "30"], num_tasks=2))
        echo = JobspecV1.from_command(["echo", "hi"], environment={"PATH": "/usr/bin:/bin"})
        waiting = flux.job.submit(h, echo)
        watch = flux.job.event_watch_async(h, waiting, "guest.output")
        try:
            watch.wait_for(0.2)
            raise AssertionError("a pending job has no output yet")
        except TimeoutError:
            pass
        flux.job.cancel(h, busy)
        events = list(flux.job.event_watch(h, waiting, "guest.output"))
        assert [e.name for e in events] == ["header", "data", "data", "data"], events
        assert events[1].context == {"stream": "stdout", "rank": "0", "data": "hi\\n"}
        assert {e.context.get("eof") for e in events[2:]} == {True}
        states = [e.name for e in flux.job.event_watch(h, waiting)]
        assert states[:4] == ["submit", "validate", "depend", "priority"], states
        assert states[-3:] == ["release", "free", "clean"], states
        try:
            flux.job.event_watch_async(h, 42).get_event()
            raise AssertionError("unknown job")
        except OSError as e:
            assert e.errno == errno.ENOENT
    """)


def test_job_records_follow_the_job_and_are_the_callers_own():
    run("""
        import time
        C = flux.constants
        def record(jobid, attrs=("all",)):
            return flux.job.job_list_id(h, jobid, attrs=list(attrs)).get_job()
        def until(jobid, state):
            deadline = time.monotonic() + 30
            while record(jobid, ["state"])["state"] != state:
                assert time.monotonic() < deadline, record(jobid)
                time.sleep(0.05)
        jobid = flux.job.submit(h, JobspecV1.from_command(["sleep", "30"]))
        until(jobid, C.FLUX_JOB_STATE_RUN)
        running = record(jobid)
        assert "t_run" in running and not {"result", "t_inactive", "success"} & set(running)
        # flux-restful rewrites what it gets (state as text, ...): the next answer is unchanged
        running["state"] = "RUN"
        del running["t_run"]
        again = record(jobid)
        assert again["state"] == C.FLUX_JOB_STATE_RUN and "t_run" in again
        assert record(jobid, ["name", "state", "userid"]) == {
            "id": jobid, "name": "sleep", "state": C.FLUX_JOB_STATE_RUN, "userid": again["userid"]}
        listed = flux.job.job_list(h).get_jobs()
        assert listed == [again]
        flux.job.cancel(h, jobid)
        until(jobid, C.FLUX_JOB_STATE_INACTIVE)
        done = record(jobid)
        assert done["result"] == C.FLUX_JOB_RESULT_CANCELED and done["exception_type"] == "cancel"
        assert done["success"] is False and done["t_inactive"] >= done["t_cleanup"]
        assert flux.job.job_list(h).get_jobs() == [done]
    """)


def run_with(variables, code):
    """Run ``code`` against an instance started with these environment variables."""
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **variables},
    )


def test_per_job_rpcs_can_be_given_a_real_instances_cost():
    proc = run_with(
        {"FLUX_SIM_RPC_LATENCY": "0.2"},
        """
        import time
        jobid = flux.job.submit(h, JobspecV1.from_command(["true"], num_tasks=3))
        started = time.monotonic()
        flux.job.job_list_id(h, jobid).get_job()
        flux.job.kvslookup.job_kvs_lookup(h, jobid)
        assert time.monotonic() - started >= 0.35
    """,
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_with({"FLUX_SIM_RPC_LATENCY": "fast"}, "")
    assert proc.returncode != 0
    assert "FLUX_SIM_RPC_LATENCY must be seconds from 0 to 10, not 'fast'" in proc.stderr


def test_rpcs_can_cost_what_real_fluxs_cost_flux_restful():
    # At least what the model charges: in wall time, and half of it in the calling thread's
    # (the server's) CPU time; the broker's half is spent in a process of its own.
    proc = run_with(
        {"FLUX_SIM_COSTS": "flux-0.88"},
        """
        import time
        from flux._broker import COST_MODELS, SERVER_SHARE
        costs = COST_MODELS["flux-0.88"]
        ids = [flux.job.submit(h, JobspecV1.from_command(["true"])) for _ in range(20)]
        started, cpu = time.perf_counter(), time.thread_time()
        assert len(flux.job.job_list(h).get_jobs()) == 20
        cost = 20 * costs["job-list.list", "record"]
        assert time.perf_counter() - started >= cost
        assert time.thread_time() - cpu >= cost * SERVER_SHARE
        started, cpu = time.perf_counter(), time.thread_time()
        flux.job.job_list_id(h, ids[0], attrs=["userid"]).get_jobinfo()
        flux.job.kvslookup.job_kvs_lookup(h, ids[0], keys=["jobspec"])
        cost = costs["job-list.list-id", "owner"] + costs["job-info.lookup", "owner"]
        assert time.perf_counter() - started >= cost
        assert time.thread_time() - cpu >= cost * SERVER_SHARE
    """,
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_with({"FLUX_SIM_COSTS": "cheap"}, "")
    assert proc.returncode != 0
    assert "FLUX_SIM_COSTS must be one of 'none', 'flux-0.88', not 'cheap'" in proc.stderr


def test_an_instance_up_for_a_month_gives_ids_javascript_cannot_hold():
    proc = run_with(
        {"FLUX_SIM_UPTIME": str(30 * 86400)},
        """
        from flux.job import JobID
        jobid = flux.job.submit(h, JobspecV1.from_command(["true"]))
        assert jobid > 2**53 and (jobid >> 24) // 1000 >= 30 * 86400, jobid
        assert JobID(JobID(jobid).f58) == jobid == flux.job.job_list_id(h, jobid).get_job()["id"]
    """,
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_with({"FLUX_SIM_UPTIME": "-1"}, "")
    assert proc.returncode != 0
    assert "FLUX_SIM_UPTIME must be seconds" in proc.stderr
