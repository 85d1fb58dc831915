"""Run again and templates in the server extension (issue 26): ``POST history/rerun`` sends
flux-restful the very request the first job was sent; ``GET/PUT/DELETE templates`` keep a
person's templates beside the hub's published ones (read-only, from $FLUX_HUB_TEMPLATES); and
``POST jobs`` takes the file browser's ``origin``."""

import json

import pytest
from serverext_support import server_config

from flux_hub import jobid
from flux_hub.history import History
from flux_hub.jobnames import JobNames

PUBLISHED = [
    {
        "name": "MPI hello",
        "description": "4 tasks on 2 nodes, 10 minutes",
        "request": {"command": "mpirun ./hello", "num_nodes": 2, "num_tasks": 4, "runtime": "10m"},
    },
    {"name": "a GPU", "request": {"gpus_per_task": 1}},
]


@pytest.fixture
def names_path(tmp_path):
    return tmp_path / "alice-data" / "flux-hub" / "job-names.json"


@pytest.fixture
def published(monkeypatch):
    """The hub's templates, in the server's environment as the hub puts them."""
    monkeypatch.setenv("FLUX_HUB_TEMPLATES", json.dumps(PUBLISHED))


@pytest.fixture
def jp_server_config(cluster, names_path, published):
    JobNames(names_path).set(5, "from before the history")  # imported at its first use
    return server_config(cluster, "alice", job_names_path=str(names_path))


def written(service):
    """Wait for the history writes queued so far."""
    if service._recorder is not None:
        service._recorder.submit(lambda: None).result(timeout=30)


@pytest.fixture
def wire(service):
    """Every submit request as it left for flux-restful: (query parameters, JSON body)."""
    sent = []
    send = service.client._send

    async def spy(request):
        if request.path.endswith("/jobs/submit"):
            sent.append((list(request.params), request.body))
        return await send(request)

    service.client._send = spy
    return sent


def history_of(names_path):
    return History(names_path=names_path, account="alice")


async def test_run_again_sends_the_first_request_and_records_where_it_came_from(
    api, service, wire, names_path, jp_root_dir
):
    (jp_root_dir / "scripts").mkdir()
    first = await api.submit(
        command=["sh", "-c", "echo 'a b' > out.txt"],
        name="walk-steps",
        num_nodes=1,
        num_tasks=2,
        cores_per_task=1,
        runtime="1m30s",
        exclusive=True,
        option_flags="cpu-affinity=per-task",
        workdir="scripts",
        origin={"kind": "file", "path": "scripts/run.sh"},
    )
    written(service)
    code, data = await api.post("history/rerun", body={"id": str(first)})
    assert code == 201, data
    again = data["id"]
    assert again != first
    # flux-restful was sent the same request twice
    assert len(wire) == 2 and wire[0] == wire[1]
    params = dict(wire[0][0])
    assert params["command"] == "sh -c 'echo '\"'\"'a b'\"'\"' > out.txt'"
    assert (params["num_tasks"], params["runtime"], params["exclusive"]) == ("2", "90", "true")
    assert params["workdir"] == str(jp_root_dir / "scripts")

    written(service)
    code, page = await api.get("history")
    assert code == 200, page
    records = {r["id"]: r for r in page["records"]}
    assert records[again]["rerun_of"] == first and records[first]["rerun_of"] is None
    assert (
        records[again]["origin"]
        == records[first]["origin"]
        == {
            # kept as the lab's absolute path, as a notebook's is; the file browser's beside it
            "kind": "file",
            "path": str(jp_root_dir / "scripts" / "run.sh"),
            "browser_path": "scripts/run.sh",
            "cell": None,
            "command": None,
        }
    )
    assert records[again]["name"] == "walk-steps"
    assert (
        records[again]["form"]
        == records[first]["form"]
        == {
            "command": "sh -c 'echo '\"'\"'a b'\"'\"' > out.txt'",
            "name": "walk-steps",
            "num_nodes": 1,
            "num_tasks": 2,
            "cores_per_task": 1,
            "runtime": 90,
            "exclusive": True,
            "option_flags": "cpu-affinity=per-task",
            "workdir": str(jp_root_dir / "scripts"),
        }
    )
    assert records[again]["env_values_kept"] is True
    # Run again on the re-run: the same once more, still naming the first it came from
    code, data = await api.post("history/rerun", body={"id": again, "cluster": service.client.host})
    assert code == 201, data
    assert wire[2] == wire[0]


