"""People's panels on one shared MiniCluster, before and after the hub's reader (issue 27).

On each lane (real Flux when this machine has flux-core, and the simulated instance with real
Flux's costs, FLUX_SIM_COSTS=flux-0.88), one local cluster (flux-restful behind flux-hub's guard,
single-user mode, 2 nodes of --cores/2 cores) holds --jobs jobs of --people people: the finished
ones first (person k % people submits job k), then --active `sleep 3600` jobs spread evenly over
the people (with the default 150 cores, 150 run and 50 wait). Then N people's panels refresh every
--period seconds (the panel's interval, 5 s), each refresh as the panel does it: GET cluster (the
server extension's ``JobsService.cluster()``), then the jobs list with the last answer's version
(``JobsService.list_jobs(since)``); its time is the refresh's.

- "before": today's per-person JobsService (flux_hub/serverextension/jobs.py, direct mode): each
  panel asks flux-restful for its nodes and follows its active jobs one by one, reading its
  complete listing every full_listing_interval (300 s). The panels are taken as open for a while:
  each one's first complete listing is its person's records (read once before, job by job) handed
  to it instead of flux-restful's listing (500 of them would keep the cluster busy for minutes
  before the run), and their slow timers are spread over the last 300 s, so about --seconds/300
  of them list everything during the run, as they would at any time. Run at 50 people and at
  500, the latter last (the heaviest for flux-restful: what it leaves queued cannot slow another
  part). A part stops asking after --seconds and gives the refreshes then under way --grace
  seconds; those still unanswered are counted as unfinished (and as errors).
- "after": the same JobsServices with FluxHub.reader_url (and reader_token) set: a refresh is two
  requests to the hub's reader (flux_hub/reader: its Reader polling the guard's snapshot endpoint
  as flux-restful's superuser, with its default intervals, and the accounts service's tornado
  handlers ReaderJobsAPI and ReaderClusterAPI answering the panels). The reader runs in a process
  of its own (the "hub cpu" row) with those two handlers only, not the whole hub or accounts
  service: HubAuth's token check (GET {JUPYTERHUB_API_URL}/user, cached by HubAuth) is answered by
  a small stub of the hub's API on a thread of that process (each person's server token names
  the person), and the accounts core is a stub whose account for a hub user is the same name.
- During every part the cluster keeps changing at the same pace: every 1/--churn seconds (2 s)
  the oldest active job is cancelled by its owner and a new `sleep 3600` submitted in its place
  (not through a panel, as from a terminal), so jobs end, start and wait; this also keeps the
  reader at its shortest interval (1 s) instead of idling at 10 s. A first part with no panels
  ("no panels") measures what the churn alone costs flux-restful; the ratios print the panels'
  share of flux-restful's CPU beyond it too.
- The panels run in --workers processes (spawned, so a slow panel process shows as its own CPU,
  not as the cluster's); their CPU is printed too. The machine has 2 CPUs: the panels, the hub and
  the cluster share them (and other work on the machine: load averages printed).

Tokens: each person's flux-restful access token is made once, as POST /v1/token makes it (signed
with the cluster's token signing key), instead of 500 bcrypt logins per part; the people's
accounts are made once and kept in /tmp/flux-hub-bench-cluster-reader-users-N (the same bcrypt
cost) and copied into each lane's new cluster. Flux's jobs are new on each lane.

Printed per lane and part: refreshes, p50/p90/max of a refresh, errors (+ unfinished), the panels'
answers that came from the reader (after) or flux-restful's complete listings (before),
flux-restful's CPU (server, guard and brokers; % of one core), the hub's (reader) and the panels'
processes' CPU; then before/after ratios and RESULT lines for the goals at 500 people: p90 <= 1 s,
flux-restful <= 50 % of one core, 0 errors.

    FLUX_HUB_CACHE=/var/cache/flux-hub .venv/bin/python bench/cluster_reader.py [--lanes both]
        [--people 50,500] [--seconds 60] [--skip-before] [--skip-after]
"""

import argparse
import asyncio
import collections
import json
import logging
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from _lanes import ServerCpu, cluster, lanes, p
from jupyterhub.utils import random_port
from lane import describe

