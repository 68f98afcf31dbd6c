"""Dialogs for what deserves a second look: close (a typed confirmation), archive, export (the
file it will write, named before it is written) and quit (what stops with the console)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from talkroom.console.screens.dialogs import TickBox, WriteDialog
from talkroom.console.screens.once import OnceModal
from talkroom.console.writes import Write
from talkroom.core.errors import BadInput
from talkroom.core.model import Conversation
from talkroom.core.sanitise import sanitise_line
from talkroom.export import EXTENSIONS

CONFIRM_WORD = "close"


class CloseDialog(WriteDialog):
    """Close with a resolution, confirmed by typing `close`: a burst of keys meant for a
    shell (`cd /tmp` Enter) cannot close a conversation."""

    OK = "Close it"

    def __init__(self, conv: Conversation, write: Callable[[str], Write]) -> None:
        super().__init__()
        self._make = write
        self.HEADING = f"Close “{sanitise_line(conv.topic)}” for everyone? Say what was decided."

    def fields(self) -> ComposeResult:
        yield Input(
            placeholder="the resolution: the decision, or why it ended",
            id="resolution",
            select_on_focus=False,
        )
        yield Static(
            f"Type {CONFIRM_WORD} to confirm (z undoes it for a few seconds after):",
            classes="hint",
        )
        yield Input(placeholder=CONFIRM_WORD, id="confirm", select_on_focus=False)

    def make_write(self) -> Write:
        if self.query_one("#confirm", Input).value.strip().lower() != CONFIRM_WORD:
            raise BadInput(f"type {CONFIRM_WORD} in the second field to close it")
        resolution = self.query_one("#resolution", Input).value.strip()
        if not resolution:
            raise BadInput("say what was decided (or why it ended) in the first field")
        return self._make(resolution)


def export_target(text: str, conv_id: str) -> tuple[Path | None, str]:
    """The file an export name will write and what it will hold, or None and why not."""
    name = text.strip() or f"{conv_id}.html"
    if not name.lower().endswith(EXTENSIONS):
        return None, (
            f"no extension talkroom writes ({', '.join(EXTENSIONS)}): "
            f"name the file, e.g. {name.rstrip('.') or conv_id}.md"
        )
    path = Path(name).expanduser().absolute()
    what = "one self-contained HTML page" if path.suffix in (".html", ".htm") else "Markdown"
    return path, f"writes {path} ({what})"


class ExportDialog(WriteDialog):
    """The conversation to a file: the dialog names the file before anything is written."""

    OK = "Export"
    ENTER = "Enter: {ok}"

    def __init__(self, conv: Conversation, write: Callable[[str], Write]) -> None:
        super().__init__()
        self.conv = conv
        self._make = write
        self.HEADING = f"Export “{sanitise_line(conv.topic)}”: .html (one page) or .md"

    def fields(self) -> ComposeResult:
        yield Input(f"{self.conv.id}.html", id="value", select_on_focus=False)
        yield Static("", id="target", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        for field in self.query("#value").results(Input):
            self._target(field.value)

    @on(Input.Changed, "#value")
    def _changed(self, event: Input.Changed) -> None:
        self._target(event.value)

    def _target(self, text: str) -> None:
        _, said = export_target(text, self.conv.id)
        self.query_one("#target", Static).update(Text(sanitise_line(said)))

    def make_write(self) -> Write:
        text = self.query_one("#value", Input).value
        path, said = export_target(text, self.conv.id)
        if path is None:
            raise BadInput(said)
        return self._make(str(path))


class ArchiveDialog(WriteDialog):
    """Archive the selected closed conversation, or every one closed more than N days ago."""

    OK = "Archive"

    def __init__(
        self,
        conv: Conversation | None,
        due: Callable[[float], int],
        write: Callable[[str | None, str], Write],
        days: float,
    ) -> None:
        super().__init__()
        self.conv = conv  # the selected conversation, when it is closed
        self._due = due
        self._make = write
        self._days = days
        self.HEADING = "Archive: out of the live list, still searchable, replayable, exportable"

    def fields(self) -> ComposeResult:
        if self.conv is not None:
            yield Static(
                Text.assemble(
                    "This conversation: ",
                    (sanitise_line(self.conv.topic) or self.conv.id, "bold"),
                    " (closed)",
                )
            )
        yield TickBox(
            "or every conversation closed more than this many days ago:",
            self.conv is None,
            id="every",
            disabled=self.conv is None,
        )
        yield Input(f"{self._days:g}", id="days", type="number", select_on_focus=False)
        yield Static("", id="due", classes="hint")
        yield Static(
            "talkroom archive --restore ID brings one back; z undoes it for a few seconds.",
            classes="hint",
        )

    def on_mount(self) -> None:
        super().on_mount()
        for field in self.query("#days").results(Input):
            self._count(field.value)

    @on(Input.Changed, "#days")
    def _days_changed(self, event: Input.Changed) -> None:
        self._count(event.value)

    def _count(self, text: str) -> None:
        try:
            found = self._due(float(text))
        except ValueError:
            said = "a number of days, e.g. 30"
        else:
            said = f"{found} closed more than {text} days ago, as the console sees them now"
        self.query_one("#due", Static).update(Text(said))

    def make_write(self) -> Write:
        every = self.query_one("#every", TickBox).value or self.conv is None
        days = self.query_one("#days", Input).value
        return self._make(None if every or self.conv is None else self.conv.id, days)


class QuitDialog(OnceModal[bool]):
    """Says what stops with the console, then `q` again quits; Enter and Escape stay."""

    BINDINGS = [
        Binding("escape", "dismiss(False)", "Stay"),
        Binding("q", "dismiss(True)", "Quit"),
    ]
    AUTO_FOCUS = "#stay"

    def __init__(self, says: str) -> None:
        super().__init__()
        self._says = says

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog small"):
            yield Static(Text("Quit talkroom?", style="bold"), classes="dialog-title")
            yield Static(Text(self._says))
            with Vertical(classes="dialog-foot"):
                yield Static(
                    Text(
                        "q: quit · Escape or Enter: stay (confirm_quit: false in the "
                        "config quits at once)",
                        style="dim",
                    ),
                    classes="keys",
                )
                with Horizontal(classes="buttons"):
                    yield Button("Stay", variant="primary", id="stay")
                    yield Button("Quit", variant="error", id="quit")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "quit")
