"""A list's read of a conversation file: its header and latest blocks, nothing kept of the
rest, which is read again only if someone asks for every block.

A list of ten thousand conversations needs each one's header (topic, status, next, turns,
participants, updated at) and its current assignment (who waits, since when), not every
body: a file whose trailer verifies is exactly what talkroom wrote, so its header's turn
count is right and its earlier blocks were checked when they were written
(`core/latest.py` reads the same way for a writer). Files that do not verify (hand edits,
torn reads, older files) are parsed whole, as before, so the reader's rules for them hold.
"""

from __future__ import annotations

import hashlib
import re

from talkroom.core.codec import HEADING_RE, check, parse, parse_blocks, trailer_match
from talkroom.core.errors import StoreError, Unreadable
from talkroom.core.files import read_capped
from talkroom.core.header import parse_header
from talkroom.core.latest import verified_front
from talkroom.core.model import Block, Conversation
from talkroom.core.names import MAX_FILE_BYTES

# UTF-8 never puts a newline byte inside a character: a heading found in the bytes starts
# where it starts in the text.
_HEADING = re.compile(b"\n" + HEADING_RE.pattern[1:].encode(), re.M)
_HEADING_LINE = re.compile(HEADING_RE.pattern.encode(), re.M)
# One `key: value` line as talkroom writes most of them: a plain word key and a plain
# value (core/header.py's rules, as a pattern), read at C speed; any other line sends the
# whole header to `parse_header`.
_CHAR = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]"
_FIRST = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff \-?:,\[\]{}#&*!|>'" + '"' + r"%@`]"
_PLAIN_LINE = re.compile(
    rf"^([a-z](?:[a-z]| (?=[a-z]))*):(?: ((?!\.\.\.){_FIRST}(?:(?!: | #){_CHAR})*(?<![ :]))?)?$",
    re.M,
)


class Listed(Conversation):
    """A verified conversation read for a list: the header and the blocks from its current
    assignment on. Every block (`blocks`) is read from the file when first asked for."""

    def __init__(
        self, conv_id: str, header: dict[str, str], latest: list[Block], earlier: int
    ) -> None:
        super().__init__(conv_id, header, latest, "")
        self.earlier = earlier  # turns in the blocks not read
        self._every: list[Block] | None = None
        self._whole: Conversation | None = None
        self._status: str | None = None
        self._next: list[str] | None = None
        self._agents: list[str] | None = None

    def __repr__(self) -> str:
        return f"Listed({self.id!r}, revision={self.revision})"

    @property
    def blocks(self) -> list[Block]:
        """Every block: the file is read and parsed now (once per snapshot)."""
        if self._every is None:
            whole = self.whole()
            if whole is None:
                return list(self._blocks)  # gone or unreadable since: what is known
            self._every = whole.blocks
        return self._every

    def whole(self) -> Conversation | None:
        """The file parsed whole (this revision, or a newer one if it changed since);
        None when it cannot be read now."""
        if self._whole is None and self.path is not None:
            try:
                whole = parse(read_capped(self.path, MAX_FILE_BYTES), self.id)
            except (OSError, Unreadable, StoreError):
                return None
            whole.path, whole.mtime = self.path, self.mtime
            whole.edited_by_hand, whole.lost = self.edited_by_hand, self.lost
            self._whole = whole
        return self._whole

    # A listing's header never changes: what is read from it on every redraw and every
    # health check is worked out once.
    @property
    def status(self) -> str:
        """IN-PROGRESS, PAUSED or CLOSED."""
        if self._status is None:
            self._status = Conversation.status.fget(self)  # type: ignore[attr-defined]
        return self._status

    @property
    def next(self) -> list[str]:
        """Who speaks now (a copy: callers may change theirs)."""
        if self._next is None:
            self._next = Conversation.next.fget(self)  # type: ignore[attr-defined]
        return list(self._next)

    @property
    def agents_next(self) -> list[str]:
        """The sessions (not the moderator) named in `next`."""
        if self._agents is None:
            self._agents = Conversation.agents_next.fget(self)  # type: ignore[attr-defined]
        return list(self._agents)

    @property
    def turns(self) -> int:
        """The header's count, right in a verified file."""
        return self.earlier + sum(1 for b in self._blocks if b.is_turn)

    def has_block(self, block_id: str) -> bool:
        """True when a block has this id (the file is read when it is not a latest one)."""
        return any(b.block_id == block_id for b in self._blocks) or block_id in self.block_ids

    def assignment(self) -> Block | None:
        """The current assignment: always among the blocks read."""
        for block in reversed(self._blocks):
            if block.assigns:
                return block
        return None

    def evolve(self, header: dict[str, str], block: Block) -> Conversation:
        """A writer never starts from a listing: the whole file, then the change."""
        whole = self.whole()
        if whole is None:
            raise StoreError(f"{self.path}: cannot be read again; try again")
        return whole.evolve(header, block)


