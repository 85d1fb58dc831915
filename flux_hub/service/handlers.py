"""Pages and JSON API of the accounts service.

Pages (HubOAuth login): ``{prefix}`` the user's own account; ``{prefix}admin`` every hub user's
account with actions (admins only). API (cookie or ``Authorization: token``), under
``{prefix}api/``:

    GET  me                          own account (no secrets)
    GET  me/credentials              own FLUX_* environment (the password included)
    GET  accounts                    admin: every hub user's account and the last reconcile
    POST accounts/{user}/{action}    admin: provision | rotate | deactivate
    GET  accounts/{user}/credentials admin, MiniCluster-credentials login only
    POST reconcile                   admin: reconcile now, returns what changed
    GET  accounts/{user}/cluster     admin, per-user MiniClusters: the person's cluster
    PUT  accounts/{user}/cluster     admin: its size, image, node_selector (next creation)

Errors are JSON ``{"message": ...}``: 401 not logged in, 403 not an admin (or not yours),
404 no such hub user, 409 not possible in this mode, 502 the provisioner failed.

The reader's API (flux_hub/reader; a person's server asks it with its own token):

    GET  reader/jobs?since=<version> the person's own jobs, changed since a version it gave
    GET  reader/cluster              the cluster for everyone: resources, jobs running, waiting

404 when this hub has no reader, 503 when it cannot read the cluster, 403 without an active
account.

Jobs held by the hub until others end (flux_hub/holds; a person's server, terminal or notebook
asks with the person's own token, and only ever gets or changes their own holds):

    POST   holds         {"request", "after", ["name"], ["workdir"], ["origin"]} -> 201 the hold
    GET    holds         the person's holds, newest first (at most 1,000; those ended more
                         than a week ago only with ?all=1)
    GET    holds/{id}    one of them (404 for another's, as for none)
    DELETE holds/{id}    cancel it while it waits

400 in one line for a bad body or a job to wait for that is not the person's, 403 without an
active account, 404 when this hub holds no jobs.
"""

import asyncio
import json
import os
import shlex
import time
from dataclasses import asdict
from datetime import datetime, timezone
from urllib.parse import quote

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from jupyterhub.services.auth import HubOAuthenticated
from jupyterhub.utils import url_path_join
from markupsafe import Markup
from tornado import httpclient, web

from flux_hub.accounts import AccountState, ProvisioningError
from flux_hub.kubernetes.errors import KubernetesError
from flux_hub.kubernetes.percluster import ClusterSettings
from flux_hub.reader.poller import Unavailable
from flux_hub.restful import LEGACY_WARNING

ACTIONS = ("provision", "rotate", "deactivate")


# Bootstrap's text colours for account states (they follow the light and dark themes)
_STATE_CLASS = {
    AccountState.ACTIVE: "text-success",
    AccountState.DEACTIVATED: "text-warning-emphasis",
    AccountState.MISSING: "text-danger fw-semibold",
    AccountState.FAILED: "text-danger fw-semibold",
}


class _PageUser:
    """The user as the hub's page.html reads it."""

    def __init__(self, name):
        self.name = name
        self.json_escaped_name = json.dumps(name)[1:-1]


def templates():
    """This service's templates, and the hub's own under ``hub:`` (``hub:page.html``)."""
    from jupyterhub._data import DATA_FILES_PATH

    own = os.path.join(os.path.dirname(__file__), "templates")
    hub = os.path.join(DATA_FILES_PATH, "templates")
    loader = ChoiceLoader(
        [FileSystemLoader(own), PrefixLoader({"hub": FileSystemLoader(hub)}, delimiter=":")]
    )
    return Environment(loader=loader, autoescape=True)


def when(timestamp):
    """A Unix time as YYYY-mm-dd HH:MM:SS UTC; empty for none."""
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def outcome_json(outcome):
    """An Outcome as the API answers it: never the password (admins read that on purpose,
    through the credentials endpoint)."""
    return {
        "hub_user": outcome.hub_user,
        "account": outcome.account,
        "status": outcome.status,
        "error": outcome.error,
    }


