"""When a write lock is stale, and clearing what dead writers left (docs/protocol.md,
section 4.2).

A lock is stale when its holder is a process of this machine that no longer runs (machine
and process named so that clones and containers sharing a host name cannot be confused),
or when it has stood unchanged for the stale time: measured on the file server's clock
when first seen (so a short-lived helper can tell at once) and on our own after that.
Breaking a lock renames it aside, never deletes it: it names the writer it stopped.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from talkroom.core import machine
from talkroom.core.errors import Unreadable
from talkroom.core.files import Folder, LinkRefused, read_capped

DEFAULT_STALE_AFTER = 60.0
HOLDER = "holder"
HOLDER_CAP = 4096
_stale_after: float | None = None
# Locks seen by this process: signature -> (first seen on our monotonic clock, its age by
# the filesystem's clock then). A watcher remembers them across calls; a helper that
# meets a lock works out at once how long it has stood.
_first_seen: dict[str, tuple[tuple[object, ...], float, float]] = {}


def set_stale_after(seconds: float | None) -> None:
    """Set how long a lock must stand before it is broken (None: the default)."""
    global _stale_after
    _stale_after = seconds


def stale_after() -> float:
    """Seconds a lock must stand unchanged before it is broken."""
    if _stale_after is not None:
        return _stale_after
    try:
        return float(os.environ.get("TALKROOM_STALE_LOCK_SECONDS", DEFAULT_STALE_AFTER))
    except ValueError:
        return DEFAULT_STALE_AFTER


def token() -> str:
    return os.urandom(4).hex()


class Holder:
    """Who holds a lock, from its holder line: host name, machine, pid, start, since."""

    __slots__ = ("at", "host", "machine", "nonce", "pid", "start")

    def __init__(
        self, host: str, pid: int, at: str, machine: str = "", start: str = "", nonce: str = ""
    ) -> None:
        self.host = host
        self.pid = pid
        self.at = at
        self.machine = machine
        self.start = start
        self.nonce = nonce

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.at}"

    def line(self) -> bytes:
        """The holder line as written."""
        return (
            f"talkroom-lock host={self.host} pid={self.pid} machine={self.machine or '-'} "
            f"start={self.start or '-'} at={self.at} nonce={self.nonce}\n"
        ).encode()

    @classmethod
    def parse(cls, data: bytes) -> Holder | None:
        """The holder of a line such as `talkroom-lock host=H pid=P ...`, if it says so."""
        first = data.split(b"\n", 1)[0][:400].decode("ascii", "replace")
        if not first.startswith("talkroom-lock "):
            return None
        fields = dict(part.split("=", 1) for part in first.split()[1:] if "=" in part)
        pid = fields.get("pid", "")
        if not pid.isdigit() or len(pid) > 9:
            return None

        def text(key: str) -> str:
            value = fields.get(key, "")
            return "" if value == "-" else value

        return cls(
            fields.get("host", "?"),
            int(pid),
            fields.get("at", "?"),
            text("machine"),
            text("start"),
            text("nonce"),
        )

    def alive(self) -> bool | None:
        """Whether the holder still runs: None when it is not on this machine."""
        return machine.alive(self.machine, self.pid, self.start)


def _holder_dir(lock: Path) -> Path | None:
    """The writer's own folder inside a lock folder (it holds the holder file)."""
    try:
        with os.scandir(lock) as entries:
            for n, entry in enumerate(entries):
                if n >= 8:  # a lock holds one; a planted folder of millions is not read
                    break
                if entry.is_dir(follow_symlinks=False):
                    return Path(entry.path)
    except OSError:
        pass
    return None


def read_holder(lock: Path) -> Holder | None:
    """The holder of a lock folder (or of an older talkroom's lock file); None if unknown."""
    try:
        st = os.lstat(lock)
        if stat.S_ISDIR(st.st_mode):
            own = _holder_dir(lock)
            return read_holder_in(own) if own else None
        if stat.S_ISREG(st.st_mode):
            return Holder.parse(read_capped(lock, 1 << 24)[:HOLDER_CAP])
    except (OSError, Unreadable):
        pass
    return None


