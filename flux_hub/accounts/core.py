"""The accounts core: one place that maps hub users to MiniCluster accounts and keeps them.

Used by the authenticator (inside the hub) and by the accounts service (its own process); both
configure it with the same ``c.FluxAccounts`` / ``c.<Provisioner>`` settings. Every method is
batch and blocking (a provisioner runs a process); callers on an event loop use an executor.

Cost model: a hub user whose record says "active" costs one sqlite read and nothing else; only
users that need work go to the provisioner, all of them in one call.
"""

import time
from dataclasses import dataclass, field

from traitlets import Bool, Callable, Instance, Set, Type, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from flux_hub.config_checks import not_empty
from flux_hub.provision import new_password

from .naming import AccountNamer
from .provisioner import EnsureOp, LocalProvisioner, OpResult, Provisioner, ProvisioningError
from .status import AccountState, Status
from .store import ACTIVE, DEACTIVATED, FAILED, CredentialStore, Record

MISSING = AccountState.MISSING


def _made_by_flux_hub(record):
    """Whether flux-hub made (or adopted) the record's account: it was active once. A record of
    a failed first attempt is not enough."""
    return record is not None and record.provisioned_at is not None


@dataclass
class Outcome:
    """What happened to one hub user's account. ``password`` is set only when a password was
    newly made valid (a new account, a rotation) so that it can be handed on once."""

    hub_user: str
    account: str | None
    status: Status
    error: str | None = None
    password: str | None = field(default=None, repr=False)
    # The account exists on the cluster and flux-hub did not make it: refused, nothing changed.
    not_ours: bool = False

    def __post_init__(self):
        self.status = Status(self.status)

    @property
    def ok(self):
        """Whether the account is as asked (``status`` is not error)."""
        return self.status != Status.ERROR


@dataclass
class AccountRow:
    """One line of the admin overview (no secrets)."""

    hub_user: str
    account: str | None
    state: AccountState
    error: str | None = None
    provisioned_at: float | None = None
    password_known: bool = False
    managed: bool = True  # flux-hub has a record for it (made it, or learned its password)

    def __post_init__(self):
        self.state = AccountState(self.state)


