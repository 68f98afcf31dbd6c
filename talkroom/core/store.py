"""Lock-free retrying reads (docs/protocol.md section 5) and the one write path (section 4)."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

from talkroom.core import journal
from talkroom.core.codec import check_writable, parse, render
from talkroom.core.errors import NotFound, StoreError, Unreadable, io_error
from talkroom.core.files import read_capped, read_tail
from talkroom.core.lock import DEFAULT_TIMEOUT, FileLock, LockLost
from talkroom.core.model import Conversation
from talkroom.core.names import MAX_FILE_BYTES, NAME_RE

SETTLE = 1.0  # the same bytes twice this far apart: a hand edit, not a torn read
# An older revision must stand this many settle times before it is believed: a network
# mount's cache can show the previous file for a while; an editor's save stays.
REGRESS_SETTLES = 5
READ_BACK_WINDOW = 3.0  # how long a writer waits to see its own revision (network mounts)


def conversation_files(directory: Path) -> list[Path]:
    """The conversation files in `directory` (names that match; never locks or swap files)."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise io_error(exc, directory, "list") from None
    return [
        Path(entry.path)
        for entry in entries
        if entry.name.endswith(".md") and NAME_RE.match(entry.name[:-3])
    ]


def read_bytes(path: Path) -> bytes:
    """Open, read, close; refuse links, FIFOs, devices and files over the size limit."""
    return read_capped(path, MAX_FILE_BYTES, what="the conversation")


class Snapshot:
    """What a reader knows of one file now."""

    __slots__ = ("conv", "error", "missing", "path", "pending")

    def __init__(
        self,
        path: Path,
        conv: Conversation | None = None,
        error: str | None = None,
        pending: bool = False,
        missing: bool = False,
    ) -> None:
        self.path = path
        self.conv = conv  # the last good parse (may be older than the file)
        self.error = error  # set when the file is unreadable
        self.pending = pending  # a torn, stale or missing read is being waited out
        self.missing = missing

    @property
    def conv_id(self) -> str:
        """The conversation id from the file name."""
        return self.path.name[:-3] if self.path.name.endswith(".md") else self.path.name

    @property
    def readable(self) -> bool:
        """True when the file parsed (maybe as a hand edit)."""
        return self.error is None and self.conv is not None


class _Entry:
    __slots__ = ("digest", "last", "max_revision", "suspect", "verdicts")

    def __init__(self) -> None:
        self.last: Conversation | None = None
        self.max_revision = 0
        self.digest = ""
        self.suspect: tuple[str, float] | None = None
        self.verdicts: dict[str, Conversation | str] = {}


