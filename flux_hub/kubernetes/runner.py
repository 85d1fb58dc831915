"""Account work inside a MiniCluster through `pods/exec`: one exec per batch, not per user.

- The flux-restful DB: the DB script (flux_hub/provision/dbscript.py; its docstring gives the
  request and answer format) runs in the broker's flux-restful container as
  `python3 -c BOOTSTRAP WORKDIR`. Its source and the request (passwords included) travel on stdin
  as one JSON line, so nothing secret is in argv and the command ends on its own on v4 exec
  streams, which cannot signal the end of stdin.
- Multi-user mode: the Linux account on every (pod, container) of the MiniCluster, made
  idempotently (`useradd -m NAME` unless NAME exists), one exec per container per batch. The
  broker's flux-restful container goes first; the others get the same uid (`useradd -u`),
  since Flux runs a job as a uid on whichever node it lands.
- With a shared volume (`home_template`, e.g. /shared/home/{account}) the account's home is its
  folder there: the broker makes it (`useradd -m -d HOME`, mode 0700, owned by the account's
  uid), the others only point at it (`-M -d HOME`). A folder kept from before (a replaced
  broker pod starts with no accounts) gives its owner's uid back to its account, and a new
  account's uid is above every folder owner's, so nobody is ever handed another's files.
- Only a folder that nobody but root (flux-hub) could have made gives its uid back: its parent
  (and every folder above) root's and writable by nobody else, the folder a real directory
  owned by a uid from 1000 to 59999 that no account and no other folder there has. Else the
  account is refused with a sentence saying what to fix: on a parent others can write to, any
  tenant (jobs run as their uid) could make PARENT/carol before carol's account exists and so
  choose carol's uid ("uid planting"), their own or another's. A person's folder is made only
  under such a parent as well (ID_SCRIPT). Both scripts carry the one rule (TRUSTED_PARENT).
"""

import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flux_hub.accounts.system import COMMENT, NOT_MADE_BY_FLUX_HUB, awk_made_by_flux_hub
from flux_hub.names import account_name_error, is_account_name
from flux_hub.provision.dbscript import script_error

from .errors import ExecFailed, KubernetesError, PodNotFound
from .execution import PodExec

# Reads exactly one line (the job), so it never waits for an end of stdin; chdir to the
# server's working directory ('' keeps the exec's own), then runs the DB script as __main__
# with the request as its stdin. With `-c`, sys.path[0] is the working directory, so the
# legacy server's `app` package there is importable.
BOOTSTRAP = """\
import io, json, os, sys
job = json.loads(sys.stdin.readline())
if sys.argv[1]:
    os.chdir(sys.argv[1])
sys.argv = ["flux-hub-dbscript"] + job["args"]
sys.stdin = io.StringIO(job["request"])
exec(compile(job["source"], "flux-hub-dbscript", "exec"), {"__name__": "__main__"})
"""

# A shell function both scripts start with: `untrusted DIR` prints why files in DIR could have
# been made by somebody other than root, ending with what to do ("" when only root could have:
# DIR root's and writable by nobody else, and so is every folder above it, but for a sticky one
# such as /tmp, whose root-owned entries only root can move or replace). The physical path is
# checked (cd -P): a symbolic link on the way counts as where it leads.
TRUSTED_PARENT = """\
untrusted() {
  d=$(cd -P -- "$1" 2>/dev/null && pwd -P) || { echo "$1 cannot be read"; return; }
  first=1
  while :; do
    s=$(stat -c '%u %g %a' -- "$d") || { echo "$d cannot be read"; return; }
    set -- $s
    if [ "$1" != 0 ]; then
      echo "$d belongs to uid $1, not root; make $d root's and 0755"; return
    fi
    if [ -n "$first" ] || [ $((0$3 & 01000)) = 0 ]; then
      if [ $((0$3 & 02)) != 0 ]; then
        echo "$d is writable by others; make $d root's and 0755"; return
      fi
      if [ $((0$3 & 020)) != 0 ]; then
        echo "$d is writable by its group (gid $2); make $d root's and 0755"; return
      fi
    fi
    if [ "$d" = / ]; then return; fi
    d=${d%/*}; d=${d:-/}; first=
  done
}
"""

