"""The terminal's and the notebook's side of the hub's holds (flux_hub/holds/client.py) against
the accounts service's holds on a real local cluster (both lanes): ``flux-hub submit
--dependency`` and ``flux.submit(..., dependency=...)`` hold the job in the hub, and the Hold
tells its state and, once released, its job."""

import argparse
import json

import pytest
from local_support import Api
from test_holds_cluster import HoldsHubThread
from test_reader_service import Hub

from flux_hub import jobid, jobrequest
from flux_hub.depend import DependencyError
from flux_hub.holds import client
from flux_hub.notebook.api import connect
from flux_hub.restful import InvalidRequest
from flux_hub.service import handlers

pytestmark = pytest.mark.cluster


@pytest.fixture
def hub(cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(handlers.BaseHandler, "hub_auth", Hub())
    side = HoldsHubThread(cluster, tmp_path)
    yield side
    side.stop()


@pytest.fixture
def flux(cluster, tmp_path):
    with connect(
        cluster.url,
        "alice",
        cluster.passwords["alice"],
        cluster.secret_key,
        names_path=str(tmp_path / "names.json"),
    ) as made:
        yield made


def test_where_the_hubs_holds_are():
    reader = "http://hub:8081/services/flux-accounts/api/reader/"
    holds = "http://hub:8081/services/flux-accounts/api/holds/"
    assert client.holds_url({"FLUX_HUB_READER_URL": reader}) == holds
    assert client.holds_url({"FLUX_HUB_READER_URL": reader.rstrip("/")}) == holds
    assert client.holds_url(
        {"FLUX_HUB_HOLDS_URL": "http://x/h", "FLUX_HUB_READER_URL": reader}
    ) == ("http://x/h/")
    assert client.holds_url({}) == ""
    with pytest.raises(client.HoldError, match="no hub to hold jobs"):
        client.HubHolds.from_env({"FLUX_HUB_READER_URL": reader})


def test_the_notebook_gets_a_hold_and_then_its_job(hub, flux, cluster):
    alice = Api(cluster.url, "alice", cluster.passwords["alice"])
    first = alice.submit("true")
    hubs = client.HubHolds(hub.url, "alice-server")
    held = client.hold(
        flux,
        "echo second",
        f"afterok:{jobid.f58(first)}",
        "second",
        None,
        None,
        {},
        "workdir=",
        hubs,
    )
    assert held.dependency == f"afterok:{jobid.f58(first)}"
    assert held.state in ("DEPEND", "SUBMITTED") and held.name == "second"
    assert held.wait(timeout=60).state == "SUBMITTED"
    job = held.job
    job.wait(timeout=60)
    assert job.result == "COMPLETED" and "second" in job.output()
    assert [h.id for h in client.holds(flux, hubs)] == [held.id]
    assert repr(held).startswith(f"<Hold {held.id} SUBMITTED after afterok:")
    # refused before anything is sent, in one line
    with pytest.raises(DependencyError, match="'afterok' is not a dependency"):
        client.hold(flux, "id", "afterok", None, None, None, {}, "workdir=", hubs)
    with pytest.raises(jobrequest.JobRequestError):
        client.hold(
            flux, "id", f"afterok:{first}", None, None, None, {"num_tasks": "x"}, "workdir=", hubs
        )
    # another's job: the hub's one line
    bobs = Api(cluster.url, "bob", cluster.passwords["bob"]).submit("true")
    with pytest.raises(InvalidRequest) as refused:
        client.hold(flux, "id", f"afterok:{bobs}", None, None, None, {}, "workdir=", hubs)
    assert str(refused.value) == f"There is no job {jobid.f58(bobs)} of yours to wait for."
    assert len(client.holds(flux, hubs)) == 1


def test_flux_hub_submit_dependency_prints_the_hold_and_with_wait_the_job(
    hub, flux, cluster, capsys
):
    alice = Api(cluster.url, "alice", cluster.passwords["alice"])
    first = alice.submit("false")
    parser = argparse.ArgumentParser()
    jobrequest.add_arguments(parser)
    client.add_dependency_argument(parser)
    parser.add_argument("--wait", action="store_true")
    hubs = client.HubHolds(hub.url, "alice-server")

    args = parser.parse_args(["--dependency", f"afternotok:{jobid.f58(first)}", "-n", "1"])
    status = client.terminal_submit(
        flux, args, ["echo", "rescued"], jobrequest.from_arguments(args), None, hubs
    )
    out, err = capsys.readouterr()
    assert status == 0 and out.strip().startswith("h")
    assert err == f"flux-hub: job held by the hub until afternotok:{jobid.f58(first)}\n"

    args = parser.parse_args(["--dependency", f"afterok:{first}", "--wait"])
    with pytest.raises(client.HoldError, match="never run: job .* did not succeed"):
        client.terminal_submit(
            flux, args, ["echo", "never"], jobrequest.from_arguments(args), None, hubs
        )
    seen = []
    args = parser.parse_args(["--dependency", f"afterany:{first}", "--wait"])
    status = client.terminal_submit(
        flux, args, ["echo", "any"], jobrequest.from_arguments(args),
        lambda job, wait: seen.append(job.id) or 0, hubs,
    )  # fmt: skip
    assert status == 0 and len(seen) == 1
    assert alice.wait(seen[0])["result"] == "COMPLETED"
    states = sorted(h["state"] for h in json.loads(json.dumps(hubs.list())))
    assert states == ["NEVER_RUN", "SUBMITTED", "SUBMITTED"]
    # each keeps where it came from, for the person's history once the hub submits it
    assert {h["origin"]["origin_kind"] for h in hubs.list()} == {"cli"}


def test_a_notebook_hold_keeps_the_environments_values_when_asked(hub, flux, cluster, monkeypatch):
    """``flux.submit(..., dependency=..., keep_env=True)``: the hold's origin says to keep the
    values (the person's history then keeps them once the hub submits it), as a submit's does."""
    alice = Api(cluster.url, "alice", cluster.passwords["alice"])
    first = alice.submit("true")
    hubs = client.HubHolds(hub.url, "alice-server")
    monkeypatch.setattr(client.HubHolds, "from_env", classmethod(lambda cls, environ=None: hubs))
    after = f"afterok:{jobid.f58(first)}"
    kept = flux.submit("env", dependency=after, envars={"ALPHA": "1"}, keep_env=True)
    plain = flux.submit("env", dependency=after, envars={"ALPHA": "1"})
    origins = {h["hold"]: h["origin"] for h in hubs.list()}
    assert origins[kept.id]["keep_env_values"] is True
    assert "keep_env_values" not in origins[plain.id]
    assert origins[kept.id]["origin_kind"] == "notebook"
