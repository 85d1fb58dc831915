"""FluxAuthenticator and the provisioned-accounts mixin.

Two ways to map people to MiniCluster accounts:

- ``FluxAuthenticator`` (``c.JupyterHub.authenticator_class = "flux"``): people log in with the
  user name and password of their MiniCluster account; the flux-restful server checks them.
- ``with_flux_accounts(OtherAuthenticator)``: any other authenticator decides who may log in,
  and flux-hub gives each such user a provisioned account they never have to see.

Both keep accounts with the accounts core (``flux_hub.accounts.FluxAccounts``): ``add_user``
makes the account exist (cheaply when it already does), ``delete_user`` deactivates it, and
``pre_spawn_start`` hands the user's server FLUX_RESTFUL_HOST, FLUX_USER, FLUX_TOKEN and
FLUX_SECRET_KEY, the environment flux-restful-cli and the flux_hub notebook API read.

``job_templates`` are job templates an admin publishes for everyone: checked when the hub
starts (one that is not a valid job request stops it, in one sentence naming the template and
the field), and handed to every server as FLUX_HUB_TEMPLATES (the server extension's
``c.FluxHub.templates``), where the submit form shows them read-only.
"""

import asyncio
import json
import os
import stat
import threading

from jupyterhub.auth import Authenticator
from jupyterhub.utils import maybe_future
from tornado import web
from traitlets import Dict, Instance, List, Unicode, default, validate

from flux_hub import fileutil
from flux_hub.accounts import (
    DEACTIVATED,
    CryptKeyMissing,
    FluxAccounts,
    Outcome,
    ProvisioningError,
    Status,
)
from flux_hub.config_checks import refuse, url_or_empty
from flux_hub.history import TEMPLATES_ENV, published_template
from flux_hub.holds import HOLDS_ENV
from flux_hub.holds.client import holds_url
from flux_hub.jobrequest import JobRequestError
from flux_hub.reader import READER_ENV
from flux_hub.restful import LEGACY_WARNING
from flux_hub.sqlitefile import NewerSchema


class AccountNotOurs(web.HTTPError, ValueError):
    """add_user refused an account that exists on the cluster and that flux-hub did not make.

    A 403 whose message the person sees on the hub's error page at login, and the admin in the
    admin page's answer and the hub's log.
    """

    def __init__(self, message):
        super().__init__(403, "%s", message)
        self.jupyterhub_message = message

    def __str__(self):
        return self.jupyterhub_message


