"""Messages the producers (tailer, watcher, peeker) post to the main screen.

The producers can post faster than the screen redraws (a burst of file events, a watcher
delivering to ten sessions). Textual hands a message's `can_replace` the next one waiting
behind it in the queue; where the newer one says everything the older one did (or takes the
older one's content in first), the older is dropped, so a burst costs one redraw. The tailer
goes further: what it sees while its last message waits unread is merged into that one.
"""

from __future__ import annotations

import threading

from textual.message import Message

from talkroom.core.receipts import Receipt
from talkroom.core.stale import BrokenLock
from talkroom.core.store import Snapshot
from talkroom.watch.heartbeat import Heartbeat
from talkroom.watch.registry import Session
from talkroom.watch.watcher import WatchEvent


class ConversationsChanged(Message, bubble=False):
    """Some conversation files changed (new snapshots) or went away.

    The tailer keeps adding what it sees next into the one it posted (`merge`) until the
    screen reads it: however long a redraw takes, the screen then has one message to
    handle, holding the newest snapshot of each conversation.
    """

    def __init__(
        self,
        updates: list[Snapshot],
        removed: list[str],
        *,
        loading: bool = False,
        loaded: bool = False,
    ) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._updates = updates
        self._removed = removed
        self.loading = loading  # part of the first look, which comes in chunks: not news
        self.loaded = loaded  # the first look is all in
        self.read = threading.Event()  # the screen has taken it in

    @property
    def updates(self) -> list[Snapshot]:
        """The new snapshots (once read, nothing more is merged in)."""
        with self._lock:
            self.read.set()
            return self._updates

    @property
    def removed(self) -> list[str]:
        """The ids of the files that went away (once read, nothing more is merged in)."""
        with self._lock:
            self.read.set()
            return self._removed

    def merge(self, updates: list[Snapshot], removed: list[str], loading: bool = False) -> bool:
        """Take newer changes in (the producer's thread); False when the screen has read
        this one already (or one is news and the other the first look's): then they need
        a message of their own."""
        with self._lock:
            if self.read.is_set() or loading != self.loading:
                return False
            self._updates, self._removed = _newest(self._updates, self._removed, updates, removed)
            return True

    def can_replace(self, message: Message) -> bool:
        """A newer one takes this one's changes in, newest last, and replaces it."""
        if not isinstance(message, ConversationsChanged) or message.loading != self.loading:
            return False
        message.absorb(self)
        return True

    def absorb(self, older: ConversationsChanged) -> None:
        """Merge an older message's changes under this one's: no change is lost."""
        updates, removed = older.updates, older.removed
        self.loaded = self.loaded or older.loaded
        with self._lock:
            self._updates, self._removed = _newest(updates, removed, self._updates, self._removed)

    @property
    def changed(self) -> set[str]:
        """The ids of the conversations with new snapshots."""
        return {snap.conv_id for snap in self.updates}


def _newest(
    updates: list[Snapshot], removed: list[str], newer: list[Snapshot], newer_removed: list[str]
) -> tuple[list[Snapshot], list[str]]:
    """Older changes under newer ones: each conversation's newest snapshot or removal."""
    latest = {snap.conv_id for snap in newer}
    gone = set(newer_removed)
    return (
        [s for s in updates if s.conv_id not in latest and s.conv_id not in gone] + newer,
        [c for c in removed if c not in latest and c not in gone] + newer_removed,
    )


class ReceiptsArrived(Message, bubble=False):
    """New lines in some host's deliveries.jsonl (merged into, like ConversationsChanged,
    until the screen reads it)."""

    def __init__(self, receipts: list[Receipt]) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._receipts = receipts
        self._read = False

    @property
    def receipts(self) -> list[Receipt]:
        """The new receipts, in order (once read, nothing more is merged in)."""
        with self._lock:
            self._read = True
            return self._receipts

    def merge(self, receipts: list[Receipt]) -> bool:
        """Take newer receipts in (the producer's thread); False once read."""
        with self._lock:
            if self._read:
                return False
            self._receipts = self._receipts + receipts
            return True

    def can_replace(self, message: Message) -> bool:
        """A newer one takes this one's receipts in, in order, and replaces it."""
        if not isinstance(message, ReceiptsArrived):
            return False
        older = self.receipts
        with message._lock:
            message._receipts = older + message._receipts
        return True


class HostsChanged(Message, bubble=False):
    """Every host's heartbeat and every registered session (alive or not, for this host)."""

    def __init__(
        self,
        heartbeats: list[Heartbeat],
        sessions: list[tuple[Session, bool | None]],
        broken_locks: list[BrokenLock],
    ) -> None:
        super().__init__()
        self.heartbeats = heartbeats
        self.sessions = sessions
        self.broken_locks = broken_locks

    def can_replace(self, message: Message) -> bool:
        """Each one is the whole picture: the newer one is all that matters."""
        return isinstance(message, HostsChanged)


class PaneSeen(Message, bubble=False):
    """The pane of the selected conversation's next session, as it looks now."""

    def __init__(self, name: str, text: str | None, state: str) -> None:
        super().__init__()
        self.name = name
        self.text = text  # None: the pane cannot be read (gone, another server)
        self.state = state  # "" ready, or busy, waiting, shell, copy mode, pane gone...

    def can_replace(self, message: Message) -> bool:
        """Only the pane as it looks now is shown."""
        return isinstance(message, PaneSeen)


class RootProblem(Message, bubble=False):
    """The talk root could not be read (None: it can again)."""

    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


# What a watcher event does to the console besides redrawing the status bar.
SETS_ERROR = frozenset({"error", "recovered", "delivered"})  # sets or clears the error shown
TOASTED = frozenset({"failed", "stale-lock", "unknown"})  # each one is said in a toast


class WatcherReport(Message, bubble=False):
    """Something this host's watcher did."""

    def __init__(self, event: WatchEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        """A newer report replaces this one if nothing this one does is lost: never a
        toast, and a change of the error shown only by another change of it."""
        if not isinstance(message, WatcherReport) or self.event.kind in TOASTED:
            return False
        return self.event.kind not in SETS_ERROR or message.event.kind in SETS_ERROR
