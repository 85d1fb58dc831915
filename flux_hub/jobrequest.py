"""One description of a job request, for every front-end.

The panel's form, ``flux-hub submit``, ``%%flux``, the notebook API and the server extension's
``POST jobs`` all take a job the same way: the fields below (name, type, limits, default, help,
Flux's own command-line flags) and ``parse``, which turns what a person gave (text from a command
line, numbers and dicts from Python or JSON) into flux-restful's submit request, or raises
``JobRequestError`` with one message per bad field. The same input gives the same request and
the same bad input the same message, whichever front-end it came through.

A time limit is a Flux Standard Duration (RFC 23, what ``flux submit -t`` and ``flux jobs``
read): a number of seconds, or a number with one unit of ``ms``, ``s``, ``m``, ``h`` or ``d``
(``90``, ``.5h``, ``1.5m``, ``500ms``); ``0``, ``inf`` or ``infinity`` mean no limit. flux-hub also
takes a sum of such parts (``1h30m``), as its front-ends always did. flux-restful takes whole
seconds, so a limit is rounded up (``0.4s`` is 1 s, never "no limit"). A bare number is seconds,
as in RFC 23 (``flux submit -t 5`` alone reads minutes; write ``5m`` for that).

The working directory is checked here as text; its translation from the person's path to the
cluster's stays with each front-end (flux_hub/paths.py, ``PathMap.workdir``).
"""

import math
import os
import re
from dataclasses import asdict, dataclass
from decimal import Decimal

from flux_hub.jobnames import MAX_NAME_LENGTH, check_name
from flux_hub.restful import InvalidRequest, protocol

# The longest time limit taken: 2**32 seconds (136 years); more is a typing mistake.
MAX_RUNTIME = 2**32
DURATION_UNITS = {"ms": Decimal("0.001"), "s": 1, "m": 60, "h": 3600, "d": 86400}
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?"
_PART = re.compile(rf"({_NUMBER})(ms|[smhd])")
_BARE = re.compile(rf"{_NUMBER}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DURATION_HELP = (
    "a Flux duration: seconds (90) or a number with a unit ms, s, m, h or d (30s, 5m, 1.5h, "
    "2d, 1h30m); 0 or inf: no limit"
)


@dataclass(frozen=True)
class Field:
    """One field of a job request.

    ``name``: its key in flux-restful's submit request (and in ``POST jobs``). ``kind``:
    command, name, count, duration, path, env, options or flag. ``minimum``: the least a count
    takes (a count of 0 where the minimum is 0 is the same as leaving it out). ``flags``: Flux's
    command-line flags for it (``flux-hub submit`` and ``%%flux``); ``aliases``: older spellings
    ``%%flux`` still takes. ``default``: what leaving it out means, in words.
    """

    name: str
    kind: str
    label: str
    help: str
    flags: tuple = ()
    aliases: tuple = ()
    metavar: str | None = None
    minimum: int | None = None
    default: str | None = None
    repeat: bool = False


FIELDS = (
    Field(
        "command",
        "command",
        "Command",
        "the command line to run, or a list of words; a script runs as bash -c SCRIPT",
        metavar="CMD...",
    ),
    Field(
        "name",
        "name",
        "Name",
        "a name for the job, shown in the panel, the notebook and the terminal "
        f"(at most {MAX_NAME_LENGTH} characters)",
        flags=("--name",),
        metavar="NAME",
        default="the program's name; %%flux: the notebook and cell, e.g. analysis.ipynb [3]",
    ),
    Field(
        "num_nodes",
        "count",
        "Nodes",
        "number of nodes",
        flags=("-N", "--nodes"),
        metavar="N",
        minimum=1,
        default="as Flux decides",
    ),
    Field(
        "num_tasks",
        "count",
        "Tasks",
        "number of tasks (at least one per node)",
        flags=("-n", "--ntasks"),
        aliases=("--tasks",),
        metavar="N",
        minimum=1,
        default="1",
    ),
    Field(
        "cores_per_task",
        "count",
        "Cores per task",
        "cores for each task",
        flags=("-c", "--cores-per-task"),
        metavar="N",
        minimum=1,
        default="1",
    ),
    Field(
        "gpus_per_task",
        "count",
        "GPUs per task",
        "GPUs for each task (0: none)",
        flags=("-g", "--gpus-per-task"),
        metavar="N",
        minimum=0,
        default="0",
    ),
    Field(
        "runtime",
        "duration",
        "Time limit",
        "time limit: " + DURATION_HELP,
        flags=("-t", "--time-limit"),
        aliases=("--time",),
        metavar="TIME",
        default="no limit",
    ),
    Field(
        "workdir",
        "path",
        "Working directory",
        "working directory, as you see it (relative to the current directory)",
        flags=("--cwd",),
        metavar="DIR",
        default="the current directory; with no shared storage, your folder on the cluster",
    ),
    Field(
        "envars",
        "env",
        "Environment",
        "set a variable in the job's environment (repeat for more)",
        flags=("--env",),
        metavar="NAME=VALUE",
        repeat=True,
        default="the cluster's",
    ),
    Field(
        "exclusive",
        "flag",
        "Exclusive",
        "have whole nodes to the job alone",
        flags=("--exclusive",),
        default="false",
    ),
    Field(
        "option_flags",
        "options",
        "Shell options",
        "set a job shell option, e.g. cpu-affinity=per-task (repeat for more)",
        flags=("-o", "--setopt"),
        metavar="OPT[=VAL]",
        repeat=True,
    ),
)
BY_NAME = {field.name: field for field in FIELDS}


