"""Pane peek: what the next session's pane shows now (this host), or where it runs."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from talkroom.console import palette
from talkroom.core import clock
from talkroom.core.receipts import Receipt
from talkroom.core.sanitise import sanitise, sanitise_line
from talkroom.watch.registry import Session

LINES = 8  # of the pane shown
STATES = {
    "": ("ready", palette.MOVING),
    "busy": ("busy", palette.MOVING),  # working on its turn: healthy
    "waiting": ("in a dialog", palette.WAITS_ON_YOU),
    "not idle": ("text in its prompt", palette.WAITS_ON_YOU),
    "shell": ("at a shell", palette.BROKEN),
    "copy mode": ("in copy mode", palette.WAITS_ON_YOU),
}


class PanePeek(Static):
    """The last lines of a local pane, inert, with its state."""

    lines = LINES  # fewer when the console folds it on a small terminal

    def show_local(self, session: Session, text: str | None, state: str) -> None:
        """A pane on this host, as just captured."""
        label, style = STATES.get(state, (state or "?", palette.BROKEN))
        head = Text.assemble(
            ("pane of ", "dim"),
            (session.name, "bold"),
            (f" ({session.pane.pane_id if session.pane else 'command'} on this host): ", "dim"),
            (label, f"bold {style}"),
        )
        if text is None:
            self.update(
                Text.assemble(
                    head, "\n", ("cannot read the pane; register the session again", palette.BROKEN)
                )
            )
            return
        lines = sanitise(text).split("\n")
        body = Text("\n".join(lines[-self.lines :]), style="dim", no_wrap=True, overflow="ellipsis")
        self.update(Text.assemble(head, "\n", body))

    def show_elsewhere(self, session: Session, last: Receipt | None, now: float) -> None:
        """A session on another host: where it runs and its last receipt."""
        text = Text.assemble(
            (session.name, "bold"),
            (
                f" runs on {sanitise_line(session.host)} "
                + (
                    f"({session.where}); its watcher types there."
                    if session.pane is not None
                    else "as a command its watcher runs once per turn."
                ),
                "dim",
            ),
        )
        if last is not None:
            at = clock.parse_loose(last.at)
            ago = f" {clock.age(now - at)} ago" if at is not None else ""
            text.append(f"\nlast receipt: {last.describe()}{ago}")
        self.update(text)

    def show_text(self, message: str) -> None:
        """Nothing to peek at, and why."""
        self.update(Text(message, style="dim"))
