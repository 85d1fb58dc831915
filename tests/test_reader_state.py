"""The reader's memory of the cluster (flux_hub/reader/state.py), fed snapshots of the guard's
shape: each person sees their own jobs only, in Flux's order, with versions that change only
when their own view does, and every waiting job its place in everyone's queue."""

import json

from flux_hub.reader.state import MOST_FINISHED, ClusterState

NOW = 1_800_000_000.0
RESOURCES = {
    "nodes": {"total": 2, "up": 2, "down": 0, "busy": 1, "free": 1},
    "cores": {"total": 8, "up": 8, "down": 0, "busy": 4, "free": 4},
    "gpus": {"total": 0, "up": 0, "down": 0, "busy": 0, "free": 0},
    "hosts_up": ["node-0", "node-1"],
}
PENDING = ("NEW", "DEPEND", "PRIORITY", "SCHED")


def job(job_id, state, owner, **fields):
    """A record as the guard gives one (flux-restful's GET /v1/jobs/{id} keys plus owner)."""
    record = {
        "id": job_id,
        "state": state,
        "owner": owner,
        "name": f"job{job_id}",
        "urgency": 16,
        "priority": 16,
        "ncores": 1,
        "nnodes": 1,
        "t_submit": NOW - 100 + job_id / 1000,
        "t_run": 0.0 if state in PENDING else NOW - 50,
        "t_inactive": 0.0,
        "runtime": 0.0 if state in PENDING else 50.0,
        "annotations": {},
        "result": "",
    }
    if state == "INACTIVE":
        record.update(t_inactive=NOW - 1000 + job_id, result="COMPLETED", runtime=1.0)
    record.update(fields)
    return record


def snapshot(*jobs, instance="inst-1", time=NOW, resources=None, complete=True, unknown=0):
    """A snapshot of the guard's shape; jobs given in Flux's order."""
    return {
        "instance": instance,
        "time": time,
        "multi_user": False,
        "complete": complete,
        "owners_unknown": unknown,
        "jobs": [dict(j) for j in jobs],
        "resources": json.loads(json.dumps(resources or RESOURCES)),
    }


def ids(answer):
    return [j["id"] for j in answer["jobs"]]


def test_each_person_sees_only_their_own_jobs_in_fluxs_order_without_owners():
    state = ClusterState()
    state.apply(
        snapshot(
            job(10, "SCHED", "alice"),
            job(11, "SCHED", "bob"),
            job(9, "RUN", "alice"),
            job(8, "RUN", "bob"),
            job(3, "INACTIVE", "alice"),
            job(5, "INACTIVE", "alice"),
            job(4, "INACTIVE", "bob"),
            job(2, "INACTIVE", None),
        ),
        full=True,
    )
    alice = state.person("alice")
    assert alice["complete"] is True
    # active in the snapshot's (Flux's) order, then finished, the most recently finished first
    assert ids(alice) == [10, 9, 5, 3]
    assert alice["ids"] == [10, 9, 5, 3]
    assert all("owner" not in record for record in alice["jobs"])
    assert ids(state.person("bob")) == [11, 8, 4]
    # a job whose owner the guard could not tell is no one's
    for nobody in ("carol", "", "None"):
        answer = state.person(nobody)
        assert answer["jobs"] == [] and answer["ids"] == []
    assert json.loads(state.person_json("alice")) == alice


def test_a_version_answers_only_what_changed_and_the_order_only_when_it_changed():
    state = ClusterState()
    state.apply(
        snapshot(job(9, "RUN", "alice"), job(8, "RUN", "alice"), job(3, "INACTIVE", "alice")),
        full=True,
    )
    first = state.person("alice")
    same = state.person("alice", first["version"])
    assert same == {"version": first["version"], "complete": False, "jobs": []}

    # an annotation appears on the running job: only it comes back, the order is the same
    noted = job(9, "RUN", "alice", annotations={"user": {"note": "x"}})
    assert state.apply(snapshot(noted, job(8, "RUN", "alice"), time=NOW + 1))
    second = state.person("alice", first["version"])
    assert second["complete"] is False and "ids" not in second
    assert ids(second) == [9] and second["jobs"][0]["annotations"] == {"user": {"note": "x"}}
    assert second["version"] != first["version"]

    # it ends: it moves behind the running one (the order changed: ids come)
    ended = job(9, "INACTIVE", "alice", t_inactive=NOW + 1.5)
    state.apply(snapshot(job(8, "RUN", "alice"), ended, time=NOW + 2))
    third = state.person("alice", second["version"])
    assert ids(third) == [9] and third["ids"] == [8, 9, 3]
    # an old version still gets everything changed since it
    assert ids(state.person("alice", first["version"])) == [9]
    assert json.loads(state.person_json("alice", second["version"])) == third


