"""The lock-file scheme of PROTOCOL.md section 4, in the style of git's index.lock."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from talkroom.core import clock
from talkroom.core.errors import StoreError

DEFAULT_TIMEOUT = 10.0
DEFAULT_STALE_AFTER = 60.0
_HELD_ERRNOS = (errno.EEXIST, errno.EPERM, errno.EACCES)
_stale_after: float | None = None
# Signatures of foreign locks seen by this process: a long-lived watcher or console
# remembers them across calls, so it can break a lock that stays unchanged for the stale time.
_first_seen: dict[str, tuple[tuple[object, ...], float]] = {}


class LockTimeout(StoreError):
    """The lock stayed held past the deadline."""


class LockLost(StoreError):
    """Our lock file was broken or replaced before we committed."""


def set_stale_after(seconds: float | None) -> None:
    """Set how long a lock must stay unchanged before it is broken (None: the default)."""
    global _stale_after
    _stale_after = seconds


def stale_after() -> float:
    """Seconds a lock must stay unchanged before it is broken."""
    if _stale_after is not None:
        return _stale_after
    try:
        return float(os.environ.get("TALKROOM_STALE_LOCK_SECONDS", DEFAULT_STALE_AFTER))
    except ValueError:
        return DEFAULT_STALE_AFTER


def lock_path_for(path: Path) -> Path:
    """`dir/.name.lock` for `dir/name`."""
    return path.with_name(f".{path.name}.lock")


def _token() -> str:
    return os.urandom(4).hex()


class Holder:
    """Who created a lock file, as its first line says while the writer prepares."""

    __slots__ = ("at", "host", "pid")

    def __init__(self, host: str, pid: int, at: str) -> None:
        self.host = host
        self.pid = pid
        self.at = at

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.at}"


def read_holder(lock: Path) -> Holder | None:
    """Parse `talkroom-lock host=H pid=P at=T` from a lock file, if it still says so."""
    try:
        with open(lock, "rb") as fh:
            first = fh.read(200).split(b"\n", 1)[0].decode("ascii", "replace")
    except OSError:
        return None
    if not first.startswith("talkroom-lock "):
        return None
    fields = dict(part.split("=", 1) for part in first.split()[1:] if "=" in part)
    pid = fields.get("pid", "")
    return Holder(fields.get("host", "?"), int(pid), fields.get("at", "?")) if pid.isdigit() \
        else None


class BrokenLock:
    """A lock renamed aside as stale: whose write it held, who broke it, and when."""

    __slots__ = ("breaker", "broken_at", "conv_id", "holder", "name")

    def __init__(self, name: str, conv_id: str, breaker: str, holder: Holder | None,
                 broken_at: float) -> None:
        self.name = name
        self.conv_id = conv_id
        self.breaker = breaker  # the host that renamed it aside
        self.holder = holder  # the crashed writer, when its line was written
        self.broken_at = broken_at  # the rename's time (ctime), epoch seconds

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BrokenLock) and (self.name, self.broken_at) == (
            other.name, other.broken_at)

    def __hash__(self) -> int:
        return hash(self.name)

    def describe(self) -> str:
        """`a write by pid 7 on box crashed holding the lock; host far broke it`."""
        who = f"a write by {self.holder}" if self.holder else "a write (its holder line unwritten)"
        return f"{who} crashed holding the lock; host {self.breaker} broke it"


def read_broken(path: Path) -> BrokenLock | None:
    """The record of `.ID.md.lock.broken.HOST.PID.TOKEN`; None for other names or if gone."""
    parts = path.name.split(".lock.broken.", 1)
    if len(parts) != 2 or not parts[0].startswith(".") or not parts[0].endswith(".md"):
        return None
    try:
        broken_at = os.stat(path).st_ctime  # a rename updates ctime, not mtime
    except OSError:
        return None
    return BrokenLock(path.name, parts[0][1:-3], parts[1].split(".", 1)[0],
                      read_holder(path), broken_at)


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def break_lock(lock: Path, host: str) -> Path | None:
    """Rename a stale lock aside (never unlink it); returns the new name, or None if gone."""
    aside = lock.with_name(f"{lock.name}.broken.{host}.{os.getpid()}.{_token()}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return None
    _first_seen.pop(str(lock), None)
    return aside


def _signature(lock: Path) -> tuple[object, ...] | None:
    # sshfs keeps one inode number per path and has 1 s mtimes, so two different locks can
    # look alike by stat alone; the first bytes (holder, pid, time, nonce) tell them apart.
    try:
        st = os.lstat(lock)
        with open(lock, "rb") as fh:
            head = fh.read(128)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino, head)


def check_stale(lock: Path, host: str, stale: float | None = None) -> Path | None:
    """Break `lock` if it is stale by the rules of section 4; returns where it went."""
    signature = _signature(lock)
    if signature is None:
        return None
    holder = read_holder(lock)
    if holder is not None and holder.host == host and not pid_alive(holder.pid):
        return break_lock(lock, host)
    now = time.monotonic()
    seen = _first_seen.get(str(lock))
    if seen is None or seen[0] != signature:
        _first_seen[str(lock)] = (signature, now)
        return None
    if now - seen[1] >= (stale_after() if stale is None else stale):
        return break_lock(lock, host)
    return None


class FileLock:
    """An exclusive lock file beside `path`; the new content is written into it."""

    def __init__(self, path: Path, host: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.lock = lock_path_for(path)
        self.host = host
        self.timeout = timeout
        self.fd: int | None = None
        self.broken: list[Path] = []  # stale locks this writer renamed aside
        self._written: bytes | None = None

    def acquire(self) -> None:
        """Create the lock file exclusively, backing off with jitter until the deadline."""
        deadline = time.monotonic() + self.timeout
        delay = 0.004
        stamp = (
            f"talkroom-lock host={self.host} pid={os.getpid()} at={clock.iso(clock.now())} "
            f"nonce={_token()}\n"
        ).encode()
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
        while True:
            try:
                fd = os.open(self.lock, flags, 0o644)
            except OSError as exc:
                if exc.errno not in _HELD_ERRNOS:
                    raise io_error(exc, self.lock) from None
                if not os.path.lexists(self.lock):
                    # sshfs answers a lost O_EXCL race with EPERM; a real permission
                    # problem answers the same way with no lock present, and stays.
                    if exc.errno != errno.EEXIST and (
                        not os.access(self.lock.parent, os.W_OK | os.X_OK)
                        or time.monotonic() > deadline
                    ):
                        raise io_error(exc, self.lock) from None
                else:
                    aside = check_stale(self.lock, self.host)
                    if aside is not None:
                        self.broken.append(aside)
                        continue
                    if time.monotonic() > deadline:
                        holder = read_holder(self.lock)
                        who = f"by {holder}" if holder else "by a writer that is committing"
                        raise LockTimeout(
                            f"{self.path.name} is locked {who} ({self.lock}); try again "
                            f"(a lock unchanged for {stale_after():g} s is broken as stale)"
                        ) from None
                # Jitter from the clock's low bits: cheaper to import than random.
                time.sleep(delay * (0.5 + (time.perf_counter_ns() % 1000) / 1000))
                delay = min(delay * 2, 0.2)
                continue
            try:
                os.write(fd, stamp)
            except OSError as exc:
                # Created by us a moment ago and still empty (disk full): ours to remove.
                os.close(fd)
                try:
                    os.unlink(self.lock)
                except OSError:
                    pass
                raise io_error(exc, self.lock) from None
            self.fd = fd
            self._written = stamp
            return

    def commit(self, data: bytes) -> None:
        """Write `data` into the lock, fsync, confirm it is ours, replace the target."""
        assert self.fd is not None
        try:
            os.lseek(self.fd, 0, os.SEEK_SET)
            os.ftruncate(self.fd, 0)
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
            os.fsync(self.fd)
        except OSError as exc:
            self._abandon()
            raise io_error(exc, self.path) from None
        os.close(self.fd)
        self.fd = None
        self._written = data
        if not self._still_ours():
            self._written = None
            raise LockLost(f"the lock on {self.path.name} was broken while writing; retrying")
        try:
            replace(self.lock, self.path)
        except FileNotFoundError:
            self._written = None
            raise LockLost(f"the lock on {self.path.name} vanished before replace") from None
        except OSError as exc:
            self.release()
            raise io_error(exc, self.path) from None
        self._written = None
        fsync_dir(self.path.parent)

    def release(self) -> None:
        """Give the lock up without writing (a refusal or an error)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self._unlink_own()

    def _abandon(self) -> None:
        """Remove our half-written lock after a failed write (its stamp is gone by now)."""
        assert self.fd is not None
        try:
            mine = os.fstat(self.fd)
            there = os.lstat(self.lock)
            if (mine.st_dev, mine.st_ino, mine.st_size) == (
                there.st_dev, there.st_ino, there.st_size
            ):
                os.unlink(self.lock)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
        self._written = None

    def _still_ours(self) -> bool:
        try:
            with open(self.lock, "rb") as fh:
                return fh.read(len(self._written or b"") + 1) == self._written
        except OSError:
            return False

    def _unlink_own(self) -> None:
        if self._written is not None and self._still_ours():
            try:
                os.unlink(self.lock)
            except OSError:
                pass
        self._written = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None or self._written is not None:
            self.release()


def replace(src: Path, dst: Path, attempts: int = 8) -> None:
    """os.replace, retrying the PermissionError that SMB/Windows give while a file is open."""
    delay = 0.02
    for attempt in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay *= 2


def fsync_dir(directory: Path) -> None:
    """fsync a directory where the platform and filesystem allow it."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_REASONS = {
    errno.ENOSPC: "the disk is full; free space and try again",
    errno.EROFS: "the talk root is read-only; mount it read-write or choose another --root",
    errno.EACCES: "permission denied; check the talk root's permissions",
    errno.EPERM: "permission denied; check the talk root's permissions",
    errno.EDQUOT: "the disk quota is exceeded; free space and try again",
    errno.ENOENT: "the folder does not exist; check --root",
    errno.EIO: "an I/O error (is the network mount still there?); try again",
    errno.ENOTCONN: "the network mount is gone; remount it and try again",
    errno.ESTALE: "a stale network file handle; remount and try again",
}


def io_error(exc: OSError, path: Path, verb: str = "write") -> StoreError:
    """A one-line StoreError for an OSError, with what to do about it."""
    why = _REASONS.get(exc.errno or 0, f"{exc.strerror or exc}; check the talk root")
    return StoreError(f"cannot {verb} {path}: {why}")
