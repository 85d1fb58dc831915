"""The isolation matrix: three users and the hub admin, every operation, every way in.

Every person has a running job that writes a private marker. Each actor then tries each
operation on each person's job (their own included) through every path:

- own server:   the flux-hub API of the actor's own server (their credentials), the other
                person's job id;
- their server: the flux-hub API of the other person's server, with the actor's hub token;
- notebook API: flux_hub.notebook with the credentials the hub injected into the actor's server
                (read from that process's environment: what a kernel there gets);
- flux-restful: the restful client with those credentials, straight to the cluster.

Then the accounts service's operations, each actor on each person's account.

A cell is what happened: ok (done, and the answer held what it should), 403, 401 (login
refused), 400, shown/hidden (whether a listing holds that person's job). "submit" into another
person's account means what each path allows trying: a "user" field (own server), or their
user name with one's own password (notebook API, flux-restful). Refused operations must leave
everything as it was: at the end every job that was not cancelled by its owner (or the admin
through the owner's server) still runs, and every account still works with its password.

Admins: the hub's admin role has access:servers (JupyterHub's default), so through a person's
server the admin acts as that person; the accounts service gives admins every account action.
Their own Flux account is an ordinary one: on the cluster they are a user like the others.
"""

import itertools
from urllib.parse import quote

import pytest
import requests
from lanes import REAL_FLUX
from page_text import table_rows

from flux_hub.jobid import f58
from flux_hub.local.cluster import multi_user_problem
from flux_hub.notebook import connect
from flux_hub.notebook.api import Job
from flux_hub.restful import (
    AuthenticationFailed,
    FluxRestfulClient,
    InvalidRequest,
    JobNotFound,
    PermissionDenied,
)

from .support import ADMIN, PEOPLE, SERVICE, USERS, report, table, wait_until

pytestmark = pytest.mark.timeout(600)

JOB_PATHS = ("own server", "their server", "notebook API", "flux-restful")
JOB_OPS = ("list", "info", "output", "live output", "cancel", "submit")
ACCOUNT_OPS = (
    "list accounts",
    "read account",
    "read credentials",
    "admin page",
    "provision",
    "deactivate",
    "rotate",
    "reconcile",
)
REFUSED = {
    PermissionDenied: "403",
    AuthenticationFailed: "401",
    InvalidRequest: "400",
    JobNotFound: "404",
}


def marker(name):
    return f"private-output-of-{name}"


def expected_job_cell(path, op, actor, target):
    own = actor == target
    if path == "their server":
        return "ok" if own or actor == ADMIN else "403"
    if op == "list":
        return "shown" if own else "hidden"
    if op == "submit" and not own:
        return "400" if path == "own server" else "401"
    return "ok" if own else "403"


def expected_account_cell(op, actor, target):
    if actor == ADMIN:
        return "ok"
    if actor == target and op in ("read account", "read credentials"):
        return "ok"
    return "403"


def check(rows, expected):
    """Table lines with every unexpected cell marked, and the number of those."""
    wrong = 0
    lines = []
    for label, cells in rows:
        shown = []
        for target in PEOPLE:
            got, want = cells[target], expected(*label, target)
            if got != want:
                wrong += 1
                got = f"!{got} (want {want})"
            shown.append(got)
        lines.append([*label, *shown])
    return lines, wrong


