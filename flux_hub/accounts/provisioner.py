"""Provisioners: create, update, deactivate and list accounts on one MiniCluster.

``Provisioner`` is the interface the accounts core uses; a provisioner that gives each person a
cluster of their own (``waits_for_cluster``) also has what ``ClusterPerPerson`` declares, which
the hub's spawn and the accounts service's pages use. ``DBScriptProvisioner`` implements it
with the DB script (``flux_hub/provision/dbscript.py``): one JSON request on stdin, one JSON
answer on stdout, ONE process for a whole batch. Subclasses only say how to run that script:
``LocalProvisioner`` runs it next to a flux-restful server on this machine; a Kubernetes
provisioner runs the same source with ``python3 -c SRC`` through ``pods/exec`` in the
MiniCluster's flux-restful container (and may add Linux users on every pod in multi-user mode
by overriding ``ensure``).
"""

import inspect
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from traitlets import Bool, Enum, Float, List, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from flux_hub.config_checks import (
    absolute_path,
    not_empty,
    positive_seconds,
    url_or_empty,
    user_names,
)
from flux_hub.provision import DBScriptRunError, dbscript_request, ensure_op, run_dbscript
from flux_hub.redact import redact

from .status import Status

if TYPE_CHECKING:  # (no import at run time: kubernetes imports accounts, not the other way)
    from flux_hub.kubernetes.percluster.settings import ClusterSettings, ClusterState


class ProvisioningError(RuntimeError):
    """The provisioner could not run or answered nonsense. The message names the cluster."""


@dataclass
class EnsureOp:
    """Create or update one account. ``password`` is only ever sent on stdin."""

    name: str
    password: str = field(repr=False)
    reset_password: bool = False
    superuser: bool = False
    # A rotation was asked for: a provisioner that otherwise keeps an existing account's own
    # password (a per-user MiniCluster adopts its Secret's) replaces it with ``password``.
    rotate: bool = False


@dataclass
class OpResult:
    """One account's answer from the provisioner. ``status``: for ensure created, unchanged,
    reactivated or password-set; for deactivate deactivated or missing; error for either."""

    op: str
    name: str
    status: Status
    error: str | None = None
    superuser: bool = False  # ensure: the account is (still) a superuser on the cluster
    # ensure: the password the account has when the provisioner, not the op, decided it (a
    # per-user MiniCluster that already exists keeps the password in its Secret).
    password: str | None = field(default=None, repr=False)

    def __post_init__(self):
        self.status = Status(self.status)  # ValueError for a status flux-hub does not know

    @property
    def ok(self):
        """Whether the operation succeeded."""
        return self.status != Status.ERROR


@dataclass
class ClusterAccount:
    """An account as the cluster lists it."""

    name: str
    active: bool
    superuser: bool


