"""Messages the producers (tailer, watcher, peeker) post to the main screen.

The producers can post faster than the screen redraws (a burst of file events, a watcher
delivering to ten sessions). Textual hands a message's `can_replace` the next one waiting
behind it in the queue; where the newer one says everything the older one did (or takes the
older one's content in first), the older is dropped, so a burst costs one redraw.
"""

from __future__ import annotations

from textual.message import Message

from talkroom.core.receipts import Receipt
from talkroom.core.stale import BrokenLock
from talkroom.core.store import Snapshot
from talkroom.watch.heartbeat import Heartbeat
from talkroom.watch.registry import Session
from talkroom.watch.watcher import WatchEvent


class ConversationsChanged(Message, bubble=False):
    """Some conversation files changed (new snapshots) or went away."""

    def __init__(self, updates: list[Snapshot], removed: list[str]) -> None:
        super().__init__()
        self.updates = updates
        self.removed = removed

    def can_replace(self, message: Message) -> bool:
        """A newer one takes this one's changes in, newest last, and replaces it."""
        if not isinstance(message, ConversationsChanged):
            return False
        message.absorb(self)
        return True

    def absorb(self, older: ConversationsChanged) -> None:
        """Merge an older message's changes under this one's: no change is lost."""
        newer = {snap.conv_id for snap in self.updates}
        gone = set(self.removed)
        self.updates = [
            s for s in older.updates if s.conv_id not in newer and s.conv_id not in gone
        ] + self.updates
        self.removed = [c for c in older.removed if c not in newer and c not in gone] + self.removed

    @property
    def changed(self) -> set[str]:
        """The ids of the conversations with new snapshots."""
        return {snap.conv_id for snap in self.updates}


class ReceiptsArrived(Message, bubble=False):
    """New lines in some host's deliveries.jsonl."""

    def __init__(self, receipts: list[Receipt]) -> None:
        super().__init__()
        self.receipts = receipts

    def can_replace(self, message: Message) -> bool:
        """A newer one takes this one's receipts in, in order, and replaces it."""
        if not isinstance(message, ReceiptsArrived):
            return False
        message.receipts = self.receipts + message.receipts
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
