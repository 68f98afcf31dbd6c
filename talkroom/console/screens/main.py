"""The console's main screen: what the producers report, which actions apply, and every
action on conversations (their keys are in console/actions.py)."""

from __future__ import annotations

from textual import work
from textual.widgets import Input

from talkroom.console import actions, clipboard
from talkroom.console.messages import (
    SETS_ERROR,
    TOASTED,
    ConversationsChanged,
    HostsChanged,
    PaneSeen,
    ReceiptsArrived,
    RootProblem,
    WatcherReport,
)
from talkroom.console.screens.confirm import ExportDialog
from talkroom.console.screens.dialogs import InjectDialog, NextDialog, OneLineDialog, OpenDialog
from talkroom.console.screens.finder import SearchScreen, decisions_screen, problems_screen
from talkroom.console.screens.forgiving import Forgiving
from talkroom.console.screens.replay import ReplayScreen
from talkroom.console.state import FILTERS
from talkroom.console.writes import Outcome, Write, WriteDone, Writer, perform
from talkroom.core.lookup import decisions
from talkroom.core.sanitise import sanitise_line
from talkroom.core.search import Hit, search


class MainScreen(Forgiving):
    """The console: its view, fed by the producers' messages, and the moderator's actions."""

    ACTION_SCOPE = "main"
    BINDINGS = actions.bindings(ACTION_SCOPE)

    # --- what the producers report --------------------------------------------------------

    def on_conversations_changed(self, message: ConversationsChanged) -> None:
        self.state.loading = message.loading  # the first look's chunks are not news
        needing = len(self.state.needing)
        newly = self.state.apply(message.updates, message.removed)
        first = not self.loaded
        self.loaded = True
        if message.loaded and self.talkroom.run_watcher:
            # After the first look is all in: the watcher's own first read of every file
            # would otherwise compete with the tailer's for the interpreter.
            self.call_after_refresh(self.talkroom.start_watcher)
        keep = self._select_next if self._select_next in self.state.snapshots else None
        if first and keep is None:
            readable = [r for r in self.state.rows_by_id.values() if r.conv is not None]
            keep = max(readable, key=lambda r: r.activity).id if readable else None
        self._refresh_problems(quiet=first or not self.hosts_loaded, relist=False)
        # The first load lists everything; after it, only the rows that changed move.
        self._refresh_list(keep, None if first else message.changed | set(message.removed))
        if keep is not None:
            self._select_next = None
        changed = message.changed
        # Header, peek and keys follow the selected conversation only: redrawn when it
        # changed, never for a burst elsewhere (each costs a layout of the screen).
        if self.selected_id in changed or first:
            self._show_selected(grow=not first)
        if newly and not first:
            self._needs_you(newly)
        if len(self.state.needing) != needing:
            self.show_status()  # how many need you
        self._extend_replays(changed)
        if first and self.talkroom.replay_only:
            self._replay(self.talkroom.replay_only)

    def on_receipts_arrived(self, message: ReceiptsArrived) -> None:
        touched = self.state.add_receipts(message.receipts)
        if self.selected_id in touched:
            self.transcript.refresh_receipts()
        self._extend_replays(touched)
        self._refresh_problems(quiet=not (self.loaded and self.hosts_loaded))
        self.show_status()

    def on_hosts_changed(self, message: HostsChanged) -> None:
        self.state.heartbeats = message.heartbeats
        self.state.sessions = message.sessions
        self.state.broken_locks = message.broken_locks
        first, self.hosts_loaded = not self.hosts_loaded, True
        self._refresh_problems(quiet=first or not self.loaded)
        self._update_peek()
        self.show_status()

    def on_root_problem(self, message: RootProblem) -> None:
        self.root_error = message.error
        if message.error:
            self.app.notify(message.error, title="talk root", severity="error")
        self.show_status()

    def on_watcher_report(self, message: WatcherReport) -> None:
        event, info = message.event, self.talkroom.watcher_info
        if event.kind in SETS_ERROR:
            info.error = event.text if event.kind == "error" else None
        if event.kind in TOASTED:
            self.app.notify(event.text, title=f"watcher: {event.kind}", severity="warning")
        self.show_status()

    def on_pane_seen(self, message: PaneSeen) -> None:
        found = {s.name: s for s, _ in self.state.sessions}
        session = found.get(message.name)
        conv = self.selected()
        if session is not None and conv is not None and message.name in conv.agents_next:
            self.peek.show_local(session, message.text, message.state)

    # --- which actions apply --------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide or grey the actions that do not apply to the selected conversation."""
        if self.app.return_code is not None:
            return False  # quitting: a key after q in one burst must not open a dialog
        if action == "undo":
            return self.can_undo  # shown in the footer only while there is one
        if action == "jump_to_end":
            return not isinstance(self.focused, Input)  # End and G are the filter box's own
        entry = actions.find(self.ACTION_SCOPE, action)
        if entry is None or entry.statuses is None:
            return True
        conv = self.selected()
        if conv is None:
            return None  # shown, greyed: nothing selected
        if conv.status not in entry.statuses:
            return False if entry.hide_when_off else None
        if entry.needs_agent_next and not conv.agents_next:
            return None
        return True

    # --- writes ---------------------------------------------------------------------------

    @work(thread=True, group="write", exit_on_error=False)
    def write(self, write: Write) -> None:
        """Run a write off the UI thread; its WriteDone comes back to this screen."""
        perform(write, self)

    def on_write_done(self, message: WriteDone) -> None:
        """A write from a key of this screen, or from a dialog already closed: say how it
        went."""
        if message.error is not None:
            self.app.notify(message.error, title="refused", severity="error")
        elif message.outcome is not None:
            self.after_write(message.outcome)

    def after_write(self, outcome: Outcome) -> None:
        """After any write that succeeded: look again now, say it, show what it made."""
        self.talkroom.wake_producers()
        if outcome.undo is not None:
            self.offer_undo(outcome)  # its toast says what was done
        elif outcome.said:
            self.app.notify(outcome.said)
        if outcome.conv_id is not None:
            if outcome.conv_id in self.state.snapshots:
                self.go_to(outcome.conv_id)
            else:
                self._select_next = outcome.conv_id  # selected when the tailer reports it

    def _dialog_done(self, outcome: Outcome | None) -> None:
        self.listing.focus()
        if outcome is not None:
            self.after_write(outcome)

    # --- the moderator's actions (keys in console/actions.py) -----------------------------

    def action_set_next(self) -> None:
        """Set who speaks now."""
        if conv := self.selected():
            self.app.push_screen(
                NextDialog(conv, lambda names: self.writer.moderate(conv.id, "next", next_=names)),
                self._dialog_done,
            )

    def action_inject(self) -> None:
        """The moderator's message."""
        if conv := self.selected():
            self.app.push_screen(
                InjectDialog(
                    conv,
                    lambda body, names: self.writer.moderate(
                        conv.id, "inject", body=body, next_=names
                    ),
                ),
                self._dialog_done,
            )

    def action_pause(self) -> None:
        """Pause, with a reason."""
        if conv := self.selected():
            self.app.push_screen(
                OneLineDialog(
                    f"Pause “{sanitise_line(conv.topic)}”",
                    "Pause",
                    lambda reason: self.writer.moderate(conv.id, "pause", body=reason),
                    placeholder="why (optional, shown to everyone)",
                ),
                self._dialog_done,
            )

    def action_extend(self) -> None:
        """More turns."""
        if conv := self.selected():
            self.app.push_screen(
                OneLineDialog(
                    f"Extend “{sanitise_line(conv.topic)}” ({conv.turns}/{conv.max_turns}) by how "
                    "many turns?",
                    "Extend",
                    lambda text: self.writer.extend(conv.id, text),
                    value="10",
                ),
                self._dialog_done,
            )

    def action_resume(self) -> None:
        """Resume: the next speaker is woken again."""
        if conv := self.selected():
            self.write(self.writer.moderate(conv.id, "resume", said="resumed"))

    def action_nudge(self) -> None:
        """Ask the watchers to deliver again."""
        if conv := self.selected():
            self.write(self.writer.moderate(conv.id, "nudge", said="nudged"))

    def action_open_conversation(self) -> None:
        """A new conversation, opened by the moderator."""
        self.app.push_screen(OpenDialog(self.writer.open), self._dialog_done)

    def action_export(self) -> None:
        """Write the selected conversation to a file: .md, or .html (self-contained)."""
        if conv := self.selected():
            receipts = self._conversation_receipts(conv.id)
            self.app.push_screen(
                ExportDialog(conv, lambda text: Writer.export(conv, receipts, text)),
                self._dialog_done,
            )

    # --- finding, replaying and the view --------------------------------------------------

    def _replay(self, conv_id: str) -> None:
        replay_only = self.talkroom.replay_only
        conv = self.state.conversation(conv_id)
        if conv is None:
            self.app.notify(f"{conv_id} cannot be read", severity="error")
            if replay_only:
                self.app.exit()
            return
        self.app.push_screen(
            ReplayScreen(conv, self._conversation_receipts(conv_id)),
            lambda _: self.app.exit() if replay_only else None,
        )

    def _extend_replays(self, conv_ids: set[str]) -> None:
        for screen in self.app.screen_stack:
            if isinstance(screen, ReplayScreen) and screen.timeline.conv.id in conv_ids:
                conv = self.state.conversation(screen.timeline.conv.id)
                if conv is not None:
                    screen.extend(conv, self._conversation_receipts(conv.id))

    def action_replay(self) -> None:
        """Step through the selected conversation's history."""
        if self.selected_id:
            self._replay(self.selected_id)

    def action_search(self) -> None:
        """Search every conversation; Enter jumps to the turn."""

        def find(query: str) -> list[Hit]:
            convs = sorted(self.state.conversations(), key=lambda c: c.updated_at, reverse=True)
            return search(convs, query, index=self.search_index)

        def chosen(hit: Hit | None) -> None:
            self.listing.focus()
            if hit is not None:
                self.go_to(hit.conv_id, hit.block)

        self.app.push_screen(SearchScreen(find), chosen)

    def _go_to_chosen(self, conv_id: str | None) -> None:
        if conv_id:
            self.go_to(conv_id)

    def action_decisions(self) -> None:
        """The decisions made in this talk root, newest first."""
        decided = decisions(self.state.conversations())
        self.app.push_screen(decisions_screen(decided), self._go_to_chosen)

    def action_problems(self) -> None:
        """Everything stuck, across all conversations."""
        found = [
            (conv, problem)
            for conv in self.state.conversations()
            for problem in self.state.problems.get(conv.id, [])
        ]
        self.app.push_screen(problems_screen(found), self._go_to_chosen)

    def action_toggle_peek(self) -> None:
        """Show or hide the pane peek."""
        self.peek.display = not self.peek.display

    def action_copy_id(self) -> None:
        """Copy the selected id."""
        if conv := self.selected():
            self._copy(conv.id)

    def action_copy_path(self) -> None:
        """Copy the selected file's path."""
        conv = self.selected()
        if conv is not None and conv.path is not None:
            self._copy(str(conv.path))

    def _copy(self, text: str) -> None:
        """To the terminal (OSC 52, unconfirmed) and to every clipboard that says it took
        it (off the UI thread: an X server may not answer); the toast says which."""
        self.app.copy_to_clipboard(text)
        self.write(lambda: Outcome(clipboard.said(text, clipboard.copy(text))))

    def action_focus_filter(self) -> None:
        """Type to narrow the list."""
        self.filter_input.focus()

    def action_status_filter(self, status: str) -> None:
        """Show all, live, paused or closed conversations."""
        if status in FILTERS:
            self.status_filter = status
            self._refresh_list()
            self._show_selected(grow=True)

    def action_jump_to_end(self) -> None:
        """Scroll the transcript to its newest block."""
        self.transcript.jump_to_end()

    def action_load_earlier(self) -> None:
        """Mount earlier blocks of a long conversation."""
        self.transcript.load_earlier()
