"""The status bar (root, host, watchers, sessions, last delivery) and the conversation header."""

from __future__ import annotations

import os

from rich.text import Text
from textual.widgets import Static

from talkroom.console import palette
from talkroom.console.state import ConsoleState, Row
from talkroom.core import clock
from talkroom.core.model import CLOSED, PAUSED
from talkroom.core.names import MODERATOR, join_names
from talkroom.core.sanitise import sanitise_line


class WatcherInfo:
    """What the console knows of this host's watcher."""

    __slots__ = ("busy_pid", "error", "mode", "pid", "running")

    def __init__(self) -> None:
        self.running = False
        self.mode = ""
        self.pid: int | None = None
        self.busy_pid: int | None = None  # another process's watcher serves this host
        self.error: str | None = None


def short_path(path: str) -> str:
    """The path with the home folder as ~."""
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home != "/" and path.startswith(home + os.sep) else path


class StatusBar(Static):
    """How many conversations need you, root, host, watchers with heartbeat age, sessions,
    the last delivery."""

    def show(
        self,
        root: str,
        host: str,
        tail_mode: str,
        watcher: WatcherInfo,
        state: ConsoleState,
        root_error: str | None,
        now: float,
    ) -> None:
        """Redraw from the current facts."""
        line = Text()
        needing = len(state.needing)
        if needing:  # first: on a narrow pane the bar's end is cut
            verb = "needs" if needing == 1 else "need"
            line.append(f"● {needing} {verb} you (N)", style=palette.strong(palette.WAITS_ON_YOU))
            line.append("  ")
        line.append_text(
            Text.assemble(
                ("root ", "dim"),
                sanitise_line(short_path(root)),
                (f" ({tail_mode})", "dim"),
                ("  host ", "dim"),
                (host, "bold"),
            )
        )
        if root_error:
            line.append(f"  ✗ {sanitise_line(root_error)}", style=palette.strong(palette.BROKEN))
        line.append("  watcher ", style="dim")
        if watcher.running:
            line.append(f"✓ {watcher.mode}", style=palette.MOVING)
            if watcher.error:
                line.append(f" ✗ {sanitise_line(watcher.error)}", style=palette.BROKEN)
        elif watcher.busy_pid is not None:
            beat = next((b for b in state.heartbeats if b.host == host), None)
            age = f", beat {clock.age(beat.age(now))} ago" if beat else ""
            line.append(f"✓ pid {watcher.busy_pid} elsewhere{age}", style=palette.MOVING)
        else:
            line.append("off", style=palette.WAITS_ON_YOU)  # nobody wakes agents here
        others = [b for b in state.heartbeats if b.host != host]
        if others:
            line.append("  hosts ", style="dim")
            for i, beat in enumerate(others):
                if i:
                    line.append(", ")
                ok = beat.alive(now)
                line.append(
                    f"{sanitise_line(beat.host)} {'✓' if ok else '✗'}",
                    style=palette.MOVING if ok else palette.BROKEN,
                )
                line.append(
                    f" {'stopped' if beat.stopped else clock.age(beat.age(now))}", style="dim"
                )
        local = [(s, alive) for s, alive in state.sessions if s.host == host]
        if local:
            line.append("  sessions ", style="dim")
            for i, (session, alive) in enumerate(local):
                if i:
                    line.append(", ")
                line.append(
                    f"{session.name} {'✓' if alive else '✗ gone'}",
                    style=palette.MOVING if alive else palette.BROKEN,
                )
                if alive and session.wake != "typed":
                    line.append(f" {session.wake}", style="dim")
        last = state.last_receipt
        if last is not None:
            stamp = clock.parse_loose(last.at)
            when = f" {clock.age(now - stamp)} ago" if stamp is not None else ""
            line.append("  last ", style="dim")
            line.append(last.describe() + when)
        self.update(line)


class ConversationHeader(Static):
    """Topic, status, turns, participants, who is next and since when."""

    def show(self, row: Row | None, now: float) -> None:
        """Redraw for the selected conversation (None: nothing selected)."""
        if row is None:
            self.update(Text("No conversation selected. Press o to open one.", style="dim"))
            return
        conv = row.conv
        if conv is None:
            self.update(
                Text.assemble(
                    (row.id, "bold"),
                    "\n",
                    (
                        f"unreadable: {sanitise_line(row.error or '?')}",
                        palette.strong(palette.BROKEN),
                    ),
                    "\n",
                    ("The file is never rewritten; fix or move it.", "dim"),
                )
            )
            return
        text = Text.assemble((sanitise_line(conv.topic) or conv.id, "bold"), "\n")
        status_style = {PAUSED: palette.MODERATOR, CLOSED: palette.OVER}.get(
            conv.status, palette.MOVING
        )
        text.append(conv.status, style=status_style)
        text.append(f" · turn {conv.turns}/{conv.max_turns} · ", style="dim")
        text.append(sanitise_line(join_names(conv.participants)))
        if conv.status != CLOSED and conv.next:
            text.append(" · next ", style="dim")
            names = ["you" if n == MODERATOR else n for n in conv.next]
            text.append(
                sanitise_line(", ".join(names)),
                style=palette.strong(palette.WAITS_ON_YOU) if row.needs_you else "bold",
            )
            if row.waiting_since is not None:
                text.append(f" for {clock.age(now - row.waiting_since)}", style="dim")
        if conv.paused_reason:
            text.append(f"\npaused: {sanitise_line(conv.paused_reason)}", style=palette.MODERATOR)
        if conv.resolution:
            text.append("\nresolution: ", style="bold")
            text.append(sanitise_line(conv.resolution))
        if conv.edited_by_hand:
            text.append("\nedited by hand: its trailer does not match", style="italic dim")
        for problem in row.problems:
            text.append("\n⚠ ", style=palette.strong(palette.BROKEN))
            text.append(problem.text, style=palette.BROKEN)
            if problem.keys:
                fixes = {"u": "nudge", "n": "set next", "p": "pause"}
                text.append(
                    "  " + " · ".join(f"{k} {fixes[k]}" for k in problem.keys), style="bold"
                )
        text.append(f"\n{conv.id}", style="dim")
        self.update(text)
