"""The fake cluster's pods and containers (see fakeapi.py for what they stand for)."""

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeContainer:
    name: str
    root: Path
    working_dir: str = ""
    env: list = field(default_factory=list)
    ports: list = field(default_factory=list)
    mounts: dict = field(default_factory=dict)  # container path -> local directory
    python_path: list = field(default_factory=list)  # PYTHONPATH of processes run in it
    bin_path: list = field(default_factory=list)  # first on PATH: the image's own programs
    ready: bool = True

    def local(self, path):
        """The local path of a container path under a mount, else None."""
        for target in sorted(self.mounts, key=len, reverse=True):
            if path == target or path.startswith(target.rstrip("/") + "/"):
                return str(Path(self.mounts[target]) / os.path.relpath(path, target))
        return None

    @property
    def passwd(self):
        return self.root / "etc" / "passwd"

    def users(self):
        """{name: uid} of the container's etc/passwd."""
        out = {}
        for line in self.passwd.read_text().splitlines():
            parts = line.split(":")
            if len(parts) >= 3:
                out[parts[0]] = int(parts[2])
        return out


@dataclass
class FakePod:
    namespace: str
    name: str
    containers: dict
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    hostname: str = ""
    subdomain: str = ""
    phase: str = "Running"
    created: str = field(default_factory=now)
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self):
        containers, statuses = [], []
        for c in self.containers.values():
            spec = {"name": c.name, "image": "ghcr.io/flux-framework/fake:latest"}
            if c.working_dir:
                spec["workingDir"] = c.working_dir
            if c.env:
                spec["env"] = c.env
            if c.ports:
                spec["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in c.ports]
            containers.append(spec)
            running = self.phase == "Running"
            state = (
                {"running": {"startedAt": self.created}}
                if running
                else {"waiting": {"reason": "ContainerCreating"}}
            )
            statuses.append(
                {
                    "name": c.name,
                    "ready": running and c.ready,
                    "started": running,
                    "restartCount": 0,
                    "image": spec["image"],
                    "imageID": "",
                    "state": state,
                }
            )
        ready = self.phase == "Running" and all(c.ready for c in self.containers.values())
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "uid": self.uid,
                "labels": dict(self.labels),
                "annotations": dict(self.annotations),
                "creationTimestamp": self.created,
            },
            "spec": {
                "containers": containers,
                "hostname": self.hostname or None,
                "subdomain": self.subdomain or None,
            },
            "status": {
                "phase": self.phase,
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "containerStatuses": statuses,
            },
        }


# Stand-ins for id, getent and useradd working on $FAKE_CONTAINER_ROOT/etc/passwd and home/
# (never on this machine's). Shell builtins only, so each costs what the real binary costs.
ID_TOOL = r"""#!/bin/sh
if [ "$1" != "-u" ] && [ "$1" != "-g" ] || [ -z "$2" ]; then
  echo "id (container stand-in): only 'id -u NAME' and 'id -g NAME' are supported" >&2; exit 2
fi
while IFS=: read -r user _ uid gid _; do
  if [ "$user" = "$2" ]; then
    if [ "$1" = -u ]; then echo "$uid"; else echo "$gid"; fi
    exit 0
  fi
done < "$FAKE_CONTAINER_ROOT/etc/passwd"
echo "id: '$2': no such user" >&2
exit 1
"""

GETENT_TOOL = r"""#!/bin/sh
if [ "$1" != "passwd" ] || [ $# -ne 1 ]; then
  echo "getent (container stand-in): only 'getent passwd' is supported" >&2; exit 2
fi
exec cat "$FAKE_CONTAINER_ROOT/etc/passwd"
"""

