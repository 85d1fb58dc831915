"""The person's server's side of the hub's holds (issue 28.3): jobs that wait for others.

``POST flux-hub/api/jobs`` with ``"dependency": "afterok:ID"`` (or a list, or
``[{"kind", "id"}]``: flux_hub/depend.py) does not submit: the job is checked as any other
(parse_job_post, the working directory sent the cluster's way) and handed to the hub's holds API
(``POST {hub}api/holds``, flux_hub/service/handlers.py) with this server's own hub token, so
that the hub submits it as the person when the condition holds, whether or not this server
still runs. The answer is 201 ``{"hold": id, "state": "DEPEND", "after": [...]}``.
``GET flux-hub/api/holds`` passes the person's holds through (``{"holds": [...]}``), ``GET`` and
``DELETE flux-hub/api/holds/<id>`` one of them (DELETE cancels it while it waits).

The hub submits a held job, not this server: so that the person's own records know it as one
of theirs, this server takes up each SUBMITTED hold it has not taken up yet (``take_up``) when it
reads the person's holds (GET holds, which the panel polls) and at its start: the job gets the
hold's name (the person's job names, as GET jobs shows them) and a record in the person's job
history, with the origin the hold was made with (the panel's, a file's, the terminal's, a
notebook's) and the time the hub submitted it. The holds taken up are kept, one id a line, in
``held-jobs`` next to the job-name file, so each is taken up once.

The hub's URL: ``$FLUX_HUB_HOLDS_URL``, else next to the reader's (``FluxHub.reader_url``
``.../api/reader/`` gives ``.../api/holds/``); the token: ``FluxHub.reader_token`` (the server's
$JUPYTERHUB_API_TOKEN). Without either, a dependency is refused (503) in one line.
"""

import asyncio
import json
import os
import time

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.ioloop import IOLoop

from flux_hub import depend, fileutil
from flux_hub.history import History
from flux_hub.holds.client import HoldError, answer, holds_url
from flux_hub.paths import PathNotShared
from flux_hub.restful import ClusterUnavailable, InvalidRequest, PermissionDenied
from flux_hub.serverextension.errors import BadRequest
from flux_hub.serverextension.handlers import (
    FluxHubHandler,
    JobsHandler,
    _sentence,
    parse_job_post,
)

TIMEOUT = 30.0
# The file of holds taken up (beside the job-name file), and how many of their ids it keeps
TAKEN_FILE = "held-jobs"
MOST_TAKEN = 5000


class HubUnavailable(ClusterUnavailable):
    """No hub holds this server's jobs, or it did not answer (503)."""

    def __init__(self, message, status=None):
        super().__init__(message, None, status=status)


def dependency_of(body):
    """(the body without ``dependency``, the conditions or None) of a POST jobs body with a
    ``dependency`` key (null, "" or [] is none: the job is submitted now), else None (a body
    that is not a JSON object is left to parse_job_post to refuse)."""
    try:
        data = json.loads(body or b"")
    except ValueError:
        return None
    if not isinstance(data, dict) or "dependency" not in data:
        return None
    if data.get("dependency") in (None, "", []):
        del data["dependency"]
        return json.dumps(data).encode(), None
    try:
        after = depend.parse(data.pop("dependency"))
    except depend.DependencyError as error:
        raise BadRequest(
            "The job was not held: its dependency is not valid.",
            [_sentence(str(error))],
            field="dependency",
        ) from None
    return json.dumps(data).encode(), after


async def ask_hub(service, method, path="", body=None):
    """The hub's holds API's decoded answer, asked with this server's hub token."""
    url = holds_url(os.environ, service.settings.reader_url)
    token = service.settings.reader_token
    if not url or not token:
        raise HubUnavailable(
            "This server was given no hub to hold jobs (FLUX_HUB_HOLDS_URL): a job with a "
            "dependency cannot be held."
        )
    request = HTTPRequest(
        url + path,
        method=method,
        body=None if body is None else json.dumps(body),
        headers={"Authorization": f"token {token}", "Accept": "application/json"},
        connect_timeout=TIMEOUT,
        request_timeout=TIMEOUT,
        follow_redirects=False,
    )
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except (OSError, HTTPClientError) as error:
        raise HubUnavailable(f"The hub's holds at {url} cannot be reached: {error}") from None
    try:
        return answer(url, response.code, response.body)
    except InvalidRequest as error:
        raise BadRequest(_sentence(str(error))) from None
    except HoldError as error:
        if error.status == 403:  # the person has no active account
            raise PermissionDenied(_sentence(str(error)), status=403) from None
        said = error.reasons[0] if error.reasons else ""
        if error.status == 404 and said.startswith("There is no hold"):
            raise web.HTTPError(404, "%s", said) from None
        raise HubUnavailable(_sentence(str(error)), error.status) from None


async def submit_held(handler, body, after):
    """Hold the job of ``body`` (a POST jobs body without its dependency) until ``after``:
    finishes ``handler`` with 201 {"hold", "state", "after", "name"}."""
    fields, name, origin = parse_job_post(body)
    service = handler.service
    if "workdir" in fields:
        try:
            fields["workdir"] = service.cluster_workdir(fields["workdir"])
        except PathNotShared as error:
            raise BadRequest(_sentence(str(error)), field="workdir") from None
    hold = {"request": fields, "after": after, "origin": origin}
    if name:
        hold["name"] = name
    made = await ask_hub(service, "POST", body=hold)
    handler.set_status(201)
    handler.finish(
        json.dumps(
            {"hold": made["id"], "state": made["state"], "after": made["after"], "name": name}
        )
    )