class World:
    """The people, their injected credentials and their jobs during the matrix."""

    def __init__(self, hub, people, secrets, tmp_path):
        self.hub = hub
        self.people = people
        self.secrets = secrets
        self.creds = {name: hub.injected(name) for name in PEOPLE}
        self.tmp_path = tmp_path
        self.clients = {name: self.client(name) for name in PEOPLE}
        self.notebooks = {name: self.notebook(name) for name in PEOPLE}
        self.victims = {}
        self.cancel_targets = {}
        self.cancel_attempts = {}  # job id -> outcomes of the attempts to cancel it

    def client(self, name, **override):
        creds = {**self.creds[name], **override}
        return FluxRestfulClient(
            creds["FLUX_RESTFUL_HOST"],
            creds["FLUX_USER"],
            creds["FLUX_TOKEN"],
            creds["FLUX_SECRET_KEY"],
        )

    def notebook(self, name, **override):
        creds = {**self.creds[name], **override}
        return connect(
            creds["FLUX_RESTFUL_HOST"],
            creds["FLUX_USER"],
            creds["FLUX_TOKEN"],
            creds["FLUX_SECRET_KEY"],
            names_path=self.tmp_path / f"{name}-names.json",
        )

    def start_job(self, owner, command):
        response = self.hub.ext(self.people[owner], owner, "POST", "jobs", json=command)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def state(self, owner, job_id):
        return self.clients[owner].job(job_id)["state"]

    def cancel_target(self, owner):
        """A job of ``owner`` that is still active, for a cancel attempt."""
        job_id = self.cancel_targets.get(owner)
        if job_id is None or self.state(owner, job_id) == "INACTIVE":
            job_id = self.start_job(owner, {"command": ["sleep", "600"], "name": "cancel me"})
            self.cancel_targets[owner] = job_id
        return job_id

    def try_cancel(self, owner, attempt):
        """Run ``attempt(job_id)`` on an active job of ``owner``; returns its outcome."""
        job_id = self.cancel_target(owner)
        outcome = attempt(job_id)
        self.cancel_attempts.setdefault(job_id, []).append(outcome)
        return outcome

    def cancelled(self, owner, job_id):
        info = wait_until(
            lambda: (i := self.clients[owner].job(job_id))["state"] == "INACTIVE" and i,
            30,
            f"job {job_id} ending",
        )
        return info["result"] == "CANCELED"

    def owned_by(self, job_id, owner):
        """True if the job is ``owner``'s: they read it, everybody else is refused."""
        for name, client in self.clients.items():
            try:
                client.job(job_id)
                mine = True
            except PermissionDenied:
                mine = False
            if mine != (name == owner):
                return False
        return True


# -- the four job paths ------------------------------------------------------------------------


def http_cell(response, good):
    """ok if a 2xx answer passes ``good``, else the status; a refusal must say why, and show
    nothing private."""
    if 200 <= response.status_code < 300:
        return "ok" if good(response) else f"{response.status_code} (wrong answer)"
    if any(marker(name) in response.text for name in PEOPLE):
        return f"{response.status_code} LEAK"
    if response.headers.get("Content-Type", "").startswith("application/json"):
        assert response.json().get("message"), response.text
    return str(response.status_code)


def via_server(world, path, op, actor, target):
    """own server: the actor's server, target's job; their server: the target's server."""
    hub, person = world.hub, world.people[actor]
    server = actor if path == "own server" else target
    victim = world.victims[target]

    def call(method, url, **kwargs):
        return hub.ext(person, server, method, url, **kwargs)

    if op == "list":
        response = call("GET", "jobs")
        if path == "own server" and response.status_code == 200:
            ids = {job["id"] for job in response.json()["jobs"]}
            return "shown" if victim in ids else "hidden"
        return http_cell(response, lambda r: victim in {j["id"] for j in r.json()["jobs"]})
    if op == "info":
        return http_cell(call("GET", f"jobs/{victim}"), lambda r: r.json()["state"] == "RUN")
    if op == "output":
        response = call("GET", f"jobs/{victim}/output")
        return http_cell(response, lambda r: r.json()["output"] == [marker(target) + "\n"])
    if op == "live output":
        with hub.server(
            person.token, server, "GET", f"flux-hub/api/jobs/{victim}/output/stream", stream=True
        ) as response:
            if response.status_code != 200:
                return http_cell(response, lambda r: False)
            first = next(response.iter_content(chunk_size=None))
            return "ok" if first == (marker(target) + "\n").encode() else "200 (wrong answer)"
    if op == "cancel":
        return world.try_cancel(
            target,
            lambda job_id: http_cell(
                call("POST", f"jobs/{job_id}/cancel"), lambda r: world.cancelled(target, job_id)
            ),
        )
    assert op == "submit"
    if path == "own server" and actor != target:
        response = call("POST", "jobs", json={"command": ["true"], "user": target})
        return http_cell(response, lambda r: False)
    response = call("POST", "jobs", json={"command": ["true"]})
    return http_cell(response, lambda r: world.owned_by(r.json()["id"], target))


def first_chunk(chunks):
    """The first chunk of an output stream; the stream is closed after it."""
    try:
        return next(iter(chunks))
    finally:
        chunks.close()


def submit_as(connection):
    with connection:
        return connection.submit(["true"])


