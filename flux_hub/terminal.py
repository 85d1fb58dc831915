"""``flux-hub submit|jobs|job|logs|cancel|history|resubmit|status``: Flux jobs from a terminal,
the way Flux users know it.

In a JupyterLab terminal of a hub-spawned server these read the environment the hub injects
(``FLUX_RESTFUL_HOST``, ``FLUX_USER``, ``FLUX_TOKEN``, ``FLUX_SECRET_KEY``) and talk to the
cluster's flux-restful API as that user; names given to jobs show in the JupyterLab panel too.

A job's working directory is the current directory, or ``--cwd DIR``, as the terminal sees
it; the cluster gets its own path of it (flux_hub/paths.py, from ``FLUX_HUB_PATHS``), and
``flux-hub job`` shows it the terminal's way again.

``flux-hub status`` says how busy the cluster is and why the person's waiting jobs wait; with the
hub's reader of the cluster (``FLUX_HUB_READER_URL`` and ``JUPYTERHUB_API_TOKEN``, which a
JupyterLab terminal has from its server) free cores and GPUs, the queue and each waiting job's
position, else the nodes that are up, from flux-restful. ``flux-hub jobs`` lists the person's jobs
(from the reader when there is one) with the reason each waiting one waits (flux_hub/waiting.py).

``flux-hub history`` reads the person's job history (flux_hub/history.py, the panel's History):
every job submitted through flux-hub, from any front-end, kept on their side, so it answers when
the cluster is down, restarted or removed. ``flux-hub resubmit ID`` runs a recorded job again
exactly as it was first sent, submit's flags changing what they give.

Exit status, for scripts: 0 when the command did what was asked (``submit --wait``: the job's own
exit code, as ``flux run`` exits); 1 when the cluster refused or could not be reached, or a job
is not there; 2 for a command line that cannot be run (a usage error). Errors are one line on
standard error, never a traceback.
"""

import argparse
import json
import os
import shlex
import signal
import sys
import time
from datetime import datetime

from flux_hub import jobid, jobrequest
from flux_hub.history import MAX_LIMIT, HistoryError
from flux_hub.holds import client as holds_client
from flux_hub.jobstates import ACTIVE, PENDING, RUNNING, is_active
from flux_hub.journal import SubmittedJobs, journal_path
from flux_hub.notebook.api import COLUMNS, HistoryList, Job, JobList, _text_table, history_search
from flux_hub.restful import ClusterUnavailable, FluxRestfulError, JobNotFound, PermissionDenied
from flux_hub.serverextension.reader import ReaderUnavailable, from_env, read
from flux_hub.waiting import why_waiting

OK, FAILED, USAGE = 0, 1, 2
# --env as argparse takes it (abbreviated too)
ENV_FLAGS = ("--env", "--en")


class CommandError(Exception):
    """A failure to report in one line, with its exit status."""

    def __init__(self, message, status=FAILED):
        super().__init__(message)
        self.status = status


