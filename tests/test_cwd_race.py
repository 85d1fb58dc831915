"""A job's working directory is entered as its owner: bob's symlink race finds nothing of alice's.

Real Flux's job shell enters the working directory after flux-security's IMP has made it the
job's owner. The simulated shell once checked the path as root and then let each task chdir as
root before it became the owner (CPython's ``cwd=``), so a symlink flipped in between put bob's
tasks in alice's 0700 folder (25 of 200 tries). Here, as real Unix users on the multi-user local
cluster (as root): alice keeps a secret in ~/work; a process of bob's flips ~/flip between his
own folder (which holds a file of the same name) and /home/alice/work while bob's jobs run with
~/flip as their working directory, each task printing where it is (``pwd -P``) and what ``cat
secret`` gives. 1,000 tries; none is in alice's folder, her secret is in no output, and both
sides of the race were hit (tasks in bob's folder, and tasks the owner's chdir sent to /tmp).

Tries: over the simulation each task enters the directory itself, so 10 jobs x 100 tasks,
submitted through flux-restful with bob's credentials. Real Flux's job shell enters it once per
job, so there bob submits one job through flux-restful that submits 1,000 one-task jobs
(``flux submit --cc=1-1000`` from inside his job, as a Flux user does).
"""

import os
import pwd
import secrets
import subprocess
import time
from collections import Counter

import pytest
from lanes import FLUX, REAL_FLUX
from local_support import api, as_account

from flux_hub.local import LocalCluster

TRIES = 1000
JOBS, TASKS = 10, 100  # the simulation: one try per task
RACE_TIMEOUT = 85

# bob's own program: flips ~/flip between his folder and alice's, as fast as a loop can
FLIPPER = """
import os, sys, time
link, targets = sys.argv[1], sys.argv[2:]
new = link + ".new"
i = 0
while True:
    try:
        os.unlink(new)
    except FileNotFoundError:
        pass
    os.symlink(targets[i % 2], new)
    os.replace(new, link)
    i += 1
    time.sleep(0.0001)
"""
# Each task: one line, "<try> <where it is> <what `cat secret` gave>"
TASK = 'echo "${FLUX_JOB_CC:-$FLUX_TASK_RANK} $(pwd -P) $(cat secret 2>&1 | head -c 200)"'


def as_user(name, command, **kwargs):
    return as_account(name, command, check=True, **kwargs)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    assert os.geteuid() == 0, "alice and bob must be Unix accounts of their own: needs root"
    cluster = LocalCluster(
        tmp_path_factory.mktemp("cwd-race"),
        users=["alice", "bob"],
        nodes=1,
        # the simulation runs a job's 100 tasks at once; real Flux runs bob's jobs 7 at a time
        cores_per_node=8 if REAL_FLUX else TASKS,
        multi_user=True,
    )
    cluster.start(timeout=120)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def homes(cluster):
    """alice's secret in her 0700 home; bob's folder with a file of the same name, and his
    symlink ~/flip. Returns (alice's secret, bob's home)."""
    secret = f"alice-secret-{secrets.token_hex(8)}"
    # Readable by anyone who reaches it (0644 in a 0755 folder, as files usually are): only her
    # 0700 home keeps it hers
    as_user("alice", f"umask 022 && mkdir -p ~/work && printf '%s\\n' {secret} > ~/work/secret")
    as_user(
        "bob",
        "rm -rf ~/own ~/flip ~/flip.new ~/race && mkdir -p ~/own ~/race/out && "
        "echo bob-own-file > ~/own/secret && ln -s ~/own ~/flip",
    )
    alice, bob = pwd.getpwnam("alice"), pwd.getpwnam("bob")
    assert os.stat(alice.pw_dir).st_mode & 0o777 == 0o700
    assert os.stat(f"{alice.pw_dir}/work/secret").st_mode & 0o777 == 0o644
    # bob cannot read it himself
    denied = subprocess.run(
        ["cat", f"{alice.pw_dir}/work/secret"],
        user=bob.pw_uid,
        group=bob.pw_gid,
        extra_groups=[],
        capture_output=True,
    )
    assert denied.returncode != 0 and secret not in denied.stdout.decode()
    yield secret, bob.pw_dir
    as_user("bob", "rm -rf ~/own ~/flip ~/flip.new ~/race")
    as_user("alice", "rm -rf ~/work")