def via_python(world, path, op, actor, target):
    """notebook API / flux-restful with the actor's injected credentials."""
    victim = world.victims[target]
    stolen = {"FLUX_USER": target, "FLUX_TOKEN": world.creds[actor]["FLUX_TOKEN"]}
    if path == "notebook API":
        flux = world.notebooks[actor]
        api = {
            "list": lambda: [job.id for job in flux.jobs()],
            "info": lambda: flux.job(victim).state,
            "output": lambda: Job(flux, victim).output(),
            "live output": lambda: first_chunk(Job(flux, victim).stream()),
            "cancel": lambda job_id: Job(flux, job_id).cancel(),
            "submit": lambda: flux.submit(["true"]).id,
            "impostor": lambda: submit_as(world.notebook(actor, **stolen)),
        }
    else:
        client = world.clients[actor]
        api = {
            "list": lambda: [job["id"] for job in client.jobs()],
            "info": lambda: client.job(victim)["state"],
            "output": lambda: "".join(client.output(victim)),
            "live output": lambda: first_chunk(client.stream_output(victim)),
            "cancel": client.cancel,
            "submit": lambda: client.submit(["true"]),
            "impostor": lambda: submit_as(world.client(actor, **stolen)),
        }
    try:
        if op == "list":
            return "shown" if victim in api["list"]() else "hidden"
        if op == "cancel":

            def attempt(job_id):
                try:
                    api["cancel"](job_id)
                except tuple(REFUSED) as error:
                    return refusal(error, target)
                return "ok" if world.cancelled(target, job_id) else "cancel had no effect"

            return world.try_cancel(target, attempt)
        if op == "submit":
            if actor != target:
                api["impostor"]()
                return "submitted as another"
            return "ok" if world.owned_by(api["submit"](), target) else "not owned"
        result = api[op]()
        want = "RUN" if op == "info" else marker(target) + "\n"
        return "ok" if result == want else f"wrong answer {result!r}"
    except tuple(REFUSED) as error:
        return refusal(error, target)


def refusal(error, target):
    """The cell for a typed refusal; its message says why and shows nothing private."""
    assert str(error) and marker(target) not in str(error)
    return next(code for kind, code in REFUSED.items() if isinstance(error, kind))


@pytest.fixture(scope="module")
def world(hub, people, secrets, tmp_path_factory):
    world = World(hub, people, secrets, tmp_path_factory.mktemp("isolation"))
    for name in PEOPLE:
        command = ["sh", "-c", f"echo {marker(name)}; sleep 600"]
        world.victims[name] = world.start_job(name, {"command": command, "name": "victim"})
    for name, job_id in world.victims.items():
        wait_until(
            lambda n=name, j=job_id: world.clients[n].output(j) == [marker(n) + "\n"],
            60,
            f"{name}'s job writing its marker",
        )
    yield world
    # Rotated passwords reach servers when they start: start every server again.
    hub.stop_servers(people.values())
    hub.start_servers(people.values())
    for client in [*world.clients.values(), *world.notebooks.values()]:
        client.close()


def test_no_one_reads_or_changes_another_persons_jobs(world):
    rows = []
    for path, op, actor in itertools.product(JOB_PATHS, JOB_OPS, USERS + (ADMIN,)):
        run = via_server if path in ("own server", "their server") else via_python
        cells = {target: run(world, path, op, actor, target) for target in PEOPLE}
        rows.append(((path, op, actor), cells))
    # flux-restful's own id listing (GET /v1/jobs) lists every user's job records in
    # single-user mode: a documented limitation of flux-restful 1.1.0, shown for what it is.
    # On real Flux as root the cluster is multi-user, whose listing has the caller's jobs only.
    multi_user = REAL_FLUX and multi_user_problem("flux") is None
    for actor in PEOPLE:
        listed = {job["id"] for job in world.clients[actor].list_jobs()}
        cells = {t: "shown" if world.victims[t] in listed else "hidden" for t in PEOPLE}
        rows.append((("flux-restful", "id listing*", actor), cells))

    def expected(path, op, actor, target):
        if op == "id listing*":
            return "shown" if actor == target or not multi_user else "hidden"
        return expected_job_cell(path, op, actor, target)

    lines, wrong = check(rows, expected)
    report(
        "isolation matrix: jobs (cell = what the actor got for that person's job)",
        table(["path", "operation", "actor", *PEOPLE], lines)
        + [
            "* GET /v1/jobs lists every user's job ids and records (state, name = the first",
            "  word of the command, times) in flux-restful's single-user mode; no flux-hub API",
            "  shows them, and no output, command or environment is in them. In multi-user mode",
            "  (real Flux as root) it lists the caller's jobs only.",
        ],
    )
    assert wrong == 0, "\n".join("  ".join(map(str, line)) for line in lines)

    # Nothing that was refused changed anything: every victim still runs, with only its marker.
    for name, job_id in world.victims.items():
        assert world.state(name, job_id) == "RUN"
        assert world.clients[name].output(job_id) == [marker(name) + "\n"]
    for name, job_id in world.cancel_targets.items():
        if "ok" not in world.cancel_attempts.get(job_id, []):
            assert world.state(name, job_id) == "RUN", (name, world.cancel_attempts[job_id])
    for name, client in world.clients.items():
        for job_id in (world.victims[name], world.cancel_targets[name]):
            if world.state(name, job_id) != "INACTIVE":
                client.cancel(job_id)


