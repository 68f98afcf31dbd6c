"""The in-memory shape of a conversation file (docs/protocol.md section 3).

Plain classes, not dataclasses: importing `dataclasses` costs the helper ~10 ms at start.
"""

from __future__ import annotations

from pathlib import Path

from talkroom.core.names import DEFAULT_MAX_TURNS, MODERATOR, split_names

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from talkroom.core.journal import Entry

IN_PROGRESS, PAUSED, CLOSED = "IN-PROGRESS", "PAUSED", "CLOSED"
STATUSES = (IN_PROGRESS, PAUSED, CLOSED)
TURN_KINDS = ("Opening", "Reply")
KINDS = ("Opening", "Reply", "Moderator")
_DETAILS = frozenset({"action", "body", "budget", "changes", "next", "turn"})


class Block:
    """One block: an Opening, a Reply or a Moderator action.

    A block read from a file keeps its exact text (`raw`) and parses what follows its
    heading (turn, action, changes, body, NEXT) only when one of those is first asked for:
    a reply into a long conversation reads the header, the headings and the last few
    blocks, not every body.
    """

    __slots__ = (
        "action",
        "at",
        "author",
        "block_id",
        "body",
        "budget",
        "changes",
        "kind",
        "lazy",
        "line",
        "next",
        "raw",
        "turn",
    )

    def __init__(
        self,
        kind: str,
        author: str,
        at: str,
        body: str = "",
        block_id: str | None = None,
        turn: int | None = None,
        budget: int | None = None,
        action: str | None = None,
        changes: list[tuple[str, str, str]] | None = None,
        next: list[str] | None = None,
        raw: str | None = None,
        line: int = 0,
    ) -> None:
        self.kind = kind
        self.author = author
        self.at = at
        self.body = body
        self.block_id = block_id
        self.turn = turn
        self.budget = budget
        self.action = action
        self.changes = changes if changes is not None else []
        self.next = next  # None: the block has no NEXT: line (not an assignment)
        self.raw = raw  # the block's exact text when it came from a file
        self.line = line  # 1-based line of its heading in the file
        self.lazy = False

    @classmethod
    def from_file(
        cls, kind: str, author: str, at: str, block_id: str | None, raw: str, line: int
    ) -> Block:
        """A block of a file whose details are parsed from `raw` when first needed."""
        block = cls.__new__(cls)
        block.kind, block.author, block.at, block.block_id = kind, author, at, block_id
        block.raw, block.line, block.lazy = raw, line, True
        return block

    def __getattr__(self, name: str) -> object:
        # Reached only for a detail slot a lazy block has not filled yet.
        if name in _DETAILS and self.lazy:
            from talkroom.core.codec import fill_details

            self.lazy = False
            assert self.raw is not None
            fill_details(self, self.raw)
            return getattr(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"Block({self.kind} by {self.author} @ {self.at}, id={self.block_id})"

    @property
    def is_turn(self) -> bool:
        """True for Opening and Reply blocks (they count against the budget)."""
        return self.kind in TURN_KINDS

    @property
    def assigns(self) -> bool:
        """True when this block writes NEXT: (an assignment, docs/protocol.md section 6)."""
        return self.next is not None

    def change(self, key: str) -> tuple[str, str] | None:
        """The (old, new) of a `key: old -> new` line of a moderator block, if any."""
        for k, old, new in self.changes:
            if k == key:
                return old, new
        return None


class Conversation:
    """A parsed conversation file: header, preamble, blocks and verification state."""

    def __init__(
        self,
        id: str,
        header: dict[str, str],
        blocks: list[Block],
        preamble: str = "\n",
        path: Path | None = None,
    ) -> None:
        self.id = id
        self.header = header
        self._blocks = blocks
        # The file's bytes of its earliest blocks, not parsed yet (`latest.parse_latest`),
        # the line they start on and how many turns they hold.
        self.unparsed: tuple[bytes, int, int] | None = None
        self.preamble = preamble  # text between the header and the first block
        self.path = path
        self.trailer_ok = False
        self.edited_by_hand = False
        self.regressed = False  # an older revision replaced a newer one (see Reader)
        self.sha = ""  # the digest of the file's text above its trailer, when it has one
        self.lost: list[Entry] = []  # committed blocks the file no longer holds (journal)
        self.mtime = 0.0

    def __repr__(self) -> str:
        return f"Conversation({self.id!r}, revision={self.revision}, blocks={len(self.blocks)})"

    @property
    def blocks(self) -> list[Block]:
        """Every block, oldest first (the earliest are parsed now if they were left)."""
        if self.unparsed is not None:
            from talkroom.core.codec import parse_blocks

            data, line, _turns = self.unparsed
            earlier = parse_blocks(data.decode("utf-8", "surrogateescape"), line)
            self._blocks = earlier + self._blocks
            self.unparsed = None
        return self._blocks

    @property
    def latest(self) -> list[Block]:
        """The blocks parsed so far: every block, unless `unparsed` holds the earliest."""
        return self._blocks

    def has_block(self, block_id: str) -> bool:
        """True when a block has this id; the parsed (latest) blocks are asked first."""
        if any(b.block_id == block_id for b in self._blocks):
            return True
        # The id's text missing from the earlier blocks' text settles it without a parse.
        return (
            self.unparsed is not None
            and f"<!-- {block_id} -->".encode() in self.unparsed[0]
            and block_id in self.block_ids
        )

    def evolve(self, header: dict[str, str], block: Block) -> Conversation:
        """A new conversation with `header` and `block` appended; self is left untouched."""
        new = Conversation(self.id, header, [*self._blocks, block], self.preamble, self.path)
        new.unparsed = self.unparsed
        new.edited_by_hand = self.edited_by_hand
        return new

    @property
    def legacy(self) -> bool:
        """An older cross-session-talk file: no revision in the header."""
        return "revision" not in self.header

    @property
    def revision(self) -> int:
        """The header's revision; 0 when missing."""
        value = self.header.get("revision", "0").strip()
        return int(value) if value.isdigit() else 0

    @property
    def topic(self) -> str:
        """The topic line."""
        return self.header.get("topic", "")

    @property
    def status(self) -> str:
        """IN-PROGRESS, PAUSED or CLOSED (unknown values read as IN-PROGRESS)."""
        value = self.header.get("status", IN_PROGRESS).strip().upper()
        return value if value in STATUSES else IN_PROGRESS

    @property
    def participants(self) -> list[str]:
        """Participant session names."""
        return split_names(self.header.get("participants"))

    @property
    def next(self) -> list[str]:
        """Who speaks now; `moderator` is the human; empty means nobody."""
        return split_names(self.header.get("next"))

    @property
    def agents_next(self) -> list[str]:
        """The sessions (not the moderator) named in `next`."""
        return [name for name in self.next if name != MODERATOR]

    @property
    def turns(self) -> int:
        """The count of Opening and Reply blocks (the header's count is advisory)."""
        earlier = self.unparsed[2] if self.unparsed is not None else 0
        return earlier + sum(1 for b in self._blocks if b.is_turn)

    @property
    def max_turns(self) -> int:
        """The turn budget: the header, else the last `Turn N/M`, else the default."""
        value = self.header.get("max turns", "").strip()
        if value.isdigit():
            return int(value)
        for block in reversed(self.blocks):
            if block.budget:
                return block.budget
        return DEFAULT_MAX_TURNS

    @property
    def opened_by(self) -> str:
        """Who opened it: a session name or `moderator`."""
        return self.header.get("opened by", "")

    @property
    def resolution(self) -> str | None:
        """The decision or reason recorded on close."""
        return self.header.get("resolution")

    @property
    def paused_reason(self) -> str | None:
        """Why it is paused, while it is."""
        return self.header.get("paused reason")

    @property
    def opened_at(self) -> str:
        """The header's `opened at`, else the first block's time."""
        return self.header.get("opened at", "") or (self.blocks[0].at if self.blocks else "")

    @property
    def updated_at(self) -> str:
        """The header's `updated at` (may be empty in older files)."""
        return self.header.get("updated at", "")

    @property
    def block_ids(self) -> set[str]:
        """Ids of all blocks that have one."""
        return {b.block_id for b in self.blocks if b.block_id}

    def assignment(self) -> Block | None:
        """The last block that wrote NEXT: (the current assignment)."""
        for blocks in (self._blocks, self.blocks):  # the latest first, then all of them
            for block in reversed(blocks):
                if block.assigns:
                    return block
        return None


def assignment_id(block: Block) -> str:
    """An assignment's id (docs/protocol.md section 6.3): its block id, or for an older
    file's block without one, a hash of its text."""
    if block.block_id:
        return block.block_id
    from talkroom.core.codec import digest

    return "h" + digest((block.raw or block.body).encode("utf-8", "surrogateescape"))[:15]