class Reader:
    """Lock-free reader that waits out torn reads and never goes back in revision."""

    def __init__(
        self, settle: float = SETTLE, parse: Callable[[bytes, str], Conversation] | None = None
    ) -> None:
        self.settle_time = settle
        # How a file is parsed: whole, unless a reader that needs less says how (a list
        # reads headers and latest blocks: `core.listing.parse_listing`).
        self.parse = parse
        self._entries: dict[Path, _Entry] = {}

    def forget(self, path: Path) -> None:
        """Drop what is known of a path (it was deleted)."""
        self._entries.pop(path, None)

    def last(self, path: Path) -> Conversation | None:
        """The last accepted snapshot of `path`, without reading."""
        entry = self._entries.get(path)
        return entry.last if entry else None

    def poll(self, path: Path, tail: bool = False) -> Snapshot:
        """Read once, without waiting; a suspicious read returns the last good snapshot.
        With `tail`, a verified file has only its latest blocks parsed (a writer's read)."""
        entry = self._entries.setdefault(path, _Entry())
        try:
            data = read_bytes(path)
            mtime = os.lstat(path).st_mtime
        except FileNotFoundError:
            return Snapshot(path, entry.last, pending=True, missing=True)
        except Unreadable as exc:
            return Snapshot(path, None, error=exc.message)
        except OSError as exc:
            if exc.errno == errno.ESTALE:
                # Network mounts: the file was replaced while we looked it up; read again.
                return Snapshot(path, entry.last, pending=True)
            return Snapshot(path, entry.last, error=f"cannot read: {exc.strerror or exc}")
        # Change detection within this process only: Python's hash is enough and much
        # cheaper than SHA-256 (the trailer check in parse still uses SHA-256).
        sha = f"{len(data)}:{hash(data)}"
        if sha == entry.digest and entry.last is not None:
            entry.last.mtime = mtime
            return Snapshot(path, entry.last)
        verdict = entry.verdicts.get(sha)
        if isinstance(verdict, str):
            return Snapshot(path, None, error=verdict)
        if verdict is not None:
            return self._accept(entry, path, verdict, sha, mtime)
        conv_id = path.name[:-3] if path.name.endswith(".md") else path.name
        try:
            conv: Conversation | None = (
                self.parse(data, conv_id)
                if self.parse is not None and not tail
                else parse(data, conv_id, tail=tail)
            )
            assert conv is not None
            problem = (
                None
                if (conv.legacy or conv.trailer_ok)
                else ("the trailer is missing or does not match (a torn read or a hand edit)")
            )
        except Unreadable as exc:
            conv, problem = None, exc.message
        older = conv is not None and conv.revision < entry.max_revision
        if problem is None and conv is not None and not older:
            return self._accept(entry, path, conv, sha, mtime)
        now = time.monotonic()
        if entry.suspect is None or entry.suspect[0] != sha:
            entry.suspect = (sha, now)
            return Snapshot(path, entry.last, pending=True)
        settle = self.settle_time * (REGRESS_SETTLES if older else 1)
        if now - entry.suspect[1] < settle:
            return Snapshot(path, entry.last, pending=True)
        # The same bytes, for long enough: not a torn write or a stale cache but the file
        # as it is now, edited by hand or put back by an editor that had it open.
        if conv is None:
            entry.verdicts[sha] = problem or "unreadable"
            return Snapshot(path, None, error=problem)
        conv.edited_by_hand = problem is not None
        conv.regressed = older
        if older:
            entry.max_revision = conv.revision
        entry.verdicts[sha] = conv
        return self._accept(entry, path, conv, sha, mtime)

    def _accept(
        self, entry: _Entry, path: Path, conv: Conversation, sha: str, mtime: float
    ) -> Snapshot:
        conv.path = path
        conv.mtime = mtime
        entry.last, entry.digest, entry.suspect = conv, sha, None
        entry.max_revision = max(entry.max_revision, conv.revision)
        return Snapshot(path, conv)

    def settle_all(
        self, paths: list[Path], timeout: float = 5.0, tail: bool = False
    ) -> list[Snapshot]:
        """Poll until each file is settled: verified, a hand edit, unreadable or missing.

        Torn reads are waited out together, so many suspicious files cost one settle time.
        A file still pending at the deadline is returned pending.
        """
        start = time.monotonic()
        deadline = start + max(timeout, self.settle_time + 0.5)
        snaps = {path: self.poll(path, tail) for path in paths}
        delay = 0.02
        while True:
            now = time.monotonic()
            waiting = [p for p, s in snaps.items() if s.pending]
            for path in waiting:
                # A rename window is short; a file missing this long is gone.
                if snaps[path].missing and now - start > 0.5:
                    snaps[path] = Snapshot(path, None, missing=True)
            waiting = [p for p in waiting if snaps[p].pending]
            if not waiting or now > deadline:
                return [snaps[p] for p in paths]
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
            for path in waiting:
                snaps[path] = self.poll(path, tail)

    def settle(self, path: Path, timeout: float = 5.0, tail: bool = False) -> Snapshot:
        """settle_all for one file."""
        return self.settle_all([path], timeout, tail)[0]

    def load(self, path: Path, timeout: float = 5.0, tail: bool = False) -> Conversation:
        """Read until a verified snapshot (or a settled verdict); raise on failure."""
        snap = self.settle(path, timeout, tail)
        if snap.missing and not snap.pending:
            raise not_found(path)
        if snap.error is not None:
            raise Unreadable(f"{path}: {snap.error}")
        if snap.pending or snap.conv is None:
            raise StoreError(f"{path}: the file keeps changing or is torn; try again")
        return snap.conv


def not_found(path: Path) -> NotFound:
    """No conversation at `path`: a one-line error saying what to do (restore it, when
    it was archived: docs/protocol.md section 4.5)."""
    conv_id = path.name[:-3]
    if os.path.lexists(path.parent.parent / "archive" / path.name):
        return NotFound(
            f"{conv_id} is archived; 'talkroom archive --restore {conv_id}' brings it back"
        )
    return NotFound(
        f"no conversation {conv_id!r} in {path.parent}; check the id with "
        "'talkroom list' and the root with --root"
    )


def load(path: Path) -> Conversation:
    """Read one conversation file with a fresh reader."""
    return Reader().load(path)


Change = Callable[[Conversation | None], Conversation]


