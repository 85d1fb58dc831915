"""The accounts service: a hub-managed JupyterHub service (``python -m flux_hub.service``).

It loads the hub's own config file (``--config``, default $FLUX_HUB_CONFIG) so that it builds
exactly the accounts core the authenticator uses: same provisioner, store, name mapping, and
the same login mode (taken from ``c.JupyterHub.authenticator_class``). It runs the whole file,
as the hub did: those settings may be any Python (a callable, a class, values computed from the
environment), which no file the hub could write for it would carry. What flux-hub's own helpers
find out there is not found again: configure_local_cluster takes the settings the hub decided
(no probe of Flux, no legacy server prepared twice), and the helpers' notes on the hub's
standard error are not printed a second time (flux_hub.hub.local.in_accounts_service).
"""

import asyncio
import json
import logging
import os
import signal
import sqlite3
import time

from jupyterhub.log import log_request
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import httpclient, web
from tornado.httputil import url_concat
from tornado.log import access_log, app_log, gen_log
from traitlets import Any, Bool, Float, Instance, TraitError, Unicode, default, validate
from traitlets.config import Application

from flux_hub.accounts import CryptKeyMissing, FluxAccounts, ProvisioningError
from flux_hub.config_checks import positive_seconds, refuse, seconds_or_zero
from flux_hub.hub.authenticator import FluxAccountsMixin
from flux_hub.sqlitefile import NewerSchema

from . import handlers

# Seconds between two tries to read the superuser of a cluster that has a reader but cannot
# give it yet
READER_RETRY_SECONDS = 5.0


