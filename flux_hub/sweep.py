"""Sweeps: one job request with placeholders expanded into many jobs, the way ``flux bulksubmit``
does (issue 28.1), for ``flux-hub bulksubmit``, the notebook's ``submit_many`` and the server's
``POST sweeps`` (flux_hub/serverextension/sweeps.py).

The command line (terminal)::

    flux-hub bulksubmit [submit's flags] [--dry-run] [--group NAME] CMD... ::: A B C [::: X Y]
    flux-hub bulksubmit ... CMD... :::: FILE [FILE...]

Inputs: each ``:::`` starts a list of inputs (the words after it); each file named after
``::::`` is one list, a line per input (empty lines skipped). A word ``{A..B}`` or ``{A..B..STEP}``
is the whole numbers from A to B (both included), as bash would expand it. Several lists give
their product, the last varying fastest, as bulksubmit (and GNU parallel) do: ``::: a b ::: 1 2``
is (a,1) (a,2) (b,1) (b,2). From Python and JSON the inputs are a list of lists (positional) or a
dict {name: list} (named; in the dict's order they are positional too); a list may also be
``{"words": "a 'b c' {1..3}"}``, text read as the words after ``:::`` are (read_words: the panel's
Values, so a range or a quoted value means the same in the form and the terminal).

Placeholders, in the command's words, the name, the working directory and environment values:

- ``{}``: the next input (the first ``{}`` the first list's, the second the second's), ``{0}``,
  ``{1}``: by position, ``{name}``: a named input;
- ``{seq}`` / ``{seq1}``: the job's index in the sweep, from 0 / from 1;
- a suffix changes a value as bulksubmit's do: ``{.%}`` without its extension, ``{./}`` its base
  name, ``{.//}`` its folder, ``{./%}`` base name without extension (also ``{0.%}``, ``{x./}``);
- ``{{`` and ``}}`` are braces; ``${...}`` (a shell variable) is left alone.

A command with no placeholder at all gets the inputs appended as words (``flux-hub bulksubmit
echo ::: a b`` runs ``echo a`` and ``echo b``), as bulksubmit does.

Every job of a sweep is named ``GROUP [i/n]`` (GROUP: ``--group``, else the request's name,
else the program's), so the panel, the terminal and the history show them together; the history
keeps each one's place too (``sweep``: ``{"id", "group", "index", "total"}``, ``Job.tag``). At most
``MAX_JOBS`` jobs in one sweep. A bad sweep (an unknown placeholder, an empty list, too many
jobs, a file that cannot be read) is one ``SweepError`` line and nothing is submitted: every job's
request is checked (flux_hub.jobrequest.parse) before the first one is sent.
"""

import argparse
import itertools
import math
import os
import re
import secrets
import shlex
import sys
from dataclasses import dataclass

from flux_hub import jobrequest
from flux_hub.jobnames import MAX_NAME_LENGTH

# The most jobs one sweep may submit
MAX_JOBS = 10_000
LIST_MARK, FILE_MARK = ":::", "::::"
# A placeholder: {} {0} {name} {seq} with an optional bulksubmit suffix; $ before it: the shell's
_FIELD = re.compile(r"\{\{|\}\}|(?<!\$)\{([^{}]*)\}")
_KEY = re.compile(r"(?P<key>\d+|[A-Za-z_][A-Za-z0-9_]*)?(?P<suffix>\./%|\.//|\./|\.%)?")
_RANGE = re.compile(r"\{(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?\}")
# The fields whose text placeholders are expanded in (envars: their values)
TEXT_FIELDS = ("command", "name", "workdir", "envars")


class SweepError(ValueError):
    """A sweep that cannot be submitted; its text is the one line a person reads."""


@dataclass(frozen=True)
class Job:
    """One job of a sweep: its index (from 0), its inputs, its raw request (as a person would
    have given it; ``name`` already ``GROUP [i/n]``) and ``fields``: that request as
    jobrequest.parse gives it (flux-restful's submit fields, ``name`` and ``command``)."""

    index: int
    values: tuple
    request: dict
    fields: dict
    group: str = ""
    total: int = 0

    def tag(self, sweep_id):
        """The job's place in the sweep ``sweep_id``, as the history keeps it (``sweep``) and
        the server's jobs listing shows it: ``{"id", "group", "index" (from 1), "total"}``."""
        return {"id": sweep_id, "group": self.group, "index": self.index + 1, "total": self.total}


def split_command(words):
    """(command words, input lists) of a bulksubmit command line's words after its options.
    SweepError for no command, no inputs, an empty list or a file that cannot be read."""
    command, lists, mark = [], [], None
    for word in words:
        if word in (LIST_MARK, FILE_MARK):
            mark = word
            if word == LIST_MARK:
                lists.append([])
            continue
        if mark is None:
            command.append(word)
        elif mark == LIST_MARK:
            lists[-1].extend(expand_range(word))
        else:
            lists.append(read_inputs(word))
    if not command:
        raise SweepError("no command before ':::'")
    if mark is None:
        raise SweepError("no inputs: give them after ':::' (words) or '::::' (files)")
    return command, lists