class Provisioner(LoggingConfigurable):
    """What the accounts core needs from a cluster. All methods are batch and blocking.

    Making one does nothing else: no process, no thread, no request. What it finds out or
    starts (a Kubernetes provisioner's discovery and port-forward relay) begins at first use,
    or at ``start()``, which the process that uses it calls once (the hub's authenticator, the
    accounts service).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.waits_for_cluster:
            problems = per_person_problems(cls)
            if problems:
                raise TypeError(
                    f"{cls.__name__} waits for a cluster of each person's own "
                    f"(waits_for_cluster) but {problems}: see ClusterPerPerson"
                )

    def start(self):
        """Begin what must run from the start of the process that uses this provisioner (once,
        before it serves anyone; a ProvisioningError says why it cannot). Nothing by default;
        KubernetesProvisioner starts a relay with a fixed port here."""

    cluster_url = Unicode(
        config=True,
        help="""URL of the flux-restful server as the hub (and the accounts service) reach it.

        Also handed to each user's server as FLUX_RESTFUL_HOST unless user_cluster_url is
        set. Defaults to $FLUX_RESTFUL_HOST.
        """,
    )

    @default("cluster_url")
    def _cluster_url_default(self):
        return os.environ.get("FLUX_RESTFUL_HOST", "")

    user_cluster_url = Unicode(
        config=True,
        help="""URL of the flux-restful server as single-user servers reach it.

        Handed to each user's server as FLUX_RESTFUL_HOST. Defaults to cluster_url. Set it
        when the hub reaches the server another way than the users' servers do: e.g. a hub
        outside the cluster going through a port-forward, with servers that cannot reach the
        hub's local relay (see examples/kubernetes/README.md).
        """,
    )

    @default("user_cluster_url")
    def _user_cluster_url_default(self):
        return self.cluster_url

    secret_key = Unicode(
        config=True,
        help="""The flux-restful server's shared secret (FLUX_SECRET_KEY) for the token handshake.

        Handed to each user's server as FLUX_SECRET_KEY, as the Flux Operator documents for
        flux-restful-cli. Defaults to $FLUX_SECRET_KEY; empty means clients log in with the
        password form instead.
        """,
    )

    @default("secret_key")
    def _secret_key_default(self):
        return os.environ.get("FLUX_SECRET_KEY", "")

    superusers = List(
        Unicode(),
        config=True,
        help="""Names of the cluster's superuser accounts.

        No hub user is ever mapped onto one of these names, whatever the mapping.
        """,
    )

    @validate("cluster_url", "user_cluster_url")
    def _valid_url(self, proposal):
        return url_or_empty(self, proposal)

    @validate("superusers")
    def _valid_superusers(self, proposal):
        return user_names(self, proposal)

    def describe(self):
        """A short name for this cluster in messages (never a secret)."""
        return self.cluster_url or type(self).__name__

    def serves_legacy(self):
        """Whether the cluster is known to run the legacy flux-restful-api (which keeps no
        user apart: see flux_hub.restful.LEGACY_WARNING). Cheap: from settings, or from what
        was found out already; False when not known."""
        return False

    def ensure(self, ops):
        """Create or update accounts (list of EnsureOp) -> list of OpResult, same order."""
        raise NotImplementedError

    def deactivate(self, names):
        """Deactivate accounts -> list of OpResult (status deactivated or missing)."""
        raise NotImplementedError

    def list(self):
        """Every account on the cluster -> list of ClusterAccount."""
        raise NotImplementedError

    def endpoint(self, account):
        """(URL, shared secret) of the flux-restful server that ``account`` lives on.

        One cluster for everyone by default; a provisioner with a cluster per user answers
        per account."""
        return self.cluster_url, self.secret_key

    def server_endpoint(self, account):
        """(URL, shared secret) that ``account``'s single-user server is given: the same
        server as endpoint(), as the servers reach it (user_cluster_url)."""
        return self.user_cluster_url, self.secret_key

    flux_server_mode = Enum(
        ["", "single-user", "multi-user"],
        "",
        config=True,
        help="""How the cluster's flux-restful runs (its FLUX_SERVER_MODE), handed to each
        user's server as FLUX_SERVER_MODE. In multi-user mode flux-restful lists only the
        caller's jobs, and the panel's refresh reads that listing when it costs less than one
        lookup per active job. Empty: not known (the Kubernetes provisioner reads it from the
        MiniCluster; the local cluster sets it).""",
    )

    def server_mode(self, account):
        """How ``account``'s flux-restful runs ("single-user" or "multi-user"), handed to the
        single-user server; None when not known."""
        return self.flux_server_mode or None

    def reader_credentials(self):
        """How the hub's reader (flux_hub/reader) reads the whole cluster: a ReaderCredentials
        (URL as the hub reaches it, a superuser's name and password, the shared secret), or
        None when this cluster has no reader: per-person clusters (each serves one person, so a
        reader would add requests instead of saving them), the legacy server (no guard, no
        snapshot), or no superuser known. None by default. ProvisioningError: there is one,
        but its credentials cannot be had right now (asked again later)."""
        return None

    def lab_environment(self, account, hub_user):
        """More environment for ``account``'s single-user server (and so its kernels and
        terminals), merged into FluxAccounts.credentials(): on Kubernetes ``FLUX_HUB_PATHS``,
        how the lab's paths map to the cluster's (flux_hub/paths.py). Nothing by default: on
        one machine both see one filesystem."""
        return {}

    def spawner_overrides(self, account, hub_user):
        """Spawner trait values for ``account``'s single-user server ({trait: value}), set by
        the authenticator before it starts, on a spawner that has that trait (KubeSpawner's
        ``uid``, ``volumes``, ``volume_mounts``). Nothing by default."""
        return {}

    # Whether each person has a cluster of their own, which a spawn waits for. Such a
    # provisioner also has everything ClusterPerPerson declares (checked when its class is
    # made). The shared cluster is expected to be up: nothing to wait for.
    waits_for_cluster = False

    def ensure_host_accounts(self, names):
        """Make what the accounts need outside the DB (Unix accounts where jobs run as their
        owners) -> {name: error} of the failures. Nothing by default: the DB row is the whole
        account. Called before the DB rows are written, so an account whose Unix side failed
        is never half-made."""
        return {}

    def forget_host_accounts(self, names):
        """The accounts' hub users are gone: end what they left running outside the DB (their
        files stay). Nothing by default."""

    def sync_host_accounts(self, names):
        """Restore what existing accounts need outside the DB (on Kubernetes in multi-user
        mode: their Linux users on a replaced pod) -> {name: error} of the failures."""
        return self.ensure_host_accounts(list(names)) if names else {}


@runtime_checkable
class ClusterPerPerson(Protocol):
    """What a provisioner that gives each person a cluster of their own has besides
    Provisioner's methods (flux_hub.kubernetes.MiniClusterPerUserProvisioner). Its users: the
    hub's spawn (wait_ready), the accounts service's pages and API of a person's cluster
    (cluster_state, url_of, settings, defaults, idle_timeout, set_settings) and its idle check
    (idle_timeout, active_jobs). ``account`` is the person's account name on their cluster."""

    waits_for_cluster: bool  # True
    idle_timeout: float  # seconds idle before the cluster is removed; 0: never

    async def wait_ready(self, account: str, password: str, report: Callable[[str], None]) -> None:
        """Return once the person's cluster takes their login, calling ``report`` with each
        new step of the wait (a line they read); ProvisioningError when it will not be."""

    def cluster_state(self, account: str) -> "ClusterState":
        """The person's cluster as it is now (absent, starting, running, foreign), no secret."""

    def url_of(self, account: str) -> str:
        """The URL of the person's cluster (no request made)."""

    def settings(self, account: str) -> "ClusterSettings":
        """The person's own settings of their cluster (a field None: the default)."""

    def set_settings(self, account: str, settings: "ClusterSettings") -> None:
        """Keep the person's settings (checked first: ValueError); they apply when their
        cluster is next made."""

    def defaults(self) -> "ClusterSettings":
        """The configured settings every cluster gets unless its person's say otherwise."""

    def active_jobs(self, account: str, password: str) -> int:
        """How many of the person's jobs are not finished, as their cluster says."""


