"""The legacy flux-restful-api server (0.2.0, the ``app/`` layout v1alpha1 MiniClusters run).

Its code is not on PyPI: it comes from a source tarball, ``$FLUX_HUB_LEGACY_SOURCE`` (the
tarball, or a folder holding one), else ``../shared/legacy-flux-restful-api/`` next to this
checkout. Its dependencies clash with flux-restful 1.1.0's, so it runs on a virtual environment of
its own, cached under ``${FLUX_HUB_CACHE:-/var/cache/flux-hub}/legacy-flux-restful-api/`` (as
root; else ``~/.cache/flux-hub``) and keyed by the tarball's hash and the Python version:

    python -m flux_hub.local.legacy        # build (or reuse) it; prints the venv's python

Each server gets its own copy of the source (``prepare``): its database is
``./flux-restful.db`` in it, made as its own entrypoint.sh makes it (``alembic revision
--autogenerate``, ``alembic upgrade head``, ``app/db/init_db.py init``), with users added as
the seed tutorial adds them (``app/db/init_db.py add-user NAME PASS``).

This server cannot keep tenants apart: any user can read and cancel any job, and every job
receives the server's whole environment, its secret key included (which signs every access
token there). flux-hub works with it but says so wherever people look
(``flux_hub.restful.LEGACY_WARNING``).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from flux_hub import fileutil

SOURCE_ENV = "FLUX_HUB_LEGACY_SOURCE"
CACHE_ENV = "FLUX_HUB_CACHE"
APP_DIR = "flux-restful-api"  # as the Flux Operator's v1alpha1 image has it: /flux-restful-api
# Its requirements.txt, plus what it needs and does not say: passlib breaks on bcrypt 5, and
# Flux's Python bindings (the real ones; the simulated ones need nothing) import cffi, ply, yaml
EXTRA_REQUIREMENTS = ("bcrypt<5", "ply", "cffi", "pyyaml")
COMPLETE = ".complete"


class LegacyServerError(RuntimeError):
    """The legacy server's source or environment is missing or could not be built."""


def source_tarball():
    """The legacy server's source tarball (LegacyServerError with what to do if there is none)."""
    given = os.environ.get(SOURCE_ENV, "").strip()
    where = (
        Path(given)
        if given
        else Path(__file__).resolve().parents[3] / "shared" / ("legacy-flux-restful-api")
    )
    candidates = [where] if where.is_file() else sorted(where.glob("flux-restful-api-*.tar.gz"))
    if not candidates:
        raise LegacyServerError(
            f"no legacy flux-restful-api source tarball at {where}: set {SOURCE_ENV} to "
            "flux-restful-api-*.tar.gz (or the folder holding it)"
        )
    return candidates[-1]


def _digest(path):
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def _base_python():
    # A Python every user can run (the venv of a multi-user server must be), and the one
    # flux-core's bindings are built for (scripts/build-flux-core uses the same rule)
    system = Path("/usr/bin/python3")
    if system.exists():
        probe = "import sys, venv; sys.exit(sys.version_info < (3, 10))"
        if subprocess.run([system, "-c", probe], capture_output=True).returncode == 0:
            return str(system)
    return sys.executable


def cache_root():
    given = os.environ.get(CACHE_ENV, "").strip()
    if given:
        return Path(given)
    if os.geteuid() == 0:
        return Path("/var/cache/flux-hub")
    return Path.home() / ".cache" / "flux-hub"


