"""One row of the conversation list: its text, two lines cut to the list's width, and
those lines drawn."""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Spacing
from textual.strip import Strip

from talkroom.console import palette
from talkroom.console.state import Row
from talkroom.core import clock
from talkroom.core.model import CLOSED, PAUSED
from talkroom.core.names import MODERATOR, join_names
from talkroom.core.sanitise import sanitise_line

# How a row looks: the option list's look (its class names, so the app's stylesheet can
# refine them, as it does `.option-list--option`'s padding).
ROW_CSS = """
ConversationList {
    color: $foreground;
    overflow-x: hidden;
    background: $surface;
    & > .option-list--option-highlighted {
        color: $foreground;
        background: $block-cursor-blurred-background;
        text-style: $block-cursor-blurred-text-style;
    }
    &:focus {
        background-tint: $foreground 5%;
        & > .option-list--option-highlighted {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
    }
    & > .option-list--option-hover {
        background: $block-hover-background;
    }
}
"""

GLYPHS = {
    "needs": ("●", palette.strong(palette.WAITS_ON_YOU)),
    "IN-PROGRESS": ("▶", palette.MOVING),
    PAUSED: ("‖", palette.MODERATOR),
    CLOSED: ("✓", "dim"),
    "unreadable": ("!", palette.strong(palette.BROKEN)),
}


def row_text(row: Row, now: float, width: int = 0) -> Text:
    """Two lines: status and topic; participants, turns, next and how long it waits."""
    conv = row.conv
    if conv is None:
        glyph, style = GLYPHS["unreadable"]
        return _two_lines(
            Text.assemble((f"{glyph} ", style), (row.id, "bold")),
            Text(f"  unreadable: {sanitise_line(row.error or '?')}", style=palette.BROKEN),
            width,
        )
    glyph, style = GLYPHS["needs"] if row.needs_you else GLYPHS.get(conv.status, ("?", ""))
    first = Text.assemble((f"{glyph} ", style))
    if row.problems:
        first.append("⚠ ", style=palette.strong(palette.BROKEN))
    first.append(sanitise_line(conv.topic) or conv.id, style="bold")
    if conv.edited_by_hand:
        first.append("  (edited by hand)", style="italic dim")
    # Most useful first, so a narrow list still shows who is waiting and for how long.
    second = Text("  ", style="dim")
    if conv.status == CLOSED:
        second.append("closed")
    elif conv.next:
        names = ["you" if n == MODERATOR else n for n in conv.next]
        second.append("next ")
        second.append(
            sanitise_line(", ".join(names)),
            style=palette.strong(palette.WAITS_ON_YOU) if row.needs_you else "bold",
        )
        waited = row_age(row, now)
        if waited is not None:
            second.append(f" {waited}")
    if conv.status == PAUSED:
        second.append(" · paused", style=palette.MODERATOR)
    second.append(f" · {conv.turns}/{conv.max_turns} · ")
    second.append(sanitise_line(join_names(conv.participants)))
    return _two_lines(first, second, width)


def row_age(row: Row, now: float) -> str | None:
    """How long the row says `next` has waited (all in its text that time changes)."""
    return clock.age(now - row.waiting_since) if row.waiting_since is not None else None


def _two_lines(first: Text, second: Text, width: int) -> Text:
    """Each line cut with an ellipsis, never wrapped: every row is two lines high."""
    if width > 0:
        for line in (first, second):
            line.truncate(width, overflow="ellipsis")
    return Text.assemble(first, "\n", second)


def row_strips(
    console: Console, row: Row, now: float, base: Style, padding: Spacing, width: int
) -> list[Strip]:
    """The row drawn in `base` (the list's style for it), padded to `width`. Rich renders
    the two cut lines straight to segments: Textual's general path (a Visual, wrapping,
    padding) costs several times as much, for every row that changes on screen."""
    inner = max(0, width - padding.width)
    options = console.options.update(width=max(1, inner), height=2, no_wrap=True)
    lines = console.render_lines(row_text(row, now, inner), options, style=base, pad=True)
    left = [Segment(" " * padding.left, base)] if padding.left else []
    right = [Segment(" " * padding.right, base)] if padding.right else []
    meta = {"conversation": row.id}
    return [
        Strip([*left, *line, *right]).extend_cell_length(width, base).apply_meta(meta)
        for line in lines
    ]