def row_json(row):
    """An AccountRow as the API answers it (no secrets)."""
    return {
        "hub_user": row.hub_user,
        "account": row.account,
        "state": row.state,
        "error": row.error,
        "provisioned_at": when(row.provisioned_at) or None,
        "password_known": row.password_known,
        "managed": row.managed,
    }


def report_json(report):
    """The last reconcile report as the API answers it, or None before the first run."""
    if report is None:
        return None
    return {
        "at": when(report["at"]),
        "changes": [outcome_json(c) for c in report["changes"]],
        "error": report["error"],
    }


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    """What every page and API of the service shares: the hub login and the account helpers."""

    @property
    def service(self):
        """The FluxAccountsService application."""
        return self.settings["service"]

    @property
    def accounts(self):
        """The accounts core (FluxAccounts)."""
        return self.service.accounts

    @property
    def prefix(self):
        """The service's URL prefix (/services/<name>/)."""
        return self.settings["prefix"]

    @property
    def is_admin(self):
        """Whether the logged-in hub user (not a service) is a hub admin."""
        user = self.current_user
        return bool(user and user.get("kind", "user") == "user" and user.get("admin"))

    def set_default_headers(self):
        """No response is cached: some carry a password."""
        self.set_header("Cache-Control", "no-store")

    def require_admin(self):
        """403 unless the logged-in user is a hub admin."""
        if not self.is_admin:
            raise web.HTTPError(403, "Only hub admins may see or change other people's accounts.")

    async def require_hub_user(self, name):
        """404 unless ``name`` is a user of the hub."""
        try:
            await self.service.hub_api(f"users/{quote(name, safe='')}")
        except httpclient.HTTPClientError as e:
            if e.code == 404:
                raise web.HTTPError(404, f"There is no hub user named {name!r}.") from None
            raise web.HTTPError(502, f"The hub did not answer: {e}") from None

    async def act(self, hub_user, action):
        """Run one admin action on a hub user's account; returns its Outcome."""
        await self.require_hub_user(hub_user)
        accounts, run = self.accounts, asyncio.to_thread
        if action == "provision":
            (outcome,) = await run(accounts.ensure, [hub_user], force=True)
        elif action == "rotate":
            (outcome,) = await run(accounts.ensure, [hub_user], rotate=True)
        else:
            (outcome,) = await run(accounts.deactivate, [hub_user])
        self.service.log.info(
            "%s: %s %s -> %s", self.current_user["name"], action, hub_user, outcome.status
        )
        return outcome

    async def cluster_account(self, hub_user):
        """The account of a hub user, in per-user MiniCluster mode (else 409)."""
        if not self.accounts.provisioner.waits_for_cluster:
            raise web.HTTPError(
                409, "flux-hub does not give people MiniClusters of their own here."
            )
        await self.require_hub_user(hub_user)
        try:
            return self.accounts.account_for(hub_user)
        except ValueError as e:
            raise web.HTTPError(400, str(e)) from None

    async def admin_credentials(self, hub_user):
        """A hub user's FLUX_* credentials for an admin (logged); 409 where admins never need
        them, 404 when flux-hub knows no working password."""
        if not self.service.shows_passwords_to_admins:
            raise web.HTTPError(
                409, "People never need these passwords: their servers receive them."
            )
        await self.require_hub_user(hub_user)
        env = await asyncio.to_thread(self.accounts.credentials, hub_user)
        if env is None:
            raise web.HTTPError(404, f"flux-hub does not know a working password of {hub_user}.")
        self.service.log.info(
            "%s read the Flux credentials of %s", self.current_user["name"], hub_user
        )
        return env

    def own_name(self):
        """The logged-in hub user's name; 403 for a service's token."""
        # A service's token names a service, not a hub user with an account of its own.
        if self.current_user.get("kind", "user") != "user":
            raise web.HTTPError(403, "Only hub users have Flux accounts.")
        return self.current_user["name"]

    async def own_account(self):
        """The logged-in user's account as the page and GET api/me show it: account, state,
        error, when provisioned, the cluster URL (and, per-user mode, their MiniCluster)."""
        name = self.own_name()
        record = await asyncio.to_thread(self.accounts.record, name)
        if record is None:
            state = AccountState.MISSING
            try:
                account = self.accounts.account_for(name)
            except ValueError:
                account = None
        else:
            state, account = record.state, record.account
        provisioner = self.accounts.provisioner
        model = {
            "hub_user": name,
            "account": account,
            "state": state,
            "error": record.error if record else None,
            "provisioned_at": when(record.provisioned_at) if record else None,
            "cluster_url": provisioner.user_cluster_url,
        }
        if provisioner.waits_for_cluster and account:
            model["cluster"] = await self.cluster_model(account)
            model["cluster_url"] = model["cluster"]["url"]
        return model

    async def cluster_model(self, account):
        """A person's own MiniCluster (per-user mode): its state and settings, no secrets."""
        provisioner = self.accounts.provisioner

        def read():
            state = provisioner.cluster_state(account)
            url = provisioner.url_of(account) if state.state != "absent" else None
            return state, url, provisioner.settings(account)

        try:
            state, url, settings = await asyncio.to_thread(read)
        except (KubernetesError, ProvisioningError) as e:
            raise web.HTTPError(502, f"Cannot read the MiniCluster of {account}: {e}") from None
        return {
            "name": state.name,
            "state": state.state,
            "message": state.message,
            "pods_running": state.pods_running,
            "size": state.size,
            "image": state.image,
            "node_selector": state.node_selector,
            "created": state.created,
            "url": url,
            "settings": asdict(settings),
            "defaults": asdict(provisioner.defaults()),
            "idle_timeout": provisioner.idle_timeout,
        }

    async def own_credentials(self):
        """The logged-in user's FLUX_* credentials; 404 without a working account."""
        name = self.own_name()
        env = await asyncio.to_thread(self.accounts.credentials, name)
        if env is None:
            raise web.HTTPError(
                404, "You have no working Flux account; ask a hub admin to provision it."
            )
        return env