def account_cell(world, op, actor, target):
    hub, person = world.hub, world.people[actor]
    admin = world.people[ADMIN]

    def service(method, path):
        return hub.service(person.token, method, path)

    if op == "list accounts":
        listed = service("GET", "api/accounts")
        return http_cell(listed, lambda r: target in [a["hub_user"] for a in r.json()["accounts"]])
    if op == "read account":
        if actor == target:
            return http_cell(service("GET", "api/me"), lambda r: r.json()["account"] == target)
        return account_cell(world, "list accounts", actor, target)
    if op == "read credentials":
        path = "api/me/credentials" if actor == target else f"api/accounts/{target}/credentials"
        good = world.people[target].password
        return http_cell(service("GET", path), lambda r: r.json()["FLUX_TOKEN"] == good)
    if op == "admin page":
        response = person.session.get(f"{hub.url}{SERVICE}admin", timeout=60)
        return http_cell(response, lambda r: any(row[:1] == [target] for row in table_rows(r.text)))
    if op == "reconcile":
        return http_cell(service("POST", "api/reconcile"), lambda r: r.json()["error"] is None)
    response = service("POST", f"api/accounts/{quote(target)}/{op}")
    if response.status_code != 200:
        return http_cell(response, lambda r: False)
    status = response.json()["status"]
    if op == "deactivate":
        if status != "deactivated" or works(world, target):
            return f"200 but {status}"
        # Put it back as it was: the same password works again.
        back = hub.service(admin.token, "POST", f"api/accounts/{quote(target)}/provision")
        assert back.json()["status"] == "reactivated", back.text
    if op == "rotate":
        creds = hub.service(admin.token, "GET", f"api/accounts/{quote(target)}/credentials").json()
        world.secrets.add(creds["FLUX_TOKEN"], "flux password", target)
        if creds["FLUX_TOKEN"] == world.people[target].password:
            return "200 but the password stayed"
        world.people[target].password = creds["FLUX_TOKEN"]
        world.creds[target]["FLUX_TOKEN"] = creds["FLUX_TOKEN"]
    return "ok" if works(world, target) else f"200 but {target} cannot log in"


def works(world, name):
    """Whether ``name``'s current password logs in to the cluster."""
    try:
        with world.client(name) as client:
            client.login()
        return True
    except AuthenticationFailed:
        return False


def test_accounts_are_only_the_admins_to_change(world):
    rows = []
    for actor in USERS:
        for op in ACCOUNT_OPS:
            rows.append(((op, actor), {t: account_cell(world, op, actor, t) for t in PEOPLE}))
    # The users' refused attempts changed nothing: every account works with its password.
    assert all(works(world, name) for name in PEOPLE)
    for op in ACCOUNT_OPS:
        rows.append(((op, ADMIN), {t: account_cell(world, op, ADMIN, t) for t in PEOPLE}))

    lines, wrong = check(
        [(("accounts service", op, actor), cells) for (op, actor), cells in rows],
        lambda path, op, actor, target: expected_account_cell(op, actor, target),
    )
    report(
        "isolation matrix: accounts (cell = what the actor got for that person's account)",
        table(["path", "operation", "actor", *PEOPLE], lines),
    )
    assert wrong == 0, "\n".join("  ".join(map(str, line)) for line in lines)


# -- the hub's reader of the cluster (issue 27) --------------------------------------------------

READER_PATHS = ("hub token", "server token")
READER_OPS = ("jobs", "jobs since another's version", "jobs ?user=<them>", "cluster")


def reader_get(world, actor, path, query=""):
    """GET the reader's endpoint as ``actor``: with their hub token (a browser or script) or
    with their server's own token (what their server asks with)."""
    if path == "hub token":
        token = world.people[actor].token
    else:
        token = world.hub.server_process(actor).environ()["JUPYTERHUB_API_TOKEN"]
    return requests.get(
        f"{world.hub.url}{SERVICE}api/reader/{query}",
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )


def others_in(world, text, actor):
    """What of other people an answer holds: their job ids (integer or F58), names, markers."""
    found = []
    for name in PEOPLE:
        if name == actor:
            continue
        victim = world.victims[name]
        for value in (str(victim), f58(victim), marker(name), f'"{name}"'):
            if value in text:
                found.append(value)
    return found


