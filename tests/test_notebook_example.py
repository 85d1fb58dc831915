"""The example notebook runs top to bottom in a real kernel on the local MiniCluster."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebooks" / "flux-jobs.ipynb"


@pytest.fixture
def executed(cluster, tmp_path, monkeypatch):
    # The environment the hub gives a single-user server, and so its kernels
    monkeypatch.setenv("FLUX_RESTFUL_HOST", cluster.url)
    monkeypatch.setenv("FLUX_USER", "alice")
    monkeypatch.setenv("FLUX_TOKEN", cluster.passwords["alice"])
    monkeypatch.setenv("FLUX_SECRET_KEY", cluster.secret_key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    return {cell.metadata["tags"][0]: cell for cell in notebook.cells if cell.cell_type == "code"}


def text(cell):
    """What the cell printed, and its value as text."""
    parts = []
    for output in cell.outputs:
        assert output.output_type != "error", output
        if output.output_type == "stream":
            parts.append(output.text)
        elif "text/plain" in output.get("data", {}):
            parts.append(output.data["text/plain"])
    return "".join(parts)


def html(cell):
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)


def test_the_example_notebook_runs_top_to_bottom(executed, cluster):
    assert text(executed["connect"]).startswith(f"alice on {cluster.url}, nodes: [")
    assert '<table class="flux-hub-jobs">' in html(executed["submit"])
    assert ">first job<" in html(executed["submit"])

    wait = text(executed["wait"]).splitlines()
    assert wait[0] == "COMPLETED 0"
    assert wait[1].startswith("hello from ") and wait[2] == "bye"

    assert text(executed["stream"]) == "step 1\nstep 2\nstep 3\n"

    cancel = text(executed["cancel"]).splitlines()
    assert cancel[0].startswith("Job ") and " is still " in cancel[0]
    assert cancel[1:] == ["Job is requested to cancel.", "CANCELED"]

    magic = text(executed["magic"]).splitlines()
    assert magic[0].startswith("Submitted job ") and magic[0].endswith(
        f"(cell-job) as alice to {cluster.url}"
    )
    assert [line for line in magic if line.startswith("a task on ")] == [magic[1]] * 2
    assert magic[-2].endswith("completed.")
    assert text(executed["background-output"]) == "done later\n\n"

    table = html(executed["jobs"])
    for name in ("first job", "steps", "too slow", "cell-job", "background"):
        assert f">{name}<" in table
