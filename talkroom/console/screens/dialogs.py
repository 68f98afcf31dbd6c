"""The moderator's dialogs. Each one writes through the protocol core off the UI thread and
closes only when the write succeeded (with its Outcome); a refusal shows its one-line error
and keeps the text."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, SelectionList, Static, TextArea
from textual.widgets.selection_list import Selection

from talkroom.console.writes import Outcome, Write, WriteDone, perform
from talkroom.core.errors import TalkError
from talkroom.core.model import Conversation
from talkroom.core.names import MODERATOR
from talkroom.core.sanitise import sanitise_line


class WriteDialog(ModalScreen[Outcome | None]):
    """A form whose OK runs one write; Escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Save", show=False),
    ]
    HEADING = ""
    OK = "OK"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.HEADING, style="bold"), classes="dialog-title")
            yield from self.fields()
            yield Label("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button(self.OK, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def fields(self) -> ComposeResult:
        """The dialog's inputs."""
        yield from ()

    def make_write(self) -> Write:
        """The write for the current field values (may raise TalkError for bad input)."""
        raise NotImplementedError

    def on_mount(self) -> None:
        self.query_one("#error", Label).display = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_cancel(self) -> None:
        """Close without writing."""
        self.dismiss(None)

    def action_submit(self) -> None:
        """Write; close on success, show the error and keep the fields on refusal."""
        try:
            write = self.make_write()
        except TalkError as exc:
            self.show_error(exc.message)
            return
        self.query_one("#ok", Button).disabled = True
        # Left with Escape while the write runs, the dialog cannot say how it went: the
        # screen below it does.
        self._write(write, self.app.screen_stack[0])

    @work(thread=True, exclusive=True, group="write", exit_on_error=False)
    def _write(self, write: Write, otherwise: Screen[object]) -> None:
        perform(write, self, otherwise)

    def on_write_done(self, message: WriteDone) -> None:
        """Close with the outcome, or say why not and keep what was typed."""
        if message.error is None:
            self.dismiss(message.outcome)
            return
        self.query_one("#ok", Button).disabled = False
        self.show_error(message.error)

    def show_error(self, message: str) -> None:
        """Show one line of error; the fields keep what was typed."""
        label = self.query_one("#error", Label)
        label.update(Text(sanitise_line(message)))
        label.display = True


def names_selection(conv: Conversation, selected: list[str]) -> SelectionList[str]:
    """Participants and the moderator, the current ones ticked."""
    names = [*conv.participants, MODERATOR]
    return SelectionList[str](
        *[
            Selection(
                Text(sanitise_line(n)) if n != MODERATOR else Text("moderator (you)"),
                n,
                n in selected,
            )
            for n in names
        ],
        id="names",
    )


class NextDialog(WriteDialog):
    """Set who speaks now."""

    OK = "Set next"

    def __init__(self, conv: Conversation, write: Callable[[list[str]], Write]) -> None:
        super().__init__()
        self.conv = conv
        self._make = write
        self.HEADING = f"Who speaks next in “{sanitise_line(conv.topic)}”?"

    def fields(self) -> ComposeResult:
        yield names_selection(self.conv, self.conv.next)

    def make_write(self) -> Write:
        names = list(self.query_one("#names", SelectionList).selected)
        if not names:
            raise TalkError("tick at least one name")
        return self._make(names)


class InjectDialog(WriteDialog):
    """The moderator's message, in Markdown, optionally naming who speaks next."""

    OK = "Send"

    def __init__(self, conv: Conversation, write: Callable[[str, list[str] | None], Write]) -> None:
        super().__init__()
        self.conv = conv
        self._make = write
        self.HEADING = f"Message to “{sanitise_line(conv.topic)}” (Markdown; ctrl+s sends)"

    def fields(self) -> ComposeResult:
        yield TextArea(id="body", soft_wrap=True, show_line_numbers=False)
        yield Label("Then next (untick all to leave it as it is):", classes="hint")
        yield names_selection(self.conv, [])

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#body", TextArea).focus()

    def make_write(self) -> Write:
        body = self.query_one("#body", TextArea).text
        names = list(self.query_one("#names", SelectionList).selected)
        return self._make(body, names or None)


class OneLineDialog(WriteDialog):
    """A dialog with one text field."""

    def __init__(
        self,
        title: str,
        ok: str,
        write: Callable[[str], Write],
        value: str = "",
        placeholder: str = "",
    ) -> None:
        super().__init__()
        self.HEADING = title
        self.OK = ok
        self._make = write
        self._value = value
        self._placeholder = placeholder

    def fields(self) -> ComposeResult:
        yield Input(self._value, placeholder=self._placeholder, id="value")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#value", Input).focus()

    def make_write(self) -> Write:
        return self._make(self.query_one("#value", Input).value)


class OpenDialog(WriteDialog):
    """A new conversation: topic, participants, who speaks first, budget, opening text."""

    HEADING = "Open a conversation"
    OK = "Open"

    def __init__(self, write: Callable[[dict[str, str]], Write]) -> None:
        super().__init__()
        self._make = write

    def fields(self) -> ComposeResult:
        yield Input(placeholder="topic: one line", id="topic")
        yield Input(placeholder="participants: session names, comma-separated", id="with")
        with Horizontal(classes="pair"):
            yield Input(placeholder="first next (default: the first participant)", id="next")
            yield Input("20", placeholder="budget in turns", id="budget", type="integer")
        yield TextArea(id="body", soft_wrap=True, show_line_numbers=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#topic", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def make_write(self) -> Write:
        values = {
            key: self.query_one(f"#{key}", Input).value
            for key in ("topic", "with", "next", "budget")
        }
        values["body"] = self.query_one("#body", TextArea).text
        return self._make(values)