# argv: [HOME_TEMPLATE] NAME:UID ... (UID empty: let useradd choose; the broker's batch).
# HOME_TEMPLATE: absolute, PARENT/{account}, the homes on a volume every container shares: the
# broker's batch makes NAME's folder PARENT/NAME (0700) with a uid above every folder owner's
# (UID_MIN) when there is none; the other containers' batches (UIDs given) only point at it (-M).
# A folder PARENT/NAME that is there already gives its owner's uid back only when nobody but
# root could have made it (`untrusted` PARENT says nothing; a real directory; a uid from 1000
# to 59999 that no account has and no other entry of PARENT is owned by); else NAME is refused
# with what to do, and no account is made. Prints "ok NAME UID" or "failed NAME MESSAGE" per
# name; names are separate argv words, never part of the script.
# As on one machine (flux_hub/accounts/system.py): an account flux-hub makes carries COMMENT
# ("flux-hub account") first in its GECOS field and a private home (0700); an existing account
# of the name that flux-hub did not make (an image's own user, a system account) is refused,
# never adopted: MADE_BY_FLUX_HUB below is system.made_by_flux_hub written in awk, FOREIGN_REASON
# its refusal, FLUX_HUB_COMMENT its COMMENT.
# Idempotent: one pass of awk over `getent passwd` answers for the existing accounts, and
# `useradd -m` runs only for the missing ones, so a batch of existing accounts (every hub
# start) costs two processes per container whatever its size.
USERADD = (
    TRUSTED_PARENT
    + """\
template=
case "$1" in /*) template=$1; shift ;; esac
parent=${template%/*}
getent passwd | awk -F: -v want="$*" '
  { uid[$1] = $3; gecos[$1] = $5 }
  END {
    n = split(want, specs, " ")
    for (i = 1; i <= n; i++) {
      split(specs[i], part, ":")
      if (!(part[1] in uid)) print "missing", specs[i]
      else if (MADE_BY_FLUX_HUB)
        print "ok", part[1], uid[part[1]]
      else print "foreign", part[1]
    }
  }' | while read -r state spec found; do
  if [ "$state" = ok ]; then printf 'ok %s %s\\n' "$spec" "$found"; continue; fi
  if [ "$state" = foreign ]; then
    printf 'failed %s %s\\n' "$spec" "FOREIGN_REASON"
    continue
  fi
  name=${spec%:*}; uid=${spec##*:}
  set -- -m -K HOME_MODE=0700
  if [ -n "$template" ] && [ -n "$uid" ]; then
    set -- -M -d "$parent/$name"
  elif [ -n "$template" ]; then
    home=$parent/$name
    refusal=
    if [ -L "$home" ] || { [ -e "$home" ] && [ ! -d "$home" ]; }; then
      refusal="$home is not a folder (a symbolic link or a file): flux-hub makes no home \\
through it; move it away"
    elif [ -d "$home" ]; then
      owner=$(stat -c %u -- "$home")
      why=$(untrusted "$parent")
      if [ -n "$why" ]; then
        refusal="the folder $home is owned by uid $owner, which flux-hub cannot trust: $why, \\
then move $home away unless it holds $name's files"
      elif [ "$owner" -lt 1000 ] || [ "$owner" -ge 60000 ]; then
        refusal="the folder $home is owned by uid $owner, which is no account's uid (1000 to \\
59999): move it away, or chown -R it to the uid $name had"
      else
        taken=$(getent passwd | awk -F: -v u="$owner" '$3 == u { print $1; exit }')
        other=$(stat -c '%u %n' -- "$parent"/* "$parent"/.[!.]* 2>/dev/null |
          awk -v u="$owner" -v me="$home" '{ p = substr($0, index($0, " ") + 1) }
            $1 == u && p != me { print p; exit }')
        if [ -n "$taken" ]; then
          refusal="the folder $home is owned by uid $owner, which is already $taken's: \\
flux-hub gives no uid to two accounts; move the folder away, or chown -R it to the uid $name had"
        elif [ -n "$other" ]; then
          refusal="the folder $home is owned by uid $owner, as $other is: flux-hub cannot \\
tell whose uid it is; move away the one that is not its owner's"
        else
          uid=$owner
        fi
      fi
    else
      # A new home too, only where nobody else can meddle: under a parent others can write
      # to, a tenant could put a folder (or a link) of theirs in its place as it is made.
      [ -e "$parent" ] || mkdir -p -m 0755 -- "$parent"
      why=$(untrusted "$parent")
      if [ -n "$why" ]; then
        refusal="$name's folder cannot be made in $parent: $why"
      else
        floor=$(stat -c %u "$parent"/* 2>/dev/null | awk 'BEGIN { m = 1000 }
          $1 >= m && $1 < 60000 { m = $1 + 1 } END { print m }')
        set -- "$@" -K UID_MIN="$floor"
      fi
    fi
    if [ -n "$refusal" ]; then printf 'failed %s %s\\n' "$name" "$refusal"; continue; fi
    set -- "$@" -d "$home"
  fi
  if err=$(useradd "$@" -c "FLUX_HUB_COMMENT $name" ${uid:+-u "$uid"} "$name" 2>&1); then
    printf 'ok %s %s\\n' "$name" "${uid:-$(id -u "$name")}"
  else
    printf 'failed %s %s\\n' "$name" "$(printf '%s' "$err" | tr '\\n' ' ')"
  fi
done
"""
).replace("MADE_BY_FLUX_HUB", awk_made_by_flux_hub("uid[part[1]]", "gecos[part[1]]"))
USERADD = USERADD.replace("FLUX_HUB_COMMENT", COMMENT).replace(
    "FOREIGN_REASON", NOT_MADE_BY_FLUX_HUB
)

