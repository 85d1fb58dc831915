"""Bad input, generated (hypothesis): every endpoint and form field of flux-hub, never a 5xx.

Through the real hub: the server extension's API on carol's server (submit bodies, raw bodies,
job ids with path tricks on every job endpoint), the accounts service's API and admin forms,
and the hub's login form (FluxAuthenticator). In this process: the notebook API, the %%flux
magic's arguments and the restful client, with the credentials the hub gave carol's server.

Every answer must be a success or a 4xx whose JSON (or page) says what is wrong, without a
stack trace; Python APIs raise ValueError, TypeError or a typed FluxRestfulError with a
readable message. Generated commands never run a program chosen at random: their first word is
``echo`` or a path under /nonexistent, so shell metacharacters are shown to be only text.
Examples are derandomized (the same in every run) and bounded so the module stays quick.
"""

import json
import math
import re
import shlex
from collections import Counter
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from flux_hub.jobrequest import MAX_RUNTIME
from flux_hub.notebook import connect
from flux_hub.notebook.api import parse_duration
from flux_hub.notebook.magic import FluxCellError, FluxMagics
from flux_hub.restful import FluxRestfulClient, FluxRestfulError

from .support import ADMIN, PEOPLE, SERVICE, report, table

pytestmark = pytest.mark.timeout(900)

FUZZER = "carol"
TRIED = {}  # endpoint -> Counter of answers


def fuzz(examples):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def tally(endpoint, outcome):
    TRIED.setdefault(endpoint, Counter())[str(outcome)] += 1


# -- what bad input looks like ----------------------------------------------------------------

TRICKY = [
    "", " ", "\t", "\n", "\x00", "\x7f", "\u202e", "\ufeff", "\ud7ff", "\U0010ffff", "ƒ", "²",
    "١٢٣", "１２３", "𝟙", "Ⅻ", "0", "-1", "+1", "00", "1.5", "1e3", "0x10", "NaN", "Infinity",
    "9" * 40, "9" * 400, "ƒKSi2oMh", "fKSi2oMh", ".", "..", "../cluster", "..%2f..%2fcluster",
    "%2e%2e", "1/../2", "1%00", "%", "%%", "%s%n", "{}", "[]", "null", "true", "'", '"', "\\",
    "`id`", "$(id)", "${HOME}", "; id", "&& id", "| id", "> /tmp/x", "* ?", "~root", "a" * 5000,
    "<script>alert(1)</script>", "' OR '1'='1", "\r\nX-Injected: 1",
]  # fmt: skip
text = st.one_of(st.sampled_from(TRICKY), st.text(max_size=60))
numbers = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 2, 2**31, 2**63, 2**64, 10**30, -(10**30)]),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
)
# A command's first word is never free: echo, or a program that cannot exist.
safe_commands = st.one_of(
    text.map(lambda rest: f"echo {rest}"),
    st.lists(text, max_size=5).map(lambda words: ["echo", *words]),
    text.map(lambda rest: f"/nonexistent/{rest}"),
    st.sampled_from(["", "   ", [], [""], [1, 2], {"sh": "-c"}, 7, None, True]),
)
FIELDS = {
    "command": safe_commands,
    "name": values,
    "num_tasks": values,
    "cores_per_task": values,
    "gpus_per_task": values,
    "num_nodes": values,
    "exclusive": values,
    "workdir": values,
    "runtime": values,
    "option_flags": values,
    "envars": st.one_of(st.dictionaries(text, text, max_size=3), values),
    "is_launcher": values,
}
submissions = st.fixed_dictionaries(
    {"command": safe_commands},
    optional={**{k: v for k, v in FIELDS.items() if k != "command"}, "unknown": values},
)
job_ids = st.one_of(st.sampled_from(TRICKY), text, st.integers().map(str))


