"""The journal beside each conversation: what talkroom committed last, so a turn that was
acknowledged and then vanished (an editor saved an older copy over it) is found and its
text kept (docs/protocol.md, section 4.3).

`conversations/.<id>.md.journal`, rewritten by every talkroom write under the lock:

    talkroom-journal 1 revision=<N> sha256=<the trailer's digest of the committed file> lost=<K>
    kept <block id> <length>
    <the block's exact text: length bytes>
    lost <block id> <noticed, epoch seconds> <length>
    <the block's exact text>

`kept` records the last blocks of the committed file (their text within a budget);
`lost` records blocks that a later writer found missing from the file. Binary-safe and
parsed without YAML or JSON: the helper pays for neither at start-up.
"""

from __future__ import annotations

import os
from pathlib import Path

from talkroom.core.errors import Unreadable
from talkroom.core.files import read_capped, read_head
from talkroom.core.model import Conversation

KEEP = 16  # blocks remembered after each write
TEXT_BUDGET = 16 * 256 * 1024  # their text, newest first: 16 bodies of the largest size
LOST_BUDGET = 8 * 1024 * 1024  # text of lost blocks kept (the newest first)
CAP = 16 * 1024 * 1024  # a journal is never written larger, nor read past this
LOST_KEPT_FOR = 7 * 86400.0  # a lost block's text stays this long
LOST_SHOWN_FOR = 86400.0  # and is shown as a problem this long


def journal_path(conv_path: Path) -> Path:
    """`.<id>.md.journal` beside `<id>.md`."""
    return conv_path.with_name(f".{conv_path.name}.journal")


class Entry:
    """One remembered block: its id, its exact text and, if lost, when that was noticed."""

    __slots__ = ("block_id", "noticed", "text")

    def __init__(self, block_id: str, text: bytes, noticed: float | None = None) -> None:
        self.block_id = block_id
        self.text = text
        self.noticed = noticed

    def __repr__(self) -> str:
        return f"Entry({self.block_id}, lost={self.noticed is not None})"

    def heading(self) -> str:
        """The block's first line, for messages (`## Reply -- beta @ ...`), inert."""
        from talkroom.core.sanitise import sanitise_line

        first = self.text.split(b"\n", 1)[0][:200].decode("utf-8", "replace")
        return sanitise_line(first.split(" <!--", 1)[0].lstrip("# ").strip())


class Journal:
    """A parsed journal."""

    __slots__ = ("kept", "lost", "revision", "sha")

    def __init__(self, revision: int, sha: str, kept: list[Entry], lost: list[Entry]) -> None:
        self.revision = revision
        self.sha = sha
        self.kept = kept
        self.lost = lost

    def render(self) -> bytes:
        """The file's bytes."""
        parts = [
            f"talkroom-journal 1 revision={self.revision} sha256={self.sha} "
            f"lost={len(self.lost)}\n".encode()
        ]
        for entry in self.kept:
            parts += [f"kept {entry.block_id} {len(entry.text)}\n".encode(), entry.text, b"\n"]
        for entry in self.lost:
            parts += [
                f"lost {entry.block_id} {entry.noticed or 0:.0f} {len(entry.text)}\n".encode(),
                entry.text,
                b"\n",
            ]
        return b"".join(parts)


def parse(data: bytes) -> Journal | None:
    """A journal from its bytes; a damaged tail loses only the records after the damage."""
    head, _, rest = data.partition(b"\n")
    words = head.decode("ascii", "replace").split()
    if len(words) < 4 or words[:2] != ["talkroom-journal", "1"]:
        return None
    fields = dict(w.split("=", 1) for w in words[2:] if "=" in w)
    revision = fields.get("revision", "")
    journal = Journal(int(revision) if revision.isdigit() else 0, fields.get("sha256", ""), [], [])
    at = 0
    while at < len(rest):
        line_end = rest.find(b"\n", at)
        if line_end < 0:
            break
        record = rest[at:line_end].decode("ascii", "replace").split()
        if not record or not record[-1].isdigit():
            break
        size = int(record[-1])
        text = rest[line_end + 1 : line_end + 1 + size]
        if len(text) != size:
            break
        if record[0] == "kept" and len(record) == 3:
            journal.kept.append(Entry(record[1], text))
        elif record[0] == "lost" and len(record) == 4 and record[2].isdigit():
            journal.lost.append(Entry(record[1], text, float(record[2])))
        else:
            break
        at = line_end + 1 + size + 1
    return journal