class PageHandler(BaseHandler):
    """Pages that look like the hub's own: its page.html (navigation bar, CSS, light and dark
    themes) around this service's content, as jupyterhub-announcement renders them."""

    def render_page(self, template, **kwargs):
        """Render ``template`` inside the hub's page.html with what both read, plus ``kwargs``."""
        hub_prefix = self.settings["hub_auth"].hub_prefix  # "/hub/"
        base = os.environ.get("JUPYTERHUB_BASE_URL", "/")
        user = self.current_user
        page = self.settings["templates"].get_template(template)
        self.finish(
            page.render(
                # what the hub's page.html reads
                base_url=hub_prefix,
                prefix=base,
                static_url=lambda path, include_version=True: url_path_join(
                    hub_prefix, "static", path
                ),
                logo_url=url_path_join(hub_prefix, "home"),
                login_url=url_path_join(hub_prefix, "login"),
                logout_url=url_path_join(hub_prefix, "logout"),
                user=_PageUser(user["name"]) if user else None,
                parsed_scopes={"admin-ui"} if self.is_admin else set(),
                admin_access=self.is_admin,
                no_spawner_check=True,
                services=[{"name": "flux-accounts", "href": self.prefix}],
                xsrf_token=self.xsrf_token.decode("ascii"),
                version_hash="",
                announcement=None,
                # this service's own
                service_prefix=self.prefix,
                hub_home=url_path_join(hub_prefix, "home"),
                is_admin=self.is_admin,
                xsrf_form_html=Markup(self.xsrf_form_html()),
                when=when,
                state_class=_STATE_CLASS.get,
                legacy_warning=(
                    LEGACY_WARNING if self.accounts.provisioner.serves_legacy() else None
                ),
                **kwargs,
            )
        )

    def write_error(self, status_code, **kwargs):
        """An error as a page in the hub's look, with the reason."""
        error = kwargs.get("exc_info", (None, None))[1]
        message = getattr(error, "log_message", None) or self._reason
        self.render_page("error.html", status_code=status_code, message=message)


