"""Manage flux-restful users in the server's database, in one process for a batch of changes.

Run it in the flux-restful server's working directory (the database is ./flux-restful.db)
with the Python that has the server's flux_restful package:

    python -m flux_hub.provision.dbscript < request.json      # locally
    python3 -c "$(cat dbscript.py)" < request.json            # in a MiniCluster pod

With --legacy it uses the older server's `app` package instead (flux-restful-api as v1alpha1
MiniClusters run it from /flux-restful-api; run it there), and creates users with that server's
own `init_db.add_user`, the function its `app/db/init_db.py add-user` runs.

It needs only the standard library and flux_restful, never flux_hub. Passwords come on
stdin, never in argv. Request and response are JSON:

    {"ops": [{"op": "ensure", "name": "alice", "password": "...", "superuser": false,
              "reset_password": false},
             {"op": "deactivate", "name": "bob"}, {"op": "list"}]}
    {"results": [{"op": "ensure", "name": "alice", "status": "created", "superuser": false},
                 {"op": "deactivate", "name": "bob", "status": "deactivated"},
                 {"op": "list", "users": [{"name": "alice", "active": true, "superuser": false}]}]}

ensure: "created" (with superuser as asked), "unchanged", "reactivated" (an inactive user is
active again; its password is replaced only with reset_password) or "password-set". An
existing user keeps its superuser flag; the result reports it. An existing active user without
reset_password costs no bcrypt hash. deactivate: "deactivated" or "missing". A failed op gives
{"status": "error", "error": "..."}; each op commits on its own, so it loses nothing that
succeeded. A malformed request gives {"error": "..."} and exit status 2.

Tokens: a password set on an existing user ("password-set", or "reactivated" with a new one)
and a deactivation record, in the same transaction, a "not before" time for that name in
flux-hub's own table NOT_BEFORE_TABLE of the same database: flux-hub's guard in front of
flux-restful (flux_hub/guard) refuses the tokens issued before it, which would otherwise hold
for their whole life (10 h). Token times are whole seconds, so the time is the next whole
second, and the script returns only once it has come: a token issued with the new password
(after the script) is never refused, one issued with the old one always is.
"""

import contextlib
import functools
import json
import math
import sys
import time

MAX_NAME = 255
MAX_PASSWORD_BYTES = 72  # bcrypt's limit, which flux_restful enforces
# Read by flux_hub/guard/tokens.py (this script must not import flux_hub: the same name there)
NOT_BEFORE_TABLE = "flux_hub_token_not_before"


class OpError(ValueError):
    """A readable reason an op failed."""


def check_name(name):
    """``name`` if it is a valid flux-restful user name for flux-hub: a non-empty string of
    at most MAX_NAME printable characters without spaces. OpError (a ValueError) otherwise.

    The one user-name rule: LocalCluster checks its users with it too."""
    if not isinstance(name, str) or not name:
        raise OpError("a user name (a non-empty string) is required")
    if len(name) > MAX_NAME or not name.isprintable() or any(c.isspace() for c in name):
        raise OpError(f"{name[:40]!r} is not a valid user name (printable, no spaces)")
    return name


def _name(op):
    return check_name(op.get("name"))


def _password(op, name, purpose):
    password = op.get("password")
    if not isinstance(password, str) or not password:
        raise OpError(f"a password is required to {purpose} {name!r}")
    if "\0" in password or len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise OpError(f"the password for {name!r} must be at most 72 bytes without NUL")
    return password


def _flag(op, key):
    value = op.get(key, False)
    if not isinstance(value, bool):
        raise OpError(f"{key} must be true or false")
    return value


def _not_before(db, name):
    """Record that ``name``'s tokens issued before now no longer count (see the top); in the
    op's own transaction. Returns the time recorded."""
    from sqlalchemy import text

    when = math.floor(time.time()) + 1
    db.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {NOT_BEFORE_TABLE} "
            "(user_name TEXT PRIMARY KEY NOT NULL, not_before INTEGER NOT NULL)"
        )
    )
    db.execute(
        text(
            f"INSERT INTO {NOT_BEFORE_TABLE} (user_name, not_before) VALUES (:name, :when) "
            "ON CONFLICT (user_name) DO UPDATE SET not_before = excluded.not_before"
        ),
        {"name": name, "when": when},
    )
    return when


def ensure(db, models, hash_password, op, add_user=None, not_before=None):
    """``add_user``: the legacy server's own ``init_db.add_user`` (what its ``init_db.py
    add-user`` runs), which then writes new rows; it strips the password, so one with
    surrounding spaces is written here instead."""
    name = _name(op)
    superuser = _flag(op, "superuser")
    reset = _flag(op, "reset_password")
    user = db.query(models.User).filter(models.User.user_name == name).first()
    if user is None:
        password = _password(op, name, "create")
        if add_user is not None and password == password.strip():
            add_user(name, password, superuser=superuser)
            user = db.query(models.User).filter(models.User.user_name == name).first()
            if user is None:
                raise OpError(f"the server's init_db add_user did not create {name!r}")
        else:
            user = models.User(
                user_name=name,
                hashed_password=hash_password(password),
                is_superuser=superuser,
                is_active=True,
            )
            db.add(user)
        status = "created"
    else:
        _refuse_superuser(user, superuser, "hand out")
        status = "unchanged"
        if reset:
            user.hashed_password = hash_password(_password(op, name, "reset the password of"))
            status = "password-set"
        if not user.is_active:
            user.is_active = True
            status = "reactivated"
        if reset and not_before is not None:
            not_before(db, name)
    db.commit()
    return {"status": status, "superuser": bool(user.is_superuser)}


