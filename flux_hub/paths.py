"""A person's files as their JupyterLab sees them and as their Flux jobs see them.

On one machine both see one filesystem: a path is the same everywhere. On Kubernetes the person's
JupyterLab pod and the MiniCluster's pods mount a shared volume at different places (the lab's
``/home/jovyan`` is the cluster's ``/shared/home/alice``), or share nothing at all. The hub tells
each person's server which in ``FLUX_HUB_PATHS`` (kernels and terminals inherit it):

- unset: the same filesystem; every path is its own cluster path;
- ``""``: nothing is shared (Kubernetes with no shared volume);
- ``"LAB=CLUSTER;LAB2=CLUSTER2"``: absolute prefixes, the lab's on the left; the first pair is the
  person's own folder.

Every front-end (the panel's form and file-browser submit, ``flux-hub submit``, the notebook API,
``%%flux``) sends a job's working directory through ``PathMap.to_cluster`` and shows it back
through ``PathMap.to_lab``. Pure: nothing here touches the filesystem or the network.
"""

import os
import posixpath
import re

ENV = "FLUX_HUB_PATHS"
_HELP = "see examples/kubernetes/README.md, 'Your files on the cluster'"
_PLACEHOLDER = re.compile(r"\{(account|username)\}")


class PathNotShared(ValueError):
    """A path the Flux cluster cannot see (one line naming the folders it can)."""


class NoSharedStorage(PathNotShared):
    """The Flux cluster sees none of the person's files: no shared storage is configured."""

    def __init__(self, message=None):
        super().__init__(
            message
            or f"the Flux cluster cannot see your files: no shared storage is configured ({_HELP})"
        )


class ClusterPath(str):
    """A path as the cluster sees it already: ``PathMap.to_cluster`` passes it on unchanged.

    For a folder only the cluster has (``workdir=ClusterPath("/scratch/run1")``), and for a
    front-end that translated a path once already."""