def export_lines(env):
    """The credentials as lines to paste into a shell: ``export KEY=VALUE``, each value quoted
    as the shell reads it back whole (a password with a space, ``$`` or a quote included)."""
    return [f"export {key}={shlex.quote(str(value))}" for key, value in env.items()]


class OwnPage(PageHandler):
    """The logged-in user's account page (GET {prefix})."""

    @web.authenticated
    async def get(self):
        """The account page."""
        self.render_page("me.html", me=await self.own_account())


class OwnCredentialsPage(PageHandler):
    """POST {prefix}credentials: the logged-in user's own credentials, shown once."""

    @web.authenticated
    async def post(self):
        """Show the user's credentials (POST with _xsrf, so a link cannot show them)."""
        env = await self.own_credentials()
        self.render_page(
            "secret.html",
            title="Your Flux credentials",
            env=env,
            export_lines=export_lines,
            back=self.prefix,
        )


class AdminPage(PageHandler):
    """GET {prefix}admin: every hub user's account, the last reconcile and the action buttons."""

    @web.authenticated
    async def get(self):
        """The admin page (hub admins only)."""
        self.require_admin()
        users = await self.service.hub_users()
        rows = await asyncio.to_thread(self.accounts.overview, users)
        self.render_page(
            "admin.html",
            rows=rows,
            report=self.service.last_reconcile,
            message=self.get_argument("message", ""),
            shows_passwords=self.service.shows_passwords_to_admins,
            per_user_clusters=self.accounts.provisioner.waits_for_cluster,
        )


class AdminActionPage(PageHandler):
    """POST {prefix}admin/<action>: the admin page's buttons (provision, rotate, deactivate,
    password, reconcile); back to the admin page with a message."""

    @web.authenticated
    async def post(self, action):
        """Run ``action`` on the form's hub_user (or reconcile everyone); hub admins only."""
        self.require_admin()
        back = url_path_join(self.prefix, "admin")
        if action == "reconcile":
            report = await self.service.reconcile()
            message = f"Reconciled: {len(report['changes'])} change(s)."
            if report["error"]:
                message = f"Reconcile failed: {report['error']}"
            return self.redirect(f"{back}?message={quote(message)}")
        hub_user = self.get_body_argument("hub_user")
        if action == "password":
            env = await self.admin_credentials(hub_user)
            return self.render_page(
                "secret.html",
                title=f"Flux credentials of {hub_user}",
                env=env,
                export_lines=export_lines,
                back=back,
            )
        outcome = await self.act(hub_user, action)
        message = f"{action} {hub_user}: {outcome.status}"
        if outcome.error:
            message += f" ({outcome.error})"
        self.redirect(f"{back}?message={quote(message)}")


class ClusterSettingsPage(PageHandler):
    """Admin: one person's MiniCluster (per-user mode), and its size, image, node selector."""

    @web.authenticated
    async def get(self, hub_user):
        """The person's MiniCluster and its settings form."""
        self.require_admin()
        account = await self.cluster_account(hub_user)
        self.render_page(
            "cluster.html",
            hub_user=hub_user,
            cluster=await self.cluster_model(account),
            message=self.get_argument("message", ""),
        )

    @web.authenticated
    async def post(self, hub_user):
        """Save the form's settings (they apply when the MiniCluster is next created)."""
        self.require_admin()
        account = await self.cluster_account(hub_user)
        fields = (*CLUSTER_FIELDS, "node_selector_none")
        form = {k: self.get_body_argument(k, "").strip() for k in fields}
        try:
            settings = settings_from_form(form)
            await asyncio.to_thread(self.accounts.provisioner.set_settings, account, settings)
            message = "Saved; they apply when this MiniCluster is next created."
        except ValueError as e:
            message = f"Not saved: {e}"
        self.service.log.info(
            "%s: cluster settings of %s: %s", self.current_user["name"], hub_user, message
        )
        self.redirect(
            url_path_join(self.prefix, "admin/cluster", quote(hub_user))
            + f"?message={quote(message)}"
        )


