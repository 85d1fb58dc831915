"""Holds without a cluster: reading dependencies (flux_hub/depend.py), the store's file and
states, and the holder's choices with a stand-in flux-restful — a job refused on the way is
tried again, one perhaps sent is never sent twice, a hold whose owner lost their account is not
run with anyone else's, and the reader's record of another person's job is never taken."""

import asyncio
import os
import stat
from types import SimpleNamespace

import pytest

from flux_hub import depend, jobid
from flux_hub.holds import store as holds
from flux_hub.holds.holder import Holder, HoldRefused, parse_body
from flux_hub.holds.lookup import own_job
from flux_hub.holds.store import HoldStore
from flux_hub.restful import ClusterUnavailable, JobNotFound
from flux_hub.restful.protocol import ConnectionFailed


def test_dependencies_read_as_flux_submit_writes_them():
    f58 = jobid.f58(1234)
    assert depend.parse(f"afterok:{f58}") == [{"kind": "afterok", "id": 1234}]
    assert depend.parse(["afterany:1,2", "afterany:2", {"kind": "afternotok", "id": "3"}]) == [
        {"kind": "afterany", "id": 1},
        {"kind": "afterany", "id": 2},
        {"kind": "afternotok", "id": 3},
    ]
    assert depend.text([{"kind": "afterok", "id": 1234}]) == f"afterok:{f58}"
    for bad, message in [
        ("afterok", "'afterok' is not a dependency: write KIND:ID, as afterok:ƒ2Vj1dB9"),
        ("after:1", "'after:1' is not a dependency: write KIND:ID with KIND one of afterok, "
         "afterany, afternotok"),
        ("afterok:0", "'afterok:0' is not a dependency: '0' is not a job id"),
        ([], "a dependency needs at least one job: afterok:ID"),
        (None, "a dependency needs at least one job: afterok:ID"),
        ([{"kind": "afterok", "id": 1, "user": "bob"}], "a dependency is a text KIND:ID or "),
        ("afterok:" + ",".join(str(i) for i in range(1, 40)), "a job may wait for at most 32"),
    ]:  # fmt: skip
        with pytest.raises(depend.DependencyError) as error:
            depend.parse(bad)
        assert str(error.value).startswith(message) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "kind, state, result, holds_now",
    [
        ("afterok", "RUN", None, None),
        ("afterok", "INACTIVE", "COMPLETED", True),
        ("afterok", "INACTIVE", "FAILED", False),
        ("afterok", "INACTIVE", "CANCELED", False),
        ("afternotok", "INACTIVE", "COMPLETED", False),
        ("afternotok", "INACTIVE", "TIMEOUT", True),
        ("afterany", "INACTIVE", "FAILED", True),
        ("afterany", "SCHED", None, None),
    ],
)
def test_conditions(kind, state, result, holds_now):
    assert depend.condition(kind, {"state": state, "result": result}) is holds_now


def test_a_body_names_no_owner_and_is_checked_as_any_submit():
    request, after, name = parse_body(
        {"request": {"command": "echo hi", "runtime": "5m"}, "after": "afterok:7", "name": "b"}
    )
    assert request == {"command": "echo hi", "runtime": 300} and name == "b"
    assert after == [{"kind": "afterok", "id": 7}]
    for body in (
        {"request": {"command": "id"}, "after": "afterok:7", "owner": "bob"},
        {"request": {"command": "id", "user": "bob"}, "after": "afterok:7"},
        {"request": {"command": ""}, "after": "afterok:7"},
        {"request": "id", "after": "afterok:7"},
    ):
        with pytest.raises(HoldRefused) as refused:
            parse_body(body)
        assert "\n" not in str(refused.value)