async def test_what_cannot_be_run_again_says_why(api, service, wire, names_path):
    with_env = await api.submit(command="env", envars={"API_TOKEN": "s3cret", "MODE": "x"})
    written(service)
    code, data = await api.post("history/rerun", body={"id": str(with_env)})
    assert code == 409, data
    assert data["message"] == (
        f"Job {jobid.f58(with_env)}'s environment values were not kept (API_TOKEN, MODE): "
        "give them (--env API_TOKEN=…) or use Edit and run."
    )
    code, data = await api.post("history/rerun", body={"id": "5"})  # imported
    assert code == 409, data
    assert data["message"] == (
        f"Job {jobid.f58(5)} was recorded before flux-hub kept requests; submit it anew."
    )
    code, data = await api.post("history/rerun", body={"id": "12345"})
    assert code == 404, data
    assert data["message"] == f"Job {jobid.f58(12345)} is not in your job history."
    code, data = await api.post(
        "history/rerun", body={"id": str(with_env), "cluster": "http://elsewhere:5000"}
    )
    assert code == 404, data
    for body, field in (({"id": "soon"}, None), ({"id": True}, "id"), ({}, "id")):
        code, data = await api.post("history/rerun", body=body)
        assert code == 400, data
        assert data.get("field") == field, data
    code, data = await api.post("history/rerun", body="[1]")
    assert (code, data["message"]) == (
        400,
        'The request body must be a JSON object naming the job to run again: {"id": "123"}.',
    )
    assert len(wire) == 1  # nothing more was submitted


async def test_environment_values_asked_to_be_kept_run_again(api, service, wire, names_path):
    kept = await api.submit(command="env", envars={"API_TOKEN": "s3cret"}, keep_env=True)
    written(service)
    code, data = await api.post("history/rerun", body={"id": str(kept)})
    assert code == 201, data
    written(service)
    assert wire[0] == wire[1]  # the values went again
    with history_of(names_path) as history:
        assert history.get(data["id"])["form"]["envars"] == {"API_TOKEN": "s3cret"}
    code, data = await api.post("jobs", body={"command": "env", "keep_env": "yes"})
    assert code == 400 and data["reasons"] == ["'keep_env' must be true or false, not 'yes'."]
    assert len(wire) == 2


KIND_REFUSED = "'origin' must be " + '{"kind": "panel" or "file", "path": ...}, not {'


async def test_a_file_origin_is_recorded_and_a_bad_one_refused(
    api, service, wire, names_path, jp_root_dir
):
    job_id = await api.submit(command="true", origin={"kind": "file", "path": "a b/run.sh"})
    panel = await api.submit(command="true", origin={"kind": "panel"})
    written(service)
    with history_of(names_path) as history:
        assert history.get(job_id)["origin"]["kind"] == "file"
        assert history.get(job_id)["origin"]["path"] == str(jp_root_dir / "a b" / "run.sh")
        assert history.get(panel)["origin"]["kind"] == "panel"
    for origin, reason in (
        ({"kind": "notebook", "path": "x.ipynb"}, KIND_REFUSED),
        ({"kind": "file"}, "'origin' of kind 'file' needs the file's path."),
        ({"kind": "file", "path": ""}, "the origin's 'path' must be the file's path in the lab"),
        ({"kind": "file", "path": "x", "cell": 3}, "'origin' has an unknown field 'cell'."),
        ("file", "'origin' must be"),
    ):
        code, data = await api.post("jobs", body={"command": "true", "origin": origin})
        assert code == 400, data
        assert data["field"] == "origin"
        assert data["reasons"][0].startswith(reason), data
    # with a bad field too: every reason, no single field
    code, data = await api.post("jobs", body={"command": "", "origin": {"kind": "cli"}})
    assert code == 400 and "field" not in data and len(data["reasons"]) == 2, data
    assert len(wire) == 2


