"""The moderator console: conversations, the live transcript, and every action by key."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, OptionList, Static

from talkroom.console.messages import (
    ConversationsChanged,
    HostsChanged,
    PaneSeen,
    ReceiptsArrived,
    RootProblem,
    WatcherReport,
)
from talkroom.console.notify import Notifier
from talkroom.console.peeker import Peeker
from talkroom.console.screens.dialogs import (
    InjectDialog,
    NextDialog,
    OneLineDialog,
    OpenDialog,
    Write,
)
from talkroom.console.screens.finder import SearchScreen, decisions_screen, problems_screen
from talkroom.console.screens.help import HelpScreen
from talkroom.console.screens.replay import ReplayScreen
from talkroom.console.state import FILTERS, ConsoleState, Row
from talkroom.console.tailer import Tailer
from talkroom.console.widgets.conversation_list import ConversationList
from talkroom.console.widgets.peek import PanePeek
from talkroom.console.widgets.status import ConversationHeader, StatusBar, WatcherInfo
from talkroom.console.widgets.transcript import Transcript
from talkroom.core import clock, moderate, ops
from talkroom.core.config import Config
from talkroom.core.errors import BadInput, TalkError
from talkroom.core.model import CLOSED, IN_PROGRESS, PAUSED, Block, Conversation
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt
from talkroom.core.sanitise import sanitise_line
from talkroom.core.search import Hit, Index, search
from talkroom.watch.hostlock import WatcherBusy
from talkroom.watch.profiles import BUILTIN_PROFILES, profiles_from_config
from talkroom.watch.watcher import Watcher

# Actions on the selected conversation, and the statuses they apply to.
CONVERSATION_ACTIONS = {
    "set_next": (IN_PROGRESS, PAUSED), "inject": (IN_PROGRESS, PAUSED),
    "pause": (IN_PROGRESS,), "resume": (PAUSED,), "close_conversation": (IN_PROGRESS, PAUSED),
    "extend": (IN_PROGRESS, PAUSED), "nudge": (IN_PROGRESS,),
    "copy_id": (IN_PROGRESS, PAUSED, CLOSED), "copy_path": (IN_PROGRESS, PAUSED, CLOSED),
    "replay": (IN_PROGRESS, PAUSED, CLOSED), "export": (IN_PROGRESS, PAUSED, CLOSED),
}
PALETTE = [
    ("set_next", "Set next", "Choose who speaks now"),
    ("inject", "Inject a message", "Add the moderator's message, optionally setting next"),
    ("pause", "Pause", "Pause the conversation (no wake-ups, no replies)"),
    ("resume", "Resume", "Resume and wake the next speaker again"),
    ("close_conversation", "Close", "Close with a resolution"),
    ("extend", "Extend the budget", "Give the conversation more turns"),
    ("nudge", "Nudge", "Deliver the wake-up line to next again"),
    ("open_conversation", "Open a conversation", "Start a new conversation"),
    ("replay", "Replay", "Step through the selected conversation's history"),
    ("search", "Search", "Search every conversation"),
    ("export", "Export", "The selected conversation as Markdown or HTML"),
    ("decisions", "Decisions", "Every conversation closed with a resolution"),
    ("problems", "Problems", "What keeps conversations from moving, and the fix"),
    ("toggle_peek", "Pane peek", "Show or hide the next session's pane"),
    ("copy_id", "Copy the id", "Copy the selected conversation's id"),
    ("copy_path", "Copy the path", "Copy the selected conversation's file path"),
    ("toggle_theme", "Switch theme", "Dark or light"),
    ("help", "Keys", "Every key of the console"),
]


def stylesheet() -> Path:
    """The app's stylesheet: inside the package when installed, in styles/ in a checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "styles" / "talkroom.tcss",
                      package.parent / "styles" / "talkroom.tcss"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("talkroom.tcss is missing from the installation")


