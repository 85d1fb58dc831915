"""Provisioning 200 accounts vs. 200 bcrypt hashes, and a hub start with 200 existing users.

JupyterHub calls add_user for every user at every start. Each start here is a fresh process
running JupyterHub's own start-up (JupyterHub.initialize: database, users, services) with 200
allowed users and FluxAuthenticator provisioning into a local flux-restful database; the time
spent inside add_user is summed.

- First start: 200 new users. Each new account needs one bcrypt hash (cost 12, as
  flux-restful makes them), so the baseline is 200 x bcrypt.hashpw at cost 12 in this process,
  measured in two halves around the start so that load on this shared machine hits both sides
  alike. Everything else (naming, passwords, ONE DB-script process for the batch, sqlite, the
  encrypted store) should be small beside it.
- Second start: the 200 exist; add_user must cost no process and no hash.

    python bench/hub_accounts.py   # goals: first start <= 1.30x the baseline, 1 process;
                                   #        restart <= 2 s in add_user, 0 processes
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

import bcrypt

USERS = 200
GOAL_RATIO = 1.30
GOAL_SECONDS = 2.0


def bcrypt_baseline(count):
    start = time.perf_counter()
    for i in range(count):
        bcrypt.hashpw(f"password-{i}".encode(), bcrypt.gensalt(12))
    return time.perf_counter() - start


def child(state):
    """One hub start in this process; prints what add_user cost as JSON."""
    from jupyterhub.app import JupyterHub
    from traitlets.config import Config

    from flux_hub.hub import FluxAuthenticator

    class TimedFluxAuthenticator(FluxAuthenticator):
        spent = 0.0
        calls = 0

        async def add_user(self, user):
            start = time.perf_counter()
            try:
                await super().add_user(user)
            finally:
                TimedFluxAuthenticator.spent += time.perf_counter() - start
                TimedFluxAuthenticator.calls += 1

    c = Config()
    c.JupyterHub.authenticator_class = TimedFluxAuthenticator
    c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
    c.JupyterHub.cookie_secret_file = f"{state}/jupyterhub_cookie_secret"
    c.JupyterHub.log_level = "WARN"
    c.Authenticator.allowed_users = {f"user{i:03d}" for i in range(USERS)}
    c.FluxAccounts.store_path = f"{state}/accounts.sqlite"
    c.LocalProvisioner.server_dir = f"{state}/cluster"
    c.LocalProvisioner.cluster_url = "http://127.0.0.1:5000"

    app = JupyterHub(config=c)
    start = time.perf_counter()
    asyncio.run(app.initialize([]))
    total = time.perf_counter() - start
    auth = app.authenticator
    print(
        json.dumps(
            {
                "add_user": TimedFluxAuthenticator.spent,
                "calls": TimedFluxAuthenticator.calls,
                "processes": auth.accounts.provisioner.runs,
                "initialize": total,
                "active": sum(r.state == "active" for r in auth.accounts.records().values()),
            }
        )
    )


def start_hub(state):
    done = subprocess.run(
        [sys.executable, __file__, "--child", state],
        capture_output=True,
        text=True,
        cwd=state,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"hub start failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    # Accounts go into flux-restful's database by its account script; no Flux instance runs
    print("flux: none (provisioning writes flux-restful's database; no Flux instance runs)")
    os.environ.setdefault("JUPYTERHUB_CRYPT_KEY", os.urandom(32).hex())
    with tempfile.TemporaryDirectory() as state:
        baseline = bcrypt_baseline(USERS // 2)
        first = start_hub(state)
        baseline += bcrypt_baseline(USERS - USERS // 2)
        second = start_hub(state)
    ratio = first["add_user"] / baseline
    print(f"{USERS} x bcrypt.hashpw(cost 12), baseline:        {baseline:7.2f} s")
    for label, run in (("hub start, 200 new users", first), ("hub restart, 200 existing", second)):
        print(
            f"{label:26s} add_user total: {run['add_user']:7.2f} s over {run['calls']} calls, "
            f"{run['processes']} DB-script process(es); initialize {run['initialize']:6.2f} s; "
            f"{run['active']} active accounts"
        )
    print(f"ratio new accounts / bcrypt baseline: {ratio:.2f}x   (goal <= {GOAL_RATIO:.2f}x)")
    print(f"restart add_user: {second['add_user']:.3f} s          (goal <= {GOAL_SECONDS:.1f} s)")
    print(f"RESULT provisioning_vs_bcrypt={ratio:.3f} goal=<={GOAL_RATIO} {USERS} new accounts")
    print(f"RESULT provisioning_processes={first['processes']} goal=1 DB-script runs, {USERS} new")
    print(f"RESULT hub_restart_add_user_s={second['add_user']:.3f} goal=<={GOAL_SECONDS} seconds")
    print(f"RESULT hub_restart_processes={second['processes']} goal=0 DB-script runs at a restart")
    ok = (
        ratio <= GOAL_RATIO
        and first["processes"] == 1
        and second["add_user"] <= GOAL_SECONDS
        and second["processes"] == 0
        and second["active"] == USERS
    )
    print("OK" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        sys.exit(main())