LOG = logging.getLogger("bench")
ADMIN = "fluxadmin"
USERS_CACHE = Path(tempfile.gettempdir()) / "flux-hub-bench-cluster-reader-users-{count}"
STATE_FILES = ("flux-hub-local.json", "flux-restful.db")


def names(count):
    return tuple(f"p{i:03d}" for i in range(count))


# -- the cluster ------------------------------------------------------------------------------


def users_state(count):
    """A cluster state folder with the admin and ``count`` people (made once: bcrypt)."""
    folder = Path(str(USERS_CACHE).format(count=count))
    if all((folder / name).exists() for name in STATE_FILES):
        return folder
    print(f"  making {count} accounts once (bcrypt; kept in {folder}) ...", flush=True)
    started = time.monotonic()
    work = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    with cluster(work, names(count), True, {}):
        pass
    folder.mkdir(mode=0o700, exist_ok=True)
    for name in STATE_FILES:
        shutil.copy2(work / name, folder / name)
    shutil.rmtree(work, ignore_errors=True)
    print(f"  accounts made in {time.monotonic() - started:.0f} s", flush=True)
    return folder


def new_cluster(workdir, count, simulate, env, cores):
    workdir.mkdir(parents=True)
    for name in STATE_FILES:
        shutil.copy2(users_state(count) / name, workdir / name)
    return cluster(workdir, names(count), simulate, env, cores_per_node=cores // 2)


def tokens(c, users):
    """{user: access token} as flux-restful's POST /v1/token makes them (one real login shows
    the claims; the rest are signed alike with the cluster's token signing key)."""
    from jose import jwt

    from flux_hub.restful import FluxRestfulClient

    admin = FluxRestfulClient(c.url, ADMIN, c.passwords[ADMIN], c.secret_key)
    claims = jwt.get_unverified_claims(admin.login())
    key = c._load()["token_signing_key"]
    now = int(time.time())
    return {
        user: jwt.encode(
            {"sub": user, "backend": claims["backend"], "iat": now, "exp": now + 86400},
            key,
            algorithm="HS256",
        )
        for user in users
    }


def user_client(c, user, token):
    from flux_hub.restful import FluxRestfulClient

    client_ = FluxRestfulClient(c.url, user, None, c.secret_key, timeout=600)
    client_._core.token = token  # made as POST /v1/token makes it (see tokens)
    return client_


def fill(c, people, token_of, jobs, active):
    """Submit the finished jobs then the active ones; their records by person, Flux's order."""
    clients = {user: user_client(c, user, token_of[user]) for user in people}
    count = len(people)
    owners = [people[k % count] for k in range(jobs - active)]
    owners += [people[(k * count) // active] for k in range(active)]
    commands = ["true"] * (jobs - active) + ["sleep 3600"] * active
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda k: clients[owners[k]].submit(commands[k]), range(jobs - active)))
        # the active ones after all others, so they are the newest
        ids += list(
            pool.map(lambda k: clients[owners[k]].submit(commands[k]), range(jobs - active, jobs))
        )
    print(f"  {jobs} jobs submitted in {time.monotonic() - started:.0f} s", flush=True)
    deadline = time.monotonic() + 900
    while True:
        with ThreadPoolExecutor(8) as pool:
            records = list(pool.map(lambda k: clients[owners[k]].job(ids[k]), range(jobs)))
        finished = sum(r["state"] == "INACTIVE" for r in records[: jobs - active])
        running = sum(r["state"] == "RUN" for r in records[jobs - active :])
        if finished == jobs - active and running == min(active, c.nodes * c.cores_per_node):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"jobs did not settle: {finished} finished, {running} running")
        time.sleep(2)
    print(f"  settled in {time.monotonic() - started:.0f} s: {finished} finished, {running} "
          f"running, {active - running} waiting", flush=True)  # fmt: skip
    by_person = {user: [] for user in people}
    for owner, record in zip(owners, records, strict=True):
        for key in ("ranks", "expiration"):  # as flux-restful's listing fills them in
            record.setdefault(key, "")
        by_person[owner].append(record)
    return {user: sorted(jobs_, key=_listing_order) for user, jobs_ in by_person.items()}


