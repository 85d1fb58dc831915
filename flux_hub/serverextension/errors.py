"""The one place where errors become HTTP answers of the flux-hub API.

Every answer that is not a success is JSON ``{"message": str, "reasons": [str]}`` with a status
saying whose problem it is; a refusal about one field of a submitted job adds ``"field"`` (e.g.
``"workdir"`` for a folder the cluster cannot see). Messages are sentences a person can act on;
no traceback ever.
"""

from http.client import responses

from tornado import web

from flux_hub.history import HistoryError
from flux_hub.restful import (
    AuthenticationFailed,
    ClusterUnavailable,
    FluxRestfulError,
    InvalidRequest,
    JobNotFound,
    LimitReached,
    PermissionDenied,
)
from flux_hub.serverextension.jobs import NotConfigured
from flux_hub.sqlitefile import NewerSchema


class BadRequest(web.HTTPError):
    """Input this API refuses before asking the cluster."""

    def __init__(self, message, reasons=(), field=None):
        # The message goes in args, so a "%" in it cannot break tornado's log formatting.
        super().__init__(400, "%s", message)
        self.message = message
        self.reasons = list(reasons)
        self.field = field


# Most specific first: ClusterUnavailable and the others are FluxRestfulErrors too.
STATUS_OF = (
    (BadRequest, 400),
    (InvalidRequest, 400),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (JobNotFound, 404),
    (LimitReached, 429),
    (ClusterUnavailable, 503),
    (NotConfigured, 503),
    # The person's job history cannot be opened (a newer schema, a file that is not one).
    (HistoryError, 503),
    # One of the person's other files (the sweeps store) was written by a newer flux-hub.
    (NewerSchema, 503),
    # The cluster answered something this API cannot make sense of.
    (FluxRestfulError, 502),
)


def expected(error):
    """True for errors that are part of the API (logged in one line, no traceback)."""
    return any(isinstance(error, kind) for kind, _ in STATUS_OF)


def describe(error, status):
    """(status, message, reasons) for an exception raised while answering a request."""
    for kind, code in STATUS_OF:
        if isinstance(error, kind):
            message = getattr(error, "message", None) or str(error)
            url = getattr(error, "url", None)
            if isinstance(error, ClusterUnavailable) and url and url not in message:
                message = f"{message} (the cluster's URL is {url})"
            return code, message, list(getattr(error, "reasons", None) or [])
    if isinstance(error, web.HTTPError):
        message = error.log_message % error.args if error.log_message else None
        return status, message or responses.get(status, "Error"), []
    return 500, "flux-hub hit an unexpected error; the Jupyter server log has the details.", []
