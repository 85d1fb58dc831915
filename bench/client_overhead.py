"""What the flux-restful client costs over plain `requests`.

Starts a LocalCluster, then times 1,000 FluxRestfulClient.job(id) calls against 1,000 raw
`requests` GETs of the same URL on a Session with a token made beforehand. The two run
interleaved in blocks of 10, alternating which goes first, so that noise on this shared
machine hits both alike. Besides wall time it reports this process's CPU time per call,
which the server's and other programs' load do not blur: that is where the client's own
work shows. The client starts with no token: its first call logs in (one bcrypt check on the
server), shown apart from the per-call comparison.

    python bench/client_overhead.py        # goals: ratio <= 1.10x, 1 token handshake
"""

import sys
import tempfile
import time

import jwt
import requests
from lane import describe

from flux_hub.local import LocalCluster
from flux_hub.restful import FluxRestfulClient

CALLS = 1000
BLOCK = 10
GOAL_RATIO = 1.10


def raw_session(url, user, password, secret_key):
    """A Session and headers with a token got by hand, as a caller without the client would."""
    session = requests.Session()
    signed = jwt.encode({"user": user, "pass": password, "scope": "token"}, secret_key, "HS256")
    answer = session.post(f"{url}/v1/token", headers={"Authorization": f"Bearer {signed}"})
    answer.raise_for_status()
    return session, {"Authorization": f"Bearer {answer.json()['access_token']}"}


class Timer:
    def __init__(self, call):
        self.call, self.wall, self.cpu, self.calls = call, 0.0, 0.0, 0

    def run(self, count):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            self.call()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        self.calls += count


def main():
    print(describe(), flush=True)
    with tempfile.TemporaryDirectory() as state_dir:
        print("starting a local cluster ...", flush=True)
        with LocalCluster(state_dir, users=["alice"]) as cluster:
            user, password, key = "alice", cluster.passwords["alice"], cluster.secret_key
            with FluxRestfulClient(cluster.url, user, password, key) as setup:
                jobid = setup.submit("true")
            session, headers = raw_session(cluster.url, user, password, key)
            job_url = f"{cluster.url}/v1/jobs/{jobid}"

            def raw():
                answer = session.get(job_url, headers=headers, timeout=30)
                answer.raise_for_status()
                return answer.json()

            with FluxRestfulClient(cluster.url, user, password, key) as client:
                started = time.perf_counter()
                first = client.job(jobid)  # with the login
                login = time.perf_counter() - started
                raw()  # the raw side's connection is opened outside the timing too
                timers = [Timer(lambda: client.job(jobid)), Timer(raw)]
                for block in range((CALLS - 1) // BLOCK):
                    for timer in timers if block % 2 == 0 else reversed(timers):
                        timer.run(BLOCK)
                for timer in timers:
                    timer.run(CALLS - 1 - timer.calls)
                handshakes = client.handshakes
                same_answer = first["id"] == raw()["id"] == jobid
            session.close()

    ours, theirs = timers
    ratio, cpu_ratio = ours.wall / theirs.wall, ours.cpu / theirs.cpu
    per_call = 1e3 / (CALLS - 1)
    print(f"\n{CALLS} calls of GET /v1/jobs/{{id}}, interleaved in blocks of {BLOCK}")
    print(f"  client FluxRestfulClient.job: {ours.wall + login:7.3f} s wall in all,")
    print(f"         of which the first call, with the token login: {login:.3f} s")
    print(f"  raw    requests Session.get:  {theirs.wall:7.3f} s wall (token made before)")
    print(f"  per call, the other {CALLS - 1}:")
    for name, timer in (("client", ours), ("raw", theirs)):
        wall, cpu = timer.wall * per_call, timer.cpu * per_call
        print(f"    {name:6} {wall:7.3f} ms wall, {cpu:6.3f} ms CPU in this process")
    print(f"  ratio client/raw: {ratio:.3f}x wall, {cpu_ratio:.3f}x CPU   (goal <= {GOAL_RATIO}x)")
    print(f"  token handshakes in the client's {CALLS} calls: {handshakes}   (goal: 1)")
    print(f"  both read the same job: {same_answer}")
    print(f"RESULT client_overhead_wall={ratio:.3f} goal=<={GOAL_RATIO} client/raw wall time")
    print(f"RESULT token_handshakes={handshakes} goal=1 token requests in {CALLS} client calls")
    met = ratio <= GOAL_RATIO and handshakes == 1
    print("  goals met" if met else "  GOALS NOT MET (wall time on a busy machine: run again)")
    return 0 if same_answer else 1


if __name__ == "__main__":
    sys.exit(main())
