"""The console's view: the conversation list, the selected conversation's header,
transcript and pane peek, the status bar, and what is known (the state); MainScreen adds
what the producers report and the actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from talkroom.console.state import ConsoleState
from talkroom.console.widgets.conversation_list import ConversationList
from talkroom.console.widgets.filterbox import FilterBox
from talkroom.console.widgets.peek import LINES as PEEK_LINES
from talkroom.console.widgets.peek import PanePeek
from talkroom.console.widgets.status import ConversationHeader, StatusBar
from talkroom.console.widgets.transcript import Transcript
from talkroom.console.writes import Writer
from talkroom.core import clock
from talkroom.core.model import CLOSED, Block, Conversation
from talkroom.core.receipts import Receipt
from talkroom.core.search import Index
from talkroom.watch.profiles import BUILTIN_PROFILES

if TYPE_CHECKING:
    from talkroom.console.app import TalkroomApp

FOLD_BELOW = 32  # terminal rows: below this the pane peek and the header fold
PEEK_FOLDED = 2  # pane lines the folded peek shows


class ConsoleView(Screen[None]):
    """Conversations on the left, the selected one on the right, the status bar below."""

    def __init__(self, writer: Writer) -> None:
        super().__init__(id="main-screen")
        self.writer = writer
        self.state = ConsoleState()
        self.search_index = Index()
        self.status_filter = "all"
        self.root_error: str | None = None
        self.loaded = False
        self.hosts_loaded = False  # problems known at start are listed, not announced
        self._select_next: str | None = None
        self._problems_follow = False  # a chunk of the first load's problems is due

    @property
    def talkroom(self) -> TalkroomApp:
        """The app shell: config, producers, watcher, notifier."""
        return cast("TalkroomApp", self.app)

    # Found in this screen's own DOM: a dialog on top is another screen.
    @property
    def listing(self) -> ConversationList:
        """The conversation list."""
        return self.query_one("#conversations", ConversationList)

    @property
    def transcript(self) -> Transcript:
        """The selected conversation's transcript."""
        return self.query_one("#transcript", Transcript)

    @property
    def filter_input(self) -> Input:
        """The quick filter field."""
        return self.query_one("#filter", Input)

    @property
    def peek(self) -> PanePeek:
        """The pane peek."""
        return self.query_one("#peek", PanePeek)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with Horizontal(id="filter-row"):
                    yield FilterBox(id="filter")
                    yield Static("", id="showing")
                yield ConversationList(id="conversations")
            with Vertical(id="right"):
                yield ConversationHeader(id="conv-header")
                yield Transcript(self._receipts_for, clock.now, id="transcript")
                yield Static("", id="unseen")
                yield PanePeek(id="peek")
        yield StatusBar(id="status")
        yield Footer(compact=True, show_command_palette=False)

    def on_resize(self, event: events.Resize) -> None:
        """On a small terminal the pane peek and the header fold: the transcript keeps
        its rows."""
        small = event.size.height < FOLD_BELOW
        self.set_class(small, "-small")
        self.peek.lines = PEEK_FOLDED if small else PEEK_LINES

    def on_mount(self) -> None:
        self.query_one("#unseen").display = False
        self.listing.border_title = "Conversations · all"
        self._header()
        self.show_status()
        self.set_interval(5.0, self.tick)
        self.listing.focus()
        self.call_after_refresh(self.talkroom.start_producers)

    def _needs_you(self, conv_ids: set[str]) -> None:
        for conv_id in sorted(conv_ids):
            conv = self.state.conversation(conv_id)
            if conv is None:
                continue
            title = "budget reached" if conv.turns >= conv.max_turns else "needs you"
            self.talkroom.notifier(conv_id, title, conv.topic or conv_id)

    def _refresh_problems(self, quiet: bool = False, relist: bool = True) -> None:
        """Work out the problems that may have changed; say the new ones (not at start:
        they are listed, not news). The rows (and the header) whose problems changed are
        redrawn (`relist` is kept for callers; a row is redrawn alone, never the list)."""
        settings = self.talkroom.config.settings
        now = clock.now()
        new = self.state.update_problems(
            self.writer.host, now, settings.waiting_threshold, settings.deferred_threshold
        )
        listing = self.listing
        for conv_id in self.state.problems_changed:
            row = listing.row(conv_id)
            if row is not None:
                listing.refresh_row(row, now)
        if self.state.problems_pending and not self._problems_follow:
            self._problems_follow = True  # the next chunk after this frame: input waits not
            self.call_after_refresh(self._follow_problems)
        if not quiet:
            for problem in new:
                conv = self.state.conversation(problem.conv_id)
                topic = conv.topic if conv is not None else problem.conv_id
                self.talkroom.notifier(problem.conv_id, f"problem: {topic}", problem.text)
        if self.loaded and self.selected_id in self.state.problems_changed:
            self._header()  # its ⚠ lines

    def _follow_problems(self) -> None:
        self._problems_follow = False
        self._refresh_problems(quiet=not (self.loaded and self.hosts_loaded))

    def _update_peek(self) -> None:
        """Point the pane peek at the selected conversation's next session."""
        conv, peeker, peek = self.selected(), self.talkroom.peeker, self.peek
        names = conv.agents_next if conv is not None and conv.status != CLOSED else []
        if not names:
            peeker.point(None)
            peek.show_text(
                "next is you: nothing to peek at"
                if conv is not None and conv.next and conv.status != CLOSED
                else "no session is next"
            )
            return
        assert conv is not None
        session = {s.name: s for s, _ in self.state.sessions}.get(names[0])
        if session is None:
            peeker.point(None)
            peek.show_text(f"{names[0]} is registered on no host")
        elif session.host == self.writer.host and session.pane is not None:
            profiles = self.talkroom.profiles
            peeker.point(
                (
                    session.name,
                    session.pane,
                    profiles.get(session.agent, BUILTIN_PROFILES["generic"]),
                )
            )
        else:
            peeker.point(None)
            mine = [r for r in self._conversation_receipts(conv.id) if r.target == session.name]
            peek.show_elsewhere(
                session, max(mine, key=lambda r: r.at) if mine else None, clock.now()
            )

    def tick(self) -> None:
        """Every few seconds: problems that come with time, waiting times, the status bar."""
        self._refresh_problems(quiet=not (self.loaded and self.hosts_loaded))
        self.listing.tick(clock.now())  # the rows on screen only
        self._header()
        self.show_status()

    def show_status(self) -> None:
        """Redraw the status bar from what is known now."""
        app = self.talkroom
        self.query_one(StatusBar).show(
            str(self.writer.root.path),
            self.writer.host,
            app.tailer.mode,
            app.watcher_info,
            self.state,
            self.root_error,
            clock.now(),
        )

    # --- the list, the selection and the transcript ---------------------------------------

    @property
    def selected_id(self) -> str | None:
        """The highlighted conversation."""
        return self.listing.selected_id

    def selected(self) -> Conversation | None:
        """The highlighted conversation, if it is readable."""
        conv_id = self.selected_id
        return self.state.conversation(conv_id) if conv_id else None

    def _header(self) -> None:
        snap = self.state.snapshots.get(self.selected_id or "")
        self.query_one(ConversationHeader).show(
            self.state.row(snap) if snap is not None else None, clock.now()
        )

    def _filter_text(self) -> str:
        return self.filter_input.value.strip()

    def _refresh_list(self, keep: str | None = None, only: set[str] | None = None) -> None:
        """List every conversation under the filter, or move and redraw `only` these."""
        listing = self.listing
        if only is None:
            rows = self.state.rows(self.status_filter, self._filter_text())
            listing.show(rows, clock.now(), keep)
        else:
            shown, hidden = self.state.listed(only, self.status_filter, self._filter_text())
            listing.update(shown, hidden, clock.now(), keep)
        count = listing.count
        title = f"Conversations · {self.status_filter} ({count})"
        if title == listing.border_title:
            return  # each label drawn again costs a layout of the whole screen
        listing.border_title = title
        self.query_one("#showing", Static).update(
            Text(f"showing {self.status_filter} ({count})", style="bold")
            if self.status_filter != "all"
            else Text(f"showing all ({count})", style="dim")
        )

    def _show_selected(self, grow: bool = False) -> None:
        conv = self.selected()
        if grow and conv is not None:
            self.transcript.grow(conv)
        else:
            self.transcript.show(conv)
        self._header()
        self._update_peek()
        self.refresh_bindings()

    def _receipts_for(self, conv_id: str, block: Block) -> list[Receipt]:
        return self.state.receipts_for(conv_id, block)

    def _conversation_receipts(self, conv_id: str) -> list[Receipt]:
        return [r for (cid, _), rs in self.state.receipts.items() if cid == conv_id for r in rs]

    @on(ConversationList.Highlighted, "#conversations")
    def _highlighted(self) -> None:
        shown = self.transcript.conv
        if shown is None or shown.id != self.selected_id:
            self._show_selected()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._refresh_list()
        self._show_selected(grow=True)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.listing.focus()

    def on_transcript_unseen(self, message: Transcript.Unseen) -> None:
        label = self.query_one("#unseen", Static)
        label.update(Text(f"▼ {message.count} new: press End to jump to them"))
        label.display = message.count > 0

    def key_escape(self) -> None:
        """Leave the filter field."""
        if self.focused is self.filter_input:
            self.listing.focus()

    def go_to(self, conv_id: str, block: int | None = None) -> None:
        """Select a conversation (showing every status) and scroll to one of its blocks."""
        listing = self.listing
        if conv_id not in listing.ids:
            self.status_filter = "all"
            self.filter_input.value = ""
            self._refresh_list(conv_id)
        listing.select_id(conv_id)
        self._show_selected()
        if block is not None:
            self.transcript.show_block(block)
