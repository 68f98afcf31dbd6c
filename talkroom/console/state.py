"""What the console knows, fed by the producers' messages; no Textual in here.

Everything is kept up to date from what changed: a snapshot makes one row, and the
problems of a conversation are worked out again when it, its receipts or the sessions it
waits on change, or when time alone can change them (a wait passing its limit), never
for every conversation at every tick.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from talkroom.core import clock
from talkroom.core.model import CLOSED, IN_PROGRESS, PAUSED, Block, Conversation, assignment_id
from talkroom.core.names import MODERATOR
from talkroom.core.receipts import Receipt
from talkroom.core.stale import BrokenLock
from talkroom.core.store import Snapshot
from talkroom.core.views import activity
from talkroom.health import Facts, Problem, problems, session_problem, waiting_limit
from talkroom.watch.heartbeat import Heartbeat
from talkroom.watch.registry import Session

FILTERS = ("all", "live", "paused", "closed")
_STATUS_OF_FILTER = {"live": IN_PROGRESS, "paused": PAUSED, "closed": CLOSED}
SortKey = tuple[bool, bool, float, str]
STALE_TEXT = 5.0  # a problem's text (its ages) read later than this is worked out again
FIRST_CHUNK = 500  # the first load's problems are worked out this many at a time


def block_time(block: Block) -> float | None:
    """When a block was written (older files have looser stamps), or None."""
    return clock.parse_loose(block.at)


class Row:
    """One line of the conversation list."""

    __slots__ = ("_waiting", "activity", "conv", "error", "id", "key", "needs_you", "problems")

    def __init__(self, snap: Snapshot) -> None:
        self.id = snap.conv_id
        self.conv = snap.conv if snap.readable else None
        self.error = None if snap.readable else (snap.error or "unreadable")
        conv = self.conv
        self.needs_you = bool(conv and conv.status == IN_PROGRESS and MODERATOR in conv.next)
        self.activity = activity(conv) if conv else 0.0
        self.problems: list[Problem] = []
        self._waiting: tuple[float | None] | None = None
        # Who needs the moderator first, then unreadable files, then newest activity.
        self.key: SortKey = (not self.needs_you, self.error is None, -self.activity, self.id)

    @property
    def waiting_since(self) -> float | None:
        """Since when `next` has been waiting (worked out when first asked: a row is
        usually off screen)."""
        if self._waiting is None:
            conv, since = self.conv, None
            if conv is not None and conv.status == IN_PROGRESS and conv.next:
                block = conv.assignment()
                since = block_time(block) if block else None
            self._waiting = (since,)
        return self._waiting[0]

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


class ProblemsByConversation(dict[str, list[Problem]]):
    """The problems found, by conversation id. `get` works a conversation's out again when
    they were found a while ago, so the texts read (waiting for 12m) are current; what is
    news is still said only by `ConsoleState.update_problems`."""

    def __init__(self, state: ConsoleState) -> None:
        super().__init__()
        self._state = state
        self.found_at: dict[str, float] = {}

    def get(self, conv_id: str, default: list[Problem] | None = None) -> list[Problem]:  # type: ignore[override]
        """The conversation's problems, their texts as of now."""
        found = super().get(conv_id)
        if found is None:
            return default if default is not None else []
        now = clock.now()
        if now - self.found_at.get(conv_id, now) > STALE_TEXT:
            found = self._state.retext(conv_id, found, now)
        return found


