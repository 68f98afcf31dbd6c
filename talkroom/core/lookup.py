"""Finding conversations as the helper and the MCP tools both do: one by id, the list, a
search over live and archived ones, and the decisions made."""

from __future__ import annotations

from talkroom.core.errors import BadInput, StoreError
from talkroom.core.model import CLOSED, IN_PROGRESS, PAUSED

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from talkroom.core.model import Block, Conversation
    from talkroom.core.paths import Root
    from talkroom.core.search import Hit
    from talkroom.core.store import Reader, Snapshot

# The status words of `--status` (and the MCP tools' `status`); "all" is every status.
STATUS_FILTER = {"in-progress": IN_PROGRESS, "paused": PAUSED, "closed": CLOSED}
STATUS_WORDS = (*STATUS_FILTER, "all")


def status_of(word: str | None) -> str | None:
    """The header status a status word stands for (None: all); BadInput for another word."""
    if word is None or word == "all":
        return None
    if word not in STATUS_FILTER:
        raise BadInput(f"status {word!r} is not one of {', '.join(STATUS_WORDS)}")
    return STATUS_FILTER[word]


def snapshot(
    root: Root, conv_id: str, reader: Reader | None = None, *, unreadable_ok: bool = False
) -> Snapshot:
    """Conversation `conv_id` (live, else archived), settled; a one-line error when it is
    missing, or when it cannot be read (unless `unreadable_ok`)."""
    from talkroom.core.store import Reader, not_found

    path = root.find(conv_id)
    snap = (reader or Reader()).settle(path)
    if snap.missing:
        raise not_found(path)
    if unreadable_ok or (snap.readable and snap.conv is not None):
        return snap
    if snap.error is None:  # still torn when the reader stopped waiting
        raise StoreError(f"{path} keeps changing or is torn; try again")
    raise StoreError(f"{path} is unreadable: {snap.error}; fix or move the file")


def check_last(last: int | None) -> None:
    """Refuse a negative block count (checked before anything is read)."""
    if last is not None and last < 0:
        raise BadInput(f"--last must be 0 or more, got {last}")


def last_blocks(blocks: list[Block], last: int | None) -> list[Block]:
    """The last `last` blocks (all of them when None); BadInput when it is negative."""
    check_last(last)
    if last is None:
        return blocks
    return blocks[max(0, len(blocks) - last) :]


def listed(root: Root, status: str | None = None) -> list[Snapshot]:
    """Every live conversation with that status word, newest activity first; unreadable
    files always (with their reason), their lost blocks checked."""
    from talkroom.core import journal, views
    from talkroom.core.store import Reader, conversation_files

    wanted = status_of(status)
    snaps = Reader().settle_all(conversation_files(root.conversations))
    for snap in snaps:
        if snap.readable and snap.conv is not None:
            snap.conv.lost = journal.check(snap.conv)
    return [
        s
        for s in views.newest_first(snaps)
        if not s.missing
        and (wanted is None or not s.readable or (s.conv is not None and s.conv.status == wanted))
    ]


def found(
    root: Root, query: str, *, status: str | None = None, participant: str | None = None
) -> list[Hit]:
    """Matches of every word of `query` in live and archived conversations, newest first."""
    from talkroom.core.archive import archived
    from talkroom.core.names import check_name
    from talkroom.core.search import search
    from talkroom.core.store import Reader, conversation_files

    if not query.strip():
        raise BadInput("the search query is empty; give a word or phrase to look for")
    wanted = status_of(status)
    who = check_name(participant, "--participant name") if participant else None
    files = conversation_files(root.conversations) + archived(root)
    snaps = Reader().settle_all(files)
    convs = sorted(
        (s.conv for s in snaps if s.readable and s.conv is not None),
        key=lambda c: c.updated_at,
        reverse=True,
    )
    return search(convs, query, status=wanted, participant=who)


def decisions(convs: Iterable[Conversation]) -> list[Conversation]:
    """The conversations closed with a resolution, newest first."""
    return sorted(
        (c for c in convs if c.status == CLOSED and c.resolution),
        key=lambda c: c.updated_at,
        reverse=True,
    )
