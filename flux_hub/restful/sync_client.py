"""The synchronous flux-restful client: the protocol core driven over a requests Session."""

import threading
import time
from collections.abc import Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ProtocolError

from . import peer
from .protocol import (
    ConnectionFailed,
    Login,
    OutputDecoder,
    Protocol,
    Response,
    Wait,
    advance,
)


class FluxRestfulClient:
    """A flux-restful client for one user, safe to share between threads.

    Arguments left out come from the environment flux-restful-cli reads: FLUX_RESTFUL_HOST
    (default http://127.0.0.1:5000), FLUX_USER, FLUX_TOKEN (the password) and FLUX_SECRET_KEY.
    The token is fetched on first use and renewed once when the server refuses it.
    A server on this machine gets nothing unless a trusted account holds its port (see
    flux_hub.restful.peer); ClusterUnavailable says who holds it otherwise.
    """

    def __init__(self, host=None, user=None, token=None, secret_key=None, *, timeout=30.0):
        self._core = Protocol(host, user, token, secret_key)
        self.timeout = timeout
        self._session = requests.Session()
        for scheme in ("http://", "https://"):
            self._session.mount(scheme, _CheckedAdapter())
        self._login_lock = threading.Lock()

    host = property(lambda self: self._core.host)
    user = property(lambda self: self._core.user)
    handshakes = property(lambda self: self._core.handshakes, doc="Token requests made so far.")

    def __repr__(self):
        return f"{type(self).__name__}(host={self.host!r}, user={self.user!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the HTTP session."""
        self._session.close()

    # -- operations (see flux_hub.restful.protocol.Protocol) ----------------------------------

    def submit(
        self,
        command,
        *,
        num_tasks=None,
        cores_per_task=None,
        gpus_per_task=None,
        num_nodes=None,
        exclusive=None,
        option_flags=None,
        workdir=None,
        runtime=None,
        envars=None,
        is_launcher=None,
    ) -> int:
        """Submit a job; returns its id. ``command`` is a string or a list of words.

        ``is_launcher=True`` is refused with InvalidRequest before anything is sent: flux-restful
        would run a launcher inside its own process, with the server's privileges.
        """
        return self._run(
            self._core.submit(
                command,
                envars,
                num_tasks=num_tasks,
                cores_per_task=cores_per_task,
                gpus_per_task=gpus_per_task,
                num_nodes=num_nodes,
                exclusive=exclusive,
                option_flags=option_flags,
                workdir=workdir,
                runtime=runtime,
                is_launcher=is_launcher,
            )
        )

    def list_jobs(self) -> list[dict]:
        """Raw GET /v1/jobs records (ids, integer state and result) of every user's jobs."""
        return self._run(self._core.list_jobs())

    def jobs(self, limit=None) -> list[dict]:
        """The caller's jobs in full (GET /v1/jobs/{id} shape), newest first."""
        return self._run(self._core.jobs(limit))

    def jobs_body(self, limit=None) -> bytes:
        """jobs() undecoded: the JSON text of the list, as flux-restful sent it."""
        return self._run(self._core.jobs_body(limit))

    def job(self, jobid) -> dict:
        """One job as GET /v1/jobs/{id} gives it; JobNotFound or PermissionDenied if not yours."""
        return self._run(self._core.job(jobid))

    def output(self, jobid) -> list[str]:
        """The output chunks written so far ([] when there is none yet)."""
        return self._run(self._core.output(jobid))

    def stream_output(self, jobid) -> Iterator[str]:
        """Output as the job writes it, until the job ends.

        The request is made when iteration starts; closing the iterator early drops it.
        On the legacy flux-restful-api the output comes in one piece when the job has ended.
        """
        response = self._run(self._core.stream_output(jobid))
        if response.stream is None:  # the legacy server: all of it, once the job has ended
            if response.body:
                yield response.body.decode("utf-8", "replace")
            return
        decoder = OutputDecoder()
        try:
            for chunk in response.stream.iter_content(chunk_size=None):
                if text := decoder.feed(chunk):
                    yield text
        except requests.RequestException as e:
            raise self._core.stream_lost(jobid, _failure(e)) from e
        finally:
            response.stream.close()
        if tail := decoder.flush():
            yield tail

    def cancel(self, jobid) -> str:
        """Cancel a job; returns the server's message."""
        return self._run(self._core.cancel(jobid))

    def nodes(self) -> list[str]:
        """The cluster's node names."""
        return self._run(self._core.nodes())

    def is_legacy(self) -> bool:
        """Whether the server is the legacy flux-restful-api, which keeps no user apart from
        another (``flux_hub.restful.LEGACY_WARNING`` says what that means)."""
        return self._run(self._core.is_legacy())

    def auth_info(self) -> dict:
        """The login methods the server offers (GET /v1/auth; flux-restful 1.1 and later)."""
        return self._run(self._core.auth_info())

    def login(self) -> str:
        """Get a new token now, whether or not the current one still works."""
        return self._run(self._core.force_login())

    # -- transport -----------------------------------------------------------------------------

    def _run(self, call):
        reply = None
        while True:
            finished, action = advance(call, reply)
            if finished:
                return action
            try:
                if isinstance(action, Wait):
                    time.sleep(action.seconds)
                    reply = None
                elif isinstance(action, Login):
                    reply = self._login(action.stale)
                else:
                    reply = self._send(action)
            except ConnectionFailed as failure:
                reply = failure

    def _login(self, stale):
        with self._login_lock:
            return self._run(self._core.login(stale))

    def _send(self, request):
        # A stream has no read timeout: a job may stay silent for hours.
        timeout = (self.timeout, None) if request.stream else self.timeout
        try:
            answer = self._session.request(
                request.method,
                self._core.url(request),
                headers=request.headers,
                data=request.body,
                timeout=timeout,
                stream=request.stream,
                allow_redirects=False,
            )
        except requests.RequestException as e:
            raise _failure(e) from e
        except peer.PeerRefused as e:
            raise ConnectionFailed("other", str(e)) from None
        if request.stream and 200 <= answer.status_code < 300:
            return Response(answer.status_code, stream=answer)
        try:
            return Response(answer.status_code, answer.content)
        except requests.RequestException as e:
            raise _failure(e) from e
        finally:
            answer.close()


