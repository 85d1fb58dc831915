"""Every rule flux-hub applies in more than one place gives the same answer everywhere (issue 29.2).

Each rule lives in one place now; these tests run every caller of it on the same inputs and
check they agree with the rule, answer and message alike. A new caller is one more entry in the
rule's CALLERS table.
"""

import argparse
import io
from contextlib import redirect_stdout

import pytest

from flux_hub import jobstates, terminal, waiting
from flux_hub.notebook.api import Job, JobList

# -- which job states are active (and pending) -------------------------------------------------

STATES = ("NEW", "DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP", "INACTIVE")


def _flux_hub_jobs_shows(state, monkeypatch):
    """`flux-hub jobs` (no --all): whether a job in ``state`` is listed."""
    info = {"id": 1234, "state": state, "name": "x", "userid": 1000}
    monkeypatch.setattr(
        terminal, "_your_jobs", lambda cluster: (JobList([Job(None, 1234, info)]), None)
    )
    out = io.StringIO()
    with redirect_stdout(out):
        terminal.list_jobs(None, argparse.Namespace(all=False, json=True))
    return '"id": 1234' in out.getvalue()


def _flux_hub_cancel_active(state, monkeypatch):
    """`flux-hub cancel --all --states=active`: whether a job in ``state`` is one it cancels."""
    return state in terminal._cancel_states("active")


def _flux_hub_cancel_by_name(state, monkeypatch):
    """`flux-hub cancel --states=<state>`: a state's own name is taken only for active ones."""
    try:
        return state in terminal._cancel_states(state.lower())
    except terminal.CommandError:
        return False


ACTIVE_CALLERS = {
    "flux-hub jobs": _flux_hub_jobs_shows,
    "flux-hub cancel --states=active": _flux_hub_cancel_active,
    "flux-hub cancel --states=STATE": _flux_hub_cancel_by_name,
}


@pytest.mark.parametrize("caller", ACTIVE_CALLERS)
@pytest.mark.parametrize("state", STATES)
def test_active_states_agree(caller, state, monkeypatch):
    expected = jobstates.is_active({"state": state})
    assert expected == (state != "INACTIVE")  # NEW too: a job being submitted has not ended
    assert ACTIVE_CALLERS[caller](state, monkeypatch) == expected


def _server_waiting(state):
    """The server extension's listing: a job it tells why it waits (A's module reads its own
    set; listed here so that a drift shows)."""
    from flux_hub.serverextension import jobs

    return state in jobs._PENDING


PENDING_CALLERS = {
    "why_waiting (reader, CLI, server)": lambda state: (
        waiting.why_waiting({"state": state}) is not None
    ),
    "flux-hub cancel --states=pending": lambda state: state in terminal._cancel_states("pending"),
    "server extension listing": _server_waiting,
}


@pytest.mark.parametrize("caller", PENDING_CALLERS)
@pytest.mark.parametrize("state", STATES)
def test_pending_states_agree(caller, state):
    assert PENDING_CALLERS[caller](state) == (state in jobstates.PENDING)