# argv: NAME [HOME]. Prints "UID GID" of a Linux account (exit status 1 when it does not exist)
# and, with HOME (its folder on the shared volume), that folder's owner's uid, after making it
# (0700, the account's) when it is missing: an account made before the volume was configured.
# A missing folder is made only where nobody but root can meddle (`untrusted` its parent says
# nothing; a parent that is not there is made, root's and 0755); else it prints
# "failed MESSAGE" (why, and what to do), exit status 2.
ID_SCRIPT = (
    TRUSTED_PARENT
    + """\
uid=$(id -u "$1") && gid=$(id -g "$1") || exit 1
if [ -z "$2" ]; then echo "$uid $gid"; exit 0; fi
if [ ! -e "$2" ] && [ ! -L "$2" ]; then
  parent=${2%/*}
  if [ ! -d "$parent" ]; then mkdir -p -m 0755 -- "$parent"; fi
  why=$(untrusted "$parent")
  if [ -n "$why" ]; then echo "failed $why"; exit 2; fi
  if ! err=$(mkdir -m 0700 -- "$2" 2>&1 && chown -- "$uid:$gid" "$2" 2>&1); then
    echo "failed $(printf '%s' "$err" | tr '\\n' ' ')"; exit 2
  fi
fi
echo "$uid $gid $(stat -c %u -- "$2")"
"""
)


def dbscript_source():
    spec = importlib.util.find_spec("flux_hub.provision.dbscript")
    return Path(spec.origin).read_text()


