"""The %%flux cell magic in a real IPython shell, running real jobs on the local MiniCluster."""

import time

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from flux_hub.jobnames import JobNames
from flux_hub.notebook import api
from flux_hub.notebook.magic import FluxCellError


@pytest.fixture
def shell(cluster, tmp_path, monkeypatch):
    """An IPython shell with the credentials the hub puts in a kernel's environment."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("FLUX_RESTFUL_HOST", cluster.url)
    monkeypatch.setenv("FLUX_USER", "alice")
    monkeypatch.setenv("FLUX_TOKEN", cluster.passwords["alice"])
    monkeypatch.setenv("FLUX_SECRET_KEY", cluster.secret_key)
    monkeypatch.setattr(api, "_current", None)
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    shell.run_line_magic("load_ext", "flux_hub")
    yield shell
    InteractiveShell.clear_instance()


def run(shell, cell):
    result = shell.run_cell(cell)
    return result.result, result.error_in_exec


def test_a_cell_runs_as_a_batch_script_and_its_output_is_shown(shell, cluster, capsys):
    job, error = run(
        shell,
        "%%flux --nodes 1 --tasks 2 --time 1m --name greeting --wait\n"
        "who='it'\"'\"'s me'\n"
        'echo "hello, $who"\n'
        "cat <<EOF\n"
        "a heredoc line\n"
        "EOF\n",
    )
    assert error is None
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"Submitted job {job.f58} (greeting) as alice to {cluster.url}"
    assert sorted(lines[1:5]) == ["a heredoc line"] * 2 + ["hello, it's me"] * 2
    assert f"Job {job.f58} completed." in lines
    assert job.info["ntasks"] == 2 and job.info["nnodes"] == 1
    assert job.name == "greeting"
    assert JobNames().get(job.id) == "greeting"  # what the panel shows


def test_without_wait_the_kernel_is_free_at_once(shell, capsys):
    started = time.monotonic()
    job, error = run(shell, "%%flux\nsleep 30\n")
    assert error is None and time.monotonic() - started < 10
    # Without --name the job is named after the cell (and its notebook, in JupyterLab)
    assert f"Submitted job {job.f58} (cell [1]) as alice" in capsys.readouterr().out
    assert not job.done
    job.cancel()
    assert job.wait(timeout=60).result == "CANCELED"


def test_a_failing_script_says_so(shell, capsys):
    job, error = run(shell, "%%flux --wait\necho before\nexit 3\n")
    assert error is None
    out, err = capsys.readouterr()
    assert "before\n" in out
    assert f"Job {job.f58} FAILED (exit code 3)" in err


def test_the_time_limit_stops_the_job(shell, capsys):
    job, error = run(shell, "%%flux -t 1s --wait\nsleep 30\n")
    assert error is None
    assert job.result == "TIMEOUT"
    assert f"Job {job.f58} TIMEOUT" in capsys.readouterr().err


def test_cwd_sets_the_working_directory(shell, tmp_path, capsys):
    job, error = run(shell, f"%%flux --cwd {tmp_path} --wait\npwd\n")
    assert error is None
    assert job.output() == f"{tmp_path}\n"


@pytest.mark.parametrize(
    "line,message",
    [
        ("%%flux --time soon", "'soon' is not a time limit"),
        ("%%flux --nodes 5", "The server only has 2 nodes, you requested 5"),
    ],
)
def test_bad_options_are_a_message_without_a_traceback(shell, capsys, line, message):
    job, error = run(shell, f"{line}\nhostname\n")
    assert isinstance(error, FluxCellError)
    assert message in str(error)
    shown = capsys.readouterr()
    assert message in shown.out + shown.err
    assert "Traceback" not in shown.out + shown.err


def test_an_empty_cell_is_refused(shell):
    _, error = run(shell, "%%flux --wait\n\n")
    assert isinstance(error, FluxCellError)
    assert "The cell is empty" in str(error)


def test_load_ext_flux_hub_notebook_works_too():
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    try:
        shell.run_line_magic("load_ext", "flux_hub.notebook")
        assert "flux" in shell.magics_manager.magics["cell"]
    finally:
        InteractiveShell.clear_instance()
