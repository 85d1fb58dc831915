"""The person's server's side of the hub's holds (issue 28.3): jobs that wait for others.

``POST flux-hub/api/jobs`` with ``"dependency": "afterok:ID"`` (or a list, or
``[{"kind", "id"}]``: flux_hub/depend.py) does not submit: the job is checked as any other
(parse_job_post, the working directory sent the cluster's way) and handed to the hub's holds API
(``POST {hub}api/holds``, flux_hub/service/handlers.py) with this server's own hub token, so
that the hub submits it as the person when the condition holds, whether or not this server
still runs. The answer is 201 ``{"hold": id, "state": "DEPEND", "after": [...]}``.
``GET flux-hub/api/holds`` passes the person's holds through (``{"holds": [...]}``), ``GET`` and
``DELETE flux-hub/api/holds/<id>`` one of them (DELETE cancels it while it waits).

The hub's URL: ``$FLUX_HUB_HOLDS_URL``, else next to the reader's (``FluxHub.reader_url``
``.../api/reader/`` gives ``.../api/holds/``); the token: ``FluxHub.reader_token`` (the server's
$JUPYTERHUB_API_TOKEN). Without either, a dependency is refused (503) in one line.
"""

import json
import os

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from flux_hub import depend
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
    fields, name, _origin = parse_job_post(body)
    service = handler.service
    if "workdir" in fields:
        try:
            fields["workdir"] = service.cluster_workdir(fields["workdir"])
        except PathNotShared as error:
            raise BadRequest(_sentence(str(error)), field="workdir") from None
    hold = {"request": fields, "after": after}
    if name:
        hold["name"] = name
    made = await ask_hub(service, "POST", body=hold)
    handler.set_status(201)
    handler.finish(
        json.dumps(
            {"hold": made["id"], "state": made["state"], "after": made["after"], "name": name}
        )
    )


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
    """GET holds: the person's holds as the hub keeps them (``{"holds": [...]}``)."""

    @web.authenticated
    async def get(self):
        """The hub's answer, passed through."""
        self.finish(json.dumps(await ask_hub(self.service, "GET")))


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
