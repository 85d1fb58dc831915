"""The person's job history (flux_hub/history.py) and job templates, for the panel.

- ``GET history``: the records, searched (the History view); each with its ``form``.
- ``POST history/rerun``: run a recorded job again exactly as it was first sent (Run again).
- ``GET templates``, ``PUT``/``DELETE templates/<name>``: the hub's published templates
  (``c.FluxHub.templates``, from the hub's ``job_templates`` through $FLUX_HUB_TEMPLATES;
  read-only) and the person's own, kept in their history file.

Served from the history file next to ``c.FluxHub.job_names_path`` (the person's own data folder),
only the records of this server's account (``c.FluxHub.user``). Only re-running asks the
cluster: the rest answers when the cluster is down or gone. docs/server-extension-api.md has
the API.
"""

import datetime
import json

from jupyter_server.utils import url_path_join
from tornado import web

from flux_hub import jobid
from flux_hub.history import (
    ACTIVE,
    GONE,
    MAX_LIMIT,
    ORIGINS,
    History,
    HistoryError,
    keeps_env_values,
    published_template,
    rerun_request,
    template_name,
    template_request,
)
from flux_hub.jobrequest import JobRequestError
from flux_hub.paths import within
from flux_hub.serverextension.errors import BadRequest
from flux_hub.serverextension.handlers import FluxHubHandler, _sentence, parse_job_id

STATES = (ACTIVE, GONE, "COMPLETED", "FAILED", "CANCELED", "TIMEOUT")
SETTING = "flux_hub_history"
PUBLISHED = "flux_hub_published_templates"


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
        root = self.service.root_dir
        for record in page["records"]:
            # Where the file browser finds the notebook or file (None: outside it)
            path = record["origin"]["path"]
            record["origin"]["browser_path"] = within(path, root) if path and root else None
        self.finish(json.dumps({**page, "limit": search["limit"], "offset": search["offset"]}))


def _json_object(body, what):
    """The request body as a JSON object, or BadRequest saying ``what`` it must describe."""
    try:
        data = json.loads(body or b"")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise BadRequest(f"The request body must be a JSON object {what}.")
    return data


class RerunHandler(FluxHubHandler):
    """POST history/rerun {"id": "<decimal>", "cluster": "<url>"}: run a recorded job again."""

    @web.authenticated
    async def post(self):
        """Submit the record's request again, exactly as first sent (``rerun_request``);
        201 {"id": new id}. 404 when the history has no such job, 409 {message} when it cannot
        be run again as it was (imported before requests were kept; environment values not
        kept). The new job is recorded with the first one's origin and ``rerun_of``."""
        data = _json_object(self.request.body, 'naming the job to run again: {"id": "123"}')
        text, cluster = data.get("id"), data.get("cluster")
        if isinstance(text, bool) or not isinstance(text, str | int):
            raise BadRequest(f"'id' must be a job id (decimal), not {text!r}.", field="id")
        job_id = parse_job_id(str(text))
        if cluster is not None and not isinstance(cluster, str):
            raise BadRequest(f"'cluster' must be a URL, not {cluster!r}.", field="cluster")
        record = open_history(self.settings).get(job_id, cluster or None)
        if record is None:
            raise web.HTTPError(404, "%s", f"Job {jobid.f58(job_id)} is not in your job history.")
        try:
            command, fields, name = rerun_request(record)
        except HistoryError as error:
            raise web.HTTPError(409, "%s", _sentence(str(error))) from None
        new_id = await self.service.submit(command, name=name, **fields)
        origin = record["origin"]
        self.service.record_submitted(
            new_id,
            {"command": command, **fields},
            name,
            origin_kind=origin["kind"],
            origin_path=origin["path"],
            origin_cell=origin["cell"],
            origin_command=origin["command"],
            # values were kept for the first job: kept for this one too
            keep_env_values=keeps_env_values(record),
            rerun_of=record["id"],
        )
        self.set_status(201)
        self.finish(json.dumps({"id": new_id}))


