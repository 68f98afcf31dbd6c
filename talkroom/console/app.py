"""The moderator console's app shell: config, theme, toasts that never parse markup, the
producers' life cycle (tailer, peeker, this host's watcher), and the main screen."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.markup import escape
from textual.notifications import SeverityLevel
from textual.screen import Screen

from talkroom.console import actions
from talkroom.console.messages import WatcherReport
from talkroom.console.notify import Notifier
from talkroom.console.peeker import Peeker
from talkroom.console.screens.confirm import QuitDialog
from talkroom.console.screens.help import HelpScreen
from talkroom.console.screens.main import MainScreen
from talkroom.console.tailer import Tailer
from talkroom.console.widgets.peek import PanePeek
from talkroom.console.widgets.safe_lists import Palette
from talkroom.console.widgets.status import WatcherInfo, short_path
from talkroom.console.widgets.transcript import Transcript
from talkroom.console.writes import Writer
from talkroom.core import names
from talkroom.core.config import Config
from talkroom.core.errors import TalkError
from talkroom.core.paths import Root
from talkroom.core.sanitise import sanitise_line
from talkroom.watch.hostlock import WatcherBusy
from talkroom.watch.profiles import BUILTIN_PROFILES, Profile, profiles_from_config
from talkroom.watch.watcher import Watcher, WatchEvent

# Textual's palette commands that the action table has its own of.
TEXTUALS_OWN = frozenset({"Theme", "Quit", "Keys"})


def stylesheet() -> Path:
    """The app's stylesheet: inside the package when installed, in styles/ in a checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (
        package / "styles" / "talkroom.tcss",
        package.parent / "styles" / "talkroom.tcss",
    ):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("talkroom.tcss is missing from the installation")


