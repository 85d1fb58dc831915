"""What the reader knows of the cluster: every job by owner, the free resources, and versions.

``ClusterState`` takes the guard's snapshots (flux_hub/guard/snapshot.py) one after another.
A snapshot of another Flux instance, or one read without ``since`` (``full``), replaces all it
knows; any other is merged: its active jobs replace the active jobs known (one no longer there
ended, so it is in the snapshot's inactive part, or was purged), its inactive ones are added.

Versions follow the panel's ``?since=`` protocol (flux_hub/serverextension/jobs.py): a counter
goes up by one with each snapshot that changes something; each job keeps the version it last
changed in, each person the version their list (which jobs, in which order) last changed in.
A version is given as ``"<generation>-<n>"``; the generation is new with each ClusterState
(each start of the reader) and each new Flux instance, so that a version from before is not
understood and the answer is then complete.

A person's answer is ``person(owner, since)``; its version is the last one *their* view changed
in, so that it tells nothing of other people's jobs. The work of an answer grows with the
person's own jobs only (and is nothing when they did not change): everything is indexed per
owner when a snapshot is applied, never per request.

Applying a snapshot is split in two: ``prepare`` builds the new indexes from the old ones
without changing them (it may run in a worker thread while requests are answered from the old
ones) and ``commit`` puts them in place at once; ``apply`` does both.

Each pending job's record gets ``"waiting"`` (flux_hub/waiting.py): its position among the jobs
the scheduler is to start (state SCHED, not held: everyone's, in Flux's order, which is the
order of priority) and the reason. Records never carry their owner: a person only ever sees
their own jobs.
"""

import json
import secrets
import time
from dataclasses import dataclass

from flux_hub.jobstates import PENDING, RUNNING
from flux_hub.waiting import why_waiting

