"""The notebook API's ``flux.history()`` and ``flux.resubmit()`` (issue 26.4).

``history()`` is a pandas DataFrame when pandas can be imported, else a HistoryList that shows
itself as a table (pandas is optional for people; the tests install it, and hide it for the
table). ``resubmit()`` sends the request first sent again, exactly: it is caught at the client
(the query parameters and environment restful.protocol builds), and run for real once against
the local cluster.
"""

import sys
import time
from datetime import datetime

import pytest
from recorder import HOST, Recorder

from flux_hub import jobid
from flux_hub.history import History, HistoryError
from flux_hub.jobnames import JobNames
from flux_hub.jobrequest import JobRequestError
from flux_hub.notebook import api, connect
from flux_hub.paths import PathMap


@pytest.fixture
def lab(tmp_path, monkeypatch):
    folder = tmp_path / "lab"
    (folder / "run1").mkdir(parents=True)
    (folder / "other").mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("JPY_SESSION_NAME", str(folder / "analysis.ipynb"))
    return folder


@pytest.fixture
def flux(tmp_path, lab):
    names = JobNames(tmp_path / "data" / "job-names.json")
    with api.FluxCluster(Recorder(), names, PathMap.parse(f"{lab}=/shared/alice")) as cluster:
        yield cluster


@pytest.fixture
def no_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError


def records_of(flux):
    with History(names_path=flux.names.path, account="alice") as history:
        return history.search()["records"]


def test_resubmit_sends_the_first_request_again_and_records_where_it_came_from(flux, lab):
    job = flux.submit(
        ["sh", "-c", "echo $PWD"],
        name="walk-steps",
        num_nodes=1,
        num_tasks=2,
        cores_per_task=2,
        runtime="1.5m",
        workdir="run1",
        exclusive=True,
        option_flags={"cpu-affinity": "per-task"},
    )
    again = flux.resubmit(job)
    assert isinstance(again, api.Job) and again.id != job.id
    first, resent = flux.client.sent
    assert resent == first and dict(first[0])["workdir"] == "/shared/alice/run1"
    assert flux.names.get(again.id) == "walk-steps"
    rerun, original = records_of(flux)
    assert (rerun["id"], rerun["rerun_of"], original["rerun_of"]) == (again.id, job.id, None)
    assert (
        rerun["origin"]
        == original["origin"]
        == {
            "kind": "notebook",
            "path": str(lab / "analysis.ipynb"),
            "cell": None,
            "command": None,
        }
    )
    # by id too, in any of Flux's forms
    assert flux.resubmit(jobid.f58(job.id)).id != again.id
    assert flux.client.sent[2] == first


