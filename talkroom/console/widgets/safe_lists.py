"""Option lists whose page keys cannot fail: Textual 8's OptionList raises KeyError on
PageUp/PageDown before it has been laid out (a list just filled, the palette's while it
opens), which a fast pair of keys reaches."""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.command import CommandList, CommandPalette
from textual.widgets import OptionList


def can_page(options: OptionList) -> bool:
    """Whether the list has a size yet: its lines are worked out only then."""
    return bool(options.scrollable_content_region) and options.option_count > 0


class PagedList(OptionList):
    """An OptionList whose PageUp and PageDown wait for its first layout."""

    def action_page_down(self) -> None:
        """One page down, once laid out."""
        if can_page(self):
            super().action_page_down()

    def action_page_up(self) -> None:
        """One page up, once laid out."""
        if can_page(self):
            super().action_page_up()


class Palette(CommandPalette):
    """Textual's command palette, its page keys made safe the same way, dismissed once
    (Enter twice in one burst dismissed it twice, popping the screen below), its search
    stopped when it goes."""

    _dismissed = False

    BINDINGS = [
        Binding("pagedown", "page(1)", "Next page", show=False),
        Binding("pageup", "page(-1)", "Previous page", show=False),
    ]

    def dismiss(self, result: None = None) -> AwaitComplete:
        """Dismiss, unless already dismissed or covered by another screen."""
        if self._dismissed or not self.is_active:
            return AwaitComplete()
        self._dismissed = True
        # Its search for commands must not outlive its widgets (NoMatches 'CommandList').
        self.workers.cancel_node(self)
        return super().dismiss(result)

    def _watch__list_visible(self) -> None:
        # Textual's own watcher, run by a search that finishes as the palette closes (Escape
        # in the same burst of keys as ctrl+p): its widgets may be gone by then.
        if self.query(CommandList) and self.query("#--input"):
            super()._watch__list_visible()

    def action_page(self, direction: int) -> None:
        """One page down or up in the commands, once they are laid out."""
        for commands in self.query(CommandList):
            if can_page(commands):
                (commands.action_page_down if direction > 0 else commands.action_page_up)()
