"""`flux-hub submit` and `flux-hub job` translate working directories (flux_hub/paths.py).

The "lab" and the "cluster" are two folders of this machine, mapped by FLUX_HUB_PATHS as the hub
maps /home/jovyan to /shared/home/alice on Kubernetes: the command runs in the lab folder, and the
job must run in the cluster folder (its `pwd` says where it ran).
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.cluster

NO_STORAGE = (
    "flux-hub: the Flux cluster cannot see your files: no shared storage is configured "
    "(see examples/kubernetes/README.md, 'Your files on the cluster')\n"
)


@pytest.fixture
def sides(tmp_path):
    """(lab, cluster): the lab folder with a subfolder "analysis", the same in the cluster."""
    lab, cluster = tmp_path / "lab", tmp_path / "cluster"
    for side in (lab, cluster):
        (side / "analysis" / "run1").mkdir(parents=True)
    return lab, cluster


@pytest.fixture
def env(cluster, tmp_path, sides):
    lab, shared = sides
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    environ.update(
        FLUX_RESTFUL_HOST=cluster.url,
        FLUX_USER="alice",
        FLUX_TOKEN=cluster.passwords["alice"],
        FLUX_SECRET_KEY=cluster.secret_key,
        FLUX_HUB_PATHS=f"{lab}={shared}",
        HOME=str(tmp_path),
    )
    return environ


def flux_hub(env, *args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "flux_hub.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def job_count(env):
    done = flux_hub(env, "jobs", "-a", "--json")
    assert done.returncode == 0, done.stderr
    return len(json.loads(done.stdout))


def test_submit_runs_in_the_clusters_path_of_the_current_directory(env, sides):
    lab, shared = sides
    done = flux_hub(env, "submit", "--wait", "pwd", cwd=lab / "analysis")
    assert (done.returncode, done.stdout) == (0, f"{shared / 'analysis'}\n"), done.stderr
    # --cwd as the terminal sees it: relative to the current directory, or absolute
    done = flux_hub(env, "submit", "--wait", "--cwd", "run1", "pwd", cwd=lab / "analysis")
    assert (done.returncode, done.stdout) == (0, f"{shared / 'analysis' / 'run1'}\n")
    done = flux_hub(env, "submit", "--wait", "--cwd", str(lab), "pwd", cwd="/")
    assert (done.returncode, done.stdout) == (0, f"{shared}\n")


def test_job_shows_the_working_directory_as_the_terminal_sees_it(env, sides):
    lab, shared = sides
    job = flux_hub(env, "submit", "--cwd", "analysis/run1", "true", cwd=lab).stdout.strip()
    flux_hub(env, "logs", "-f", job)
    shown = flux_hub(env, "job", job)
    assert shown.returncode == 0, shown.stderr
    rows = dict(line.split(None, 1) for line in shown.stdout.splitlines() if " " in line)
    assert rows["workdir"].strip() == str(lab / "analysis" / "run1")
    raw = json.loads(flux_hub(env, "job", "--json", job).stdout)
    assert raw["cwd"] == str(shared / "analysis" / "run1")  # what Flux itself has
    # A folder the terminal cannot see is shown as the cluster's, said so
    other = dict(env, FLUX_HUB_PATHS=f"{lab / 'x'}={shared / 'x'}")
    shown = flux_hub(other, "job", job).stdout
    assert f"workdir    {shared / 'analysis' / 'run1'} (on the cluster)\n" in shown


def test_a_folder_the_cluster_cannot_see_is_refused_and_nothing_is_submitted(env, sides):
    lab, shared = sides
    before = job_count(env)
    done = flux_hub(env, "submit", "--cwd", "/tmp", "true", cwd=lab)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"flux-hub: /tmp is not in a folder the Flux cluster can see: only {lab} "
        f"(there: {shared})\n"
    )
    # The current directory outside: the message says to name one
    done = flux_hub(env, "submit", "true", cwd="/tmp")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"flux-hub: the current directory /tmp is not in a folder the Flux cluster can see: "
        f"only {lab} (there: {shared}); give the job's working directory with --cwd\n"
    )
    assert job_count(env) == before


def test_with_no_shared_storage(env, sides):
    lab, _ = sides
    nothing = dict(env, FLUX_HUB_PATHS="")
    before = job_count(nothing)
    done = flux_hub(nothing, "submit", "--cwd", str(lab), "true", cwd=lab)
    assert (done.returncode, done.stderr, done.stdout) == (2, NO_STORAGE, "")
    assert job_count(nothing) == before
    # No --cwd: the job goes without a working directory, to the person's folder on the cluster
    done = flux_hub(nothing, "submit", "--wait", "pwd", cwd=lab)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and not done.stdout.startswith(str(lab))
    assert job_count(nothing) == before + 1


def test_one_filesystem_runs_in_the_current_directory(env, sides):
    lab, _ = sides
    same = {k: v for k, v in env.items() if k != "FLUX_HUB_PATHS"}
    done = flux_hub(same, "submit", "--wait", "pwd", cwd=lab / "analysis")
    assert (done.returncode, done.stdout) == (0, f"{lab / 'analysis'}\n"), done.stderr
