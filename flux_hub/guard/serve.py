"""Serve flux-restful's app behind the guard: ``python -m flux_hub.guard --host H --port P``.

Run it where ``flux-restful serve`` would run (its working directory holds ./flux-restful.db;
under ``flux start``, or with FLUX_URI). Before flux_restful is imported it sets, in its own
environment:

- ``KNOWN_LAUNCHERS=[]`` (flux-restful's own setting): its launcher refuses every program, a
  second wall behind the guard's refusal of ``is_launcher``;
- ``output.limit`` in ``FLUX_OPTION_FLAGS`` (the defaults of the web form's jobs) at most the
  cap, so a form job that asks nothing gets the cap too.

``FLUX_HUB_HOME_TEMPLATE`` (e.g. ``/shared/home/{user}``) is the folder a job submitted without
a working directory starts in (flux_hub.guard.workdir); unset, a multi-user server uses each
account's home.

It also serves flux-hub's own ``GET /flux-hub/v1/snapshot`` (snapshot.Snapshots): every job
and the resources in one answer, for the superuser's reader on the hub side.
"""

import argparse
import os
import shlex
import sys

from .limits import LimitError, Limits, format_size, parse_size
from .workdir import TEMPLATE_ENV, TemplateError, check_template

DB_PREFIX = "sqlite:///"


def server_defaults(environ, limits):
    """Set the environment flux-restful reads its launchers and default option flags from."""
    environ["KNOWN_LAUNCHERS"] = "[]"
    # Read as flux_restful.core.config.parse_option_flags reads it (not imported: its settings
    # are made from the environment when it loads)
    flags = {}
    for flag in shlex.split(environ.get("FLUX_OPTION_FLAGS") or ""):
        option, equals, value = flag.partition("=")
        if equals:
            flags[option.removeprefix("-o")] = value
    # An admin's own default is kept when it is within the cap
    size = parse_size(flags.get("output.limit", ""))
    if size is None or not 0 < size <= limits.output_limit:
        flags["output.limit"] = format_size(limits.output_limit)
    environ["FLUX_OPTION_FLAGS"] = shlex.join(f"{k}={v}" for k, v in flags.items())


def size_database_pool(limits):
    """Give flux-restful's database sessions a connection pool as large as the thread pool.

    Every authenticated request holds a database session (and, once it has checked the token, a
    connection) until its response ends: an output stream holds one for as long as it is open.
    SQLAlchemy's default pool (5, and 10 more) would let 15 open streams make every other
    request wait 30 s for a connection and then fail with 500. The sessions of
    flux_restful.routers.depends.get_db are made by flux_restful.db.session.SessionLocal:
    bound here to an engine on the same database with room for every stream and every thread.
    """
    from flux_restful.core.config import settings
    from flux_restful.db import session
    from sqlalchemy import create_engine

    engine = create_engine(
        settings.db_file,
        connect_args={"check_same_thread": False},
        pool_size=limits.threads,
        max_overflow=limits.threads,
    )
    session.SessionLocal.configure(bind=engine)
    return engine


def keep_form_defaults_apart():
    """Each web-form job gets the server's default option flags plus its own, and nothing else.

    flux-restful 1.1.0's ``SubmitForm.get_option_flags`` updates the server-wide defaults
    (``settings.option_flags``, from FLUX_OPTION_FLAGS) in place with each post's flags: one
    person's ``output.limit=1K`` or any other shell option became every later form job's,
    everyone's. Here each post works on a copy.
    """
    from flux_restful import forms
    from flux_restful.core import config

    def get_option_flags(self):
        flags = dict(config.settings.option_flags)
        option_flags = getattr(self, "option_flags", None)
        if option_flags not in (None, ""):
            flags.update(config.parse_option_flags(option_flags))
        return flags

    forms.SubmitForm.get_option_flags = get_option_flags


def jobs_run_as_accounts(multi_user):
    """Whether each job runs as its submitter's Unix account: flux-restful's multi-user mode,
    or the simulated instance run as root with FLUX_SIM_MULTIUSER=1 (flux-restful itself is
    single-user there; the simulation runs the jobs as their owners, see flux_hub/local)."""
    simulated = os.environ.get("FLUX_SIM_MULTIUSER") == "1" and os.geteuid() == 0
    return bool(multi_user) or simulated


def make_app(limits):
    """flux-restful's app (imported now: it checks its settings and Flux) inside the guard."""
    from flux_restful.core.config import settings
    from flux_restful.library.flux import multi_user
    from flux_restful.main import app

    from . import listing
    from .middleware import Guard
    from .snapshot import Snapshots
    from .tokens import NotBefore
    from .workdir import Homes

    size_database_pool(limits)
    keep_form_defaults_apart()

    own_jobs = None
    if not multi_user():
        # Each person's listing is made of their own jobs, whatever the others submit
        own_jobs = listing.OwnJobs()
        listing.install(own_jobs)

    if not settings.known_launchers == []:
        sys.exit("flux-hub guard: flux-restful did not take KNOWN_LAUNCHERS=[]; not serving")
    db = settings.db_file
    db_path = os.path.abspath(
        db[len(DB_PREFIX) :] if db.startswith(DB_PREFIX) else "flux-restful.db"
    )
    snapshots = Snapshots(
        signing_key=settings.token_signing_key,
        not_before=NotBefore(db_path),
        multi_user=multi_user(),
        own_jobs=own_jobs,
    )
    return Guard(
        app,
        limits,
        signing_key=settings.token_signing_key,
        db_path=db_path,
        multi_user=multi_user(),
        own_jobs=own_jobs,
        homes=Homes.from_environ(os.environ, as_accounts=jobs_run_as_accounts(multi_user())),
        snapshots=snapshots,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m flux_hub.guard", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (5000)")
    parser.add_argument("--log-level", default="info", help="uvicorn log level (info)")
    args = parser.parse_args(argv)
    try:
        limits = Limits.from_environ()
    except LimitError as error:
        sys.exit(f"flux-hub guard: {error}")
    try:
        check_template(os.environ.get(TEMPLATE_ENV))
    except TemplateError as error:
        sys.exit(f"flux-hub guard: {error}")
    server_defaults(os.environ, limits)
    import uvicorn

    # One worker: the limits are counted in this process
    uvicorn.run(make_app(limits), host=args.host, port=args.port, log_level=args.log_level)
    return 0