async def test_templates_published_first_then_the_persons_own(api, names_path):
    code, data = await api.get("templates")
    assert code == 200, data
    assert data["templates"] == [
        {
            "name": "a GPU",
            "description": "",
            "request": {"gpus_per_task": 1},
            "published": True,
        },
        {
            "name": "MPI hello",
            "description": "4 tasks on 2 nodes, 10 minutes",
            "request": {"command": "mpirun ./hello", "num_nodes": 2, "num_tasks": 4,
                        "runtime": 600},
            "published": True,
        },
    ]  # fmt: skip

    mine = {"command": ["python", "fit.py"], "num_tasks": "3", "runtime": "1h", "workdir": "w"}
    # (the test client escapes the path: the name travels as fit%3A%203%20tasks%20%C3%A9)
    code, data = await api.call("PUT", "templates", "fit: 3 tasks é", body={"request": mine})
    assert (code, data) == (200, {"name": "fit: 3 tasks é"})
    code, data = await api.call("PUT", "templates", "Zeta", body={"request": {"command": "z"}})
    assert code == 200, data
    code, data = await api.call("PUT", "templates", "Zeta", body={"request": {"command": "y"}})
    assert code == 200, data  # replaced
    code, data = await api.get("templates")
    assert [(t["name"], t["published"]) for t in data["templates"]] == [
        ("a GPU", True), ("MPI hello", True), ("fit: 3 tasks é", False), ("Zeta", False),
    ]  # fmt: skip
    assert data["templates"][2]["request"] == {
        "command": "python fit.py", "num_tasks": 3, "runtime": 3600, "workdir": "w",
    }  # fmt: skip
    assert data["templates"][3]["request"] == {"command": "y"}

    # refusals
    code, data = await api.call("PUT", "templates", "bad", body={"request": {"num_tasks": 0}})
    assert code == 400 and data["field"] == "num_tasks", data
    assert data["reasons"] == ["'num_tasks' must be a whole number of at least 1, not '0'."]
    code, data = await api.call("PUT", "templates", "bad", body={"command": "x"})
    assert code == 400 and data["reasons"] == ["unknown field 'command'."], data
    code, data = await api.call("PUT", "templates", "x" * 81, body={"request": {}})
    assert code == 400 and data["field"] == "name", data
    code, data = await api.call("PUT", "templates", "MPI hello", body={"request": {}})
    assert code == 409, data
    assert data["message"] == (
        "'MPI hello' is a template published by the hub's admin: save yours under another name."
    )
    code, data = await api.call("DELETE", "templates", "MPI hello")
    assert (code, data["message"]) == (
        409,
        "'MPI hello' is published by the hub's admin: it cannot be deleted here.",
    )
    code, data = await api.call("DELETE", "templates", "nothing")
    assert (code, data["message"]) == (404, "You have no template named 'nothing'.")
    code, data = await api.call("DELETE", "templates", "Zeta")
    assert (code, data) == (204, None)
    code, data = await api.get("templates")
    assert [t["name"] for t in data["templates"]] == ["a GPU", "MPI hello", "fit: 3 tasks é"]
    # kept in the person's history file, for every server of theirs
    with history_of(names_path) as history:
        assert [t["name"] for t in history.templates()] == ["fit: 3 tasks é"]


async def test_templates_need_authentication(api):
    code, data = await api.get("templates", headers={"Authorization": "token not-the-token"})
    assert code == 403 and "templates" not in (data or {})
    code, _ = await api.call(
        "PUT", "templates", "x", body={"request": {}}, headers={"Authorization": "token nope"}
    )
    assert code == 403


class TestBadPublishedTemplates:
    """The hub's templates are checked by the hub; should the server be given bad ones all the
    same, it starts, says so once in its log, and shows what is valid."""

    @pytest.fixture
    def server_log(self, capsys):
        """What the server logs at start: while extensions load, the test server's log has no
        handler yet, so Python prints warnings on stderr."""
        return lambda: capsys.readouterr().err.splitlines()

    @pytest.fixture
    def published(self, monkeypatch, request, server_log):
        monkeypatch.setenv("FLUX_HUB_TEMPLATES", request.param)

    @pytest.mark.parametrize(
        "published",
        ["[{not json", '{"name": "x"}'],
        indirect=True,
    )
    async def test_bad_json_is_one_warning_and_no_published_template(self, api, server_log):
        logged = server_log()
        warnings = [line for line in logged if "FLUX_HUB_TEMPLATES" in line]
        assert len(warnings) == 1, logged
        assert warnings[0].startswith(
            "flux-hub: $FLUX_HUB_TEMPLATES is not the hub's job templates, so none are shown: "
        )
        code, data = await api.get("templates")
        assert (code, data) == (200, {"templates": []})

    @pytest.mark.parametrize(
        "published",
        [json.dumps([{"name": "ok", "request": {"command": "true"}},
                     {"name": "bad", "request": {"num_tasks": "many"}}, {"request": {}}])],
        indirect=True,
    )  # fmt: skip
    async def test_a_bad_template_is_left_out_with_a_warning(self, api, server_log):
        warnings = [line for line in server_log() if "job template" in line]
        assert warnings == [
            "flux-hub: the hub's job template 'bad' is left out: 'num_tasks' must be a whole "
            "number of at least 1, not 'many'",
            "flux-hub: the hub's job template number 3 is left out: a template's name is 1 to "
            "80 characters of text, not None",
        ]
        code, data = await api.get("templates")
        assert [t["name"] for t in data["templates"]] == ["ok"]