class FluxAccountsMixin(Authenticator):
    """Gives every hub user a MiniCluster account. Mix in before another Authenticator:

    ``class MyAuthenticator(FluxAccountsMixin, SharedPasswordAuthenticator)`` or
    ``with_flux_accounts(SharedPasswordAuthenticator)``.
    """

    # Whether people log in with their account's password (FluxAuthenticator) or elsewhere.
    flux_login_with_account_password = False

    accounts = Instance(
        FluxAccounts,
        help="""The accounts core; configure it with c.FluxAccounts and c.<Provisioner>.""",
    )

    @default("accounts")
    def _accounts_default(self):
        return self.make_accounts(self)

    job_templates = List(
        Dict(),
        config=True,
        help="""Job templates everyone sees in the submit form (read-only for them), e.g.

        [{"name": "MPI hello", "description": "4 tasks on 2 nodes, 10 minutes",
          "request": {"command": "mpirun ./hello", "num_nodes": 2, "num_tasks": 4,
                      "runtime": "10m"}}]

        ``request`` holds the form's fields (the panel's POST jobs body: command, name,
        num_nodes, num_tasks, cores_per_task, gpus_per_task, runtime, workdir, envars,
        exclusive, option_flags), checked as any job request when the hub starts: a template
        that is not valid stops the hub, naming it and the field. The command may be left out
        (a set of resources). Every server gets them in $FLUX_HUB_TEMPLATES.
        """,
    )

    reader_url = Unicode(
        config=True,
        help="""Where people's servers reach the hub's reader of the cluster (flux_hub/reader):
        the accounts service's ``api/reader/`` URL, as their servers reach it. Handed to each
        server as FLUX_HUB_READER_URL (not for per-person MiniClusters, which have none): the
        server then reads its person's jobs and the cluster's state from the reader, one read
        of the cluster for everyone, instead of from flux-restful (submit, cancel and output
        stay direct; a reader that does not answer is skipped). add_accounts_service sets it
        to the service's own URL, right for servers on the hub's machine; on Kubernetes set it
        to the hub pod's service address, e.g.
        ``http://hub:8181/services/flux-accounts/api/reader/``. Empty: no reader.""",
    )

    @validate("reader_url")
    def _valid_reader_url(self, proposal):
        return url_or_empty(self, proposal)

    @classmethod
    def make_accounts(cls, parent):
        """The FluxAccounts this authenticator class uses, under ``parent``'s config.

        The accounts service calls this with its own parent so that both processes agree.
        """
        return FluxAccounts(
            parent=parent, login_with_account_password=cls.flux_login_with_account_password
        )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        try:
            self.accounts.store  # noqa: B018 (opening the store checks the crypt key)
        except (CryptKeyMissing, NewerSchema) as e:
            # A one-line reason at start-up instead of a traceback.
            raise SystemExit(f"{type(self).__name__}: {e}") from None
        if self.flux_login_with_account_password and self.accounts.provisioner.waits_for_cluster:
            raise SystemExit(
                f"{type(self).__name__}: people would log in with the password of an account "
                f"on their own MiniCluster, which {type(self.accounts.provisioner).__name__} "
                "only makes at their first login. Use with_flux_accounts(<an authenticator>) "
                "to give each person a MiniCluster."
            )
        try:
            # What must run from the hub's start (a fixed port-forward relay); making the
            # provisioner started nothing
            self.accounts.provisioner.start()
        except ProvisioningError as e:
            raise SystemExit(f"{type(self).__name__}: {e}") from None
        try:
            # Checked once, here: every spawn hands the same text to its server
            self._templates_env = self.job_templates_environment()
        except ValueError as e:
            raise SystemExit(f"{type(self).__name__}.job_templates: {e}") from None
        self._pending = {}
        self._flush_task = None
        self._swept = False
        self._warned_legacy = False
        self._warn_if_legacy()

    def job_templates_environment(self):
        """$FLUX_HUB_TEMPLATES for a server: ``job_templates`` checked and written as the
        server shows them (compact JSON; the requests as flux_hub.history.template_request
        gives them). ValueError, one sentence naming the template and the field, for one that
        is not valid."""
        templates, names = [], set()
        for number, template in enumerate(self.job_templates, 1):
            given = template.get("name")
            label = f"the template {given!r}" if given else f"template number {number}"
            unknown = sorted(set(template) - {"name", "description", "request"})
            if unknown:
                raise ValueError(
                    f"{label} has an unknown key {unknown[0]!r} (it takes name, description "
                    "and request)"
                )
            try:
                checked = published_template(template)
            except JobRequestError as e:
                field, message = next(iter(e.problems.items()))
                if f"'{field}'" not in message:
                    message = f"'{field}': {message}"
                raise ValueError(f"{label}: {message}") from None
            except ValueError as e:
                raise ValueError(f"{label}: {e}") from None
            if checked["name"] in names:
                raise ValueError(f"{label}: two templates have that name")
            names.add(checked["name"])
            templates.append(checked)
        return json.dumps(templates, separators=(",", ":"), sort_keys=True)

    def _warn_if_legacy(self):
        """Say it in the hub's log, once, when the cluster cannot keep tenants apart."""
        if not self._warned_legacy and self.accounts.provisioner.serves_legacy():
            self._warned_legacy = True
            self.log.warning("flux-hub: %s", LEGACY_WARNING)

    async def _ensure(self, names, also=()):
        """Provision ``names`` (and ``also``, not awaited) in as few batches as possible.

        Calls arriving together (many logins, or add_user for many users) share one batch, so
        one provisioner process serves them all.
        """
        loop = asyncio.get_running_loop()
        wanted = []
        for name in [*names, *also]:
            future = self._pending.get(name)
            if future is None:
                future = self._pending[name] = loop.create_future()
            if name in names:
                wanted.append(future)
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.ensure_future(self._flush())
        return await asyncio.gather(*wanted)

    async def _flush(self):
        # Let callers of the same moment join this batch. Each reads its record in a thread
        # first, so they arrive over a few milliseconds: wait until none has come for a moment.
        loop = asyncio.get_running_loop()
        seen, deadline = -1, loop.time() + 0.25
        while len(self._pending) != seen and loop.time() < deadline:
            seen = len(self._pending)
            await asyncio.sleep(0.02)
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                outcomes = await asyncio.to_thread(self._provision, list(batch))
            except Exception as e:
                self.log.error("Provisioning Flux accounts failed: %s", e)
                outcomes = [Outcome(name, None, Status.ERROR, str(e)) for name in batch]
            for outcome in outcomes:
                batch[outcome.hub_user].set_result(outcome)

    def _provision(self, names):
        try:
            return self.accounts.ensure(names)
        finally:
            self._warn_if_legacy()  # a cluster found by discovery is known now

    def _hub_user_names(self, user):
        """Every user in the hub database, read through the session ``user`` belongs to."""
        from jupyterhub import orm
        from sqlalchemy.orm import object_session

        row = getattr(user, "orm_user", user)
        session = object_session(row) if isinstance(row, orm.User) else None
        if session is None:
            return []
        return [name for (name,) in session.query(orm.User.name)]

    async def add_user(self, user):
        """Make the user's account exist and work before returning.

        An existing account costs one sqlite read: no bcrypt hash, no process. The first user
        found without an account in this process also provisions every other hub user that
        lacks one, in the same batch; that is what makes a hub start with many new users
        (allowed_users, admin_users) cost one provisioner process.
        """
        await maybe_future(super().add_user(user))
        name = user.name
        accounts = self.accounts
        record = await asyncio.to_thread(accounts.record, name)
        if _current(accounts, name, record) is not False:
            return
        also = []
        if not self._swept:
            self._swept = True
            records = await asyncio.to_thread(accounts.records)
            blocked = self.blocked_users
            also = [
                other
                for other in self._hub_user_names(user)
                if other != name
                and other not in blocked
                and _current(accounts, other, records.get(other)) is False
            ]
        (outcome,) = await self._ensure([name], also)
        if outcome.not_ours:
            raise AccountNotOurs(f"could not provision a Flux account for {name}: {outcome.error}")
        if not outcome.ok:
            raise ValueError(f"could not provision a Flux account for {name}: {outcome.error}")

    async def delete_user(self, user):
        """Deactivate the user's account (and, if configured, cancel its running jobs)."""
        (outcome,) = await asyncio.to_thread(self.accounts.deactivate, [user.name], forget=True)
        if not outcome.ok:
            raise ValueError(
                f"could not deactivate the Flux account of {user.name}: {outcome.error}"
            )
        await maybe_future(super().delete_user(user))

    async def pre_spawn_start(self, user, spawner):
        """Put the account's credentials into the server's environment (nowhere else: the hub's
        database and auth_state hold no copy)."""
        await maybe_future(super().pre_spawn_start(user, spawner))
        name = user.name
        accounts = self.accounts
        record = await asyncio.to_thread(accounts.record, name)
        if accounts.provisioner.waits_for_cluster:
            # The person's own cluster: made again if it was removed (idle, admin) or lost;
            # adopted as it is otherwise (two reads, no change).
            (outcome,) = await asyncio.to_thread(accounts.ensure, [name], force=True)
            if not outcome.ok:
                raise RuntimeError(f"Your Flux cluster could not be set up: {outcome.error}")
            record = await asyncio.to_thread(accounts.record, name)
        elif not accounts.is_current(name, record):
            (outcome,) = await self._ensure([name])
            if not outcome.ok:
                raise RuntimeError(f"Your Flux account could not be set up: {outcome.error}")
            record = await asyncio.to_thread(accounts.record, name)
        env = await asyncio.to_thread(accounts.credentials, name, record)
        if env is not None and accounts.provisioner.waits_for_cluster:
            await self._wait_for_cluster(spawner, record.account, env["FLUX_TOKEN"])
            env = await asyncio.to_thread(accounts.credentials, name, record)  # as it is up
        if env is None:
            # Deactivated, or a password flux-hub has not learned yet: the server starts,
            # and flux-hub's panel tells the user their account does not work.
            self.log.warning("No working Flux credentials for %s (%s)", name, record.state)
            env = {
                **accounts.provisioner.lab_environment(record.account, name),
                "FLUX_RESTFUL_HOST": accounts.provisioner.user_cluster_url,
                "FLUX_USER": record.account,
            }
        # The hub's published job templates, for the submit form (any credentials or none)
        env[TEMPLATES_ENV] = self._templates_env
        if self.reader_url and not accounts.provisioner.waits_for_cluster:
            env[READER_ENV] = self.reader_url
        if self.reader_url:
            # The hub's holds (jobs held until others end), beside the reader on the accounts
            # service; for per-person clusters too (the holder asks the person's own cluster)
            env[HOLDS_ENV] = holds_url({}, self.reader_url)
        spawner.environment = {**spawner.environment, **env}
        # What the provisioner needs of the server itself (on Kubernetes: its uid, the shared
        # volume), for a spawner that has such a setting.
        overrides = await asyncio.to_thread(
            accounts.provisioner.spawner_overrides, record.account, name
        )
        has_trait = getattr(spawner, "has_trait", lambda trait: False)
        for trait, value in overrides.items():
            if has_trait(trait):
                setattr(spawner, trait, _merged(getattr(spawner, trait, None), value))
            else:
                self.log.debug("%s has no %s: not set for %s", type(spawner).__name__, trait, name)

    async def _wait_for_cluster(self, spawner, account, password):
        """Hold the spawn until the person's own cluster answers, telling them on the spawn
        page what it is waiting for."""
        progress = _ClusterProgress(spawner)
        try:
            await self.accounts.provisioner.wait_ready(account, password, progress.add)
        except ProvisioningError as e:
            self.log.error("The Flux cluster of %s is not ready: %s", spawner.user.name, e)
            raise RuntimeError(f"Your Flux cluster is not ready: {e}") from None
        finally:
            progress.finish()