# useradd: -m/-M, -d HOME (a path the exec mapped to a mount's folder, as the real one sees the
# volume; else under the container's root), -u, -c, -K HOME_MODE= and -K UID_MIN=. A home it
# makes is owned by the new uid when this runs as root (as useradd's is); an existing one is
# left as it is, with useradd's warning.
USERADD_TOOL = r"""#!/bin/sh
home=; uid=; comment=; mode=; dir=; floor=1000
while [ $# -gt 1 ]; do
  case "$1" in
    -m|--create-home) home=1; shift ;;
    -M|--no-create-home) home=; shift ;;
    -u|--uid) uid=$2; shift 2 ;;
    -c|--comment) comment=$2; shift 2 ;;
    -d|--home-dir) dir=$2; shift 2 ;;
    -K|--key)
      case "$2" in
        HOME_MODE=*) mode=${2#HOME_MODE=} ;;
        UID_MIN=*) floor=${2#UID_MIN=} ;;
      esac
      shift 2 ;;
    -s|--shell|-g) shift 2 ;;
    *) shift ;;
  esac
done
name=$1 root=$FAKE_CONTAINER_ROOT
passwd=$root/etc/passwd
if [ -f "$root/etc/useradd.fail" ]; then
  while read -r failing; do
    if [ "$failing" = "*" ] || [ "$failing" = "$name" ]; then
      echo "useradd: cannot lock /etc/passwd; try again later." >&2; exit 1
    fi
  done < "$root/etc/useradd.fail"
fi
case "$name" in
  ''|[!a-z_]*|*[!a-z0-9_-]*)
    echo "useradd: invalid user name '$name': use --badname to ignore" >&2; exit 3 ;;
esac
highest=$((floor - 1))
while IFS=: read -r user _ used _; do
  if [ "$user" = "$name" ]; then echo "useradd: user '$name' already exists" >&2; exit 9; fi
  if [ -n "$uid" ] && [ "$used" = "$uid" ]; then
    echo "useradd: UID $uid is not unique" >&2; exit 4
  fi
  if [ "$used" -ge 1000 ] && [ "$used" -lt 60000 ] && [ "$used" -gt "$highest" ]; then
    highest=$used
  fi
done < "$passwd"
uid=${uid:-$((highest + 1))}
work=${root%/*/*/*/*}  # the fake API server's folder: roots/NS/POD/CONTAINER below it
case "$dir" in
  '') dir=/home/$name; local=$root/home/$name ;;
  "$work"/*) local=$dir ;;
  *) local=$root$dir ;;
esac
echo "$name:x:$uid:$uid:$comment:$dir:/bin/sh" >> "$passwd"
# An image with an etc/group: the account's own group, and membership of the image's default
# groups (etc/default/useradd GROUPS=a,b; as useradd -G). Rewritten in place (the file may be
# bound in a pod at /etc/group: a new file would not be seen there).
group=$root/etc/group
if [ -f "$group" ]; then
  joins=
  if [ -f "$root/etc/default/useradd" ]; then
    while IFS== read -r key value; do
      if [ "$key" = GROUPS ]; then joins=$value; fi
    done < "$root/etc/default/useradd"
  fi
  : > "$group.new"
  while IFS= read -r line; do
    gname=${line%%:*}
    case ",$joins," in
      *",$gname,"*)
        case "$line" in *:) line=$line$name ;; *) line=$line,$name ;; esac ;;
    esac
    echo "$line" >> "$group.new"
  done < "$group"
  echo "$name:x:$uid:" >> "$group.new"
  cat "$group.new" > "$group"
  rm -f "$group.new"
fi
if [ -n "$home" ]; then
  if [ -e "$local" ]; then
    echo "useradd: warning: the home directory $dir already exists." >&2
    echo "useradd: Not copying any file from skel directory into it." >&2
  else
    mkdir -p "$local"
    if [ -n "$mode" ]; then chmod "$mode" "$local"; fi
    if [ "$(/usr/bin/id -u)" = 0 ]; then chown "$uid:$uid" "$local"; fi
  fi
fi
"""


SYSTEM_IDS = range(0, 1000)  # the machine's system accounts and groups (and nobody's 65534)
NOBODY = 65534


def _system(line):
    fields = line.split(":")
    return (
        len(fields) >= 3
        and fields[2].isdigit()
        and (int(fields[2]) in SYSTEM_IDS or int(fields[2]) == NOBODY)
    )


def pod_accounts(root, groups=(), passwd="/etc/passwd", group="/etc/group"):
    """A container's etc/passwd and etc/group as a multi-user pod has them: this machine's
    system accounts and groups (uid/gid below 1000 and nobody: root, flux, munge, ..., which the
    pod's Flux instance, MUNGE and IMP run as), then the image's own accounts not named like
    one of them (its flux:1000 gives way to the machine's flux, who owns the instance here).
    ``groups`` are the image's default groups (etc/default/useradd GROUPS=): the accounts made
    later (useradd) join them. System groups keep no members (the machine's people are not
    the pod's). Returns (passwd, group) of the container."""
    root = Path(root)
    system = [ln for ln in Path(passwd).read_text().splitlines() if _system(ln)]
    names = {ln.split(":")[0] for ln in system}
    uids = {ln.split(":")[2] for ln in system}
    mine = root / "etc" / "passwd"
    image = [
        ln
        for ln in mine.read_text().splitlines()
        if ln.split(":")[0] not in names and ln.split(":")[2:3] and ln.split(":")[2] not in uids
    ]
    mine.write_text("".join(f"{ln}\n" for ln in system + image))
    group_lines = [
        ":".join(ln.split(":")[:3]) + ":"
        for ln in Path(group).read_text().splitlines()
        if _system(ln)
    ]
    taken = {ln.split(":")[0] for ln in group_lines}
    group_lines += [
        f"{ln.split(':')[0]}:x:{ln.split(':')[3]}:"
        for ln in image
        if len(ln.split(":")) > 3 and ln.split(":")[0] not in taken
    ]
    group_file = root / "etc" / "group"
    group_file.write_text("".join(f"{ln}\n" for ln in group_lines))
    if groups:
        (root / "etc" / "default").mkdir(exist_ok=True)
        (root / "etc" / "default" / "useradd").write_text(f"GROUPS={','.join(groups)}\n")
    return mine, group_file


def write_tools(directory):
    for name, body in (("id", ID_TOOL), ("getent", GETENT_TOOL), ("useradd", USERADD_TOOL)):
        path = Path(directory) / name
        path.write_text(body)
        path.chmod(0o755)
