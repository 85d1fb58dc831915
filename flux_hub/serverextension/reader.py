"""The person's side of the hub's reader of the cluster (issue 27): its two endpoints, asked
with the person's hub token.

The hub's reader (flux_hub/reader, on the accounts service) reads the whole cluster once for
everyone and answers each person with their own jobs (``GET {url}jobs?since=VERSION``) and
everyone with the cluster's anonymous state (``GET {url}cluster``). A person's server asks it
instead of flux-restful when ``FLUX_HUB_READER_URL`` is set; whatever it cannot get from it (no
reader: 404; a failing one: 503; no answer, or not the contract's JSON) is ReaderUnavailable, and
the caller goes to flux-restful directly for a while.

``ReaderClient`` is the server extension's (tornado, asynchronous); ``read`` is the terminal's
(``flux-hub status``, ``flux-hub jobs``: requests, synchronous). Both answer the decoded JSON.
"""

import json
import os

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import url_concat

from flux_hub.reader import READER_ENV as URL_ENV  # the hub hands the URL in it

TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
# A reader's answer to a person waits at most for one read of the cluster (10 s): a little more
TIMEOUT = 15.0


class ReaderUnavailable(Exception):
    """The reader did not give an answer of the contract's shape (one line: why)."""


def base_url(url):
    """The reader's base URL with its closing slash ("" stays "": no reader)."""
    url = (url or "").strip()
    return url if not url or url.endswith("/") else url + "/"


def _decoded(url, status, body, want):
    """The JSON object of a reader's answer; ReaderUnavailable saying why otherwise."""
    if status != 200:
        try:
            message = json.loads(body).get("message")
        except (ValueError, AttributeError):
            message = None
        said = f": {message}" if isinstance(message, str) and message else ""
        raise ReaderUnavailable(f"the hub's reader at {url} answered {status}{said}")
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(key in data for key in want):
        raise ReaderUnavailable(f"the hub's reader at {url} answered with something else")
    return data


def _jobs_valid(data):
    jobs, ids = data.get("jobs"), data.get("ids")
    return (
        isinstance(data.get("version"), str)
        and isinstance(jobs, list)
        and all(isinstance(job, dict) and isinstance(job.get("id"), int) for job in jobs)
        and (ids is None or (isinstance(ids, list) and all(isinstance(i, int) for i in ids)))
    )


def jobs_answer(url, status, body):
    """The reader's ``jobs`` answer, checked: {"version", "complete", "jobs", ["ids"]}."""
    data = _decoded(url, status, body, ("version", "complete", "jobs"))
    if not _jobs_valid(data):
        raise ReaderUnavailable(f"the hub's reader at {url} answered with something else")
    return data


def cluster_answer(url, status, body):
    """The reader's ``cluster`` answer, checked: {"as_of", "resources", "jobs"}."""
    data = _decoded(url, status, body, ("resources", "jobs"))
    if not isinstance(data["resources"], dict) or not isinstance(data["jobs"], dict):
        raise ReaderUnavailable(f"the hub's reader at {url} answered with something else")
    return data


class ReaderClient:
    """The server extension's requests to the reader at ``url`` with the hub ``token``."""

    def __init__(self, url, token, timeout=TIMEOUT):
        self.url = base_url(url)
        self.token = token
        self.timeout = timeout

    async def _get(self, path, params=None):
        request = HTTPRequest(
            url_concat(self.url + path, params or {}),
            headers={"Authorization": f"token {self.token}", "Accept": "application/json"},
            connect_timeout=self.timeout,
            request_timeout=self.timeout,
            follow_redirects=False,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as error:  # refused, reset, no name; a timeout (599)
            raise ReaderUnavailable(
                f"the hub's reader at {self.url} cannot be reached: {error}"
            ) from None
        return response.code, response.body

    async def jobs(self, since=None):
        """The person's jobs, or only what changed since ``since`` (a version it gave)."""
        status, body = await self._get("jobs", {"since": since} if since else None)
        return jobs_answer(self.url, status, body)

    async def cluster(self):
        """The cluster's anonymous state."""
        return cluster_answer(self.url, *await self._get("cluster"))


def from_env(environ=None):
    """(url, token) of the reader the hub gave this server's environment, or None."""
    environ = os.environ if environ is None else environ
    url, token = base_url(environ.get(URL_ENV)), environ.get(TOKEN_ENV, "")
    return (url, token) if url and token else None


def read(url, token, path, since=None, timeout=TIMEOUT):
    """The terminal's request: the checked answer of ``jobs`` or ``cluster``."""
    import requests

    url = base_url(url)
    try:
        response = requests.get(
            url + path,
            params={"since": since} if since else None,
            headers={"Authorization": f"token {token}", "Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise ReaderUnavailable(f"the hub's reader at {url} cannot be reached: {error}") from None
    check = jobs_answer if path == "jobs" else cluster_answer
    return check(url, response.status_code, response.content)