class _CheckedConnection(HTTPConnection):
    """Asks who accepted the connection (peer.check_server) before a byte is sent."""

    def _new_conn(self):
        sock = super()._new_conn()
        try:
            peer.check_server(sock)
        except peer.PeerRefused:
            sock.close()
            raise
        return sock


class _CheckedHTTPSConnection(HTTPSConnection, _CheckedConnection):
    pass


class _CheckedPool(HTTPConnectionPool):
    ConnectionCls = _CheckedConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    """requests' adapter, its connections checked; PeerRefused comes through unwrapped."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _CHECKED_POOLS

    def proxy_manager_for(self, proxy, **kwargs):
        # Through an HTTP proxy ($HTTP_PROXY) the connection, and so the check, is the proxy's
        manager = super().proxy_manager_for(proxy, **kwargs)
        if proxy.lower().startswith(("http://", "https://")):
            manager.pool_classes_by_scheme = _CHECKED_POOLS
        return manager


_CHECKED_POOLS = {"http": _CheckedPool, "https": _CheckedHTTPSPool}


def _failure(error):
    """Classify a requests exception for the protocol core."""
    if isinstance(error, requests.Timeout):
        return ConnectionFailed("timeout", "no answer in time")
    seen, causes = set(), [error]
    while causes:
        cause = causes.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return ConnectionFailed("refused", "connection refused")
        # RemoteDisconnected is a ConnectionResetError; urllib3 wraps the rest in ProtocolError
        if isinstance(cause, ConnectionResetError | BrokenPipeError | ProtocolError):
            return ConnectionFailed("reset", "the connection was closed")
        causes.extend([cause.__cause__, cause.__context__, getattr(cause, "reason", None)])
        causes.extend(arg for arg in cause.args if isinstance(arg, BaseException))
    return ConnectionFailed("other", str(error) or type(error).__name__)
