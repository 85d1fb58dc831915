"""Mount namespaces for the fake cluster: a "pod" sees its volumes at their mount paths only.

The fake operator runs every MiniCluster's processes on this machine, so without this a lab path
would exist in the "cluster" too. Here each MiniCluster's flux-restful, its Flux instance and
every job it starts run in one mount namespace of their own (``unshare -m``, root), where:
- each volume's folder (a claim is a folder of the fake API server's: ``claim_dir``) is
  bind-mounted at its mount path (e.g. /shared): the mount point is an empty folder on this
  machine, so outside the pod that path holds nothing;
- the fake API server's own folder of claims is hidden (an empty read-only tmpfs over it), so a
  lab-side path of the same files does not exist inside the pod.

The same wrapper gives a test hub's single-user server its lab view (``lab_argv``): the
person's folder of the volume at the lab's path (e.g. /home/jovyan).
"""

import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from flux_hub.local import LocalCluster

UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
HIDDEN_OPTIONS = "ro,mode=0755,size=4k"


def claim_dir(api, namespace, claim):
    """The fake API server's folder behind PersistentVolumeClaim ``claim`` (made if missing)."""
    folder = Path(api.workdir) / "volumes" / namespace / claim
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def claims_root(api):
    """The folder of every claim of the fake API server (hidden inside its pods)."""
    folder = Path(api.workdir) / "volumes"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# A mount path under this folder is made in the pod's own (a tmpfs over it, as an image has a
# /home of its own), never on this machine: an empty /home/carol made here as root would become
# the home of a real account carol made later by another test.
IMAGE_HOME = "/home"


def _in_image_home(path):
    return str(path).startswith(IMAGE_HOME + "/")


def ensure_mount_point(path):
    """The mount point exists on this machine, as an empty folder nobody writes to (a file
    there would be visible to the lab side too, which is what these namespaces prevent).
    Mount points under /home are made in the namespace instead."""
    if _in_image_home(path):
        return None
    point = Path(path)
    point.mkdir(mode=0o755, parents=True, exist_ok=True)
    return point


def setup_script(mounts, hidden=(), quote=shlex.quote):
    """sh commands that bind each (source, target, read_only) and hide each folder of
    ``hidden``; ``quote`` makes a source a shell word (the lab's may name $JUPYTERHUB_USER)."""
    lines = ["set -e"]
    if any(_in_image_home(target) for _, target, _ in mounts):
        lines.append(f"mount -t tmpfs -o mode=0755,size=1m flux-hub-image-home {IMAGE_HOME}")
    for source, target, read_only in mounts:
        if _in_image_home(target):
            lines.append(f"mkdir -p {shlex.quote(str(target))}")
        lines.append(f"mount --bind {quote(str(source))} {shlex.quote(str(target))}")
        if read_only:
            lines.append(f"mount -o remount,bind,ro {shlex.quote(str(target))}")
    for folder in hidden:
        lines.append(
            f"mount -t tmpfs -o {HIDDEN_OPTIONS} flux-hub-hidden {shlex.quote(str(folder))}"
        )
    return "; ".join(lines)


def unshare_argv(mounts, hidden, argv, label="pod-namespace"):
    """argv run in a new private mount namespace set up by ``setup_script`` (the same process:
    unshare and sh exec it, so its pid, session and signals are argv's)."""
    script = setup_script(mounts, hidden) + '; exec "$@"'
    return [UNSHARE, "--mount", "--propagation", "private", "--", "sh", "-c", script, label, *argv]


def enter_argv(pid, argv, cwd=None):
    """argv run in the mount namespace of process ``pid`` (nsenter execs it), in ``cwd`` there:
    entering a mount namespace moves a process to its root, so without it a server that joins
    its instance's pod would make its relative files (flux-restful's database) at /."""
    wd = [f"--wd={cwd}"] if cwd is not None else []
    return [NSENTER, f"--target={pid}", "--mount", *wd, "--", *argv]


def drop_argv(uid, gid, argv):
    """argv run as uid:gid with no supplementary groups, once the namespace is entered."""
    return [SETPRIV, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *argv]