def reader_cell(world, path, op, actor, target):
    def jobs_cell(response):
        if response.status_code != 200:
            return http_cell(response, lambda r: False)
        if others_in(world, response.text, actor):
            return "LEAK " + ", ".join(others_in(world, response.text, actor))
        answer = response.json()
        ids = {job["id"] for job in answer["jobs"]} | set(answer.get("ids") or ())
        return "shown" if world.victims[target] in ids else "hidden"

    if op == "jobs":
        return jobs_cell(reader_get(world, actor, path, "jobs"))
    if op == "jobs since another's version":
        theirs = reader_get(world, target, path, "jobs").json()["version"]
        # Their version, given back as the actor's: still only the actor's own jobs (changed
        # since that number of the actor's own count), or all of them. One's own version:
        # nothing changed since
        response = reader_get(world, actor, path, f"jobs?since={quote(theirs)}")
        if actor == target and response.status_code == 200:
            answer = response.json()
            unchanged = answer["jobs"] == [] and answer["version"] == theirs
            return "unchanged" if unchanged else f"changed: {response.text[:200]}"
        return jobs_cell(response)
    if op == "jobs ?user=<them>":
        query = f"jobs?user={quote(target)}&account={quote(target)}&owner={quote(target)}"
        return jobs_cell(reader_get(world, actor, path, query))
    assert op == "cluster"
    response = reader_get(world, actor, path, "cluster")
    if response.status_code != 200:
        return http_cell(response, lambda r: False)
    leaked = others_in(world, response.text, None) + [
        name for name in PEOPLE if name in response.text
    ]
    if leaked:
        return "LEAK " + ", ".join(leaked)
    answer = response.json()
    counts = answer["jobs"]
    # The cluster's counts, the same for everyone (nothing else runs during the matrix)
    same = reader_get(world, target, path, "cluster").json()["jobs"] == counts
    numbers = set(counts) == {"running", "waiting"} and all(
        isinstance(n, int) and n >= 0 for n in counts.values()
    )
    return "anonymous" if same and numbers else f"counts {counts}"


def expected_reader_cell(path, op, actor, target):
    if op == "cluster":
        return "anonymous"
    if op == "jobs since another's version" and actor == target:
        return "unchanged"
    return "shown" if actor == target else "hidden"


def test_the_reader_shows_each_person_only_their_own(world):
    """The reader's endpoints, 4 actors x each endpoint x each way in: a person's own jobs
    only, whatever they pass; the cluster's state names no one. The endpoints take no job id,
    so no answer can tell another person's id from an unknown one, by content or by time."""
    # Every person's victim is in the reader's memory first
    for name in PEOPLE:
        wait_until(
            lambda n=name: (
                world.victims[n]
                in {job["id"] for job in reader_get(world, n, "hub token", "jobs").json()["jobs"]}
            ),
            60,
            f"the reader showing {name} their job",
        )
    rows = []
    for path, op, actor in itertools.product(READER_PATHS, READER_OPS, PEOPLE):
        cells = {target: reader_cell(world, path, op, actor, target) for target in PEOPLE}
        rows.append(((f"reader, {path}", op, actor), cells))
    lines, wrong = check(
        rows,
        lambda path, op, actor, target: expected_reader_cell(
            path.removeprefix("reader, "), op, actor, target
        ),
    )
    report(
        "isolation matrix: the hub's reader (cell = what the actor got of that person)",
        table(["path", "operation", "actor", *PEOPLE], lines)
        + [
            "  cluster: every answer names no one and holds no job id; its counts are the",
            "  cluster's (everyone's), the same for every person.",
        ],
    )
    assert wrong == 0, "\n".join("  ".join(map(str, line)) for line in lines)

    # A person's version says nothing of the others: alice's stays as it was while bob's
    # jobs start and end
    before = reader_get(world, "alice", "hub token", "jobs").json()
    # (straight to the cluster: an earlier test may have rotated bob's password under his server)
    with world.client("bob") as bob:
        job_id = bob.submit(["true"])
    wait_until(
        lambda: any(
            job["id"] == job_id and job["state"] == "INACTIVE"
            for job in reader_get(world, "bob", "hub token", "jobs").json()["jobs"]
        ),
        60,
        "the reader seeing bob's job end",
    )
    after = reader_get(world, "alice", "hub token", f"jobs?since={quote(before['version'])}")
    assert after.status_code == 200, after.text
    assert after.json()["version"] == before["version"]
    assert after.json()["jobs"] == [] and "ids" not in after.json()