def _listing_order(job):
    """Flux's job-list order: pending by priority then age, running newest start first, then
    finished most recently ended first."""
    state = job.get("state")
    if state in ("NEW", "DEPEND", "PRIORITY", "SCHED"):
        return (0, -(job.get("priority") or 0), job.get("t_submit") or 0, job["id"])
    if state != "INACTIVE":
        return (1, -(job.get("t_run") or 0), 0, -job["id"])
    return (2, -(job.get("t_inactive") or 0), 0, -job["id"])


# -- the panels (in worker processes) ----------------------------------------------------------


class Panel:
    """One person's JobsService, refreshed as the panel refreshes it."""

    def __init__(self, spec, user, token, hub_token, seed):
        from flux_hub.serverextension.config import FluxHub
        from flux_hub.serverextension.jobs import JobsService

        workdir = Path(spec["workdir"]) / user
        settings = {
            "host": spec["url"],
            "user": user,
            "token": "given below",  # the client gets its access token itself
            "secret_key": spec["secret_key"],
            "job_names_path": str(workdir / "job-names.json"),
            "request_timeout": 600.0,
        }
        if spec["reader_url"]:
            settings.update(reader_url=spec["reader_url"], reader_token=hub_token)
        self.service = JobsService(FluxHub(**settings), LOG)
        self.service.client._core.token = token
        self.seed = seed
        self.version = None
        self.from_reader = 0

    async def refresh(self):
        """One refresh (GET cluster, then the jobs since the last version): seconds it took."""
        answers = []

        async def send(body):
            answers.append(body)

        started = time.perf_counter()
        summary = await self.service.cluster()
        if not summary.get("reachable") or summary.get("error"):
            raise RuntimeError(f"GET cluster: {summary.get('error')}")
        await self.service.list_jobs(self.version, send)
        took = time.perf_counter() - started
        self.version = json.loads(answers[0])["version"]
        self.from_reader += bool(summary.get("reader"))
        return took

    async def first(self):
        """The first refresh, before the run: in direct mode with the person's complete listing
        handed over (see the module's docstring)."""
        if self.seed is None:
            await self.refresh()
            return
        client_ = self.service.client
        body = json.dumps(self.seed, separators=(",", ":")).encode()

        async def seeded(limit=None):
            return body

        client_.jobs_body = seeded
        try:
            await self.refresh()
        finally:
            del client_.jobs_body


def panel_worker(conn, spec):
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    random.seed(spec["seed"])
    asyncio.run(_panels(conn, spec))


async def _panels(conn, spec):
    panels = [Panel(spec, *person) for person in spec["people"]]
    limit = asyncio.Semaphore(8)

    async def first(panel):
        async with limit:
            await panel.first()

    await asyncio.gather(*map(first, panels))
    now = time.monotonic()
    for panel in panels:  # the slow timers, spread over their interval (direct mode)
        panel.service._listed_at = now - random.uniform(0, 300)
        panel.from_reader = 0
    conn.send("ready")
    start_at, deadline, grace = conn.recv()
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    me = psutil.Process()
    cpu = sum(me.cpu_times()[:2])
    latencies, errors, listings = [], [], []
    period = spec["period"]

    async def run(panel):
        await asyncio.sleep(random.uniform(0, period))
        while time.monotonic() < deadline:
            tick = time.monotonic()
            listed_at = panel.service._listed_at
            try:
                latencies.append(await panel.refresh())
            except Exception as error:  # noqa: BLE001 - counted and shown
                errors.append(f"{type(error).__name__}: {error}"[:300])
            if panel.service._listed_at != listed_at:
                listings.append(1)
            now = time.monotonic()
            await asyncio.sleep(max(0.0, min(period - (now - tick), deadline - now)))

    tasks = [asyncio.ensure_future(run(panel)) for panel in panels]
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
    done, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    conn.send(
        {
            "latencies": latencies,
            "errors": errors,
            "unfinished": len(pending),
            "listings": len(listings),
            "from_reader": sum(panel.from_reader for panel in panels),
            "cpu": sum(me.cpu_times()[:2]) - cpu,
            "wall": time.monotonic() - start_at,
        }
    )
    conn.close()


# -- the hub's reader (a process of its own) ----------------------------------------------------

SERVICE = "flux-accounts"
PREFIX = f"/services/{SERVICE}/"