def write(
    path: Path,
    block_id: str,
    change: Change,
    *,
    host: str,
    create: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    broken: list[Path] | None = None,
    lost: list[journal.Entry] | None = None,
    notes: list[str] | None = None,
) -> Conversation:
    """The one write path: lock, read fresh, check, write, replace, read back.

    `change` gets the current conversation (None when creating) and returns the new one,
    or raises Refused/BadInput; the lock is released and nothing is written then.
    Stale locks broken on the way are appended to `broken`; committed blocks found missing
    from the file (an editor saved over them) to `lost`, and kept in the journal.
    """
    for _attempt in range(5):
        lock = FileLock(path, host, timeout)
        try:
            return _write_once(lock, path, block_id, change, create, lost, notes)
        except KeyboardInterrupt:
            if not lock.committed:
                raise
            # Ctrl-C came after the rename: the turn is in the file, and saying it failed
            # would make its author send it again.
            new = lock.committed
            assert isinstance(new, Conversation)
            new.path, new.id, new.trailer_ok = path, path.name[:-3], True
            return new
        except _Again as again:
            create = create and not again.landed
        finally:
            if broken is not None:
                broken.extend(lock.broken)
    raise StoreError(f"{path}: the write did not read back after 5 tries; check the talk root")


class _Again(Exception):
    """The lock was lost before the commit, or the write did not read back: try again."""

    def __init__(self, landed: bool = False) -> None:
        super().__init__()
        self.landed = landed  # the file exists now (it was created, or is being)


def _write_once(
    lock: FileLock,
    path: Path,
    block_id: str,
    change: Change,
    create: bool,
    lost: list[journal.Entry] | None,
    notes: list[str] | None,
) -> Conversation:
    with lock:
        current = _read_current(path, create)
        if current is not None and current.has_block(block_id):
            return current  # a retried write that already landed
        new = change(current)
        if current is not None and new.revision <= current.revision:
            raise AssertionError("a change must raise the revision")
        data = render(new)
        check_writable(new, data)
        previous = journal.load_for_write(current) if current is not None else None
        try:
            lock.commit(data, new)
        except LockLost:
            raise _Again from None  # stopped past the stale time: read and decide again
        _journal(lock, path, previous, current, new, data, lost, notes)
    back = _read_back(path, new, data)
    if back is None or not back.has_block(block_id):
        raise _Again(landed=True)
    return back


def _journal(
    lock: FileLock,
    path: Path,
    previous: journal.Journal | None,
    current: Conversation | None,
    new: Conversation,
    data: bytes,
    lost: list[journal.Entry] | None,
    notes: list[str] | None,
) -> None:
    """Record what was committed; a journal that cannot be written costs only detection.
    One that cannot be read is moved aside, never written over: it may hold lost text."""
    from talkroom.core import clock

    name = journal.journal_path(path).name
    if previous is None and current is not None and journal.unreadable(path):
        aside = f"{name}.{int(clock.now())}.unread"
        try:
            assert lock.folder is not None
            lock.folder.rename(name, aside, attempts=1)
            if notes is not None:
                notes.append(
                    f"the journal {journal.journal_path(path)} could not be read; "
                    f"it is kept as {aside} and a new one is started"
                )
        except OSError:
            return  # leave it be: better no journal than losing the old one's text
    record, newly = journal.after_commit(previous, current, new, data, clock.now())
    if lost is not None:
        lost.extend(newly)
    try:
        lock.place(record.render(), name, sync=False)
    except (OSError, StoreError):
        pass


def _read_current(path: Path, create: bool) -> Conversation | None:
    if create:
        if os.path.lexists(path):
            raise FileExistsError(path)
        return None
    return Reader().load(path, tail=True)


def _read_back(path: Path, new: Conversation, data: bytes) -> Conversation | None:
    """Our write as readers see it; network mounts may show the old file for a moment.

    The same length and last bytes (our trailer) mean the file is `new`; anything else is
    parsed.
    """
    deadline = time.monotonic() + READ_BACK_WINDOW
    reader = Reader()
    while True:
        try:
            # Our trailer names our revision and the digest of all we wrote: the same
            # length and the same last bytes are our file, without reading it all again.
            if read_tail(path, 256) == (len(data), data[-256:]):
                new.path = path
                new.id = path.name[:-3]
                new.trailer_ok = True
                return new
            back: Conversation | None = reader.load(path)
        except (FileNotFoundError, NotFound, StoreError):
            back = None
        except OSError:
            back = None
        if back is not None and back.revision >= new.revision:
            return back
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