def test_the_store_is_the_hubs_own_and_keeps_states(tmp_path):
    path = str(tmp_path / "state" / "holds.sqlite")
    kept = HoldStore(path)
    hold = kept.add("alice", "alice", {"command": "id"}, [{"kind": "afterok", "id": 1}])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert kept.move(hold.id, holds.DEPEND, holds.CANCELED, reason="canceled by you")
    assert not kept.move(hold.id, holds.DEPEND, holds.SUBMITTING)  # a cancel wins once
    kept.close()
    again = HoldStore(path)
    assert again.get(hold.id).state == holds.CANCELED
    assert again.of("bob") == [] and [h.id for h in again.of("alice")] == [hold.id]


class Cluster:
    """flux-restful as the holder asks it: each person's jobs; submits kept with whose."""

    def __init__(self, jobs):
        self.jobs = jobs  # id -> (account, record)
        self.submitted = []
        self.fail = None

    def client(self, env):
        cluster = self

        class Client:
            async def job(self, job_id):
                owner, record = cluster.jobs.get(job_id, (None, None))
                if owner != env["FLUX_USER"]:
                    raise JobNotFound(f"no job {job_id}")
                return record

            async def submit(self, command, **fields):
                if cluster.fail is not None:
                    raise cluster.fail
                cluster.submitted.append((env["FLUX_USER"], env["FLUX_TOKEN"], command))
                return 1000 + len(cluster.submitted)

        return Client()


class Accounts:
    def __init__(self):
        self.accounts = {"alice": "alice", "bob": "bob"}

    def credentials(self, hub_user, record=None):
        account = self.accounts.get(hub_user)
        if account is None:
            return None
        return {
            "FLUX_RESTFUL_HOST": "http://c",
            "FLUX_USER": account,
            "FLUX_TOKEN": f"pw-{account}",
        }


def ended(result="COMPLETED"):
    return {"state": "INACTIVE", "result": result}


def holder_of(tmp_path, cluster, accounts=None, reader=None):
    kept = HoldStore(str(tmp_path / "holds.sqlite"))
    return Holder(kept, accounts or Accounts(), lambda: reader, client=cluster.client)


def test_a_refused_connection_is_tried_again_and_a_lost_answer_never_sent_twice(tmp_path):
    async def run():
        cluster = Cluster({1: ("alice", ended())})
        holder = holder_of(tmp_path, cluster)
        one = await holder.create(
            "alice", "alice", {"request": {"command": "a"}, "after": "afterok:1"}
        )
        refused = ClusterUnavailable("Cannot reach", "http://c")
        refused.__cause__ = ConnectionFailed("refused", "Connection refused")
        cluster.fail = refused
        await holder.round()
        assert holder.hold_of("alice", one.id).state == holds.DEPEND
        cluster.fail = None
        await holder.round()
        assert holder.hold_of("alice", one.id).state == holds.SUBMITTED
        assert cluster.submitted == [("alice", "pw-alice", "a")]

        two = await holder.create(
            "alice", "alice", {"request": {"command": "b"}, "after": "afterok:1"}
        )
        lost = ClusterUnavailable("Cannot reach", "http://c")
        lost.__cause__ = ConnectionFailed("timeout", "timed out")
        cluster.fail = lost
        await holder.round()
        cluster.fail = None
        await holder.round()
        gone = holder.hold_of("alice", two.id)
        assert gone.state == holds.NEVER_RUN and "look at your jobs" in gone.reason
        assert len(cluster.submitted) == 1

        # a hold found being submitted when the service starts is not sent again
        three = holder.store.add("alice", "alice", {"command": "c"}, [{"kind": "afterok", "id": 1}])
        holder.store.move(three.id, holds.DEPEND, holds.SUBMITTING)
        holder.start()
        await holder.stop()
        assert holder.hold_of("alice", three.id).state == holds.NEVER_RUN
        assert len(cluster.submitted) == 1

    asyncio.run(run())