def _clean(path, what):
    """``path`` as an absolute, normalized POSIX path (no trailing slash, no ``..``)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"{ENV}: {what} must be an absolute path, not {path!r}")
    if "\0" in path:
        raise ValueError(f"{ENV}: {what} contains a NUL character")
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/")  # normpath keeps a leading "//"


def _norm(path):
    return "/" + posixpath.normpath(path).lstrip("/")


def _under(path, prefix):
    """The rest of ``path`` below ``prefix`` ("" for the prefix itself), or None if outside."""
    if path == prefix:
        return ""
    base = prefix if prefix.endswith("/") else prefix + "/"
    return path[len(base) :] if path.startswith(base) else None


def _join(prefix, rest):
    return posixpath.join(prefix, rest) if rest else prefix


class PathMap:
    """How the lab's paths map to the cluster's (see the module's documentation)."""

    def __init__(self, pairs=None):
        """``pairs``: [(lab prefix, cluster prefix)], the person's own folder first; None for
        the same filesystem, [] for nothing shared."""
        self.pairs = None if pairs is None else [tuple(pair) for pair in pairs]

    @classmethod
    def from_env(cls, environ=None):
        """The map ``FLUX_HUB_PATHS`` describes (``environ``: default os.environ)."""
        environ = os.environ if environ is None else environ
        return cls.parse(environ.get(ENV))

    @classmethod
    def parse(cls, text):
        """The map of a ``FLUX_HUB_PATHS`` value (None: unset); ValueError in one line if the
        text is not ``LAB=CLUSTER;...`` with absolute paths."""
        if text is None:
            return cls(None)
        if not isinstance(text, str):
            raise ValueError(f"{ENV} must be text, not {type(text).__name__}")
        pairs = []
        for item in text.split(";"):
            if not item.strip():
                continue
            lab, equals, cluster = item.partition("=")
            if not equals:
                raise ValueError(f"{ENV}: {item.strip()!r} is not LAB=CLUSTER (two absolute paths)")
            pairs.append(
                (_clean(lab.strip(), "a lab folder"), _clean(cluster.strip(), "a cluster folder"))
            )
        return cls(pairs)

    def format(self):
        """The ``FLUX_HUB_PATHS`` text of this map (None: the same filesystem, leave it unset)."""
        if self.pairs is None:
            return None
        return ";".join(f"{lab}={cluster}" for lab, cluster in self.pairs)

    def __repr__(self):
        return f"PathMap({self.format()!r})"

    def __eq__(self, other):
        return isinstance(other, PathMap) and self.pairs == other.pairs

    same_filesystem = property(lambda self: self.pairs is None, doc="one filesystem (unset)")
    shared = property(lambda self: self.pairs is None or bool(self.pairs), doc="anything shared")

    @property
    def home(self):
        """The cluster path of the person's own folder (the first pair), or None."""
        return self.pairs[0][1] if self.pairs else None

    @property
    def lab_home(self):
        """The lab path of the person's own folder (the first pair), or None."""
        return self.pairs[0][0] if self.pairs else None

    def describe(self):
        """The folders the cluster can see, for messages: "/home/jovyan (there: /shared/...)"."""
        return ", ".join(f"{lab} (there: {cluster})" for lab, cluster in self.pairs or ())

    def to_cluster(self, path):
        """The cluster's path of an absolute lab path. A ClusterPath, or a path already under a
        cluster folder, passes unchanged. PathNotShared (NoSharedStorage when nothing is
        shared) for a path the cluster cannot see."""
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if isinstance(path, ClusterPath):
            return str(path)
        if not isinstance(path, str) or not path.startswith("/"):
            raise PathNotShared(f"{path!r} is not an absolute path")
        if self.pairs is None:
            return path
        if not self.pairs:
            raise NoSharedStorage()
        clean = _norm(path)
        found = self._longest(clean, 0)
        if found is not None:
            (lab, cluster), rest = found
            return _join(cluster, rest)
        if self._longest(clean, 1) is not None:
            return clean
        raise PathNotShared(
            f"{path} is not in a folder the Flux cluster can see: only {self.describe()}"
        )

    def to_lab(self, cluster_path):
        """The lab's path of a cluster path, or None if the lab cannot see it (or it is not an
        absolute path)."""
        if not isinstance(cluster_path, str) or not cluster_path.startswith("/"):
            return None
        if self.pairs is None:
            return cluster_path
        found = self._longest(_norm(cluster_path), 1)
        if found is None:
            return None
        (lab, cluster), rest = found
        return _join(lab, rest)

    def _longest(self, path, side):
        """((lab, cluster), rest) of the pair whose ``side`` prefix holds ``path`` most closely."""
        best = None
        for pair in self.pairs:
            rest = _under(path, pair[side])
            if rest is not None and (best is None or len(pair[side]) > len(best[0][side])):
                best = (pair, rest)
        return best

    def default_workdir(self, cwd=None, *, option="--cwd"):
        """The working directory a job gets when the person names none: the cluster's path of
        the current directory (``cwd``); None when nothing is shared (the cluster then starts
        the job in the person's own folder). PathNotShared when the cluster has shared folders
        but not this one, saying to give one with ``option``."""
        if self.pairs is not None and not self.pairs:
            return None
        try:
            cwd = os.getcwd() if cwd is None else os.fspath(cwd)
        except FileNotFoundError:
            raise PathNotShared(
                f"the current directory no longer exists: give the job's working directory "
                f"with {option}"
            ) from None
        try:
            return self.to_cluster(cwd)
        except PathNotShared:
            raise PathNotShared(
                f"the current directory {cwd} is not in a folder the Flux cluster can see: "
                f"only {self.describe()}; give the job's working directory with {option}"
            ) from None

    def workdir(self, path=None, *, cwd=None, option="--cwd"):
        """The cluster's path for a job's working directory: ``path`` (a lab path, relative to
        ``cwd``; a ClusterPath as it is) translated, or default_workdir() when None. What is not
        a path (not text, or empty) is returned as it is, for the submission's checks to refuse."""
        if path is None:
            return self.default_workdir(cwd, option=option)
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, str) or not path.strip():
            return path
        if not isinstance(path, ClusterPath) and not path.startswith("/"):
            path = _norm(posixpath.join(os.getcwd() if cwd is None else os.fspath(cwd), path))
        return self.to_cluster(path)


def within(path, folder):
    """``path`` relative to ``folder`` ("" for the folder itself), or None if it is not in it
    (both absolute; compared as text, after removing ``.``, ``..`` and trailing slashes)."""
    if not (isinstance(path, str) and path.startswith("/")):
        return None
    if not (isinstance(folder, str) and folder.startswith("/")):
        return None
    return _under(_norm(path), _norm(folder))


def render(templates, *, account, username):
    """The ``FLUX_HUB_PATHS`` text for one person (the hub's side): ``templates`` maps lab
    folders to cluster folders, ``{account}`` and ``{username}`` filled in. {} -> "" (nothing
    shared). ValueError in one line for a template that cannot be used."""
    values = {"account": account, "username": username}
    pairs = []
    for lab, cluster in templates.items():
        filled = []
        for template in (lab, cluster):
            text = _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)
            if re.search(r"[{};=\0]", text):
                raise ValueError(
                    f"{ENV}: {template!r} gives {text!r}; only {{account}} and {{username}} "
                    "are filled in, and a folder cannot hold ';' or '='"
                )
            filled.append(text)
        pairs.append(tuple(filled))
    return PathMap.parse(";".join(f"{lab}={cluster}" for lab, cluster in pairs)).format()
