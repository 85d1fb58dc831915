"""Settings of the flux-hub server extension."""

import json
import os

from traitlets import Dict, Enum, Float, Int, List, TraitError, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from flux_hub.config_checks import flux_restful_url, not_empty, user_names
from flux_hub.history import TEMPLATES_ENV
from flux_hub.jobnames import default_path
from flux_hub.paths import ENV as PATHS_ENV
from flux_hub.paths import PathMap
from flux_hub.serverextension.reader import TOKEN_ENV, URL_ENV, base_url

# flux-restful's FLUX_SERVER_MODE values
SERVER_MODES = ("single-user", "multi-user")


def _path_map(text):
    """``text`` if it is a FLUX_HUB_PATHS value (or None); TraitError in one line if not."""
    try:
        PathMap.parse(text)
    except ValueError as error:
        raise TraitError(f"FluxHub.paths (or ${PATHS_ENV}): {error}") from None
    return text


class FluxHub(LoggingConfigurable):
    """Where the user's Flux cluster is and how the server extension logs in to it.

    JupyterHub's FluxAuthenticator puts the user's credentials in the single-user server's
    environment (FLUX_RESTFUL_HOST, FLUX_USER, FLUX_TOKEN, FLUX_SECRET_KEY); those are the defaults
    here, and ``c.FluxHub.*`` in a config file overrides them.
    """

    host = Unicode(
        config=True,
        help="""URL of the flux-restful server, e.g. http://127.0.0.1:5000 (http:// is assumed when
        no scheme is given, as the notebook and the terminal do).

        Default: $FLUX_RESTFUL_HOST, else http://127.0.0.1:5000.
        """,
    )

    @default("host")
    def _host_default(self):
        url = os.environ.get("FLUX_RESTFUL_HOST") or "http://127.0.0.1:5000"
        return flux_restful_url(url, "FluxHub.host (or $FLUX_RESTFUL_HOST)")

    @validate("host")
    def _valid_host(self, proposal):
        return flux_restful_url(proposal.value, "FluxHub.host (or $FLUX_RESTFUL_HOST)")

    user = Unicode(
        config=True,
        help="""The flux-restful account jobs are submitted as.

        Default: $FLUX_USER.
        """,
    )

    @default("user")
    def _user_default(self):
        return os.environ.get("FLUX_USER", "")

    @validate("user")
    def _valid_user(self, proposal):
        return user_names(self, proposal)

    token = Unicode(
        config=True,
        help="""The account's password (flux-restful calls it a token). Never logged.

        Default: $FLUX_TOKEN.
        """,
    )

    @default("token")
    def _token_default(self):
        return os.environ.get("FLUX_TOKEN", "")

    secret_key = Unicode(
        config=True,
        help="""The cluster's shared secret for the token handshake. Never logged.

        When empty, the extension logs in with the OAuth2 password form instead.
        Default: $FLUX_SECRET_KEY.
        """,
    )

    @default("secret_key")
    def _secret_key_default(self):
        return os.environ.get("FLUX_SECRET_KEY", "")

    request_timeout = Float(
        30.0,
        min=0.1,
        config=True,
        help="Seconds to wait for an answer from flux-restful before calling it unreachable.",
    )

    finished_jobs_cache_size = Int(
        5000,
        min=0,
        config=True,
        help="""How many finished jobs to keep in memory (flux-restful lists at most 1000).

        A finished job never changes, so the jobs list reads it once; a refresh asks only for
        active and new jobs.
        """,
    )

    rescan_interval = Float(
        2.0,
        min=0.0,
        config=True,
        help="""Least seconds between two complete listings asked for by the Refresh button.

        A press sooner than that after the last complete listing waits for the interval to end,
        then lists (unless another press listed meanwhile): the answer still shows every job
        submitted before the press, and a burst of presses, or many open tabs, costs flux-restful
        one listing per interval.
        """,
    )

    full_listing_interval = Float(
        300.0,
        min=0.0,
        config=True,
        help="""Seconds between complete listings of the user's jobs (the slow timer; 5 minutes).

        A complete listing is what finds jobs submitted outside flux-hub (``flux submit``, another
        client of flux-restful); the panel's Refresh button also asks for one. flux-restful
        answers it by walking every user's jobs, so it costs with the cluster's history. In
        between, a refresh asks only about the user's active jobs and those submitted through
        flux-hub (the panel, the notebook API, %%flux); a finished job that Flux purges stays
        in the list until the next complete listing.
        """,
    )

    server_mode = Enum(
        SERVER_MODES,
        config=True,
        help="""How flux-restful runs (its FLUX_SERVER_MODE). In multi-user mode its plain
        ``GET /v1/jobs`` lists only the caller's jobs, every attribute, in one Flux RPC; a
        refresh then reads that listing instead of one lookup per active job when it costs less,
        and shows jobs submitted outside flux-hub at once. Should the listing hold someone
        else's job after all, the extension logs it and goes back to lookups: nobody sees a job
        that is not theirs either way (each one shown is read with the user's own token).

        Default: $FLUX_SERVER_MODE (the hub sets it when it knows), else single-user.
        """,
    )

    @default("server_mode")
    def _server_mode_default(self):
        mode = os.environ.get("FLUX_SERVER_MODE", "")
        return mode if mode in SERVER_MODES else "single-user"

    reader_url = Unicode(
        config=True,
        help="""The base URL of the hub's reader of the cluster (issue 27), e.g.
        http://127.0.0.1:8181/services/flux-accounts/api/reader/; "" for none.

        The reader reads the whole cluster once for everyone: with it, a refresh of the jobs list
        is one request to the reader (``jobs?since=``) and GET cluster one more (``cluster``: free
        cores, GPUs, the queue), instead of requests to flux-restful. Submit, cancel, a job's
        detail and its output still go to flux-restful. A reader that does not answer (none on
        this hub: 404; failing: 503; unreachable) is said in one log line, and flux-restful is
        asked directly until ``reader_retry_interval`` has passed.

        Default: $FLUX_HUB_READER_URL (the hub sets it when it runs a reader).
        """,
    )

    @default("reader_url")
    def _reader_url_default(self):
        return base_url(os.environ.get(URL_ENV))

    @validate("reader_url")
    def _valid_reader_url(self, proposal):
        url = base_url(proposal.value)
        if url and not url.startswith(("http://", "https://")):
            raise TraitError(f"FluxHub.reader_url (or ${URL_ENV}) must be an http(s) URL: {url!r}")
        return url

    reader_token = Unicode(
        config=True,
        help="""The hub token the reader is asked with (the server's own). Never logged.

        Default: $JUPYTERHUB_API_TOKEN.
        """,
    )

    @default("reader_token")
    def _reader_token_default(self):
        return os.environ.get(TOKEN_ENV, "")

    reader_retry_interval = Float(
        60.0,
        min=0.0,
        config=True,
        help="Seconds flux-restful is asked directly after the reader failed, before the reader "
        "is asked again.",
    )

    concurrent_requests = Int(
        8,
        min=1,
        max=64,
        config=True,
        help="At most this many requests to flux-restful at once while refreshing the job list.",
    )

    paths = Unicode(
        None,
        allow_none=True,
        config=True,
        help="""How this server's paths map to the Flux cluster's: "LAB=CLUSTER;LAB2=CLUSTER2"
        (absolute folders, the person's own first), "" when the cluster sees none of this
        server's files, None (unset) when both see one filesystem. A job's working directory
        from the panel is sent the cluster's way; a folder the cluster cannot see is refused
        (400) before anything is submitted. See flux_hub/paths.py.

        Default: $FLUX_HUB_PATHS (the hub sets it on Kubernetes).
        """,
    )

    @default("paths")
    def _paths_default(self):
        return _path_map(os.environ.get(PATHS_ENV))

    @validate("paths")
    def _valid_paths(self, proposal):
        return _path_map(proposal.value)

    job_names_path = Unicode(
        config=True,
        help="""The file of job names shared with the notebook API.

        The journal of jobs the notebook API submitted (``submitted-jobs``) is next to it.

        Default: $XDG_DATA_HOME/flux-hub/job-names.json (~/.local/share/flux-hub/job-names.json).
        """,
    )

    @default("job_names_path")
    def _job_names_path_default(self):
        return str(default_path())

    @validate("job_names_path")
    def _valid_job_names_path(self, proposal):
        return not_empty(self, proposal)

    templates = List(
        Dict(),
        config=True,
        help="""Job templates published by the hub's admin, which everyone sees in the submit
        form (read-only for them): [{"name": "MPI hello", "description": "...", "request":
        {the panel's POST jobs body: "command", "num_tasks", "runtime", ...}}]. A template
        that is not valid is left out with a warning in the log.

        Default: $FLUX_HUB_TEMPLATES (JSON; the hub sets it from
        c.FluxAccountsMixin.job_templates). JSON that cannot be read there is one warning in
        the log, and no published templates.
        """,
    )

    @default("templates")
    def _templates_default(self):
        text = os.environ.get(TEMPLATES_ENV, "").strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except ValueError as error:
            problem = f"it is not JSON ({error})"
        else:
            if isinstance(value, list) and all(isinstance(item, dict) for item in value):
                return value
            problem = "it is not a JSON list of objects"
        self.log.warning(
            "flux-hub: $%s is not the hub's job templates, so none are shown: %s",
            TEMPLATES_ENV,
            problem,
        )
        return []
