"""What changed in `conversations/`: filesystem events on local disks, polling elsewhere."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from pathlib import Path

from talkroom.core.names import NAME_RE
from talkroom.core.stale import BrokenLock, is_leftover, read_broken

# Filesystems whose changes made on another machine never reach inotify: poll them.
NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "davfs",
        "ncpfs",
        "coda",
        "ocfs2",
        "gfs2",
        "virtiofs",
        "vboxsf",
        "vmhgfs",
    }
)
# After any change, scan fully for this long: network mounts report mtimes in whole
# seconds, so a second write within the same second leaves the folder's stat unchanged.
HOT_SECONDS = 5.0

Signature = tuple[int, int, int]


def mount_of(path: Path) -> tuple[str, str, str]:
    """(mount point, filesystem type, options) of the mount holding `path` (Linux)."""
    target = os.path.realpath(path)
    best = ("/", "unknown", "")
    try:
        with open("/proc/mounts", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 4:
                    continue
                point = parts[1].replace("\\040", " ").replace("\\011", "\t")
                inside = target == point or target.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best[0]):
                    best = (point, parts[2], parts[3])
    except OSError:
        pass
    return best


def is_network(path: Path) -> bool:
    """True when `path` is on a network (or FUSE) filesystem, where only polling works."""
    fstype = mount_of(path)[1]
    return fstype in NETWORK_FS or fstype.startswith("fuse")


def is_conversation(name: str) -> bool:
    """A conversation file name (never a lock, swap file or .fuse_hidden file)."""
    return name.endswith(".md") and NAME_RE.match(name[:-3]) is not None


class Poller:
    """Stat signatures of every conversation file; reports the ones that changed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, Signature] = {}
        self._folder_sig: Signature | None = None
        self._hot_until = 0.0
        self.locks: list[Path] = []  # lock files seen on the last full scan
        self.leftovers: list[Path] = []  # what killed writers left (stale.is_leftover)
        self.broken: list[BrokenLock] = []  # locks broken as stale, renamed aside

    def mtime(self, path: Path) -> int:
        """A file's modification time (ns) as the last scan saw it; 0 if it did not."""
        sig = self._files.get(path.name)
        return sig[0] if sig is not None else 0

    def scan(self, force: bool = False) -> tuple[set[Path], set[Path]]:
        """(changed or new files, removed files) since the last scan; raises OSError."""
        try:
            st = os.stat(self.folder)
        except FileNotFoundError:
            return set(), set()
        folder_sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        now = time.monotonic()
        if folder_sig != self._folder_sig:
            self._folder_sig = folder_sig
            self._hot_until = now + HOT_SECONDS
        elif not force and now > self._hot_until:
            return set(), set()
        changed: set[Path] = set()
        seen: dict[str, Signature] = {}
        locks: list[Path] = []
        leftovers: list[Path] = []
        broken: list[BrokenLock] = []
        known = {b.name: b for b in self.broken}
        with os.scandir(self.folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    if name.endswith(".lock"):
                        locks.append(Path(entry.path))
                    elif ".lock.broken." in name:
                        record = known.get(name) or read_broken(Path(entry.path))
                        if record is not None:
                            broken.append(record)
                    elif is_leftover(name):
                        leftovers.append(Path(entry.path))
                    continue
                if not is_conversation(name):
                    continue
                try:
                    est = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                sig = (est.st_mtime_ns, est.st_size, est.st_ino)
                seen[name] = sig
                if self._files.get(name) != sig:
                    changed.add(Path(entry.path))
        removed = {self.folder / n for n in self._files if n not in seen}
        self._files = seen
        self.locks = locks
        self.leftovers = leftovers
        self.broken = sorted(broken, key=lambda b: b.name)
        return changed, removed


_SOURCES: weakref.WeakSet[EventSource] = weakref.WeakSet()


class _Overflow(logging.Handler):
    """watchdog reports a full inotify queue only in its log (raw on stderr, where it would
    garble the console): every event source takes it as a reason to rescan instead."""

    def emit(self, record: logging.LogRecord) -> None:
        for source in list(_SOURCES):
            source.overflowed = True
            source.wake()


def _listen_for_overflows(source: EventSource) -> None:
    _SOURCES.add(source)
    log = logging.getLogger("watchdog")
    if not any(isinstance(h, _Overflow) for h in log.handlers):
        log.addHandler(_Overflow(logging.WARNING))
        log.propagate = False


class EventSource:
    """watchdog events for one folder, collected until the watcher asks for them."""

    def __init__(self, folder: Path, wake: threading.Event) -> None:
        from watchdog.events import (
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer

        self.folder = folder
        self._wake = wake
        self._lock = threading.Lock()
        self._paths: set[Path] = set()
        source = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                # Linux also reports our own opens and reads; only writes and renames count.
                if event.event_type in ("opened", "closed_no_write") or event.is_directory:
                    return
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    path = os.fsdecode(raw) if raw else ""
                    if path and is_conversation(os.path.basename(path)):
                        source.add(Path(path))

        self.overflowed = False  # inotify dropped events: the next look must be a full one
        _listen_for_overflows(self)
        self._observer = Observer()
        self._observer.daemon = True
        # Only writes, renames and deletions: on Linux this narrows the inotify mask, so our
        # own reads (every file, at start) no longer queue open and close events (~0.3 s of
        # the GIL for 1,000 files).
        self._observer.schedule(
            Handler(),
            str(folder),
            recursive=False,
            event_filter=[
                FileCreatedEvent,
                FileModifiedEvent,
                FileMovedEvent,
                FileDeletedEvent,
                FileClosedEvent,
            ],
        )

    def add(self, path: Path) -> None:
        """Note a changed path and wake the watcher."""
        with self._lock:
            self._paths.add(path)
        self._wake.set()

    def wake(self) -> None:
        """Wake whoever waits for changes."""
        self._wake.set()

    def take(self) -> set[Path]:
        """The paths that changed since the last call."""
        with self._lock:
            paths, self._paths = self._paths, set()
        return paths

    def start(self) -> None:
        """Start watching (the folder must exist)."""
        self._observer.start()

    def stop(self) -> None:
        """Stop and join the observer thread."""
        self._observer.stop()
        self._observer.join(timeout=5)
