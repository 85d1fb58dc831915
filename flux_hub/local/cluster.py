"""LocalCluster: the real flux-restful server on this machine, with seeded users.

The server runs under real Flux (``flux start --test-size=N``) when flux-core's ``flux`` is on
PATH, otherwise against the simulated instance (flux_hub/local/simflux). Its keys and the
users' passwords live in ``state_dir`` (mode 0600), so a restart keeps tokens and logins valid.

With ``legacy=True`` it runs the legacy flux-restful-api instead (the seed's server, which
v1alpha1 MiniClusters run; see flux_hub.local.legacy), set up as the seed sets it up.
"""

import atexit
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from flux_hub import fileutil
from flux_hub.provision import (
    DBScriptRunError,
    dbscript_request,
    ensure_op,
    new_password,
    run_dbscript,
)
from flux_hub.provision.dbscript import check_name
from flux_hub.redact import redact
from flux_hub.restful import peer

from . import procs

log = logging.getLogger(__name__)

STATE_FILE = "flux-hub-local.json"
LEGACY_DIR = "flux-restful-api"  # the legacy server's folder in state_dir
LOG_FILE = "flux-restful.log"
DB_FILE = "flux-restful.db"
STOP_GRACE = {"simulated": 5.0, "flux": 20.0}  # seconds before the server is killed
GONE_WAIT = 15.0  # seconds for the rest of the instance (brokers, jobs) to go once it has exited
SIMULATE_ENV = "FLUX_HUB_SIMULATE"  # "1": the simulated instance; "0": real Flux or an error
FLUX_CONFIG_DIR = "flux-config"
# Single-user: each person's own folder, state_dir/homes/<user>, where a job submitted without a
# working directory starts (the guard makes it, 0700); multi-user: the account's home
HOMES_DIR = "homes"
# Multi-user real Flux: the instance runs as this system account, and flux-security's IMP (setuid
# root) starts each job as its submitter once its configuration allows it (scripts/build-flux-core)
INSTANCE_OWNER = "flux"
INSTANCE_OWNER_HOME = "/var/lib/flux"
IMP_CONFIG_DIR = "/etc/flux/imp/conf.d"
MUNGED = "/usr/sbin/munged"
_started = set()  # clusters to stop when the interpreter exits


class LocalClusterError(RuntimeError):
    """The local cluster could not be started or its users could not be set up."""


