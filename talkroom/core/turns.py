"""An agent's writes as one call each, open and reply, planned and run through the one write
path; what the helper's commands and the MCP tools both call, and the lines they report."""

from __future__ import annotations

from talkroom.core import ops

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    from talkroom.core.model import Conversation
    from talkroom.core.paths import Root


def open_conversation(
    root: Root,
    host: str,
    *,
    topic: str,
    opener: str,
    with_names: str,
    next_names: str | None = None,
    max_turns: int | None = None,
    body: str = "",
    moderator: str | None = None,
    waiting_limit: str | None = None,
) -> ops.Outcome:
    """Open a conversation: `with_names` and `next_names` are comma-separated, as typed."""
    plan = ops.plan_open(
        root,
        topic=topic,
        opener=opener,
        with_=with_names.split(","),
        next_=ops.parse_names(next_names) if next_names else None,
        max_turns=max_turns,
        body=body,
        moderator=moderator,
        waiting_limit=waiting_limit,
    )
    return ops.open_conversation(root, plan, host)


def reply(
    root: Root,
    host: str,
    conv_id: str,
    *,
    author: str,
    next_names: str | None,
    body: str,
    close: str | None = None,
) -> ops.Outcome:
    """Add `author`'s turn to `conv_id`; `close` also closes it with that resolution."""
    plan = ops.plan_reply(
        root,
        conv_id,
        author=author,
        next_=ops.parse_names(next_names) if next_names else None,
        body=body,
        close=close,
    )
    return ops.run(plan, host)


def opened_lines(conv: Conversation) -> list[str]:
    """What `talkroom open` prints: the id alone first, the file, the turn and next."""
    return [
        conv.id,
        f"file: {conv.path}",
        f"turn 1/{conv.max_turns}; next: {', '.join(conv.next)}",
    ]


def replied_line(conv: Conversation) -> str:
    """What `talkroom reply` prints: the turn added, and next (or the resolution)."""
    if conv.status == "CLOSED":
        return f"turn {conv.turns}/{conv.max_turns} added to {conv.id}; closed: {conv.resolution}"
    return f"turn {conv.turns}/{conv.max_turns} added to {conv.id}; next: {', '.join(conv.next)}"