def hub_worker(conn, spec):
    """The reader and the accounts service's reader endpoints, with a stub of the hub's API
    (GET /hub/api/user: the person whose server token it is) on a thread of its own."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    import secrets
    import threading
    from types import SimpleNamespace

    from tornado import web

    service_token = secrets.token_hex(16)
    people = dict(spec["hub_tokens"])  # hub token -> person
    scopes = [f"access:services!service={SERVICE}"]

    class UserAPI(web.RequestHandler):
        def get(self):
            header = self.request.headers.get("Authorization", "")
            name = people.get(header.partition(" ")[2].strip())
            if name is None:
                raise web.HTTPError(403)
            self.write({"kind": "user", "name": name, "admin": False, "groups": [],
                        "scopes": scopes})  # fmt: skip

    hub_port, port = random_port(), random_port()
    hub_ready = threading.Event()

    def hub_api():
        async def serve():
            web.Application([("/hub/api/user", UserAPI)]).listen(hub_port, "127.0.0.1")
            hub_ready.set()
            await asyncio.Event().wait()

        asyncio.run(serve())

    threading.Thread(target=hub_api, daemon=True).start()
    hub_ready.wait()
    os.environ.update(
        JUPYTERHUB_API_URL=f"http://127.0.0.1:{hub_port}/hub/api",
        JUPYTERHUB_API_TOKEN=service_token,
        JUPYTERHUB_SERVICE_NAME=SERVICE,
        JUPYTERHUB_SERVICE_PREFIX=PREFIX,
        JUPYTERHUB_CLIENT_ID=f"service-{SERVICE}",
        JUPYTERHUB_OAUTH_CALLBACK_URL=f"{PREFIX}oauth_callback",
        JUPYTERHUB_HOST="",
        JUPYTERHUB_BASE_URL="/",
    )

    async def serve():
        from jupyterhub.services.auth import HubOAuth
        from jupyterhub.utils import url_path_join

        from flux_hub.reader import ReaderCredentials
        from flux_hub.reader.poller import Reader
        from flux_hub.service import handlers

        credentials = ReaderCredentials(spec["url"], ADMIN, spec["password"], spec["secret_key"])
        reader = Reader(credentials).start()
        accounts = SimpleNamespace(  # a person's account is their hub name (see the docstring)
            record=lambda name: SimpleNamespace(account=name),
            is_current=lambda name, record: True,
            provisioner=SimpleNamespace(user_cluster_url=spec["url"]),
        )
        api = url_path_join(PREFIX, "api")
        web.Application(
            [
                (url_path_join(api, "reader/jobs"), handlers.ReaderJobsAPI),
                (url_path_join(api, "reader/cluster"), handlers.ReaderClusterAPI),
            ],
            service=SimpleNamespace(reader=reader, accounts=accounts),
            prefix=PREFIX,
            hub_auth=HubOAuth(),
            cookie_secret=os.urandom(32),
        ).listen(port, "127.0.0.1")
        await reader.fresh()
        conn.send(f"http://127.0.0.1:{port}{PREFIX}api/reader/")
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_reader(conn.fileno(), stop.set)
        await stop.wait()
        conn.send({"reads": reader.reads, "full_reads": reader.full_reads, "error": reader.error})
        await reader.stop()

    asyncio.run(serve())


# -- one lane -----------------------------------------------------------------------------------


def settle(cpu, most=0.15, longest=180):
    """Wait until flux-restful's CPU is below ``most`` of a core for 3 s (the last part's
    backlog served); seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < longest:
        used = cpu.seconds()
        time.sleep(3)
        if (cpu.seconds() - used) / 3 < most:
            break
    return time.monotonic() - started


def no_panels(cpu, spec, args):
    """The churn alone for --seconds: what flux-restful spends on it, whoever asks."""
    waited = settle(cpu)
    started = time.monotonic()
    used = cpu.seconds()
    changed = churn(spec["active"], spec["submitters"], args.churn, started + args.seconds)
    time.sleep(args.seconds)
    wall = time.monotonic() - started
    return {"people": 0, "jobs changed": len(changed), "settle": waited, "wall": wall,
            "restful cpu": (cpu.seconds() - used) / wall}  # fmt: skip