def add_parsers(commands):
    """Add the job commands to ``flux-hub``'s subcommands."""
    submit = commands.add_parser(
        "submit",
        help="submit a job (prints its id)",
        description="Submit CMD as a Flux job and print its id; with --wait, print its output "
        "as it comes and exit with the job's exit code. CMD runs as given (a program and its "
        "arguments); for shell syntax use: flux-hub submit bash -c 'for i in 1 2; do ...; done'.",
    )
    jobrequest.add_arguments(submit)
    holds_client.add_dependency_argument(submit)
    submit.add_argument("--keep-env", action="store_true", help=jobrequest.KEEP_ENV_HELP)
    submit.add_argument(
        "--wait", action="store_true", help="follow the output and exit with the job's code"
    )
    submit.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD...")
    submit.set_defaults(func=_run, action=submit_job)

    jobs = commands.add_parser(
        "jobs", help="list your jobs", description="Your jobs, newest first (active ones only)."
    )
    jobs.add_argument("-a", "--all", action="store_true", help="finished jobs too")
    jobs.add_argument(
        "--json",
        action="store_true",
        help="flux-restful's records as JSON (a waiting job's with \"waiting\": why)",
    )
    jobs.set_defaults(func=_run, action=list_jobs)

    status = commands.add_parser(
        "status",
        help="how busy the cluster is, and why your waiting jobs wait",
        description="The cluster you use: its nodes, cores and GPUs free and in all, the jobs "
        "running and waiting (everyone's), and your waiting jobs with their place in the queue, "
        "why they wait and when they should start. Without the hub's reader of the cluster "
        "(FLUX_HUB_READER_URL): the nodes that are up, and your waiting jobs' reasons.",
    )
    status.add_argument("--json", action="store_true", help="the same as JSON")
    status.set_defaults(func=_run, action=show_status)

    job = commands.add_parser("job", help="show one job", description="One job's details.")
    job.add_argument("id", help="job id: ƒ2Vj1dB9 (as flux jobs shows it), f2Vj1dB9 or decimal")
    job.add_argument("--json", action="store_true", help="flux-restful's record as JSON")
    job.set_defaults(func=_run, action=show_job)

    logs = commands.add_parser("logs", help="print a job's output", description="A job's output.")
    logs.add_argument("id", help="job id")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="follow the output until the job ends"
    )
    logs.set_defaults(func=_run, action=job_logs)

    cancel = commands.add_parser(
        "cancel",
        help="cancel jobs",
        description="Cancel jobs: those named, or with --all every active job of yours (as "
        "flux cancel --all), --states narrowing it.",
    )
    cancel.add_argument("ids", nargs="*", metavar="ID", help="job ids")
    cancel.add_argument(
        "-A", "--all", action="store_true", help="every job of yours that is active (or --states)"
    )
    cancel.add_argument(
        "-S",
        "--states",
        default="active",
        metavar="STATES",
        help="with --all: pending, running or active (the default), or names of states "
        "(sched, run ...), comma-separated",
    )
    cancel.add_argument(
        "-n", "--dry-run", action="store_true", help="with --all: say which, cancel nothing"
    )
    cancel.set_defaults(func=_run, action=cancel_jobs)

    history = commands.add_parser(
        "history",
        help="list the jobs you submitted through flux-hub",
        description="Every job you submitted through flux-hub (the panel, the file browser, "
        "notebooks, %%flux, this terminal), newest first, as your job history keeps it: it "
        "answers when the cluster is down, restarted or removed (its jobs then show as "
        '"cluster gone").',
    )
    history.add_argument(
        "--since",
        metavar="WHEN",
        help="submitted at or after WHEN: a date (2026-12-07), a date and time "
        "(2026-12-07T09:30, local time) or a time back from now (2h, 3d)",
    )
    history.add_argument(
        "--state",
        metavar="S",
        help="active, completed, failed, canceled, timeout or gone (cluster gone)",
    )
    history.add_argument(
        "--origin",
        metavar="O",
        help="panel, file, notebook, magic (%%%%flux), cli (this terminal) or unknown (imported)",
    )
    history.add_argument("-q", metavar="TEXT", help="text in the name or the command")
    history.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help=f"at most N jobs (default 50, at most {MAX_LIMIT})",
    )
    history.add_argument(
        "--json", action="store_true", help="the records as JSON (as the panel's API gives them)"
    )
    history.set_defaults(func=_run, action=show_history)

    resubmit = commands.add_parser(
        "resubmit",
        help="submit a job from your history again (prints its id)",
        description="Submit job ID again exactly as it was first sent (command, resources, time "
        "limit, working directory, environment) and print the new id; submit's flags change "
        "what they give (resubmit ID -n 4 -t 1h). With --wait, print its output as it comes "
        "and exit with its exit code.",
    )
    resubmit.add_argument(
        "id", metavar="ID", help="job id: ƒ2Vj1dB9 (as flux jobs shows it), f2Vj1dB9 or decimal"
    )
    jobrequest.add_arguments(resubmit)
    resubmit.add_argument(
        "--wait", action="store_true", help="follow the output and exit with the job's code"
    )
    resubmit.set_defaults(func=_run, action=resubmit_job)

    # flux-hub bulksubmit: a sweep, as flux bulksubmit (flux_hub/sweep.py)
    from flux_hub.sweep import add_parser as add_bulksubmit

    add_bulksubmit(commands)


