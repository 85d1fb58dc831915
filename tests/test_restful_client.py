"""The synchronous flux-restful client against a real flux-restful server (the local cluster)."""

import threading
import time

import pytest
from restful_support import our_connections, wait_done, wait_running, wait_server_let_go

from flux_hub.restful import FluxRestfulClient
from flux_hub.restful.protocol import OutputDecoder, option_flags_text

pytestmark = pytest.mark.cluster


def test_submit_complete_and_output(client_for):
    alice = client_for("alice")
    jobid = alice.submit("printf '%s\\n' 'hello world' second")
    assert isinstance(jobid, int)
    info = wait_done(alice, jobid)
    assert (info["result"], info["returncode"], info["name"]) == ("COMPLETED", 0, "printf")
    assert "".join(alice.output(jobid)) == "hello world\nsecond\n"


def test_command_as_list_is_quoted(client_for):
    alice = client_for("alice")
    jobid = alice.submit(["sh", "-c", 'echo "$0|$1"', "it's", "a b"])
    wait_done(alice, jobid)
    assert "".join(alice.output(jobid)) == "it's|a b\n"


def test_failing_command_is_failed_with_its_exit_code(client_for):
    alice = client_for("alice")
    info = wait_done(alice, alice.submit("sh -c 'exit 3'"))
    assert (info["result"], info["returncode"]) == ("FAILED", 3)


def test_job_over_its_runtime_times_out(client_for):
    alice = client_for("alice")
    info = wait_done(alice, alice.submit("sleep 30", runtime=2), timeout=40)
    assert info["result"] == "TIMEOUT"
    assert info["exception"]["type"] == "timeout"


def test_cancel_a_running_job(client_for):
    alice = client_for("alice")
    jobid = alice.submit("sleep 60")
    wait_running(alice, jobid)
    assert alice.output(jobid) == []  # running, nothing written yet
    assert alice.cancel(jobid) == "Job is requested to cancel."
    assert wait_done(alice, jobid, timeout=20)["result"] == "CANCELED"


def test_envars_and_workdir_reach_the_job(client_for, tmp_path):
    alice = client_for("alice")
    jobid = alice.submit(
        ["sh", "-c", 'echo "$GREETING"; pwd'],
        envars={"GREETING": "hi there"},
        workdir=str(tmp_path),
    )
    assert wait_done(alice, jobid)["result"] == "COMPLETED"
    assert "".join(alice.output(jobid)) == f"hi there\n{tmp_path}\n"


def test_stream_follows_the_job_until_it_ends(client_for):
    alice = client_for("alice")
    jobid = alice.submit(["sh", "-c", "echo one; sleep 2; echo 'twø ✓'"])
    arrivals = [(time.monotonic(), chunk) for chunk in alice.stream_output(jobid)]
    text = "".join(chunk for _, chunk in arrivals)
    assert text == "one\ntwø ✓\n"
    first = next(t for t, chunk in arrivals if "one" in chunk)
    last = next(t for t, chunk in arrivals if "tw" in chunk)
    assert last - first > 1.0, "chunks were not delivered as the job wrote them"
    # The stream ends when the job does.
    assert wait_done(alice, jobid, timeout=5)["result"] == "COMPLETED"
    # A finished job's stream gives everything at once and ends.
    assert "".join(alice.stream_output(jobid)) == text


def test_closing_a_stream_early_drops_the_connection(client_for, cluster):
    alice = client_for("alice")
    jobid = alice.submit(["sh", "-c", "echo start; sleep 60"])
    before = our_connections(cluster.port)
    stream = client_for("alice").stream_output(jobid)
    assert next(stream) == "start\n"
    ours = our_connections(cluster.port) - before
    assert len(ours) == 1
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 2
    assert not ours & our_connections(cluster.port)
    wait_server_let_go(cluster.port, ours)
    alice.cancel(jobid)


def test_listings(client_for):
    alice, bob = client_for("alice"), client_for("bob")
    mine = alice.submit("true")
    theirs = bob.submit("true")
    wait_done(alice, mine)
    wait_done(bob, theirs)
    all_ids = {record["id"] for record in alice.list_jobs()}
    assert {mine, theirs} <= all_ids  # single-user mode lists every job id
    alice_jobs = alice.jobs()
    assert mine in {job["id"] for job in alice_jobs}
    assert theirs not in {job["id"] for job in alice_jobs}
    assert all(isinstance(job["state"], str) for job in alice_jobs)
    assert len(alice.jobs(limit=1)) == 1


def test_nodes_and_auth_info(client_for):
    alice = client_for("alice")
    nodes = alice.nodes()
    assert nodes and all(isinstance(node, str) and node for node in nodes)
    assert alice.auth_info() == {
        "backend": "shared-secret",
        "password_login": True,
        "shared_secret_handshake": True,
    }


def test_one_token_for_many_calls_and_threads(client_for):
    alice = client_for("alice")
    barrier = threading.Barrier(8)
    results = []

    def call():
        barrier.wait()
        results.append(alice.nodes())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and all(results)
    for _ in range(5):
        alice.nodes()
    assert alice.handshakes == 1


def test_form_login_without_a_secret_key(client_for):
    alice = client_for("alice", secret_key="")
    assert alice.nodes()
    assert alice.handshakes == 1


def test_login_forces_a_new_token(client_for):
    alice = client_for("alice")
    alice.nodes()
    alice.login()
    assert alice.handshakes == 2
    assert alice.nodes()


def test_settings_from_the_environment(cluster, monkeypatch):
    monkeypatch.setenv("FLUX_RESTFUL_HOST", cluster.url)
    monkeypatch.setenv("FLUX_USER", "carol")
    monkeypatch.setenv("FLUX_TOKEN", cluster.passwords["carol"])
    monkeypatch.setenv("FLUX_SECRET_KEY", cluster.secret_key)
    with FluxRestfulClient() as carol:
        assert (carol.host, carol.user) == (cluster.url, "carol")
        jobid = carol.submit("true")
        assert jobid in {job["id"] for job in carol.jobs()}


def test_no_secret_in_repr(client_for, cluster):
    alice = client_for("alice")
    alice.nodes()
    text = repr(alice) + str(alice) + repr(vars(alice))
    for secret in (cluster.passwords["alice"], cluster.secret_key):
        assert secret not in text
    assert "alice" in repr(alice) and cluster.url in repr(alice)


def test_option_flags_are_sent_as_the_server_reads_them():
    assert option_flags_text({"cpu-affinity": "per-task", "verbose": 2}) == (
        "cpu-affinity=per-task,verbose=2"
    )


def test_decoder_keeps_characters_split_across_chunks():
    decoder = OutputDecoder()
    encoded = "héllo ✓\n".encode()
    pieces = [decoder.feed(encoded[i : i + 1]) for i in range(len(encoded))]
    assert "".join(pieces) + decoder.flush() == "héllo ✓\n"
    assert "\ufffd" not in "".join(pieces)
