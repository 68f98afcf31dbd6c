"""What each colour means in the console: one meaning per colour, named here only (the
stylesheet, styles/talkroom.tcss, uses the theme's variables to the same effect; both are
described in docs/architecture.md)."""

from __future__ import annotations

# Rich styles. Textual's default themes draw ANSI yellow as amber: it is kept for what
# waits on a person, never for a healthy state.
MOVING = "green"  # works as it should: live, watcher running, delivered, a pane ready or busy
WAITS_ON_YOU = "yellow"  # a person must act: next is you, the budget is used, a pane in a dialog
BROKEN = "red"  # needs fixing: problems, unreadable files, failed deliveries, gone panes
MODERATOR = "magenta"  # the moderator's own doing: ⚑ actions, a paused conversation
OVER = "dim"  # over, or secondary: closed, times, a delivery deferred while a pane is busy
HIT = "bold reverse"  # where a search matched
KEY = "bold"  # a key, in the help

# Participants' names: one colour each, from hues that carry no state.
NAMES = ("bold cyan", "bold bright_blue", "bold bright_cyan", "bold blue", "bold white")
MODERATOR_BADGE = "bold bright_white on magenta"  # the ⚑ of a moderator block


def strong(colour: str) -> str:
    """The bold form of a colour."""
    return f"bold {colour}"