def _refuse_superuser(user, superuser, action):
    # A hub user's account must never be, or reach, a cluster superuser: refuse before
    # anything changes, unless the request itself is about a superuser.
    if user.is_superuser and not superuser:
        raise OpError(
            f"{user.user_name!r} is a superuser on this cluster; will not {action} that account"
        )


def deactivate(db, models, hash_password, op, not_before=None):
    name = _name(op)
    user = db.query(models.User).filter(models.User.user_name == name).first()
    if user is None:
        return {"status": "missing"}
    _refuse_superuser(user, _flag(op, "superuser"), "deactivate")
    user.is_active = False
    if not_before is not None:
        not_before(db, name)
    db.commit()
    return {"status": "deactivated"}


def list_users(db, models, hash_password, op):
    users = db.query(models.User).order_by(models.User.user_name).all()
    return {
        "users": [
            {"name": u.user_name, "active": bool(u.is_active), "superuser": bool(u.is_superuser)}
            for u in users
        ]
    }


def _database_error(error):
    # The driver's own message ("database is locked"); SQLAlchemy's text would show the
    # statement's parameters, password hashes included
    return f"database error: {getattr(error, 'orig', None) or type(error).__name__}"


OPS = {"ensure": ensure, "deactivate": deactivate, "list": list_users}


def run(ops, package="flux_restful"):
    """Apply the ops in order, each in its own transaction; returns their results.

    ``package`` is the server's: flux_restful, or app for the older server's layout.
    """
    import importlib

    # Imported here: the session module opens ./flux-restful.db when it loads. db.base imports
    # every model (User among them) in both layouts.
    models = importlib.import_module(f"{package}.db.base")
    get_password_hash = importlib.import_module(f"{package}.core.security").get_password_hash
    session = importlib.import_module(f"{package}.db.session")
    Base, SessionLocal, engine = models.Base, session.SessionLocal, session.engine

    Base.metadata.create_all(bind=engine)
    handlers = dict(OPS)
    recorded = []
    if package == "flux_restful":
        # flux-restful 1.1 only: the legacy server (app) has no guard in front of it

        def record(db, name):
            recorded.append(_not_before(db, name))

        for kind in ("ensure", "deactivate"):
            handlers[kind] = functools.partial(OPS[kind], not_before=record)
    if package == "app":
        # Its init_db prints its folder on import: stdout is this script's answer
        with contextlib.redirect_stdout(sys.stderr):
            add_user = importlib.import_module("app.db.init_db").add_user
        handlers["ensure"] = functools.partial(ensure, add_user=add_user)
    results = []
    for op in ops:
        kind = op.get("op") if isinstance(op, dict) else None
        result = {"op": kind}
        if isinstance(op, dict) and "name" in op:
            result["name"] = op["name"]
        db = SessionLocal()
        try:
            if kind not in handlers:
                raise OpError(f"unknown op {kind!r} (use ensure, deactivate or list)")
            result.update(handlers[kind](db, models, get_password_hash, op))
        except OpError as error:
            db.rollback()
            result.update(status="error", error=str(error))
        except Exception as error:  # one broken op must not lose the others' answers
            db.rollback()
            result.update(status="error", error=_database_error(error))
        finally:
            db.close()
        results.append(result)
    if recorded:
        # Return once the recorded second has come (see the top): at most a second
        time.sleep(max(0.0, max(recorded) - time.time()))
    return results


def main():
    try:
        request = json.load(sys.stdin)
        ops = request["ops"]
        if not isinstance(ops, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        print(json.dumps({"error": 'the request must be JSON {"ops": [...]} on stdin'}))
        return 2
    package = "app" if "--legacy" in sys.argv[1:] else "flux_restful"
    try:
        results = run(ops, package)
    except ImportError as error:
        print(json.dumps({"error": f"{package} cannot be imported here: {error}"}))
        return 2
    except Exception as error:  # the database cannot be opened or created
        print(json.dumps({"error": _database_error(error)}))
        return 2
    print(json.dumps({"results": results}))
    return 0


def script_error(stdout, stderr):
    """Why a run of this script failed, for people: its own {"error": ...} answer on stdout,
    else the last lines of its stderr (a traceback's last lines say what went wrong)."""
    try:
        error = json.loads(stdout).get("error")
    except (ValueError, AttributeError, TypeError):
        error = None
    lines = [line for line in (stderr or "").strip().splitlines() if line.strip()]
    return str(error) if error else " | ".join(lines[-3:]) or "no error output"


if __name__ == "__main__":
    sys.exit(main())