def find_flux():
    """flux-core's ``flux`` command, or None (another program called flux does not count)."""
    path = shutil.which("flux")
    if path is None:
        return None
    try:
        out = subprocess.run([path, "version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if "libflux-core" in out.stdout else None


def bindings_path(flux):
    """{"PYTHONPATH": ...} that finds ``flux``'s Python bindings the way ``flux`` does."""
    env = {}
    try:
        where = subprocess.run(
            [flux, "env", "sh", "-c", 'printf %s "$PYTHONPATH"'],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        where = ""
    if where:
        env["PYTHONPATH"] = where + (
            os.pathsep + os.environ["PYTHONPATH"] if "PYTHONPATH" in os.environ else ""
        )
    return env


def check_bindings(flux, python=sys.executable):
    """Why ``python`` cannot run flux-restful on ``flux``'s instance, or None if it can.

    flux-restful imports flux-core's Python bindings in the server process, which is this
    interpreter: they must import here (found the way ``flux`` finds them, its python path).
    """
    probe = "import flux, flux.job, flux.resource"
    env = {**os.environ, **bindings_path(flux)}
    try:
        proc = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, env=env, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"cannot run {python}: {error}"
    if proc.returncode == 0:
        return None
    last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
    version = "{}.{}".format(*sys.version_info[:2])
    return (
        f"flux-core is installed ({flux}) but its Python bindings do not import in this Python "
        f"({python}, {version}): {last}. Install flux-core's bindings for Python {version} "
        "with cffi, ply and pyyaml into this environment (scripts/build-flux-core does it), "
        "or use the simulated instance (--simulate, or FLUX_HUB_SIMULATE=1)."
    )


def choose_flux(simulate=None):
    """The ``flux`` command to run the server under, or None for the simulated instance.

    ``simulate`` True or False decides; None reads $FLUX_HUB_SIMULATE ("1" or "0"), else
    takes real Flux when flux-core is on PATH.
    """
    if simulate is None:
        wanted = os.environ.get(SIMULATE_ENV, "").strip().lower()
        if wanted in ("1", "true", "yes"):
            simulate = True
        elif wanted in ("0", "false", "no"):
            simulate = False
        elif wanted:
            raise LocalClusterError(f"{SIMULATE_ENV} must be 1 or 0, not {wanted!r}")
    if simulate:
        return None
    flux = find_flux()
    if flux is None and simulate is False:
        raise LocalClusterError("real Flux was asked for, but flux-core's flux is not on PATH")
    return flux


def multi_user_problem(mode):
    """Why a local cluster of this mode cannot run each job (and each person's server) as its
    owner's Unix account, or None when it can: it needs root, an instance that can (the
    simulated one; real Flux needs flux-core built with flux-security, its IMP setuid root and
    configured, and MUNGE), and a Python every user may run (flux-hub's servers run on it)."""
    if os.geteuid() != 0:
        return "flux-hub is not running as root"
    if mode != "simulated":
        problem = flux_multi_user_problem(find_flux())
        if problem:
            return problem
    for path in (os.path.realpath(sys.executable), sys.prefix):
        hidden = _hidden_from_others(path)
        if hidden:
            return (
                f"this Python environment ({sys.prefix}) needs {hidden}, which other users "
                "cannot enter; make it from a Python every user can run, where they can reach "
                "it (/usr/bin/python3 -m venv)"
            )
    return None


def flux_paths(flux):
    """{"imp": flux-imp, "shell": flux-shell} of the flux-core whose ``flux`` command this is."""
    prefix = Path(os.path.realpath(flux)).parent.parent
    return {
        "imp": prefix / "libexec" / "flux" / "flux-imp",
        "shell": prefix / "libexec" / "flux" / "flux-shell",
    }


def flux_multi_user_problem(flux):
    """Why this real flux-core cannot run jobs as their submitters, in one line, or None."""
    if flux is None:
        return "flux-core's flux is not on PATH"
    paths = flux_paths(flux)
    imp, shell = paths["imp"], paths["shell"]
    if not imp.exists():
        return (
            f"this flux-core ({flux}) is built without flux-security, so it runs every job as "
            "its owner (scripts/build-flux-core builds one with it)"
        )
    info = imp.stat()
    if info.st_uid != 0 or not info.st_mode & stat.S_ISUID:
        return f"{imp} is not setuid root, so it cannot start jobs as their owners"
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return "checking flux-imp's configuration needs Python 3.11 or later (tomllib)"
    allowed = {"allowed-users": set(), "allowed-shells": set()}
    for conf in sorted(Path(IMP_CONFIG_DIR).glob("*.toml")):
        try:
            section = tomllib.loads(conf.read_text()).get("exec", {})
        except (OSError, ValueError) as error:
            return f"cannot read flux-imp's configuration {conf}: {error}"
        for key, found in allowed.items():
            found.update(section.get(key, []))
    users, shells = allowed["allowed-users"], allowed["allowed-shells"]
    if INSTANCE_OWNER not in users or str(shell) not in shells:
        return (
            f"flux-imp's configuration ({IMP_CONFIG_DIR}) does not let {INSTANCE_OWNER!r} "
            f"start {shell} (scripts/build-flux-core writes it)"
        )
    if not os.access(MUNGED, os.X_OK):
        return f"MUNGE is not installed ({MUNGED}): Flux signs each job with it"
    return None


def ensure_munged():
    """Start MUNGE's munged unless it runs (as the munge user, as its service would).

    Multi-user Flux signs each job with a MUNGE credential of its submitter.
    """
    if _munge_works():
        return
    try:
        import pwd

        record = pwd.getpwnam("munge")
        os.makedirs("/run/munge", mode=0o755, exist_ok=True)
        os.chown("/run/munge", record.pw_uid, record.pw_gid)
        done = subprocess.run(
            ["runuser", "-u", "munge", "--", MUNGED],
            capture_output=True,
            text=True,
            timeout=30,
            start_new_session=True,
        )
    except (KeyError, OSError, subprocess.SubprocessError) as error:
        raise LocalClusterError(f"cannot start MUNGE's munged: {error}") from None
    if not _munge_works():
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise LocalClusterError(f"cannot start MUNGE's munged: {reason}")


def _munge_works():
    try:
        return (
            subprocess.run(
                ["munge", "--no-input", "--output=/dev/null"],
                capture_output=True,
                timeout=30,
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


def multi_user_possible(mode):
    """Whether a local cluster of this mode can run each job as its owner (multi_user_problem)."""
    return multi_user_problem(mode) is None


def _hidden_from_others(path):
    """The first folder on the way to ``path`` (or the file) that others may not pass, or None."""
    folder = os.path.dirname(path)
    parents = [path]
    while folder not in ("/", ""):
        parents.append(folder)
        folder = os.path.dirname(folder)
    for part in reversed(parents):
        try:
            if not os.stat(part).st_mode & stat.S_IXOTH:
                return part
        except OSError:
            return part
    return None


def node_prefix():
    """The local instance's nodes are named this prefix and their rank: this host's short name.

    Real Flux's test instance and the simulation name them alike ("vm0", "vm1"), so a job's
    nodelist reads the same ("vm[0-1]") in both.
    """
    base = socket.gethostname().split(".")[0].rstrip("0123456789-")
    return base if base and all(c.isalnum() or c == "-" for c in base) else "node"


def node_names(count):
    """The names of ``count`` nodes: node_prefix() and the rank."""
    return [f"{node_prefix()}{rank}" for rank in range(count)]


def _bind(host, port):
    """The port bound (a free one for 0), or None if it is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return None
        return s.getsockname()[1]


def _port_taken(host, port, uid=None):
    """Why flux-restful cannot listen at host:port: who holds it (``uid``, else asked of the
    kernel) and what to do. Clients refuse to send anything to another account there."""
    uid = peer.holder(host, port) if uid is None else uid
    if uid is None:
        who = "is in use"
    elif uid == os.geteuid():
        who = f"is held by another program of this cluster's account, {peer.describe(uid)}"
    else:
        who = f"is held by {peer.describe(uid)}, another account"
    return (
        f"{host}:{port} {who}, so flux-restful cannot listen there and the cluster is not "
        f"started. Stop that program (`ss -ltnp 'sport = :{port}'` shows it as root), then "
        "start the cluster again; clients send no password to it meanwhile."
    )


class LocalCluster:
    """flux-restful on 127.0.0.1 with a shared secret, a superuser and seeded users.

    ``simulate`` None: real Flux if flux-core's ``flux`` is on PATH, else the simulation.
    ``server_env``: extra environment for the server (e.g. FLUX_ACCESS_TOKEN_EXPIRES_MINUTES).
    ``simulate`` True or False forces the choice (False: LocalClusterError without flux-core).
    In real-Flux mode the nodes are ``flux start --test-size`` brokers on this machine, each
    configured with ``cores_per_node`` cores and a host name of its own, as in the simulation.
    """

    def __init__(
        self,
        state_dir,
        *,
        host="127.0.0.1",
        port=0,
        users=(),
        nodes=2,
        cores_per_node=4,
        admin_user="fluxadmin",
        simulate=None,
        server_env=None,
        multi_user=False,
        home_root="/home",
        legacy=False,
        limits=None,
    ):
        for label, value in (("nodes", nodes), ("cores_per_node", cores_per_node)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be an integer of at least 1, not {value!r}")
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535, not {port!r}")
        self.users = tuple(dict.fromkeys(check_name(u) for u in users))
        self.admin_user = check_name(admin_user)
        self.state_dir = Path(state_dir).resolve()
        self.host = host
        self.port = port
        self.nodes = nodes
        self.cores_per_node = cores_per_node
        self.legacy = bool(legacy)
        # The legacy server's folder, a copy of its source: its database is ./flux-restful.db
        self.server_dir = self.state_dir / LEGACY_DIR if self.legacy else self.state_dir
        self.db_path = self.server_dir / DB_FILE
        self.log_path = self.state_dir / LOG_FILE
        self.new_passwords = {}  # users that got a password at the last start(), for printing
        self._server_env = dict(server_env or {})
        from flux_hub.guard.limits import Limits

        # Per-person limits (a dict of some of Limits' fields; a bad one is a ValueError),
        # enforced by flux-hub's guard in front of flux-restful
        self.limits = Limits.from_mapping(limits)
        self.multi_user = bool(multi_user)
        self.home_root = home_root
        self._state_path = self.state_dir / STATE_FILE
        self._state = None
        self._proc = None
        self._instance = None  # multi-user real Flux: `flux start`, apart from the server
        self._instance_dir = None
        self._rundir = None
        self._lock = threading.RLock()
        self._flux = choose_flux(simulate)
        self.mode = "flux" if self._flux else "simulated"
        self._legacy_python = None
        if self.multi_user and self.legacy:
            raise LocalClusterError(
                "the legacy flux-restful-api runs every job as the instance's owner here: "
                "multi_user needs flux-restful 1.1"
            )
        if self.multi_user:
            if os.geteuid() != 0:
                raise LocalClusterError(
                    "multi_user needs root: jobs run as their owners' Unix accounts"
                )
            if self.mode == "flux":
                problem = flux_multi_user_problem(self._flux)
                if problem:
                    raise LocalClusterError(
                        f"multi_user on real Flux is not possible here: {problem}. "
                        "Use the simulated instance (--simulate), or one user."
                    )

    def __repr__(self):
        return f"<LocalCluster {self.url} {self.mode} state_dir={str(self.state_dir)!r}>"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        """The server's URL (http://host:port)."""
        return f"http://{self.host}:{self.port}"

    @property
    def secret_key(self):
        """The server's shared secret (FLUX_SECRET_KEY), made on first use and kept in state_dir."""
        return self._load()["secret_key"]

    @property
    def passwords(self):
        """{name: password} of the users this cluster seeded (the admin included)."""
        return dict(self._load()["passwords"])

    @property
    def running(self):
        """Whether the server process started by this object is running."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def server_pid(self):
        """The pid of the flux-restful server process itself, or None when not running.

        Under the simulation that is the process started; under real Flux it runs below
        ``flux start`` and a broker.
        """
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return None
        if self.mode == "simulated" or self._instance is not None:
            return proc.pid  # the simulation, or multi-user Flux's server outside `flux start`
        # The broker's own command line names the initial program too: match its argv[0]
        server = [os.fspath(word) for word in self._server_command()[:3]]
        for pid in procs.descendants(proc.pid):
            argv = procs.command_line(pid)
            if argv is not None and argv[:3] == server:
                return pid
        return None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, timeout=60):
        """Start the server and return when GET /v1/auth answers 200."""
        with self._lock:
            if self.running:
                return self
            self._load()
            port = _bind(self.host, self.port)
            if port is None:
                raise LocalClusterError(_port_taken(self.host, self.port))
            self.port = port  # a port picked for 0 is kept for restarts
            wanted = [(self.admin_user, True)]
            wanted += [(user, False) for user in self.users if user != self.admin_user]
            self.new_passwords = self._ensure(wanted)
            try:
                log_offset = self._launch()
                self._wait_ready(timeout, log_offset)
            except BaseException:
                self.stop()
                raise
            _started.add(self)
        return self

    def stop(self):
        """Stop the server and every process of its instance. Safe to call at any time.

        Returns once the server, the brokers and every job process are gone (the port is then
        free): a bounded wait after SIGTERM, then SIGKILL for whatever is left.
        """
        with self._lock:
            proc, self._proc = self._proc, None
            instance, self._instance = self._instance, None
            if proc is None and instance is None and self._instance_dir is None:
                return
            # Multi-user real Flux: the server first (it submits nothing more), then the
            # instance with its brokers and jobs (they run as other users: root ends them)
            for process in (proc, instance):
                if process is not None:
                    self._end(process)
            if self._instance_dir is not None:
                shutil.rmtree(self._instance_dir, ignore_errors=True)
                self._instance_dir = None
            _started.discard(self)
            log.info("flux-restful at %s stopped", self.url)

    def _end(self, proc):
        """End ``proc`` (started in a session of its own) and everything below it."""
        # Everything below it now: the simulation's tasks have sessions of their own, real
        # Flux's brokers, shells and tasks keep the session
        tree = procs.start_times([proc.pid, *procs.descendants(proc.pid)])
        crashed = proc.poll() is not None
        if not crashed:
            procs.signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE[self.mode])
            except subprocess.TimeoutExpired:
                # Freeze it so it starts nothing new, then kill it and its jobs
                procs.signal_group(proc.pid, signal.SIGSTOP)
                procs.kill(procs.remaining(proc.pid, tree))
                proc.wait()
        # `flux start` exits on SIGTERM before its brokers, the server and the jobs do:
        # wait for them, then kill what is left. Once it has died on its own, nothing
        # shuts down the rest in order: they are told at once.
        if crashed:
            procs.kill(procs.remaining(proc.pid, tree), signal.SIGTERM)
        patience = STOP_GRACE["simulated"] if crashed else GONE_WAIT
        if not procs.wait_gone(proc.pid, tree, patience):
            log.warning("flux-restful at %s: killing what is left of it", self.url)
            procs.kill(procs.remaining(proc.pid, tree))
            procs.wait_gone(proc.pid, tree, 5.0)

    def prepare(self):
        """Make the server's database and superuser now, before ``start`` (the hub provisions
        accounts into it before it starts the cluster). Nothing to do for flux-restful 1.1,
        whose DB script makes its tables; the legacy server's folder is made here."""
        if self.legacy:
            self._ensure([(self.admin_user, True)])
        return self

    def restart(self, timeout=60):
        """Stop and start again with the same port, database, keys and passwords."""
        self.stop()
        return self.start(timeout)

    # -- users ---------------------------------------------------------------------------
    def ensure_users(self, names):
        """Make sure these users exist (one DB script run); returns {name: new password}."""
        names = list(dict.fromkeys(check_name(n) for n in names))
        return self._ensure([(name, False) for name in names])

    def _ensure(self, wanted):
        with self._lock:
            state = self._load()
            known = state["passwords"]
            fresh = {name: new_password() for name, _ in wanted if name not in known}
            if self.legacy:
                return self._ensure_legacy(wanted, known, fresh)
            # A user we hold no password for may exist: then it gets the new one
            ops = [
                ensure_op(
                    name,
                    fresh.get(name) or known[name],
                    superuser=superuser,
                    reset_password=name in fresh,
                )
                for name, superuser in wanted
            ]
            if self.multi_user:
                # Each user's jobs run as their Unix account: made before the DB row, so no
                # account exists in the DB without one (the superuser runs no jobs)
                self._ensure_system_accounts([name for name, superuser in wanted if not superuser])
            # Saved before the accounts exist, so no account can have a password we lost
            known.update(fresh)
            self._save()
            try:
                results = self._run_dbscript(ops)
            except BaseException:
                for name in fresh:
                    known.pop(name)
                self._save()
                raise
            if self.db_path.exists():
                os.chmod(self.db_path, 0o600)  # it holds the password hashes
            failures = []
            for (name, superuser), result in zip(wanted, results, strict=True):
                if result.get("status") == "error":
                    failures.append(f"{name}: {result.get('error')}")
                    if name in fresh:
                        known.pop(name)
                elif superuser and not result.get("superuser"):
                    failures.append(f"{name}: exists but is not a superuser")
            self._save()
            if failures:
                raise LocalClusterError("could not set up users: " + "; ".join(failures))
            return {name: password for name, password in fresh.items() if name in known}

    def _ensure_legacy(self, wanted, known, fresh):
        """The seed's way: ``init_db.py init`` makes the superuser, ``init_db.py add-user``
        everyone else (it leaves a name that exists as it is)."""
        from . import legacy

        passwords = {**known, **fresh}
        [admin] = [name for name, superuser in wanted if superuser] or [None]
        users = {name: passwords[name] for name, superuser in wanted if not superuser}
        try:
            built = legacy.prepare(
                self.server_dir,
                self._server_environment(),
                admin or self.admin_user,
                passwords.get(admin or self.admin_user) or new_password(),
                users,
                log.info,
            )
        except legacy.LegacyServerError as error:
            raise LocalClusterError(self._redact(str(error))) from None
        self._legacy_python = built["python"]
        known.update(fresh)
        self._save()
        if self.db_path.exists():
            os.chmod(self.db_path, 0o600)  # it holds the password hashes
        return fresh

    @property
    def legacy_python(self):
        """The legacy server's Python (its cached venv): for LocalProvisioner, say."""
        if self._legacy_python is None:
            from . import legacy

            try:
                self._legacy_python = legacy.build(log.info)["python"]
            except legacy.LegacyServerError as error:
                raise LocalClusterError(str(error)) from None
        return self._legacy_python

    def _ensure_system_accounts(self, names):
        from flux_hub.accounts.system import ensure_all

        failed = ensure_all(names, self.home_root)[1]
        if failed:
            raise LocalClusterError(
                "could not make Unix accounts: "
                + "; ".join(f"{name}: {error}" for name, error in failed.items())
            )

    def _run_dbscript(self, ops):
        try:
            answer = run_dbscript(dbscript_request(ops), self.state_dir)
            response = json.loads(answer)
        except (DBScriptRunError, ValueError) as error:
            detail = self._redact(str(error))
            raise LocalClusterError(f"the user database script failed: {detail}") from None
        return response["results"]

    # -- state ---------------------------------------------------------------------------
    def _load(self):
        with self._lock:
            if self._state is None:
                self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                if self._state_path.exists():
                    self._state = json.loads(self._state_path.read_text())
                    os.chmod(self._state_path, 0o600)
                else:
                    self._state = {
                        "secret_key": secrets.token_urlsafe(32),
                        "token_signing_key": secrets.token_hex(32),
                        "passwords": {},
                    }
                    self._save()
            return self._state

    def _save(self):
        fileutil.replace(self._state_path, json.dumps(self._state, indent=1) + "\n", durable=True)

    def _redact(self, text):
        state = self._state or {}
        hidden = [state.get("secret_key"), state.get("token_signing_key")]
        return redact(text, [*hidden, *state.get("passwords", {}).values()])

    # -- the server process --------------------------------------------------------------
    def _server_environment(self):
        state = self._load()
        # The caller's FLUX_* settings (a client's FLUX_TOKEN, say) are not the server's
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
        env.update(
            FLUX_AUTH_BACKEND="shared-secret",
            FLUX_SECRET_KEY=state["secret_key"],
            FLUX_TOKEN_SIGNING_KEY=state["token_signing_key"],
            FLUX_NUMBER_NODES=str(self.nodes),
            FLUX_SERVER_MODE="single-user",
            # The simulation runs each job as its owner's Unix account, as multi-user Flux does
            # (flux-restful itself stays in single-user mode: it submits through the bindings)
            **({"FLUX_SIM_MULTIUSER": "1"} if self.multi_user and not self._flux else {}),
            PYTHONUNBUFFERED="1",
            # flux-restful's own setting: its launcher refuses every program (the guard
            # refuses is_launcher before it; this is the second wall)
            KNOWN_LAUNCHERS="[]",
            **self.limits.environ(),
        )
        if not self.multi_user and not self.legacy:
            from flux_hub.guard.workdir import FIELD, TEMPLATE_ENV

            env[TEMPLATE_ENV] = str(self.state_dir / HOMES_DIR / FIELD)
        if self._instance_dir is not None:
            # Multi-user real Flux: as root, outside `flux start`; it submits each job as its
            # user with `flux python` (this flux first on PATH)
            env.update(
                FLUX_SERVER_MODE="multi-user",
                FLUX_URI=f"local://{self._rundir}/local-0",
                PATH=os.pathsep.join([os.path.dirname(self._flux), env.get("PATH", "")]),
            )
        if self.legacy:
            # Its settings (app/core/config.py): require a login; FLUX_SECRET_KEY signs its
            # access tokens. It hands this whole environment to every job.
            env.pop("FLUX_AUTH_BACKEND")
            env.pop("FLUX_TOKEN_SIGNING_KEY")
            env["FLUX_REQUIRE_AUTH"] = "1"
        env.update(self._server_env)
        return env

    def _server_command(self):
        """The server's own command line (run under `flux start` on real Flux)."""
        if self.legacy:
            from . import legacy_serve

            return [
                self.legacy_python,
                legacy_serve.__file__,
                "--host",
                self.host,
                "--port",
                str(self.port),
            ]
        # flux-restful's own app behind flux-hub's guard (flux_hub/guard): no launchers,
        # per-person limits, tokens of rotated passwords refused; one worker
        return [
            sys.executable,
            "-m",
            "flux_hub.guard",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]

    def _launch(self):
        if self.legacy:
            return self._launch_legacy()
        server = self._server_command()  # python -m flux_hub.guard --host ... --port ...
        if self.mode == "flux" and self.multi_user:
            problem = check_bindings(self._flux)
            if problem:
                raise LocalClusterError(problem)
            offset = self._launch_instance()
            argv = server
            how = (
                f"multi-user real Flux ({self._flux} start --test-size={self.nodes} as "
                f"{INSTANCE_OWNER}, {self.nodes} nodes x {self.cores_per_node} cores)"
            )
            self._popen(argv, f"starting flux-restful at {self.url} (as root) on {how}")
            return offset
        if self.mode == "flux":
            problem = check_bindings(self._flux)
            if problem:
                raise LocalClusterError(problem)
            config = self._write_flux_config()
            argv = [*self._flux_start(config), *server]
            how = (
                f"real Flux ({self._flux} start --test-size={self.nodes}, "
                f"{self.nodes} nodes x {self.cores_per_node} cores)"
            )
        else:
            argv = [
                sys.executable,
                "-m",
                "flux_hub.local.simserve",
                "--nodes",
                str(self.nodes),
                "--cores-per-node",
                str(self.cores_per_node),
                *server[3:],  # the guard's own arguments
            ]
            how = f"the simulated Flux instance ({self.nodes} nodes x {self.cores_per_node} cores)"
        return self._popen(argv, f"starting flux-restful at {self.url} under {how}")

    def _launch_legacy(self):
        server = self._server_command()
        env = None
        if self.mode == "flux":
            problem = check_bindings(self._flux, self.legacy_python)
            if problem:
                raise LocalClusterError(problem)
            argv = [*self._flux_start(self._write_flux_config()), *server]
            env = {**self._server_environment(), **bindings_path(self._flux)}
            how = (
                f"real Flux ({self._flux} start --test-size={self.nodes}, "
                f"{self.nodes} nodes x {self.cores_per_node} cores)"
            )
        else:
            argv = [*server, "--simulate", str(self.nodes), str(self.cores_per_node), node_prefix()]
            how = f"the simulated Flux instance ({self.nodes} nodes x {self.cores_per_node} cores)"
        return self._popen(
            argv,
            f"starting the legacy flux-restful-api at {self.url} under {how}",
            cwd=self.server_dir,
            env=env,
        )

    def _popen(self, argv, message, cwd=None, env=None, **kwargs):
        """Start the server (or the instance, with ``kwargs``) -> its log's offset before it."""
        log.info(message)
        instance = bool(kwargs)
        # The legacy server prints every jobspec, with the environment it gives each job (its
        # secret key included): its output goes through a filter that hides the secrets
        redact = self.legacy and not instance
        with open(self.log_path, "ab") as logfile:
            os.fchmod(logfile.fileno(), 0o600)
            offset = logfile.tell()
            logfile.write(f"flux-hub: {time.strftime('%F %T')} {message}\n".encode())
            logfile.flush()
            proc = subprocess.Popen(
                argv,
                cwd=cwd or self.state_dir,
                env=env or self._server_environment(),
                **kwargs,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if redact else logfile,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals all of it
            )
        if redact:
            threading.Thread(target=self._copy_redacted, args=(proc.stdout,), daemon=True).start()
        if instance:
            self._instance = proc
        else:
            self._proc = proc
        return offset

    def _copy_redacted(self, output):
        with output, open(self.log_path, "ab") as logfile:
            for line in output:
                logfile.write(self._redact(line.decode("utf-8", "replace")).encode())
                logfile.flush()

    def _launch_instance(self, timeout=60):
        """Multi-user real Flux: brokers run by INSTANCE_OWNER, ready for the server.

        Its folder (outside the private state_dir, which that user cannot enter) holds the
        configuration (readable by all: the job shells of every user read the initrc) and a
        private (0700) statedir for the content store, which holds every job's output in
        files Flux makes 0644. Removed at stop(). `flux start --test-size` makes a rundir of
        its own (mode 0700), which the initial program names in the statedir's ``ready`` file;
        it is then opened to the group of flux-hub's people only (0750 flux:flux-hub-users):
        their job shells (started as them by the IMP) and the helpers flux-restful runs as
        them reach the brokers' sockets, root (the server) does anyway, and no other account
        on this machine can talk to the instance.
        """
        from flux_hub.accounts.system import (
            SystemAccountError,
            ensure_people_group,
            ensure_service_account,
        )

        ensure_munged()
        try:
            owner = ensure_service_account(
                INSTANCE_OWNER, INSTANCE_OWNER_HOME, "Flux instance owner (flux-hub)"
            )
            people = ensure_people_group()
        except SystemAccountError as error:
            raise LocalClusterError(str(error)) from None
        # In a temporary folder others can reach ($TMPDIR may be a private one)
        tmp = tempfile.gettempdir()
        tmp = "/tmp" if _hidden_from_others(tmp) else tmp
        top = Path(tempfile.mkdtemp(prefix=f"flux-hub-{self.port}-", dir=tmp))
        top.chmod(0o755)
        self._instance_dir = top
        state = top / "state"
        state.mkdir(mode=0o700)
        os.chown(state, owner.pw_uid, owner.pw_gid)
        config = self._write_flux_config(top / "config", imp=flux_paths(self._flux)["imp"])
        ready = state / "ready"
        argv = [
            *self._flux_start(config),
            f"--setattr=statedir={state}",
            "sh",
            "-c",
            'run="$(flux getattr rundir)" && echo "$run" >"$0.tmp" && '
            'mv "$0.tmp" "$0" && exec sleep infinity',
            str(ready),
        ]
        env = {
            k: v
            for k, v in os.environ.items()
            if k in ("PATH", "LANG", "LC_ALL", "TZ") or k.startswith("LC_")
        }
        env.update(HOME=owner.pw_dir, USER=owner.pw_name, LOGNAME=owner.pw_name)
        offset = self._popen(
            argv,
            f"starting the Flux instance ({self.nodes} brokers) as {INSTANCE_OWNER} in {top}",
            cwd="/",
            env=env,
            user=owner.pw_uid,
            group=owner.pw_gid,
            extra_groups=[],
        )
        deadline = time.monotonic() + timeout
        while not ready.exists():
            status = self._instance.poll()
            if status is not None or time.monotonic() > deadline:
                why = f"exited with status {status}" if status is not None else "was not ready"
                raise LocalClusterError(
                    f"the Flux instance {why} within {timeout} s.\n{self._log_tail(offset)}"
                )
            time.sleep(0.1)
        self._rundir = ready.read_text().strip()
        os.chown(self._rundir, -1, people)
        os.chmod(self._rundir, 0o750)
        return offset

    def _flux_start(self, config):
        """``flux start`` of the test instance: nodes brokers named by node_names(), with the
        resource configuration and the job shells' initrc of ``config``."""
        return [
            self._flux,
            "start",
            f"--test-size={self.nodes}",
            f"--test-hosts={','.join(node_names(self.nodes))}",
            f"--config-path={config}",
            f"--setattr=conf.shell_initrc={config / 'initrc.lua'}",
        ]

    def _write_flux_config(self, folder=None, imp=None):
        """The instance's resource configuration: nodes x cores_per_node, named hosts.

        The brokers of ``flux start --test-size`` all run on this machine; without this each
        would offer all of its cores. Not verified against the hardware (it is a test
        instance: the cores are there to schedule on, as in the simulation).
        """
        if folder is None:
            folder = self.state_dir / FLUX_CONFIG_DIR
            folder.mkdir(mode=0o700, exist_ok=True)
        else:
            folder.mkdir(mode=0o755, exist_ok=True)
        if imp is not None:
            # Multi-user: flux-imp starts each job as its submitter; guests (every other user)
            # may connect, and root (flux-restful in multi-user mode) acts as the owner
            (folder / "system.toml").write_text(
                "# Written by flux-hub's LocalCluster at every start.\n"
                f"[exec]\nimp = {json.dumps(str(imp))}\n\n"
                "[access]\nallow-guest-user = true\nallow-root-owner = true\n"
            )
        hosts = ",".join(node_names(self.nodes))
        cores = f"0-{self.cores_per_node - 1}" if self.cores_per_node > 1 else "0"
        text = (
            "# Written by flux-hub's LocalCluster at every start.\n"
            "[resource]\nnoverify = true\n\n"
            f'[[resource.config]]\nhosts = "{hosts}"\ncores = "{cores}"\n'
        )
        (folder / "resource.toml").write_text(text)
        # The configured core ids need not exist here, so the shells must not bind tasks to
        # them (they would print an affinity error into every job's output)
        initrc = folder / "initrc.lua"
        default = self._flux_builtin("shell_initrc")
        lines = ['shell.options["cpu-affinity"] = "off"']
        if default:
            lines.append(f"source ({json.dumps(default)})")
        lines.insert(0, "-- Written by flux-hub's LocalCluster at every start.")
        initrc.write_text("\n".join(lines) + "\n")
        return folder

    def _flux_builtin(self, name):
        try:
            out = subprocess.run(
                [self._flux, "config", "builtin", name], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    def _wait_ready(self, timeout, log_offset):
        """Wait until this cluster's own server listens at host:port and answers there.

        The port may be taken between start()'s check and the server's bind: whoever listens
        there instead is named, and nothing is asked of it.
        """
        deadline = time.monotonic() + timeout
        with requests.Session() as session:
            while True:
                holder = self._port_holder()
                if holder is not None and holder is not True:
                    raise LocalClusterError(_port_taken(self.host, self.port, holder))
                status = self._proc.poll()
                if status is not None:
                    raise LocalClusterError(
                        f"flux-restful exited with status {status} before it answered at "
                        f"{self.url}.\n{self._log_tail(log_offset)}"
                    )
                try:
                    # The legacy server has no /v1/auth: its 404 is its answer
                    if holder and session.get(f"{self.url}/v1/auth", timeout=5).status_code == (
                        404 if self.legacy else 200
                    ):
                        log.info("flux-restful is up at %s (%s)", self.url, self.mode)
                        return
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise LocalClusterError(
                        f"flux-restful did not answer at {self.url} within {timeout} s.\n"
                        f"{self._log_tail(log_offset)}"
                    )
                time.sleep(0.1)

    def _port_holder(self):
        """None while nothing listens at the cluster's address, True when only its own server
        does (a socket open in a process it started), else the uid of the other listener."""
        found = peer.listening(self.host, self.port)
        if not found:
            return None
        # Matched by address: two listeners share one only with SO_REUSEPORT, which neither
        # server sets. The server itself first: it holds the socket, so the rest of the tree
        # (a few ms each) is asked only when something is left unexplained.
        tree = [self._proc.pid, *procs.descendants(self._proc.pid)]
        server = self.server_pid
        if server in tree:
            tree.remove(server)
            tree.insert(0, server)
        ours = set()
        for each in tree:
            if all(address in ours for address, _, _ in found):
                break
            ours |= procs.listening_addresses(each, self.port)
        for address, uid, _ in found:
            if address not in ours:
                return uid
        return True

    def _log_tail(self, offset, lines=30):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", "replace")
        except OSError as error:
            return f"(cannot read {self.log_path}: {error})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"Last lines of {self.log_path}:\n{self._redact(tail)}"


@atexit.register
def _stop_all():
    # A crashed test or script must not leave servers (and their jobs) running
    for cluster in list(_started):
        cluster.stop()