def test_resubmit_with_overrides(flux):
    job = flux.submit("hostname", num_tasks=2, runtime=300, workdir="run1")
    flux.resubmit(job.id, num_tasks=4, runtime="1h", workdir="other", name="bigger")
    first, resent = (dict(params) for params, _env in flux.client.sent)
    assert {k for k in {*first, *resent} if first.get(k) != resent.get(k)} == {
        "num_tasks",
        "runtime",
        "workdir",
    }
    assert (resent["num_tasks"], resent["runtime"]) == ("4", "3600")
    assert resent["workdir"] == "/shared/alice/other"
    assert flux.names.get(7_000_000_000_000_002) == "bigger"

    with pytest.raises(JobRequestError, match="'num_tasks' must be a whole number of at least 1"):
        flux.resubmit(job, num_tasks=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'tasks'"):
        flux.resubmit(job, tasks=4)
    assert len(flux.client.sent) == 2


def test_a_job_that_cannot_run_again_as_it_was_says_why(flux):
    job = flux.submit("env", envars={"API_TOKEN": "s3cret"})
    with pytest.raises(HistoryError) as refused:
        flux.resubmit(job)
    assert str(refused.value) == (
        f"job {job.f58}'s environment values were not kept (API_TOKEN): give them "
        "(--env API_TOKEN=…) or use Edit and run"
    )
    flux.resubmit(job, envars={"API_TOKEN": "again"})
    assert flux.client.sent[1][1] == {"API_TOKEN": "again"}
    with pytest.raises(HistoryError, match="^job ƒ2Vj1dB9 is not in your job history$"):
        flux.resubmit("ƒ2Vj1dB9")
    assert len(flux.client.sent) == 2


def _record(flux, job_id, ago, **kwargs):
    kwargs.setdefault("request", {"command": "true"})
    kwargs.setdefault("origin_kind", "notebook")
    with History(names_path=flux.names.path, account="alice") as history:
        history.record_submitted(job_id, cluster=HOST, submitted=time.time() - ago, **kwargs)


def time_shown(hours_ago):
    """The date a record made ``hours_ago`` shows (local time, as the table shows it)."""
    return datetime.fromtimestamp(time.time() - hours_ago * 3600).strftime("%Y-%m-%d")


def test_history_without_pandas_is_a_table(flux, no_pandas):
    empty = flux.history()
    assert isinstance(empty, api.HistoryList) and repr(empty) == "No jobs in your history."
    assert "No jobs in your history." in empty._repr_html_()

    _record(flux, 1000, 4 * 3600, origin_path="/home/alice/work/fit.ipynb")
    _record(flux, 1001, 3 * 3600, name="old <one>", origin_kind="panel")
    _record(
        flux,
        1002,
        600,
        name="analysis.ipynb [3]",
        request={"command": "bash -c 'echo " + "x" * 80 + "'"},
        origin_kind="magic",
        origin_path="analysis.ipynb",
        origin_cell=3,
    )
    with History(names_path=flux.names.path, account="alice") as history:
        history.record_gone(1002, cluster=HOST)
    table = flux.history()
    assert [r["id"] for r in table] == [1002, 1001, 1000]
    header, newest, oldest, notebook = repr(table).splitlines()
    assert notebook.split()[:4] == [jobid.f58(1000), "ACTIVE", "fit.ipynb", time_shown(4)]
    assert table[2]["origin"]["path"] == "/home/alice/work/fit.ipynb"  # the record: whole
    assert header.split() == ["id", "name", "status", "exit", "origin", "submitted", "command"]
    assert newest.startswith(f"{jobid.f58(1002)}  analysis.ipynb [3]  cluster gone")
    assert newest.endswith("x" * 33 + "…")  # a long command is cut in the text table
    assert oldest.split()[1:5] == ["old", "<one>", "ACTIVE", "panel"]
    page = table._repr_html_()
    assert page.startswith('<table class="flux-hub-history">')
    assert "old &lt;one&gt;" in page and "x" * 80 in page  # escaped, and whole
    assert '<td class="flux-status">cluster gone</td>' in page

    assert [r["id"] for r in flux.history(since="2h")] == [1002]
    assert [r["id"] for r in flux.history(since="3h30m", until=time.time() - 3600)] == [1001]
    assert [r["id"] for r in flux.history(state="cluster gone")] == [1002]
    assert [r["id"] for r in flux.history(origin="panel", q="one")] == [1001]
    assert [r["id"] for r in flux.history(limit=1, offset=1)] == [1001]
    with pytest.raises(ValueError, match="'since' must be a date"):
        flux.history(since="last week")


def test_history_is_a_dataframe_with_pandas(flux):
    import pandas  # optional for people, a test dependency: this path is tested, not skipped

    _record(flux, 1001, 60, name="first", origin_kind="panel")
    _record(flux, 1002, 30, name="second", origin_path="analysis.ipynb")
    frame = flux.history()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame["id"]) == [1002, 1001]
    assert list(frame["job"]) == [jobid.f58(1002), jobid.f58(1001)]
    assert list(frame["name"]) == ["second", "first"]
    assert list(frame["origin_kind"]) == ["notebook", "panel"]
    assert frame["origin_path"][0] == "analysis.ipynb"
    assert str(frame["submitted"].dt.tz) == "UTC"
    assert abs(frame["submitted"][0].timestamp() - (time.time() - 30)) < 5
    assert {"status", "command", "form", "rerun_of", "exit_code"} <= set(frame.columns)
    assert flux.history(q="nothing like it").empty


@pytest.mark.cluster
def test_resubmit_runs_the_job_again_on_the_cluster(cluster, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLUX_HUB_PATHS", raising=False)
    with connect(
        cluster.url,
        "alice",
        cluster.passwords["alice"],
        cluster.secret_key,
        names_path=tmp_path / "data" / "job-names.json",
    ) as flux:
        job = flux.submit(["sh", "-c", "echo $GREETING"], envars={"GREETING": "hi"}, num_tasks=2)
        assert job.wait(timeout=60).output() == "hi\nhi\n"
        again = flux.resubmit(job, envars={"GREETING": "again"}).wait(timeout=60)
        assert again.output() == "again\nagain\n"
        assert (again.info["ntasks"], again.workdir) == (2, str(tmp_path))
        with History(names_path=tmp_path / "data" / "job-names.json", account="alice") as h:
            assert h.get(again.id)["rerun_of"] == job.id