# Every name ClusterPerPerson declares: its two attributes, then its methods
PER_PERSON_MEMBERS = (
    *ClusterPerPerson.__annotations__,
    *sorted(
        name
        for name, value in vars(ClusterPerPerson).items()
        if inspect.isfunction(value) and not name.startswith("_")
    ),
)


def per_person_problems(cls):
    """What ``cls`` (a provisioner class) lacks of ClusterPerPerson, as words; "" if nothing."""
    missing = [name for name in PER_PERSON_MEMBERS if not hasattr(cls, name)]
    if missing:
        return "has no " + ", ".join(missing)
    if not inspect.iscoroutinefunction(cls.wait_ready):
        return "its wait_ready is not a coroutine function (async def)"
    return ""


class DBScriptProvisioner(Provisioner):
    """A provisioner that drives the DB script; subclasses implement ``run_script``."""

    runs = 0  # how many times the script ran (one per batch): tests and bench read it

    def run_script(self, request):
        """Run the DB script once with ``request`` (a JSON line) on stdin; return its stdout."""
        raise NotImplementedError

    def ensure(self, ops):
        """Host accounts first (ensure_host_accounts), then one script run for the rest; an
        account whose host side failed is an error result and gets no DB row."""
        if not ops:
            return []
        failed = self.ensure_host_accounts([op.name for op in ops])
        for name, error in failed.items():
            self.log.warning("No host account for %s on %s: %s", name, self.describe(), error)
        ready = [op for op in ops if op.name not in failed]
        done = {op.name: result for op, result in zip(ready, self._ensure_rows(ready), strict=True)}
        return [
            done.get(op.name) or OpResult("ensure", op.name, Status.ERROR, failed[op.name])
            for op in ops
        ]

    def _ensure_rows(self, ops):
        if not ops:
            return []
        request = [
            ensure_op(
                op.name, op.password, superuser=op.superuser, reset_password=op.reset_password
            )
            for op in ops
        ]
        secrets = [op.password for op in ops]
        results = self._call(request, secrets)
        return [
            self._result("ensure", op.name, result, secrets)
            for op, result in zip(ops, results, strict=True)
        ]

    def deactivate(self, names):
        """One script run for all ``names``."""
        if not names:
            return []
        results = self._call([{"op": "deactivate", "name": name} for name in names])
        return [
            self._result("deactivate", name, result)
            for name, result in zip(names, results, strict=True)
        ]

    def list(self):
        """One script run: every account in the server's database."""
        (result,) = self._call([{"op": "list"}])
        if not isinstance(result, dict):
            raise self._unreadable()
        if result.get("status") == Status.ERROR:
            raise ProvisioningError(
                f"Listing accounts on {self.describe()} failed: {result.get('error')}"
            )
        try:
            return [
                ClusterAccount(str(u["name"]), bool(u["active"]), bool(u.get("superuser")))
                for u in result["users"]
            ]
        except (KeyError, TypeError) as e:
            raise self._unreadable() from e

    def _call(self, ops, secrets=()):
        # Passwords are never in argv or messages: the request goes on stdin and anything
        # the script says is scrubbed of them before it reaches a log or an exception.
        line = dbscript_request(ops)
        self.runs += 1
        try:
            answer = self.run_script(line)
        except ProvisioningError as e:
            raise ProvisioningError(redact(str(e), secrets)) from None
        try:
            results = json.loads(answer)["results"]
        except (ValueError, KeyError, TypeError):
            raise self._unreadable() from None
        if not isinstance(results, list) or len(results) != len(ops):
            raise self._unreadable()
        return results

    def _result(self, op, name, result, secrets=()):
        if not isinstance(result, dict) or result.get("name", name) != name:
            raise self._unreadable()
        try:
            status = Status(result.get("status"))
        except ValueError:
            raise self._unreadable() from None
        error = None
        if status == Status.ERROR:
            error = redact(str(result.get("error") or "unknown error"), secrets)
        return OpResult(op, name, status, error, result.get("superuser") is True)

    def _unreadable(self):
        return ProvisioningError(
            f"The account script on {self.describe()} gave an answer flux-hub cannot read; "
            f"is flux-restful 1.1 installed there?"
        )