def expand_range(word):
    """The words of one input: ``{1..3}`` is 1 2 3, ``{0..10..5}`` 0 5 10, else the word."""
    match = _RANGE.fullmatch(word)
    if not match:
        return [word]
    start, stop, step = int(match[1]), int(match[2]), int(match[3] or 1)
    if step == 0:
        raise SweepError(f"{word}: a range's step cannot be 0")
    step = abs(step) if stop >= start else -abs(step)
    count = (stop - start) // step + 1
    if count > MAX_JOBS:
        raise SweepError(f"{word} has {count} inputs: a sweep has at most {MAX_JOBS} jobs")
    return [str(start + i * step) for i in range(count)]


def read_words(text):
    """One input list from text typed as the words after ``:::`` (the panel's Values): split as
    a shell splits words (quotes keep spaces), each ``{A..B}`` a range (expand_range)."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise SweepError(f"the values {text[:80]!r} cannot be read as words: {error}") from None
    return [value for word in words for value in expand_range(word)]


def read_inputs(path):
    """One input list from a file: its lines, empty ones skipped."""
    try:
        with open(path, encoding="utf-8") as file:
            return [line.rstrip("\r\n") for line in file if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise SweepError(f"cannot read inputs from {path}: {error.strerror or error}") from None


def _lists(inputs):
    """(names or None, lists) of inputs given as a list of lists or a dict {name: list}."""
    if isinstance(inputs, dict):
        names = list(inputs)
        for name in names:
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise SweepError(
                    f"an input's name must be a word (letters, digits, _), not {name!r}"
                )
            if name in ("seq", "seq1"):
                raise SweepError(f"{name!r} is the job's index: name the input otherwise")
        lists = list(inputs.values())
    elif isinstance(inputs, list | tuple):
        names, lists = None, list(inputs)
    else:
        raise SweepError("'inputs' must be a list of lists or a dict {name: list}")
    if not lists:
        raise SweepError("no inputs: give at least one list")
    checked = []
    for i, values in enumerate(lists):
        label = names[i] if names else str(i)
        if isinstance(values, dict) and list(values) == ["words"]:
            if not isinstance(values["words"], str):
                raise SweepError(f"input {label}'s words must be text")
            values = read_words(values["words"])
        if isinstance(values, str) or not isinstance(values, list | tuple | range):
            raise SweepError(f"input {label} must be a list, not {values!r}")
        if not values:
            raise SweepError(f"input {label} is empty: nothing to submit")
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, str | int | float)]
        if bad:
            raise SweepError(f"input {label} holds {bad[0]!r}: inputs are text or numbers")
        checked.append([str(v) for v in values])
    return names, checked


def count(inputs):
    """How many jobs the inputs make (their lists' lengths multiplied); SweepError past MAX_JOBS."""
    _names, lists = _lists(inputs)
    return _count(lists)


def _count(lists):
    total = math.prod(len(values) for values in lists)
    if total > MAX_JOBS:
        sizes = " x ".join(str(len(values)) for values in lists)
        raise SweepError(f"{sizes} = {total} jobs: a sweep has at most {MAX_JOBS}")
    return total


def _changed(value, suffix):
    if suffix in (".%", "./%"):
        if suffix == "./%":
            value = os.path.basename(value)
        stem, _extension = os.path.splitext(value)
        return stem
    if suffix == "./":
        return os.path.basename(value)
    if suffix == ".//":
        return os.path.dirname(value)
    return value


class _Template:
    """One text with placeholders, checked once against the inputs' names and count."""

    def __init__(self, text, names, width, where, auto=None):
        """``auto``: a one-item list counting the ``{}`` met so far, shared by the words of one
        command (its second ``{}`` is the second input whichever word it is in)."""
        self.parts = []  # literal text, or (key, suffix) where key is an int, "seq" or "seq1"
        self.fields = 0
        auto = [0] if auto is None else auto
        position = 0
        for match in _FIELD.finditer(text):
            self.parts.append(text[position : match.start()])
            position = match.end()
            if match[0] in ("{{", "}}"):
                self.parts.append(match[0][0])
                continue
            field = _KEY.fullmatch(match[1])
            if field is None:
                raise SweepError(
                    f"{where}: {match[0]} is not a placeholder ({{}}, {{0}}, {{name}})"
                )
            key, suffix = field["key"], field["suffix"]
            if key is None:
                key = auto[0]
                auto[0] += 1
            elif key.isdigit():
                key = int(key)
            elif key not in ("seq", "seq1"):
                if not names or key not in names:
                    known = ", ".join(names) if names else "none (the inputs are by position)"
                    raise SweepError(f"{where}: no input named {key!r} (named inputs: {known})")
                key = names.index(key)
            if isinstance(key, int) and key >= width:
                raise SweepError(
                    f"{where}: {match[0]} asks for input {key}, but there "
                    f"{'is' if width == 1 else 'are'} only {width} (from 0)"
                )
            self.parts.append((key, suffix))
            self.fields += 1
        self.parts.append(text[position:])

    def render(self, values, index):
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            key, suffix = part
            value = str(index if key == "seq" else index + 1 if key == "seq1" else values[key])
            out.append(_changed(value, suffix))
        return "".join(out)


def group_name(request, group=None):
    """The sweep's group: ``group``, else the request's name (placeholders dropped), else its
    program's name."""
    if group is not None:
        group = str(group).strip()
        if not group:
            raise SweepError("the group's name is empty")
        return group
    name = request.get("name")
    if isinstance(name, str) and _FIELD.sub("", name).strip():
        return _FIELD.sub("", name).strip()
    command = request.get("command")
    words = command if isinstance(command, list | tuple) else shlex.split(str(command or "x"))
    return os.path.basename(str(words[0])) if words else "sweep"


def job_name(group, index, total):
    """``GROUP [i/n]`` (i from 1), the group shortened so it fits a job name."""
    tail = f" [{index + 1}/{total}]"
    return group[: MAX_NAME_LENGTH - len(tail)].rstrip() + tail


def expand(request, inputs, *, group=None):
    """The jobs of a sweep: ``request`` (a raw job request, jobrequest's fields, placeholders in
    its command, name, workdir and environment values) over ``inputs`` (a list of lists, or a
    dict {name: list}). Returns a list of Job, each request already checked by jobrequest.parse
    (its name ``GROUP [i/n]``, or the name template's text when it has placeholders). Raises
    SweepError (one line) for anything wrong, before anything is submitted."""
    if not isinstance(request, dict):
        raise SweepError("the request must be a job description (a dict)")
    names, lists = _lists(inputs)
    total = _count(lists)
    group = group_name(request, group)
    width = len(lists)
    command = request.get("command")
    if isinstance(command, str):
        try:
            words, as_text = shlex.split(command), True
        except ValueError as error:
            raise SweepError(f"the command cannot be split into words ({error})") from None
    elif isinstance(command, list | tuple) and all(isinstance(w, str) for w in command):
        words, as_text = list(command), False
    else:
        raise SweepError("'command' must be a command line or a list of words")
    if not words:
        raise SweepError("no command")
    auto = [0]
    templates = [_Template(word, names, width, "the command", auto) for word in words]
    if not any(t.fields for t in templates):  # no placeholder: the inputs are appended
        templates += [_Template(f"{{{i}}}", names, width, "the command") for i in range(width)]
    others = {}
    for key in ("name", "workdir"):
        if isinstance(request.get(key), str):
            others[key] = _Template(request[key], names, width, f"'{key}'")
    envars = request.get("envars")
    env_templates = None
    if isinstance(envars, dict):
        env_templates = {
            k: _Template(v, names, width, f"--env {k}") if isinstance(v, str) else v
            for k, v in envars.items()
        }
    jobs = []
    for index, values in enumerate(itertools.product(*lists)):
        raw = dict(request)
        job_words = [t.render(values, index) for t in templates]
        raw["command"] = shlex.join(job_words) if as_text else job_words
        for key, template in others.items():
            raw[key] = template.render(values, index)
        if env_templates is not None:
            raw["envars"] = {
                k: t.render(values, index) if isinstance(t, _Template) else t
                for k, t in env_templates.items()
            }
        if "name" not in others or not others["name"].fields:
            raw["name"] = job_name(group, index, total)
        try:
            fields = jobrequest.parse(raw)
        except KeyError as unknown:
            raise SweepError(f"unknown field {unknown}") from None
        except jobrequest.JobRequestError as problem:
            raise SweepError(f"job {index + 1} of {total}: " + "; ".join(problem.reasons)) from None
        jobs.append(Job(index, tuple(values), raw, fields, group, total))
    return jobs


def preview(jobs, most=None):
    """The sweep's commands, one line each (``--dry-run``, the form's preview)."""
    lines = []
    for job in jobs[:most]:
        command = job.request["command"]
        text = command if isinstance(command, str) else shlex.join(command)
        lines.append(f"{job.request['name']}: {text}")
    return lines


# -- the terminal: flux-hub bulksubmit -----------------------------------------------------------


def add_parser(commands):
    """Add ``flux-hub bulksubmit`` to ``flux-hub``'s subcommands (flux_hub/terminal.py)."""
    bulk = commands.add_parser(
        "bulksubmit",
        help="submit many jobs from one command with {} placeholders",
        description="Submit one job per input (or per combination of inputs), as flux "
        "bulksubmit: flux-hub bulksubmit [flags] CMD {} ::: a b c [::: x y] or CMD {} :::: FILE. "
        "{} is the next input, {0} {1} by position, {seq}/{seq1} the job's index; {.%} drops an "
        "extension, {./} keeps the base name, {.//} the folder; {1..10} in the inputs is a range. "
        "The jobs are named GROUP [i/n]. Prints each job's id.",
    )
    jobrequest.add_arguments(bulk)
    bulk.add_argument("--keep-env", action="store_true", help=jobrequest.KEEP_ENV_HELP)
    bulk.add_argument("--group", metavar="NAME", help="the jobs' group (default: --name or CMD)")
    bulk.add_argument("--dry-run", action="store_true", help="print the commands; submit nothing")
    bulk.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD... ::: INPUTS...")
    bulk.set_defaults(func=run_bulksubmit)
    return bulk


def cli_jobs(args):
    """The sweep of a parsed ``flux-hub bulksubmit`` command line (SweepError if bad)."""
    words = list(args.command)
    if words and words[0] == "--":
        words = words[1:]
    command, lists = split_command(words)
    raw = jobrequest.from_arguments(args)
    return expand({**raw, "command": command}, lists, group=args.group)


def run_bulksubmit(args, connect=None):
    """``flux-hub bulksubmit``: exit status 0 (all submitted), 1 (the cluster refused some),
    2 (a bad sweep: nothing submitted)."""
    try:
        jobs = cli_jobs(args)
    except SweepError as error:
        print(f"flux-hub: {error}; nothing was submitted", file=sys.stderr, flush=True)
        return 2
    if args.dry_run:
        for line in preview(jobs):
            print(line)
        print(f"{len(jobs)} jobs (dry run: nothing submitted)", file=sys.stderr, flush=True)
        return 0
    if connect is None:
        from flux_hub.notebook.api import connect
    from flux_hub.terminal import command_line

    origin = {"origin_kind": "cli", "origin_command": command_line(sys.argv, args.command)}
    if args.keep_env:
        origin["keep_env_values"] = True
    try:
        with connect() as cluster:
            return _submit_each(cluster, jobs, origin)
    except (ValueError, OSError) as error:
        print(f"flux-hub: {error}", file=sys.stderr, flush=True)
        return 1


def _submit_each(cluster, jobs, origin):
    from flux_hub.restful import FluxRestfulError

    failed = 0
    sweep_id = secrets.token_hex(6)
    for job in jobs:
        raw = dict(job.request)
        name, runtime, workdir = (raw.pop(key, None) for key in ("name", "runtime", "workdir"))
        command = raw.pop("command")
        tagged = {**origin, "sweep": job.tag(sweep_id)}
        try:
            submitted = cluster._submit(command, name, runtime, workdir, raw, "--cwd", tagged)
        except FluxRestfulError as error:
            failed += 1
            print(f"flux-hub: {name}: not submitted: {error}", file=sys.stderr, flush=True)
            if failed == 1 and job.index == 0:
                return 1  # the first one refused (cluster down, bad account): stop there
            continue
        print(submitted.f58, flush=True)
    if failed:
        print(f"flux-hub: {failed} of {len(jobs)} jobs not submitted", file=sys.stderr)
    return 1 if failed else 0


# -- the notebook: flux.submit_many ---------------------------------------------------------


def submit_many(cluster, command, inputs, *, group=None, dry_run=False, keep_env=False, **fields):
    """Submit one job per input (combination) of ``inputs`` through the notebook's FluxCluster
    ``cluster``; returns the notebook's JobList of Jobs (``dry_run``: the commands, as text
    lines, nothing submitted). ``command``: a command line or a list of words with placeholders;
    ``fields``: submit()'s (name, runtime, workdir, num_tasks, ..., envars). SweepError (a
    ValueError) for a bad sweep, before anything is submitted."""
    from flux_hub.notebook.api import JobList

    jobs = expand({**fields, "command": command}, inputs, group=group)
    if dry_run:
        return preview(jobs)
    origin = {"origin_kind": "notebook", "origin_path": os.environ.get("JPY_SESSION_NAME")}
    if keep_env:
        origin["keep_env_values"] = True
    submitted = JobList()
    sweep_id = secrets.token_hex(6)
    for job in jobs:
        raw = dict(job.request)
        name, runtime, workdir = (raw.pop(key, None) for key in ("name", "runtime", "workdir"))
        command_words = raw.pop("command")
        tagged = {**origin, "sweep": job.tag(sweep_id)}
        submitted.append(
            cluster._submit(command_words, name, runtime, workdir, raw, "workdir=", tagged)
        )
    return submitted
