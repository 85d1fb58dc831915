"""The panel's submit sends the cluster's path of a lab folder; the detail shows the lab's again.

The server is started with FLUX_HUB_PATHS mapping a "lab" folder (the Jupyter server's root, as
/home/jovyan is in a z2jh pod) to a "cluster" folder, as the hub maps /home/jovyan to
/shared/home/alice on Kubernetes. A job the panel submits in a lab folder must really run in the
cluster's (its output is its `pwd`); a folder outside is refused before anything is submitted.
"""

import pytest
from serverext_support import server_config

NO_STORAGE = (
    "The Flux cluster cannot see your files: no shared storage is configured "
    "(see examples/kubernetes/README.md, 'Your files on the cluster')."
)


@pytest.fixture
def sides(tmp_path):
    """(lab, cluster) folders, each with analysis/run1 in it."""
    lab, shared = tmp_path / "lab", tmp_path / "cluster"
    for side in (lab, shared):
        (side / "analysis" / "run1").mkdir(parents=True)
    return lab, shared


@pytest.fixture
def paths_text(sides):
    """FLUX_HUB_PATHS of the server (None: unset). Tests parametrize it to change it."""
    lab, shared = sides
    return f"{lab}={shared}"


@pytest.fixture
def jp_root_dir(sides):
    return sides[0]  # the file browser shows the lab folder


@pytest.fixture
def jp_server_config(cluster, paths_text, monkeypatch):
    if paths_text is None:
        monkeypatch.delenv("FLUX_HUB_PATHS", raising=False)
    else:
        monkeypatch.setenv("FLUX_HUB_PATHS", paths_text)  # as the hub hands it to the server
    return server_config(cluster, "alice")


async def output(api, job_id):
    code, data = await api.get("jobs", str(job_id), "output")
    assert code == 200, data
    return "".join(data["output"])


async def test_a_lab_folder_runs_in_the_clusters_and_the_detail_shows_the_labs(api, sides):
    lab, shared = sides
    job_id = await api.submit(command="pwd", workdir=str(lab / "analysis"))
    job = await api.wait(job_id)
    assert await output(api, job_id) == f"{shared / 'analysis'}\n"
    assert job["cwd"] == str(shared / "analysis")  # Flux's own record, as it was
    assert (job["lab_workdir"], job["browser_path"]) == (str(lab / "analysis"), "analysis")

    # A folder relative to the file browser's root, and the root itself
    job_id = await api.submit(command="pwd", workdir="analysis/run1")
    job = await api.wait(job_id)
    assert await output(api, job_id) == f"{shared / 'analysis' / 'run1'}\n"
    assert (job["lab_workdir"], job["browser_path"]) == (
        str(lab / "analysis" / "run1"),
        "analysis/run1",
    )
    job_id = await api.submit(command="pwd", workdir=str(lab) + "/")
    job = await api.wait(job_id)
    assert await output(api, job_id) == f"{shared}\n"
    assert (job["lab_workdir"], job["browser_path"]) == (str(lab), "")


@pytest.mark.parametrize("workdir", ["/tmp", "../elsewhere", "/"])
async def test_a_folder_the_cluster_cannot_see_is_400_in_one_line_and_no_job(
    api, client_for, sides, workdir
):
    lab, shared = sides
    before = len(client_for("alice").list_jobs())
    code, error = await api.post("jobs", body={"command": "pwd", "workdir": workdir})
    assert code == 400
    shown = workdir if workdir.startswith("/") else str(lab.parent / "elsewhere")
    assert error == {
        "message": f"{shown} is not in a folder the Flux cluster can see: only {lab} "
        f"(there: {shared}).",
        "reasons": [],
        "field": "workdir",
    }
    assert len(client_for("alice").list_jobs()) == before


@pytest.mark.parametrize("paths_text", [""])
async def test_no_shared_storage(api, client_for, sides):
    lab, _ = sides
    before = len(client_for("alice").list_jobs())
    code, error = await api.post("jobs", body={"command": "pwd", "workdir": str(lab)})
    assert code == 400
    assert error == {"message": NO_STORAGE, "reasons": [], "field": "workdir"}
    assert len(client_for("alice").list_jobs()) == before
    # No working directory: the job goes, to the person's folder on the cluster
    job = await api.wait(await api.submit(command="pwd"))
    assert job["result"] == "COMPLETED"
    assert (job["lab_workdir"], job["browser_path"]) == (None, None)


async def test_a_job_in_a_folder_the_lab_cannot_see(api, client_for, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    job_id = client_for("alice").submit("pwd", workdir=str(elsewhere))  # not from the panel
    job = await api.wait(job_id)
    assert job["cwd"] == str(elsewhere)
    assert (job["lab_workdir"], job["browser_path"]) == (None, None)


@pytest.mark.parametrize("paths_text", [None])
async def test_one_filesystem(api, sides, tmp_path):
    lab, _ = sides
    job_id = await api.submit(command="pwd", workdir="analysis")
    job = await api.wait(job_id)
    assert await output(api, job_id) == f"{lab / 'analysis'}\n"
    assert (job["lab_workdir"], job["browser_path"]) == (str(lab / "analysis"), "analysis")
    job = await api.wait(await api.submit(command="pwd", workdir=str(tmp_path)))
    assert (job["lab_workdir"], job["browser_path"]) == (str(tmp_path), None)  # above the root


def test_a_map_that_is_not_one_stops_the_extension_in_one_line(monkeypatch):
    from traitlets import TraitError

    from flux_hub.serverextension.config import FluxHub

    monkeypatch.setenv("FLUX_HUB_PATHS", "home=/shared")
    with pytest.raises(TraitError) as refused:
        FluxHub().paths  # noqa: B018 (read when the extension loads)
    assert str(refused.value) == (
        "FluxHub.paths (or $FLUX_HUB_PATHS): FLUX_HUB_PATHS: a lab folder must be an absolute "
        "path, not 'home'"
    )
    monkeypatch.setenv("FLUX_HUB_PATHS", "/home/jovyan=/shared/home/alice")
    assert FluxHub().paths == "/home/jovyan=/shared/home/alice"
    monkeypatch.delenv("FLUX_HUB_PATHS")
    assert FluxHub().paths is None
