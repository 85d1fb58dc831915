"""Job output: snapshots while a job runs, and the live stream that ends with the job."""

import time

import pytest
from local_support import api

pytestmark = pytest.mark.cluster


@pytest.fixture
def alice(cluster):
    return api(cluster, "alice")


def stream(alice, jobid):
    """(seconds since opening, chunk) for each non-empty chunk, until the server ends it."""
    start = time.monotonic()
    with alice.get(f"/v1/jobs/{jobid}/output/stream", stream=True) as response:
        assert response.status_code == 200
        return [
            (time.monotonic() - start, chunk.decode())
            for chunk in response.iter_content(chunk_size=None)
            if chunk
        ]


def test_stream_delivers_lines_while_the_job_runs(alice):
    jobid = alice.submit("sh -c 'for i in 1 2 3; do echo line$i; sleep 2; done'")
    chunks = stream(alice, jobid)
    assert "".join(text for _, text in chunks) == "line1\nline2\nline3\n"
    # Delivered as written, not at the end: the first lines came in a chunk before the last
    # (seconds apart), whatever the machine's load did to when the stream was opened
    assert "line3" not in chunks[0][1], chunks
    assert chunks[-1][0] - chunks[0][0] > 1.0, chunks
    assert alice.info(jobid)["state"] == "INACTIVE"  # the stream ended with the job


def test_stream_of_a_finished_job_ends_at_once(alice):
    info, text = alice.run("echo done")
    assert "".join(chunk for _, chunk in stream(alice, info["id"])) == text == "done\n"


def test_stream_of_a_cancelled_job_ends(alice):
    jobid = alice.submit("sh -c 'echo started; sleep 60'")
    alice.wait(jobid, "RUN")
    while not alice.output(jobid):
        time.sleep(0.1)
    alice.post(f"/v1/jobs/{jobid}/cancel")
    assert "".join(chunk for _, chunk in stream(alice, jobid)) == "started\n"


def test_output_snapshot_while_running(alice):
    jobid = alice.submit("sh -c 'echo early; sleep 60'")
    try:
        deadline = time.monotonic() + 20
        while (output := alice.output(jobid)) != ["early\n"]:
            assert time.monotonic() < deadline, output
            time.sleep(0.1)
        assert alice.info(jobid)["state"] == "RUN"
    finally:
        alice.post(f"/v1/jobs/{jobid}/cancel")


def test_output_limit_option(alice):
    info, text = alice.run("sh -c 'echo 0123456789; echo more'", option_flags="output.limit=12")
    assert info["result"] == "COMPLETED"
    assert text == "0123456789\n"