def published_templates(templates, log):
    """The hub's templates as the panel gets them, each checked like a person's (name, then
    ``template_request``): {"name", "description", "request", "published": True}, sorted by
    name. One that is not valid is left out, with one warning line naming it and why."""
    kept = {}
    for number, template in enumerate(templates, 1):
        label = repr(template.get("name")) if template.get("name") else f"number {number}"
        try:
            checked = published_template(template)
        except ValueError as error:  # JobRequestError is one
            reason = "; ".join(getattr(error, "problems", {}).values()) or error
            log.warning("flux-hub: the hub's job template %s is left out: %s", label, reason)
            continue
        kept[checked["name"]] = {**checked, "published": True}
    return sorted(kept.values(), key=_by_name)


def _by_name(template):
    return (template["name"].casefold(), template["name"])


def _published(settings):
    """The published templates, checked once (at the first use)."""
    published = settings.get(PUBLISHED)
    if published is None:
        service = settings["flux_hub"]
        published = settings[PUBLISHED] = published_templates(
            service.settings.templates, service.log
        )
    return published


class TemplatesHandler(FluxHubHandler):
    """GET templates: the hub's published templates, then the person's own."""

    @web.authenticated
    def get(self):
        """{"templates": [{"name", "description", "request", "published"}]}: published first,
        then the person's, each by name."""
        own = [
            {"name": t["name"], "description": "", "request": t["request"], "published": False}
            for t in open_history(self.settings).templates()
        ]
        own.sort(key=_by_name)
        self.finish(json.dumps({"templates": [*_published(self.settings), *own]}))


class TemplateHandler(FluxHubHandler):
    """PUT templates/<name> {"request": {...}} (save) and DELETE templates/<name>."""

    def _name(self, text):
        try:
            name = template_name(text)
        except ValueError as error:
            raise BadRequest(_sentence(str(error)), field="name") from None
        if any(t["name"] == name for t in _published(self.settings)):
            return name, True
        return name, False

    @web.authenticated
    def put(self, name):
        """Save the body's ``request`` (the panel's POST jobs body shape, checked as a job
        request; the command may be left out) as the person's template ``name``: 200
        {"name": the name kept}. 400 for a bad name or request (``field``), 409 for the name
        of a published template."""
        name, published = self._name(name)
        if published:
            raise web.HTTPError(
                409,
                "%s",
                f"{name!r} is a template published by the hub's admin: save yours under "
                "another name.",
            )
        data = _json_object(self.request.body, 'holding the template: {"request": {...}}')
        unknown = sorted(key for key in data if key != "request")
        if unknown or "request" not in data:
            raise BadRequest(
                'The template was not saved: the body must be {"request": {...}}.',
                [f"unknown field {key!r}." for key in unknown]
                or ["'request' is missing: the job's fields, as the form sends them."],
            )
        try:
            request = template_request(data["request"])
        except JobRequestError as problem:
            raise BadRequest(
                "The template was not saved: its request is not valid.",
                [_sentence(reason) for reason in problem.reasons],
                field=problem.field,
            ) from None
        kept = open_history(self.settings).save_template(name, request)
        self.finish(json.dumps({"name": kept}))

    @web.authenticated
    def delete(self, name):
        """Delete the person's template ``name``: 204; 404 when they have none of that name,
        409 for a published one."""
        name, published = self._name(name)
        if published:
            raise web.HTTPError(
                409, "%s", f"{name!r} is published by the hub's admin: it cannot be deleted here."
            )
        if not open_history(self.settings).delete_template(name):
            raise web.HTTPError(404, "%s", f"You have no template named {name!r}.")
        self.set_status(204)
        self.finish()


def handlers(base_url):
    """The history's and the templates' (URL pattern, handler) pairs under ``base_url``."""
    api = url_path_join(base_url, "flux-hub", "api")
    return [
        (url_path_join(api, "history"), HistoryHandler),
        (url_path_join(api, "history", "rerun"), RerunHandler),
        (url_path_join(api, "templates"), TemplatesHandler),
        (url_path_join(api, "templates", r"(?P<name>[^/]+)"), TemplateHandler),
    ]