def _merged(current, value):
    """A list setting (KubeSpawner's volumes, volume_mounts) keeps what the deployment already
    has (z2jh's extraVolumes, extraVolumeMounts) beside flux-hub's items, minus those flux-hub's
    replace (same name, or same mountPath); anything else is flux-hub's value."""
    if not (isinstance(value, list) and isinstance(current, (list, dict)) and current):
        return value
    items = list(current.values()) if isinstance(current, dict) else list(current)
    names = {item.get("name") for item in value if isinstance(item, dict)} - {None}
    paths = {item.get("mountPath") for item in value if isinstance(item, dict)} - {None}
    kept = [
        item
        for item in items
        if not (
            isinstance(item, dict) and (item.get("name") in names or item.get("mountPath") in paths)
        )
    ]
    return kept + value


class _ClusterProgress:
    """The wait's messages as spawn progress events, for any spawner.

    JupyterHub's progress API (the spawn page) reads ``spawner.progress()``; for this spawn it
    is wrapped so that the wait's messages come first, then the spawner's own events.
    """

    def __init__(self, spawner):
        self.spawner = spawner
        self.events = []
        self.finished = False
        self._changed = asyncio.Event()
        self._original = spawner.progress
        spawner.progress = self.progress

    def add(self, message):
        self.events.append({"progress": min(10 + 5 * len(self.events), 50), "message": message})
        self._wake()

    def _wake(self):
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def finish(self):
        self.finished = True
        self._wake()
        self.spawner.__dict__.pop("progress", None)

    async def progress(self):
        seen = 0
        while True:
            changed = self._changed
            while seen < len(self.events):
                yield self.events[seen]
                seen += 1
            if self.finished:
                break
            await changed.wait()
        async for event in self._original():
            yield event