def build(log=None):
    """The cached environment for the current source: {"python", "source", "key"}.

    Built once per tarball and Python version (a few minutes with a cold pip cache); a run
    that finds it complete takes milliseconds. Builds are serialised by a lock file, so
    concurrent test sessions share one.
    """
    tarball = source_tarball()
    base = _base_python()
    version = subprocess.run(
        [base, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    key = f"{_digest(tarball)}-py{version}"
    top = cache_root() / "legacy-flux-restful-api"
    home = top / key
    found = {
        "python": str(home / "venv" / "bin" / "python"),
        "source": str(home / "src"),
        "key": key,
    }
    if (home / COMPLETE).exists():
        return found
    old = os.umask(0o022)  # readable by every user: multi-user servers run from it
    try:
        top.mkdir(parents=True, exist_ok=True)
        with fileutil.locked(top / f"{key}.lock", 0o644):
            if not (home / COMPLETE).exists():
                _build(tarball, base, home, log or (lambda message: None))
    finally:
        os.umask(old)
    return found


def _build(tarball, base, home, log):
    shutil.rmtree(home, ignore_errors=True)  # a half-made one
    home.mkdir()
    log(f"building the legacy flux-restful-api environment in {home}")
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(home, filter="data")
        else:  # Python < 3.11.4: the same refusals, by hand
            for member in tar.getmembers():
                if member.name.startswith("/") or ".." in Path(member.name).parts:
                    raise LegacyServerError(f"{tarball} holds an unsafe path: {member.name}")
                if member.issym() or member.islnk() or member.isdev():
                    raise LegacyServerError(f"{tarball} holds a link or device: {member.name}")
            tar.extractall(home)
    [unpacked] = [p for p in home.iterdir() if p.is_dir()]
    unpacked.rename(home / "src")
    venv = home / "venv"
    steps = [
        [base, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-r",
            str(home / "src" / "requirements.txt"),
            *EXTRA_REQUIREMENTS,
        ],
    ]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise LegacyServerError(f"building the legacy server's venv failed: {argv}\n{tail}")
    (home / COMPLETE).write_text(json.dumps({"tarball": str(tarball)}) + "\n")
    log("the legacy flux-restful-api environment is ready")


def prepare(dest, env, admin, admin_password, users, log=None):
    """A server folder at ``dest`` (made once, then kept with its database) with its
    superuser and ``users`` ({name: password}) added the way the seed adds them.

    ``env``: the server's environment (settings such as FLUX_SECRET_KEY are read at import).
    Returns the build (see ``build``).
    """
    built = build(log)
    dest = Path(dest)
    if not (dest / "app").is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=".legacy-", dir=dest.parent))
        shutil.copytree(built["source"], tmp / "src", symlinks=True)
        (tmp / "src").rename(dest)
        tmp.rmdir()
    python = built["python"]
    fresh = not (dest / "flux-restful.db").exists()
    if fresh:
        # As its Makefile's `init` and its entrypoint.sh do: its migrations/versions is empty,
        # so the first revision is generated from its models, then applied
        revision = ["-m", "alembic", "revision", "--autogenerate", "-m", "Create intital tables"]
        if not any((dest / "migrations" / "versions").glob("*.py")):
            _run(python, revision, dest, env)
        _run(python, ["-m", "alembic", "upgrade", "head"], dest, env)
        # `init` makes the superuser named by FLUX_USER / FLUX_TOKEN
        _run(
            python,
            ["app/db/init_db.py", "init"],
            dest,
            {**env, "FLUX_USER": admin, "FLUX_TOKEN": admin_password},
        )
    if users:
        add_users(python, dest, env, users)
    return built


# `app/db/init_db.py add-user NAME PASS` for each user, each run as its own __main__, in one
# process (its imports take seconds), with the passwords read from stdin rather than put on a
# command line every user can read in /proc. `--` ends its options: a password may start with
# "-" (one in 64 of token_urlsafe's do), which argparse would take for an option.
_ADD_USERS = (
    "import json, runpy, sys\n"
    "for name, password in json.load(sys.stdin).items():\n"
    "    sys.argv = ['app/db/init_db.py', 'add-user', '--', name, password]\n"
    "    runpy.run_path('app/db/init_db.py', run_name='__main__')\n"
)


def add_users(python, folder, env, users):
    """Add users ({name: password}) with the server's own ``init_db.py add-user`` (it leaves
    a name that exists as it is)."""
    _run(python, ["-c", _ADD_USERS], folder, env, stdin=json.dumps(users))


def _run(python, args, cwd, env, stdin=None):
    done = subprocess.run(
        [python, *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True
    )
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        what = " ".join(args[:2]) if args[0] != "-c" else "init_db.py add-user"
        raise LegacyServerError(f"the legacy server's {what} failed:\n{tail}")
    return done.stdout


def main():
    try:
        built = build(lambda message: print(f"flux-hub: {message}", file=sys.stderr, flush=True))
    except LegacyServerError as error:
        print(f"flux-hub: {error}", file=sys.stderr)
        return 1
    print(built["python"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