def _run(args):
    from flux_hub.notebook.api import connect

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `flux-hub jobs | head` ends quietly
    try:
        with connect() as cluster:
            return args.action(cluster, args)
    except CommandError as error:
        _say(str(error))
        return error.status
    except (FluxRestfulError, ValueError, HistoryError) as error:
        _say(str(error))
        return FAILED
    except KeyboardInterrupt:
        return 130


def _say(message):
    print(f"flux-hub: {message}", file=sys.stderr, flush=True)


def _parse_id(text):
    try:
        return jobid.parse(text)
    except ValueError:
        raise CommandError(
            f"{text!r} is not a job id (ƒ2Vj1dB9 as flux jobs shows it, or decimal)", USAGE
        ) from None


def submit_job(cluster, args):
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    raw = jobrequest.from_arguments(args)
    if args.dependency:  # held by the hub until the jobs it names end
        try:
            return holds_client.terminal_submit(cluster, args, command, raw, _submitted)
        except ValueError as error:  # a bad field, dependency (DependencyError) or folder
            raise CommandError(str(error), USAGE) from None
    name, runtime, workdir = (raw.pop(key, None) for key in ("name", "runtime", "workdir"))
    try:
        # Every field is checked by flux_hub.jobrequest, as in %%flux, the notebook and the panel
        origin = {"origin_kind": "cli", "origin_command": command_line(sys.argv, args.command)}
        if args.keep_env:
            origin["keep_env_values"] = True
        job = cluster._submit(command or None, name, runtime, workdir, raw, "--cwd", origin)
    except ValueError as error:  # a bad field (JobRequestError) or a folder (PathNotShared)
        raise CommandError(str(error), USAGE) from None
    return _submitted(job, args.wait)


def resubmit_job(cluster, args):
    number = _parse_id(args.id)
    overrides = jobrequest.from_arguments(args)
    try:
        job = cluster._resubmit(number, overrides, "--cwd")
    except HistoryError as error:  # not in the history, or cannot be run again as it was
        raise CommandError(str(error)) from None
    except ValueError as error:  # a bad override (JobRequestError) or a folder (PathNotShared)
        raise CommandError(str(error), USAGE) from None
    return _submitted(job, args.wait)


def _submitted(job, wait):
    """Print the id of the job just submitted; with ``wait``, its output until it ends, and
    return its exit code."""
    if not wait:
        print(job.f58, flush=True)
        return OK
    print(f"flux-hub: job {job.f58} submitted", file=sys.stderr, flush=True)
    _follow(job)
    job.wait()
    if job.result != "COMPLETED":
        note = (job.info.get("exception") or {}).get("note")
        _say(f"job {job.f58} {(job.result or 'ended').lower()}" + (f": {note}" if note else ""))
    code = job.returncode
    if code is None:
        return FAILED
    return code if 0 <= code < 256 else 128 - code if code < 0 else FAILED


def command_line(argv, command):
    """The ``flux-hub submit`` command line as typed, for the job history: the program's name
    (not its path) and the words, ``--env NAME=VALUE`` options' values left out (the history
    keeps no environment values; the job's own command, the last ``command`` words, stays)."""
    program = os.path.basename(argv[0]) if argv else ""
    if not program or program.endswith(".py"):  # python -m flux_hub.cli
        program = "flux-hub"
    words = list(argv[1:])
    options = len(words) - len(command)
    for i, word in enumerate(words[:options]):
        flag, equals, value = word.partition("=")
        if flag in ENV_FLAGS and equals:
            words[i] = f"{flag}={value.partition('=')[0]}=…"
        elif i and words[i - 1] in ENV_FLAGS:
            words[i] = word.partition("=")[0] + "=…"
    return shlex.join([program, *words])


