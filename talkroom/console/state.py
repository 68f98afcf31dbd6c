"""What the console knows, fed by the producers' messages; no Textual in here."""

from __future__ import annotations

from talkroom.core import clock
from talkroom.core.model import CLOSED, IN_PROGRESS, PAUSED, Block, Conversation, assignment_id
from talkroom.core.names import MODERATOR
from talkroom.core.receipts import Receipt
from talkroom.core.stale import BrokenLock
from talkroom.core.store import Snapshot
from talkroom.core.views import activity
from talkroom.health import Facts, Problem, problems
from talkroom.watch.heartbeat import Heartbeat
from talkroom.watch.registry import Session

FILTERS = ("all", "live", "paused", "closed")
_STATUS_OF_FILTER = {"live": IN_PROGRESS, "paused": PAUSED, "closed": CLOSED}


def block_time(block: Block) -> float | None:
    """When a block was written (older files have looser stamps), or None."""
    return clock.parse_loose(block.at)


class Row:
    """One line of the conversation list."""

    __slots__ = ("activity", "conv", "error", "id", "needs_you", "problems", "waiting_since")

    def __init__(self, snap: Snapshot) -> None:
        self.id = snap.conv_id
        self.conv = snap.conv if snap.readable else None
        self.error = None if snap.readable else (snap.error or "unreadable")
        conv = self.conv
        self.needs_you = bool(conv and conv.status == IN_PROGRESS and MODERATOR in conv.next)
        self.activity = activity(conv) if conv else 0.0
        self.problems: list[Problem] = []
        self.waiting_since: float | None = None
        if conv is not None and conv.status == IN_PROGRESS and conv.next:
            block = conv.assignment()
            self.waiting_since = block_time(block) if block else None

    def matches(self, status: str, text: str) -> bool:
        """Shown under this status filter and quick filter text."""
        conv = self.conv
        if conv is None:
            return not text or text in self.id
        if status != "all" and conv.status != _STATUS_OF_FILTER[status]:
            return False
        if not text:
            return True
        haystack = " ".join([self.id, conv.topic, *conv.participants]).lower()
        return all(word in haystack for word in text.lower().split())


class ConsoleState:
    """Conversations, receipts, hosts and sessions, as the producers last reported them."""

    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self.receipts: dict[tuple[str, str], list[Receipt]] = {}
        self.heartbeats: list[Heartbeat] = []
        self.sessions: list[tuple[Session, bool | None]] = []
        self.broken_locks: list[BrokenLock] = []
        self.last_receipt: Receipt | None = None
        self.problems: dict[str, list[Problem]] = {}

    def apply(self, updates: list[Snapshot], removed: list[str]) -> set[str]:
        """Take new snapshots; returns the ids whose `next` just became the moderator."""
        newly_needing: set[str] = set()
        for snap in updates:
            before = self.snapshots.get(snap.conv_id)
            was = before is not None and Row(before).needs_you
            self.snapshots[snap.conv_id] = snap
            if Row(snap).needs_you and not was:
                newly_needing.add(snap.conv_id)
        for conv_id in removed:
            self.snapshots.pop(conv_id, None)
        return newly_needing

    def add_receipts(self, receipts: list[Receipt]) -> set[str]:
        """File receipts under their assignment; returns the conversation ids touched."""
        touched: set[str] = set()
        for receipt in receipts:
            self.receipts.setdefault((receipt.conversation, receipt.assignment), []).append(receipt)
            touched.add(receipt.conversation)
            if self.last_receipt is None or receipt.at >= self.last_receipt.at:
                self.last_receipt = receipt
        return touched

    def receipts_for(self, conv_id: str, block: Block) -> list[Receipt]:
        """Every host's receipts for the assignment `block` made, in time order."""
        if not block.assigns:
            return []
        return sorted(self.receipts.get((conv_id, assignment_id(block)), []), key=lambda r: r.at)

    def update_problems(
        self, host: str, now: float, waiting: float, deferred: float
    ) -> list[Problem]:
        """Recompute every conversation's problems; returns the ones that are new."""
        facts = Facts(
            host,
            self.sessions,
            self.heartbeats,
            self.receipts,
            self.broken_locks,
            waiting,
            deferred,
        )
        before = {p.key for ps in self.problems.values() for p in ps}
        self.problems = {}
        for conv in self.conversations():
            found = problems(conv, facts, now)
            if found:
                self.problems[conv.id] = found
        return [p for ps in self.problems.values() for p in ps if p.key not in before]

    def row(self, snap: Snapshot) -> Row:
        """A row with its problems."""
        row = Row(snap)
        row.problems = self.problems.get(row.id, [])
        return row

    def rows(self, status: str = "all", text: str = "") -> list[Row]:
        """The list's rows: conversations that need the moderator first, then by activity."""
        rows = [self.row(snap) for snap in self.snapshots.values()]
        rows = [r for r in rows if r.matches(status, text)]
        rows.sort(key=lambda r: (not r.needs_you, r.error is None, -r.activity, r.id))
        return rows

    def conversations(self) -> list[Conversation]:
        """Every readable conversation."""
        return [s.conv for s in self.snapshots.values() if s.readable and s.conv is not None]

    def conversation(self, conv_id: str) -> Conversation | None:
        """The readable conversation with this id, if any."""
        snap = self.snapshots.get(conv_id)
        return snap.conv if snap is not None and snap.readable else None
