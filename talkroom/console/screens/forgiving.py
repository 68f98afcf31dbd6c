"""The main screen's second chances: the undo offered for a few seconds after a moderator
action, reopen, archive (asked first), and the way to the conversations that need you."""

from __future__ import annotations

from textual.timer import Timer

from talkroom.console.screens.confirm import ArchiveDialog, CloseDialog
from talkroom.console.screens.view import ConsoleView
from talkroom.console.writes import Outcome, Write, Writer
from talkroom.core import clock
from talkroom.core.archive import DEFAULT_DAYS
from talkroom.core.model import CLOSED

UNDO_SECONDS = 10.0  # how long `z` takes the last moderator action back


class Forgiving(ConsoleView):
    """Undo, reopen, archive and "next that needs you", on top of the console's view."""

    def __init__(self, writer: Writer) -> None:
        super().__init__(writer)
        self._undo: Write | None = None
        self._undo_timer: Timer | None = None

    # Provided by MainScreen: run a write in a worker; say how a write went.
    def write(self, write: Write) -> object:
        """Run `write` off the UI thread."""
        raise NotImplementedError

    def after_write(self, outcome: Outcome) -> None:
        """After a write that succeeded."""
        raise NotImplementedError

    def _dialog_done(self, outcome: Outcome | None) -> None:
        raise NotImplementedError

    # --- undo -----------------------------------------------------------------------------

    def offer_undo(self, outcome: Outcome) -> None:
        """Say what was done and that `z` takes it back, for UNDO_SECONDS. The toast only
        says so: the undo is a key, never a click on text that quotes a file."""
        if self._undo_timer is not None:
            self._undo_timer.stop()
        self._undo = outcome.undo
        self._undo_timer = self.set_timer(UNDO_SECONDS, self._undo_expired)
        self.app.notify(f"{outcome.did} · z undoes it", timeout=UNDO_SECONDS)
        self.refresh_bindings()

    def _undo_expired(self) -> None:
        self._undo, self._undo_timer = None, None
        self.refresh_bindings()

    @property
    def can_undo(self) -> bool:
        """Whether `z` would take something back now."""
        return self._undo is not None

    def action_undo(self) -> None:
        """Take the last moderator action back (once)."""
        undo = self._undo
        if self._undo_timer is not None:
            self._undo_timer.stop()
        self._undo_expired()
        if undo is not None:
            self.write(undo)

    # --- close, reopen, archive -----------------------------------------------------------

    def action_close_conversation(self) -> None:
        """Close with a resolution, confirmed by typing `close`."""
        if conv := self.selected():
            self.app.push_screen(
                CloseDialog(conv, lambda text: self.writer.moderate(conv.id, "close", body=text)),
                self._dialog_done,
            )

    def action_reopen(self) -> None:
        """Reopen a closed conversation: a moderator block; who was next is woken again."""
        if conv := self.selected():
            self.write(self.writer.moderate(conv.id, "reopen", said="reopened"))

    def action_archive(self) -> None:
        """Archive the selected closed conversation, or every one closed long enough ago."""
        conv = self.selected()
        self.app.push_screen(
            ArchiveDialog(
                conv if conv is not None and conv.status == CLOSED else None,
                self._closed_before,
                self.writer.archive,
                DEFAULT_DAYS,
            ),
            self._dialog_done,
        )

    def _closed_before(self, days: float) -> int:
        """How many conversations closed more than `days` days ago (as last read)."""
        limit = clock.now() - days * 86400
        return sum(
            1
            for conv in self.state.conversations()
            if conv.status == CLOSED and (clock.parse_loose(conv.updated_at) or conv.mtime) < limit
        )

    # --- the conversations that need you --------------------------------------------------

    def action_next_needing(self) -> None:
        """Select the next conversation whose next is you, in the list's order, round."""
        rows = self.state.rows_by_id
        needing = sorted((i for i in self.state.needing if i in rows), key=lambda i: rows[i].key)
        if not needing:
            self.app.notify("no conversation needs you now")
            return
        current = rows.get(self.selected_id or "")
        after = [i for i in needing if current is not None and rows[i].key > current.key]
        self.go_to(after[0] if after else needing[0])
