"""flux_hub.fileutil: the one file lock and the one atomic replace every shared file uses."""

import fcntl
import os
import stat
import threading

import pytest

from flux_hub import fileutil


def test_a_second_holder_waits_for_the_lock(tmp_path):
    lock = tmp_path / "names.lock"
    order = []
    with fileutil.locked(lock):
        # Another open file (another process, or another writer of this one) cannot take it
        fd = os.open(lock, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)

        def second():
            with fileutil.locked(lock):
                order.append("second")

        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(0.2)
        order.append("first")
    waiting.join(10)
    assert order == ["first", "second"]
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


def test_replace_puts_the_new_content_in_one_step_for_its_owner_only(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old")
    path.chmod(0o644)
    fileutil.replace(path, '{"new": 1}\n')
    assert path.read_text() == '{"new": 1}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fileutil.replace(str(path), b"bytes\n", durable=True)
    assert path.read_bytes() == b"bytes\n"
    assert sorted(os.listdir(tmp_path)) == ["state.json"]


def test_a_failed_replace_keeps_the_old_content_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "job-names.json"
    path.write_text("old")
    with pytest.raises(TypeError):
        fileutil.replace(path, {"not": "text"})
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["job-names.json"]
