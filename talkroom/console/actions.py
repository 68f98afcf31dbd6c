"""THE action table: every key of the console, once. The bindings, the footer, the command
palette, the help screen and which actions apply to the selected conversation are all made
from it, so a key cannot be bound and missing from the help, or listed and never bound."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType
from textual.keys import format_key

from talkroom.core.model import CLOSED, IN_PROGRESS, PAUSED

ANY = (IN_PROGRESS, PAUSED, CLOSED)
OPEN = (IN_PROGRESS, PAUSED)

# Where an action runs: "app" on every screen (the App's bindings), "main" on the console's
# main screen, "replay" on the replay screen.
SCOPES = ("app", "main", "replay")

SELECTED = "The selected conversation"
CONVERSATIONS = "Conversations"
TRANSCRIPT = "The transcript"
REPLAY = "Replay"
EVERYWHERE = "Everywhere"
GROUPS = (SELECTED, CONVERSATIONS, TRANSCRIPT, REPLAY, EVERYWHERE)  # the help's order


@dataclass(frozen=True)
class Action:
    """One action: its keys, where it runs, and how the footer, palette and help name it."""

    keys: str  # Textual key names, comma-separated: "end,G"
    action: str  # the action, with its arguments: "status_filter('live')"
    label: str  # the footer's short name
    help: str  # the help screen's line
    group: str  # the help screen's section
    scope: str = "main"
    title: str = ""  # the command palette's title ("": Textual's own command stands in)
    summary: str = ""  # the command palette's line under the title
    statuses: tuple[str, ...] | None = None  # needs a selected conversation in one of these
    hide_when_off: bool = False  # off for this status: hidden, not greyed
    needs_agent_next: bool = False  # off (greyed) while no session is next
    footer: bool = False
    id: str | None = None  # the binding's id, for keymaps
    priority: bool = False  # before the focused widget's own binding of the key (End)

    @property
    def name(self) -> str:
        """The action without its arguments: the `action_<name>` method runs it."""
        return self.action.partition("(")[0]


def _filter(key: str, status: str, which: str) -> Action:
    summary = "The list: every conversation" if status == "all" else f"The list: {which} only"
    return Action(
        key,
        f"status_filter('{status}')",
        status.capitalize(),
        f"show {which} conversations",
        CONVERSATIONS,
        title=f"Show {which} conversations",
        summary=summary,
    )


# A table is read across: laid out by hand, not by the formatter.
# fmt: off
ACTIONS: tuple[Action, ...] = (
    # The footer shows these in this order: the moderator's everyday keys first.
    Action("n", "set_next", "Next", "set who speaks next (participants or you)", SELECTED,
           title="Set next", summary="Choose who speaks now", statuses=OPEN, footer=True,
           id="next"),
    Action("i", "inject", "Inject", "inject a message, optionally setting next", SELECTED,
           title="Inject a message",
           summary="Add the moderator's message, optionally setting next", statuses=OPEN,
           footer=True, id="inject"),
    Action("p", "pause", "Pause", "pause, with a reason", SELECTED, title="Pause",
           summary="Pause the conversation (no wake-ups, no replies)",
           statuses=(IN_PROGRESS,), hide_when_off=True, footer=True, id="pause"),
    Action("r", "resume", "Resume", "resume: next is woken again", SELECTED, title="Resume",
           summary="Resume and wake the next speaker again", statuses=(PAUSED,),
           hide_when_off=True, footer=True, id="resume"),
    Action("c", "close_conversation", "Close",
           "close with a resolution (asks you to type close to confirm)", SELECTED,
           title="Close", summary="Close with a resolution", statuses=OPEN, footer=True,
           id="close"),
    Action("O", "reopen", "Reopen", "reopen a closed conversation: who was next is woken again",
           SELECTED, title="Reopen", summary="Reopen the conversation; who was next is woken",
           statuses=(CLOSED,), hide_when_off=True, footer=True, id="reopen"),
    Action("z", "undo", "Undo", "undo the last moderator action, for a few seconds after it",
           SELECTED, title="Undo", summary="Undo the last moderator action (close, pause...)",
           footer=True, id="undo"),
    Action("e", "extend", "Extend", "extend the turn budget", SELECTED,
           title="Extend the budget", summary="Give the conversation more turns",
           statuses=OPEN, footer=True, id="extend"),
    Action("u", "nudge", "Nudge", "nudge: deliver the wake-up line to next again", SELECTED,
           title="Nudge", summary="Deliver the wake-up line to next again",
           statuses=(IN_PROGRESS,), needs_agent_next=True, footer=True, id="nudge"),
    Action("o", "open_conversation", "Open", "open a new conversation", CONVERSATIONS,
           title="Open a conversation", summary="Start a new conversation", footer=True,
           id="open"),
    Action("y", "copy_id", "Copy id", "copy its id", SELECTED, title="Copy the id",
           summary="Copy the selected conversation's id", statuses=ANY),
    Action("Y", "copy_path", "Copy path", "copy its file's path", SELECTED,
           title="Copy the path", summary="Copy the selected conversation's file path",
           statuses=ANY),
    Action("R", "replay", "Replay", "replay its history step by step", SELECTED,
           title="Replay", summary="Step through the selected conversation's history",
           statuses=ANY, id="replay"),
    Action("x", "export", "Export", "export it as .md or as one self-contained .html page",
           SELECTED, title="Export", summary="The selected conversation as Markdown or HTML",
           statuses=ANY, id="export"),
    Action("slash", "search", "Search", "search every conversation; Enter jumps to the turn",
           CONVERSATIONS, title="Search", summary="Search every conversation", id="search"),
    Action("d", "decisions", "Decisions", "the decisions made in this talk root",
           CONVERSATIONS, title="Decisions",
           summary="Every conversation closed with a resolution", id="decisions"),
    Action("P", "problems", "Problems", "problems: what keeps conversations from moving",
           CONVERSATIONS, title="Problems",
           summary="What keeps conversations from moving, and the fix", id="problems"),
    Action("N", "next_needing", "Needs you", "go to the next conversation that needs you",
           CONVERSATIONS, title="Next that needs you",
           summary="Select the next conversation whose next is you", id="needs-you"),
    Action("A", "archive", "Archive",
           "archive closed conversations: out of the live list, still searchable (asks first)",
           CONVERSATIONS, title="Archive",
           summary="Move closed conversations out of the live list", id="archive"),
    Action("f", "focus_filter", "Filter", "quick filter by text (Escape to leave it)",
           CONVERSATIONS, title="Filter", summary="Type to narrow the list"),
    _filter("1", "all", "all"),
    _filter("2", "live", "live"),
    _filter("3", "paused", "paused"),
    _filter("4", "closed", "closed"),
    Action("end,G", "jump_to_end", "Newest", "jump to the newest block (from the list too)",
           TRANSCRIPT, title="Newest block", summary="Scroll the transcript to its newest block",
           priority=True),
    Action("left_square_bracket", "load_earlier", "Earlier", "load earlier blocks", TRANSCRIPT,
           title="Earlier blocks", summary="Load earlier blocks of a long conversation"),
    Action("v", "toggle_peek", "Peek", "show or hide the pane peek (the next session's pane)",
           TRANSCRIPT, title="Pane peek", summary="Show or hide the next session's pane"),
    Action("t", "toggle_theme", "Theme", "switch between the dark and the light theme",
           EVERYWHERE, scope="app", title="Switch theme", summary="Dark or light"),
    Action("question_mark", "help", "Help", "this help", EVERYWHERE, scope="app",
           title="Keys", summary="Every key of the console", footer=True, id="help"),
    Action("q", "quit", "Quit", "quit: this host's watcher stops with the console (asks first)",
           EVERYWHERE, scope="app", title="Quit",
           summary="Quit; this host's wake-ups stop with the console", footer=True, id="quit"),
    # The replay screen's own keys.
    Action("space", "toggle_play", "Play/pause", "play or pause", REPLAY, scope="replay",
           title="Play or pause", summary="Play from here, or pause", footer=True),
    Action("right,l", "step(1)", "Step", "one step forward", REPLAY, scope="replay",
           title="Step forward", summary="One step forward", footer=True),
    Action("left,h", "step(-1)", "Back", "one step back", REPLAY, scope="replay",
           title="Step back", summary="One step back", footer=True),
    Action("home", "first", "First", "the opening", REPLAY, scope="replay",
           title="The opening", summary="Back to the first step", priority=True),
    Action("end", "last", "Last", "now", REPLAY, scope="replay", title="Now",
           summary="The conversation as it is now", priority=True),
    Action("s", "speed", "Speed", "speed: real time (gaps cut to 3 s), one block a second, fast",
           REPLAY, scope="replay", title="Speed",
           summary="Real time, one block a second, as fast as possible", footer=True),
    Action("t", "jump", "Jump to turn", "jump to a turn", REPLAY, scope="replay",
           title="Jump to a turn", summary="Ask for a turn number", footer=True),
    Action("escape,q", "leave", "Close", "back to the console", REPLAY, scope="replay",
           title="Close the replay", summary="Back to the console", footer=True),
)
# fmt: on


@dataclass(frozen=True)
class TextualKey:
    """A key Textual itself binds (a widget's or the app's), listed in the help beside ours."""

    keys: str
    help: str
    group: str


TEXTUAL_KEYS: tuple[TextualKey, ...] = (
    TextualKey("up,down", "select a conversation (or click it)", CONVERSATIONS),
    TextualKey("tab", "move between the list and the transcript", TRANSCRIPT),
    TextualKey("ctrl+p", "the command palette: every action by name", EVERYWHERE),
)

_KEY_NAMES = {"end": "End", "home": "Home", "escape": "Escape"}


def key_display(keys: str) -> str:
    """How the help shows a binding's keys: `end,G` is "End / G"."""
    return " / ".join(_KEY_NAMES.get(key, format_key(key)) for key in keys.split(","))


def in_scope(scope: str) -> tuple[Action, ...]:
    """The actions of one scope, in the table's order."""
    if scope not in SCOPES:
        raise ValueError(f"no scope {scope!r}")
    return tuple(entry for entry in ACTIONS if entry.scope == scope)


def bindings(scope: str) -> list[BindingType]:
    """The BINDINGS of one scope: what the footer shows is the table's `footer`."""
    return [
        Binding(
            entry.keys,
            entry.action,
            entry.label,
            show=entry.footer,
            id=entry.id,
            priority=entry.priority,
        )
        for entry in in_scope(scope)
    ]


def find(scope: str, name: str) -> Action | None:
    """The first entry of `scope` whose action is `name` (arguments aside)."""
    return next((entry for entry in in_scope(scope) if entry.name == name), None)


def help_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """The help screen: each group's keys and what they do, ours and Textual's."""
    rows: dict[str, list[tuple[str, str]]] = {group: [] for group in GROUPS}
    for entry in ACTIONS:
        rows[entry.group].append((key_display(entry.keys), entry.help))
    for builtin in TEXTUAL_KEYS:
        rows[builtin.group].append((key_display(builtin.keys), builtin.help))
    return [(group, rows[group]) for group in GROUPS if rows[group]]