def parse_listing(data: bytes, conv_id: str = "") -> Conversation:
    """A file as a list needs it: a `Listed` when its trailer verifies, else parsed whole
    (`codec.parse`, which also says what is wrong). Raises Unreadable like `parse`."""
    listed = _listed(data, conv_id)
    return listed if listed is not None else parse(data, conv_id)


def _listed(data: bytes, conv_id: str) -> Conversation | None:
    if len(data) > MAX_FILE_BYTES:
        return None
    trailer = trailer_match(data)
    if trailer is None:
        return None
    # OpenSSL's digest: a list reads every file, and 4-5x the builtin module's speed matters.
    front = verified_front(data, trailer, _plain_header, _openssl_sha256)
    if front is None:
        return None
    limit, sha, header, header_text, rest = front
    turns = header["turns"]
    blocks = _from_assignment(data, rest, limit)
    if blocks is None:
        return None  # every block is near the end: a whole parse costs the same
    earlier = int(turns) - sum(1 for b in blocks if b.is_turn)
    if earlier < 0:
        return None
    conv = Listed(conv_id, header, blocks, earlier)
    conv.sha = sha
    conv.trailer_ok = True
    check(conv, header_text)
    return conv


def _openssl_sha256(data: memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def _from_assignment(data: bytes, rest: int, limit: int) -> list[Block] | None:
    """The blocks from the last one that writes NEXT: on, looked for from the end; None
    when there is none, or it is the first block (then a whole parse costs the same)."""
    end = limit
    while True:
        # Bodies escape lines that look like structure: a NEXT: line at a line's start
        # ends an assignment, and the heading of its block is the nearest one above it.
        found = data.rfind(b"\nNEXT:", rest, end)
        if found < 0:
            return None
        start = _heading_above(data, rest, found)
        if start is None or start == _first_heading(data, rest):
            return None
        line = data.count(b"\n", 0, start) + 1
        blocks = parse_blocks(data[start:limit].decode("utf-8", "surrogateescape"), line)
        if blocks and blocks[0].assigns:
            return blocks
        end = start


def _heading_above(data: bytes, rest: int, at: int) -> int | None:
    """The start of the nearest heading line above offset `at`."""
    while True:
        mark = data.rfind(b" -- ", rest, at)
        if mark < 0:
            return None
        start = data.rfind(b"\n", rest, mark) + 1 or rest
        if _HEADING_LINE.match(data, start):
            return start
        at = start


def _first_heading(data: bytes, rest: int) -> int:
    found = _HEADING.search(data, rest - 1)
    return found.start() + 1 if found is not None else -1


def _plain_header(text: str) -> dict[str, str]:
    """`parse_header`'s answer, at C speed when every line is a plain `key: value`."""
    lines = text.split("\n")
    found = dict(_PLAIN_LINE.findall(text))
    if len(found) == len(lines) - lines.count(""):  # every line, no key twice
        return found
    return parse_header(text, first_line=2)
