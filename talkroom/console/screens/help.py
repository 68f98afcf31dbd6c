"""Every key, in one screen."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    ("The selected conversation", [
        ("n", "set who speaks next (participants or you)"),
        ("i", "inject a message, optionally setting next"),
        ("p / r", "pause (with a reason) / resume"),
        ("c", "close with a resolution"),
        ("e", "extend the turn budget"),
        ("u", "nudge: deliver the wake-up line to next again"),
        ("y / Y", "copy its id / its file's path"),
        ("R", "replay its history step by step"),
        ("x", "export it as .md or as one self-contained .html page"),
    ]),
    ("Conversations", [
        ("o", "open a new conversation"),
        ("↑ ↓, mouse", "select a conversation"),
        ("f", "quick filter by text (Escape to leave it)"),
        ("1 2 3 4", "show all, live, paused, closed conversations"),
        ("/", "search every conversation; Enter jumps to the turn"),
        ("d", "the decisions made in this talk root"),
    ]),
    ("Replay", [
        ("space", "play or pause"),
        ("→ ← (l h)", "one step forward or back"),
        ("Home / End", "the opening / now"),
        ("s", "speed: real time (gaps cut to 3 s), one block a second, fast"),
        ("t", "jump to a turn"),
        ("Escape", "back to the console"),
    ]),
    ("The transcript", [
        ("tab", "move between the list and the transcript"),
        ("End / G", "jump to the newest block"),
        ("[", "load earlier blocks"),
    ]),
    ("Everywhere", [
        ("ctrl+p", "the command palette: every action by name"),
        ("t", "switch between the dark and the light theme"),
        ("?", "this help"),
        ("q", "quit (stops this host's watcher)"),
    ]),
]


class HelpScreen(ModalScreen[None]):
    """The keys, grouped; any key closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(Text("talkroom: keys", style="bold"), classes="dialog-title")
            for title, rows in KEYS:
                table = Table.grid(padding=(0, 2))
                table.add_column(style="bold cyan", no_wrap=True, width=12)
                table.add_column()
                for key, what in rows:
                    table.add_row(key, what)
                yield Static(Text(title, style="bold underline"))
                yield Static(table, classes="help-group")
            yield Static(Text("Escape closes this help.", style="dim"))
