"""Pickers over every conversation: search results, and the decisions made in this root."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from talkroom.console import palette
from talkroom.console.screens.once import OnceModal
from talkroom.console.widgets.safe_lists import PagedList
from talkroom.core.model import Conversation
from talkroom.core.sanitise import sanitise_line
from talkroom.core.search import Hit
from talkroom.export import when
from talkroom.health import Problem


def hit_text(hit: Hit, words: list[str] | None = None) -> Text:
    """Where a hit is, then its snippet with the words searched for marked."""
    where = (
        f"turn {hit.turn}"
        if hit.turn is not None
        else (f"block {hit.block + 1}" if hit.block is not None else hit.field)
    )
    who = f" · {sanitise_line(hit.author)}" if hit.author else ""
    snippet = Text(hit.snippet)
    snippet.highlight_words(words or [], palette.HIT, case_sensitive=False)
    return Text.assemble(
        (sanitise_line(hit.topic) or hit.conv_id, "bold"),
        (f"  {where}{who}", "dim"),
        "\n  ",
        snippet,
    )


class SearchScreen(OnceModal[Hit | None]):
    """Type words; every conversation's topics, bodies, participants and resolutions match."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("down", "focus_results", "Results", show=False),
    ]

    def __init__(self, find: Callable[[str], list[Hit]], query: str = "") -> None:
        super().__init__()
        self._find = find
        self._query = query
        self._hits: list[Hit] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog finder"):
            yield Static(
                Text("Search every conversation (Enter jumps to the turn)", style="bold"),
                classes="dialog-title",
            )
            yield Input(self._query, placeholder="words, any case", id="query")
            yield Static("", id="count", classes="hint")
            yield PagedList(id="results")

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        self._search(self._query)

    @on(Input.Changed, "#query")
    def _changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @on(Input.Submitted, "#query")
    def _submitted(self) -> None:
        if self._hits:
            self.dismiss(self._hits[0])

    def _search(self, query: str) -> None:
        self._hits = self._find(query) if query.strip() else []
        results = self.query_one("#results", OptionList)
        results.clear_options()
        words = query.split()
        results.add_options([Option(hit_text(h, words)) for h in self._hits[:500]])
        if self._hits:
            results.highlighted = 0
        count = len(self._hits)
        self.query_one("#count", Static).update(
            ""
            if not query.strip()
            else f"{count} match{'es' if count != 1 else ''}"
            + (" (first 500 shown)" if count > 500 else "")
        )

    def action_focus_results(self) -> None:
        """From the query to the results."""
        self.query_one("#results", OptionList).focus()

    @on(OptionList.OptionSelected, "#results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._hits[event.option_index])


class PickerScreen(OnceModal[str | None]):
    """A titled list to pick from; Enter returns the chosen item's value."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, title: str, items: list[tuple[Text, str]], empty: Text) -> None:
        super().__init__()
        self._title = title
        self._items = items
        self._empty = empty

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog finder"):
            yield Static(Text(self._title, style="bold"), classes="dialog-title")
            options = PagedList(id="picks")
            options.add_options(
                [Option(text) for text, _ in self._items] or [Option(self._empty, disabled=True)]
            )
            yield options

    def on_mount(self) -> None:
        options = self.query_one("#picks", OptionList)
        options.focus()
        if self._items:
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#picks")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._items[event.option_index][1])


def decisions_screen(decided: list[Conversation]) -> PickerScreen:
    """Every closed conversation with a resolution, newest first."""
    items = [
        (
            Text.assemble(
                ("✓ ", palette.OVER),
                (sanitise_line(c.resolution or ""), "bold"),
                "\n  ",
                (f"{sanitise_line(c.topic)} · {when(c.updated_at)}", "dim"),
            ),
            c.id,
        )
        for c in decided
    ]
    return PickerScreen(
        f"Decisions in this talk root ({len(decided)}), newest first",
        items,
        Text("No conversation has been closed with a resolution yet.", style="dim"),
    )


def problems_screen(found: list[tuple[Conversation, Problem]]) -> PickerScreen:
    """Every problem across all conversations; Enter opens the conversation."""
    items = []
    for conv, problem in found:
        keys = f"  [{' '.join(problem.keys)}]" if problem.keys else ""
        items.append(
            (
                Text.assemble(
                    ("⚠ ", palette.strong(palette.BROKEN)),
                    (problem.text, palette.BROKEN),
                    (keys, "bold"),
                    "\n  ",
                    (sanitise_line(conv.topic) or conv.id, "dim"),
                ),
                conv.id,
            )
        )
    return PickerScreen(
        f"Problems ({len(found)})", items, Text("Nothing is stuck.", style=palette.MOVING)
    )
