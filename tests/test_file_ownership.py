"""Point 3 of issue 25: a person's lab and their jobs share their files, and no one else reads them.

The scheme, on the one machine's multi-user cluster as on Kubernetes (examples/kubernetes): the
person's lab runs as their account's own uid (FluxLocalProcessSpawner here; the lab pod's ``uid``
there), their jobs run as the same account (Flux's IMP), and their folder is the account's home,
0700 (made by flux-hub, flux_hub/accounts/system.py). A job submitted without a working
directory starts in it (the guard, flux_hub/guard/workdir.py).

Real Unix accounts, the multi-user local cluster as root, both lanes: the lab (a process as
alice's account, in her folder, as the spawner runs her server) writes data.csv; alice's job,
submitted through flux-restful with her credentials and no working directory, reads it and
writes result.txt; the lab reads it, adds to it and deletes it; bob's job cannot read her
folder ("Permission denied", a failed job), nor can bob's own lab.
"""

import os
import pwd
import stat

import pytest
from lanes import REAL_FLUX
from local_support import api, as_account

from flux_hub.local import LocalCluster
from flux_hub.local.cluster import multi_user_problem

# Accounts of this module's own (other tests use alice and bob at the same time)
ALICE, BOB = "alice-files", "bob-files"
DATA = "sample,value\na,1\nb,2\nc,3\n"


def lab(name, script):
    """What the person's lab does: a process as their account, in their folder."""
    return as_account(name, script, capture_output=True, text=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    assert os.geteuid() == 0, "alice and bob must be Unix accounts of their own: needs root"
    problem = multi_user_problem("flux" if REAL_FLUX else "simulated")
    assert problem is None, problem
    cluster = LocalCluster(
        tmp_path_factory.mktemp("ownership"), users=[ALICE, BOB], nodes=1, multi_user=True
    )
    cluster.start(timeout=120)
    yield cluster
    cluster.stop()
    lab(ALICE, "rm -f data.csv result.txt")


def test_the_lab_and_the_persons_jobs_share_files_and_bobs_job_cannot_read_them(cluster):
    alice, bob = api(cluster, ALICE), api(cluster, BOB)
    account = pwd.getpwnam(ALICE)
    home = account.pw_dir
    info = os.stat(home)
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (account.pw_uid, 0o700)

    # the lab writes data.csv (umask 022: the file is 0644, only the folder keeps it hers)
    wrote = lab(ALICE, f"rm -f data.csv result.txt && umask 022 && printf '{DATA}' > data.csv")
    assert wrote.returncode == 0, wrote.stderr
    assert stat.S_IMODE(os.stat(f"{home}/data.csv").st_mode) == 0o644

    # alice's job, no working directory: it starts in her folder, reads data.csv, writes
    # result.txt
    job, output = alice.run("sh -c 'pwd && tail -n +2 data.csv | sort -r > result.txt'")
    assert (job["result"], output.strip()) == ("COMPLETED", home), output
    written = os.stat(f"{home}/result.txt")
    assert written.st_uid == account.pw_uid == os.stat(f"{home}/data.csv").st_uid

    # the lab reads it, writes to it and deletes it
    done = lab(ALICE, "cat result.txt && echo d,4 >> result.txt && wc -l < result.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "c,3\nb,2\na,1\n4\n"
    deleted = lab(ALICE, "rm result.txt")
    assert deleted.returncode == 0, deleted.stderr
    assert not os.path.exists(f"{home}/result.txt")

    # bob's job cannot read her folder, nor list it
    job, output = bob.run(f"sh -c 'cat {home}/data.csv; ls {home}'")
    assert job["result"] == "FAILED" and job["returncode"] != 0, job
    assert output.splitlines() == [
        f"cat: {home}/data.csv: Permission denied",
        f"ls: cannot open directory '{home}': Permission denied",
    ], output
    # nor can it start there: Flux's job shell, as bob, goes to /tmp instead
    job, output = bob.run("sh -c 'pwd; cat data.csv'", workdir=home)
    assert job["result"] == "FAILED", job
    assert sorted(output.splitlines()) == ["/tmp", "cat: data.csv: No such file or directory"]
    # nor bob's own lab
    peek = lab(BOB, f"cat {home}/data.csv")
    assert peek.returncode != 0 and "Permission denied" in peek.stderr
    assert "a,1" not in peek.stdout
