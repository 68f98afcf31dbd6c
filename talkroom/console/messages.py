"""Messages the producers (tailer, watcher, writers) post and the widgets consume."""

from __future__ import annotations

from textual.message import Message

from talkroom.core.receipts import Receipt
from talkroom.core.stale import BrokenLock
from talkroom.core.store import Snapshot
from talkroom.watch.heartbeat import Heartbeat
from talkroom.watch.registry import Session
from talkroom.watch.watcher import WatchEvent


class ConversationsChanged(Message):
    """Some conversation files changed (new snapshots) or went away."""

    def __init__(self, updates: list[Snapshot], removed: list[str]) -> None:
        super().__init__()
        self.updates = updates
        self.removed = removed


class ReceiptsArrived(Message):
    """New lines in some host's deliveries.jsonl."""

    def __init__(self, receipts: list[Receipt]) -> None:
        super().__init__()
        self.receipts = receipts


class HostsChanged(Message):
    """Every host's heartbeat and every registered session (alive or not, for this host)."""

    def __init__(self, heartbeats: list[Heartbeat],
                 sessions: list[tuple[Session, bool | None]],
                 broken_locks: list[BrokenLock]) -> None:
        super().__init__()
        self.heartbeats = heartbeats
        self.sessions = sessions
        self.broken_locks = broken_locks


class PaneSeen(Message):
    """The pane of the selected conversation's next session, as it looks now."""

    def __init__(self, name: str, text: str | None, state: str) -> None:
        super().__init__()
        self.name = name
        self.text = text  # None: the pane cannot be read (gone, another server)
        self.state = state  # "" ready, or busy, waiting, shell, copy mode, pane gone...


class RootProblem(Message):
    """The talk root could not be read (None: it can again)."""

    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


class WatcherReport(Message):
    """Something this host's watcher did."""

    def __init__(self, event: WatchEvent) -> None:
        super().__init__()
        self.event = event
