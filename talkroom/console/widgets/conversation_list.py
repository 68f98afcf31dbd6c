"""The list of conversations: who needs the moderator first, then newest activity.

A virtual list: every row's sort key is kept in order; only the rows on screen are drawn.
A change moves and redraws its own row, a tick the rows on screen; only a new filter
lists everything again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style

from talkroom.console.state import Row
from talkroom.console.widgets.order import RowOrder
from talkroom.console.widgets.rows import ROW_CSS, row_age, row_strips

ROW_HEIGHT = 2
CACHED_ROWS = 512  # rows kept drawn: several screenfuls
REDRAW_EVERY = 0.1  # in a burst the rows move on screen at most this often


class ConversationList(ScrollView, can_focus=True):
    """Every listed conversation as a two-line row; the highlighted one is shown in the
    transcript."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "cursor_down", "Down", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("pagedown", "page_down", "Page Down", show=False),
        Binding("pageup", "page_up", "Page Up", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]

    DEFAULT_CSS = ROW_CSS

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "option-list--option",
        "option-list--option-highlighted",
        "option-list--option-hover",
    }

    class Highlighted(Message):
        """Another conversation is highlighted (by a key, a click or the program)."""

        def __init__(self, listing: ConversationList, conv_id: str) -> None:
            super().__init__()
            self.listing = listing
            self.conv_id = conv_id

        @property
        def control(self) -> ConversationList:
            """The list (for `@on(..., "#conversations")`)."""
            return self.listing

    _hover: reactive[str | None] = reactive(None)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._order = RowOrder()  # what is listed now: keys, clicks and the program
        self._view = RowOrder()  # what is on screen: `_order` as of the last redraw
        self._moved: dict[str, Row | None] = {}  # changed since then (None: gone)
        self._drawn_at = 0.0
        self._redraw_due = False
        self._selected: str | None = None
        self._now = 0.0
        # The drawn rows, by conversation, then by style and width; dropped when they
        # change, when time passes and when too many were drawn (scrolling far).
        self._strips: dict[str, dict[tuple[Style, int], list[Strip]]] = {}
        self._ages: dict[str, str | None] = {}  # the waiting time each drawn row shows

    # --- what the rest of the console asks ------------------------------------------------

    @property
    def ids(self) -> list[str]:
        """The conversations listed, in order."""
        return self._order.ids()

    @property
    def count(self) -> int:
        """How many conversations are listed."""
        return len(self._order)

    def __contains__(self, conv_id: object) -> bool:
        return conv_id in self._order

    @property
    def selected_id(self) -> str | None:
        """The highlighted conversation's id."""
        return self._selected

    @property
    def highlighted(self) -> int | None:
        """The highlighted row's position."""
        return self._order.position(self._selected) if self._selected is not None else None

    @highlighted.setter
    def highlighted(self, index: int | None) -> None:
        if index is None or not self._order:
            self._select(None)
        else:
            self._select(self._order.id_at(max(0, min(index, len(self._order) - 1))))

    def select_id(self, conv_id: str) -> None:
        """Highlight a listed conversation; ValueError if it is not listed."""
        if conv_id not in self._order:
            raise ValueError(f"{conv_id} is not listed")
        self._select(conv_id)

    def row(self, conv_id: str) -> Row | None:
        """A listed conversation's row."""
        return self._order.get(conv_id)

    # --- what changes it ------------------------------------------------------------------

    def show(self, rows: Iterable[Row], now: float, keep: str | None = None) -> None:
        """List these rows (a new filter, the first load), keeping `keep` (default: the
        current one) highlighted, else the first."""
        keep = keep or self._selected
        rows = list(rows)
        self._order.reset(rows)
        self._view.reset(rows)
        self._moved.clear()
        self._now = now
        self._strips.clear()
        self._resize()
        self.refresh()
        if keep in self._order:
            self._select(keep, scroll=True)
        else:
            self._selected = None
            self.highlighted = 0
        self.scroll_to_highlight()

    def update(
        self, rows: Iterable[Row], gone: Iterable[str], now: float, keep: str | None = None
    ) -> None:
        """Take changed rows (moved to their new place) and drop `gone`; the highlight
        stays on its conversation (or `keep`), else moves to the row in its place."""
        self._now = now
        index = self.highlighted
        for conv_id in gone:
            if self._order.drop(conv_id):
                self._moved[conv_id] = None
        for row in rows:
            self._order.file(row)
            self._moved[row.id] = row
        if keep is not None and keep in self._order:
            self._select(keep, scroll=True)
        elif self._selected is not None and self._selected not in self._order:
            self._selected = None
            self.highlighted = min(index or 0, len(self._order) - 1)
        # The first change after a quiet moment is drawn at once; those of a burst
        # together, a few times a second: a frame then draws the transcript, not the list.
        wait = self._drawn_at + REDRAW_EVERY - time.monotonic()
        if wait <= 0:
            self._draw_moves()
        elif not self._redraw_due:
            self._redraw_due = True
            self.set_timer(wait, self._draw_moves)

    def _draw_moves(self) -> None:
        """Put the rows changed since the last redraw in their places on screen."""
        self._redraw_due = False
        self._drawn_at = time.monotonic()
        if not self._moved:
            return
        before = self._top_and_selected()
        top_y, slots = self.scroll_offset.y, self._visible()
        was = [self._view.id_at(i) for i in slots]
        moved, self._moved = self._moved, {}
        for conv_id, row in moved.items():
            self._forget(conv_id)
            if row is None:
                self._view.drop(conv_id)
            else:
                self._view.file(row)
        self._resize()
        self._keep_in_view(*before)
        if self.scroll_offset.y == top_y:  # else scrolling redrew it all
            self._redraw(slots.start, was, set(moved))

    def refresh_row(self, row: Row, now: float) -> None:
        """Redraw one conversation's row in place (its place in the order is unchanged)."""
        if row.id in self._order:
            self._order.replace(row)
            self._view.replace(row)
            self._now = now
            self._forget(row.id)
            self._refresh_rows([row.id])

    def tick(self, now: float) -> None:
        """Time passed: redraw the rows on screen whose waiting time reads differently
        now, and only those; rows off screen are drawn afresh when shown."""
        self._now = now
        shown = {self._view.id_at(i): i for i in self._visible()}
        self._strips = {c: drawn for c, drawn in self._strips.items() if c in shown}
        for conv_id, index in shown.items():
            row = self._order.get(conv_id)
            if row is not None and row_age(row, now) != self._ages.get(conv_id):
                self._forget(conv_id)
                self.refresh_lines(index * ROW_HEIGHT, ROW_HEIGHT)

    # --- drawing --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """One line of the rows on screen: their text is built here, and cached."""
        line = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        index, part = divmod(line, ROW_HEIGHT)
        if index >= len(self._view):
            return Strip.blank(width, self.get_visual_style("option-list--option").rich_style)
        conv_id = self._view.id_at(index)
        if conv_id == self._selected:
            style = self.get_visual_style("option-list--option", "option-list--option-highlighted")
        elif conv_id == self._hover:
            style = self.get_visual_style("option-list--option", "option-list--option-hover")
        else:
            style = self.get_visual_style("option-list--option")
        drawn = self._strips.get(conv_id)
        if drawn is None:
            if len(self._strips) >= CACHED_ROWS:
                self._strips.clear()
            drawn = self._strips[conv_id] = {}
        strips = drawn.get((style, width))
        if strips is None:
            row = self._order.get(conv_id) or self._view.get(conv_id)  # gone: as it was
            assert row is not None
            strips = drawn[style, width] = self._render_row(row, style, width)
        return strips[part] if part < len(strips) else Strip.blank(width, style.rich_style)

    def _render_row(self, row: Row, style: Style, width: int) -> list[Strip]:
        padding = self.get_component_styles("option-list--option").padding
        self._ages[row.id] = row_age(row, self._now)
        return row_strips(self.app.console, row, self._now, style.rich_style, padding, width)

    def notify_style_update(self) -> None:
        self._strips.clear()
        self.refresh()
        super().notify_style_update()

    def _on_resize(self) -> None:
        self._strips.clear()
        self._resize()

    def watch__hover(self, old: str | None, new: str | None) -> None:
        self._refresh_rows([conv_id for conv_id in (old, new) if conv_id is not None])

    def on_show(self) -> None:
        self.scroll_to_highlight()

    # --- keys and the mouse ---------------------------------------------------------------

    def action_cursor_down(self) -> None:
        """The next conversation."""
        self._move(1)

    def action_cursor_up(self) -> None:
        """The previous conversation."""
        self._move(-1)

    def action_page_down(self) -> None:
        """A screenful down."""
        self._move(max(1, self.scrollable_content_region.height // ROW_HEIGHT))

    def action_page_up(self) -> None:
        """A screenful up."""
        self._move(-max(1, self.scrollable_content_region.height // ROW_HEIGHT))

    def action_first(self) -> None:
        """The first conversation."""
        self.highlighted = 0

    def action_last(self) -> None:
        """The last conversation."""
        self.highlighted = len(self._order) - 1

    def _move(self, by: int) -> None:
        index = self.highlighted
        self.highlighted = 0 if index is None else index + by

    async def _on_click(self, event: events.Click) -> None:
        conv_id = event.style.meta.get("conversation")
        if isinstance(conv_id, str) and conv_id in self._order:
            self._select(conv_id)

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        conv_id = event.style.meta.get("conversation")
        self._hover = conv_id if isinstance(conv_id, str) else None

    def _on_leave(self, _: events.Leave) -> None:
        self._hover = None

    # --- the order and the view -----------------------------------------------------------

    def _forget(self, conv_id: str) -> None:
        self._strips.pop(conv_id, None)

    def _select(self, conv_id: str | None, scroll: bool = True) -> None:
        if self._moved:
            self._draw_moves()  # a key or a click acts on what is listed now
        old = self._selected
        self._selected = conv_id
        if conv_id != old:
            self._refresh_rows([c for c in (old, conv_id) if c is not None])
            if conv_id is not None:
                self.post_message(self.Highlighted(self, conv_id))
        if scroll:
            self.scroll_to_highlight()

    def scroll_to_highlight(self) -> None:
        """Bring the highlighted row into view."""
        index = self._view.position(self._selected) if self._selected is not None else None
        if index is None or not self.is_mounted or not self.scrollable_content_region:
            return  # not laid out yet: `on_show` scrolls
        self.scroll_to_region(
            Region(0, index * ROW_HEIGHT, self.scrollable_content_region.width, ROW_HEIGHT),
            force=True,
            animate=False,
            immediate=True,
        )

    def _visible(self) -> range:
        top = self.scroll_offset.y // ROW_HEIGHT
        rows = -(-self.scrollable_content_region.height // ROW_HEIGHT) + 1
        return range(top, min(len(self._view), top + rows))

    def _top_and_selected(self) -> tuple[str | None, int, bool]:
        """The row at the top of the view, its offset from the view's top, and whether
        the highlighted row is in view."""
        shown = self._visible()
        if not shown:
            return None, 0, False
        top = self._view.id_at(shown.start)
        offset = shown.start * ROW_HEIGHT - self.scroll_offset.y
        index = self._view.position(self._selected) if self._selected is not None else None
        return top, offset, index is not None and index in shown

    def _keep_in_view(self, top: str | None, offset: int, selected_shown: bool) -> None:
        """After rows moved: the highlighted row stays in view if it was; else the row at
        the top stays where it was (rows arriving above it do not push it away)."""
        if selected_shown:
            self.scroll_to_highlight()
        elif top is not None and self.scroll_offset.y > 0:
            index = self._view.position(top)
            if index is not None:
                self.scroll_to(y=index * ROW_HEIGHT - offset, animate=False, immediate=True)

    def _refresh_rows(self, conv_ids: Iterable[str]) -> None:
        shown = self._visible()
        for conv_id in conv_ids:
            index = self._view.position(conv_id)
            if index is not None and index in shown:
                self.refresh_lines(index * ROW_HEIGHT, ROW_HEIGHT)

    def _redraw(self, start: int, was: list[str], touched: set[str]) -> None:
        """Redraw the rows on screen that changed: another conversation in their place,
        or theirs changed. The others stay as drawn."""
        for offset in range(max(len(was), len(self._visible()))):
            index = start + offset
            now = self._view.id_at(index) if index < len(self._view) else None
            before = was[offset] if offset < len(was) else None
            if now != before or now in touched:
                self.refresh_lines(index * ROW_HEIGHT, ROW_HEIGHT)

    def _resize(self) -> None:
        width = self.scrollable_content_region.width
        size = Size(width, len(self._view) * ROW_HEIGHT)
        if size != self.virtual_size:
            self.virtual_size = size
            self._scroll_update(size)
