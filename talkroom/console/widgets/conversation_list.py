"""The list of conversations: who needs the moderator first, then newest activity."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from talkroom.console.state import Row
from talkroom.core import clock
from talkroom.core.model import CLOSED, PAUSED
from talkroom.core.names import MODERATOR, join_names
from talkroom.core.sanitise import sanitise_line

GLYPHS = {
    "needs": ("●", "bold yellow"),
    "IN-PROGRESS": ("▶", "green"),
    PAUSED: ("‖", "yellow"),
    CLOSED: ("✓", "dim"),
    "unreadable": ("!", "bold red"),
}


def row_text(row: Row, now: float, width: int = 0) -> Text:
    """Two lines: status and topic; participants, turns, next and how long it waits."""
    conv = row.conv
    if conv is None:
        glyph, style = GLYPHS["unreadable"]
        return _two_lines(
            Text.assemble((f"{glyph} ", style), (row.id, "bold")),
            Text(f"  unreadable: {sanitise_line(row.error or '?')}", style="red"),
            width,
        )
    glyph, style = GLYPHS["needs"] if row.needs_you else GLYPHS.get(conv.status, ("?", ""))
    first = Text.assemble((f"{glyph} ", style))
    if row.problems:
        first.append("⚠ ", style="bold red")
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
            sanitise_line(", ".join(names)), style="bold yellow" if row.needs_you else "bold"
        )
        if row.waiting_since is not None:
            second.append(f" {clock.age(now - row.waiting_since)}")
    if conv.status == PAUSED:
        second.append(" · paused", style="yellow")
    second.append(f" · {conv.turns}/{conv.max_turns} · ")
    second.append(sanitise_line(join_names(conv.participants)))
    return _two_lines(first, second, width)


def _two_lines(first: Text, second: Text, width: int) -> Text:
    """Each line cut with an ellipsis, never wrapped: every row is two lines high."""
    if width > 0:
        for line in (first, second):
            line.truncate(width, overflow="ellipsis")
    return Text.assemble(first, "\n", second)


class ConversationList(OptionList):
    """One option per conversation; the highlighted one is shown in the transcript."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._ids: list[str] = []
        self._rows: list[Row] = []
        self._now = 0.0

    @property
    def ids(self) -> list[str]:
        """The conversations listed, in order."""
        return list(self._ids)

    def select_id(self, conv_id: str) -> None:
        """Highlight a listed conversation; ValueError if it is not listed."""
        self.highlighted = self._ids.index(conv_id)

    @property
    def selected_id(self) -> str | None:
        """The highlighted conversation's id."""
        index = self.highlighted
        return self._ids[index] if index is not None and index < len(self._ids) else None

    def show(self, rows: list[Row], now: float, keep: str | None = None) -> None:
        """Replace the options, keeping `keep` (default: the current one) highlighted."""
        keep = keep or self.selected_id
        self._ids = [row.id for row in rows]
        self._now = now
        self._rows = rows
        self.clear_options()
        width = self._line_width()
        self.add_options([Option(row_text(row, now, width), id=row.id) for row in rows])
        if not rows:
            return
        self.highlighted = self._ids.index(keep) if keep in self._ids else 0

    def refresh_row(self, row: Row, now: float) -> None:
        """Redraw one conversation's option in place."""
        if row.id in self._ids:
            self.replace_option_prompt(row.id, row_text(row, now, self._line_width()))

    def _line_width(self) -> int:
        # The option's padding takes 2 columns; 0 until the list has been laid out.
        return max(0, self.scrollable_content_region.width - 2)

    def on_resize(self) -> None:
        """Cut the rows again for the new width."""
        if self._rows:
            self.show(self._rows, self._now)