class LocalProvisioner(DBScriptProvisioner):
    """Accounts of a flux-restful server on this machine (the local MiniCluster).

    Runs ``python -m flux_hub.provision.dbscript`` in the server's working directory, where its
    ``flux-restful.db`` lives. It edits the database directly, so it works while the server is
    down too (JupyterHub calls ``add_user`` before it starts its managed services).
    """

    server_dir = Unicode(
        config=True,
        help="""The flux-restful server's working directory (holds flux-restful.db).""",
    )

    python = Unicode(
        sys.executable,
        config=True,
        help="""Python interpreter that has flux_restful (and flux_hub) installed.""",
    )

    timeout = Float(
        600.0,
        config=True,
        help="""Seconds one batch may take (each new password costs ~0.3 s of bcrypt).""",
    )

    system_accounts = Bool(
        False,
        config=True,
        help="""Give every account a Unix account of its name on this machine (with a private
        home under ``home_root``), made before its database row.

        For a hub run as root whose users' servers and jobs run as themselves (the local
        cluster in multi-user mode, ``FluxLocalProcessSpawner``). A name already taken by a
        Unix account flux-hub did not make is refused for that account.""",
    )

    home_root = Unicode(
        "/home",
        config=True,
        help="""Where the homes of the Unix accounts made with ``system_accounts`` go.""",
    )

    layout = Enum(
        ["package", "legacy"],
        "package",
        config=True,
        help="""The server's code: "package" (flux-restful 1.1, whose flux_restful package
        ``python`` imports), or "legacy" (the legacy flux-restful-api: ``server_dir`` is its
        folder, holding its ``app`` package, and ``python`` its own environment's).""",
    )

    cluster_state_dir = Unicode(
        config=True,
        help="""The local cluster's state directory (configure_local_cluster sets it): the
        superuser's password and the shared secret are kept there (0600), for the hub's reader
        of the cluster. Empty: no reader.""",
    )

    @validate("python")
    def _valid_python(self, proposal):
        return not_empty(self, proposal)

    @validate("timeout")
    def _valid_timeout(self, proposal):
        return positive_seconds(self, proposal)

    @validate("home_root")
    def _valid_home_root(self, proposal):
        return absolute_path(self, proposal)

    def serves_legacy(self):
        """True for the legacy layout."""
        return self.layout == "legacy"

    def reader_credentials(self):
        """The local cluster's superuser (the first of ``superusers``), from its state file."""
        if self.layout == "legacy" or not self.cluster_state_dir or not self.superusers:
            return None
        from flux_hub.local.cluster import STATE_FILE
        from flux_hub.reader import ReaderCredentials

        try:
            with open(os.path.join(self.cluster_state_dir, STATE_FILE)) as state_file:
                state = json.load(state_file)
            password = state["passwords"][self.superusers[0]]
        except (OSError, ValueError, KeyError, TypeError):
            # The cluster service has not made its superuser yet: the reader asks again later
            raise ProvisioningError(f"the superuser of {self.describe()} is not made yet") from None
        return ReaderCredentials(
            url=self.cluster_url,
            user=self.superusers[0],
            password=password,
            secret_key=state.get("secret_key") or self.secret_key,
        )

    def ensure_host_accounts(self, names):
        """With system_accounts: each name's Unix account under home_root."""
        if not self.system_accounts:
            return {}
        from .system import ensure_all

        return ensure_all(names, self.home_root)[1]

    def forget_host_accounts(self, names):
        """With system_accounts: retire the Unix accounts (locked, expired, no login shell, no
        crontab) and end the processes they left running."""
        if not self.system_accounts:
            return
        from .system import SystemAccountError, retire

        for name in names:
            try:
                ended = retire(name)
            except SystemAccountError as e:
                self.log.error("Could not lock the Unix account %s: %s", name, e)
                continue
            self.log.info("Locked the Unix account %s; ended %d processes", name, ended)

    @default("superusers")
    def _superusers_default(self):
        return ["fluxadmin"]

    @default("secret_key")
    def _secret_key_default(self):
        # A LocalCluster keeps its shared secret in its state file, in its state directory
        # (the server_dir): read from there, without making a LocalCluster (which looks for
        # flux-core, running `flux version`)
        from flux_hub.local.cluster import STATE_FILE

        if os.environ.get("FLUX_SECRET_KEY"):
            return os.environ["FLUX_SECRET_KEY"]
        if not self.server_dir:
            return ""
        try:
            with open(os.path.join(self.server_dir, STATE_FILE)) as state_file:
                return json.load(state_file)["secret_key"]
        except FileNotFoundError:
            return ""

    def describe(self):
        """The server directory, for messages."""
        return f"the local cluster in {self.server_dir}"

    def run_script(self, request):
        """Run the DB script in server_dir (flux_hub.provision.run_dbscript); its failures as
        ProvisioningError naming this cluster."""
        if not self.server_dir:
            raise ProvisioningError("LocalProvisioner.server_dir is not set.")
        os.makedirs(self.server_dir, exist_ok=True)
        try:
            return run_dbscript(
                request,
                self.server_dir,
                python=self.python,
                legacy=self.layout == "legacy",
                timeout=self.timeout,
            )
        except DBScriptRunError as e:
            if e.exit_status is None:
                raise ProvisioningError(
                    f"Could not run the account script for {self.describe()}: {e}"
                ) from None
            raise ProvisioningError(
                f"The account script for {self.describe()} failed (exit {e.exit_status}): {e}"
            ) from None
