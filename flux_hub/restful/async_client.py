"""The asynchronous flux-restful client: the protocol core driven over tornado's HTTP client."""

import asyncio
import weakref
from collections.abc import AsyncIterator

from tornado import httputil
from tornado.httpclient import HTTPRequest
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError
from tornado.simple_httpclient import (
    HTTPStreamClosedError,
    HTTPTimeoutError,
    SimpleAsyncHTTPClient,
)
from tornado.tcpclient import TCPClient

from . import peer
from .protocol import (
    ConnectionFailed,
    Login,
    OutputDecoder,
    Protocol,
    Response,
    Wait,
    advance,
    parse_snapshot,
)

# Answers larger than this (bytes) are decoded in a worker thread: about a millisecond's work
_DECODE_IN_LOOP = 1 << 16


class AsyncFluxRestfulClient:
    """The coroutine twin of FluxRestfulClient (same arguments, names and errors).

    ``stream_output`` is an async iterator: ``async for chunk in client.stream_output(id)``;
    closing it early (``aclose()``, or ``contextlib.aclosing``) drops the connection at once.
    Its connections are checked as FluxRestfulClient's are (flux_hub.restful.peer).
    """

    def __init__(self, host=None, user=None, token=None, secret_key=None, *, timeout=30.0):
        self._core = Protocol(host, user, token, secret_key)
        self.timeout = timeout
        self._login_lock = asyncio.Lock()

    host = property(lambda self: self._core.host)
    user = property(lambda self: self._core.user)
    handshakes = property(lambda self: self._core.handshakes, doc="Token requests made so far.")

    def __repr__(self):
        return f"{type(self).__name__}(host={self.host!r}, user={self.user!r})"

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def close(self):
        """Nothing stays open between calls (streams close themselves); kept for symmetry."""

    # -- operations (see flux_hub.restful.protocol.Protocol) ----------------------------------

    async def submit(
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
        return await self._run(
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

    async def list_jobs(self) -> list[dict]:
        """Raw GET /v1/jobs records (ids, integer state and result) of every user's jobs."""
        return await self._run(self._core.list_jobs())

    async def jobs(self, limit=None) -> list[dict]:
        """The caller's jobs in full (GET /v1/jobs/{id} shape), newest first; at most ``limit``."""
        return await self._run(self._core.jobs(limit))

    async def jobs_body(self, limit=None) -> bytes:
        """jobs() undecoded: the JSON text of the list, as flux-restful sent it."""
        return await self._run(self._core.jobs_body(limit))

    async def job(self, jobid) -> dict:
        """One job in full; JobNotFound if there is none, PermissionDenied if not the caller's."""
        return await self._run(self._core.job(jobid))

    async def output(self, jobid) -> list[str]:
        """The output chunks written so far ([] when there is none yet)."""
        return await self._run(self._core.output(jobid))

    async def stream_output(self, jobid) -> AsyncIterator[str]:
        """Output as the job writes it, until the job ends (text chunks)."""
        response = await self._run(self._core.stream_output(jobid))
        if response.stream is None:  # the legacy server: all of it, once the job has ended
            if response.body:
                yield response.body.decode("utf-8", "replace")
            return
        stream, decoder = response.stream, OutputDecoder()
        try:
            async for chunk in stream:
                if text := decoder.feed(chunk):
                    yield text
        except ConnectionFailed as failure:
            raise self._core.stream_lost(jobid, failure) from failure
        finally:
            stream.close()
        if tail := decoder.flush():
            yield tail

    async def cancel(self, jobid) -> str:
        """Cancel a job; returns flux-restful's message."""
        return await self._run(self._core.cancel(jobid))

    async def nodes(self) -> list[str]:
        """The cluster's node names."""
        return await self._run(self._core.nodes())

    async def snapshot(self, since=None, limit=None) -> dict:
        """The guard's snapshot of the whole cluster (superusers only): every active job and the
        inactive ones that ended after ``since``, the free resources (see
        flux_hub/guard/snapshot.py). A large answer is decoded in a worker thread, so that the
        event loop keeps serving meanwhile."""
        body = await self._run(self._core.snapshot_body(since, limit))
        if len(body) < _DECODE_IN_LOOP:
            return parse_snapshot(body, self.host)
        return await asyncio.to_thread(parse_snapshot, body, self.host)

    async def is_legacy(self) -> bool:
        """Whether the server is the legacy flux-restful-api (see ``LEGACY_WARNING``)."""
        return await self._run(self._core.is_legacy())

    async def auth_info(self) -> dict:
        """What the server says of its authentication (GET /v1/auth)."""
        return await self._run(self._core.auth_info())

    async def login(self) -> str:
        """Get a new token now, whether or not the current one still works."""
        return await self._run(self._core.force_login())

    # -- transport -----------------------------------------------------------------------------

    async def _run(self, call):
        reply = None
        while True:
            finished, action = advance(call, reply)
            if finished:
                return action
            try:
                if isinstance(action, Wait):
                    await asyncio.sleep(action.seconds)
                    reply = None
                elif isinstance(action, Login):
                    reply = await self._login(action.stale)
                else:
                    reply = await self._send(action)
            except ConnectionFailed as failure:
                reply = failure

    async def _login(self, stale):
        async with self._login_lock:
            return await self._run(self._core.login(stale))

    async def _send(self, request):
        url = self._core.url(request)
        if request.stream:
            return await _Stream(url, request.headers, self.timeout).open()
        body = request.body
        if body is None and request.method == "POST":
            body = b""  # tornado insists on a body for POST
        fetch = _http_client().fetch(
            HTTPRequest(
                url,
                method=request.method,
                headers=request.headers,
                body=body,
                connect_timeout=self.timeout,
                request_timeout=self.timeout,
                follow_redirects=False,
            ),
            raise_error=False,
        )
        try:
            answer = await fetch
        except Exception as e:
            raise _failure(e) from e
        return Response(answer.code, answer.body or b"")


class _Stream:
    """One streamed GET on an HTTP client of its own.

    tornado has no call to abort a fetch, so the client is given a TCPClient that remembers its
    connections: closing one ends the request at once, even while the job prints nothing.
    Its own client also keeps long streams from filling the shared client's slots.
    """

    _END = object()

    def __init__(self, url, headers, timeout):
        self._timeout = timeout
        # tornado caps a body at 100 MB by default, streamed or not; a job's output is not capped.
        self._client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=1 << 62)
        self._tcp = _TrackingTCPClient(resolver=self._client.resolver)
        self._client.tcp_client = self._tcp
        self._chunks = asyncio.Queue()
        self._headers_done = asyncio.Event()
        self._status = None
        request = HTTPRequest(
            url,
            headers=headers,
            connect_timeout=timeout,
            request_timeout=0,  # no limit: a job may run for hours
            follow_redirects=False,
            header_callback=self._on_header,
            streaming_callback=self._chunks.put_nowait,
        )
        self._fetch = self._client.fetch(request, raise_error=False)
        self._fetch.add_done_callback(self._on_done)

    def _on_header(self, line):
        if self._status is None:
            self._status = httputil.parse_response_start_line(line.strip()).code
        elif line == "\r\n":
            self._headers_done.set()

    def _on_done(self, fetch):
        if not fetch.cancelled():
            fetch.exception()  # retrieved here: a closed stream's error is expected
        self._headers_done.set()
        self._chunks.put_nowait(self._END)

    async def open(self):
        """Wait for the headers; returns a Response (its body read unless it is a success)."""
        try:
            await asyncio.wait_for(self._headers_done.wait(), self._timeout)
        except asyncio.TimeoutError:
            self.close()
            raise ConnectionFailed("timeout", "no answer in time") from None
        if self._status is None:  # failed before any answer
            self.close()
            raise _failure(self._fetch.exception())
        if 200 <= self._status < 300:
            return Response(self._status, stream=self)
        body = b"".join([chunk async for chunk in self])
        self.close()
        return Response(self._status, body)

    async def __aiter__(self):
        while (chunk := await self._chunks.get()) is not self._END:
            yield chunk
        error = self._fetch.exception()
        if error is not None:
            raise _failure(error)

    def close(self):
        if not self._fetch.done():
            for stream in self._tcp.streams:
                stream.close()
        self._client.close()


class _CheckedTCPClient(TCPClient):
    """Asks who accepted each connection (peer.check_server) before the HTTP client sends
    anything on it (with TLS, after the handshake, which carries no credentials)."""

    async def connect(self, *args, **kwargs):
        stream = await super().connect(*args, **kwargs)
        try:
            peer.check_server(stream.socket)
        except peer.PeerRefused:
            stream.close()
            raise
        return stream


class _TrackingTCPClient(_CheckedTCPClient):
    def __init__(self, resolver=None):
        super().__init__(resolver)
        self.streams = []

    async def connect(self, *args, **kwargs):
        stream = await super().connect(*args, **kwargs)
        self.streams.append(stream)
        return stream


# One HTTP client per event loop, as tornado's AsyncHTTPClient() keeps, with checked connections
_clients = weakref.WeakKeyDictionary()


def _http_client():
    loop = IOLoop.current()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = SimpleAsyncHTTPClient(force_instance=True)
        client.tcp_client = _CheckedTCPClient(resolver=client.resolver)
    return client


def _failure(error):
    """Classify a tornado fetch error for the protocol core."""
    if isinstance(error, peer.PeerRefused):
        return ConnectionFailed("other", str(error))
    if isinstance(error, HTTPTimeoutError | asyncio.TimeoutError):
        return ConnectionFailed("timeout", "no answer in time")
    if isinstance(error, ConnectionRefusedError):
        return ConnectionFailed("refused", "connection refused")
    if isinstance(error, HTTPStreamClosedError | StreamClosedError | ConnectionResetError):
        return ConnectionFailed("reset", "the connection was closed")
    return ConnectionFailed("other", str(error) or type(error).__name__)
