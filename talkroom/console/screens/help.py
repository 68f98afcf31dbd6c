"""Every key, in one screen, made from the action table (console/actions.py)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from talkroom.console import palette
from talkroom.console.actions import help_sections
from talkroom.console.screens.once import OnceModal


class HelpScreen(OnceModal[None]):
    """The keys, grouped; Escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(Text("talkroom: keys", style="bold"), classes="dialog-title")
            for title, rows in help_sections():
                table = Table.grid(padding=(0, 2))
                table.add_column(style=palette.KEY, no_wrap=True, width=12)
                table.add_column()
                for key, what in rows:
                    table.add_row(Text(key), Text(what))
                yield Static(Text(title, style="bold underline"))
                yield Static(table, classes="help-group")
            yield Static(Text("Escape closes this help.", style="dim"))