class JobRequestError(InvalidRequest, ValueError):
    """A job request that cannot be sent. ``problems``: {field: message}, one per bad field
    (``reasons`` the messages, in the fields' order); the text: every message."""

    def __init__(self, problems):
        self.problems = dict(problems)
        reasons = list(self.problems.values())
        super().__init__("The job was not submitted: " + "; ".join(reasons), reasons=reasons)

    @property
    def field(self):
        """The first bad field."""
        return next(iter(self.problems))


def _shown(value):
    """A value in a message, as typed: 2 and "2" both show as '2', whatever front-end gave it."""
    return repr(value if isinstance(value, str) else str(value))


def parse_duration(value):
    """Whole seconds (rounded up) of a time limit (see the module's text); 0 is no limit.
    ValueError (``'soon' is not a time limit: ...``) for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{_shown(value)} is not a time limit: use {DURATION_HELP}")
    if isinstance(value, int | float):
        if math.isinf(value) and value > 0:
            return 0
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{_shown(value)} is not a time limit: use {DURATION_HELP}")
        seconds = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        text = value.strip().lower()
        if text in ("inf", "infinity"):
            return 0
        if _BARE.fullmatch(text):
            seconds = Decimal(text)
        else:
            parts = _PART.findall(text)
            if not text or "".join(number + unit for number, unit in parts) != text:
                raise ValueError(f"{_shown(value)} is not a time limit: use {DURATION_HELP}")
            seconds = sum(Decimal(number) * DURATION_UNITS[unit] for number, unit in parts)
    if seconds > MAX_RUNTIME:
        raise ValueError(f"{_shown(value)} is too long a time limit: at most {MAX_RUNTIME} seconds")
    return int(seconds.to_integral_value(rounding="ROUND_CEILING"))


def _count(field, value):
    given = value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < field.minimum:
        raise ValueError(
            f"'{field.name}' must be a whole number of at least {field.minimum}, "
            f"not {_shown(given)}"
        )
    return value


def _environment(value):
    """A dict of names to values, or NAME=VALUE words (a list, or lines of text)."""
    if isinstance(value, str):
        value = [line.strip() for line in value.splitlines()]
        value = [line for line in value if line and not line.startswith("#")]
    if isinstance(value, list | tuple):
        pairs = {}
        for pair in value:
            name, equals, text = pair.partition("=") if isinstance(pair, str) else ("", "", "")
            if not equals or not name:
                raise ValueError(f"--env takes NAME=VALUE, not {pair!r}")
            pairs[name] = text
        value = pairs
    for name in value if isinstance(value, dict) else ():
        if isinstance(name, str) and "\0" not in name and not _ENV_NAME.fullmatch(name):
            raise ValueError(
                "environment variable names are letters, digits and _, not starting with a "
                f"digit; not {name!r}"
            )
    return _wire(protocol.environment, value)


def _options(value):
    """Shell options: a dict, OPT[=VAL] words (a list; a bare OPT is 1, as in flux submit -o),
    or the wire's text "k=v,k2=v2"."""
    if isinstance(value, str):
        value = [word for word in value.split(",") if word]
    if isinstance(value, list | tuple):
        options = {}
        for word in value:
            name, equals, text = str(word).partition("=")
            options[name] = text if equals else "1"
        value = options
    if not isinstance(value, dict):
        raise ValueError(f"'option_flags' must be shell options, not {value!r}")
    return _wire(protocol.option_flags_text, value)


def _wire(check, value):
    """A check of flux-restful's wire format (restful.protocol), its refusal as ValueError."""
    try:
        return check(value)
    except InvalidRequest as problem:
        raise ValueError("; ".join(problem.reasons)) from None


def _text(field, value):
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{field.name}' must be text, not {value!r}")
    return _wire(lambda text: protocol.no_nul(field.name, text), value)