# At most this many finished jobs per person (the most recently finished ones) in an answer
MOST_FINISHED = 1000

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _number(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _finished_order(job):
    """Flux's order of inactive jobs: the most recently finished first."""
    return (-_number(job.get("t_inactive")), -job["id"])


def _same(old, new):
    """Whether a job's record did not change. A running job's ``runtime`` grows with every
    read (flux-core counts it up to the moment it is asked), which is not a change."""
    if old == new:
        return True
    if new.get("state") == "INACTIVE" or "runtime" not in new:
        return False
    return {**old, "runtime": None} == {**new, "runtime": None}


class _Entry:
    """A job as people see it (``job``: no owner, ``waiting`` when pending), whose it is, the
    version it last changed in, and its JSON text once asked for."""

    __slots__ = ("job", "owner", "changed", "_text")

    def __init__(self, job, owner, changed):
        self.job = job
        self.owner = owner
        self.changed = changed
        self._text = None

    def json(self):
        if self._text is None:
            self._text = _encode(self.job)
        return self._text


@dataclass(frozen=True)
class _Person:
    """One owner's list: ids in the answer's order, the version it last changed in (which
    jobs, or their order), and the latest version anything of theirs changed in."""

    ids: tuple = ()
    reordered: int = 0
    latest: int = 0


_NOBODY = _Person()


@dataclass
class Update:
    """What ``ClusterState.prepare`` made of a snapshot, for ``commit``."""

    changed: bool
    generation: str
    version: int
    instance: str
    jobs: dict  # id -> _Entry, active ones in Flux's order, then finished ones newest first
    people: dict  # owner -> _Person
    summary: dict
    resources: dict
    as_of: float
    complete: bool
    owners_unknown: int
    multi_user: bool


class ClusterState:
    """The cluster as the last snapshots told it, indexed per person (see the module)."""

    def __init__(self):
        self.generation = secrets.token_hex(6)
        self.version = 0
        self.instance = None  # the guard's instance of the last snapshot; None before any
        self.as_of = None  # the guard's time of the last snapshot
        self.resources = None
        self.complete = True  # whether the last snapshot listed all it had to
        self.owners_unknown = 0  # jobs of the last snapshot whose owner the guard could not tell
        self.multi_user = None
        self._jobs = {}
        self._people = {}
        self._summary = {"running": 0, "waiting": 0}

    @property
    def ready(self):
        """Whether a snapshot was applied."""
        return self.instance is not None

    def __len__(self):
        return len(self._jobs)

    # -- applying snapshots ------------------------------------------------------------------

    def apply(self, snapshot, full=False):
        """Apply ``snapshot`` (read without ``since`` when ``full``); whether anything changed."""
        return self.commit(self.prepare(snapshot, full))

    def prepare(self, snapshot, full=False):
        """The Update ``snapshot`` makes, built without changing this state (the snapshot's
        records are changed: their owner taken out, ``waiting`` put in)."""
        new_instance = snapshot["instance"] != self.instance
        version = self.version + 1
        generation = self.generation
        if new_instance and self.instance is not None:
            generation = secrets.token_hex(6)
        known = {} if new_instance else self._jobs
        resources = snapshot.get("resources") or {}
        active, finished, seen = [], [], set()
        counts = {"running": 0, "waiting": 0}
        ahead = 0
        for job in snapshot["jobs"]:
            owner = job.pop("owner", None)
            job.pop("waiting", None)
            state = job.get("state")
            if state in PENDING:
                counts["waiting"] += 1
                if state == "SCHED" and _number(job.get("urgency")) != 0:
                    ahead += 1
                    job["waiting"] = why_waiting(job, resources, ahead - 1, ahead)
                else:  # not yet (or not by itself) the scheduler's to start: no place in line
                    job["waiting"] = why_waiting(job, resources)
            elif state in RUNNING:
                counts["running"] += 1
            entry = known.get(job["id"])
            if entry is None or entry.owner != owner or not _same(entry.job, job):
                entry = _Entry(job, owner, version)
            elif entry.job is not job and entry.job != job:  # only its runtime grew
                entry = _Entry(job, owner, entry.changed)
            seen.add(job["id"])
            (finished if state == "INACTIVE" else active).append(entry)
        if not (full or new_instance):
            # The finished jobs known stay, unless the snapshot tells them anew
            finished += [
                entry
                for job_id, entry in known.items()
                if job_id not in seen and entry.job.get("state") == "INACTIVE"
            ]
        finished.sort(key=lambda entry: _finished_order(entry.job))
        jobs = {entry.job["id"]: entry for entry in active}
        jobs.update((entry.job["id"], entry) for entry in finished)
        people = self._people_of(jobs, {} if new_instance else self._people, version)
        changed = (
            new_instance
            or list(jobs) != list(self._jobs)
            or any(entry.changed == version for entry in jobs.values())
            or any(person.latest == version for person in people.values())
            or resources != self.resources
            or counts != self._summary
        )
        return Update(
            changed=changed,
            generation=generation,
            version=version if changed else self.version,
            instance=snapshot["instance"],
            jobs=jobs,
            people=people,
            summary=counts,
            resources=resources,
            as_of=float(snapshot.get("time") or time.time()),
            complete=bool(snapshot.get("complete", True)),
            owners_unknown=int(snapshot.get("owners_unknown") or 0),
            multi_user=snapshot.get("multi_user"),
        )

    @staticmethod
    def _people_of(jobs, before, version):
        """Each owner's _Person for ``jobs`` (whose entries that join a list are marked changed
        now); owners whose jobs are all gone keep an empty list (changed now), so that a version
        they were given still says what changed."""
        lists, finished = {}, {}
        for job_id, entry in jobs.items():
            if entry.owner is None:
                continue  # whose it is is not known (yet): shown to no one
            ids = lists.setdefault(entry.owner, [])
            if entry.job.get("state") == "INACTIVE":
                if finished.get(entry.owner, 0) >= MOST_FINISHED:
                    continue
                finished[entry.owner] = finished.get(entry.owner, 0) + 1
            ids.append(job_id)
        people = {}
        for owner in {*before, *lists}:
            ids = tuple(lists.get(owner, ()))
            old = before.get(owner, _NOBODY)
            reordered = old.reordered if ids == old.ids else version
            if ids != old.ids:
                # A job that joins the list (one older than the finished jobs shown until now,
                # say) comes with the answer, though its record did not change
                shown = set(old.ids)
                for job_id in ids:
                    entry = jobs[job_id]
                    if job_id not in shown and entry.changed != version:
                        jobs[job_id] = _Entry(entry.job, entry.owner, version)
            latest = max([reordered, *(jobs[job_id].changed for job_id in ids)])
            if ids or owner in before:
                people[owner] = _Person(ids, reordered, latest)
        return people

    def commit(self, update):
        """Put a prepared Update in place (all at once); whether anything changed."""
        if update.changed:
            self.generation = update.generation
            self.version = update.version
            self._jobs = update.jobs
            self._people = update.people
            self._summary = update.summary
            self.resources = update.resources
        else:
            # Records whose runtime only grew are kept (no version: not a change)
            self._jobs = update.jobs
            self._people = update.people
        self.instance = update.instance
        self.as_of = update.as_of
        self.complete = update.complete
        self.owners_unknown = update.owners_unknown
        self.multi_user = update.multi_user
        return update.changed

    # -- answers -----------------------------------------------------------------------------

    def base(self, since):
        """The version number ``since`` names, or None when it is not one of this state's
        (another generation, a number it never gave, not a version at all)."""
        generation, _, number = (since or "").partition("-")
        if generation != self.generation or not (number.isascii() and number.isdigit()):
            return None
        number = int(number)
        return number if number <= self.version else None

    def _answer(self, owner, since):
        person = self._people.get(owner, _NOBODY)
        base = self.base(since)
        head = {"version": f"{self.generation}-{person.latest}", "complete": base is None}
        if base is None:
            head["ids"] = list(person.ids)
            return head, [self._jobs[job_id] for job_id in person.ids]
        if person.latest <= base:
            return head, []
        if person.reordered > base:
            head["ids"] = list(person.ids)
        entries = [self._jobs[job_id] for job_id in person.ids]
        return head, [entry for entry in entries if entry.changed > base]

    def person(self, owner, since=None):
        """``owner``'s jobs: ``{"version", "complete", "jobs", "ids"}``.

        Active jobs first, in Flux's order, then the finished ones, the most recently finished
        first (at most MOST_FINISHED). With ``since`` a version this state gave (for this
        owner), ``jobs`` holds only those new or changed since, and ``ids`` (the whole list's
        order) is there only if the list's membership or order changed since; otherwise
        (``complete``) every job and every id. A person without jobs gets an empty list, as
        anyone whose name the cluster never saw: the answer tells nothing of other people.
        """
        head, entries = self._answer(owner, since)
        return {**head, "jobs": [entry.job for entry in entries]}

    def person_json(self, owner, since=None):
        """``person(owner, since)`` as JSON text, from each record's text made once."""
        head, entries = self._answer(owner, since)
        jobs = ",".join(entry.json() for entry in entries)
        return _encode(head)[:-1] + ',"jobs":[' + jobs + "]}"

    def summary(self):
        """The cluster for everyone, naming no one:
        ``{"as_of", "resources", "jobs": {"running": n, "waiting": n}}``."""
        return {"as_of": self.as_of, "resources": self.resources, "jobs": dict(self._summary)}
