"""A conversation as a timeline: every block and every delivery receipt, in order, with the
header state as it was at each step. The file alone replays its history (docs/protocol.md
section 3): moderator blocks say what they changed; turns say who is next."""

from __future__ import annotations

from talkroom.core import clock
from talkroom.core.model import CLOSED, IN_PROGRESS, PAUSED, Block, Conversation, assignment_id
from talkroom.core.names import DEFAULT_MAX_TURNS, split_names
from talkroom.core.receipts import Receipt


class State:
    """The header as it was after some step."""

    __slots__ = (
        "max_turns",
        "next",
        "paused_reason",
        "resolution",
        "status",
        "turns",
        "waiting_since",
    )

    def __init__(self) -> None:
        self.status = IN_PROGRESS
        self.next: list[str] = []
        self.turns = 0
        self.max_turns = DEFAULT_MAX_TURNS
        self.paused_reason: str | None = None
        self.resolution: str | None = None
        self.waiting_since: float | None = None

    def copy(self) -> State:
        """A copy to change."""
        other = State()
        for name in self.__slots__:
            value = getattr(self, name)
            setattr(other, name, list(value) if isinstance(value, list) else value)
        return other

    def header(self, base: dict[str, str]) -> dict[str, str]:
        """`base` (the file's header) with this state's values, for the shared widgets."""
        header = dict(
            base, status=self.status, next=", ".join(self.next) or "none", turns=str(self.turns)
        )
        header["max turns"] = str(self.max_turns)
        for key, value in (("paused reason", self.paused_reason), ("resolution", self.resolution)):
            if value:
                header[key] = value
            else:
                header.pop(key, None)
        return header


def after(state: State, block: Block, final: Conversation) -> State:
    """The state once `block` was written."""
    new = state.copy()
    at = clock.parse_loose(block.at)
    if block.is_turn:
        new.turns = block.turn or new.turns + 1
        new.max_turns = block.budget or new.max_turns
        if block.next is not None:
            new.next = list(block.next)
            new.waiting_since = at
        if block.kind == "Reply" and block.next == [] and final.status == CLOSED:
            new.status, new.resolution = CLOSED, final.resolution  # closed with --close
        return new
    for key, _old, value in block.changes:
        if key == "status":
            new.status = value.strip().upper()
        elif key == "next":
            new.next = split_names(value)
        elif key == "max turns" and value.strip().isdigit():
            new.max_turns = int(value)
    if block.action == "pause":
        new.status, new.paused_reason = PAUSED, block.body or None
    elif block.action == "resume":
        new.status, new.paused_reason = IN_PROGRESS, None
    elif block.action == "close":
        new.status, new.resolution, new.paused_reason = CLOSED, block.body or None, None
    if block.next is not None:
        new.next = list(block.next)
        new.waiting_since = at
    return new


class Step:
    """One step of a replay: a block written, or a receipt recorded."""

    __slots__ = ("at", "blocks", "receipt", "state")

    def __init__(
        self, blocks: int, state: State, at: float | None, receipt: Receipt | None = None
    ) -> None:
        self.blocks = blocks  # how many blocks exist at this step
        self.state = state
        self.at = at
        self.receipt = receipt

    @property
    def kind(self) -> str:
        """block or receipt."""
        return "receipt" if self.receipt is not None else "block"


class Timeline:
    """Every step of one conversation, blocks in file order, receipts under their hand-over."""

    def __init__(self, conv: Conversation, receipts: list[Receipt]) -> None:
        self.conv = conv
        self.receipts = sorted(receipts, key=lambda r: r.at)
        self.steps: list[Step] = []
        by_assignment: dict[str, list[Receipt]] = {}
        for receipt in self.receipts:
            by_assignment.setdefault(receipt.assignment, []).append(receipt)
        state = State()
        for index, block in enumerate(conv.blocks):
            state = after(state, block, conv)
            at = clock.parse_loose(block.at)
            self.steps.append(Step(index + 1, state, at))
            if block.assigns:
                for receipt in by_assignment.get(assignment_id(block), []):
                    self.steps.append(
                        Step(index + 1, state, clock.parse_loose(receipt.at), receipt)
                    )

    def __len__(self) -> int:
        return len(self.steps)

    def receipts_until(self, step: int) -> set[int]:
        """The ids of the receipts recorded by step `step` (inclusive)."""
        return {id(s.receipt) for s in self.steps[: step + 1] if s.receipt is not None}

    def step_of_turn(self, turn: int) -> int | None:
        """The step at which turn `turn` was written."""
        for i, step in enumerate(self.steps):
            block = self.conv.blocks[step.blocks - 1]
            if step.kind == "block" and block.is_turn and block.turn == turn:
                return i
        return None

    def delays(self, speed: str, cap: float = 3.0) -> list[float]:
        """Seconds to wait before each step: real time with gaps over `cap` compressed, one
        block a second, or as fast as the screen can follow."""
        out = []
        for i, step in enumerate(self.steps):
            if speed == "fast":
                out.append(0.02)
            elif speed == "1/s":
                out.append(1.0 if step.kind == "block" else 0.3)
            else:
                prev = self.steps[i - 1].at if i else step.at
                gap = (step.at - prev) if step.at is not None and prev is not None else 1.0
                out.append(min(max(gap, 0.05), cap))
        return out