def part(c, cpu, people, spec, args, hub=None, grace=None):
    """Run ``people`` panels (spec: mode, seeds, tokens) in worker processes; their numbers."""
    ctx = multiprocessing.get_context("spawn")
    workers = max(1, min(args.workers, -(-len(people) // args.per_worker)))
    chunks = [people[i::workers] for i in range(workers)]
    procs, conns = [], []
    for i, chunk in enumerate(chunks):
        mine, theirs = ctx.Pipe()
        worker_spec = {**spec, "people": [spec["person"](user) for user in chunk], "seed": i}
        for key in ("person", "submitters", "active"):
            del worker_spec[key]
        proc = ctx.Process(target=panel_worker, args=(theirs, worker_spec), daemon=True)
        proc.start()
        procs.append(proc)
        conns.append(mine)
    for conn in conns:
        if conn.recv() != "ready":
            raise SystemExit("a panel worker failed to start")
    waited = settle(cpu)
    grace = args.grace if grace is None else grace
    start_at = time.monotonic() + 1.0
    deadline = start_at + args.seconds
    for conn in conns:
        conn.send((start_at, deadline, grace))
    hub_proc = psutil.Process(hub.pid) if hub is not None else None
    time.sleep(max(0.0, start_at - time.monotonic()))
    used, hub_used = cpu.seconds(), _cpu(hub_proc)
    submitted = churn(spec["active"], spec["submitters"], args.churn, deadline)
    results = [conn.recv() for conn in conns]
    wall = time.monotonic() - start_at
    used, hub_used = cpu.seconds() - used, _cpu(hub_proc) - hub_used
    for proc in procs:
        proc.join(30)
    latencies = [x for r in results for x in r["latencies"]]
    errors = [x for r in results for x in r["errors"]]
    unfinished = sum(r["unfinished"] for r in results)
    return {
        "people": len(people),
        "jobs changed": len(submitted),
        "workers": workers,
        "settle": waited,
        "wall": wall,
        "refreshes": len(latencies),
        "p50": p(latencies, 0.5) if latencies else float("nan"),
        "p90": p(latencies, 0.9) if latencies else float("nan"),
        "max": max(latencies) if latencies else float("nan"),
        "errors": len(errors) + unfinished,
        "unfinished": unfinished,
        "first error": errors[0] if errors else "",
        "listings": sum(r["listings"] for r in results),
        "from reader": sum(r["from_reader"] for r in results),
        "restful cpu": used / wall,
        "hub cpu": hub_used / wall if hub_proc else float("nan"),
        "panels cpu": sum(r["cpu"] for r in results) / wall,
    }


def churn(active, submitter, rate, deadline):
    """Until ``deadline``, every 1/rate seconds the oldest active job is cancelled by its owner
    and a new one submitted in its place (not through a panel: as from a terminal), so jobs
    end, start and wait as on a class's cluster, at the same rate in every part; ``active``: a
    deque of (owner, id), kept up to date. Returns the count of changes, filled in by a thread
    of its own."""
    done = []
    if rate <= 0:
        return done

    def change():
        while time.monotonic() < deadline:
            tick = time.monotonic()
            owner, job_id = active.popleft()
            try:
                submitter(owner).cancel(job_id)
                active.append((owner, submitter(owner).submit("sleep 3600")))
                done.append(job_id)
            except Exception as error:  # noqa: BLE001 - the panels' numbers are what counts
                print(f"    a churn change failed: {error}", flush=True)
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - tick)))

    import threading

    threading.Thread(target=change, daemon=True).start()
    return done


