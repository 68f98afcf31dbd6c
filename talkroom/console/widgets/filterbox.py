"""The quick filter box: focused by `f` or a click, never by tab."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class FilterBox(Input):
    """An Input that tab walks past: letters typed after a tab are commands, and would
    otherwise become filter text; `f`, a click or `focus()` still enters it."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(placeholder="filter (f)", select_on_focus=False, **kwargs)  # type: ignore[arg-type]
        self.can_focus = False

    def focus(self, scroll_visible: bool = True) -> FilterBox:
        """Focusable for as long as it has the focus."""
        self.can_focus = True
        super().focus(scroll_visible)
        return self

    def on_blur(self) -> None:
        self.can_focus = False

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self.focus()
