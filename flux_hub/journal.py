"""The ids of jobs submitted through flux-hub, for the JupyterLab panel to follow.

The panel's server reads the user's complete job listing only now and then: flux-restful answers
it by walking every user's jobs (see flux_hub/serverextension/jobs.py). In between it follows the
jobs it knows one by one, so it must learn of new ones when they are submitted. Its own submit
form tells it directly; the notebook API and ``%%flux`` run in kernels, which append the id here:
``submitted-jobs`` next to the job-name file (``~/.local/share/flux-hub/``), one decimal id a line.

An append of one short line with ``O_APPEND`` is a single write the kernel does not interleave with
another, so kernels need no lock to append. When the file grows past ``limit`` lines the writer
that notices keeps the newest half, under the journal's own lock (``submitted-jobs.lock``), in a
new file put in place atomically; a reader that sees a new file reads it from its start and drops
ids it already saw. An id appended by another kernel during that moment can be lost: that job
then shows at the panel's next complete listing (its Refresh button, or the slow timer), as jobs
submitted outside flux-hub do.
"""

import os
from pathlib import Path

from flux_hub import fileutil
from flux_hub.jobnames import default_path

FILE_NAME = "submitted-jobs"


def journal_path(names_path=None):
    """The journal next to the job-name file ``names_path`` (default: the default one)."""
    return Path(names_path or default_path()).with_name(FILE_NAME)


class SubmittedJobs:
    """Append ids (kernels) and read the ids appended since the last read (the server)."""

    def __init__(self, path, *, limit=20_000):
        self.path = Path(path)
        self.limit = limit
        self._inode = None
        self._offset = 0
        self._seen = set()

    def add(self, job_id):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{int(job_id)}\n".encode())
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size > self.limit * 16:  # ids are at most 20 digits: an estimate of the lines
            self._trim()

    def skip_to_end(self):
        """Forget what is already written: the caller is about to list every job anyway."""
        self._read()
        return self

    def new(self):
        """Ids appended since the last call (each once)."""
        return self._read()

    def _read(self):
        try:
            with open(self.path, "rb") as f:
                stat = os.fstat(f.fileno())
                if stat.st_ino != self._inode or stat.st_size < self._offset:
                    self._inode, self._offset = stat.st_ino, 0
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1  # a line being written is read next time
        self._offset += end
        ids = []
        for line in data[:end].split(b"\n"):
            line = line.strip()
            if line.isdigit() and 0 < int(line) < 2**64:
                ids.append(int(line))
        fresh = [job_id for job_id in ids if job_id not in self._seen]
        self._seen.update(fresh)
        if len(self._seen) > 2 * self.limit:
            self._seen = set(ids[-self.limit :])
        return fresh

    def _trim(self):
        with fileutil.locked(self.path.with_name(FILE_NAME + ".lock")):
            try:
                lines = self.path.read_bytes().splitlines()
            except FileNotFoundError:
                return
            if len(lines) <= self.limit:
                return
            fileutil.replace(self.path, b"\n".join(lines[-(self.limit // 2) :]) + b"\n")
