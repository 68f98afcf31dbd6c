"""The moderator's dialogs and their one key grammar: Enter moves on to the next field and
submits on the last (in a message body Enter is a new line), `ctrl+s` submits from anywhere,
Escape cancels, and asks first when something was typed. Each one writes through the
protocol core off the UI thread and closes only when the write succeeded (with its Outcome);
a refusal shows its error, wrapped, and keeps the text. The title and the buttons stay on
screen; the fields between them scroll, so a dialog fits an 80x24 pane."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, SelectionList, Static, TextArea
from textual.widgets.selection_list import Selection

from talkroom.console.screens.once import OnceModal
from talkroom.console.writes import Outcome, Write, WriteDone, perform
from talkroom.core.errors import TalkError
from talkroom.core.model import Conversation
from talkroom.core.names import MODERATOR
from talkroom.core.sanitise import sanitise_line


class MoveOn(Message):
    """Enter in a field that has no Enter of its own (a list to tick, a checkbox)."""

    def __init__(self, field: Widget) -> None:
        super().__init__()
        self.field = field


class NamesList(SelectionList[str]):
    """Names to tick: space ticks, Enter moves on as in every field."""

    BINDINGS = [Binding("enter", "move_on", "Next field", show=False)]

    def action_move_on(self) -> None:
        """To the next field, or submit."""
        self.post_message(MoveOn(self))


class TickBox(Checkbox):
    """A checkbox: space ticks, Enter moves on as in every field."""

    BINDINGS = [Binding("enter", "move_on", "Next field", show=False)]

    def action_move_on(self) -> None:
        """To the next field, or submit."""
        self.post_message(MoveOn(self))


FIELDS = "Input, TextArea, NamesList, TickBox"  # what Enter moves between


class WriteDialog(OnceModal[Outcome | None]):
    """A form whose OK runs one write; Escape cancels (asking first if text was typed)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Submit", show=False),
    ]
    HEADING = ""
    OK = "OK"
    ENTER = "Enter: next field, then {ok}"  # what Enter does here, for the keys line

    def __init__(self) -> None:
        super().__init__()
        self._initial: list[object] | None = None
        self._writing = False
        self._done: Outcome | None = None  # written while another screen covered this one

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(Text(self.HEADING, style="bold"), classes="dialog-title")
            yield from self.fields()
            yield Static("", id="error", classes="error")
            with Vertical(classes="dialog-foot"):
                keys = self.ENTER.format(ok=self.OK)
                yield Static(
                    Text(f"{keys} · ctrl+s: {self.OK} · Escape: cancel", style="dim"),
                    classes="keys",
                )
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
        # query(), not query_one(): a dialog pushed as the app exits is never composed.
        first = [w for w in self.query(FIELDS) if w.focusable]
        if first:
            first[0].focus()
        self._initial = self._values()

    def _values(self) -> list[object]:
        values: list[object] = []
        for field in self.query(FIELDS):
            if isinstance(field, Input):
                values.append(field.value)
            elif isinstance(field, TextArea):
                values.append(field.text)
            elif isinstance(field, SelectionList):
                values.append(sorted(field.selected))
            elif isinstance(field, Checkbox):
                values.append(field.value)
        return values

    def typed(self) -> bool:
        """Whether anything differs from what the dialog opened with."""
        return self._initial is not None and self._values() != self._initial

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.move_on(event.input)

    def on_move_on(self, message: MoveOn) -> None:
        message.stop()
        self.move_on(message.field)

    def move_on(self, field: Widget) -> None:
        """Enter: to the next field, or submit from the last one."""
        fields = [w for w in self.query(FIELDS) if w.focusable]
        if field in fields and field is not fields[-1]:
            fields[fields.index(field) + 1].focus()
        else:
            self.action_submit()

    def action_cancel(self) -> None:
        """Close without writing; what was typed is thrown away only when the user says so.
        A write on its way goes on: the screen below says how it went."""
        if self._writing or not self.typed():
            self.dismiss(None)
            return
        self.app.push_screen(DiscardDialog(), self._discard)

    def _discard(self, discard: bool | None) -> None:
        if discard:
            self.dismiss(None)

    def action_submit(self) -> None:
        """Write; close on success, show the error and keep the fields on refusal."""
        if self._writing:
            return
        try:
            write = self.make_write()
        except TalkError as exc:
            self.show_error(exc.message)
            return
        self._writing = True
        for button in self.query("#ok").results(Button):
            button.disabled = True
        # Left with Escape while the write runs, the dialog cannot say how it went: the
        # screen below it does.
        self._write(write, self.app.screen_stack[0])

    @work(thread=True, exclusive=True, group="write", exit_on_error=False)
    def _write(self, write: Write, otherwise: Screen[object]) -> None:
        perform(write, self, otherwise)

    def on_write_done(self, message: WriteDone) -> None:
        """Close with the outcome, or say why not and keep what was typed."""
        self._writing = False
        if message.error is None:
            if self.is_active:
                self.dismiss(message.outcome)
            else:  # under the quit question: closed with its outcome when back on top
                self._done = message.outcome
            return
        for button in self.query("#ok").results(Button):
            button.disabled = False
        self.show_error(message.error)

    def on_screen_resume(self) -> None:
        if self._done is not None:
            self.dismiss(self._done)

    def show_error(self, message: str) -> None:
        """Show the error whole (it wraps) and in view; the fields keep what was typed."""
        for label in self.query("#error").results(Static):
            label.update(Text(sanitise_line(message)))
            label.add_class("shown")
            self.call_after_refresh(label.scroll_visible, animate=False)


