"""Job names kept on the user's side.

flux-restful has no name field: a Flux job's name is the basename of its command's first word
("bash", "sleep"). The names people give jobs in the panel or the notebook API are kept here, in
``~/.local/share/flux-hub/job-names.json`` (``{"<id>": "name"}``), which the server extension and
every kernel of the same user share. Writers take a lock and replace the file atomically, so a
kernel and the server writing at once lose nothing and a reader never sees half a file.
"""

import json
import os
from pathlib import Path

from flux_hub import fileutil

MAX_NAME_LENGTH = 200


def default_path():
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(data_home) / "flux-hub" / "job-names.json"


def check_name(name):
    """Return the name stripped, or raise ValueError with a sentence saying what is wrong."""
    if not isinstance(name, str):
        raise ValueError(f"a job name must be a string, not {type(name).__name__}")
    name = name.strip()
    if not name:
        raise ValueError("a job name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a job name must be at most {MAX_NAME_LENGTH} characters")
    if any(ord(c) < 32 for c in name):
        raise ValueError("a job name must be a single line without control characters")
    return name


class JobNames:
    """The id -> name map, re-read only when the file changed."""

    def __init__(self, path=None, *, limit=10_000):
        self.path = Path(path) if path else default_path()
        # The oldest names go first once there are more than this: ids of jobs long gone.
        self.limit = limit
        self._stamp = None
        self._names = {}

    def all(self):
        """{id: name} for every job that has one."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._names = None, {}
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._stamp:
            self._names = self._read()
            self._stamp = stamp
        return dict(self._names)

    def get(self, job_id):
        return self.all().get(int(job_id))

    def set(self, job_id, name):
        name = check_name(name)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with fileutil.locked(self.path.with_name(self.path.name + ".lock")):
            names = self._read()
            names.pop(int(job_id), None)
            names[int(job_id)] = name
            while len(names) > self.limit:
                names.pop(next(iter(names)))
            fileutil.replace(self.path, json.dumps({str(k): v for k, v in names.items()}))

    def _read(self):
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            # A damaged file loses the names, never the jobs: start again.
            return {}
        if not isinstance(data, dict):
            return {}
        names = {}
        for key, value in data.items():
            if isinstance(value, str) and key.isdigit():
                names[int(key)] = value
        return names