class BrokenLock:
    """A lock renamed aside as stale: whose write it held, who broke it, and when."""

    __slots__ = ("breaker", "broken_at", "conv_id", "holder", "junk", "name")

    def __init__(
        self,
        name: str,
        conv_id: str,
        breaker: str,
        holder: Holder | None,
        broken_at: float,
        junk: str = "",
    ) -> None:
        self.name = name
        self.conv_id = conv_id
        self.breaker = breaker  # the host that renamed it aside
        self.holder = holder  # the writer that held it, when its holder file survived
        self.broken_at = broken_at  # the rename's time (ctime), epoch seconds
        self.junk = junk  # "a FIFO", ...: something that was not a lock at all

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BrokenLock) and (self.name, self.broken_at) == (
            other.name,
            other.broken_at,
        )

    def __hash__(self) -> int:
        return hash(self.name)

    def describe(self) -> str:
        """`a write by pid 7 on box stopped holding the lock; host far broke it`."""
        if self.junk:
            return f"{self.junk} stood where the write lock goes; host {self.breaker} moved it"
        who = f"a write by {self.holder}" if self.holder else "a write (its holder unknown)"
        return f"{who} stopped holding the lock; host {self.breaker} broke it"


def read_broken(path: Path) -> BrokenLock | None:
    """The record of `.ID.md.lock.broken.HOST.PID.TOKEN`; None for other names or if gone."""
    parts = path.name.split(".lock.broken.", 1)
    if len(parts) != 2 or not parts[0].startswith(".") or not parts[0].endswith(".md"):
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    junk = ""
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        from talkroom.core.files import refusal

        junk = refusal(path, st.st_mode).message.split(" is ", 1)[1].split(",", 1)[0]
    return BrokenLock(
        path.name,
        parts[0][1:-3],
        parts[1].split(".", 1)[0],
        read_holder(path) if not junk else None,
        st.st_ctime,
        junk,
    )


def _signature(folder: Folder, name: str) -> tuple[tuple[object, ...], float] | None:
    """What identifies one lock (so a new lock is never taken for an old one), and when
    it last changed; None if it is gone."""
    try:
        st = folder.lstat(name)
    except FileNotFoundError:
        return None
    head = b""
    mtime = st.st_mtime
    if stat.S_ISDIR(st.st_mode):
        own = _holder_dir(folder.path / name)
        if own is not None:
            try:
                mtime = max(mtime, os.lstat(own).st_mtime)  # changes as the writer writes
                head = read_capped(own / HOLDER, HOLDER_CAP)
            except (OSError, Unreadable):
                pass
    elif stat.S_ISREG(st.st_mode):
        try:
            head = read_capped(folder.path / name, 1 << 24)[:128]
        except (OSError, Unreadable):
            pass
    return (stat.S_IFMT(st.st_mode), st.st_ino, st.st_mtime_ns, head, mtime), mtime


def _filesystem_age(folder: Folder, mtime: float) -> float:
    """How old `mtime` is by the clock of the filesystem that stamped it: a probe file's
    own mtime is 'now' on that clock (another machine's clock may be far off ours)."""
    probe = f".probe.{os.getpid()}.{token()}"
    try:
        fd = folder.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except OSError:
        return 0.0  # a read-only root: only our own clock can tell
    try:
        now = os.fstat(fd).st_mtime
    finally:
        os.close(fd)
        try:
            folder.unlink(probe)
        except OSError:
            pass
    return max(0.0, now - mtime)


def stale_in(folder: Folder, name: str) -> float | None:
    """Seconds until the lock `name` may be broken as stale, if this process has seen it."""
    seen = _first_seen.get(str(folder.path / name))
    if seen is None:
        return None
    return stale_after() - (seen[2] + time.monotonic() - seen[1])