class APIHandler(BaseHandler):
    """The JSON API: 401 without a hub login, errors as {"message": ...}."""

    def prepare(self):
        """401 unless a hub user or service is logged in."""
        if self.current_user is None:
            raise web.HTTPError(401, "Log in to JupyterHub first.")

    def write_json(self, model, status=200):
        """Finish with ``model`` as JSON and ``status``."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(model))

    def write_error(self, status_code, **kwargs):
        """An error as {"message": reason}."""
        error = kwargs.get("exc_info", (None, None))[1]
        message = getattr(error, "log_message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))


class OwnAPI(APIHandler):
    """GET api/me: the logged-in user's account (see BaseHandler.own_account)."""

    async def get(self):
        """The user's account as JSON."""
        self.write_json(await self.own_account())


class OwnCredentialsAPI(APIHandler):
    """GET api/me/credentials: the logged-in user's FLUX_* credentials."""

    async def get(self):
        """The user's credentials as JSON; 404 without a working account."""
        self.write_json(await self.own_credentials())


class AccountsAPI(APIHandler):
    """GET api/accounts (admins): every hub user's account and the last reconcile."""

    async def get(self):
        """{"accounts": [row_json...], "last_reconcile": report_json}."""
        self.require_admin()
        users = await self.service.hub_users()
        rows = await asyncio.to_thread(self.accounts.overview, users)
        self.write_json(
            {
                "accounts": [row_json(r) for r in rows],
                "last_reconcile": report_json(self.service.last_reconcile),
            }
        )


class AccountActionAPI(APIHandler):
    """POST api/accounts/<hub user>/<provision|rotate|deactivate> (admins)."""

    async def post(self, hub_user, action):
        """Run the action; the Outcome as JSON, or 502 with its error."""
        self.require_admin()
        outcome = await self.act(hub_user, action)
        if not outcome.ok:
            raise web.HTTPError(502, outcome.error)
        self.write_json(outcome_json(outcome))


class AccountCredentialsAPI(APIHandler):
    """GET api/accounts/<hub user>/credentials (admins, where they may read passwords)."""

    async def get(self, hub_user):
        """The hub user's FLUX_* credentials as JSON."""
        self.require_admin()
        self.write_json(await self.admin_credentials(hub_user))


class ClusterSettingsAPI(APIHandler):
    """GET: a person's MiniCluster and settings; PUT {size, image, node_selector} (null: the
    configured default) -> 400 with the reason for a value Kubernetes would refuse."""

    async def get(self, hub_user):
        """The person's MiniCluster and settings as JSON."""
        self.require_admin()
        account = await self.cluster_account(hub_user)
        self.write_json(await self.cluster_model(account))

    async def put(self, hub_user):
        """Save the settings in the JSON body; the MiniCluster and settings as JSON."""
        self.require_admin()
        account = await self.cluster_account(hub_user)
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict) or set(body) - set(CLUSTER_FIELDS):
                raise ValueError(f"send a JSON object with only {', '.join(CLUSTER_FIELDS)}")
            settings = ClusterSettings(**body)
            await asyncio.to_thread(self.accounts.provisioner.set_settings, account, settings)
        except ValueError as e:  # json's errors are ValueErrors too
            raise web.HTTPError(400, str(e)) from None
        self.service.log.info(
            "%s: cluster settings of %s saved", self.current_user["name"], hub_user
        )
        self.write_json(await self.cluster_model(account))


class ReconcileAPI(APIHandler):
    """POST api/reconcile (admins): reconcile now."""

    async def post(self):
        """Run a reconcile; its report as JSON."""
        self.require_admin()
        self.write_json(report_json(await self.service.reconcile()))


