"""Errors of the flux-restful client: each one's str() is a sentence a person can act on.

No message, repr or attribute ever holds a password, a secret key or a token.
"""


class FluxRestfulError(Exception):
    """Something went wrong talking to a flux-restful server.

    ``status`` is the HTTP status when the server answered, ``reasons`` the server's own
    explanations (its "Errors", "Error", "detail" or "Message"), each a string.
    """

    def __init__(self, message, status=None, reasons=()):
        super().__init__(message)
        self.message = message
        self.status = status
        self.reasons = list(reasons)

    def __str__(self):
        return self.message

    def __repr__(self):
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


class AuthenticationFailed(FluxRestfulError):
    """The server refused the user name, password or secret key (or needs them)."""


class PermissionDenied(FluxRestfulError):
    """The user may not act on this job (it belongs to another user) or resource."""


class JobNotFound(FluxRestfulError):
    """There is no job with this id on the server."""


class InvalidRequest(FluxRestfulError):
    """The request was refused as invalid; ``reasons`` says why."""


class LimitReached(FluxRestfulError):
    """The server refused the request because one of its per-person limits is reached (HTTP
    429: too many open output streams or active jobs); ``reasons`` says which, and what to do."""


class ClusterUnavailable(FluxRestfulError):
    """The server could not be reached or could not answer; ``url`` is the server's address."""

    def __init__(self, message, url, status=None, reasons=()):
        super().__init__(message, status=status, reasons=reasons)
        self.url = url