def _taken_path(service):
    return os.path.join(os.path.dirname(service.settings.job_names_path), TAKEN_FILE)


def _read_taken(path):
    try:
        with open(path, encoding="utf-8") as lines:
            return [line.strip() for line in lines if line.strip()]
    except FileNotFoundError:
        return []


def _write_taken(path, taken):
    """The ids, newest last, at most MOST_TAKEN; replaced whole (fileutil.replace, 0600)."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fileutil.replace(path, "".join(f"{hold_id}\n" for hold_id in taken[-MOST_TAKEN:]))


_taking = {}  # JobsService -> asyncio.Lock: one take-up at a time per server


async def take_up(service, listing):
    """Make each SUBMITTED hold of ``listing`` (the hub's holds, newest first) not taken up
    yet one of the person's own jobs here: its name kept (GET jobs shows it), the next refresh
    following it, a record in the person's history (its origin as the hold was made, submitted
    when the hub submitted it). Returns the job ids taken up. A name or history that cannot
    be written is one warning line (as for any submit); the hold is not taken up again."""
    lock = _taking.setdefault(service, asyncio.Lock())
    async with lock:
        path = _taken_path(service)
        taken = await asyncio.to_thread(_read_taken, path)
        known = set(taken)
        new = [
            hold
            for hold in reversed(listing)  # oldest first
            if hold.get("state") == "SUBMITTED"
            and isinstance(hold.get("job"), int)
            and isinstance(hold.get("id"), str)
            and hold["id"] not in known
        ]
        if not new:
            return []
        for hold in new:
            _take_one(service, hold)
        try:
            await asyncio.to_thread(_write_taken, path, taken + [hold["id"] for hold in new])
        except OSError as error:
            service.log.warning("flux-hub: could not keep the held jobs taken up: %s", error)
        return [hold["job"] for hold in new]


def _take_one(service, hold):
    job_id, name = hold["job"], hold.get("name")
    service._learnt.add(job_id)  # followed from the next refresh on, as a job submitted here
    if name:
        try:
            service.names.set(job_id, name)
        except OSError as error:
            service.log.warning("flux-hub: could not keep the name of job %s: %s", job_id, error)
    origin = dict(hold.get("origin") or {"origin_kind": "panel"})
    if origin.get("origin_kind") not in ("panel", "file", "notebook", "magic", "cli"):
        origin = {"origin_kind": "panel"}
    origin = {
        key: value
        for key, value in origin.items()
        if key in ("origin_kind", "origin_path", "origin_cell", "origin_command")
        or (key == "keep_env_values" and value is True)
    }
    request = dict(hold.get("request") or {})
    workdir = request.get("workdir")
    submitted = hold.get("updated")
    service.record(
        f"job {job_id}",
        History.record_submitted,
        job_id,
        cluster=service.client.host,
        submitted=submitted if isinstance(submitted, int | float) else time.time(),
        request=request,
        name=name,
        workdir=workdir,
        lab_workdir=service.paths.to_lab(workdir) if workdir else None,
        **origin,
    )


def resume(settings):
    """Take up the holds the hub submitted while this server was stopped, once the server's
    loop runs; without a hub, nothing; a hub that does not answer: one warning line."""
    service = settings["flux_hub"]

    async def take_up_now():
        if not holds_url(os.environ, service.settings.reader_url):
            return
        try:
            listing = await ask_hub(service, "GET", "?all=1")  # ended long ago too
            await take_up(service, listing.get("holds") or [])
        except Exception as error:  # noqa: BLE001 (the server goes on; GET holds takes up)
            service.log.warning("flux-hub: held jobs not taken up at start: %s", error)

    IOLoop.current().add_callback(take_up_now)


class HeldJobsHandler(JobsHandler):
    """POST jobs with a ``dependency``: held by the hub (submit_held); any other: JobsHandler."""

    @web.authenticated
    async def post(self):
        """A job with a dependency is held by the hub; one without is submitted now."""
        held = dependency_of(self.request.body)
        if held is not None:
            self.request.body, after = held
            if after:
                return await submit_held(self, self.request.body, after)
        await super().post()


class HoldsHandler(FluxHubHandler):
    """GET holds: the person's holds as the hub keeps them (``{"holds": [...]}``, newest first,
    at most 1,000; ended more than a week ago only with ``?all=1``); the SUBMITTED ones are
    taken up (take_up) before the answer."""

    @web.authenticated
    async def get(self):
        """The hub's answer, passed through."""
        everything = self.get_argument("all", "") not in ("", "0", "false")
        answer = await ask_hub(self.service, "GET", "?all=1" if everything else "")
        try:
            await take_up(self.service, answer.get("holds") or [])
        except Exception as error:  # noqa: BLE001 (the listing is still answered)
            self.log.warning("flux-hub: held jobs not taken up: %s", error)
        self.finish(json.dumps(answer))


class HoldHandler(FluxHubHandler):
    """GET holds/<id>: one of the person's holds; DELETE: cancel it while it waits."""

    @web.authenticated
    async def get(self, hold_id):
        """The hub's answer, passed through (404 for none of the person's)."""
        self.finish(json.dumps(await self._one("GET", hold_id)))

    @web.authenticated
    async def delete(self, hold_id):
        """Cancel the hold: the hold as it is then."""
        self.finish(json.dumps(await self._one("DELETE", hold_id)))

    async def _one(self, method, hold_id):
        if not hold_id.isalnum() or len(hold_id) > 40:
            raise BadRequest(f"{hold_id[:60]!r} is not a hold's id.")
        return await ask_hub(self.service, method, hold_id)