class DiscardDialog(OnceModal[bool]):
    """Asked when Escape would throw typed text away: `d` throws it away, Escape or Enter
    (on "Keep editing") goes back to it."""

    BINDINGS = [
        Binding("escape", "dismiss(False)", "Keep editing"),
        Binding("d", "dismiss(True)", "Discard"),
    ]
    AUTO_FOCUS = "#keep"

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog small"):
            yield Static(Text("Discard what you typed?", style="bold"), classes="dialog-title")
            yield Static("Closing the dialog throws away the text in its fields.")
            with Vertical(classes="dialog-foot"):
                yield Static(
                    Text("d: discard it · Escape or Enter: keep editing", style="dim"),
                    classes="keys",
                )
                with Horizontal(classes="buttons"):
                    yield Button("Keep editing", variant="primary", id="keep")
                    yield Button("Discard", variant="error", id="discard")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "discard")


def names_selection(conv: Conversation, selected: list[str]) -> NamesList:
    """Participants and the moderator, the current ones ticked."""
    names = [*conv.participants, MODERATOR]
    return NamesList(
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
    ENTER = "space: tick · Enter: {ok}"

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
    ENTER = "Enter: a new line in the message"

    def __init__(self, conv: Conversation, write: Callable[[str, list[str] | None], Write]) -> None:
        super().__init__()
        self.conv = conv
        self._make = write
        self.HEADING = f"Message to “{sanitise_line(conv.topic)}” (Markdown)"

    def fields(self) -> ComposeResult:
        yield TextArea(id="body", soft_wrap=True, show_line_numbers=False)
        yield Static("Then next (untick all to leave it as it is):", classes="hint")
        yield names_selection(self.conv, [])

    def make_write(self) -> Write:
        body = self.query_one("#body", TextArea).text
        names = list(self.query_one("#names", SelectionList).selected)
        return self._make(body, names or None)


class OneLineDialog(WriteDialog):
    """A dialog with one text field."""

    ENTER = "Enter: {ok}"

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
        # Not selected on focus: one stray key would replace the whole value.
        yield Input(self._value, placeholder=self._placeholder, id="value", select_on_focus=False)

    def make_write(self) -> Write:
        return self._make(self.query_one("#value", Input).value)


class OpenDialog(WriteDialog):
    """A new conversation: topic, participants, who speaks first, budget, opening text."""

    HEADING = "Open a conversation"
    OK = "Open"
    ENTER = "Enter: next field (a new line in the text)"

    def __init__(self, write: Callable[[dict[str, str]], Write]) -> None:
        super().__init__()
        self._make = write

    def fields(self) -> ComposeResult:
        yield Input(placeholder="topic: one line", id="topic")
        yield Input(placeholder="participants: session names, comma-separated", id="with")
        with Horizontal(classes="pair"):
            yield Input(placeholder="first next (default: the first participant)", id="next")
            yield Input(
                "20",
                placeholder="budget in turns",
                id="budget",
                type="integer",
                select_on_focus=False,
            )
        yield TextArea(id="body", soft_wrap=True, show_line_numbers=False)

    def make_write(self) -> Write:
        values = {
            key: self.query_one(f"#{key}", Input).value
            for key in ("topic", "with", "next", "budget")
        }
        values["body"] = self.query_one("#body", TextArea).text
        return self._make(values)
