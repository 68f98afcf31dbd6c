"""One watcher per host per talk root: an OS lock on a local-disk file (PROTOCOL.md section 6)."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from talkroom.core.errors import TalkError
from talkroom.core.paths import runtime_dir


class WatcherBusy(TalkError):
    """Another watcher already serves this host and root."""

    exit_code = 1

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


def lock_file_for(host: str, root: Path) -> Path:
    """`<runtime dir>/talkroom-watcher-<sha256(host, real root)>.lock`."""
    key = hashlib.sha256(f"{host}\0{os.path.realpath(root)}".encode()).hexdigest()[:32]
    return runtime_dir() / f"talkroom-watcher-{key}.lock"


def holder_pid(path: Path) -> int | None:
    """The pid written into a watcher lock file, if any."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class HostLock:
    """flock on a local file: the kernel releases it when the process dies, even by kill -9."""

    def __init__(self, host: str, root: Path) -> None:
        self.path = lock_file_for(host, root)
        self.host = host
        self.root = root
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise WatcherBusy naming the holder's pid."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = holder_pid(self.path)
            who = f"pid {pid}" if pid else "another process"
            raise WatcherBusy(
                f"a watcher for host {self.host} and root {self.root} is already running "
                f"({who}, lock {self.path}); stop it first or use the console's watcher",
                pid,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Give the lock up."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def held_by(self) -> int | None:
        """The pid of a running watcher holding this lock (None if free)."""
        if self._fd is not None:
            return os.getpid()
        try:
            fd = os.open(self.path, os.O_RDWR)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return holder_pid(self.path) or -1
        finally:
            os.close(fd)
        return None
