"""The transcript of one conversation: blocks as they are appended, pinned to the end.

Pinned is Textual's anchor: every layout keeps the end in view, whatever grew (a new block,
receipts under one, Markdown wrapping again when the scrollbar appears), until the user
scrolls up; scrolling back to the end, or End, pins it again. Deciding "at the end?" when a
block arrives instead was the slip seen in the demo: a block that grew after the last
scroll left the view a line short of the end, and the next turn counted as unseen.

Only the last WINDOW blocks are mounted at first; scrolling to the top (or `[`) mounts
the previous WINDOW, so a conversation of thousands of turns opens at once.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from talkroom.console.render import block_renderable
from talkroom.core.model import Block, Conversation
from talkroom.core.receipts import Receipt

WINDOW = 40


class BlockView(Static):
    """One block, rendered by the shared rendering path."""

    DEFAULT_CLASSES = "block"

    def __init__(
        self, conv: Conversation, block: Block, receipts: list[Receipt], now: float
    ) -> None:
        super().__init__(block_renderable(conv, block, receipts, now))
        self.block = block
        self.receipt_count = len(receipts)
        if block.kind == "Moderator":
            self.add_class("moderator")

    def rerender(self, conv: Conversation, receipts: list[Receipt], now: float) -> None:
        """Draw again (new receipts)."""
        self.receipt_count = len(receipts)
        self.update(block_renderable(conv, self.block, receipts, now))


class Transcript(VerticalScroll, can_focus=True):
    """Every block of the selected conversation, newest at the bottom."""

    class Unseen(Message):
        """How many blocks arrived below while the user had scrolled up."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

        def can_replace(self, message: Message) -> bool:
            """Only the latest count is shown."""
            return isinstance(message, Transcript.Unseen)

    def __init__(
        self,
        receipts_for: Callable[[str, Block], list[Receipt]],
        now: Callable[[], float],
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._receipts = receipts_for
        self._now = now
        self.conv: Conversation | None = None
        self.first_shown = 0  # index of the first mounted block
        self.unseen = 0
        self.pinned = True  # following the end; False once the user scrolled up
        self._more = Static("", classes="more")

    def on_mount(self) -> None:
        self.anchor()

    def release_anchor(self) -> None:
        """The user (or a jump to an earlier block) scrolled: stop following the end."""
        super().release_anchor()
        self.pinned = False

    def pin(self) -> None:
        """Follow the end again (Textual re-anchors on the way)."""
        self.pinned = True
        self.scroll_end(animate=False, immediate=True)

    def _view(self, conv: Conversation, block: Block) -> BlockView:
        return BlockView(conv, block, self._receipts(conv.id, block), self._now())

    def show(self, conv: Conversation | None) -> None:
        """Show another conversation (or none), scrolled to its end."""
        self.conv = conv
        self.unseen = 0
        self.remove_children()
        if conv is None:
            self.post_message(self.Unseen(0))
            return
        self.first_shown = max(0, len(conv.blocks) - WINDOW)
        self._more = Static("", classes="more")
        self.mount(self._more)
        self.mount_all([self._view(conv, b) for b in conv.blocks[self.first_shown :]])
        self._update_more()
        self.pin()
        self.post_message(self.Unseen(0))

    def grow(self, conv: Conversation) -> None:
        """The same conversation, newer: append its new blocks (or redraw after a hand edit)."""
        old = self.conv
        if old is None or old.id != conv.id:
            self.show(conv)
            return
        known = len(old.blocks)
        unchanged = known <= len(conv.blocks) and all(
            a.block_id == b.block_id and a.body == b.body
            for a, b in zip(
                old.blocks[-3:], conv.blocks[known - min(3, known) : known], strict=False
            )
        )
        if not unchanged:
            self.show(conv)
            return
        self.conv = conv
        new = conv.blocks[known:]
        if not new:
            return
        # At the end by a wheel turn that did not move (Textual releases the anchor then).
        following = self.pinned or self.is_vertical_scroll_end or self.max_scroll_y == 0
        self.mount_all([self._view(conv, b) for b in new])
        if following:
            self.pin()
        else:
            self.unseen += len(new)
            self.post_message(self.Unseen(self.unseen))

    def refresh_receipts(self) -> None:
        """Redraw the blocks whose assignments got new receipts."""
        conv = self.conv
        if conv is None:
            return
        for view in self.query(BlockView):
            receipts = self._receipts(conv.id, view.block)
            if len(receipts) != view.receipt_count:
                view.rerender(conv, receipts, self._now())

    def load_earlier(self) -> None:
        """Mount the WINDOW blocks before the first one shown, keeping the view in place."""
        conv = self.conv
        if conv is None or self.first_shown == 0:
            return
        start = max(0, self.first_shown - WINDOW)
        views = [self._view(conv, b) for b in conv.blocks[start : self.first_shown]]
        anchor = next(iter(self.query(BlockView)), None)
        self.first_shown = start
        self.mount_all(views, after=self._more)
        self._update_more()
        if anchor is not None:
            self.call_after_refresh(self.scroll_to_widget, anchor, top=True, animate=False)

    def show_block(self, index: int) -> None:
        """Scroll to block `index` (mounting earlier blocks if needed) and mark it."""
        conv = self.conv
        if conv is None or not 0 <= index < len(conv.blocks):
            return
        while self.first_shown > index:
            self.load_earlier()
        target = conv.blocks[index]
        for view in self.query(BlockView):
            view.set_class(view.block is target, "found")
            if view.block is target:
                self.call_after_refresh(self.scroll_to_widget, view, top=True, animate=False)

    def jump_to_end(self) -> None:
        """Scroll to the newest block, follow it, and clear the 'new' count."""
        self.pin()
        self.unseen = 0
        self.post_message(self.Unseen(0))

    def _update_more(self) -> None:
        earlier = self.first_shown
        self._more.update(
            Text(
                f"⋯ {earlier} earlier blocks: scroll up or press [ to load them", style="dim italic"
            )
            if earlier
            else ""
        )
        self._more.display = bool(earlier)

    def watch_scroll_y(self, old: float, new: float) -> None:
        """Clear the 'new' count at the end; load earlier blocks at the top."""
        super().watch_scroll_y(old, new)
        if not self.pinned and new >= self.max_scroll_y:
            self.pinned = True  # scrolled back to the end: Textual re-anchored too
        if self.unseen and self.is_vertical_scroll_end:
            self.unseen = 0
            self.post_message(self.Unseen(0))
        if new == 0 and old > 0 and self.first_shown:
            self.load_earlier()