def whole(value, least):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def bad_environment(envars):
    """Surely refused environments, by flux_hub.jobrequest's documented forms: a dict of
    names to values, NAME=VALUE words (a list), or lines of them (text)."""
    if isinstance(envars, str):
        lines = [line.strip() for line in envars.splitlines()]
        envars = [line for line in lines if line and not line.startswith("#")]
    if isinstance(envars, list | tuple):
        if any(not isinstance(word, str) or not word.partition("=")[0] for word in envars):
            return True
        if any("=" not in word or "\0" in word for word in envars):
            return True
        envars = dict(word.split("=", 1) for word in envars)
    if not isinstance(envars, dict):
        return True
    return any(
        not (isinstance(name, str) and name)
        or isinstance(value, bool)
        or not isinstance(value, str | int | float)
        or "\0" in name + str(value)
        for name, value in envars.items()
    )


def surely_invalid(body, api="http"):
    """True when the documented rules (restful.protocol.check_submission, one copy for every
    caller) say the submission must be refused. ``api``: "http" (the extension's JSON API,
    which also refuses unknown fields and any is_launcher) or "notebook" (runtime may be "5m";
    is_launcher other than None or False is refused: launchers are off)."""
    command = body.get("command")
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError:
            return True
        if not words or "\0" in command:
            return True
    elif not (isinstance(command, list) and command and all(isinstance(w, str) for w in command)):
        return True
    elif not command[0].strip() or any("\0" in word for word in command):
        return True
    counts = ("num_tasks", "cores_per_task", "gpus_per_task", "num_nodes")
    if any(k in body and body[k] is not None and not whole(body[k], 1) for k in counts):
        return True
    runtime = body.get("runtime")
    if runtime is not None and not whole(runtime, 0):
        if api == "http":
            return True
        try:
            parse_duration(runtime)
        except ValueError:
            return True
    if body.get("exclusive") is not None and not isinstance(body["exclusive"], bool):
        return True
    workdir = body.get("workdir")
    if workdir is not None and not (isinstance(workdir, str) and workdir.strip()):
        return True
    if body.get("envars") is not None and bad_environment(body["envars"]):
        return True
    launcher = body.get("is_launcher")
    if launcher is not None and launcher is not False:
        return True
    return api == "http" and bool({"unknown", "is_launcher"} & set(body))


def clear(response, endpoint):
    """Assert the answer is a success or a clear 4xx; returns its status."""
    status = response.status_code
    tally(endpoint, status)
    body = response.text
    assert status < 500, f"{endpoint}: {status} {body[:500]}"
    assert "Traceback" not in body and 'File "/' not in body, body[:2000]
    if status >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
        message = response.json().get("message")
        assert isinstance(message, str) and message.strip(), body[:500]
    return status


@pytest.fixture(scope="module")
def carol(hub, people):
    return people[FUZZER]


@pytest.fixture(scope="module")
def creds(hub, people):
    return hub.injected(FUZZER)


# -- the server extension -----------------------------------------------------------------


@fuzz(200)
@given(body=submissions)
def test_submit_bodies(hub, carol, body):
    response = hub.ext(carol, FUZZER, "POST", "jobs", json=body)
    status = clear(response, "ext POST jobs (JSON fields)")
    assert status in (201, 400), response.text
    if surely_invalid(body):
        assert status == 400, (body, response.text)
    if status == 400:
        assert isinstance(response.json()["reasons"], list)


@fuzz(60)
@given(raw=st.one_of(st.binary(max_size=200), text.map(str.encode), values.map(json.dumps)))
def test_submit_raw_bodies(hub, carol, raw):
    response = hub.ext(
        carol, FUZZER, "POST", "jobs", data=raw, headers={"Content-Type": "application/json"}
    )
    assert clear(response, "ext POST jobs (raw body)") in (201, 400)


def test_shell_metacharacters_are_only_text(hub, carol):
    words = ["$(id)", "`id`", "; id", "&&", "|", ">", "/tmp/flux-hub-pwned", "*", "~", "$HOME"]
    for command in (["echo", *words], f"echo {shlex.join(words)}"):
        _, output = hub.run_job(carol.token, FUZZER, command)
        assert output == " ".join(words) + "\n"


JOB_ENDPOINTS = [
    ("GET", ""),
    ("GET", "/output"),
    ("GET", "/output/stream"),
    ("POST", "/cancel"),
]