JOB_COLUMNS = (*COLUMNS, "reason")
# The last submits through flux-hub looked up when the reader does not show them (yet)
RECENT_SUBMITS = 10
WAITING_COLUMNS = ("id", "name", "position", "reason", "starts")


def _from_reader(path):
    """The hub's reader's answer to ``path`` ("jobs", "cluster"), or None when there is no
    reader (the environment names none) or it did not answer (then the string why)."""
    reader = from_env()
    if reader is None:
        return None
    try:
        return read(*reader, path)
    except ReaderUnavailable as error:
        return str(error)


def _your_jobs(cluster):
    """(the person's jobs as a JobList, records with ``waiting`` when pending; the reader's
    failure or None): from the reader when it answers, else flux-restful's listing."""
    answer = _from_reader("jobs")
    if isinstance(answer, dict):
        infos, failure = answer["jobs"] + _not_read_yet(cluster, answer["jobs"]), None
        # a job looked up goes where Flux lists it: waiting, running, then finished
        infos.sort(key=lambda info: 0 if why_waiting(info) else 2 if _ended(info) else 1)
    else:
        infos, failure = [job.info for job in cluster.jobs()], answer
    jobs = JobList(Job(cluster, info["id"], _waiting(info)) for info in infos)
    return jobs, failure


def _ended(info):
    return info.get("state") == "INACTIVE"


def _not_read_yet(cluster, read):
    """The person's newest jobs submitted through flux-hub (the journal, flux_hub/journal.py)
    that the reader has not read yet, from flux-restful: ``flux-hub submit`` and then ``flux-hub
    jobs`` shows the job even if the reader reads the cluster only a few seconds later."""
    known = {info["id"] for info in read}
    newest = SubmittedJobs(journal_path(cluster.names.path)).new()[-RECENT_SUBMITS:]
    found = []
    for number in reversed([n for n in dict.fromkeys(newest) if n not in known]):
        try:
            found.append(cluster.client.job(number))
        except (JobNotFound, PermissionDenied):  # purged, or not this account's
            continue
    return found


def _waiting(info):
    """The record with ``waiting`` when it is pending (the reader's own when it gave one)."""
    said = None if isinstance(info.get("waiting"), dict) else why_waiting(info)
    return info if said is None else {**info, "waiting": said}


def list_jobs(cluster, args):
    jobs, _ = _your_jobs(cluster)
    if not args.all:
        jobs = type(jobs)(job for job in jobs if is_active(job._info))
    if args.json:
        print(json.dumps([job._info for job in jobs], indent=1))
    elif jobs:
        header = dict(zip(JOB_COLUMNS, JOB_COLUMNS, strict=True))
        rows = [
            {**row, "reason": (job._info.get("waiting") or {}).get("reason", "")}
            for job, row in zip(jobs, jobs.rows(), strict=True)
        ]
        print(_text_table([header, *rows], JOB_COLUMNS))
    else:
        print("No active jobs." if not args.all else "No jobs.", file=sys.stderr)
    return OK