def _current(accounts, name, record):
    """True: the account works; None: it is to stay as it is; False: add_user must make it.

    None is a per-user MiniCluster that was removed (idle, or by an admin): JupyterHub calls
    add_user for every user at every start, and that must not bring such clusters back; the
    person's next spawn does.
    """
    try:
        if accounts.is_current(name, record):
            return True
    except ValueError:
        return False  # a name the mapping refuses: ensure() reports why
    if accounts.provisioner.waits_for_cluster and record and record.state == DEACTIVATED:
        return None
    return False


class FluxAuthenticator(FluxAccountsMixin, Authenticator):
    """People log in with the user name and password of their MiniCluster account.

    The password is checked by the flux-restful server itself (one token request). Accounts
    the hub adds (admin page, allowed_users) are created with a new password, which admins can
    read on the accounts page and which ``announce_passwords_to`` can print seed-style.

    Who may log in: anyone with an account on the MiniCluster, unless ``allowed_users`` (or
    ``allow_existing_users``) is set; then only those people and the hub's existing users, as
    with any JupyterHub authenticator (``allow_all = True`` lets every account in again).
    """

    flux_login_with_account_password = True

    announce_passwords_to = List(
        Unicode(),
        config=True,
        help="""Where to print new accounts' passwords, seed-style.

        ``Adding 'alice' with password '...'`` goes to the first of these files that can be
        opened for appending: e.g. ``["/dev/tty", "/srv/flux-hub/new-passwords.txt"]`` prints
        on the terminal the hub was started from, and otherwise into a file created mode
        0600. Never to the log. Empty (default): admins read them on the accounts page.

        A file keeps each line only until that person first logs in (or is deleted): the
        line is then removed, and the file with its last line. A password nobody has used
        yet stays there; admins can also read it on the accounts page.
        """,
    )

    @validate("announce_passwords_to")
    def _valid_announce_passwords_to(self, proposal):
        if not all(path.strip() for path in proposal.value):
            raise refuse(self, proposal, "list file paths (none of them empty)")
        return proposal.value

    @default("allow_all")
    def _allow_all_default(self):
        # Without other allow settings the MiniCluster's accounts are the allow list: a person
        # without one cannot log in. With them (allowed_users, allowed_groups of a subclass,
        # allow_existing_users) only those people may, as with any JupyterHub authenticator.
        configured = (
            self.allowed_users or getattr(self, "allowed_groups", None) or self.allow_existing_users
        )
        return not configured

    async def authenticate(self, handler, data):
        from flux_hub.restful import (
            AsyncFluxRestfulClient,
            AuthenticationFailed,
            ClusterUnavailable,
            FluxRestfulError,
        )

        name = self.normalize_username((data or {}).get("username") or "")
        password = (data or {}).get("password") or ""
        if not name or not password:
            return None
        try:
            account = self.accounts.account_for(name)
        except ValueError as e:
            self.log.warning("Refusing login for %r: %s", name, e)
            return None
        provisioner = self.accounts.provisioner
        try:  # a Kubernetes provisioner finds them on first use: API calls, off the loop
            url, secret_key = await asyncio.to_thread(
                lambda: (provisioner.cluster_url, provisioner.secret_key)
            )
        except ProvisioningError as e:
            self.log.error("Cannot find the Flux cluster for logins: %s", e)
            raise web.HTTPError(503, f"The Flux cluster cannot be found: {e}") from None
        client = AsyncFluxRestfulClient(url or None, account, password, secret_key or None)
        try:
            await client.login()
        except AuthenticationFailed:
            self.log.warning("Flux login failed for %s (account %s)", name, account)
            return None
        except ClusterUnavailable as e:
            raise web.HTTPError(503, f"The Flux cluster cannot be reached: {e}") from None
        except FluxRestfulError as e:
            raise web.HTTPError(502, f"The Flux cluster refused the login: {e}") from None
        finally:
            await client.close()
        await asyncio.to_thread(self.accounts.remember_password, name, account, password)
        await asyncio.to_thread(self._unannounce, account)
        return {"name": name}

    async def delete_user(self, user):
        await super().delete_user(user)
        try:
            account = self.accounts.account_for(user.name)
        except ValueError:
            return
        await asyncio.to_thread(self._unannounce, account)

    def _provision(self, names):
        outcomes = self.accounts.ensure(names)
        self._announce([o for o in outcomes if o.password])
        return outcomes

    _announced_lock = threading.Lock()  # the file's lines are rewritten in threads

    def _unannounce(self, account):
        """Remove ``account``'s lines from the files passwords were announced to (once its
        person has logged in, the password is theirs: no copy stays in a file)."""
        start = f"Adding '{account}' with password '"
        with self._announced_lock:
            for path in self.announce_passwords_to:
                try:
                    if not stat.S_ISREG(os.stat(path).st_mode):
                        continue  # a terminal
                    with open(path) as f:
                        lines = f.readlines()
                except OSError:
                    continue
                kept = [line for line in lines if not line.startswith(start)]
                if len(kept) == len(lines):
                    continue
                try:
                    if kept:
                        fileutil.replace(path, "".join(kept))
                    else:
                        os.unlink(path)
                except OSError as e:
                    self.log.warning("Could not remove a used password from %s: %s", path, e)

    def _announce(self, outcomes):
        if not outcomes or not self.announce_passwords_to:
            return
        with self._announced_lock:
            self._announce_locked(outcomes)

    def _announce_locked(self, outcomes):
        lines = "".join(f"Adding '{o.account}' with password '{o.password}'\n" for o in outcomes)
        for path in self.announce_passwords_to:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError:
                continue
            with os.fdopen(fd, "a") as out:
                out.write(lines)
            self.log.info("New Flux account passwords were printed to %s", path)
            return
        self.log.warning(
            "Could not print new Flux account passwords to any of %s", self.announce_passwords_to
        )


def with_flux_accounts(authenticator_class):
    """Give ``authenticator_class``'s users provisioned MiniCluster accounts.

    ``c.JupyterHub.authenticator_class = with_flux_accounts("shared-password")`` (an entry
    point name, an import string, or a class), like LocalAuthenticator does for system users.
    """
    if isinstance(authenticator_class, str):
        from jupyterhub.app import JupyterHub

        trait = JupyterHub.class_traits()["authenticator_class"]
        authenticator_class = trait.validate(None, authenticator_class)
    if issubclass(authenticator_class, FluxAccountsMixin):
        return authenticator_class
    return type(
        f"Flux{authenticator_class.__name__}",
        (FluxAccountsMixin, authenticator_class),
        {"__module__": __name__, "__doc__": authenticator_class.__doc__},
    )
