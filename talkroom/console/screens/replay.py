"""Replay: a conversation step by step, with the same widgets and rendering as the live view."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from talkroom.console import actions, palette
from talkroom.console.render import local_time
from talkroom.console.state import Row
from talkroom.console.widgets.status import ConversationHeader
from talkroom.console.widgets.transcript import Transcript
from talkroom.core.model import Block, Conversation, assignment_id
from talkroom.core.receipts import Receipt
from talkroom.core.sanitise import sanitise_line
from talkroom.core.store import Snapshot
from talkroom.replay.player import SPEEDS, Player
from talkroom.replay.timeline import Timeline

SPEED_NAMES = {
    "real": "real time, long gaps cut to 3 s",
    "1/s": "one block a second",
    "fast": "as fast as possible",
}


class ReplayStep(Message):
    """The player reached step `index`."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def can_replace(self, message: Message) -> bool:
        """Only the latest step is shown."""
        return isinstance(message, ReplayStep)


class ReplayScreen(Screen[None]):
    """Step through, or play, the history of one conversation."""

    ACTION_SCOPE = "replay"
    BINDINGS = actions.bindings(ACTION_SCOPE)

    def __init__(self, conv: Conversation, receipts: list[Receipt]) -> None:
        super().__init__()
        self.timeline = Timeline(conv, receipts)
        self.index = -1
        self.speed = "real"
        self.player = Player(lambda: self.timeline.delays(self.speed), self._reached)

    def _reached(self, index: int) -> None:
        """The player's thread got to step `index`."""
        self.post_message(ReplayStep(index))

    # Found in this screen's own DOM, never held: a dialog on top is another screen.
    @property
    def bar(self) -> Static:
        """Playing or paused, the step, the time, the speed."""
        return self.query_one("#replay-bar", Static)

    @property
    def header(self) -> ConversationHeader:
        """The conversation's header as it was at the step shown."""
        return self.query_one("#replay-header", ConversationHeader)

    @property
    def transcript(self) -> Transcript:
        """The blocks written by the step shown."""
        return self.query_one("#replay-transcript", Transcript)

    @property
    def jump_input(self) -> Input:
        """Where a turn number is typed."""
        return self.query_one("#replay-jump", Input)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="replay-bar")
        yield ConversationHeader(id="replay-header")
        yield Transcript(self._receipts_for, self._step_time, id="replay-transcript")
        yield Input(placeholder="turn number, Enter to jump", id="replay-jump", type="integer")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = f"replay of {self.timeline.conv.id}"
        self.jump_input.display = False
        self.go(0)

    def on_unmount(self) -> None:
        self.player.pause()

    # --- the step shown -------------------------------------------------------------------

    def _step_time(self) -> float:
        step = self.timeline.steps[self.index] if self.index >= 0 else None
        return step.at if step is not None and step.at is not None else time.time()

    def _receipts_for(self, conv_id: str, block: Block) -> list[Receipt]:
        if not block.assigns:
            return []
        shown = self.timeline.receipts_until(self.index)
        aid = assignment_id(block)
        return [r for r in self.timeline.receipts if id(r) in shown and r.assignment == aid]

    def go(self, index: int) -> None:
        """Show the conversation as it was at step `index`."""
        steps = self.timeline.steps
        if not steps:
            return
        index = max(0, min(index, len(steps) - 1))
        previous, self.index = self.index, index
        step = steps[index]
        conv = self.timeline.conv
        then = Conversation(
            conv.id,
            step.state.header(conv.header),
            conv.blocks[: step.blocks],
            conv.preamble,
            conv.path,
        )
        if previous >= 0 and steps[previous].blocks == step.blocks:
            self.transcript.conv = then
            self.transcript.refresh_receipts()
        else:
            self.transcript.grow(then)
        self.header.show(Row(Snapshot(conv.path or Path(conv.id), then)), self._step_time())
        self._bar()

    def _bar(self) -> None:
        steps = self.timeline.steps
        step = steps[self.index]
        width = 30
        done = round(width * (self.index + 1) / len(steps))
        line = Text.assemble(
            (
                "▶ playing" if self.player.playing else "‖ paused",
                palette.strong(palette.MOVING) if self.player.playing else "bold",
            ),
            f"  step {self.index + 1}/{len(steps)}  ",
            ("━" * done, "bold"),
            ("─" * (width - done), "dim"),
        )
        when = (
            local_time(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(step.at)), self._step_time())
            if step.at is not None
            else "?"
        )
        line.append(f"  {when}  turn {step.state.turns}/{step.state.max_turns}")
        if step.receipt is not None:
            line.append(f"  receipt from {sanitise_line(step.receipt.host)}", style="dim")
        line.append(f"  speed: {SPEED_NAMES[self.speed]}", style="dim")
        self.bar.update(line)

    # --- producers ------------------------------------------------------------------------

    def on_replay_step(self, message: ReplayStep) -> None:
        self.go(message.index)
        if message.index >= len(self.timeline.steps) - 1:
            self.player.pause()
            self._bar()

    def extend(self, conv: Conversation, receipts: list[Receipt]) -> None:
        """The conversation grew (or got receipts) during the replay: a longer timeline."""
        at_end = self.index >= len(self.timeline.steps) - 1
        self.timeline = Timeline(conv, receipts)
        self.go(len(self.timeline.steps) - 1 if at_end and not self.player.playing else self.index)

    # --- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Home and End go before the transcript's scrolling, but not in the turn input."""
        if self.app.return_code is not None:
            return False
        if action in ("first", "last"):
            return not isinstance(self.focused, Input)
        return True

    def action_toggle_play(self) -> None:
        """Play from here (from the start at the end), or pause."""
        if self.player.playing:
            self.player.pause()
        else:
            if self.index >= len(self.timeline.steps) - 1:
                self.go(0)
            self.player.play(self.index)
        self._bar()

    def action_step(self, delta: int) -> None:
        """One step forward or back (pauses)."""
        self.player.pause()
        self.go(self.index + delta)

    def action_first(self) -> None:
        """The opening."""
        self.player.pause()
        self.go(0)

    def action_last(self) -> None:
        """The conversation as it is now."""
        self.player.pause()
        self.go(len(self.timeline.steps) - 1)

    def action_speed(self) -> None:
        """Real time, one block a second, as fast as possible."""
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        if self.player.playing:
            self.player.play(self.index)
        self._bar()

    def action_jump(self) -> None:
        """Ask for a turn number."""
        self.player.pause()
        self.jump_input.display = True
        self.jump_input.value = ""
        self.jump_input.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.jump_input.display = False
        try:
            step = self.timeline.step_of_turn(int(event.value))
        except ValueError:
            step = None
        if step is None:
            self.notify(
                f"no turn {sanitise_line(event.value)} in this conversation", severity="warning"
            )
        else:
            self.go(step)
        self.transcript.focus()

    def action_leave(self) -> None:
        """Back to the console (or out, when started as `talkroom replay`)."""
        if not self.is_active:
            return  # a second q of one burst: this screen has gone already
        if self.jump_input.display:
            self.jump_input.display = False
            return
        self.player.pause()
        self.dismiss()