class MiniClusterRunner:
    """Runs account batches in one MiniCluster found by a MiniClusterLocator."""

    def __init__(self, locator, *, python="python3", timeout=600.0, parallel=4, home_template=""):
        self.locator = locator
        self.python = python
        self.parallel = parallel
        self.home_template = home_template  # "" or PARENT/{account} on the shared volume
        self.exec = PodExec(locator.core.api_client, locator.namespace, timeout=timeout)
        self._info = None

    @property
    def info(self):
        """The MiniCluster as last discovered (discovered on first use)."""
        if self._info is None:
            self.discover()
        return self._info

    def discover(self):
        """Look the MiniCluster up again: pods are replaced when they restart."""
        self._info = self.locator.discover()
        return self._info

    def run_dbscript(self, request):
        """Run the DB script once on `request` (a JSON line); return its stdout."""
        try:
            return self._run_dbscript(self.discover(), request)
        except PodNotFound:
            # The broker pod was replaced between discovery and exec: look again, once.
            return self._run_dbscript(self.discover(), request)

    def ensure_linux_users(self, names, info=None):
        """Make the Linux accounts exist everywhere (multi-user mode) -> {name: error} of failures.

        A name that failed anywhere is reported with where and why; the caller then leaves its
        DB account alone, so nobody gets a login whose jobs cannot run.
        """
        info = info or self.discover()
        errors = {n: account_name_error(n) for n in names if not is_account_name(n)}
        todo = [n for n in dict.fromkeys(names) if n not in errors]
        if not todo or not info.user_targets:
            return errors
        first, *rest = info.user_targets
        self.locator.require_ready(*first)
        uids = {}
        for name, (ok, value) in self._useradd(first, [(n, "") for n in todo]).items():
            if ok:
                uids[name] = value
            else:
                errors[name] = f"useradd failed in pod {first[0]} ({first[1]}): {value}"
        if uids and rest:
            specs = list(uids.items())
            with ThreadPoolExecutor(max_workers=min(self.parallel, len(rest))) as pool:
                answers = pool.map(lambda target: self._useradd_or_error(target, specs), rest)
                for (pod, container), answer in zip(rest, answers, strict=True):
                    for name, uid in specs:
                        error = _follower_error(answer, name, uid, first[0])
                        if error and name not in errors:
                            errors[name] = f"useradd failed in pod {pod} ({container}): {error}"
        return errors

    def linux_ids(self, name, info=None):
        """(uid, gid, owner) of the Linux account `name` where the broker's batch makes it
        (multi-user mode); owner: the uid owning its folder on the shared volume (home_template;
        made if missing), else None. None when the account is not there (a replaced pod that
        has not got it back yet). Raises KubernetesError, saying why and what to do, when its
        missing folder cannot be made safely (a parent others can write to)."""
        info = info or self.info
        if not info.user_targets:
            return None
        pod, container = info.user_targets[0]
        home = [self.home_template.replace("{account}", name)] if self.home_template else []
        result = self.exec.run(
            pod, container, ["sh", "-c", ID_SCRIPT, "flux-hub-id", name, *home], check=False
        )
        if result.stdout.startswith("failed "):
            raise KubernetesError(
                f"The folder {home[0]} of the Linux account {name} cannot be made in pod {pod} "
                f"({container}): {result.stdout[len('failed ') :].strip()}."
            )
        words = result.stdout.split()
        if (
            result.exit_code != 0
            or len(words) != 2 + len(home)
            or not all(w.isdigit() for w in words)
        ):
            return None
        uid, gid, *owner = map(int, words)
        return uid, gid, (owner[0] if owner else None)

    def _run_dbscript(self, info, request):
        self.locator.require_ready(info.broker_pod, info.restful_container)
        job = {
            "source": dbscript_source(),
            "args": ["--legacy"] if info.layout == "legacy" else [],
            "request": request,
        }
        result = self.exec.run(
            info.broker_pod,
            info.restful_container,
            [self.python, "-c", BOOTSTRAP, info.workdir],
            stdin=json.dumps(job, separators=(",", ":")) + "\n",
            check=False,
        )
        if result.exit_code != 0:
            raise ExecFailed(
                f"The account script failed in pod {info.broker_pod} (container "
                f"{info.restful_container}, exit code {result.exit_code}): "
                + script_error(result.stdout, result.stderr),
                exit_code=result.exit_code,
                stderr=result.stderr,
            )
        return result.stdout

    def _useradd(self, target, specs):
        """{name: (True, uid) | (False, message)} from one exec in one container."""
        pod, container = target
        result = self.exec.run(
            pod,
            container,
            ["sh", "-c", USERADD, "flux-hub-useradd"]
            + ([self.home_template] if self.home_template else [])
            + [f"{n}:{uid}" for n, uid in specs],
        )
        answers = {}
        for line in result.stdout.splitlines():
            state, _, rest = line.partition(" ")
            name, _, value = rest.partition(" ")
            if state in ("ok", "failed") and name:
                answers[name] = (state == "ok", value.strip())
        for name, _ in specs:
            answers.setdefault(name, (False, "no answer from the script"))
        return answers

    def _useradd_or_error(self, target, specs):
        try:
            return self._useradd(target, specs)
        except KubernetesError as e:
            return e


def _follower_error(answer, name, uid, broker):
    """What went wrong for `name` in one follower container (None: it has the right uid)."""
    if isinstance(answer, KubernetesError):
        return str(answer)
    ok, value = answer[name]
    if not ok:
        return value
    if value != uid:
        return f"{name} has uid {value} there but {uid} in pod {broker}"
    return None