CLUSTER_FIELDS = ("size", "image", "node_selector")


def settings_from_form(form):
    """ClusterSettings from the admin form's text fields (empty: the configured default)."""
    size = None
    if form["size"]:
        try:
            size = int(form["size"])
        except ValueError:
            raise ValueError(f"size must be a whole number, not {form['size']!r}") from None
    selector = None
    if form["node_selector"]:
        selector = {}
        for item in form["node_selector"].split(","):
            key, sep, value = item.strip().partition("=")
            if not sep:
                raise ValueError(f"node selector: write label=value, not {item.strip()!r}")
            selector[key.strip()] = value.strip()
    elif form.get("node_selector_none"):
        selector = {}
    return ClusterSettings(size, form["image"] or None, selector)


NO_READER = "This hub has no reader of the cluster: ask flux-restful directly."
NO_ACCOUNT = "You have no active Flux account on this cluster; ask a hub admin to provision it."
# Seconds a person's account is known without asking the store again
ACCOUNT_SECONDS = 60.0


class ReaderAPI(APIHandler):
    """What the reader's endpoints share: the reader (404 without one), its fresh state (503
    when it cannot read the cluster) and the person's account (403 without an active one).

    Hundreds of servers ask every few seconds: each answer comes from the reader's memory and
    the account from a cache of ``ACCOUNT_SECONDS``."""

    def reader(self):
        """The service's Reader; 404 when this hub has none."""
        if self.service.reader is None:
            raise web.HTTPError(404, NO_READER)
        return self.service.reader

    async def fresh_state(self):
        """The reader's state, fresh enough to answer from."""
        try:
            return await self.reader().fresh()
        except Unavailable as e:
            raise web.HTTPError(503, str(e)) from None

    async def person_account(self):
        """The logged-in person's active Flux account; 403 without one (or for a service)."""
        name = self.own_name()
        cache = self.application.settings.setdefault("reader_accounts", {})
        known = cache.get(name)
        if known is None or known[0] < time.monotonic():
            account = await asyncio.to_thread(self._active_account, name)
            known = cache[name] = (time.monotonic() + ACCOUNT_SECONDS, account)
        if known[1] is None:
            raise web.HTTPError(403, NO_ACCOUNT)
        return known[1]

    def _active_account(self, name):
        record = self.accounts.record(name)
        try:
            return record.account if self.accounts.is_current(name, record) else None
        except ValueError:  # a name the accounts' naming refuses
            return None


class ReaderJobsAPI(ReaderAPI):
    """GET api/reader/jobs?since=<version>: the person's own jobs from the reader (see
    ClusterState.person): ``{"version", "complete", "jobs", "ids"}``."""

    async def get(self):
        """The person's jobs (those changed since ``since``) as JSON."""
        self.reader()
        account = await self.person_account()
        state = await self.fresh_state()
        since = self.get_argument("since", None)
        self.set_header("Content-Type", "application/json")
        self.finish(state.person_json(account, since))


class ReaderClusterAPI(ReaderAPI):
    """GET api/reader/cluster: the cluster for everyone (see ClusterState.summary) and its URL:
    ``{"cluster", "as_of", "resources", "jobs": {"running", "waiting"}}``. It names no one:
    any hub user may read it."""

    async def get(self):
        """The cluster's resources and queue as JSON."""
        self.own_name()
        state = await self.fresh_state()
        cluster = self.accounts.provisioner.user_cluster_url or self.reader().url
        self.write_json({"cluster": cluster, **state.summary()})


NO_HOLDER = "This hub holds no jobs: submit the job when the others have ended."
# The largest hold body taken (bytes): a job request with its environment and script
MAX_HOLD_BODY = 1 << 20