class FluxAccountsService(Application):
    """The accounts service: the account pages and API, and the reconcile loop."""

    name = "flux-hub-accounts"
    description = "Admin and user pages for flux-hub's MiniCluster accounts."

    aliases = {"config": "FluxAccountsService.config_file"}

    # A hub config that fails to load stops the service (traitlets would log it and go on)
    raise_config_file_errors = True

    config_file = Unicode(
        config=True,
        help="""The hub's jupyterhub_config.py (the service reads c.FluxAccounts, the
        provisioner's settings and c.JupyterHub.authenticator_class from it).""",
    )

    @default("config_file")
    def _config_file_default(self):
        return os.environ.get("FLUX_HUB_CONFIG", "")

    @default("log_level")
    def _log_level_default(self):
        return logging.INFO

    reconcile_interval = Float(
        300.0,
        config=True,
        help="""Seconds between reconcile runs (0 disables the loop; admins can still run it).""",
    )

    reader_enabled = Bool(
        True,
        config=True,
        help="""Whether the service reads the whole cluster once for everyone (the reader,
        flux_hub/reader) and answers people's servers their jobs and the cluster's state from
        that, instead of each server asking flux-restful for its person's jobs.

        It reads only where the provisioner gives a superuser of the cluster
        (``reader_credentials()``): a shared cluster behind flux-hub's guard. Off, or where
        there is none, people's servers ask flux-restful directly.""",
    )

    reader_min_interval = Float(
        1.0,
        config=True,
        help="""Seconds between two reads of the cluster while its jobs change and people
        ask (the shortest wait).""",
    )

    reader_max_interval = Float(
        10.0,
        config=True,
        help="""Seconds between two reads of the cluster at most while people ask: the wait
        doubles from reader_min_interval with each read that finds nothing changed. Nobody
        asking for a minute: no reads at all until someone asks.""",
    )

    @validate("reader_min_interval", "reader_max_interval")
    def _valid_reader_interval(self, proposal):
        return positive_seconds(self, proposal)

    @validate("config_file")
    def _valid_config_file(self, proposal):
        # As JupyterHub's own config_file: a file that is not there stops the start
        if proposal.value and not os.path.isfile(proposal.value):
            raise refuse(self, proposal, "be the hub's config file (no such file)")
        return proposal.value

    @validate("reconcile_interval")
    def _valid_reconcile_interval(self, proposal):
        return seconds_or_zero(self, proposal)

    holds_enabled = Bool(
        True,
        config=True,
        help="""Whether the service holds jobs until others end (``flux-hub submit
        --dependency=afterok:ID``, flux_hub/holds) and submits them as their owners, even while
        their servers are stopped. The holds are kept next to the accounts store.""",
    )

    accounts = Instance(FluxAccounts)
    holder = Any(None)  # the Holder of held jobs (flux_hub/holds), or None
    reader = Any(None)  # the Reader of the cluster (flux_hub/reader), or None
    authenticator_class = Any()
    last_reconcile = Any(None)  # {"at": time, "changes": [Outcome...], "error": str|None}
    idle_since = Any(None)  # per-user MiniClusters: {hub user: when seen idle first}

    def initialize(self, argv=None):
        """Read the command line and the hub's config file; build the accounts core.

        A bad setting stops the service here, in one line that names it (SystemExit)."""
        try:
            self._initialize(argv)
        except TraitError as e:
            raise SystemExit(f"flux-hub accounts service: {e}") from None

    def _initialize(self, argv):
        super().initialize(argv)
        if self.config_file:
            from flux_hub.hub.local import in_accounts_service

            path = os.path.abspath(self.config_file)
            try:
                with in_accounts_service():
                    self.load_config_file(os.path.basename(path), path=os.path.dirname(path))
            except Exception as e:  # noqa: BLE001 (any error of the hub's own Python)
                # Not default settings (an accounts store in the working directory, another
                # cluster): the service stops, saying why in one line
                raise SystemExit(
                    f"flux-hub accounts service: the hub's config {path} could not be loaded: "
                    + " ".join(f"{type(e).__name__}: {e}".split())
                ) from None
        cls = _authenticator_class(self.config)
        if not (isinstance(cls, type) and issubclass(cls, FluxAccountsMixin)):
            self.log.warning(
                "The hub's authenticator (%s) does not use flux-hub accounts; assuming "
                "provisioned accounts.",
                cls,
            )
            cls = FluxAccountsMixin
        self.authenticator_class = cls
        self.accounts = cls.make_accounts(self)
        try:
            self.accounts.store  # noqa: B018 (opening the store checks the crypt key)
            # What must run from the start (a fixed port-forward relay, unless the hub's
            # relay is given as FLUX_RESTFUL_HOST); making the provisioner started nothing
            self.accounts.provisioner.start()
        except (CryptKeyMissing, NewerSchema, ProvisioningError) as e:
            raise SystemExit(f"flux-hub accounts service: {e}") from None

    @property
    def shows_passwords_to_admins(self):
        """Admins see new accounts' passwords only when people log in with them."""
        return self.accounts.login_with_account_password

    def hub_api(self, path, **params):
        """GET a hub API path with the service's token; returns the parsed JSON."""
        url = url_concat(url_path_join(os.environ["JUPYTERHUB_API_URL"], path), params)
        token = os.environ["JUPYTERHUB_API_TOKEN"]
        request = httpclient.HTTPRequest(
            url,
            headers={
                "Authorization": f"token {token}",
                "Accept": "application/jupyterhub-pagination+json",
            },
        )

        async def fetch():
            response = await httpclient.AsyncHTTPClient().fetch(request)
            return json.loads(response.body)

        return fetch()

    async def hub_users(self, with_servers=False):
        """Every hub user name (paginated hub API); with_servers: also the set of those with
        a running or starting server."""
        names, running, offset = [], set(), 0
        while True:
            page = await self.hub_api("users", offset=offset, limit=200)
            items = page["items"] if isinstance(page, dict) else page
            names += [user["name"] for user in items]
            running |= {user["name"] for user in items if user.get("servers")}
            following = page.get("_pagination", {}).get("next") if isinstance(page, dict) else None
            if not following:
                return (sorted(names), running) if with_servers else sorted(names)
            offset = following["offset"]

    async def reconcile(self):
        """One reconcile run; its report is kept for the admin page and returned."""
        started = time.time()
        try:
            users, running = await self.hub_users(with_servers=True)
            changes = await asyncio.to_thread(self.accounts.reconcile, users)
            changes += await self.remove_idle_clusters(running)
            report = {"at": started, "changes": changes, "error": None}
        except Exception as e:
            self.log.error("Reconciling Flux accounts failed: %s", e)
            report = {"at": started, "changes": [], "error": str(e)}
        for change in report["changes"]:
            self.log.info(
                "Reconcile: %s -> %s: %s%s",
                change.hub_user,
                change.account,
                change.status,
                f" ({change.error})" if change.error else "",
            )
        self.last_reconcile = report
        return report

    async def remove_idle_clusters(self, running):
        """Per-user MiniClusters with an idle_timeout: remove those idle long enough."""
        provisioner = self.accounts.provisioner
        if not (provisioner.waits_for_cluster and provisioner.idle_timeout):
            return []  # (idle_timeout: ClusterPerPerson's, so only with waits_for_cluster)
        from flux_hub.kubernetes.percluster import idle_to_remove

        if self.idle_since is None:
            self.idle_since = {}
        due = await asyncio.to_thread(idle_to_remove, self.accounts, running, self.idle_since)
        if not due:
            return []
        for hub_user in due:
            self.idle_since.pop(hub_user, None)
            self.log.info("Removing the idle MiniCluster of %s", hub_user)
        return await asyncio.to_thread(self.accounts.deactivate, due, cancel_jobs=False)

    async def start_reader(self, retry=READER_RETRY_SECONDS):
        """Start the reader of the cluster when there is one to read (see reader_enabled);
        returns it, or None.

        A superuser that cannot be read yet (the local cluster still starting beside this
        service, a Secret not readable for a moment) is asked for again every ``retry`` seconds
        in the background (said once in the log): until then people's servers ask flux-restful
        directly, and use the reader at their next try once it reads."""
        if not self.reader_enabled:
            return None
        provisioner = self.accounts.provisioner
        find = getattr(provisioner, "reader_credentials", lambda: None)
        try:  # (a MiniCluster's are read from its Secret: not in the event loop)
            credentials = await asyncio.to_thread(find)
        except Exception as e:
            self.log.warning(
                "No reader of the cluster yet: its superuser could not be read (%s); people's "
                "servers ask flux-restful directly until it can (asked again every %g s)",
                e,
                retry,
            )
            if retry:
                self._reader_retry = asyncio.ensure_future(self._start_reader_later(find, retry))
            return None
        if credentials is None:
            self.log.info("No reader of the cluster: people's servers ask flux-restful directly")
            return None
        return self._start_reader(credentials)

    async def _start_reader_later(self, find, retry):
        while self.reader is None:
            await asyncio.sleep(retry)
            try:
                credentials = await asyncio.to_thread(find)
            except Exception:  # noqa: BLE001 (said once, by start_reader)
                continue
            if credentials is not None:
                self._start_reader(credentials)
            return

    def _start_reader(self, credentials):
        from flux_hub.reader.poller import Reader

        self.reader = Reader(
            credentials,
            min_interval=self.reader_min_interval,
            max_interval=self.reader_max_interval,
        ).start()
        self.log.info("Reading %s for everyone as %s", credentials.url, credentials.user)
        return self.reader

    async def stop_reader(self):
        """Stop the reader, if one runs (or is waited for)."""
        retrying = getattr(self, "_reader_retry", None)
        if retrying is not None:
            retrying.cancel()
        reader, self.reader = self.reader, None
        if reader is not None:
            await reader.stop()

    def start_holder(self):
        """Start holding jobs (see holds_enabled); returns the Holder, or None. Holds kept by a
        run before are resumed."""
        if not self.holds_enabled:
            return None
        from flux_hub.holds import STORE_NAME
        from flux_hub.holds.holder import Holder
        from flux_hub.holds.store import HoldStore

        folder = os.path.dirname(os.path.abspath(self.accounts.store_path))
        try:
            store = HoldStore(os.path.join(folder, STORE_NAME))
        except (OSError, sqlite3.Error) as e:
            self.log.warning("Not holding jobs: their store in %s cannot be opened (%s)", folder, e)
            return None
        self.holder = Holder(store, self.accounts, lambda: self.reader).start()
        self.log.info("Holding jobs until others end (kept in %s)", store.path)
        return self.holder

    async def stop_holder(self):
        """Stop releasing held jobs (they stay kept for the next start)."""
        holder, self.holder = self.holder, None
        if holder is not None:
            await holder.stop()
            holder.store.close()

    async def reconcile_loop(self):
        """Reconcile now, then every reconcile_interval seconds."""
        while True:
            await self.reconcile()
            await asyncio.sleep(self.reconcile_interval)

    def make_app(self):
        """The Tornado application: the pages, the API and the hub's OAuth callback, under
        $JUPYTERHUB_SERVICE_PREFIX."""
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/flux-accounts/")
        return web.Application(
            handlers.routes(prefix)
            + [(url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler)],
            service=self,
            prefix=prefix,
            hub_auth=HubOAuth(),
            cookie_secret=os.urandom(32),
            templates=handlers.templates(),
            log_function=log_request,  # JupyterHub's: tokens scrubbed from logged URLs
            # No xsrf_cookies: HubOAuth checks the form's _xsrf itself when it authenticates
            # a cookie, and API tokens need none.
        )

    async def serve(self):
        """Listen on $JUPYTERHUB_SERVICE_URL and run (with the reconcile loop unless its interval is
        0) until SIGINT or SIGTERM."""
        from urllib.parse import urlparse

        # Tornado's request and error logs go where the service's own log goes.
        for logger in (access_log, app_log, gen_log):
            logger.handlers = self.log.handlers
            logger.setLevel(self.log_level)
            logger.propagate = False

        url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
        self.make_app().listen(url.port, url.hostname)
        self.log.info("flux-hub accounts service on %s", url.geturl())
        if self.reconcile_interval > 0:
            asyncio.ensure_future(self.reconcile_loop())
        await self.start_reader()
        self.start_holder()
        # The hub stops services with SIGINT, then SIGTERM (SIGINT may arrive ignored).
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        await stopped.wait()
        await self.stop_holder()
        await self.stop_reader()


def _authenticator_class(config):
    """The hub's authenticator class as its config names it (class, import string or entry
    point name), or None when it cannot be told."""
    from jupyterhub.app import JupyterHub

    value = config.JupyterHub.get("authenticator_class")
    if value is None:
        return None
    try:
        return JupyterHub.class_traits()["authenticator_class"].validate(None, value)
    except TraitError as e:
        raise SystemExit(f"flux-hub accounts service: the hub's authenticator_class: {e}") from None


def main(argv=None):
    """``python -m flux_hub.service``: start the accounts service."""
    app = FluxAccountsService()
    app.initialize(argv)
    asyncio.run(app.serve())
