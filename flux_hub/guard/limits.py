"""flux-hub's per-person limits in front of flux-restful: the settings and how they are read.

Each limit is an environment variable of the guard's process (LocalCluster sets them from its
``limits=`` argument). A setting that is not a whole number in its range is refused at start
with a sentence that names it; the server does not start half-limited.
"""

import dataclasses
import os
import re

PREFIX = "FLUX_HUB_LIMIT_"

# What Flux's parse_size() reads (flux-core src/common/libutil/parse_size.c), but whole numbers
# only: a value this cannot read is refused, never read smaller than Flux would read it
_UNITS = {"": 1, "k": 1024, "K": 1024, "M": 1024**2, "G": 1024**3}
_SIZE = re.compile(r"([0-9]{1,15})([kKMG]?)")


class LimitError(ValueError):
    """A setting that cannot be used, with a sentence that names it."""


def parse_size(text):
    """``"10M"`` -> 10485760 (K, M, G are powers of 1024, as Flux's output.limit reads them);
    None when it is not a size."""
    match = _SIZE.fullmatch(str(text))
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_size(number):
    for unit in ("G", "M", "K"):
        if number and number % _UNITS[unit] == 0:
            return f"{number // _UNITS[unit]}{unit}"
    return str(number)


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one person may hold at once, and the server's own bounds.

    - ``streams_per_user``: open output streams (``GET /v1/jobs/{id}/output/stream``) of one
      person; the next one is answered 429.
    - ``streams_total``: open output streams of everyone together (each one keeps a server
      thread busy), 429 beyond it.
    - ``spare_threads``: server threads kept for everything that is not a stream: the
      thread pool is ``streams_total + spare_threads``, so streams never take the threads the
      other requests need.
    - ``requests_per_user``: requests of one person the server works on at once (streams
      apart); the rest of theirs wait their turn, so one person cannot take every thread.
    - ``active_jobs_per_user``: jobs of one person not yet inactive; a submit beyond it is 429.
    - ``output_limit``: bytes a job's output may reach (Flux's ``output.limit``, which truncates
      it); a request asking for more is 400, one asking nothing gets this.
    - ``max_body``: bytes of a request's body (413 beyond); ``max_query``: bytes of its query
      string (414 beyond).
    """

    streams_per_user: int = 4
    streams_total: int = 24
    spare_threads: int = 16
    requests_per_user: int = 8
    active_jobs_per_user: int = 100
    output_limit: int = 10 * 1024**2
    max_body: int = 1024**2
    max_query: int = 8 * 1024

    # name -> (environment variable's suffix, lowest allowed, what it counts)
    _RULES = {
        "streams_per_user": ("STREAMS_PER_USER", 1, "open output streams per person"),
        "streams_total": ("STREAMS_TOTAL", 1, "open output streams in all"),
        "spare_threads": ("SPARE_THREADS", 4, "server threads kept for other requests"),
        "requests_per_user": ("REQUESTS_PER_USER", 1, "requests per person at once"),
        "active_jobs_per_user": ("ACTIVE_JOBS_PER_USER", 1, "active jobs per person"),
        "output_limit": ("OUTPUT_LIMIT", 1024, "bytes of output per job"),
        "max_body": ("MAX_BODY", 1024, "bytes of a request body"),
        "max_query": ("MAX_QUERY", 256, "bytes of a query string"),
    }

    def __post_init__(self):
        for name, (suffix, lowest, what) in self._RULES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
                raise LimitError(
                    f"the limit {name} ({PREFIX}{suffix}, {what}) must be a whole number of at "
                    f"least {lowest}, not {value!r}"
                )
        if self.streams_per_user > self.streams_total:
            raise LimitError(
                f"the limit streams_per_user ({self.streams_per_user}) cannot be above "
                f"streams_total ({self.streams_total})"
            )
        if self.requests_per_user >= self.spare_threads:
            raise LimitError(
                f"the limit requests_per_user ({self.requests_per_user}) must be below "
                f"spare_threads ({self.spare_threads}): one person must not take every thread"
            )

    @property
    def threads(self):
        """The server's thread pool: every stream may hold one, and spare_threads are left."""
        return self.streams_total + self.spare_threads

    @classmethod
    def from_mapping(cls, values):
        """Limits from a dict of some of the fields (LocalCluster's ``limits=``); a key that is
        not a limit is refused with the list of those that are."""
        if values is None:
            return cls()
        if isinstance(values, Limits):
            return values
        if not isinstance(values, dict):
            raise LimitError(f"limits must be a dict of limits, not {type(values).__name__}")
        unknown = sorted(set(values) - set(cls._RULES))
        if unknown:
            raise LimitError(
                f"unknown limit {', '.join(map(str, unknown))}: the limits are "
                + ", ".join(cls._RULES)
            )
        fields = dict(values)
        if isinstance(fields.get("output_limit"), str):
            size = parse_size(fields["output_limit"])
            fields["output_limit"] = fields["output_limit"] if size is None else size
        return cls(**fields)

    @classmethod
    def from_environ(cls, environ=None):
        """Limits from ``FLUX_HUB_LIMIT_*`` variables; unset or empty ones keep the default."""
        environ = os.environ if environ is None else environ
        fields = {}
        for name, (suffix, _, what) in cls._RULES.items():
            text = environ.get(PREFIX + suffix, "").strip()
            if not text:
                continue
            value = parse_size(text) if name in ("output_limit", "max_body") else None
            if value is None:
                try:
                    value = int(text)
                except ValueError:
                    raise LimitError(
                        f"{PREFIX}{suffix} ({what}) must be a whole number"
                        + (" or a size like 10M" if name in ("output_limit", "max_body") else "")
                        + f", not {text!r}"
                    ) from None
            fields[name] = value
        return cls(**fields)

    def environ(self):
        """The ``FLUX_HUB_LIMIT_*`` variables that give these limits to the guard."""
        return {
            PREFIX + suffix: str(getattr(self, name))
            for name, (suffix, _, _) in self._RULES.items()
        }