@pytest.fixture
def flipping(homes):
    _, home = homes
    bob = pwd.getpwnam("bob")
    flipper = subprocess.Popen(
        ["/usr/bin/python3", "-c", FLIPPER, f"{home}/flip", f"{home}/own", "/home/alice/work"],
        user=bob.pw_uid,
        group=bob.pw_gid,
        extra_groups=[],
        cwd=home,
    )
    yield
    flipper.kill()
    flipper.wait()
    assert flipper.returncode == -9, "bob's flipper stopped by itself"


def run_race_simulated(bob, home):
    ids = [
        bob.submit(f"sh -c '{TASK}'", workdir=f"{home}/flip", num_tasks=TASKS) for _ in range(JOBS)
    ]
    text = ""
    for jobid in ids:
        info = bob.wait(jobid, timeout=RACE_TIMEOUT)
        assert info["result"] == "COMPLETED", info
        text += "".join(bob.output(jobid))
    return text


def run_race_real(bob, home):
    # bob's job submits his 1,000 one-task jobs; each one's output goes to ~/race/out/<cc>.out
    # (flux submit puts each job's --cc number for {cc})
    script = f"{home}/race/task.sh"
    as_user("bob", f"printf '#!/bin/sh\\n%s\\n' '{TASK}' > {script} && chmod 755 {script}")
    command = (
        f"{FLUX} submit --cc=1-{TRIES} --wait --quiet --cwd={home}/flip "
        f"--output={home}/race/out/{{cc}}.out {script}"
    )
    jobid = bob.submit(command, runtime=RACE_TIMEOUT)
    info = bob.wait(jobid, timeout=RACE_TIMEOUT + 5)
    assert info["result"] == "COMPLETED", (info, bob.output(jobid))
    outputs = sorted(os.listdir(f"{home}/race/out"))
    return "".join(open(f"{home}/race/out/{name}").read() for name in outputs)


def test_bobs_symlink_race_never_enters_alices_folder(cluster, homes, flipping):
    secret, home = homes
    bob = api(cluster, "bob")
    started = time.monotonic()
    text = (run_race_real if REAL_FLUX else run_race_simulated)(bob, home)
    took = time.monotonic() - started
    lines = text.splitlines()
    assert len(lines) == TRIES, text[-2000:]
    assert secret not in text
    where = Counter(line.split(" ", 2)[1] for line in lines)
    print(f"\n{TRIES} tries in {took:.1f} s ({'real Flux' if REAL_FLUX else 'simulated'}): {where}")
    assert "/home/alice/work" not in where and not any("alice" in place for place in where)
    assert set(where) <= {f"{home}/own", "/tmp"}, where
    # Both sides of the race were hit: bob's folder, and alice's, refused (real Flux's
    # "Could not change dir ...: Permission denied. Going to /tmp instead")
    assert where[f"{home}/own"] > 0 and where["/tmp"] > 0, where
    for line in lines:
        _, place, shown = line.split(" ", 2)
        expected = "bob-own-file" if place == f"{home}/own" else "No such file"
        assert expected in shown, line


def test_a_folder_its_owner_may_not_enter_sends_the_job_to_tmp(cluster, homes):
    """Real Flux's semantics kept: alice's folder as bob's workdir runs his job in /tmp (the
    shell logs "Could not change dir ... Going to /tmp instead"), and a missing program is
    still an ``exec`` exception whose note says why."""
    secret, home = homes
    bob = api(cluster, "bob")
    info, text = bob.run("sh -c 'pwd -P; cat secret 2>&1'", workdir="/home/alice/work")
    assert info["result"] == "FAILED" and text.split("\n")[0] == "/tmp", text
    assert secret not in text
    info, text = bob.run("/no/such/program", workdir=f"{home}/own")
    assert (info["result"], info["returncode"], info["exception"]["type"]) == (
        "FAILED",
        127,
        "exec",
    ), info
    assert "No such file or directory" in info["exception"]["note"], info
    info, text = bob.run("pwd", workdir=f"{home}/own")
    assert (info["result"], text) == ("COMPLETED", f"{home}/own\n")