class FluxAccounts(LoggingConfigurable):
    """Hub users' MiniCluster accounts: naming, credentials, provisioning."""

    provisioner_class = Type(
        LocalProvisioner,
        klass=Provisioner,
        config=True,
        help="""The Provisioner for the cluster (LocalProvisioner for a local MiniCluster).""",
    )

    provisioner = Instance(Provisioner)

    @default("provisioner")
    def _provisioner_default(self):
        return self.provisioner_class(parent=self)

    store_path = Unicode(
        "flux-hub-accounts.sqlite",
        config=True,
        help="""Where account records and encrypted passwords are kept (a sqlite file).

        Relative paths are taken from the hub's working directory, like jupyterhub.sqlite.
        The accounts service must see the same file.
        """,
    )

    account_name = Callable(
        None,
        allow_none=True,
        config=True,
        help="""A callable hub_username -> account name, replacing the default mapping.

        Its answers must be valid POSIX-style user names (lower case, a letter first, at most
        32 characters) and may not be reserved names; a bad answer is a clear error. The default
        keeps names that already are valid and appends a short hash to all others.
        """,
    )

    reserved_names = Set(
        Unicode(),
        config=True,
        help="""Account names no hub user may get, besides the built-in system names (root,
        daemon, ...) and the provisioner's superusers.""",
    )

    login_with_account_password = Bool(
        False,
        config=True,
        help="""Whether people log in to the hub with their account's password.

        Set by the authenticator, not by hand: True for FluxAuthenticator (MiniCluster
        credentials), False for provisioned accounts. When True, an existing account flux-hub
        never managed keeps the password its owner knows (flux-hub learns it at their next
        login), and admins may read a new account's password on the accounts page to hand it
        on. When False, flux-hub sets the password of every account it provisions and nobody
        ever needs to see it.
        """,
    )

    adopt_accounts = Set(
        Unicode(),
        config=True,
        help="""Accounts that exist on the cluster, were not made by flux-hub, and that it may
        take over: the hub user they map to gets the account, flux-hub sets a new password
        (whoever used it before can no longer log in) and its jobs become that person's.

        Without this, flux-hub refuses such an account when it provisions accounts itself
        (not with FluxAuthenticator, whose people prove they own their account by logging in
        with its password): the login or the admin's add-user fails with "account NAME exists
        on the cluster and was not made by flux-hub", and nothing on the cluster changes.
        """,
    )

    cancel_jobs_on_deactivate = Bool(
        True,
        config=True,
        help="""Cancel an account's running jobs when it is deactivated (e.g. its hub user
        is deleted). Needs the account's password to be known to flux-hub.""",
    )

    @validate("store_path")
    def _valid_store_path(self, proposal):
        return not_empty(self, proposal)

    _store = None
    _namer = None

    @property
    def store(self):
        """The CredentialStore at store_path, opened on first use (CryptKeyMissing: no key)."""
        if self._store is None:
            self._store = CredentialStore(self.store_path)
        return self._store

    @property
    def namer(self):
        """The AccountNamer: account_name or the default mapping, never a reserved name."""
        if self._namer is None:
            reserved = set(self.reserved_names) | set(self.provisioner.superusers)
            self._namer = AccountNamer(self.account_name, reserved)
        return self._namer

    def account_for(self, hub_user):
        """The account name of a hub user (raises ValueError with a readable message)."""
        return self.namer(hub_user)

    def record(self, hub_user):
        """The hub user's stored Record, or None."""
        return self.store.get(hub_user)

    def records(self):
        """Every stored Record, keyed by hub user."""
        return self.store.all()

    def is_current(self, hub_user, record):
        """True when ``record`` says this hub user's account is provisioned and active."""
        return (
            record is not None
            and record.state == ACTIVE
            and record.account == self.account_for(hub_user)
        )

    def ensure(self, hub_users, *, force=False, rotate=False):
        """Make each hub user's account exist and work. One provisioner call for all of them.

        Users whose record is current are left alone unless ``force`` (re-provision with the
        known password) or ``rotate`` (a new password). Returns one Outcome per distinct user.
        """
        with self.store.exclusive():
            return self._ensure(hub_users, force, rotate)

    def _ensure(self, hub_users, force, rotate):
        outcomes = {}
        ops, plans = self._plan(hub_users, force, rotate, outcomes)
        try:
            results, failure = self.provisioner.ensure(ops), None
        except ProvisioningError as e:
            results, failure = [None] * len(ops), str(e)
        now = time.time()
        changed, undo = [], []
        for plan, op, result in zip(plans, ops, results, strict=True):
            hub_user, record, _ = plan
            if self._found_foreign(op, record, result):
                outcomes[hub_user] = self._not_ours(hub_user, op.name)
                if result.status == Status.REACTIVATED:
                    undo.append(op.name)
                continue
            record, outcome = self._settle(plan, op, result, failure, now)
            outcomes[outcome.hub_user] = outcome
            if record is not None:
                changed.append(record)
        self.store.save(changed)
        self._deactivate_again(undo)
        # The probe made their Unix accounts before it found the cluster's: none may be used
        refused = [o.account for o in outcomes.values() if o.not_ours]
        if refused:
            self.provisioner.forget_host_accounts(refused)
        self._log(outcomes.values())
        return [outcomes[u] for u in dict.fromkeys(hub_users)]

    def _plan(self, hub_users, force, rotate, outcomes):
        """What the provisioner must do: (ops, plans), one (hub_user, record, known password)
        plan per op. Users that need nothing, or cannot have an account, go in ``outcomes``."""
        records = self.store.all()
        owners = {r.account: r.hub_user for r in records.values()}
        ops, plans = [], []
        for hub_user in dict.fromkeys(hub_users):
            try:
                account = self.account_for(hub_user)
            except ValueError as e:
                outcomes[hub_user] = Outcome(hub_user, None, Status.ERROR, str(e))
                continue
            if owners.get(account, hub_user) != hub_user:
                outcomes[hub_user] = Outcome(
                    hub_user,
                    account,
                    Status.ERROR,
                    f"Account name {account!r} already belongs to hub user "
                    f"{owners[account]!r}; check the account name mapping.",
                )
                continue
            record = records.get(hub_user)
            if record and record.account != account:
                record = None  # the mapping changed: the old account is not this user's now
            if not (force or rotate) and self.is_current(hub_user, record):
                outcomes[hub_user] = Outcome(hub_user, account, Status.EXISTS)
                continue
            known = None if rotate else self.store.password(record)
            if known:
                op = EnsureOp(account, known, reset_password=True)
            elif self._may_be_foreign(account, record):
                # Created with this password if it does not exist; an existing account is
                # left as it is (see _settle) and refused.
                op = EnsureOp(account, new_password(), reset_password=False)
            else:
                # Keep a pre-existing account's password only when flux-hub never managed it
                # and its owner logs in with it.
                reset = rotate or record is not None or not self.login_with_account_password
                op = EnsureOp(account, new_password(), reset_password=reset, rotate=rotate)
            ops.append(op)
            plans.append((hub_user, record, known))
            owners[account] = hub_user
        return ops, plans

    def _may_be_foreign(self, account, record):
        """Whether provisioning must first find out if ``account`` is someone else's: flux-hub
        sets passwords itself, has never made this account, and no admin adopted it."""
        return (
            not self.login_with_account_password
            and not self.provisioner.waits_for_cluster  # a person's own cluster: theirs
            and not _made_by_flux_hub(record)
            and account not in self.adopt_accounts
        )

    def _not_ours(self, hub_user, account):
        return Outcome(
            hub_user,
            account,
            Status.ERROR,
            f"account {account!r} exists on the cluster and was not made by flux-hub; an admin "
            f"must remove it from the cluster, or let flux-hub adopt it for hub user "
            f"{hub_user!r} (its password is replaced and its jobs become theirs) with "
            f"c.FluxAccounts.adopt_accounts = {{{account!r}}}",
            not_ours=True,
        )

    def _found_foreign(self, op, record, result):
        """Whether a probe (an op of _may_be_foreign) found an account that existed already."""
        return (
            result is not None
            and result.ok
            and not result.superuser  # refused as a superuser by _settle
            and not op.reset_password
            and result.status != Status.CREATED
            and self._may_be_foreign(op.name, record)
        )

    def _deactivate_again(self, names):
        """The probe made these deactivated accounts (not flux-hub's) active: undo that."""
        if not names:
            return
        try:
            self.provisioner.deactivate(names)
        except ProvisioningError as e:
            self.log.error("Could not deactivate %s again: %s", ", ".join(names), e)

    def _settle(self, plan, op, result, failure, now):
        """One op's result: (the Record to save or None, the Outcome)."""
        hub_user, record, known = plan
        if result is not None and result.ok and result.superuser:
            # An existing superuser the mapping did not know about: never hand it out.
            result = OpResult(
                "ensure",
                op.name,
                Status.ERROR,
                f"{op.name!r} is a superuser account on the cluster; flux-hub will not give "
                f"it to hub user {hub_user!r}. Add it to the provisioner's superusers.",
            )
        if result is None or not result.ok:
            error = failure if result is None else result.error
            outcome = Outcome(hub_user, op.name, Status.ERROR, error)
            if record and record.state == ACTIVE:
                # An active account keeps working with its old password.
                return None, outcome
            # Anything else is recorded as failed so the admin page shows why.
            failed = Record(
                hub_user,
                op.name,
                FAILED,
                record.secret if record else None,
                error,
                record.provisioned_at if record else None,
            )
            return failed, outcome
        password = result.password or op.password
        valid = op.reset_password or result.status == Status.CREATED or bool(result.password)
        secret = self.store.encrypt(password) if valid else None
        if not valid and record is not None:
            secret = record.secret
        fresh = valid and not known
        active = Record(
            hub_user,
            op.name,
            ACTIVE,
            secret,
            None,
            now if valid or record is None else record.provisioned_at,
        )
        return active, Outcome(
            hub_user, op.name, result.status, password=password if fresh else None
        )

    def _log(self, outcomes):
        for outcome in outcomes:
            if outcome.not_ours:
                self.log.warning("Hub user %s: %s", outcome.hub_user, outcome.error)
            elif not outcome.status.quiet:
                self.log.info(
                    "Flux account %s for hub user %s: %s%s",
                    outcome.account,
                    outcome.hub_user,
                    outcome.status,
                    f" ({outcome.error})" if outcome.error else "",
                )

    def deactivate(self, hub_users, *, cancel_jobs=None, forget=False):
        """Deactivate hub users' accounts: their logins and tokens stop working.

        ``cancel_jobs`` (default: cancel_jobs_on_deactivate) first cancels their running jobs
        with their own credentials. ``forget`` drops the stored password (hub user deleted).
        """
        if cancel_jobs is None:
            cancel_jobs = self.cancel_jobs_on_deactivate
        with self.store.exclusive():
            return self._deactivate(hub_users, cancel_jobs, forget)

    def _deactivate(self, hub_users, cancel_jobs, forget):
        records = self.store.all()
        outcomes, targets = {}, []
        failure = None
        for hub_user in dict.fromkeys(hub_users):
            record = records.get(hub_user)
            try:
                account = record.account if record else self.account_for(hub_user)
            except ValueError as e:
                outcomes[hub_user] = Outcome(hub_user, None, Status.ERROR, str(e))
                continue
            if self._may_be_foreign(account, record):
                # flux-hub never made this account: whatever it is, it is not flux-hub's to end
                outcomes[hub_user] = Outcome(hub_user, account, Status.UNCHANGED)
                continue
            targets.append((hub_user, account, record))
            if cancel_jobs and record and record.state == ACTIVE:
                self._cancel_jobs(account, self.store.password(record))

        try:
            results = self.provisioner.deactivate([account for _, account, _ in targets])
        except ProvisioningError as e:
            results = [None] * len(targets)
            failure = str(e)
        changed = []
        for (hub_user, account, record), result in zip(targets, results, strict=True):
            if result is None or not result.ok:
                error = failure if result is None else result.error
                outcomes[hub_user] = Outcome(hub_user, account, Status.ERROR, error)
                continue
            outcomes[hub_user] = Outcome(hub_user, account, result.status)
            secret = None if forget or record is None else record.secret
            changed.append(
                Record(
                    hub_user,
                    account,
                    DEACTIVATED,
                    secret,
                    None,
                    record.provisioned_at if record else None,
                )
            )
            self.log.info("Flux account %s for hub user %s: %s", account, hub_user, result.status)
        self.store.save(changed)
        if forget and changed:
            self.provisioner.forget_host_accounts([record.account for record in changed])
        return [outcomes[u] for u in dict.fromkeys(hub_users)]

    def _cancel_jobs(self, account, password):
        if not password:
            self.log.warning("Cannot cancel the jobs of %s: its password is not known.", account)
            return
        from flux_hub.restful import FluxRestfulClient, FluxRestfulError

        url, secret_key = self.provisioner.endpoint(account)
        client = FluxRestfulClient(url or None, account, password, secret_key or None)
        try:
            for job in client.jobs():
                if job.get("state") != "INACTIVE":
                    client.cancel(job["id"])
        except FluxRestfulError as e:
            self.log.warning("Could not cancel all jobs of %s: %s", account, e)
        finally:
            client.close()

    def remember_password(self, hub_user, account, password):
        """Store a password that was just proven to work (the credentials login)."""
        with self.store.exclusive():
            self._remember_password(hub_user, account, password)

    def _remember_password(self, hub_user, account, password):
        record = self.store.get(hub_user)
        if record and record.account == account and record.state == ACTIVE:
            if self.store.password(record) == password:
                return
        self.store.save(
            [
                Record(
                    hub_user,
                    account,
                    ACTIVE,
                    self.store.encrypt(password),
                    None,
                    record.provisioned_at if record else time.time(),
                )
            ]
        )

    def credentials(self, hub_user, record=None):
        """The FLUX_* environment for a hub user's server, or None without a working account."""
        record = record or self.store.get(hub_user)
        password = self.store.password(record) if record and record.state == ACTIVE else None
        if not password:
            return None
        url, secret_key = self.provisioner.server_endpoint(record.account)
        env = {"FLUX_RESTFUL_HOST": url, "FLUX_USER": record.account, "FLUX_TOKEN": password}
        if secret_key:
            env["FLUX_SECRET_KEY"] = secret_key
        mode = self.provisioner.server_mode(record.account)
        if mode:
            env["FLUX_SERVER_MODE"] = mode
        return {**self.provisioner.lab_environment(record.account, hub_user), **env}

    def overview(self, hub_users):
        """Each hub user's account and its state as the cluster sees it now (one list call)."""
        cluster = {a.name: a for a in self.provisioner.list()}
        records = self.store.all()
        rows = []
        for hub_user in hub_users:
            record = records.get(hub_user)
            try:
                account = record.account if record else self.account_for(hub_user)
            except ValueError as e:
                rows.append(AccountRow(hub_user, None, FAILED, str(e)))
                continue
            found = cluster.get(account)
            if record and record.state == FAILED:
                state = FAILED
            elif found is None:
                state = MISSING
            else:
                state = ACTIVE if found.active else DEACTIVATED
            rows.append(
                AccountRow(
                    hub_user,
                    account,
                    state,
                    record.error if record else None,
                    record.provisioned_at if record else None,
                    bool(record and record.has_password and state == ACTIVE),
                    managed=record is not None,
                )
            )
        return rows

    def reconcile(self, hub_users):
        """Bring accounts in line with the hub's users; returns the Outcomes of what changed.

        Every hub user gets a working account except those an admin deactivated on purpose
        (kept deactivated); accounts flux-hub made for users the hub no longer has are
        deactivated. Accounts flux-hub never made and no hub user maps to are left alone.
        """
        hub_users = list(dict.fromkeys(hub_users))
        records = self.store.all()
        cluster = {a.name: a for a in self.provisioner.list()}
        provision, redeactivate = [], []
        for hub_user in hub_users:
            record = records.get(hub_user)
            try:
                account = self.account_for(hub_user)
            except ValueError:
                provision.append(hub_user)  # ensure() reports the mapping error
                continue
            found = cluster.get(account)
            if record and record.state == DEACTIVATED and record.account == account:
                if found is not None and found.active:
                    redeactivate.append(hub_user)
            elif not (self.is_current(hub_user, record) and found is not None and found.active):
                provision.append(hub_user)
        hub_set = set(hub_users)
        gone = [u for u, r in records.items() if u not in hub_set and r.state == ACTIVE]
        changes = self._sync_hosts(hub_users, records, set(provision) | set(redeactivate))
        if provision:
            changes += self.ensure(provision, force=True)
        if redeactivate:
            changes += self.deactivate(redeactivate, cancel_jobs=False)
        if gone:
            changes += self.deactivate(gone, forget=True)
        return [c for c in changes if not c.status.quiet]

    def _sync_hosts(self, hub_users, records, changing):
        """Accounts that stay as they are may still need their host side restored."""
        current = {
            records[u].account: u
            for u in hub_users
            if u not in changing and u in records and records[u].state == ACTIVE
        }
        failures = self.provisioner.sync_host_accounts(sorted(current)) if current else {}
        return [Outcome(current[a], a, Status.ERROR, error) for a, error in failures.items()]