def _cpu(process):
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def lane(workdir, simulate, env, args):
    out = {"load": [os.getloadavg()[0]], "parts": {}}
    sizes = sorted(args.people)
    everyone = names(max(sizes))
    with new_cluster(workdir / "cluster", len(everyone), simulate, env, args.cores) as c:
        out["mode"] = c.mode
        token_of = tokens(c, everyone)
        listings = fill(c, everyone, token_of, args.jobs, args.active)
        out["load"].append(os.getloadavg()[0])
        cpu = ServerCpu(c)
        clients = {}

        def submitter(user):
            if user not in clients:
                clients[user] = user_client(c, user, token_of[user])
            return clients[user]

        active = collections.deque(
            (user, job["id"])
            for user, jobs_ in listings.items()
            for job in jobs_
            if job["state"] != "INACTIVE"
        )
        active = collections.deque(sorted(active, key=lambda pair: pair[1]))
        base = {"url": c.url, "secret_key": c.secret_key, "period": args.period}
        base.update(submitters=submitter, active=active)  # the churn's (the parent's only)
        direct = {
            **base,
            "workdir": str(workdir / "before"),
            "reader_url": "",
            "person": lambda user: (user, token_of[user], "", listings[user]),
        }
        parts = out["parts"]
        print("  no panels (the churn alone) ...", flush=True)
        parts["no panels"] = no_panels(cpu, direct, args)
        print(f"    {parts['no panels']}", flush=True)
        if not args.skip_before:
            smaller = [n for n in sizes if n < max(sizes)]
            for n in smaller:
                print(f"  before, {n} people ...", flush=True)
                parts[f"before {n}"] = part(c, cpu, everyone[:n], direct, args)
                print(f"    {parts[f'before {n}']}", flush=True)
        if not args.skip_after:
            hub_tokens = {user: f"hub-{user}-{i}" for i, user in enumerate(everyone)}
            ctx = multiprocessing.get_context("spawn")
            mine, theirs = ctx.Pipe()
            hub_spec = {"url": c.url, "secret_key": c.secret_key, "password": c.passwords[ADMIN],
                        "hub_tokens": [(t, u) for u, t in hub_tokens.items()]}  # fmt: skip
            hub = ctx.Process(target=hub_worker, args=(theirs, hub_spec), daemon=True)
            hub.start()
            reader_url = mine.recv()
            via_reader = {
                **base,
                "workdir": str(workdir / "after"),
                "reader_url": reader_url,
                "person": lambda user: (user, token_of[user], hub_tokens[user], None),
            }
            for n in sizes:
                print(f"  after, {n} people ...", flush=True)
                parts[f"after {n}"] = part(c, cpu, everyone[:n], via_reader, args, hub=hub)
                print(f"    {parts[f'after {n}']}", flush=True)
            mine.send("stop")
            out["reader"] = mine.recv()
            hub.join(30)
        out["load"].append(os.getloadavg()[0])
        if not args.skip_before:
            n = max(sizes)
            print(f"  before, {n} people (the heaviest for flux-restful: last) ...", flush=True)
            parts[f"before {n}"] = part(c, cpu, everyone[:n], direct, args)
            print(f"    {parts[f'before {n}']}", flush=True)
        out["load"].append(os.getloadavg()[0])
    return out


# -- the report ---------------------------------------------------------------------------------

ROWS = (
    ("refreshes", "{:d}"),
    ("jobs changed", "{:d}"),
    ("p50", "{:.3f} s"),
    ("p90", "{:.3f} s"),
    ("max", "{:.3f} s"),
    ("errors", "{:d}"),
    ("unfinished", "{:d}"),
    ("listings", "{:d}"),
    ("from reader", "{:d}"),
    ("restful cpu", "{:.1%} of a core"),
    ("hub cpu", "{:.1%} of a core"),
    ("panels cpu", "{:.1%} of a core"),
    ("workers", "{:d}"),
    ("wall", "{:.0f} s"),
)


