"""One watcher per host per talk root (docs/protocol.md section 6): an OS lock on a local
file named after the host and the root's identity, then a claim on the shared heartbeat
(`watcher.py`), which also catches a root reached through two network mounts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from talkroom.core.errors import TalkError
from talkroom.core.files import NOFOLLOW
from talkroom.core.oslock import try_lock
from talkroom.core.paths import runtime_dir


class WatcherBusy(TalkError):
    """Another watcher already serves this host and root."""

    exit_code = 1

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


def root_identity(root: Path) -> str:
    """What identifies the root's folder, however it is reached (a symlink, a bind mount,
    another spelling): its device and inode; its path when it does not exist yet."""
    try:
        st = os.stat(root)
    except OSError:
        return os.path.realpath(root)
    return f"{st.st_dev}:{st.st_ino}"


def lock_file_for(host: str, root: Path) -> Path:
    """`<runtime dir>/talkroom-watcher-<sha256(host, the root's identity)>.lock`."""
    key = hashlib.sha256(f"{host}\0{root_identity(root)}".encode()).hexdigest()[:32]
    return runtime_dir() / f"talkroom-watcher-{key}.lock"


def holder_pid(path: Path) -> int | None:
    """The pid written into a watcher lock file, if any."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class HostLock:
    """An OS lock on a local file (core/oslock.py): the system releases it when the
    process dies, even by kill -9."""

    def __init__(self, host: str, root: Path) -> None:
        self.host = host
        self.root = root
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        """The lock file (computed on use: the root may be created in between)."""
        return lock_file_for(self.host, self.root)

    def acquire(self) -> None:
        """Take the lock or raise WatcherBusy naming the holder's pid."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | NOFOLLOW, 0o600)
        if not try_lock(fd):
            os.close(fd)
            pid = holder_pid(self.path)
            who = f"pid {pid}" if pid else "another process"
            raise WatcherBusy(
                f"a watcher for host {self.host} and root {self.root} is already running "
                f"({who}, lock {self.path}); stop it first or use the console's watcher",
                pid,
            )
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        self._held_path = self.path

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
            fd = os.open(self.path, os.O_RDWR | NOFOLLOW)
        except OSError:
            return None
        try:
            if not try_lock(fd):
                return holder_pid(self.path) or -1
        finally:
            os.close(fd)
        return None