def show_status(cluster, args):
    """The cluster's state and the person's waiting jobs (see the module)."""
    state = _from_reader("cluster")
    failure = state if isinstance(state, str) else None
    summary = {"cluster": cluster.host, "account": cluster.user, "reader": False}
    if isinstance(state, dict):
        resources = state["resources"]
        summary.update(reader=True, as_of=state.get("as_of"), resources=resources)
        summary.update(queue=state["jobs"], nodes=resources.get("hosts_up") or [])
    else:
        summary.update(as_of=None, resources=None, queue=None, nodes=sorted(cluster.nodes()))
    jobs, jobs_failure = _your_jobs(cluster)
    failure = failure or jobs_failure
    waiting = [job for job in jobs if isinstance(job._info.get("waiting"), dict)]
    summary["waiting"] = [
        {"id": job.id, "name": job.name, "state": job._info["state"], **job._info["waiting"]}
        for job in waiting
    ]
    if failure:
        _say(f"{failure}; asked flux-restful directly")
    if args.json:
        print(json.dumps(summary, indent=1))
        return OK
    lines = [("cluster", summary["cluster"]), ("account", summary["account"] or "")]
    if summary["reader"]:
        lines.append(("source", "the hub's reader of the cluster"))
        lines.extend(_resource_lines(summary["resources"], summary["queue"]))
    else:
        lines.append(("source", "flux-restful directly (free cores and the queue need the hub)"))
        nodes = summary["nodes"]
        lines.append(("nodes", f"{len(nodes)} up" + (f": {', '.join(nodes)}" if nodes else "")))
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {value}")
    print()
    if not waiting:
        print("None of your jobs is waiting.")
        return OK
    header = dict(zip(WAITING_COLUMNS, WAITING_COLUMNS, strict=True))
    rows = [header]
    for job, said in zip(waiting, summary["waiting"], strict=True):
        place = said["position"]
        rows.append(
            {
                "id": job.f58,
                "name": job.name,
                "position": f"{place} ({said['ahead']} ahead)" if place else "",
                "reason": said["reason"],
                "starts": _starts(said["t_estimate"]),
            }
        )
    print(f"Your waiting jobs ({len(waiting)}):")
    print(_text_table(rows, WAITING_COLUMNS))
    return OK


def _resource_lines(resources, queue):
    def count(kind):
        pool = resources.get(kind) or {}
        return pool.get("free", 0), pool.get("total", 0), pool.get("up", 0)

    lines = []
    for kind in ("nodes", "cores", "gpus"):
        free, total, up = count(kind)
        if kind == "gpus" and not total:
            lines.append(("GPUs", "none"))
            continue
        down = f", {total - up} down" if up < total else ""
        lines.append((kind if kind != "gpus" else "GPUs", f"{free} free / {total}{down}"))
    running, waiting = (queue or {}).get("running", 0), (queue or {}).get("waiting", 0)
    lines.append(("jobs", f"{running} running, {waiting} waiting (everyone's)"))
    return lines


def _starts(t_estimate):
    """When the scheduler expects the job to start: "14:05 (in 12 min)", or ""."""
    if not t_estimate:
        return ""
    minutes = max(0, round((t_estimate - time.time()) / 60))
    at = datetime.fromtimestamp(t_estimate).strftime("%H:%M")
    return f"{at} (in {minutes} min)" if minutes else f"{at} (now)"


def show_history(cluster, args):
    try:
        search = history_search(
            args.q, state=args.state, origin=args.origin, since=args.since, limit=args.limit
        )
    except ValueError as error:  # named as the options are
        message = str(error)
        for key in ("since", "state", "origin", "limit"):
            message = message.replace(f"'{key}'", f"--{key}")
        raise CommandError(message, USAGE) from None
    records = cluster._open_history().search(**search)["records"]
    if args.json:
        print(json.dumps(records, indent=1))
    elif records:
        print(repr(HistoryList(records)))
    else:
        match = " match" if _searched(search) else ""
        print(f"No jobs in your history{match}.", file=sys.stderr)
    return OK


def _searched(search):
    return any(search.get(key) is not None for key in ("q", "state", "origin", "since"))