class HoldsAPI(ReaderAPI):
    """What the holds' endpoints share: the holder (404 without one) and the person, whose
    name comes from the token alone (never from the body)."""

    def holder(self):
        """The service's Holder; 404 when this hub has none."""
        holder = getattr(self.service, "holder", None)
        if holder is None:
            raise web.HTTPError(404, NO_HOLDER)
        return holder

    def write_error(self, status_code, **kwargs):
        """As APIHandler's, with the message's arguments put in (a person's input goes in
        arguments, never in the format)."""
        error = kwargs.get("exc_info", (None, None))[1]
        if isinstance(error, web.HTTPError) and error.log_message and error.args:
            self.set_header("Content-Type", "application/json")
            return self.finish(json.dumps({"message": error.log_message % error.args}))
        return super().write_error(status_code, **kwargs)


class HoldListAPI(HoldsAPI):
    """GET api/holds: the person's holds; POST api/holds: hold a job (see the module)."""

    async def get(self):
        """{"holds": [hold...]} of the person, newest first."""
        holder, owner = self.holder(), self.own_name()
        everything = self.get_argument("all", "") not in ("", "0", "false")
        found = await asyncio.to_thread(holder.holds_of, owner, everything)
        self.write_json({"holds": [hold.public() for hold in found]})

    async def post(self):
        """Hold the body's job for the person; 201 the hold, 400 in one line."""
        from flux_hub.holds.holder import HoldRefused

        holder = self.holder()
        owner = self.own_name()
        account = await self.person_account()
        if len(self.request.body) > MAX_HOLD_BODY:
            raise web.HTTPError(400, f"A hold's body is at most {MAX_HOLD_BODY} bytes.")
        try:
            body = json.loads(self.request.body or b"")
        except ValueError:
            raise web.HTTPError(400, 'The body must be JSON: {"request", "after"}.') from None
        try:
            hold = await holder.create(owner, account, body)
        except HoldRefused as error:
            raise web.HTTPError(400, "%s", str(error)) from None
        self.write_json(hold.public(), status=201)


class HoldAPI(HoldsAPI):
    """GET api/holds/<id>: one of the person's holds; DELETE: cancel it while it waits."""

    async def get(self, hold_id):
        """The hold; 404 unless it is the person's."""
        self.write_json(await self._own(hold_id, self.holder().hold_of))

    async def delete(self, hold_id):
        """Cancel the hold: it as it is then (CANCELED, or the state it had reached)."""
        self.write_json(await self._own(hold_id, self.holder().cancel))

    async def _own(self, hold_id, act):
        hold = await asyncio.to_thread(act, self.own_name(), hold_id)
        if hold is None:
            raise web.HTTPError(404, "%s", f"There is no hold {hold_id} of yours.")
        return hold.public()


def routes(prefix):
    """The service's (URL pattern, handler) pairs under ``prefix``."""
    api = url_path_join(prefix, "api")
    actions = "|".join(ACTIONS)
    return [
        (prefix, OwnPage),
        (url_path_join(prefix, "credentials"), OwnCredentialsPage),
        (url_path_join(prefix, "admin"), AdminPage),
        (url_path_join(prefix, f"admin/({actions}|password|reconcile)"), AdminActionPage),
        (url_path_join(api, "me"), OwnAPI),
        (url_path_join(api, "me/credentials"), OwnCredentialsAPI),
        (url_path_join(api, "accounts"), AccountsAPI),
        (url_path_join(api, r"accounts/([^/]+)/credentials"), AccountCredentialsAPI),
        (url_path_join(api, rf"accounts/([^/]+)/({actions})"), AccountActionAPI),
        (url_path_join(api, "reconcile"), ReconcileAPI),
        (url_path_join(prefix, r"admin/cluster/([^/]+)"), ClusterSettingsPage),
        (url_path_join(api, r"accounts/([^/]+)/cluster"), ClusterSettingsAPI),
        (url_path_join(api, "reader/jobs"), ReaderJobsAPI),
        (url_path_join(api, "reader/cluster"), ReaderClusterAPI),
        (url_path_join(api, "holds/?"), HoldListAPI),
        (url_path_join(api, r"holds/([A-Za-z0-9]{1,40})"), HoldAPI),
    ]