class TalkroomApp(App[None]):
    """The moderator console."""

    CSS_PATH = stylesheet()
    TITLE = "talkroom"
    BINDINGS = [
        Binding("n", "set_next", "Next", id="next"),
        Binding("i", "inject", "Inject", id="inject"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding("r", "resume", "Resume", id="resume"),
        Binding("c", "close_conversation", "Close", id="close"),
        Binding("e", "extend", "Extend", id="extend"),
        Binding("u", "nudge", "Nudge", id="nudge"),
        Binding("o", "open_conversation", "Open", id="open"),
        Binding("R", "replay", "Replay", show=False, id="replay"),
        Binding("slash", "search", "Search", show=False, id="search"),
        Binding("x", "export", "Export", show=False, id="export"),
        Binding("d", "decisions", "Decisions", show=False, id="decisions"),
        Binding("P", "problems", "Problems", show=False, id="problems"),
        Binding("v", "toggle_peek", "Peek", show=False),
        Binding("y", "copy_id", "Copy id", show=False),
        Binding("Y", "copy_path", "Copy path", show=False),
        Binding("f", "focus_filter", "Filter", show=False),
        Binding("1", "status_filter('all')", "All", show=False),
        Binding("2", "status_filter('live')", "Live", show=False),
        Binding("3", "status_filter('paused')", "Paused", show=False),
        Binding("4", "status_filter('closed')", "Closed", show=False),
        Binding("end,G", "jump_to_end", "Newest", show=False),
        Binding("left_square_bracket", "load_earlier", "Earlier", show=False),
        Binding("t", "toggle_theme", "Theme", show=False),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, root: Root, host: str, config: Config, *, watch: bool = True,
                 poll: bool | None = None, moderator: str | None = None,
                 subtitle: str = "", notes: list[str] | None = None,
                 replay: str | None = None) -> None:
        super().__init__()
        self.notes = notes or []
        self.replay_only = replay  # `talkroom replay ID`: show it, quit when it closes
        self.search_index = Index()
        self.root = root
        self.host = host
        self.config = config
        self.watch = watch
        self.moderator = ops.moderator_name(moderator)
        self.state = ConsoleState()
        self.status_filter = "all"
        self.root_error: str | None = None
        self.watcher_info = WatcherInfo()
        self.watcher: Watcher | None = None
        self.loaded = False
        self.hosts_loaded = False  # problems known at start are listed, not announced
        self._select_next: str | None = None
        self.peeker = Peeker(self.post_message)
        self.notifier = Notifier(self, bell=config.settings.bell,
                                 desktop=config.settings.desktop_notifications,
                                 throttle=config.settings.notify_throttle)
        try:
            self.profiles = profiles_from_config(config.settings.profiles)
        except ValueError:  # the command line refuses these; a caller that did not check
            self.profiles = dict(BUILTIN_PROFILES)  # still gets a console, and a watcher error
        self.tailer = Tailer(root, host, self.post_message, poll=poll,
                             interval=config.settings.poll_interval,
                             rescan=config.settings.rescan_interval)
        self._poll = poll
        self.sub_title = sanitise_line(subtitle or str(root.path))
        theme = config.settings.theme
        self.theme = theme if theme in self.available_themes else "textual-dark"

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """A toast whose text is never markup: it so often quotes a file (a topic, a
        receipt, an error), and a toast runs `[@click=...]` actions when clicked."""
        del markup
        super().notify(sanitise_line(message), title=sanitise_line(title), severity=severity,
                       timeout=timeout, markup=False)

    # --- layout and life cycle ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Held by reference: App.query_one searches only the active screen, which is a
        # dialog whenever one is open.
        self.filter_input = Input(placeholder="filter (f)", id="filter")
        self.listing = ConversationList(id="conversations")
        self.conv_header = ConversationHeader(id="conv-header")
        self.transcript = Transcript(self._receipts_for, clock.now, id="transcript")
        self.unseen = Static("", id="unseen")
        self.peek = PanePeek(id="peek")
        self.status_bar = StatusBar(id="status")
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.filter_input
                yield self.listing
            with Vertical(id="right"):
                yield self.conv_header
                yield self.transcript
                yield self.unseen
                yield self.peek
        yield self.status_bar
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.unseen.display = False
        self.listing.border_title = "Conversations · all"
        self.conv_header.show(None, clock.now())
        self.tailer.start()
        self.peeker.start()
        self._status()
        self.set_interval(5.0, self._tick)
        self.listing.focus()
        for note in self.notes:
            self.notify(note, timeout=12)

    def on_unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.peeker.stop()
        self.tailer.stop()

    def _start_watcher(self) -> None:
        try:
            watcher = Watcher(
                self.root, self.host, poll=self._poll,
                interval=self.config.settings.poll_interval,
                rescan=self.config.settings.rescan_interval,
                heartbeat=self.config.settings.heartbeat_interval,
                profiles=self.config.settings.profiles,
                on_event=lambda event: self.post_message(WatcherReport(event)),
            )
            watcher.start()
        except WatcherBusy as exc:
            self.watcher_info.busy_pid = exc.pid
            return
        except (OSError, TalkError) as exc:
            self.watcher_info.error = str(exc)
            self.notify(sanitise_line(str(exc)), title="this host's watcher did not start",
                        severity="error", timeout=30)
            return
        finally:
            self._status()
        self.watcher = watcher
        self.watcher_info.running = True
        self.watcher_info.mode = watcher.mode
        self._status()

    # --- what the producers report --------------------------------------------------------

    def on_conversations_changed(self, message: ConversationsChanged) -> None:
        if not self.screen_stack:
            return  # a producer's message that arrived while the console shut down
        newly = self.state.apply(message.updates, message.removed)
        first = not self.loaded
        self.loaded = True
        if first and self.watch:
            # After the first paint: the watcher's own first read of every file would
            # otherwise compete with the tailer's for the interpreter.
            self.call_after_refresh(self._start_watcher)
        keep = self._select_next if self._select_next in self.state.snapshots else None
        if first and keep is None:
            readable = [r for r in self.state.rows() if r.conv is not None]
            keep = max(readable, key=lambda r: r.activity).id if readable else None
        self._refresh_problems(quiet=first or not self.hosts_loaded, relist=False)
        self._refresh_list(keep)
        if keep is not None:
            self._select_next = None
        selected = self.selected_id
        changed = {s.conv_id for s in message.updates}
        if selected in changed or first:
            self._show_selected(grow=not first)
        self.conv_header.show(self._selected_row(), clock.now())  # after the list: its row
        if newly and not first:
            self._needs_you(newly)
        self._extend_replays(changed)
        self._update_peek()
        if first and self.replay_only:
            self._replay(self.replay_only)
        self.refresh_bindings()

    def on_receipts_arrived(self, message: ReceiptsArrived) -> None:
        touched = self.state.add_receipts(message.receipts)
        if self.selected_id in touched:
            self.transcript.refresh_receipts()
        self._extend_replays(touched)
        self._refresh_problems(quiet=not (self.loaded and self.hosts_loaded))
        self._status()

    def on_hosts_changed(self, message: HostsChanged) -> None:
        self.state.heartbeats = message.heartbeats
        self.state.sessions = message.sessions
        self.state.broken_locks = message.broken_locks
        first, self.hosts_loaded = not self.hosts_loaded, True
        self._refresh_problems(quiet=first or not self.loaded)
        self._update_peek()
        self._status()

    def on_root_problem(self, message: RootProblem) -> None:
        self.root_error = message.error
        if message.error:
            self.notify(sanitise_line(message.error), title="talk root", severity="error")
        self._status()

    def on_watcher_report(self, message: WatcherReport) -> None:
        event = message.event
        if event.kind == "error":
            self.watcher_info.error = event.text
        elif event.kind in ("recovered", "delivered"):
            self.watcher_info.error = None
        if event.kind in ("failed", "stale-lock", "unknown"):
            self.notify(sanitise_line(event.text), title=f"watcher: {event.kind}",
                        severity="warning")
        self._status()

    def _needs_you(self, conv_ids: set[str]) -> None:
        for conv_id in sorted(conv_ids):
            conv = self.state.conversation(conv_id)
            if conv is None:
                continue
            title = "budget reached" if conv.turns >= conv.max_turns else "needs you"
            self.notifier(conv_id, title, conv.topic or conv_id)

    def _refresh_problems(self, quiet: bool = False, relist: bool = True) -> None:
        """Recompute problems; say the new ones (not at start: they are listed, not news).

        `relist=False` when the caller refreshes the list itself (it costs ~0.3 s for
        1,000 conversations: never twice for one change).
        """
        before = {k: [p.text for p in v] for k, v in self.state.problems.items()}
        new = self.state.update_problems(self.host, clock.now(),
                                         self.config.settings.waiting_threshold,
                                         self.config.settings.deferred_threshold)
        if relist and set(before) != set(self.state.problems) and self.loaded:
            self._refresh_list()  # rows carry a ⚠ for conversations with problems
        if not quiet:
            for problem in new:
                conv = self.state.conversation(problem.conv_id)
                topic = conv.topic if conv is not None else problem.conv_id
                self.notifier(problem.conv_id, f"problem: {topic}", problem.text)
        if self.loaded:
            self.conv_header.show(self._selected_row(), clock.now())

    def _update_peek(self) -> None:
        """Point the pane peek at the selected conversation's next session."""
        conv = self.selected()
        names = conv.agents_next if conv is not None and conv.status != CLOSED else []
        if not names:
            self.peeker.point(None)
            self.peek.show_text("next is you: nothing to peek at" if conv is not None
                                and conv.next and conv.status != CLOSED else
                                "no session is next")
            return
        found = {s.name: s for s, _ in self.state.sessions}
        session = found.get(names[0])
        if session is None:
            self.peeker.point(None)
            self.peek.show_text(f"{names[0]} is registered on no host")
        elif session.host == self.host:
            profile = self.profiles.get(session.agent, BUILTIN_PROFILES["generic"])
            self.peeker.point((session.name, session.pane, profile))
        else:
            self.peeker.point(None)
            mine = [r for r in self._conversation_receipts(conv.id) if r.target == session.name]
            self.peek.show_elsewhere(session, max(mine, key=lambda r: r.at) if mine else None,
                                     clock.now())

    def on_pane_seen(self, message: PaneSeen) -> None:
        found = {s.name: s for s, _ in self.state.sessions}
        session = found.get(message.name)
        conv = self.selected()
        if session is not None and conv is not None and message.name in conv.agents_next:
            self.peek.show_local(session, message.text, message.state)

    def _tick(self) -> None:
        self._refresh_problems(quiet=not (self.loaded and self.hosts_loaded))
        now = clock.now()
        listing = self.listing
        for row in self.state.rows(self.status_filter, self._filter_text()):
            if row.waiting_since is not None:
                listing.refresh_row(row, now)
        self.conv_header.show(self._selected_row(), now)
        self._status()

    # --- the list, the selection and the transcript ---------------------------------------

    @property
    def selected_id(self) -> str | None:
        """The highlighted conversation."""
        return self.listing.selected_id

    def selected(self) -> Conversation | None:
        """The highlighted conversation, if it is readable."""
        conv_id = self.selected_id
        return self.state.conversation(conv_id) if conv_id else None

    def _selected_row(self) -> Row | None:
        snap = self.state.snapshots.get(self.selected_id or "")
        return self.state.row(snap) if snap is not None else None

    def _filter_text(self) -> str:
        return self.filter_input.value.strip()

    def _refresh_list(self, keep: str | None = None) -> None:
        rows = self.state.rows(self.status_filter, self._filter_text())
        listing = self.listing
        listing.show(rows, clock.now(), keep)
        listing.border_title = f"Conversations · {self.status_filter} ({len(rows)})"

    def _show_selected(self, grow: bool = False) -> None:
        conv = self.selected()
        transcript = self.transcript
        if grow and conv is not None:
            transcript.grow(conv)
        else:
            transcript.show(conv)
        self.conv_header.show(self._selected_row(), clock.now())
        self._update_peek()
        self.refresh_bindings()

    def _receipts_for(self, conv_id: str, block: Block) -> list[Receipt]:
        return self.state.receipts_for(conv_id, block)

    @on(OptionList.OptionHighlighted, "#conversations")
    def _highlighted(self) -> None:
        transcript = self.transcript
        if transcript.conv is None or transcript.conv.id != self.selected_id:
            self._show_selected()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._refresh_list()
        self._show_selected(grow=True)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.listing.focus()

    def on_transcript_unseen(self, message: Transcript.Unseen) -> None:
        label = self.unseen
        label.update(Text(f"▼ {message.count} new: press End to jump to them"))
        label.display = message.count > 0

    def _status(self) -> None:
        self.status_bar.show(str(self.root.path), self.host, self.tailer.mode,
                                       self.watcher_info, self.state, self.root_error,
                                       clock.now())

    # --- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide actions that do not apply to the selected conversation's state."""
        statuses = CONVERSATION_ACTIONS.get(action)
        if statuses is None:
            return True
        conv = self.selected()
        if conv is None:
            return None  # shown, greyed: nothing selected
        if conv.status not in statuses:
            return False if action in ("pause", "resume") else None
        if action == "nudge" and not conv.agents_next:
            return None
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette: every action that applies now."""
        yield from super().get_system_commands(screen)
        for action, title, help in PALETTE:
            if self.check_action(action, ()):
                yield SystemCommand(title, help, getattr(self, f"action_{action}"))

    def _moderate(self, conv_id: str, action: str, **kwargs: object) -> Write:
        def write() -> None:
            plan = moderate.plan_moderate(self.root, conv_id, action, moderator=self.moderator,
                                     **kwargs)  # type: ignore[arg-type]
            ops.run(plan, self.host)
            self._wrote()
        return write

    def _wrote(self) -> None:
        """After a write: look again now instead of at the next poll."""
        self.tailer.wake()
        if self.watcher is not None:
            self.watcher.wake()

    def _dialog_done(self, done: bool | None) -> None:
        self.listing.focus()

    def action_set_next(self) -> None:
        """Set who speaks now."""
        conv = self.selected()
        if conv is not None:
            self.push_screen(NextDialog(conv, lambda names: self._moderate(
                conv.id, "next", next_=names)), self._dialog_done)

    def action_inject(self) -> None:
        """The moderator's message."""
        conv = self.selected()
        if conv is not None:
            self.push_screen(InjectDialog(conv, lambda body, names: self._moderate(
                conv.id, "inject", body=body, next_=names)), self._dialog_done)

    def action_pause(self) -> None:
        """Pause, with a reason."""
        conv = self.selected()
        if conv is not None:
            self.push_screen(OneLineDialog(
                f"Pause “{sanitise_line(conv.topic)}”", "Pause",
                lambda reason: self._moderate(conv.id, "pause", body=reason),
                placeholder="why (optional, shown to everyone)"), self._dialog_done)

    def action_close_conversation(self) -> None:
        """Close with a resolution: the dialog is the confirmation."""
        conv = self.selected()
        if conv is not None:
            self.push_screen(OneLineDialog(
                f"Close “{sanitise_line(conv.topic)}” for good? Say what was decided.",
                "Close it", lambda text: self._moderate(conv.id, "close", body=text),
                placeholder="the resolution: the decision, or why it ended"),
                self._dialog_done)

    def action_extend(self) -> None:
        """More turns."""
        conv = self.selected()
        if conv is None:
            return

        def write(text: str) -> Write:
            try:
                by = int(text)
            except ValueError:
                raise BadInput(f"{text!r} is not a number of turns") from None
            return self._moderate(conv.id, "extend", by=by)

        self.push_screen(OneLineDialog(
            f"Extend “{sanitise_line(conv.topic)}” ({conv.turns}/{conv.max_turns}) by how many "
            "turns?", "Extend", write, value="10"), self._dialog_done)

    def action_resume(self) -> None:
        """Resume: the next speaker is woken again."""
        conv = self.selected()
        if conv is not None:
            self._write_now(self._moderate(conv.id, "resume"), "resumed")

    def action_nudge(self) -> None:
        """Ask the watchers to deliver again."""
        conv = self.selected()
        if conv is not None:
            self._write_now(self._moderate(conv.id, "nudge"), "nudged")

    def action_open_conversation(self) -> None:
        """A new conversation, opened by the moderator."""
        def write(values: dict[str, str]) -> Write:
            try:
                budget = int(values["budget"] or "20")
            except ValueError:
                raise BadInput(f"budget {values['budget']!r} is not a number") from None
            next_ = ops.parse_names(values["next"]) if values["next"].strip() else None

            def run() -> None:
                plan = ops.plan_open(self.root, topic=values["topic"], opener="moderator",
                                     with_=values["with"].split(","), next_=next_,
                                     max_turns=budget, body=values["body"],
                                     moderator=self.moderator)
                outcome = ops.open_conversation(self.root, plan, self.host)
                self.call_from_thread(self._select_when_seen, outcome.conv.id)
                self._wrote()
            return run

        self.push_screen(OpenDialog(write), self._dialog_done)

    def _select_when_seen(self, conv_id: str) -> None:
        """Select a conversation now if the tailer reported it already, else on arrival."""
        if conv_id in self.state.snapshots:
            self._go_to(conv_id)
        else:
            self._select_next = conv_id

    @work(thread=True, group="write")
    def _write_now(self, write: Write, done: str) -> None:
        try:
            write()
        except TalkError as exc:
            self.call_from_thread(self.notify, sanitise_line(exc.message), title="refused",
                                  severity="error")
        except OSError as exc:
            self.call_from_thread(self.notify, f"cannot write: {exc.strerror or exc}",
                                  severity="error")
        else:
            self.call_from_thread(self.notify, done)

    def _conversation_receipts(self, conv_id: str) -> list[Receipt]:
        return [r for (cid, _), rs in self.state.receipts.items() if cid == conv_id for r in rs]

    def _replay(self, conv_id: str) -> None:
        conv = self.state.conversation(conv_id)
        if conv is None:
            self.notify(f"{conv_id} cannot be read", severity="error")
            if self.replay_only:
                self.exit()
            return
        self.push_screen(ReplayScreen(conv, self._conversation_receipts(conv_id)),
                         lambda _: self.exit() if self.replay_only else None)

    def _extend_replays(self, conv_ids: set[str]) -> None:
        for screen in self.screen_stack:
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
                self._go_to(hit.conv_id, hit.block)

        self.push_screen(SearchScreen(find), chosen)

    def action_decisions(self) -> None:
        """The decisions made in this talk root, newest first."""
        decided = sorted((c for c in self.state.conversations()
                          if c.status == CLOSED and c.resolution),
                         key=lambda c: c.updated_at, reverse=True)
        self.push_screen(decisions_screen(decided),
                         lambda conv_id: self._go_to(conv_id) if conv_id else None)

    def _go_to(self, conv_id: str, block: int | None = None) -> None:
        """Select a conversation (showing every status) and scroll to one of its blocks."""
        if conv_id not in self.listing._ids:
            self.status_filter = "all"
            self.filter_input.value = ""
            self._refresh_list(conv_id)
        self.listing.highlighted = self.listing._ids.index(conv_id)
        self._show_selected()
        if block is not None:
            self.transcript.show_block(block)

    def action_export(self) -> None:
        """Write the selected conversation to a file: .md, or .html (self-contained)."""
        conv = self.selected()
        if conv is None:
            return

        def write(path_text: str) -> Write:
            def run() -> None:
                from talkroom import export

                path = Path(path_text.strip() or f"{conv.id}.html").expanduser()
                text = export.to_html(conv, self._conversation_receipts(conv.id)) \
                    if path.suffix in (".html", ".htm") else export.to_markdown(conv)
                export.write_file(path, text)
                self.call_from_thread(self.notify, f"exported to {path.absolute()}")
            return run

        self.push_screen(OneLineDialog(
            f"Export “{sanitise_line(conv.topic)}”: .html (one self-contained page) or .md",
            "Export", write, value=str(Path.cwd() / f"{conv.id}.html")), self._dialog_done)

    def action_problems(self) -> None:
        """Everything stuck, across all conversations."""
        found = [(conv, problem) for conv in self.state.conversations()
                 for problem in self.state.problems.get(conv.id, [])]
        self.push_screen(problems_screen(found),
                         lambda conv_id: self._go_to(conv_id) if conv_id else None)

    def action_toggle_peek(self) -> None:
        """Show or hide the pane peek."""
        self.peek.display = not self.peek.display

    def action_copy_id(self) -> None:
        """Copy the selected id (to the terminal's clipboard)."""
        conv = self.selected()
        if conv is not None:
            self.copy_to_clipboard(conv.id)
            self.notify(f"copied {conv.id}")

    def action_copy_path(self) -> None:
        """Copy the selected file's path."""
        conv = self.selected()
        if conv is not None and conv.path is not None:
            self.copy_to_clipboard(str(conv.path))
            self.notify(f"copied {conv.path}")

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

    def action_toggle_theme(self) -> None:
        """Dark or light."""
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_help(self) -> None:
        """Every key."""
        self.push_screen(HelpScreen())

    def key_escape(self) -> None:
        """Leave the filter field."""
        if self.focused is self.filter_input:
            self.listing.focus()


def run_console(root: Root, host: str, config: Config, *, watch: bool, poll: bool | None,
                subtitle: str = "", notes: list[str] | None = None,
                replay: str | None = None) -> int:
    """Run the console until the user quits."""
    app = TalkroomApp(root, host, config, watch=watch, poll=poll,
                      moderator=config.settings.moderator,
                      subtitle=subtitle, notes=notes, replay=replay)
    app.run()
    return app.return_code or 0