class TalkroomApp(App[None]):
    """The moderator console."""

    CSS_PATH = stylesheet()
    TITLE = "talkroom"
    ACTION_SCOPE = "app"
    BINDINGS = actions.bindings(ACTION_SCOPE)

    def __init__(
        self,
        root: Root,
        host: str,
        config: Config,
        *,
        watch: bool = True,
        poll: bool | None = None,
        moderator: str | None = None,
        subtitle: str = "",
        notes: list[str] | None = None,
        replay: str | None = None,
    ) -> None:
        super().__init__()
        self.root = root
        self.host = host
        self.config = config
        self.run_watcher = watch  # not `self.watch`: that is Textual's DOMNode.watch()
        self.notes = notes or []
        self.replay_only = replay  # `talkroom replay ID`: show it, quit when it closes
        self.watcher_info = WatcherInfo()
        self.watcher: Watcher | None = None
        self.profiles: dict[str, Profile]
        try:
            self.profiles = profiles_from_config(config.settings.profiles)
        except ValueError:  # the command line refuses these; a caller that did not check
            self.profiles = dict(BUILTIN_PROFILES)  # still gets a console, and a watcher error
        self.notifier = Notifier(
            self,
            bell=config.settings.bell,
            desktop=config.settings.desktop_notifications,
            throttle=config.settings.notify_throttle,
        )
        self.main = MainScreen(Writer(root, host, names.moderator_name(moderator)))
        # The producers' threads post straight to the main screen, which shows what they see.
        self._poll = poll
        self.tailer = Tailer(
            root,
            host,
            self.main.post_message,
            poll=poll,
            interval=config.settings.poll_interval,
            rescan=config.settings.rescan_interval,
        )
        self.peeker = Peeker(self.main.post_message)
        self._producing = False
        self.sub_title = sanitise_line(subtitle or short_path(str(root.path)))
        theme = config.settings.theme
        self.theme = theme if theme in self.available_themes else "textual-dark"

    def get_default_screen(self) -> Screen[None]:
        """The main screen is the bottom of the stack; dialogs go on top of it."""
        return self.main

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast whose text is never markup: it so often quotes a file (a topic, a
        receipt, an error), and a toast runs `[@click=...]` actions when clicked."""
        del markup
        super().notify(
            sanitise_line(message),
            title=sanitise_line(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # --- the producers' life cycle --------------------------------------------------------

    def on_mount(self) -> None:
        for note in self.notes:
            self.notify(note, timeout=12)

    def start_producers(self) -> None:
        """Start following the root and the pane peek. The main screen asks after its first
        layout: a status bar updated before that was seen to keep its first height."""
        if not self._producing:
            self._producing = True
            self.tailer.start()
            self.peeker.start()

    def on_unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.peeker.stop()
        self.tailer.stop()

    def start_watcher(self) -> None:
        """Run this host's watcher inside the console (the main screen asks after its first
        load); another process's watcher, or one that cannot start, is shown instead."""
        try:
            watcher = Watcher.configured(
                self.root,
                self.host,
                self.config.settings,
                poll=self._poll,
                on_event=self._watcher_event,
            )
            watcher.start()
        except WatcherBusy as exc:
            self.watcher_info.busy_pid = exc.pid
            return
        except (OSError, TalkError) as exc:
            self.watcher_info.error = str(exc)
            self.notify(
                str(exc), title="this host's watcher did not start", severity="error", timeout=30
            )
            return
        finally:
            self.main.show_status()
        self.watcher = watcher
        self.watcher_info.running = True
        self.watcher_info.mode = watcher.mode
        self.main.show_status()

    def _watcher_event(self, event: WatchEvent) -> None:
        # Called in the watcher's thread; post_message is thread-safe.
        self.main.post_message(WatcherReport(event))

    def wake_producers(self) -> None:
        """After a write: look again now instead of at the next poll."""
        self.tailer.wake()
        if self.watcher is not None:
            self.watcher.wake()

    # --- what the main screen shows, for callers outside the console ----------------------

    @property
    def selected_id(self) -> str | None:
        """The conversation highlighted in the main screen."""
        return self.main.selected_id

    @property
    def transcript(self) -> Transcript:
        """The main screen's transcript."""
        return self.main.transcript

    @property
    def peek(self) -> PanePeek:
        """The main screen's pane peek."""
        return self.main.peek

    # --- actions on every screen (keys in console/actions.py) -----------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette: every action of the table that applies now, on this screen
        or everywhere, each with its key; then Textual's own that the table has no match
        for (a screenshot, maximize), so no entry is listed twice."""
        here = getattr(screen, "ACTION_SCOPE", None)
        for entry in actions.ACTIONS:
            if entry.scope not in (self.ACTION_SCOPE, here):
                continue
            node = self if entry.scope == self.ACTION_SCOPE else screen
            if node.check_action(entry.name, ()):
                yield SystemCommand(
                    entry.title,
                    # The palette reads a command's help as markup: ours is text.
                    escape(f"{actions.key_display(entry.keys)}  ·  {entry.summary}"),
                    partial(self.run_action, entry.action, node),
                )
        for command in super().get_system_commands(screen):
            if command.title not in TEXTUALS_OWN:
                yield command

    def action_toggle_theme(self) -> None:
        """Dark or light."""
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_help(self) -> None:
        """Every key."""
        self.push_screen(HelpScreen())

    def action_command_palette(self) -> None:
        """The command palette (Textual's, its page keys made safe)."""
        if self.use_command_palette and not any(isinstance(s, Palette) for s in self.screen_stack):
            self.push_screen(Palette(id="--command-palette"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Nothing new once quitting: a key after q in one burst must not open a screen."""
        return self.return_code is None

    async def action_quit(self) -> None:
        """Quit; first say what stops with the console, and ask (unless configured not to)."""
        if not self.config.settings.confirm_quit:
            self.exit()
        elif not isinstance(self.screen, QuitDialog):
            self.push_screen(QuitDialog(self.quit_says()), self._quit_answer)

    def _quit_answer(self, quit: bool | None) -> None:
        if quit:
            self.exit()

    def quit_says(self) -> str:
        """What quitting stops: this host's wake-ups when the watcher runs in here."""
        info = self.watcher_info
        if info.running:
            return (
                f"This host's watcher stops with the console: its wake-ups stop, and agents "
                f"on {self.host} are not woken for their turns until a watcher runs again "
                "(talkroom watch, or the console)."
            )
        if info.busy_pid is not None:
            return (
                f"This host's watcher runs in another process (pid {info.busy_pid}): "
                "wake-ups go on."
            )
        return (
            "No watcher runs in this console (--no-watch, or it could not start): quitting "
            "stops no wake-ups."
        )


def run_console(
    root: Root,
    host: str,
    config: Config,
    *,
    watch: bool,
    poll: bool | None,
    subtitle: str = "",
    notes: list[str] | None = None,
    replay: str | None = None,
) -> int:
    """Run the console until the user quits."""
    app = TalkroomApp(
        root,
        host,
        config,
        watch=watch,
        poll=poll,
        moderator=config.settings.moderator,
        subtitle=subtitle,
        notes=notes,
        replay=replay,
    )
    app.run()
    return app.return_code or 0
