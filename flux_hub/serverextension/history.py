"""GET history: the person's job history (flux_hub/history.py) for the panel's History view.

Served from the history file next to ``c.FluxHub.job_names_path`` (the person's own data folder),
only the records of this server's account (``c.FluxHub.user``). The cluster is not asked: the
history answers when the cluster is down or gone. docs/server-extension-api.md has the API.
"""

import datetime
import json

from jupyter_server.utils import url_path_join
from tornado import web

from flux_hub.history import ACTIVE, GONE, MAX_LIMIT, ORIGINS, History
from flux_hub.serverextension.errors import BadRequest
from flux_hub.serverextension.handlers import FluxHubHandler

STATES = (ACTIVE, GONE, "COMPLETED", "FAILED", "CANCELED", "TIMEOUT")
SETTING = "flux_hub_history"


def open_history(web_app_settings):
    """The server's History, opened (made, migrated) at its first use and kept."""
    history = web_app_settings.get(SETTING)
    if history is None:
        service = web_app_settings["flux_hub"]
        history = History(
            names_path=service.settings.job_names_path, account=service.settings.user or ""
        )
        web_app_settings[SETTING] = history
    return history


def parse_time(name, text):
    """Unix seconds, or an ISO 8601 date or date and time (without a zone: UTC)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"'{name}' must be a date (2026-12-07), a date and time (2026-12-07T09:30) or unix "
            f"seconds, not {text!r}."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


def parse_whole(name, text, low, high):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise BadRequest(f"'{name}' must be a whole number from {low} to {high}, not {text!r}.")
    return value


def parse_query(argument):
    """The search's keyword arguments from the request's query (``argument(name)``: text or
    None), or BadRequest naming every parameter that is wrong."""
    search, reasons = {}, []
    q = (argument("q") or "").strip()
    if q:
        search["q"] = q
    state = (argument("state") or "").strip().upper()
    if state:
        if state not in STATES:
            reasons.append(f"'state' must be one of {', '.join(STATES)}, not {state!r}.")
        search["state"] = state
    origin = (argument("origin") or "").strip().lower()
    if origin:
        if origin not in ORIGINS:
            reasons.append(f"'origin' must be one of {', '.join(ORIGINS)}, not {origin!r}.")
        search["origin"] = origin
    checks = (
        ("since", parse_time),
        ("until", parse_time),
        ("limit", lambda n, t: parse_whole(n, t, 1, MAX_LIMIT)),
        ("offset", lambda n, t: parse_whole(n, t, 0, 10**9)),
    )
    for name, check in checks:
        text = (argument(name) or "").strip()
        if text:
            try:
                search[name] = check(name, text)
            except BadRequest as error:
                reasons.append(error.message)
    if reasons:
        raise BadRequest("The history cannot be searched: the query is not valid.", reasons)
    return search


class HistoryHandler(FluxHubHandler):
    """GET history?q=&state=&origin=&since=&until=&limit=&offset=: the person's records."""

    @web.authenticated
    def get(self):
        """{"records": [...], "more": bool, "limit": int, "offset": int}, newest first."""
        search = parse_query(lambda name: self.get_query_argument(name, None))
        search.setdefault("limit", 50)
        search.setdefault("offset", 0)
        page = open_history(self.settings).search(**search)
        self.finish(json.dumps({**page, "limit": search["limit"], "offset": search["offset"]}))


def handlers(base_url):
    """The history's (URL pattern, handler) pairs under the server's ``base_url``."""
    return [(url_path_join(base_url, "flux-hub", "api", "history"), HistoryHandler)]
