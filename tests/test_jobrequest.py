"""One job request, four front-ends (issue 26.1): ``%%flux``, ``flux-hub submit``, the notebook
API and the server extension's ``POST jobs`` turn the same inputs into the same flux-restful
request and refuse the same bad inputs with the same message; ``%%flux`` names a job after its
notebook and cell.

Each front-end runs as it does for a person (the magic in a real IPython shell, the terminal
command's own argument parser and submit, the notebook API, the extension's body parsing); what
would go to flux-restful is caught at the client: the query parameters and environment
restful.protocol builds from it, i.e. the request as sent.
"""

import argparse
import json
import shlex

import pytest
from IPython.core.interactiveshell import InteractiveShell
from recorder import Recorder
from traitlets.config import Config

from flux_hub import jobrequest, terminal
from flux_hub.jobnames import JobNames
from flux_hub.notebook import api
from flux_hub.notebook.magic import FluxCellError, cell_name
from flux_hub.paths import PathMap
from flux_hub.restful import protocol
from flux_hub.serverextension.errors import BadRequest
from flux_hub.serverextension.handlers import parse_submission

SCRIPT = 'echo "hello, $USER"\nsleep 1\n'
COMMAND = ["bash", "-c", SCRIPT]


@pytest.fixture
def flux(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    cluster = api.FluxCluster(Recorder(first_id=1000), JobNames(tmp_path / "names.json"), PathMap())
    monkeypatch.setattr(api, "_current", cluster)
    return cluster


@pytest.fixture
def shell(flux, tmp_path, monkeypatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    shell.run_line_magic("load_ext", "flux_hub")
    yield shell
    InteractiveShell.clear_instance()


# -- the four front-ends, given one person's inputs ------------------------------------------

FLAGS = {
    "nodes": "-N",
    "tasks": "-n",
    "cores": "-c",
    "gpus": "-g",
    "time": "-t",
    "name": "--name",
    "cwd": "--cwd",
}
KEYS = {
    "nodes": "num_nodes",
    "tasks": "num_tasks",
    "cores": "cores_per_task",
    "gpus": "gpus_per_task",
    "time": "runtime",
    "cwd": "workdir",
}


def words(inputs):
    """The inputs as Flux's command-line flags (flux-hub submit, %%flux)."""
    argv = []
    for key, value in inputs.items():
        if key in FLAGS:
            argv += [FLAGS[key], value]
        elif key == "env":
            for pair in value:
                argv += ["--env", pair]
        elif key == "setopt":
            for option in value:
                argv += ["-o", option]
        elif key == "exclusive" and value:
            argv.append("--exclusive")
    return argv


def typed(value):
    """What someone writes in Python or JSON: numbers as numbers."""
    return int(value) if isinstance(value, str) and value.isdigit() else value


def keywords(inputs):
    """The inputs as the notebook API's keywords and the panel's JSON fields."""
    fields = {}
    for key, value in inputs.items():
        if key in KEYS:
            fields[KEYS[key]] = typed(value)
        elif key == "name":
            fields["name"] = value
        elif key == "env":
            fields["envars"] = dict(pair.split("=", 1) for pair in value)
        elif key == "setopt":
            fields["option_flags"] = {
                name: value or "1" for name, _, value in (o.partition("=") for o in value)
            }
        elif key == "exclusive":
            fields["exclusive"] = value
    return fields


def via_magic(shell, flux, inputs, spelling=None):
    line = spelling if spelling is not None else shlex.join(words(inputs))
    result = shell.run_cell(f"%%flux {line}\n{SCRIPT}")
    if result.error_in_exec is not None:
        assert isinstance(result.error_in_exec, FluxCellError)
        return "refused", str(result.error_in_exec)
    job = result.result
    return flux.client.sent[-1], flux.names.get(job.id)


def via_terminal(flux, inputs):
    parser = argparse.ArgumentParser(prog="flux-hub")
    terminal.add_parsers(parser.add_subparsers(dest="subcommand"))
    args = parser.parse_args(["submit", *words(inputs), "--", *COMMAND])
    try:
        terminal.submit_job(flux, args)
    except terminal.CommandError as error:
        assert error.status == terminal.USAGE
        return "refused", str(error)
    return flux.client.sent[-1], flux.names.get(1000 + len(flux.client.sent))


def via_notebook(flux, inputs):
    fields = keywords(inputs)
    try:
        job = flux.submit(COMMAND, **fields)
    except jobrequest.JobRequestError as error:
        return "refused", str(error)
    return flux.client.sent[-1], flux.names.get(job.id)


def via_server(inputs):
    body = json.dumps({"command": COMMAND, **keywords(inputs)}).encode()
    try:
        fields, name = parse_submission(body)
    except BadRequest as error:
        return "refused", "The job was not submitted: " + "; ".join(error.reasons)
    command = fields.pop("command")
    return protocol.check_submission(command, fields), name


def everywhere(shell, flux, inputs):
    return {
        "%%flux": via_magic(shell, flux, inputs),
        "flux-hub submit": via_terminal(flux, inputs),
        "notebook API": via_notebook(flux, inputs),
        "server extension": via_server(inputs),
    }


# -- the same request ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs,sent",
    [
        (
            {"name": "walk-steps", "nodes": "2", "tasks": "4", "time": "0.4s", "exclusive": True},
            {"num_nodes": "2", "num_tasks": "4", "runtime": "1", "exclusive": "true"},
        ),
        ({"name": "half", "time": ".5h", "cores": "2"}, {"cores_per_task": "2", "runtime": "1800"}),
        ({"name": "ms", "time": "1500ms", "gpus": "1"}, {"gpus_per_task": "1", "runtime": "2"}),
        ({"name": "sum", "time": "1h30m"}, {"runtime": "5400"}),
        ({"name": "none", "time": "inf", "gpus": "0"}, {}),
        ({"name": "zero", "time": "0"}, {}),
        (
            {"name": "env", "env": ["A=1", "GREETING=hello world", "EMPTY="]},
            {"envars": {"A": "1", "GREETING": "hello world", "EMPTY": ""}},
        ),
        (
            {"name": "opts", "setopt": ["cpu-affinity=per-task", "verbose"]},
            {"option_flags": "cpu-affinity=per-task,verbose=1"},
        ),
    ],
)
def test_the_same_inputs_make_the_same_request_everywhere(shell, flux, tmp_path, inputs, sent):
    inputs = {**inputs, "cwd": str(tmp_path)}
    results = everywhere(shell, flux, inputs)
    envars = sent.pop("envars", None)
    expected = (
        [("command", shlex.join(COMMAND)), *sent.items(), ("workdir", str(tmp_path))],
        envars,
    )
    for front_end, (request, name) in results.items():
        assert request != "refused", (front_end, name)
        params, environ = request
        assert (sorted(params), environ) == (sorted(expected[0]), expected[1]), front_end
        assert name == inputs["name"], front_end


# -- the same refusal ------------------------------------------------------------------------

NOT_A_LIMIT = (
    "is not a time limit: use a Flux duration: seconds (90) or a number with a unit ms, s, m, "
    "h or d (30s, 5m, 1.5h, 2d, 1h30m); 0 or inf: no limit"
)


@pytest.mark.parametrize(
    "inputs,reasons",
    [
        ({"nodes": "0"}, ["'num_nodes' must be a whole number of at least 1, not '0'"]),
        ({"tasks": "two"}, ["'num_tasks' must be a whole number of at least 1, not 'two'"]),
        ({"gpus": "-1"}, ["'gpus_per_task' must be a whole number of at least 0, not '-1'"]),
        ({"time": "soon"}, [f"'runtime': 'soon' {NOT_A_LIMIT}"]),
        ({"time": "5 m"}, [f"'runtime': '5 m' {NOT_A_LIMIT}"]),
        ({"time": "-3"}, [f"'runtime': '-3' {NOT_A_LIMIT}"]),
        (
            {"time": "1e12"},
            ["'runtime': '1e12' is too long a time limit: at most 4294967296 seconds"],
        ),
        ({"name": ""}, ["'name': a job name must not be empty"]),
        ({"name": "x" * 201}, ["'name': a job name must be at most 200 characters"]),
        (
            {"nodes": "2", "tasks": "1"},
            [
                "'num_tasks' must be at least 'num_nodes' (each node needs a task): "
                "1 tasks on 2 nodes"
            ],
        ),
        (
            {"env": ["2FAST=yes"]},
            [
                "environment variable names are letters, digits and _, not starting with a "
                "digit; not '2FAST'"
            ],
        ),
        (
            {"nodes": "0", "time": "soon", "name": " "},
            [
                "'name': a job name must not be empty",
                "'num_nodes' must be a whole number of at least 1, not '0'",
                f"'runtime': 'soon' {NOT_A_LIMIT}",
            ],
        ),
    ],
)
def test_the_same_bad_inputs_get_the_same_message_everywhere(shell, flux, inputs, reasons):
    results = everywhere(shell, flux, {"name": "job", **inputs})
    message = "The job was not submitted: " + "; ".join(reasons)
    for front_end, (outcome, text) in results.items():
        assert (outcome, text) == ("refused", message), front_end
    assert flux.client.sent == []  # nothing went to the cluster


def test_the_server_lists_every_bad_field_as_its_own_reason():
    with pytest.raises(BadRequest) as caught:
        parse_submission(json.dumps({"command": "", "num_tasks": 0, "colour": "red"}).encode())
    assert caught.value.reasons == [
        "'command' is required: the command line to run, e.g. \"hostname\"",
        "'num_tasks' must be a whole number of at least 1, not '0'",
        "unknown field 'colour'.",
    ]


def test_env_words_without_a_value_are_refused_on_the_command_lines(shell, flux):
    inputs = {"name": "e", "env": ["NOEQUALS"]}
    message = "The job was not submitted: --env takes NAME=VALUE, not 'NOEQUALS'"
    assert via_magic(shell, flux, inputs) == ("refused", message)
    assert via_terminal(flux, inputs) == ("refused", message)


def test_the_magic_keeps_its_first_spellings(shell, flux, tmp_path):
    new = via_magic(shell, flux, {}, f"-n 3 -t 90s --name a --cwd {tmp_path}")
    old = via_magic(shell, flux, {}, f"--tasks 3 --time 90s --name a --cwd {tmp_path}")
    assert new == old
    assert ("num_tasks", "3") in new[0][0] and ("runtime", "90") in new[0][0]


def test_the_magic_takes_what_the_form_has(shell, flux, tmp_path):
    request, _ = via_magic(
        shell, flux, {}, f"-g 1 --env A=1 --exclusive --cwd {tmp_path}/sub --name x"
    )
    params, environ = request
    assert ("gpus_per_task", "1") in params and ("exclusive", "true") in params
    assert ("workdir", f"{tmp_path}/sub") in params
    assert environ == {"A": "1"}


# -- %%flux names a job after its notebook and cell ------------------------------------------


def test_a_cells_job_is_named_after_its_notebook_and_cell(shell, flux, monkeypatch, capsys):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/alice/work/analysis.ipynb")
    shell.run_cell("x = 1", store_history=True)
    shell.run_cell("y = 2", store_history=True)
    result = shell.run_cell(f"%%flux\n{SCRIPT}", store_history=True)
    job = result.result
    assert flux.names.get(job.id) == "analysis.ipynb [3]"  # what the panel shows
    assert f"Submitted job {job.f58} (analysis.ipynb [3]) as alice" in capsys.readouterr().out


def test_a_given_name_wins_and_without_a_notebook_the_cell_is_named(shell, flux):
    job = shell.run_cell(f"%%flux --name mine\n{SCRIPT}").result
    assert flux.names.get(job.id) == "mine"
    job = shell.run_cell(f"%%flux\n{SCRIPT}", store_history=True).result
    assert flux.names.get(job.id) == "cell [1]"


def test_cell_names_stay_valid_job_names():
    assert cell_name("nb/with\nnewline.ipynb", 12) == "with?newline.ipynb [12]"
    long = cell_name("/x/" + "a" * 300 + ".ipynb", 7)
    assert len(long) == 200 and long.endswith(" [7]")
    assert cell_name(None, None) == "cell"


# -- the description the panel reads ---------------------------------------------------------


def test_the_description_names_every_field_with_its_flags():
    described = json.loads(json.dumps(jobrequest.describe()))
    fields = {field["name"]: field for field in described["fields"]}
    assert list(fields) == [
        "command",
        "name",
        "num_nodes",
        "num_tasks",
        "cores_per_task",
        "gpus_per_task",
        "runtime",
        "workdir",
        "envars",
        "exclusive",
        "option_flags",
    ]
    assert fields["num_tasks"]["flags"] == ["-n", "--ntasks"]
    assert fields["num_tasks"]["aliases"] == ["--tasks"]
    assert fields["gpus_per_task"]["minimum"] == 0
    assert fields["runtime"]["kind"] == "duration"
    assert described["duration"]["units"]["ms"] == 0.001
