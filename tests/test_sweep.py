"""Sweeps (flux_hub/sweep.py): one request with placeholders expanded into many jobs as flux
bulksubmit does; ``flux-hub bulksubmit`` as a person in a terminal types it, and the notebook's
``submit_many`` on the local MiniCluster (both lanes)."""

import os
import shlex
import subprocess
import sys
import time

import pytest

from flux_hub import jobid, sweep
from flux_hub.history import History
from flux_hub.notebook import connect

# flux-hub bulksubmit until the lead wires it into flux_hub/cli.py: the same parser and function
DRIVER = """
import argparse, sys
from flux_hub import sweep
parser = argparse.ArgumentParser(prog="flux-hub")
sweep.add_parser(parser.add_subparsers(dest="command"))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


def commands(jobs):
    return [job.request["command"] for job in jobs]


def test_one_list_each_input_in_its_own_job_named_by_the_group():
    jobs = sweep.expand({"command": ["echo", "{}"], "num_tasks": 2}, [["a", "b", "c"]])
    assert commands(jobs) == [["echo", "a"], ["echo", "b"], ["echo", "c"]]
    assert [job.request["name"] for job in jobs] == ["echo [1/3]", "echo [2/3]", "echo [3/3]"]
    assert all(job.request["num_tasks"] == 2 for job in jobs)


def test_several_lists_give_their_product_the_last_varying_fastest():
    jobs = sweep.expand({"command": "run {} {}"}, [["a", "b"], [1, 2]])
    assert commands(jobs) == ["run a 1", "run a 2", "run b 1", "run b 2"]
    positional = sweep.expand({"command": "run {1} {0}"}, [["a", "b"], [1, 2]])
    assert commands(positional) == ["run 1 a", "run 2 a", "run 1 b", "run 2 b"]


def test_named_inputs_index_and_bulksubmit_suffixes():
    jobs = sweep.expand(
        {
            "command": "sim --in {path} --out {path./%}-{seq1}.out --dir {path.//}",
            "name": "s {seq}",
        },
        {"path": ["data/a.csv", "data/b.csv"]},
    )
    assert commands(jobs) == [
        "sim --in data/a.csv --out a-1.out --dir data",
        "sim --in data/b.csv --out b-2.out --dir data",
    ]
    assert [job.request["name"] for job in jobs] == ["s 0", "s 1"]  # a name template wins


def test_placeholders_in_workdir_and_environment_values():
    jobs = sweep.expand(
        {"command": "true", "workdir": "runs/{}", "envars": {"ALPHA": "{}", "X": "fixed"}},
        [["1", "2"]],
    )
    assert [job.request["workdir"] for job in jobs] == ["runs/1", "runs/2"]
    assert [job.request["envars"] for job in jobs] == [
        {"ALPHA": "1", "X": "fixed"},
        {"ALPHA": "2", "X": "fixed"},
    ]


def test_no_placeholder_appends_the_inputs_and_shell_braces_stay():
    assert commands(sweep.expand({"command": ["echo"]}, [["a"], ["b"]])) == [["echo", "a", "b"]]
    jobs = sweep.expand({"command": ["sh", "-c", "echo ${HOME} {{}} {}"]}, [["x"]])
    assert commands(jobs) == [["sh", "-c", "echo ${HOME} {} x"]]


def test_command_line_inputs_ranges_and_files(tmp_path):
    listing = tmp_path / "inputs.txt"
    listing.write_text("one\n\ntwo\n")
    command, lists = sweep.split_command(
        [
            "echo",
            "{}",
            "{}",
            "{}",
            ":::",
            "{1..3}",
            ":::",
            "x",
            ":::",
            "{0..10..5}",
            "::::",
            str(listing),
        ]
    )
    assert command == ["echo", "{}", "{}", "{}"]
    assert lists == [["1", "2", "3"], ["x"], ["0", "5", "10"], ["one", "two"]]
    assert sweep.count(lists) == 18


def test_values_typed_as_words_read_as_the_command_line_reads_them():
    """The panel's Values ({"words": text}) and the words after ':::' are one rule: the same
    text gives the same inputs (quotes keep spaces, {A..B} are ranges)."""
    text = "a 'b c' {1..3} {0..10..5}"
    _command, typed = sweep.split_command(["echo", ":::", *shlex.split(text)])
    jobs = sweep.expand({"command": "echo {}"}, [{"words": text}])
    assert [job.fields["command"] for job in jobs] == [
        shlex.join(["echo", value]) for value in typed[0]
    ]
    assert typed[0] == ["a", "b c", "1", "2", "3", "0", "5", "10"]
    named = sweep.expand({"command": "echo {x}"}, {"x": {"words": "{1..2}"}})
    assert [job.fields["command"] for job in named] == ["echo 1", "echo 2"]


@pytest.mark.parametrize(
    ("request_", "inputs", "said"),
    [
        (
            {"command": "echo {2}"},
            [["a"]],
            "the command: {2} asks for input 2, but there is only 1",
        ),
        ({"command": "echo {x}"}, {"y": [1]}, "the command: no input named 'x' (named inputs: y)"),
        ({"command": "echo {}"}, [[]], "input 0 is empty: nothing to submit"),
        (
            {"command": "echo {}"},
            [range(200), range(200)],
            "200 x 200 = 40000 jobs: a sweep has at most 10000",
        ),
        (
            {"command": "echo {}", "name": "n {}"},
            [["1", "x" * 300]],
            "job 2 of 2: 'name':",
        ),
        ({"command": ["echo", "{a b}"]}, [["1"]], "the command: {a b} is not a placeholder"),
        ({"command": "echo"}, "abc", "'inputs' must be a list of lists or a dict"),
        ({"command": "echo"}, [[None]], "input 0 holds None: inputs are text or numbers"),
        ({"command": "echo"}, [{"words": "a 'b"}], 'the values "a \'b" cannot be read as words'),
        ({"command": "echo"}, [{"words": "{1..3..0}"}], "{1..3..0}: a range's step cannot be 0"),
        ({"command": "echo"}, [{"words": 3}], "input 0's words must be text"),
    ],
)
def test_a_bad_sweep_is_one_line(request_, inputs, said):
    with pytest.raises(sweep.SweepError) as error:
        sweep.expand(request_, inputs)
    assert str(error.value).startswith(said)
    assert "\n" not in str(error.value)


def test_a_long_group_still_fits_a_job_name():
    name = sweep.job_name("g" * 500, 41, 10_000)
    assert name.endswith(" [42/10000]")
    assert sweep.expand({"command": "x", "name": name}, [["1"]])  # a name jobrequest takes


def bulksubmit(env, *args):
    return subprocess.run(
        [sys.executable, "-c", DRIVER, "bulksubmit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def env(cluster, tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    environ.update(
        FLUX_RESTFUL_HOST=cluster.url,
        FLUX_USER="alice",
        FLUX_TOKEN=cluster.passwords["alice"],
        FLUX_SECRET_KEY=cluster.secret_key,
        HOME=str(tmp_path),
    )
    environ.pop("XDG_DATA_HOME", None)
    return environ


def test_dry_run_prints_the_commands_and_submits_nothing(env):
    done = bulksubmit(env, "--dry-run", "--group", "scan", "-n", "1", "echo", "{}", ":::", "a", "b")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["scan [1/2]: echo a", "scan [2/2]: echo b"]
    assert "2 jobs (dry run: nothing submitted)" in done.stderr


def test_a_bad_command_line_is_one_line_and_exit_2(env):
    done = bulksubmit(env, "echo", "{3}", ":::", "a")
    assert done.returncode == 2
    assert done.stderr == (
        "flux-hub: the command: {3} asks for input 3, but there is only 1 (from 0); "
        "nothing was submitted\n"
    )
    assert done.stdout == ""
    no_inputs = bulksubmit(env, "echo", "hi")
    assert no_inputs.returncode == 2
    assert "no inputs: give them after ':::'" in no_inputs.stderr


@pytest.mark.cluster
def test_bulksubmit_runs_each_job_named_by_its_group(env, cluster, tmp_path):
    done = bulksubmit(env, "--group", "greet", "echo", "hello", "{}", ":::", "ann", "bob", "cy")
    assert done.returncode == 0, done.stderr
    ids = [jobid.parse(line) for line in done.stdout.split()]
    assert len(ids) == 3
    with connect(cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key) as flux:
        jobs = [flux.job(i) for i in ids]
        for job in jobs:
            job.wait(timeout=60)
        assert [job.output().strip() for job in jobs] == ["hello ann", "hello bob", "hello cy"]
    history = History(tmp_path / ".local/share/flux-hub/history.sqlite3", account="alice")
    records = history.search(limit=10)["records"]
    names = {r["id"]: (r["name"], r["origin"]["kind"]) for r in records}
    assert names == {
        ids[0]: ("greet [1/3]", "cli"),
        ids[1]: ("greet [2/3]", "cli"),
        ids[2]: ("greet [3/3]", "cli"),
    }
    # Each keeps its place in the sweep (the same sweep id for the three)
    places = {r["id"]: r["sweep"] for r in records}
    sweep_id = places[ids[0]]["id"]
    assert [places[i] for i in ids] == [
        {"id": sweep_id, "group": "greet", "index": i, "total": 3} for i in (1, 2, 3)
    ]


@pytest.mark.cluster
def test_submit_many_from_the_notebook(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with connect(cluster.url, "alice", cluster.passwords["alice"], cluster.secret_key) as flux:
        assert sweep.submit_many(flux, "echo {x}", {"x": [1, 2]}, dry_run=True) == [
            "echo [1/2]: echo 1",
            "echo [2/2]: echo 2",
        ]
        jobs = sweep.submit_many(flux, ["echo", "{x}-{y}"], {"x": [1, 2], "y": ["a"]}, group="g")
        assert [job.name for job in jobs] == ["g [1/2]", "g [2/2]"]
        deadline = time.monotonic() + 60
        for job in jobs:
            job.wait(timeout=max(1, deadline - time.monotonic()))
        assert [job.output().strip() for job in jobs] == ["1-a", "2-a"]
        records = [flux._open_history().get(job.id) for job in jobs]
        assert [
            (r["sweep"]["group"], r["sweep"]["index"], r["sweep"]["total"]) for r in records
        ] == [
            ("g", 1, 2),
            ("g", 2, 2),
        ]
        with pytest.raises(sweep.SweepError, match="no input named 'z'"):
            sweep.submit_many(flux, "echo {z}", {"x": [1]})


def test_a_schema_2_history_gets_the_sweep_column_keeping_its_records(tmp_path):
    """History schema 3: a job's place in its sweep; a file of schema 2 is upgraded in place."""
    path = tmp_path / "history.sqlite3"
    with History(path, account="alice") as history:
        history.record_submitted(7, cluster="c", request={"command": "true"}, origin_kind="cli")
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("ALTER TABLE jobs DROP COLUMN sweep")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    place = {"id": "ab12", "group": "g", "index": 2, "total": 9}
    with History(path, account="alice") as history:
        assert history.schema_version == 3
        assert history.get(7)["sweep"] is None and history.get(7)["command"] == "true"
        history.record_submitted(
            8, cluster="c", request={"command": "true"}, origin_kind="cli", sweep=place
        )
        assert history.get(8)["sweep"] == place
