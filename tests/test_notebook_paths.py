"""The notebook API and %%flux send working directories the cluster's way (flux_hub/paths.py).

The "lab" and the "cluster" are two folders of this machine mapped by FLUX_HUB_PATHS, as the hub
maps /home/jovyan to /shared/home/alice on Kubernetes: the kernel works in the lab folder, and a
job must run in the cluster folder (its `pwd` says where it ran).
"""

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from flux_hub.notebook import api, connect
from flux_hub.notebook.magic import FluxCellError
from flux_hub.paths import ClusterPath, NoSharedStorage, PathNotShared

pytestmark = pytest.mark.cluster

NO_STORAGE = (
    "the Flux cluster cannot see your files: no shared storage is configured "
    "(see examples/kubernetes/README.md, 'Your files on the cluster')"
)


@pytest.fixture
def sides(tmp_path, monkeypatch):
    """(lab, cluster), mapped in FLUX_HUB_PATHS; the kernel's current directory is lab/analysis."""
    lab, shared = tmp_path / "lab", tmp_path / "cluster"
    for side in (lab, shared):
        (side / "analysis" / "run1").mkdir(parents=True)
    monkeypatch.setenv("FLUX_HUB_PATHS", f"{lab}={shared}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(lab / "analysis")
    return lab, shared


@pytest.fixture
def flux(cluster, sides):
    with connect(cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key) as session:
        yield session


def count(flux):
    return len(flux.client.list_jobs())


def test_a_job_runs_in_the_clusters_path_of_the_kernels_directory(flux, sides):
    lab, shared = sides
    job = flux.submit("pwd").wait(timeout=60)
    assert job.output() == f"{shared / 'analysis'}\n"
    assert job.workdir == str(shared / "analysis")
    assert job.lab_workdir == str(lab / "analysis")
    job = flux.submit("pwd", workdir="run1").wait(timeout=60)
    assert job.output() == f"{shared / 'analysis' / 'run1'}\n"
    assert flux.job(job.id).lab_workdir == str(lab / "analysis" / "run1")
    job = flux.submit("pwd", workdir=lab).wait(timeout=60)  # a Path is a path too
    assert job.output() == f"{shared}\n"
    # A folder named the cluster's way on purpose
    job = flux.submit("pwd", workdir=ClusterPath(shared / "analysis")).wait(timeout=60)
    assert job.output() == f"{shared / 'analysis'}\n"


def test_a_folder_the_cluster_cannot_see_is_refused_before_submitting(flux, sides, monkeypatch):
    lab, shared = sides
    before = count(flux)
    with pytest.raises(PathNotShared) as refused:
        flux.submit("true", workdir="/tmp")
    assert str(refused.value) == (
        f"/tmp is not in a folder the Flux cluster can see: only {lab} (there: {shared})"
    )
    monkeypatch.chdir("/tmp")
    with pytest.raises(PathNotShared) as refused:
        flux.submit("true")
    assert str(refused.value) == (
        f"the current directory /tmp is not in a folder the Flux cluster can see: only {lab} "
        f"(there: {shared}); give the job's working directory with workdir="
    )
    assert count(flux) == before


def test_no_shared_storage(cluster, sides, monkeypatch):
    lab, _ = sides
    with connect(
        cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key, paths=""
    ) as flux:
        before = count(flux)
        with pytest.raises(NoSharedStorage) as refused:
            flux.submit("true", workdir=lab)
        assert str(refused.value) == NO_STORAGE
        assert count(flux) == before
        # No workdir: none is sent, the job starts in the person's folder on the cluster
        job = flux.submit("pwd").wait(timeout=60)
        assert job.result == "COMPLETED"
        assert not job.output().startswith(str(lab))
        assert job.lab_workdir is None


@pytest.fixture
def shell(cluster, sides, tmp_path, monkeypatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("FLUX_RESTFUL_HOST", cluster.url)
    monkeypatch.setenv("FLUX_USER", "alice")
    monkeypatch.setenv("FLUX_TOKEN", cluster.passwords["alice"])
    monkeypatch.setenv("FLUX_SECRET_KEY", cluster.secret_key)
    monkeypatch.setattr(api, "_current", None)
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    shell.run_line_magic("load_ext", "flux_hub")
    yield shell
    InteractiveShell.clear_instance()


def test_the_magic_runs_in_the_clusters_path(shell, sides, capsys):
    lab, shared = sides
    result = shell.run_cell("%%flux --wait\npwd\n")
    assert result.error_in_exec is None
    assert result.result.output() == f"{shared / 'analysis'}\n"
    result = shell.run_cell("%%flux --cwd run1 --wait\npwd\n")
    assert result.error_in_exec is None
    assert result.result.output() == f"{shared / 'analysis' / 'run1'}\n"


def test_the_magic_refuses_a_folder_outside_in_one_line(shell, sides, monkeypatch, capsys):
    lab, shared = sides
    before = count(api.current())
    result = shell.run_cell("%%flux --cwd /tmp\ntrue\n")
    assert isinstance(result.error_in_exec, FluxCellError)
    assert str(result.error_in_exec) == (
        f"/tmp is not in a folder the Flux cluster can see: only {lab} (there: {shared})"
    )
    monkeypatch.chdir("/tmp")
    result = shell.run_cell("%%flux\ntrue\n")
    assert str(result.error_in_exec).endswith("give the job's working directory with --cwd")
    shown = capsys.readouterr()
    assert "Traceback" not in shown.out + shown.err
    assert count(api.current()) == before
