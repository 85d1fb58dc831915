"""Files that several processes share: one lock and one atomic replace for all of flux-hub.

``locked(path)`` holds an exclusive ``flock`` on ``path`` (made if missing): writers in any
process (a kernel, the server, the hub, its accounts service) take turns. ``replace(path, data)``
puts new content in place in one step: a reader sees the old file or the new one, never a part.
"""

import contextlib
import fcntl
import os
import tempfile


@contextlib.contextmanager
def locked(path, mode=0o600):
    """Hold an exclusive lock on the file ``path`` (made with ``mode`` if missing) while the
    with-block runs; it is released when the block ends, or when the process dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def replace(path, data, *, durable=False):
    """Replace ``path``'s content with ``data`` (str or bytes) in one step: a new file readable
    by its owner only (0600), written next to it and renamed over it.

    ``durable``: the new content reaches the disk before the rename, so a crash leaves the old
    content or the new one (an fsync: for files that cannot be made again, such as secrets).
    """
    folder, name = os.path.split(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