def check(conv: Conversation) -> list[Entry]:
    """The blocks committed to this conversation that its file no longer holds. Reads the
    journal's first line only, unless it says something was lost or another file was
    committed last."""
    return vanished(load_for_write(conv), conv, conv.mtime)


def load_for_write(conv: Conversation) -> Journal | None:
    """The journal a writer must carry forward: None when its first line says the file is
    the one last committed and nothing was lost (the usual case: one short read)."""
    if conv.path is None:
        return None
    try:
        head = read_head(journal_path(conv.path), 256).split(b"\n", 1)[0]
    except (OSError, Unreadable):
        return None
    words = dict(w.split("=", 1) for w in head.decode("ascii", "replace").split()[2:] if "=" in w)
    if words.get("lost", "") == "0" and words.get("sha256") == conv.sha:
        return None
    return load(conv.path)


def unreadable(conv_path: Path) -> bool:
    """True when a journal is there but cannot be read (too large, damaged, not a file)."""
    path = journal_path(conv_path)
    if not os.path.lexists(path):
        return False
    try:
        return parse(read_capped(path, CAP, what="the journal")) is None
    except (OSError, Unreadable):
        return True


def load(conv_path: Path) -> Journal | None:
    """The journal of a conversation file; None when it has none (or it cannot be read)."""
    try:
        return parse(read_capped(journal_path(conv_path), CAP, what="the journal"))
    except (OSError, Unreadable):
        return None


def vanished(journal: Journal | None, conv: Conversation, noticed: float) -> list[Entry]:
    """Blocks the journal says were committed that `conv` no longer holds: those already
    recorded as lost, and (when the file is not the one last committed) newly missing."""
    if journal is None:
        return []
    present = conv.block_ids
    out = [e for e in journal.lost if e.block_id not in present]
    if journal.sha != conv.sha:
        known = {e.block_id for e in out}
        out += [
            Entry(e.block_id, e.text, noticed)
            for e in journal.kept
            if e.block_id not in present and e.block_id not in known
        ]
    return out


def after_commit(
    journal: Journal | None, before: Conversation | None, new: Conversation, data: bytes, now: float
) -> tuple[Journal, list[Entry]]:
    """The journal for a file just committed from `before`; and the blocks found lost
    on the way (committed earlier, missing from `before`)."""
    from talkroom.core.codec import render_block, trailer_sha

    newly: list[Entry] = []
    lost: list[Entry] = []
    if journal is not None and before is not None:
        carried = {e.block_id for e in journal.lost}
        for entry in vanished(journal, before, before.mtime or now):
            if entry.block_id in new.block_ids:
                continue  # put back by hand
            if entry.block_id not in carried:
                newly.append(entry)
            if now - (entry.noticed or now) < LOST_KEPT_FOR:
                lost.append(entry)
        budget = LOST_BUDGET  # the newest keep their text; the journal stays readable
        for entry in sorted(lost, key=lambda e: -(e.noticed or 0)):
            if len(entry.text) > budget:
                entry.text = b""
            budget -= len(entry.text)
    kept: list[Entry] = []
    budget = TEXT_BUDGET
    latest = new.latest  # the blocks parsed: all, or the latest of a long file
    with_ids = latest if sum(1 for b in latest if b.block_id) >= KEEP else new.blocks
    for block in reversed(with_ids):
        if len(kept) == KEEP:
            break
        if not block.block_id:
            continue
        text = render_block(block).encode("utf-8", "surrogateescape")
        if len(text) > budget:
            text = b""
        budget -= len(text)
        kept.append(Entry(block.block_id, text))
    kept.reverse()
    return Journal(new.revision, trailer_sha(data), kept, lost), newly


def shown(entries: list[Entry], now: float) -> list[Entry]:
    """The lost blocks still worth telling the moderator about."""
    return [e for e in entries if now - (e.noticed or now) < LOST_SHOWN_FOR]


def describe(entry: Entry, path: Path) -> str:
    """`a committed block (Reply -- beta @ ...) is no longer in the file ...; its text is
    kept in <journal>` (or says plainly that its text could not be kept)."""
    where = (
        f"its text is kept in {journal_path(path)}"
        if entry.text
        else f"its text could not be kept (over the journal's {TEXT_BUDGET >> 20} MiB); "
        "the agent that wrote it may have it"
    )
    heading = entry.heading() or entry.block_id
    return (
        f"a committed block ({heading}) is no longer in the file (replaced outside "
        f"talkroom, e.g. by an editor); {where}"
    )