def _flag(field, value):
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ValueError(f"'{field.name}' must be true or false, not {value!r}")
    return value


def _one(field, value):
    """The field's value as it is sent; ValueError with the message for a person."""
    if field.kind == "command":
        return _wire(protocol.command_text, value)
    if field.kind == "name":
        try:
            return check_name(value)
        except ValueError as error:
            raise ValueError(f"'name': {error}") from None
    if field.kind == "count":
        return _count(field, value)
    if field.kind == "duration":
        try:
            return parse_duration(value)
        except ValueError as error:
            raise ValueError(f"'runtime': {error}") from None
    if field.kind == "path":
        return _text(field, value)
    if field.kind == "env":
        return _environment(value)
    if field.kind == "options":
        return _options(value)
    return _flag(field, value)


def parse(raw):
    """flux-restful's submit request from ``raw`` ({field name: what a person gave}); None or
    a missing key is "not given". Returns {field: value as sent}: ``command`` as one command
    line, counts and ``runtime`` as ints (left out when 0 means nothing: no GPUs, no limit),
    ``envars`` a dict, ``option_flags`` their text, ``exclusive`` only when true, ``name``
    (flux-hub's, not flux-restful's) when given, ``workdir`` as given (translate it after).

    Raises JobRequestError with one message per bad field; keys that are not fields are for
    the caller to refuse (KeyError names the first).
    """
    for key in raw:
        if key not in BY_NAME:
            raise KeyError(key)
    request, problems = {}, {}
    for field in FIELDS:
        value = raw.get(field.name)
        if value is None and field.kind != "command":
            continue
        if field.kind == "env" and value in ([], (), {}, ""):
            continue
        try:
            request[field.name] = _one(field, value)
        except ValueError as error:
            problems[field.name] = str(error)
    nodes, tasks = request.get("num_nodes"), request.get("num_tasks")
    if nodes is not None and tasks is not None and tasks < nodes and "num_tasks" not in problems:
        problems["num_tasks"] = (
            f"'num_tasks' must be at least 'num_nodes' (each node needs a task): {tasks} tasks "
            f"on {nodes} nodes"
        )
    if problems:
        raise JobRequestError(problems)
    for name in ("gpus_per_task", "runtime"):  # 0: no GPUs, no limit
        if request.get(name) == 0:
            del request[name]
    if request.get("exclusive") is False:
        del request["exclusive"]
    return request


# Not a field of the request but of the person's job history (flux_hub/history.py), offered by
# every front-end: flux-hub submit and %%flux --keep-env, the notebook's keep_env=True, the
# panel's checkbox (POST jobs' "keep_env").
KEEP_ENV_LABEL = "Keep the values in my job history"
KEEP_ENV_HELP = (
    "keep the environment's values in your job history (only you can read it), so Run again "
    "can send them; without it only their names are kept"
)


def describe():
    """The description as JSON-ready data, for the panel (``GET request-fields``)."""
    return {
        "version": 1,
        "fields": [
            {**asdict(field), "flags": list(field.flags), "aliases": list(field.aliases)}
            for field in FIELDS
        ],
        "duration": {
            "help": DURATION_HELP,
            "units": {unit: float(seconds) for unit, seconds in DURATION_UNITS.items()},
            "no_limit": ["0", "inf", "infinity"],
            "rounding": "up to whole seconds",
            "max_seconds": MAX_RUNTIME,
        },
        "keep_env": {"flag": "--keep-env", "label": KEEP_ENV_LABEL, "help": KEEP_ENV_HELP},
        "rules": [
            "'num_tasks' is at least 'num_nodes' when both are given",
            "environment variable names are letters, digits and _, not starting with a digit",
        ],
    }


def add_arguments(parser, *, aliases=False):
    """Add the fields' flags to an argparse parser (``flux-hub submit``, ``%%flux``): every
    value as text, checked by ``parse`` so each front-end says the same; ``aliases``: also the
    older spellings ``%%flux`` takes (--tasks, --time)."""
    for field in FIELDS:
        if not field.flags:
            continue
        flags = field.flags + (field.aliases if aliases else ())
        if field.kind == "flag":
            parser.add_argument(*flags, dest=field.name, action="store_true", help=field.help)
        elif field.repeat:
            parser.add_argument(
                *flags, dest=field.name, action="append", metavar=field.metavar, help=field.help
            )
        else:
            parser.add_argument(*flags, dest=field.name, metavar=field.metavar, help=field.help)


def from_arguments(args):
    """The raw request (for ``parse``) of the fields ``add_arguments`` added."""
    raw = {}
    for field in FIELDS:
        if not field.flags:
            continue
        value = getattr(args, field.name, None)
        if value is not None and value is not False:
            raw[field.name] = value
    return raw
