"""Run one command in one container of a pod through the `pods/exec` API.

The kubernetes client speaks the websocket channel protocol (stdin 0, stdout 1, stderr 2,
status 3). Servers that negotiate v5.channel.k8s.io can be told that stdin is finished; older
ones (v4) cannot, so every command run here reads a known amount of stdin (one line) rather
than waiting for its end.
"""

import json
import re
import threading
import time
from dataclasses import dataclass

from .api import status_message
from .errors import (
    ApiUnavailable,
    ConfigurationError,
    ExecFailed,
    Forbidden,
    KubernetesError,
    PodNotFound,
    PodNotReady,
)

ERROR_CHANNEL = 3
_HANDSHAKE = re.compile(r"Handshake status (\d{3})")


@dataclass
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int


class PodExec:
    """Exec commands in the pods of one namespace; counts the exec calls it makes."""

    def __init__(self, api_client, namespace, *, timeout=600.0):
        self.configuration = api_client.configuration
        self.namespace = namespace
        self.timeout = timeout
        self.calls = 0
        self._lock = threading.Lock()

    def run(self, pod, container, argv, stdin=None, *, check=True):
        """Run argv (no shell unless argv says so); stdin text is sent whole, then closed.

        Returns an ExecResult; with check, a non-zero exit raises ExecFailed carrying stderr.
        """
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import stream
        from websocket import WebSocketException

        where = f"pod {pod} (container {container}) in namespace {self.namespace}"
        with self._lock:
            self.calls += 1
        # stream() swaps call_api on the ApiClient it is given for the length of the call, and
        # puts back whatever it found: two threads sharing one ApiClient can leave the websocket
        # transport installed for everybody. So every exec gets an ApiClient of its own.
        api_client = client.ApiClient(self.configuration)
        try:
            ws = stream(
                client.CoreV1Api(api_client).connect_get_namespaced_pod_exec,
                pod,
                self.namespace,
                container=container,
                command=list(argv),
                stdin=stdin is not None,
                stdout=True,
                stderr=True,
                tty=False,
                _preload_content=False,
            )
        except ApiException as e:
            api_client.close()
            raise upgrade_refused(e, where) from None
        try:
            if stdin is not None:
                ws.write_stdin(stdin)
                ws.close_channel(0)  # v5 only; a no-op on v4 servers
            deadline = time.monotonic() + self.timeout
            while ws.is_open():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ExecFailed(
                        f"{argv[0]} in {where} did not finish within {self.timeout:.0f} s"
                    )
                ws.update(timeout=min(left, 5.0))
            stdout = ws.read_channel(1)
            stderr = ws.read_channel(2)
            status = ws.read_channel(ERROR_CHANNEL)
        except (WebSocketException, OSError) as e:  # the connection broke mid-command
            raise ApiUnavailable(
                f"The exec connection to {where} broke: {type(e).__name__}"
            ) from None
        finally:
            ws.close()
            api_client.close()
        exit_code = _exit_code(status, argv, where, stderr)
        if check and exit_code != 0:
            raise ExecFailed(
                f"{argv[0]} failed in {where} (exit code {exit_code})"
                + (f": {_last_lines(stderr)}" if stderr.strip() else ""),
                exit_code=exit_code,
                stderr=stderr,
            )
        return ExecResult(stdout, stderr, exit_code)


def _exit_code(status, argv, where, stderr):
    """Read the v1 Status the server sends on the error channel when the command ends."""
    if not status:
        # No status at all: the server closed the stream without saying how the command ended.
        raise ApiUnavailable(f"The exec stream of {where} closed without an exit status")
    try:
        doc = json.loads(status)
    except ValueError:
        raise ExecFailed(f"Cannot run {argv[0]} in {where}: {status.strip()}") from None
    if doc.get("status") == "Success":
        return 0
    for cause in (doc.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message"))
    # A failure without an exit code: the command could not be started at all.
    raise ExecFailed(
        f"Cannot run {argv[0]} in {where}: {doc.get('message', 'unknown error')}", stderr=stderr
    )


def upgrade_refused(error, where, doing="exec into", subresource="pods/exec"):
    """The API server refused to open a websocket (exec, port-forward): a non-101 answer."""
    from websocket import WebSocketBadStatusException

    cause = error.__context__
    if isinstance(cause, WebSocketBadStatusException):
        code, message = cause.status_code, status_message(cause.resp_body)
    else:
        found = _HANDSHAKE.search(error.reason or "")
        if not found:
            return ApiUnavailable(f"Cannot {doing} {where}: {error.reason}")
        code, message = int(found.group(1)), ""
    message = message or f"HTTP {code}"
    if code in (401, 403):
        return Forbidden(
            f"Kubernetes refused to {doing} {where}: {message}. The hub's service account "
            f"needs 'create' on '{subresource}' (see examples/kubernetes/rbac.yaml)."
        )
    if code == 404:
        return PodNotFound(f"Cannot {doing} {where}: {message}")
    if code == 400 and "not valid for pod" in message:
        return ConfigurationError(f"Cannot {doing} {where}: {message}")
    if code == 400:
        return PodNotReady(f"Cannot {doing} {where} yet: {message}")
    return KubernetesError(f"Cannot {doing} {where}: {message}")


def _last_lines(text, count=5):
    """The tail of stderr: where a traceback or a shell error says what went wrong."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:])