@fuzz(200)
@given(job_id=job_ids, endpoint=st.sampled_from(JOB_ENDPOINTS), raw=st.booleans())
def test_job_ids_on_every_job_endpoint(hub, carol, job_id, endpoint, raw):
    method, suffix = endpoint
    segment = job_id if raw else quote(job_id, safe="")
    response = hub.ext(carol, FUZZER, method, f"jobs/{segment}{suffix}", timeout=30)
    status = clear(response, f"ext {method} jobs/{{id}}{suffix}")
    assert status in (200, 400, 403, 404, 405), response.text


# -- the accounts service -----------------------------------------------------------------

other_names = text.filter(lambda name: name.strip().lower() not in PEOPLE)


@fuzz(120)
@given(
    name=other_names,
    action=st.one_of(st.sampled_from(["provision", "rotate", "deactivate", "credentials"]), text),
    method=st.sampled_from(["GET", "POST"]),
)
def test_service_account_actions(hub, people, name, action, method):
    path = f"api/accounts/{quote(name, safe='')}/{quote(action, safe='')}"
    response = hub.service(people[ADMIN].token, method, path)
    status = clear(response, f"service {method} api/accounts/{{user}}/{{action}}")
    assert status in (200, 400, 403, 404, 405, 409), response.text


@pytest.fixture(scope="module")
def admin_xsrf(hub, people):
    page = people[ADMIN].session.get(f"{hub.url}{SERVICE}admin", timeout=60)
    return re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)


FORMS = ["admin/provision", "admin/rotate", "admin/deactivate", "admin/password"]
FORMS += ["admin/reconcile", "credentials"]


@fuzz(80)
@given(
    action=st.sampled_from(FORMS),
    form=st.dictionaries(st.sampled_from(["hub_user", "_xsrf", "other"]), text, max_size=3),
    keep_xsrf=st.booleans(),
)
def test_service_forms(hub, people, admin_xsrf, action, form, keep_xsrf):
    session = people[ADMIN].session
    if keep_xsrf:
        form = {**form, "_xsrf": admin_xsrf}
    if form.get("hub_user", "").strip().lower() in PEOPLE:
        form["hub_user"] = "nobody-" + form["hub_user"]
    response = session.post(f"{hub.url}{SERVICE}{action}", data=form, timeout=60)
    status = clear(response, "service POST admin/{action}, credentials (forms)")
    if keep_xsrf:
        assert status in (200, 400, 403, 404, 409), response.text[:500]
    else:
        # The admin's own session cookie, but not the form's token: a page of another site
        # posting this form gets nothing done
        assert status == 403, f"{action} without its _xsrf: {status} {response.text[:500]}"


@fuzz(40)
@given(path=st.one_of(text, st.sampled_from(["api/me/", "api//me", "admin/", "api/../admin"])))
def test_service_paths(hub, people, path):
    response = hub.service(people[FUZZER].token, "GET", quote(path, safe="/%"))
    assert clear(response, "service GET {path}") < 500


# -- the hub's login form (FluxAuthenticator) -------------------------------------------------


@fuzz(80)
@given(username=st.one_of(text, st.sampled_from(PEOPLE)), password=text)
def test_login_form(hub, username, password):
    session = hub.login_session()
    response = session.post(
        f"{hub.url}/hub/login",
        data={"username": username, "password": password, "_xsrf": session.xsrf},
        timeout=120,
        allow_redirects=False,
    )
    status = clear(response, "hub POST /hub/login (form)")
    assert status in (200, 302, 400, 403), response.text[:500]
    if len(password) >= 8 and password not in username + session.login_page:
        assert password not in response.text  # the page never shows it back


# -- Python: the notebook API, %%flux and the restful client ----------------------------------

PYTHON_ERRORS = (ValueError, TypeError, FluxRestfulError)


def python_outcome(endpoint, call):
    try:
        call()
    except PYTHON_ERRORS as error:
        assert str(error).strip(), repr(error)
        assert "Traceback" not in str(error)
        tally(endpoint, type(error).__name__)
        return error
    tally(endpoint, "ok")
    return None