class ConsoleState:
    """Conversations, receipts, hosts and sessions, as the producers last reported them."""

    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self.rows_by_id: dict[str, Row] = {}
        self.needing: set[str] = set()  # the conversations that need the moderator now
        self.receipts: dict[tuple[str, str], list[Receipt]] = {}
        self.heartbeats: list[Heartbeat] = []
        self.sessions: list[tuple[Session, bool | None]] = []
        self._broken_locks: list[BrokenLock] = []
        self.last_receipt: Receipt | None = None
        self.problems = ProblemsByConversation(self)
        self.problems_changed: set[str] = set()  # whose problems changed at the last update
        self._facts: Facts | None = None
        self._dirty: set[str] = set()  # conversations whose problems must be worked out
        # The first load's conversations, list order: their problems are worked out a
        # chunk at a time after the first paint, and are not news.
        self._first: list[str] = []
        self._unseen: set[str] = set()  # of those, the ones not worked out yet
        self._loaded = False
        self.loading = False  # the snapshots applied next are the first look's (in chunks)
        self._due: list[tuple[float, str]] = []  # (when, id): time alone changes them then
        self._due_at: dict[str, float] = {}  # each one's latest; older entries are stale
        self._every_tick: set[str] = set()  # deferrals, lost turns, broken locks: few
        self._waiting_on: dict[str, set[str]] = {}  # session -> conversations it must answer
        self._session_said: dict[str, tuple[str, str] | None] = {}

    # --- hosts and sessions: the facts the problems are worked out from ------------------

    @property
    def broken_locks(self) -> list[BrokenLock]:
        """Locks broken as stale (their conversations' problems are worked out again)."""
        return self._broken_locks

    @broken_locks.setter
    def broken_locks(self, broken: list[BrokenLock]) -> None:
        self._dirty |= {b.conv_id for b in [*self._broken_locks, *broken]}
        self._broken_locks = broken

    # --- conversations and receipts -------------------------------------------------------

    def apply(self, updates: list[Snapshot], removed: list[str]) -> set[str]:
        """Take new snapshots; returns the ids whose `next` just became the moderator."""
        newly_needing: set[str] = set()
        first, self._loaded = not self._loaded or self.loading, True
        for snap in updates:
            conv_id = snap.conv_id
            before = self.rows_by_id.get(conv_id)
            row = Row(snap)
            row.problems = dict.get(self.problems, conv_id, [])
            self.snapshots[conv_id] = snap
            self.rows_by_id[conv_id] = row
            self._file_waiting(conv_id, before, row)
            if not first:
                self._dirty.add(conv_id)
            if row.needs_you and not first and not (before is not None and before.needs_you):
                newly_needing.add(conv_id)
            if row.needs_you:
                self.needing.add(conv_id)
            else:
                self.needing.discard(conv_id)
        if first:  # last first: chunks are taken from the end (the top of the list)
            self._unseen |= {snap.conv_id for snap in updates}
            self._first = sorted(self._unseen, key=lambda c: self.rows_by_id[c].key)[::-1]
        self._unseen.difference_update(removed)
        for conv_id in removed:
            self.snapshots.pop(conv_id, None)
            self.needing.discard(conv_id)
            self._file_waiting(conv_id, self.rows_by_id.pop(conv_id, None), None)
            self._dirty.discard(conv_id)
            self._every_tick.discard(conv_id)
            self.problems.pop(conv_id, None)
        return newly_needing

    def add_receipts(self, receipts: list[Receipt]) -> set[str]:
        """File receipts under their assignment; returns the conversation ids touched."""
        touched: set[str] = set()
        for receipt in receipts:
            self.receipts.setdefault((receipt.conversation, receipt.assignment), []).append(receipt)
            touched.add(receipt.conversation)
            if self.last_receipt is None or receipt.at >= self.last_receipt.at:
                self.last_receipt = receipt
        self._dirty |= touched & self.snapshots.keys()
        return touched

    def receipts_for(self, conv_id: str, block: Block) -> list[Receipt]:
        """Every host's receipts for the assignment `block` made, in time order."""
        if not block.assigns:
            return []
        return sorted(self.receipts.get((conv_id, assignment_id(block)), []), key=lambda r: r.at)

    # --- problems -------------------------------------------------------------------------

    @property
    def problems_pending(self) -> bool:
        """True while the first look's problems are left to work out (once it is all in)."""
        return bool(self._unseen) and not self.loading

    def update_problems(
        self, host: str, now: float, waiting: float, deferred: float
    ) -> list[Problem]:
        """Work out again the problems that may have changed (their conversation, its
        receipts, the sessions it waits on, or time), and a chunk of the first load's;
        returns the ones that are new. `problems_changed` then holds the conversations
        whose problems came or went."""
        facts = Facts(
            host,
            self.sessions,
            self.heartbeats,
            self.receipts,
            self._broken_locks,
            waiting,
            deferred,
        )
        self._facts = facts
        ids, self._dirty = self._dirty, set()
        ids |= self._every_tick
        while self._due and self._due[0][0] <= now:
            when, conv_id = heapq.heappop(self._due)
            if self._due_at.get(conv_id) == when:
                del self._due_at[conv_id]
                ids.add(conv_id)
        ids |= self._sessions_changed(facts, now)
        taken = 0
        while self._first and taken < FIRST_CHUNK and not self.loading:
            conv_id = self._first.pop()
            if conv_id in self._unseen and conv_id not in ids:
                ids.add(conv_id)
                taken += 1
        quiet = ids & self._unseen
        self._unseen -= quiet
        new: list[Problem] = []
        self.problems_changed = set()
        for conv_id in ids:
            before = dict.get(self.problems, conv_id, [])
            conv = self.conversation(conv_id)
            found = problems(conv, facts, now) if conv is not None else []
            if conv is not None:
                self._schedule(conv, facts, now)
            if found:
                self.problems[conv_id] = found
                self.problems.found_at[conv_id] = now
            else:
                self.problems.pop(conv_id, None)
            known = {p.key for p in before}
            if conv_id not in quiet:
                new += [p for p in found if p.key not in known]
            if [p.key for p in found] != [p.key for p in before]:
                self.problems_changed.add(conv_id)
            row = self.rows_by_id.get(conv_id)
            if row is not None:
                row.problems = found
        return new

    def retext(self, conv_id: str, found: list[Problem], now: float) -> list[Problem]:
        """The same problems of one conversation with their texts as of `now`."""
        conv, facts = self.conversation(conv_id), self._facts
        if conv is None or facts is None:
            return found
        fresh = {p.key: p for p in problems(conv, facts, now)}
        found = [fresh.get(p.key, p) for p in found]
        dict.__setitem__(self.problems, conv_id, found)
        self.problems.found_at[conv_id] = now
        row = self.rows_by_id.get(conv_id)
        if row is not None:
            row.problems = found
        return found

    def _schedule(self, conv: Conversation, facts: Facts, now: float) -> None:
        """When time alone can next change this conversation's problems."""
        self._every_tick.discard(conv.id)
        if conv.lost or any(b.conv_id == conv.id for b in facts.broken_locks):
            self._every_tick.add(conv.id)  # both are shown for a while, then not
        if conv.status != IN_PROGRESS or not conv.agents_next:
            return
        block = conv.assignment()
        if block is None:
            return
        mine = facts.receipts.get((conv.id, assignment_id(block)), [])
        if mine and max(mine, key=lambda r: r.at).kind == "deferred":
            self._every_tick.add(conv.id)  # a deferral becomes a problem past a threshold
        since = block_time(block)
        if since is not None:
            due = since + waiting_limit(conv, facts.waiting_threshold) + 0.5
            if due > now and self._due_at.get(conv.id) != due:
                self._due_at[conv.id] = due
                heapq.heappush(self._due, (due, conv.id))

    def _file_waiting(self, conv_id: str, before: Row | None, after: Row | None) -> None:
        """Index the conversations by the sessions they wait on."""
        for row, add in ((before, False), (after, True)):
            conv = row.conv if row is not None else None
            if conv is None or conv.status != IN_PROGRESS:
                continue
            for name in conv.agents_next:
                waiting = self._waiting_on.setdefault(name, set())
                if add:
                    waiting.add(conv_id)
                else:
                    waiting.discard(conv_id)

    def _sessions_changed(self, facts: Facts, now: float) -> set[str]:
        """The conversations waiting on a session whose state changed (registered, its
        pane gone, its host's watcher silent) since the last look."""
        out: set[str] = set()
        for name, waiting in self._waiting_on.items():
            problem = session_problem("", name, facts, now) if waiting else None
            said = (problem.kind, problem.subject) if problem is not None else None
            if name in self._session_said and self._session_said[name] != said:
                out |= waiting
            self._session_said[name] = said
        return out

    # --- rows -----------------------------------------------------------------------------

    def row(self, snap: Snapshot) -> Row:
        """A row with its problems (their texts as of now)."""
        row = self.rows_by_id.get(snap.conv_id)
        if row is None or row.conv is not (snap.conv if snap.readable else None):
            row = Row(snap)
        row.problems = self.problems.get(row.id, [])
        return row

    def rows(self, status: str = "all", text: str = "") -> list[Row]:
        """The list's rows: conversations that need the moderator first, then by activity."""
        rows = [r for r in self.rows_by_id.values() if r.matches(status, text)]
        rows.sort(key=lambda r: r.key)
        return rows

    def listed(
        self, conv_ids: Iterable[str], status: str, text: str
    ) -> tuple[list[Row], list[str]]:
        """Of these conversations: the rows shown under the filter, and the ids not shown
        (gone, or filtered out)."""
        shown: list[Row] = []
        hidden: list[str] = []
        for conv_id in conv_ids:
            row = self.rows_by_id.get(conv_id)
            if row is not None and row.matches(status, text):
                shown.append(row)
            else:
                hidden.append(conv_id)
        return shown, hidden

    def conversations(self) -> list[Conversation]:
        """Every readable conversation."""
        return [s.conv for s in self.snapshots.values() if s.readable and s.conv is not None]

    def conversation(self, conv_id: str) -> Conversation | None:
        """The readable conversation with this id, if any."""
        snap = self.snapshots.get(conv_id)
        return snap.conv if snap is not None and snap.readable else None
