"""GET history of the server extension: the person's own job history, searched as the panel
will search it. No cluster is needed (nor asked): the history answers when the cluster is gone."""

import pytest
from serverext_support import server_config

from flux_hub.history import History
from flux_hub.jobnames import JobNames

# Nothing listens there: the history must not need the cluster.
GONE_CLUSTER = "http://127.0.0.1:9"
DAY = 86400


@pytest.fixture
def names_path(tmp_path):
    return tmp_path / "alice-data" / "flux-hub" / "job-names.json"


@pytest.fixture
def jp_server_config(names_path):
    config = server_config(host=GONE_CLUSTER, token="unused", job_names_path=str(names_path))
    config["FluxHub"]["user"] = "alice"
    return config


@pytest.fixture
def recorded(names_path, jp_root_dir):
    """alice's jobs from before the history (a name file), ten recorded ones, and one of bob's
    in the same file (a shared home must still show each person their own)."""
    JobNames(names_path).set(5, "from the old file")
    with History(names_path=names_path, account="alice") as history:
        for i in range(10):
            history.record_submitted(
                100 + i,
                cluster=GONE_CLUSTER,
                request={"command": ["python", f"step{i}.py"], "envars": {"TOKEN": "s3cret"}},
                origin_kind=("panel", "magic")[i % 2],
                origin_path=str(jp_root_dir / "analysis.ipynb") if i % 2 else None,
                origin_cell=str(i) if i % 2 else None,
                name=f"walk-{i}",
                submitted=1_765_000_000 + i * DAY,
            )
        history.record_final(103, cluster=GONE_CLUSTER, result="FAILED", exit_code=1)
        history.record_gone(104, cluster=GONE_CLUSTER)
    with History(names_path=names_path, account="bob") as bob:
        bob.record_submitted(
            200, cluster=GONE_CLUSTER, request={"command": "true"}, origin_kind="cli", name="bob"
        )


async def test_history_needs_authentication(api, recorded):
    code, data = await api.get("history", headers={"Authorization": "token not-the-token"})
    assert code == 403
    assert "records" not in (data or {})


async def test_history_is_the_persons_own_newest_first(api, recorded, jp_root_dir):
    code, data = await api.get("history")
    assert code == 200, data
    assert [r["id"] for r in data["records"]] == [*range(109, 99, -1), 5]
    assert (data["more"], data["limit"], data["offset"]) == (False, 50, 0)
    step = data["records"][0]
    assert step["name"] == "walk-9" and step["command"] == "python step9.py"
    assert step["origin"] == {  # where the file browser finds the notebook, too
        "kind": "magic",
        "path": str(jp_root_dir / "analysis.ipynb"),
        "browser_path": "analysis.ipynb",
        "cell": "9",
        "command": None,
    }
    assert step["env_names"] == ["TOKEN"] and "envars" not in step["request"]
    assert data["records"][-1]["name"] == "from the old file"
    assert data["records"][-1]["imported_from"] == "job-names.json"


@pytest.mark.parametrize(
    "query,ids",
    [
        ({"q": "walk-3"}, [103]),
        ({"q": "STEP"}, list(range(109, 99, -1))),
        ({"state": "failed"}, [103]),
        ({"state": "GONE"}, [104]),
        ({"origin": "magic", "state": "active"}, [109, 107, 105, 101]),
        ({"origin": "unknown"}, [5]),
        ({"since": "2025-12-08", "until": str(1_765_000_000 + 5 * DAY)}, [104, 103, 102]),
        ({"limit": "3", "offset": "2"}, [107, 106, 105]),
    ],
)
async def test_history_search(api, recorded, query, ids):
    code, data = await api.get("history", params=query)
    assert code == 200, data
    assert [r["id"] for r in data["records"]] == ids


async def test_history_pages_say_when_there_is_more(api, recorded):
    code, data = await api.get("history", params={"limit": "10"})
    assert data["more"] is True
    code, data = await api.get("history", params={"limit": "10", "offset": "10"})
    assert (code, data["more"], [r["id"] for r in data["records"]]) == (200, False, [5])


async def test_history_refuses_a_bad_query_saying_what_is_wrong(api, recorded):
    query = {"state": "done", "origin": "email", "since": "yesterday", "limit": "0"}
    code, data = await api.get("history", params=query)
    assert code == 400
    assert data["message"] == "The history cannot be searched: the query is not valid."
    assert data["reasons"] == [
        "'state' must be one of ACTIVE, GONE, COMPLETED, FAILED, CANCELED, TIMEOUT, not 'DONE'.",
        "'origin' must be one of panel, file, notebook, magic, cli, unknown, not 'email'.",
        "'since' must be a date (2026-12-07), a date and time (2026-12-07T09:30) or unix "
        "seconds, not 'yesterday'.",
        "'limit' must be a whole number from 1 to 500, not '0'.",
    ]