@pytest.fixture(scope="module")
def notebook(creds, tmp_path_factory):
    flux = connect(
        creds["FLUX_RESTFUL_HOST"],
        creds["FLUX_USER"],
        creds["FLUX_TOKEN"],
        creds["FLUX_SECRET_KEY"],
        names_path=tmp_path_factory.mktemp("fuzz-names") / "names.json",
    )
    yield flux
    flux.close()


notebook_fields = st.fixed_dictionaries(
    {},
    optional={k: v for k, v in FIELDS.items() if k != "command"},
)


@fuzz(150)
@given(command=safe_commands, fields=notebook_fields)
def test_notebook_submit(notebook, command, fields):
    outcome = python_outcome("notebook submit(...)", lambda: notebook.submit(command, **fields))
    if surely_invalid({"command": command, **fields}, api="notebook"):
        assert outcome is not None, ("accepted", command, fields)


@fuzz(100)
@given(job_id=st.one_of(job_ids, st.integers()), which=st.sampled_from(["job", "output", "cancel"]))
def test_notebook_and_client_job_ids(notebook, job_id, which):
    client = notebook.client
    call = {
        "job": lambda: notebook.job(job_id),
        "output": lambda: client.output(job_id),
        "cancel": lambda: client.cancel(job_id),
    }[which]
    answers = []
    outcome = python_outcome(f"notebook/client {which}(id)", lambda: answers.append(call()))
    if which == "output" and outcome is None:
        # flux-restful answers 200 "does not exist yet, or the jobid is incorrect" for an id
        # it cannot find: no output, and nothing else
        assert answers == [[]], (job_id, answers)
    else:  # none of these is one of carol's jobs: each call says so, none answers
        assert isinstance(outcome, ValueError | FluxRestfulError), (job_id, which, answers)


@fuzz(100)
@given(value=values)
def test_time_limits(value):
    seconds = []
    outcome = python_outcome(
        "notebook parse_duration(...)", lambda: seconds.append(parse_duration(value))
    )
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        assert isinstance(outcome, ValueError), (value, seconds)
    elif isinstance(value, int | float):
        if 0 <= value <= MAX_RUNTIME:
            assert seconds == [math.ceil(value)]
        else:  # negative, or longer than a time limit can be (2**32 s)
            assert isinstance(outcome, ValueError), (value, seconds)
    elif value.strip().isascii() and value.strip().isdigit():
        assert seconds == [int(value)] if int(value) <= MAX_RUNTIME else outcome is not None
    elif outcome is None:
        assert isinstance(seconds[0], int) and seconds[0] >= 0, (value, seconds)
    else:
        assert isinstance(outcome, ValueError) and repr(value) in str(outcome)


@pytest.fixture(scope="module")
def magics(notebook, tmp_path_factory):
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    yield FluxMagics(shell=shell)
    InteractiveShell.clear_instance()


@fuzz(100)
@given(
    words=st.lists(
        st.one_of(
            st.sampled_from(["-N", "-n", "-c", "-t", "--name", "--cwd", "--wait", "--nodes"]),
            text,
        ),
        max_size=6,
    )
)
def test_flux_magic_arguments(magics, words):
    line = " ".join(shlex.quote(word) for word in words if "--wait" != word)
    try:
        magics.flux(line, "true")
        tally("%%flux arguments", "ok")
    except (UsageError, FluxCellError) as error:
        assert str(error).strip()
        tally("%%flux arguments", type(error).__name__)


def test_a_client_with_bad_settings_says_why():
    for host in ("ftp://x", "http://", "127.0.0.1:notaport", "http://[::1", "http://\x00"):
        outcome = python_outcome(
            "client FluxRestfulClient(host=...)",
            lambda host=host: FluxRestfulClient(host, "a", "b").nodes(),
        )
        assert outcome is not None, host


@pytest.fixture(scope="module", autouse=True)
def report_what_was_tried():
    """After the module: a table of the answers each endpoint gave (a report, not a test)."""
    yield
    rows = [
        [endpoint, sum(counts.values()), ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))]
        for endpoint, counts in TRIED.items()
    ]
    if rows:
        report("bad input tried (answers seen)", table(["endpoint", "examples", "answers"], rows))
