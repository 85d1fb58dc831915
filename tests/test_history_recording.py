"""Every job submitted through flux-hub goes into the person's job history when it is submitted,
with where it came from (issue 26.2): the notebook API, ``%%flux`` and ``flux-hub submit`` here
(the panel's in tests/serverext/test_serverext_history_recording.py). A history that cannot be
written never fails the submit: the job runs and one warning line says so."""

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from flux_hub import jobid
from flux_hub.history import History
from flux_hub.notebook import api

SECRET = "s3cret-value"


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """The person's data folder (their job names and history), and the environment the hub
    gives a kernel or a terminal."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setattr(api, "_current", None)
    return tmp_path / "data" / "flux-hub"


@pytest.fixture
def hub_env(cluster, monkeypatch, data_home):
    monkeypatch.setenv("FLUX_RESTFUL_HOST", cluster.url)
    monkeypatch.setenv("FLUX_USER", "alice")
    monkeypatch.setenv("FLUX_TOKEN", cluster.passwords["alice"])
    monkeypatch.setenv("FLUX_SECRET_KEY", cluster.secret_key)


def history_record(data_home, job_id):
    with History(names_path=data_home / "job-names.json", account="alice") as history:
        return history.get(job_id)


def nothing_secret_stored(data_home):
    """No file of the person's data folder holds the environment's value (the database, its
    write-ahead log, the name files)."""
    for path in data_home.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path


def test_a_notebook_api_job_is_recorded_with_its_notebook(
    hub_env, data_home, tmp_path, cluster, monkeypatch
):
    monkeypatch.setenv("JPY_SESSION_NAME", "work/analysis.ipynb")
    workdir = tmp_path / "run"
    workdir.mkdir()
    started = time.time()
    with api.connect() as flux:
        job = flux.submit(
            ["python3", "-c", "print(1)"],
            name="walk-steps",
            workdir=str(workdir),
            num_tasks=2,
            runtime="1m",
            envars={"API_TOKEN": SECRET},
        )
    record = history_record(data_home, job.id)
    assert record["origin"] == {
        "kind": "notebook",
        "path": "work/analysis.ipynb",
        "cell": None,
        "command": None,
    }
    assert record["name"] == "walk-steps"
    assert record["command"] == "python3 -c 'print(1)'"
    assert record["cluster"] == cluster.url and record["account"] == "alice"
    assert record["workdir"] == record["lab_workdir"] == str(workdir)  # one filesystem
    assert record["request"]["num_tasks"] == 2 and record["request"]["runtime"] == 60
    assert record["env_names"] == ["API_TOKEN"] and "envars" not in record["request"]
    assert record["status"] == "ACTIVE"
    assert started - 1 <= record["submitted"] <= time.time()
    nothing_secret_stored(data_home)


def test_a_notebook_api_job_outside_jupyterlab_has_no_notebook(hub_env, data_home):
    with api.connect() as flux:
        job = flux.submit("true")
    assert history_record(data_home, job.id)["origin"]["kind"] == "notebook"
    assert history_record(data_home, job.id)["origin"]["path"] is None


@pytest.fixture
def shell(hub_env, tmp_path, monkeypatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JPY_SESSION_NAME", "work/analysis.ipynb")
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    shell.run_line_magic("load_ext", "flux_hub")
    yield shell
    InteractiveShell.clear_instance()


def test_a_flux_cell_is_recorded_with_its_notebook_and_cell(shell, data_home, capsys):
    shell.run_cell("x = 1", store_history=True)  # In [1]; the %%flux cell is In [2]
    result = shell.run_cell(
        f"%%flux -n 1 --env API_TOKEN={SECRET}\necho hello\n", store_history=True
    )
    assert result.error_in_exec is None
    job = result.result
    record = history_record(data_home, job.id)
    assert record["origin"] == {
        "kind": "magic",
        "path": "work/analysis.ipynb",
        "cell": "2",
        "command": None,
    }
    assert record["name"] == "analysis.ipynb [2]"
    assert record["command"] == "bash -c 'echo hello\n'"
    assert record["env_names"] == ["API_TOKEN"]
    assert record["workdir"] == record["lab_workdir"] == os.getcwd()
    nothing_secret_stored(data_home)


def flux_hub(cluster, home, *args, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_", "XDG_"))}
    environ.update(
        FLUX_RESTFUL_HOST=cluster.url,
        FLUX_USER="alice",
        FLUX_TOKEN=cluster.passwords["alice"],
        FLUX_SECRET_KEY=cluster.secret_key,
        HOME=str(home),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "flux_hub.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        cwd=home,
    )


def test_a_terminal_job_is_recorded_with_its_command_line(cluster, tmp_path):
    done = flux_hub(
        cluster,
        tmp_path,
        "submit",
        "--name",
        "walk-bash",
        "--env",
        f"API_TOKEN={SECRET}",
        f"--env=OTHER={SECRET}",
        "--",
        "sh",
        "-c",
        "echo 'a b'",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    job_id = jobid.parse(done.stdout.strip())
    data_home = Path(tmp_path) / ".local" / "share" / "flux-hub"
    record = history_record(data_home, job_id)
    assert record["origin"] == {
        "kind": "cli",
        "path": None,
        "cell": None,
        "command": "flux-hub submit --name walk-bash --env 'API_TOKEN=…' '--env=OTHER=…' -- "
        "sh -c 'echo '\"'\"'a b'\"'\"''",
    }
    assert record["command"] == "sh -c 'echo '\"'\"'a b'\"'\"''"
    assert record["name"] == "walk-bash"
    assert record["env_names"] == ["API_TOKEN", "OTHER"]
    assert record["workdir"] == str(tmp_path)
    nothing_secret_stored(data_home)


def test_a_job_waited_on_in_a_notebook_or_a_terminal_gets_its_end(
    cluster, hub_env, data_home, tmp_path
):
    """Whoever sees a job end records it: a kernel's wait and ``flux-hub submit --wait``, not
    only the panel's refresh (a person who works only in terminals has their ends too)."""
    with api.connect() as flux:
        job = flux.submit(["sh", "-c", "exit 3"], name="fails").wait(timeout=60)
    record = history_record(data_home, job.id)
    assert (record["status"], record["exit_code"], record["state"]) == ("FAILED", 3, "INACTIVE")
    assert record["ended"] and record["nodes"]

    home = tmp_path / "terminal-home"
    home.mkdir()
    done = flux_hub(cluster, home, "submit", "--wait", "--", "true")
    assert done.returncode == 0, done.stderr
    job_id = jobid.parse(re.search(r"job (\S+) submitted", done.stderr).group(1))
    terminal = home / ".local" / "share" / "flux-hub"
    assert history_record(terminal, job_id)["status"] == "COMPLETED"