def report(results, args):
    labels = list(results)
    width = 24
    print(describe())
    for label in labels:
        loads = ", ".join(f"{load:.1f}" for load in results[label]["load"])
        print(f"{label}: load average (1 min) at its start, filled, after the reader's parts, "
              f"at the end: {loads} ({os.cpu_count()} CPUs)")  # fmt: skip
        if "reader" in results[label]:
            print(f"{label}: the reader's reads of the snapshot: {results[label]['reader']}")
    print(f"\n== {args.jobs} jobs ({args.active} active, {args.cores} cores) of {max(args.people)} "
          f"people; each panel refreshes (GET cluster + jobs?since) every {args.period:g} s for "
          f"{args.seconds:g} s")  # fmt: skip
    names_ = [name for name in results[labels[0]]["parts"]]
    kinds = ("no", "before", "after")
    names_.sort(key=lambda n: (kinds.index(n.split()[0]), int(n.split()[1].replace("panels", "0"))))
    print(f"{'':<28}" + "".join(f"{label[: width - 2]:>{width}}" for label in labels))
    for name in names_:
        for key, form in ROWS:
            line = f"{name + ': ' + key:<28}"
            for label in labels:
                value = results[label]["parts"].get(name, {}).get(key)
                if value is None or value != value:
                    text = "-"
                elif (
                    key in ("listings", "from reader")
                    and not value
                    and name.startswith("before" if key == "from reader" else "after")
                ):
                    text = "-"
                else:
                    text = form.format(value)
                line += f"{text:>{width}}"
            print(line)
    for label in labels:
        for name in names_:
            first = results[label]["parts"].get(name, {}).get("first error")
            if first:
                print(f"{label} {name}: first error: {first}")
    print("\nbefore / after (the same people):")
    for label in labels:
        parts = results[label]["parts"]
        for n in sorted(args.people):
            b, a = parts.get(f"before {n}"), parts.get(f"after {n}")
            if not (a and b):
                continue
            print(f"  {label}, {n} people: p90 {_ratio(b['p90'], a['p90'])}, p50 "
                  f"{_ratio(b['p50'], a['p50'])}, flux-restful CPU "
                  f"{_ratio(b['restful cpu'], a['restful cpu'])}, errors {b['errors']} / "
                  f"{a['errors']}")  # fmt: skip
            idle = parts.get("no panels")
            if idle:
                over_b = b["restful cpu"] - idle["restful cpu"]
                over_a = a["restful cpu"] - idle["restful cpu"]
                print(f"    flux-restful CPU beyond the churn alone ({idle['restful cpu']:.1%}): "
                      f"before {over_b:.1%}, after {over_a:.1%}")  # fmt: skip
    n = max(args.people)
    for label in labels:
        tag = "real" if results[label]["mode"] == "flux" else "sim"
        a = results[label]["parts"].get(f"after {n}")
        if not a:
            continue
        print(f"RESULT cluster_reader.after_{n}.p90_s.{tag}={a['p90']:.4f} goal=<=1 s")
        print(f"RESULT cluster_reader.after_{n}.restful_cpu_core.{tag}={a['restful cpu']:.3f} "
              "goal=<=0.50 of one core")  # fmt: skip
        print(f"RESULT cluster_reader.after_{n}.errors.{tag}={a['errors']} goal=<=0 errors")
        print(f"RESULT cluster_reader.after_{n}.hub_cpu_core.{tag}={a['hub cpu']:.3f} "
              "(the reader's process; no goal)")  # fmt: skip
    if len(labels) == 2:
        sim, real = labels
        print("\nsimulator / real Flux, same run:")
        for name in names_:
            s, r = results[sim]["parts"].get(name), results[real]["parts"].get(name)
            if s and r and "p90" in s and "p90" in r:
                print(f"  {name}: p90 {_ratio(s['p90'], r['p90'])}, flux-restful CPU "
                      f"{_ratio(s['restful cpu'], r['restful cpu'])}")  # fmt: skip


def _ratio(a, b):
    return f"{a / b:.2f}" if b and a == a and b == b else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", choices=("both", "sim", "flux"), default="both")
    parser.add_argument(
        "--people",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[50, 500],
        help="panel counts (the largest: the goals)",
    )
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--active", type=int, default=200)
    parser.add_argument("--cores", type=int, default=150, help="the cluster's cores (2 nodes)")
    parser.add_argument("--period", type=float, default=5.0, help="the panel's interval")
    parser.add_argument("--seconds", type=float, default=60.0, help="each part's run")
    parser.add_argument("--grace", type=float, default=30.0,
                        help="seconds a refresh under way at the end may still take")  # fmt: skip
    parser.add_argument(
        "--churn",
        type=float,
        default=0.5,
        help="active jobs a second cancelled and replaced during each part (the cluster "
        "keeps changing)",
    )
    parser.add_argument("--workers", type=int, default=2, help="panel processes at most")
    parser.add_argument("--per-worker", type=int, default=250, help="panels per process")
    parser.add_argument("--skip-before", action="store_true")
    parser.add_argument("--skip-after", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    random.seed(27)
    print(describe(), flush=True)
    started = time.monotonic()
    results = {}
    with tempfile.TemporaryDirectory(prefix="flux-hub-bench-") as tmp:
        for i, (label, simulate, env) in enumerate(lanes(args.lanes)):
            print(f"{label}:", flush=True)
            results[label] = lane(Path(tmp) / f"lane-{i}", simulate, env, args)
    print(f"\n(the whole run: {time.monotonic() - started:.0f} s)\n")
    report(results, args)


if __name__ == "__main__":
    main()
