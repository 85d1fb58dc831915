"""Job ids in every Flux encoding, and who may see which job (single-user mode)."""

import pytest
from local_support import api, f58

pytestmark = pytest.mark.cluster


@pytest.fixture
def alice(cluster):
    return api(cluster, "alice")


@pytest.fixture
def bob(cluster):
    return api(cluster, "bob")


def test_job_ids_in_every_encoding(alice):
    jobid = alice.submit("true")
    alice.wait(jobid)
    words = [(jobid >> shift) & 0xFFFF for shift in (48, 32, 16, 0)]
    dothex = ".".join(f"{w:04x}" for w in words)
    forms = [str(jobid), f"\u0192{f58(jobid)}", f"f{f58(jobid)}", hex(jobid), dothex]
    for form in [*forms, f"job.{dothex}"]:
        answer = alice.get(f"/v1/jobs/{form}")
        assert answer.status_code == 200, form
        assert answer.json()["id"] == jobid
    assert alice.output(f"f{f58(jobid)}") == alice.output(jobid)
    for bad in ("f0OIl", "0xZZ", "12x", "ƒ", "1.2.3"):
        assert alice.get(f"/v1/jobs/{bad}").status_code == 400, bad


def test_ids_grow_with_submission_order(alice):
    first, second = alice.submit("true"), alice.submit("true")
    assert second > first


def test_other_users_jobs_are_refused(cluster, alice, bob):
    jobid = alice.submit("sleep 60")
    alice.wait(jobid, "RUN")
    try:
        refusal = {"detail": f"bob does not own job {jobid}"}
        for answer in (
            bob.get(f"/v1/jobs/{jobid}"),
            bob.get(f"/v1/jobs/{jobid}/output"),
            bob.get(f"/v1/jobs/{jobid}/output/stream"),
            bob.post(f"/v1/jobs/{jobid}/cancel"),
        ):
            assert (answer.status_code, answer.json()) == (403, refusal)
        assert alice.info(jobid)["state"] == "RUN"  # bob's cancel did nothing

        # bob's detailed listing leaves alice's job out; the plain id listing shows all jobs
        mine = bob.get("/v1/jobs", params={"details": "true", "listing": "true"}).json()
        assert jobid not in [job["id"] for job in mine]
        assert jobid in [job["id"] for job in bob.get("/v1/jobs").json()["jobs"]]
        theirs = alice.get("/v1/jobs", params={"details": "true", "listing": "true"}).json()
        assert jobid in [job["id"] for job in theirs]

        admin = api(cluster, "fluxadmin")  # the superuser sees every job
        assert admin.get(f"/v1/jobs/{jobid}").status_code == 200
    finally:
        alice.post(f"/v1/jobs/{jobid}/cancel")
    assert alice.wait(jobid)["result"] == "CANCELED"


def test_listing_records(alice):
    done = alice.submit("true")
    alice.wait(done)
    running = alice.submit("sleep 60")
    try:
        alice.wait(running, "RUN")
        jobs = alice.get("/v1/jobs").json()["jobs"]
        ids = [job["id"] for job in jobs]
        assert ids.index(running) < ids.index(done)  # active jobs before inactive ones
        record = jobs[ids.index(done)]
        assert (record["state"], record["result"]) == (64, 1)  # integers in the raw listing
        assert jobs[ids.index(running)]["state"] == 16
        assert "result" not in jobs[ids.index(running)]
        limited = alice.get("/v1/jobs", params={"details": "true", "listing": "true", "limit": 1})
        assert len(limited.json()) == 1
    finally:
        alice.post(f"/v1/jobs/{running}/cancel")