def test_a_running_jobs_growing_runtime_is_not_a_change():
    state = ClusterState()
    state.apply(snapshot(job(9, "RUN", "alice", runtime=50.0)), full=True)
    version = state.person("alice")["version"]
    assert not state.apply(snapshot(job(9, "RUN", "alice", runtime=51.0), time=NOW + 1))
    assert state.person("alice", version) == {"version": version, "complete": False, "jobs": []}
    # a complete answer has the runtime as last read
    assert state.person("alice")["jobs"][0]["runtime"] == 51.0


def test_other_peoples_changes_leave_a_persons_version_alone():
    state = ClusterState()
    state.apply(snapshot(job(9, "RUN", "alice"), job(8, "RUN", "bob")), full=True)
    alice = state.person("alice")["version"]
    carol = state.person("carol")["version"]
    for step in range(1, 4):
        bobs = [job(100 + n, "RUN", "bob") for n in range(step)]
        state.apply(snapshot(job(9, "RUN", "alice"), *bobs, time=NOW + step))
    assert state.person("alice", alice) == {"version": alice, "complete": False, "jobs": []}
    assert state.person("alice")["version"] == alice
    # someone who never had a job: the same answer as before, whatever others did
    assert state.person("carol", carol) == {"version": carol, "complete": False, "jobs": []}


def test_a_since_snapshot_merges_a_full_one_replaces():
    state = ClusterState()
    state.apply(
        snapshot(job(9, "RUN", "alice"), job(7, "RUN", "alice"), job(3, "INACTIVE", "alice")),
        full=True,
    )
    version = state.person("alice")["version"]
    # since: job 9 ended, job 7 was purged (listed nowhere), job 3 (older) is not repeated
    state.apply(snapshot(job(9, "INACTIVE", "alice", t_inactive=NOW), time=NOW + 5))
    answer = state.person("alice", version)
    assert answer["ids"] == [9, 3]
    assert ids(answer) == [9]
    assert len(state) == 2
    # a full read lists what the cluster still has: job 3 was purged meanwhile
    version = answer["version"]
    state.apply(snapshot(job(9, "INACTIVE", "alice", t_inactive=NOW), time=NOW + 10), full=True)
    answer = state.person("alice", version)
    assert answer["ids"] == [9] and answer["jobs"] == []


def test_a_new_instance_starts_over_and_old_versions_get_everything():
    state = ClusterState()
    state.apply(snapshot(job(9, "RUN", "alice"), job(3, "INACTIVE", "alice")), full=True)
    version = state.person("alice")["version"]
    # the cluster restarted: its ids begin again, a version from before means nothing
    state.apply(snapshot(job(1, "SCHED", "alice"), instance="inst-2", time=NOW + 60))
    answer = state.person("alice", version)
    assert answer["complete"] is True
    assert answer["ids"] == [1] and ids(answer) == [1]
    assert answer["version"].split("-")[0] != version.split("-")[0]


def test_versions_from_elsewhere_get_a_complete_answer():
    state = ClusterState()
    state.apply(snapshot(job(9, "RUN", "alice")), full=True)
    generation = state.person("alice")["version"].split("-")[0]
    for since in (None, "", "x", "abc-1", f"{generation}-", f"{generation}-99", f"{generation}--1"):
        answer = state.person("alice", since)
        assert answer["complete"] is True and answer["ids"] == [9], since
    # a new reader (another ClusterState) does not understand this one's versions
    other = ClusterState()
    other.apply(snapshot(job(9, "RUN", "alice")), full=True)
    assert other.person("alice", state.person("alice")["version"])["complete"] is True