def test_a_history_that_cannot_be_written_does_not_fail_a_notebook_submit(
    hub_env, data_home, caplog
):
    data_home.mkdir(parents=True)
    (data_home / "history.sqlite3").mkdir()  # in the way, even for root
    caplog.set_level(logging.WARNING)
    with api.connect() as flux:
        job = flux.submit("true", name="still runs")
        assert job.wait(timeout=60).result == "COMPLETED"
        assert job.name == "still runs"
    lines = [r.getMessage() for r in caplog.records if "job history" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0], lines
    assert lines[0].startswith(f"flux-hub: job {job.id} is not in your job history: ")


def test_a_history_that_cannot_be_written_does_not_fail_a_terminal_submit(cluster, tmp_path):
    data_home = tmp_path / ".local" / "share" / "flux-hub"
    data_home.mkdir(parents=True)
    (data_home / "history.sqlite3").write_bytes(b"not a database, " * 100)
    done = flux_hub(cluster, tmp_path, "submit", "--wait", "--", "echo", "ran")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ran\n"
    (warning,) = [line for line in done.stderr.splitlines() if "job history" in line]
    assert warning.startswith("flux-hub: job ") and "is not in your job history" in warning


def test_a_busy_history_delays_a_submit_at_most_its_timeout(hub_env, data_home, caplog):
    with api.connect() as flux:
        flux.submit("true")  # the history exists
        with History(names_path=data_home / "job-names.json") as other:
            other._db.execute("BEGIN IMMEDIATE")  # another writer holds it
            started = time.monotonic()
            job = flux.submit("true")
            took = time.monotonic() - started
            other._db.execute("ROLLBACK")
    assert took < api.RECORD_TIMEOUT + 3
    assert job.wait(timeout=60).result == "COMPLETED"
    assert any(f"job {job.id} is not in your job history" in r.getMessage() for r in caplog.records)


def test_environment_values_are_kept_only_when_the_person_asks(cluster, shell, data_home, tmp_path):
    """--keep-env (%%flux, flux-hub submit) and keep_env=True (the notebook API) keep the
    values, so the job can run again with them; a job run again keeps them as its first did."""
    with api.connect() as flux:
        plain = flux.submit("true", envars={"API_TOKEN": SECRET})
        kept = flux.submit("true", envars={"API_TOKEN": SECRET}, keep_env=True)
        again = flux.resubmit(kept)
    cell = shell.run_cell(f"%%flux --keep-env --env API_TOKEN={SECRET}\ntrue\n").result
    home = tmp_path / "terminal-home"
    home.mkdir()
    done = flux_hub(cluster, home, "submit", "--keep-env", "--env", f"A={SECRET}", "true")
    assert done.returncode == 0, done.stderr
    terminal = history_record(home / ".local/share/flux-hub", jobid.parse(done.stdout.strip()))

    assert "envars" not in history_record(data_home, plain.id)["request"]
    for record in (history_record(data_home, job.id) for job in (kept, again, cell)):
        assert record["request"]["envars"] == {"API_TOKEN": SECRET}
        assert record["form"]["envars"] == {"API_TOKEN": SECRET} and record["env_values_kept"]
    assert terminal["request"]["envars"] == {"A": SECRET}
