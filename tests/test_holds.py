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
        self.clients = []
        self.where = []

    def client(self, env):
        cluster = self
        self.clients.append(
            (env["FLUX_RESTFUL_HOST"], env.get("FLUX_SECRET_KEY"), env["FLUX_USER"])
        )

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
                cluster.where.append(env["FLUX_RESTFUL_HOST"])
                return 1000 + len(cluster.submitted)

        return Client()


class Accounts:
    """The accounts core: one cluster for all (``urls`` None), or one each (per-person
    MiniClusters: ``urls`` {account: (URL as the hub reaches it, its secret)}); the servers are
    handed another URL (``http://server-side/...``), which the hub may not reach."""

    def __init__(self, urls=None):
        self.accounts = {"alice": "alice", "bob": "bob"}
        self.urls = urls
        self.provisioner = SimpleNamespace(endpoint=self.endpoint)

    def endpoint(self, account):
        return self.urls[account] if self.urls else ("http://c", "")

    def credentials(self, hub_user, record=None):
        account = self.accounts.get(hub_user)
        if account is None:
            return None
        return {
            "FLUX_RESTFUL_HOST": f"http://server-side/{account}" if self.urls else "http://c",
            "FLUX_USER": account,
            "FLUX_TOKEN": f"pw-{account}",
            "FLUX_SECRET_KEY": "the-servers-key",
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


def test_a_submit_flux_restful_does_not_take_waits_is_never_run_or_is_never_sent_twice(tmp_path):
    """Each way a submit can fail, and what the hold does then (holder.py's list)."""
    from flux_hub.restful import AuthenticationFailed, InvalidRequest, LimitReached

    def unavailable(status=None, kind=None):
        error = ClusterUnavailable(f"The Flux cluster at http://c could not answer: {status}", "c")
        error.status = status
        if kind:
            error.__cause__ = ConnectionFailed(kind, kind)
        return error

    limit = LimitReached(
        "Submitting the job was refused: alice has 4 active jobs, the most one person may have",
        429,
    )
    cases = [
        # (the failure, the state after a round, the reason's start, submitted once it passes)
        (limit, holds.DEPEND, "waits for some of your jobs to end: Submitting the job was "
         "refused: alice has 4 active jobs", True),
        (unavailable(kind="refused"), holds.DEPEND, None, True),
        (unavailable(503), holds.DEPEND, None, True),
        (AuthenticationFailed("Login failed", 401), holds.DEPEND, None, True),
        (InvalidRequest("Submitting the job failed: The server only has 1 nodes", 400),
         holds.NEVER_RUN, "flux-restful refused it: Submitting the job failed: The server only "
         "has 1 nodes", False),
        (unavailable(500), holds.NEVER_RUN, "Flux could not submit it: The Flux cluster", False),
        (unavailable(502), holds.NEVER_RUN, "it is unknown whether it was submitted", False),
        (unavailable(504), holds.NEVER_RUN, "it is unknown whether it was submitted", False),
        (unavailable(kind="timeout"), holds.NEVER_RUN, "it is unknown whether it was submitted",
         False),
        (unavailable(kind="reset"), holds.NEVER_RUN, "it is unknown whether it was submitted",
         False),
    ]  # fmt: skip

    async def run():
        for i, (failure, state, reason, later) in enumerate(cases):
            cluster = Cluster({1: ("alice", ended())})
            holder = holder_of(tmp_path / str(i), cluster)
            holder.limit_wait = 0.3
            held = await holder.create(
                "alice", "alice", {"request": {"command": "a"}, "after": "afterok:1"}
            )
            cluster.fail = failure
            await holder.round()
            now = holder.hold_of("alice", held.id)
            assert now.state == state, (failure, now)
            if reason is None:
                assert now.reason is None
            else:
                assert now.reason.startswith(reason) and "\n" not in now.reason, now.reason
            cluster.fail = None
            if failure is limit:  # not tried again before limit_wait
                await holder.round()
                assert holder.hold_of("alice", held.id).state == holds.DEPEND
                await asyncio.sleep(0.3)
            await holder.round()
            after = holder.hold_of("alice", held.id)
            if later:
                assert (after.state, after.reason) == (holds.SUBMITTED, None)
                assert cluster.submitted == [("alice", "pw-alice", "a")]
            else:  # never sent again
                assert after.state == holds.NEVER_RUN and cluster.submitted == []
            holder.store.close()

    asyncio.run(run())


def test_a_hold_goes_to_its_owners_own_cluster_as_the_hub_reaches_it(tmp_path):
    """Per-person MiniClusters: alice's hold is looked at and submitted on alice's cluster,
    bob's on bob's, at the URL and with the secret the hub has for each (provisioner
    endpoint()), not the URL the person's server is handed."""

    async def run():
        urls = {"alice": ("http://alice-cluster", "ka"), "bob": ("http://bob-cluster", "")}
        cluster = Cluster({1: ("alice", ended()), 1_000_001: ("bob", ended())})
        holder = holder_of(tmp_path, cluster, Accounts(urls))
        mine = await holder.create(
            "alice", "alice", {"request": {"command": "a"}, "after": "afterok:1"}
        )
        his = await holder.create(
            "bob", "bob", {"request": {"command": "b"}, "after": "afterany:1000001"}
        )
        await holder.round()
        assert holder.hold_of("alice", mine.id).state == holds.SUBMITTED
        assert holder.hold_of("bob", his.id).state == holds.SUBMITTED
        assert sorted(zip(cluster.submitted, cluster.where, strict=True)) == [
            (("alice", "pw-alice", "a"), "http://alice-cluster"),
            (("bob", "pw-bob", "b"), "http://bob-cluster"),
        ]
        assert sorted(set(cluster.clients)) == [
            ("http://alice-cluster", "ka", "alice"),
            ("http://bob-cluster", None, "bob"),
        ]

    asyncio.run(run())


def test_the_listing_is_newest_first_bounded_and_leaves_out_holds_ended_long_ago(
    tmp_path, monkeypatch
):
    import sqlite3
    import time

    path = str(tmp_path / "holds.sqlite")
    kept = HoldStore(path)
    after = [{"kind": "afterok", "id": 1234}, {"kind": "afterany", "id": 99}]
    made = [
        kept.add("alice", "alice", {"command": f"c{i}"}, after, origin={"origin_kind": "cli"})
        for i in range(5)
    ]
    old_end, old_wait, recent_end = made[0], made[1], made[2]
    kept.move(old_end.id, holds.DEPEND, holds.NEVER_RUN, reason="r")
    kept.move(recent_end.id, holds.DEPEND, holds.CANCELED, reason="canceled by you")
    week_ago = time.time() - holds.ENDED_SHOWN - 60
    with sqlite3.connect(path) as db:  # ended (or made) more than a week ago
        db.execute("UPDATE holds SET updated = ?, created = ? WHERE id IN (?, ?)",
                   (week_ago, week_ago, old_end.id, old_wait.id))  # fmt: skip
    holder = Holder(kept, Accounts())
    shown = holder.holds_of("alice")
    newest_first = [h.id for h in reversed(made)]
    assert [h.id for h in shown] == [i for i in newest_first if i != old_end.id]
    assert [h.id for h in holder.holds_of("alice", everything=True)] == newest_first
    assert shown[0].public() == {
        "hold": made[4].id,
        "id": made[4].id,
        "request": {"command": "c4"},
        "after": after,
        "after_text": f"afterok:{jobid.f58(1234)},afterany:{jobid.f58(99)}",
        "name": None,
        "state": "DEPEND",
        "job": None,
        "reason": None,
        "created": made[4].created,
        "updated": made[4].updated,
        "origin": {"origin_kind": "cli"},
    }
    monkeypatch.setattr(holds, "MOST_LISTED", 2)
    assert [h.id for h in kept.of("alice", limit=2)] == newest_first[:2]
    kept.close()


def test_a_store_made_before_holds_kept_their_origin_is_taken_on(tmp_path):
    import sqlite3

    path = str(tmp_path / "holds.sqlite")
    with sqlite3.connect(path) as db:
        db.executescript(holds._SCHEMA)
        db.execute(
            "INSERT INTO holds VALUES ('h1','alice','alice','{\"command\": \"id\"}',"
            '\'[{"kind": "afterok", "id": 1}]\',NULL,\'DEPEND\',NULL,NULL,1.0,1.0)'
        )
    kept = HoldStore(path)
    assert kept.get("h1").origin is None and kept.get("h1").request == {"command": "id"}
    new = kept.add("alice", "alice", {"command": "x"}, [], origin={"origin_kind": "panel"})
    assert kept.get(new.id).origin == {"origin_kind": "panel"}


def test_a_holds_origin_is_only_what_a_history_records():
    from flux_hub.holds.holder import parse_origin

    assert parse_origin({}) is None
    assert parse_origin({"origin": {"origin_kind": "magic", "origin_path": "a.ipynb",
                                    "origin_cell": 3, "origin_command": None}}) == {
        "origin_kind": "magic", "origin_path": "a.ipynb", "origin_cell": 3}  # fmt: skip
    for origin, message in [
        ("panel", "'origin' must be {\"origin_kind\": panel | file | notebook | magic | cli"),
        ({"origin_kind": "unknown"}, "'origin' must be"),
        ({"origin_kind": "cli", "owner": "bob"}, "'origin' has an unknown field 'owner'."),
        ({"origin_kind": "cli", "origin_command": "x" * 5000}, "The origin's 'origin_command'"),
        ({"origin_kind": "cli", "keep_env_values": "yes"}, "The origin's 'keep_env_values'"),
    ]:
        with pytest.raises(HoldRefused) as refused:
            parse_origin({"origin": origin})
        assert str(refused.value).startswith(message)


def test_the_notebook_and_the_terminal_say_where_a_hold_was_made(monkeypatch):
    from flux_hub.holds import client

    made = []

    class Hub:
        def create(self, request, after, name=None, origin=None):
            made.append(origin)
            return {"id": "h1", "state": "DEPEND", "after": after}

    monkeypatch.setattr(client.HubHolds, "from_env", classmethod(lambda cls, env=None: Hub()))
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/alice/chain.ipynb")
    cluster = SimpleNamespace(paths=SimpleNamespace(workdir=lambda folder, option: None))
    client.notebook_submit(cluster, "echo b", dependency="afterok:7")
    assert made.pop() == {"origin_kind": "notebook", "origin_path": "/home/alice/chain.ipynb"}
    args = SimpleNamespace(dependency=["afterok:7"], wait=False, keep_env=True, command=["echo"])
    monkeypatch.setattr("sys.argv", ["/usr/bin/flux-hub", "submit", "--dependency", "afterok:7",
                                     "--env", "TOKEN=s3cret", "echo"])  # fmt: skip
    assert client.terminal_submit(cluster, args, ["echo"], {}, None) == 0
    assert made.pop() == {
        "origin_kind": "cli",
        "origin_command": "flux-hub submit --dependency afterok:7 --env 'TOKEN=…' echo",
        "keep_env_values": True,
    }