class PodCluster(LocalCluster):
    """A LocalCluster whose processes (the server, the Flux instance, hence every job) run in
    one mount namespace: the broker pod's, with ``mounts`` [(source, target, read_only)] and
    ``hidden`` folders. The first process started makes it, the others join it; it ends with
    them (a restart makes it afresh, as a new pod would).

    Only LocalCluster._popen is wrapped: the argv gets a prefix, and a process LocalCluster starts
    as another account (the multi-user instance's owner) switches after it joined the namespace
    (joining needs root)."""

    def __init__(self, *args, mounts=(), hidden=(), **kwargs):
        self.pod_mounts = [(str(s), str(t), bool(ro)) for s, t, ro in mounts]
        self.pod_hidden = [str(h) for h in hidden]
        self.namespace_starts = []  # seconds the namespace's set-up took, per pod start
        super().__init__(*args, **kwargs)

    def namespace_pid(self):
        """A running process of this cluster (its mount namespace), or None."""
        for proc in (self._instance, self._proc):
            if proc is not None and proc.poll() is None:
                return proc.pid
        return None

    def _popen(self, argv, message, cwd=None, env=None, **kwargs):
        instance = bool(kwargs)
        user, group = kwargs.pop("user", None), kwargs.pop("group", None)
        kwargs.pop("extra_groups", None)
        if user is not None:
            argv = drop_argv(user, group if group is not None else user, argv)
        joined = self.namespace_pid()
        if joined is not None:
            argv = enter_argv(joined, argv, cwd=cwd or self.state_dir)
        else:
            for source, target, _ in self.pod_mounts:
                if os.path.isdir(source):
                    ensure_mount_point(target)
            argv = unshare_argv(self.pod_mounts, self.pod_hidden, argv)
        if instance and not kwargs:
            kwargs["pass_fds"] = ()  # LocalCluster tells its instance by Popen's extra arguments
        return super()._popen(argv, message, cwd=cwd, env=env, **kwargs)


def lab_argv(binds, argv, hidden=()):
    """A lab-side process (a single-user server): ``binds`` {lab path: folder} in a mount
    namespace of its own; a folder may name {user} (the hub user, $JUPYTERHUB_USER when it
    starts; the folder is made if missing)."""
    mounts = [(str(source), target, False) for target, source in binds.items()]
    for _, target, _ in mounts:
        ensure_mount_point(target)

    def quote(source):
        head, *rest = source.split("{user}")
        word = shlex.quote(head) + "".join('"$JUPYTERHUB_USER"' + shlex.quote(r) for r in rest)
        return word

    made = "".join(f"; mkdir -p {quote(source)}" for source, _, _ in mounts)
    script = setup_script(mounts, hidden, quote=quote).replace("set -e", "set -e" + made, 1)
    script += '; exec "$@"'
    return [UNSHARE, "--mount", "--propagation", "private", "--", "sh", "-c", script, "lab", *argv]


def namespace_cost(runs=20, mounts=1):
    """Seconds a process start costs with a namespace of ``mounts`` binds and one hidden
    folder, and without: (median with, median without), over ``runs`` starts of /bin/true."""
    import tempfile

    with tempfile.TemporaryDirectory() as top:
        top = Path(top)
        binds = []
        for number in range(mounts):
            (top / f"src{number}").mkdir()
            (top / f"dst{number}").mkdir()
            binds.append((top / f"src{number}", top / f"dst{number}", False))
        (top / "hide").mkdir()
        timed = {}
        for label, argv in (
            ("with", unshare_argv(binds, [top / "hide"], ["/bin/true"])),
            ("without", ["/bin/true"]),
        ):
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run(argv, check=True)
                samples.append(time.perf_counter() - start)
            timed[label] = sorted(samples)[len(samples) // 2]
    return timed["with"], timed["without"]


def mount_namespace(pid):
    """The mount namespace of ``pid`` (its /proc link), to tell pods' namespaces apart."""
    return os.readlink(f"/proc/{pid}/ns/mnt")