def test_a_hold_runs_as_its_owner_or_not_at_all(tmp_path):
    async def run():
        cluster = Cluster({1: ("alice", ended()), 2: ("bob", ended())})
        accounts = Accounts()
        holder = holder_of(tmp_path, cluster, accounts)
        with pytest.raises(HoldRefused, match=f"no job {jobid.f58(2)} of yours"):
            await holder.create(
                "alice", "alice", {"request": {"command": "x"}, "after": "afterok:2"}
            )
        with pytest.raises(HoldRefused, match=f"no job {jobid.f58(3)} of yours"):
            await holder.create(
                "alice", "alice", {"request": {"command": "x"}, "after": "afterok:3"}
            )
        held = await holder.create(
            "alice", "alice", {"request": {"command": "x"}, "after": "afterok:1"}
        )
        assert holder.hold_of("bob", held.id) is None and holder.cancel("bob", held.id) is None
        accounts.accounts["alice"] = "alice2"  # her account is another now: not run as either
        await holder.round()
        never = holder.hold_of("alice", held.id)
        assert never.state == holds.NEVER_RUN and cluster.submitted == []
        assert never.reason == "you have no active Flux account (the one it was held for)"

    asyncio.run(run())


def test_the_readers_record_of_another_persons_job_is_not_taken(tmp_path):
    from flux_hub.reader.state import ClusterState

    state = ClusterState()
    state.apply(
        {
            "instance": "i",
            "time": 1.0,
            "jobs": [{"id": 5, "state": "INACTIVE", "result": "COMPLETED", "owner": "bob"}],
            "resources": {},
        },
        full=True,
    )
    assert own_job(state, "bob", 5)["result"] == "COMPLETED"
    assert own_job(state, "alice", 5) is None and own_job(state, "alice", 6) is None

    async def run():
        reader = SimpleNamespace(fresh=lambda: asyncio.sleep(0, state))
        holder = holder_of(tmp_path, Cluster({}), reader=reader)
        with pytest.raises(HoldRefused, match="of yours"):
            await holder.create(
                "alice", "alice", {"request": {"command": "x"}, "after": "afterok:5"}
            )
        held = await holder.create(
            "bob", "bob", {"request": {"command": "x"}, "after": "afterany:5"}
        )
        await holder.round()
        assert holder.hold_of("bob", held.id).state == holds.SUBMITTED

    asyncio.run(run())


def test_the_service_keeps_holds_next_to_the_accounts_store(tmp_path):
    from flux_hub.service.app import FluxAccountsService

    async def run():
        service = SimpleNamespace(
            holds_enabled=True,
            accounts=SimpleNamespace(store_path=str(tmp_path / "accounts.sqlite")),
            reader=None,
            holder=None,
            log=SimpleNamespace(info=lambda *a: None),
        )
        holder = FluxAccountsService.start_holder(service)
        assert holder.store.path == str(tmp_path / "flux-hub-holds.sqlite")
        await FluxAccountsService.stop_holder(service)
        assert service.holder is None
        service.holds_enabled = False
        assert FluxAccountsService.start_holder(service) is None
        # a store that cannot be opened: the service runs on, holding nothing, and says why
        said = []
        service.holds_enabled = True
        service.log = SimpleNamespace(warning=lambda *a: said.append(a[0] % a[1:]))
        service.accounts.store_path = str(tmp_path / "accounts.sqlite" / "x" / "store")
        (tmp_path / "accounts.sqlite").write_text("")
        assert FluxAccountsService.start_holder(service) is None
        assert said and said[0].startswith("Not holding jobs: their store in")

    asyncio.run(run())


def test_a_hold_is_waited_for_until_the_hub_no_longer_holds_it():
    from flux_hub.holds.client import Hold

    class Hub:
        def __init__(self):
            self.states = ["DEPEND", "SUBMITTING", "SUBMITTED"]

        def get(self, hold_id):
            state = self.states.pop(0)
            job = 7 if state == "SUBMITTED" else None
            return {"id": hold_id, "state": state, "job": job, "after": [], "reason": None}

    held = Hold(None, {"id": "h1", "state": "DEPEND", "after": []}, Hub())
    assert held.wait(poll=0).state == "SUBMITTED" and held.job.id == 7