def test_waiting_jobs_get_their_place_in_everyones_queue_and_the_reason():
    state = ClusterState()
    resources = {**RESOURCES, "cores": {"total": 8, "up": 8, "down": 0, "busy": 6, "free": 2}}
    state.apply(
        snapshot(
            job(20, "SCHED", "bob", ncores=4),
            job(21, "SCHED", "alice", ncores=4),
            job(22, "SCHED", "alice", urgency=0, priority=0),  # held
            job(23, "DEPEND", "alice", dependencies=["afterok:20"]),
            job(24, "SCHED", "bob", ncores=1),
            job(25, "SCHED", "alice", ncores=1, annotations={"sched": {"t_estimate": NOW + 600}}),
            job(9, "RUN", "alice"),
            resources=resources,
        ),
        full=True,
    )
    waiting = {j["id"]: j.get("waiting") for j in state.person("alice")["jobs"]}
    assert waiting[21]["position"] == 2 and waiting[21]["ahead"] == 1
    assert "4 cores, 2 free now" in waiting[21]["reason"]
    assert "behind 1 job" in waiting[21]["reason"]
    assert waiting[22]["position"] is None and "Held" in waiting[22]["reason"]
    assert waiting[23]["position"] is None and "afterok:20" in waiting[23]["reason"]
    assert waiting[25]["position"] == 4 and waiting[25]["ahead"] == 3
    assert waiting[25]["t_estimate"] == NOW + 600
    assert waiting[9] is None  # running: no "waiting"
    assert "waiting" not in state.person("alice")["jobs"][-1]

    # bob's first job starts: alice's jobs move up, and only the moved ones come back
    version = state.person("alice")["version"]
    state.apply(
        snapshot(
            job(21, "SCHED", "alice", ncores=4),
            job(22, "SCHED", "alice", urgency=0, priority=0),
            job(23, "DEPEND", "alice", dependencies=["afterok:20"]),
            job(24, "SCHED", "bob", ncores=1),
            job(25, "SCHED", "alice", ncores=1, annotations={"sched": {"t_estimate": NOW + 600}}),
            job(20, "RUN", "bob", ncores=4),
            job(9, "RUN", "alice"),
            resources=resources,
            time=NOW + 1,
        )
    )
    moved = state.person("alice", version)
    assert sorted(ids(moved)) == [21, 25] and "ids" not in moved
    positions = {j["id"]: j["waiting"]["position"] for j in moved["jobs"]}
    assert positions == {21: 1, 25: 3}
    assert "behind" not in moved["jobs"][0]["waiting"]["reason"]


def test_at_most_the_latest_finished_jobs_per_person():
    state = ClusterState()
    finished = [job(n, "INACTIVE", "alice") for n in range(1, MOST_FINISHED + 6)]
    state.apply(snapshot(job(5000, "RUN", "alice"), *reversed(finished)), full=True)
    answer = state.person("alice")
    assert len(answer["jobs"]) == MOST_FINISHED + 1
    assert answer["ids"][:3] == [5000, MOST_FINISHED + 5, MOST_FINISHED + 4]
    assert answer["ids"][-1] == 6


def test_the_summary_counts_jobs_and_names_no_one():
    state = ClusterState()
    assert not state.ready
    state.apply(
        snapshot(
            job(20, "SCHED", "bob"),
            job(21, "DEPEND", "alice"),
            job(9, "RUN", "alice"),
            job(8, "CLEANUP", "bob"),
            job(7, "RUN", None),
            job(3, "INACTIVE", "alice"),
            time=NOW + 3,
        ),
        full=True,
    )
    assert state.ready
    summary = state.summary()
    jobs = {"running": 3, "waiting": 2}
    assert summary == {"as_of": NOW + 3, "resources": RESOURCES, "jobs": jobs}
    text = json.dumps(summary)
    assert "alice" not in text and "bob" not in text and '"id"' not in text


def test_a_job_whose_owner_becomes_known_joins_that_persons_list():
    state = ClusterState()
    state.apply(snapshot(job(9, "RUN", None), unknown=1), full=True)
    assert state.owners_unknown == 1
    version = state.person("alice")["version"]
    assert state.person("alice")["jobs"] == []
    state.apply(snapshot(job(9, "RUN", "alice"), time=NOW + 1), full=True)
    answer = state.person("alice", version)
    assert answer["ids"] == [9] and ids(answer) == [9]
    assert state.owners_unknown == 0


def test_a_job_that_joins_a_list_comes_with_the_answer_though_it_did_not_change():
    state = ClusterState()
    finished = [job(n, "INACTIVE", "alice") for n in range(1, MOST_FINISHED + 2)]
    state.apply(snapshot(*reversed(finished)), full=True)
    answer = state.person("alice")
    assert 1 not in answer["ids"]  # the oldest is beyond what is shown
    # the newest is purged: the oldest is shown again, and sent, so that the list is whole
    state.apply(snapshot(*reversed(finished[:-1]), time=NOW + 1), full=True)
    delta = state.person("alice", answer["version"])
    assert delta["ids"][-1] == 1 and ids(delta) == [1]
