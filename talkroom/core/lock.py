"""The write lock of docs/protocol.md section 4: a folder taken by one rename, whose
commit is fenced so that a writer who lost its lock can never replace the file.

A writer makes a folder of its own, `.<name>.lock.<nonce>.new/<nonce>/holder` (who, on
which machine), and renames it to `.<name>.lock`: a rename cannot replace a folder that
holds something, so exactly one writer wins, on network mounts too, and a lock is never
seen without its holder. The writer then writes the new content to
`.<name>.lock/<nonce>/<name>.new` and renames that over the target, always *by path*.
While the lock is ours the path names our folder; once a breaker has renamed our lock
aside, `.<name>.lock` is gone or another writer's, with no `<nonce>` inside, so every
step fails with ENOENT. A writer paused past the stale time, at any step, wakes up to
find its commit refused: it never replaces newer turns and never writes anything but a
whole file. Paths, not descriptors, because sshfs resolves every call by path on the
server: a descriptor there follows the name, not the folder.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

from talkroom.core import clock, machine
from talkroom.core.errors import StoreError, io_error
from talkroom.core.files import Folder, folder_of
from talkroom.core.stale import (
    HOLDER,
    Holder,
    check_stale,
    read_holder,
    remove_own,
    stale_in,
    token,
)

DEFAULT_TIMEOUT = 10.0
# A rename onto a held lock: a folder with a file in it, an older talkroom's lock file,
# or (sshfs, SMB) a generic refusal.
_HELD_ERRNOS = (
    errno.EEXIST,
    errno.ENOTEMPTY,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EPERM,
    errno.EACCES,
)


class LockTimeout(StoreError):
    """The lock stayed held past the deadline."""


class LockLost(StoreError):
    """Our lock was broken as stale before we committed; nothing of ours was written."""


def lock_path_for(path: Path) -> Path:
    """`dir/.name.lock` for `dir/name`."""
    return path.with_name(f".{path.name}.lock")


def _held_message(path: Path, folder: Folder, name: str) -> str:
    holder = read_holder(folder.path / name)
    who = f"by {holder}" if holder else "by a writer that has not said who it is"
    rest = stale_in(folder, name)
    left = (
        ""
        if rest is None
        else f"; if it stands unchanged it is broken as stale in {max(rest, 0):.0f} s"
    )
    return f"{path.name} is locked {who} ({folder.path / name}){left}; try again"


class FileLock:
    """An exclusive, fenced write lock beside `path` (see the module's docstring).

    `depth` is how many folders above the file are opened without following links: 1 for
    `conversations/<id>.md`, 2 for `hosts/<host>/<file>`.
    """

    def __init__(
        self,
        path: Path,
        host: str,
        timeout: float = DEFAULT_TIMEOUT,
        depth: int = 1,
        create_folders: bool = False,
    ) -> None:
        self.path = path
        self.lock = lock_path_for(path)
        self.host = host
        self.timeout = timeout
        self.depth = depth
        self.create_folders = create_folders
        self.folder: Folder | None = None
        self._gone: list[str] = []  # names taken into our folder by `remove`
        self.held = False
        self.lost = False  # broken while we held it: our holder stays, naming us
        self.committed: object = None  # what was renamed over the target, once it was
        self.broken: list[Path] = []  # stale locks this writer renamed aside
        mid, pid, start = machine.me()
        self.holder = Holder(host, pid, clock.iso(clock.now()), mid, start, token())
        self._tmp = f"{self.lock.name}.{self.holder.nonce}.new"
        self._mine = f"{self.lock.name}/{self.holder.nonce}"  # ours while the lock is
        self._own_id: tuple[int, int] = (0, 0)  # our folder's device and inode

    def acquire(self) -> None:
        """Take the lock, backing off with jitter until the deadline."""
        try:
            self.folder = folder_of(self.path, self.depth, create=self.create_folders)
        except OSError as exc:
            raise io_error(exc, self.path.parent) from None
        try:
            self._prepare(self.folder)
            try:
                self._acquire(self.folder)
            finally:
                if not self.held:
                    self._unprepare(self.folder)
        except BaseException:
            self.folder.close()
            self.folder = None
            raise

    def _acquire(self, folder: Folder) -> None:
        name = self.lock.name
        deadline = time.monotonic() + self.timeout
        delay = 0.004
        while True:
            try:
                folder.rename(self._tmp, name, attempts=1)
                self.held = True
                return
            except OSError as exc:
                if exc.errno not in _HELD_ERRNOS:
                    raise io_error(exc, self.lock) from None
            if not folder.exists(name):
                # sshfs answers a lost race with EPERM; a real permission problem answers
                # the same way with no lock present, and stays.
                if not os.access(folder.path, os.W_OK | os.X_OK) or time.monotonic() > deadline:
                    raise io_error(OSError(errno.EACCES, "Permission denied"), self.lock)
            else:
                aside = check_stale(folder, name, self.host)
                if aside is not None:
                    self.broken.append(aside)
                    continue
                if time.monotonic() > deadline:
                    raise LockTimeout(_held_message(self.path, folder, name))
            # Jitter from the clock's low bits: cheaper to import than random.
            time.sleep(delay * (0.5 + (time.perf_counter_ns() % 1000) / 1000))
            delay = min(delay * 2, 0.2)

    def _prepare(self, folder: Folder) -> None:
        """Our would-be lock, under a name of our own, with the holder already in it."""
        own = f"{self._tmp}/{self.holder.nonce}"
        try:
            folder.mkdir(self._tmp)
            folder.mkdir(own)
            st = folder.lstat(own)
            self._own_id = (st.st_dev, st.st_ino)
            folder.write_new(f"{own}/{HOLDER}", self.holder.line(), sync=False)
        except OSError as exc:
            self._unprepare(folder)
            raise io_error(exc, self.lock) from None

    def _unprepare(self, folder: Folder) -> None:
        remove_own(folder, self._tmp, self.holder.nonce)

    def place(self, data: bytes, target: str, *, sync: bool = True, done: object = None) -> None:
        """Write `data` into the lock and rename it over `target` in the same folder;
        raises LockLost if the lock was broken, leaving `target` untouched."""
        assert self.folder is not None and self.held
        new = f"{self._mine}/{target.rsplit('/', 1)[-1].lstrip('.')}.new"
        try:
            self._check_mine()
            self.folder.write_new(new, data, sync=sync)
            self._check_mine()
            self.folder.rename(new, target)  # by path: the fence
            if done is not None:
                self.committed = done
        except FileNotFoundError:
            self.lost = True
            raise LockLost(
                f"the lock on {self.path.name} was broken while this writer "
                "was stopped; nothing of it was written"
            ) from None
        except OSError as exc:
            try:
                self.folder.unlink(new)
            except OSError:
                pass
            raise io_error(exc, self.path) from None
        if sync:
            self.folder.fsync()

    def _check_mine(self) -> None:
        """The lock is still a folder (not a link planted in its place) and the path to
        ours leads to the folder we made (FileNotFoundError otherwise: the lock is lost)."""
        assert self.folder is not None
        try:
            top, mine = self.folder.lstat(self.lock.name), self.folder.lstat(self._mine)
        except OSError:
            raise FileNotFoundError(self._mine) from None
        if (
            not (stat.S_ISDIR(top.st_mode) and stat.S_ISDIR(mine.st_mode))
            or (mine.st_dev, mine.st_ino) != self._own_id
        ):
            raise FileNotFoundError(self._mine)

    def remove(self, target: str) -> None:
        """Take `target` (beside the lock) out of the folder, only if the lock is still
        ours: it is renamed into our own folder by path, the same fence as a commit, and
        goes with the lock. Raises LockLost, leaving `target` where it was, otherwise."""
        assert self.folder is not None and self.held
        try:
            self._check_mine()
            gone = f"{target.lstrip('.')}.gone"
            self.folder.rename(target, f"{self._mine}/{gone}", attempts=1)
            self._gone.append(gone)
        except FileNotFoundError:
            self.lost = True
            raise LockLost(
                f"the lock on {self.path.name} was broken while this writer was "
                "stopped; the file was left where it is"
            ) from None
        except OSError as exc:
            raise io_error(exc, self.path) from None
        self.folder.fsync()

    def commit(self, data: bytes, what: object = True) -> None:
        """Replace the target file with `data` (fsync'd), if the lock is still ours;
        `committed` is `what` from the moment the rename is done."""
        self.place(data, self.path.name, done=what)

    def release(self) -> None:
        """Give the lock up (after a commit, a refusal or an error)."""
        folder = self.folder
        self.folder = None
        if folder is None:
            return
        if self.held and not self.lost:
            # Our own folder moves out first, by path (so never another writer's); the
            # lock is then empty and goes. Nothing is unlinked inside the lock: sshfs turns
            # an unlink of a file someone is reading into a `.fuse_hidden` file that would
            # keep the folder from going.
            done = f"{self._tmp[:-4]}.done"
            try:
                folder.rename(self._mine, done, attempts=1)
            except OSError:
                pass
            else:
                try:
                    folder.rmdir(self.lock.name)  # a later writer may have taken it: fine
                except OSError:
                    pass
                for gone in self._gone:  # files taken out with `remove`
                    try:
                        folder.unlink(f"{done}/{gone}")
                    except OSError:
                        pass
                remove_own(folder, done)
        self.held = False
        folder.close()

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