def break_lock(folder: Folder, name: str, host: str) -> Path | None:
    """Rename a stale lock aside (never delete it); returns the new name, or None if gone."""
    aside = f"{name}.broken.{host}.{os.getpid()}.{token()}"
    try:
        folder.rename(name, aside, attempts=1)
    except FileNotFoundError:
        return None
    _first_seen.pop(str(folder.path / name), None)
    return folder.path / aside


def check_stale(folder: Folder, name: str, host: str, stale: float | None = None) -> Path | None:
    """Break the lock `name` in `folder` if it is stale; returns where it went.

    Stale: something other than a lock (a FIFO, a link: moved aside at once); a holder on
    this machine that no longer runs; or a lock that has stood unchanged for the stale
    time, by the filesystem's clock when first seen and by ours after that.
    """
    seen = _signature(folder, name)
    if seen is None:
        return None
    signature, mtime = seen
    kind = signature[0]
    if kind not in (stat.S_IFDIR, stat.S_IFREG):
        return break_lock(folder, name, host)
    holder = Holder.parse(signature[3])  # type: ignore[arg-type]
    if holder is not None and holder.alive() is False:
        return break_lock(folder, name, host)
    key = str(folder.path / name)
    now = time.monotonic()
    known = _first_seen.get(key)
    if known is None or known[0] != signature:
        known = (signature, now, _filesystem_age(folder, mtime))
        _first_seen[key] = known
    if known[2] + (now - known[1]) >= (stale_after() if stale is None else stale):
        return break_lock(folder, name, host)
    return None


LEFTOVER_AGE = 3600.0  # a would-be lock of a writer on another machine, kept this long


def is_leftover(name: str) -> bool:
    """A would-be lock that never took (`.X.lock.<nonce>.new`) or a released one's
    folder (`.X.lock.<nonce>.done`): what a writer killed at the wrong moment leaves."""
    return ".lock." in name and name.endswith((".new", ".done")) and ".broken." not in name


def clear_leftover(folder: Folder, name: str) -> bool:
    """Remove a leftover folder unless its writer may still be using it; True when gone."""
    try:
        st = folder.lstat(name)
    except FileNotFoundError:
        return True
    if not stat.S_ISDIR(st.st_mode):
        return True  # not talkroom's: not ours to remove, and not worth looking at again
    if name.endswith(".new"):
        own = _holder_dir(folder.path / name)
        holder = read_holder_in(own) if own is not None else None
        alive = holder.alive() if holder is not None else None
        if alive or (alive is None and _filesystem_age(folder, st.st_mtime) < LEFTOVER_AGE):
            return False
    # `.new`: <nonce>/holder inside; `.done` (a released writer's own folder): holder.
    inner = name.rsplit(".", 2)[-2] if name.endswith(".new") else ""
    return remove_own(folder, name, inner)


def read_holder_in(own: Path) -> Holder | None:
    """The holder file in a writer's own folder."""
    try:
        return Holder.parse(read_capped(own / HOLDER, HOLDER_CAP))
    except (OSError, Unreadable):
        return None


def remove_own(folder: Folder, name: str, inner: str = "") -> bool:
    """Remove a writer's own folder `name` (and its subfolder `inner`): only the `holder`
    file talkroom put there, through descriptors opened without following links, so a
    folder swapped for a link meanwhile leads nowhere; True when it is gone. Anything
    else inside (a `.fuse_hidden` file) keeps it, for a later sweep."""
    try:
        own = folder.child(name)
    except (OSError, LinkRefused):
        return False
    try:
        if inner:
            try:
                sub = own.child(inner)
            except (OSError, LinkRefused):
                sub = None
            if sub is not None:
                _unlink_quietly(sub, HOLDER)
                sub.close()
                try:
                    own.rmdir(inner)
                except OSError:
                    pass
        else:
            _unlink_quietly(own, HOLDER)
    finally:
        own.close()
    try:
        folder.rmdir(name)
    except OSError:
        return False
    return True


def _unlink_quietly(folder: Folder, name: str) -> None:
    try:
        folder.unlink(name)
    except OSError:
        pass