def show_job(cluster, args):
    job = _job(cluster, args.id)
    info = job.info
    if args.json:
        print(json.dumps(info, indent=1))
        return OK
    exception = info.get("exception") or {}
    row = next(JobList([job]).rows())  # the notebook table's own formatting of each field
    lines = [
        ("id", f"{row['id']} ({job.id})"),
        ("name", row["name"]),
        ("state", row["state"]),
        ("result", row["result"]),
        ("exit code", row["exit"]),
        ("nodes", row["nodes"]),
        ("tasks", info.get("ntasks", "")),
        ("cores", info.get("ncores", "")),
        ("runtime", row["runtime"]),
    ]
    if job.workdir:
        lab = job.lab_workdir
        lines.append(("workdir", lab if lab is not None else f"{job.workdir} (on the cluster)"))
    if exception.get("occurred"):
        lines.append(("exception", f"{exception.get('type')}: {exception.get('note')}"))
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {value}")
    return OK


def job_logs(cluster, args):
    job = _job(cluster, args.id)
    if args.follow:
        _follow(job)
    else:
        sys.stdout.write(job.output())
        sys.stdout.flush()
    return OK


# flux cancel's --states words, and the job states each stands for
STATE_WORDS = {
    "pending": PENDING,
    "running": RUNNING,
    "active": ACTIVE,
}


def _cancel_states(text):
    """The job states ``--states`` names; CommandError (usage) for a word it does not know."""
    states = set()
    for word in filter(None, (w.strip().lower() for w in text.split(","))):
        if word in STATE_WORDS:
            states.update(STATE_WORDS[word])
        elif word.upper() in ACTIVE:
            states.add(word.upper())
        else:
            raise CommandError(
                f"--states takes pending, running, active or an active state's name "
                f"({', '.join(s.lower() for s in ACTIVE)}), not {word!r}",
                USAGE,
            )
    if not states:
        raise CommandError("--states names no state", USAGE)
    return states


def cancel_jobs(cluster, args):
    if args.all == bool(args.ids):
        raise CommandError("give job ids, or --all (not both)", USAGE)
    if not args.all:
        if args.dry_run or args.states != "active":
            raise CommandError("--states and --dry-run go with --all", USAGE)
        ids = [_parse_id(text) for text in args.ids]
        return _cancel(cluster, ids, already_ended_fails=True)
    states = _cancel_states(args.states)
    jobs, _ = _your_jobs(cluster)
    ids = [job.id for job in jobs if job._info.get("state") in states]
    if not ids:
        print("flux-hub: no job of yours to cancel", file=sys.stderr)
        return OK
    if args.dry_run:
        for number in ids:
            print(f"flux-hub: would cancel {jobid.f58(number)}", file=sys.stderr)
        return OK
    return _cancel(cluster, ids, already_ended_fails=False)


def _cancel(cluster, ids, already_ended_fails):
    """Cancel each job, one line each, a summary line for several. With --all a job that ended
    meanwhile is no failure (it was active when listed); named, it is (as flux cancel)."""
    status, done, ended = OK, 0, 0
    for number in ids:
        try:
            cluster.client.cancel(number)
            done += 1
            print(f"flux-hub: cancelled {jobid.f58(number)}", file=sys.stderr)
        except JobNotFound:
            _say(f"there is no job {jobid.f58(number)} of yours")
            status = FAILED
        except FluxRestfulError as error:
            if isinstance(error, ClusterUnavailable):
                raise
            if not already_ended_fails and _ended(cluster.job(number).info):
                ended += 1
                print(f"flux-hub: {jobid.f58(number)} had already ended", file=sys.stderr)
                continue
            _say(str(error))
            status = FAILED
    if len(ids) > 1:
        more = f" ({ended} had already ended)" if ended else ""
        failed = len(ids) - done - ended
        print(
            f"flux-hub: cancelled {done} of {len(ids)} jobs{more}"
            + (f"; {failed} could not be" if failed else ""),
            file=sys.stderr,
        )
    return status


def _job(cluster, text):
    number = _parse_id(text)
    try:
        return cluster.job(number)
    except JobNotFound:
        raise CommandError(f"there is no job {jobid.f58(number)} of yours") from None


def _follow(job):
    for chunk in job.stream():
        sys.stdout.write(chunk)
        sys.stdout.flush()
