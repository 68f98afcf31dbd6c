"""`talkroom demo`: the whole loop on a fresh machine, with no model and no network.

A temporary talk root, a private tmux server (its own socket, so it works outside tmux
too) with three stand-in agents registered like real ones, a debate opened with a budget
of 12 turns, and the console on it with the watcher inside. Quitting removes the tmux
server and the temporary root unless `--keep`.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from talkroom.core import ops
from talkroom.core.config import Config
from talkroom.core.errors import BadInput, StoreError
from talkroom.core.paths import Root
from talkroom.watch import registry
from talkroom.watch.tmux import PaneRef

AGENTS = [  # name, seconds to think, persona
    ("ada", 3.0, "ops first"),
    ("linus", 4.0, "speed matters"),
    ("grace", 3.5, "keep it simple"),
]
TOPIC = "Which queue backend for the job runner: PostgreSQL, Redis or SQLite?"
OPENING = """\
We need a job queue for the new runner: about 50 jobs a second at peak, three hosts,
at-least-once delivery. Candidates: **PostgreSQL** (`SKIP LOCKED`), **Redis** streams,
or **SQLite** per host.

Each of you: argue for one, answer the others, and let us converge on a decision."""


class DemoTmux:
    """The demo's private tmux server."""

    def __init__(self, socket: Path) -> None:
        self.socket = str(socket)

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, check=False
        )
        if result.returncode:
            raise StoreError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, first: list[str]) -> str:
        """Start the server with the first agent in its first window; its pane id."""
        return self.run(
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "demo",
            "-x",
            "160",
            "-y",
            "45",
            "-P",
            "-F",
            "#{pane_id}",
            shlex.join(first),
        ).strip()

    def window(self, command: list[str]) -> str:
        """Another agent in its own window; its pane id."""
        return self.run(
            "new-window", "-d", "-t", "demo:", "-P", "-F", "#{pane_id}", shlex.join(command)
        ).strip()

    def ref(self, pane: str) -> PaneRef:
        """The pane's identity, as `talkroom register` records it."""
        pid, pane_pid = self.run("display-message", "-p", "-t", pane, "#{pid} #{pane_pid}").split()
        return PaneRef(self.socket, int(pid), pane, int(pane_pid))

    def wait_for_prompt(self, pane: str, timeout: float = 15.0) -> None:
        """Wait until a stand-in agent shows its prompt."""
        deadline = time.monotonic() + timeout
        while not self.run("capture-pane", "-p", "-t", pane).rstrip().endswith("❯"):
            if time.monotonic() > deadline:
                raise StoreError(f"the stand-in agent in {pane} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        """Stop the server and every agent in it."""
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, check=False)


def prepare(base: Path, host: str, moderator: str) -> tuple[Root, DemoTmux, str]:
    """Root, agents and the opening; returns the root, the tmux server and the id."""
    root = Root(base / "talks", "demo")
    tmux = DemoTmux(base / "tmux.sock")
    commands = [
        [
            sys.executable,
            "-m",
            "talkroom.demo.agent",
            "--name",
            name,
            "--think",
            str(think),
            "--persona",
            persona,
        ]
        for name, think, persona in AGENTS
    ]
    panes = [tmux.start(commands[0])] + [tmux.window(c) for c in commands[1:]]
    for (name, _, _), pane in zip(AGENTS, panes, strict=True):
        tmux.wait_for_prompt(pane)
        registry.register(root, host, name, "claude", tmux.ref(pane))
    plan = ops.plan_open(
        root,
        topic=TOPIC,
        opener="moderator",
        with_=[name for name, _, _ in AGENTS],
        next_=[AGENTS[0][0]],
        max_turns=12,
        body=OPENING,
        moderator=moderator,
    )
    conv_id = ops.open_conversation(root, plan, host).conv.id
    return root, tmux, conv_id


def run(host: str, config: Config, keep: bool) -> int:
    """Set the demo up, run the console on it, clean up."""
    if shutil.which("tmux") is None:
        raise BadInput(
            "talkroom demo needs tmux: install it (apt-get install tmux, "
            "brew install tmux) and run it again"
        )
    from talkroom.console.app import run_console

    base = Path(tempfile.mkdtemp(prefix="talkroom-demo-"))
    tmux: DemoTmux | None = None
    try:
        moderator = config.settings.moderator
        # Quitting the demo stops nothing anyone relies on: its watcher serves only its root.
        config.settings.confirm_quit = False
        root, tmux, _ = prepare(base, host, moderator or "you")
        notes = [
            f"Three stand-in agents debate in a private tmux server; watch them with: "
            f"tmux -S {tmux.socket} attach",
            "Try p (pause), i (inject), n (next), c (close). ? lists every key.",
        ]
        return run_console(
            root,
            host,
            config,
            watch=True,
            poll=None,
            subtitle="demo: three stand-in agents",
            notes=notes,
        )
    finally:
        if keep:
            print(
                f"kept the demo: root {base / 'talks'}; agents: tmux -S {base / 'tmux.sock'} "
                "attach (tmux kill-server -S ... to stop them)"
            )
        else:
            if tmux is not None:
                tmux.kill()
            shutil.rmtree(base, ignore_errors=True)
        print(NEXT_STEPS)


NEXT_STEPS = """\
That was the demo. To invite real agents (Claude Code, Codex, Gemini CLI, ...):
  1. a talk root they all reach:   mkdir -p ~/talks
  2. in each agent's tmux pane:    talkroom --root ~/talks register NAME --agent claude
                                   (or codex, gemini; generic for any other agent)
  3. tell each agent how:          talkroom --root ~/talks guide >> AGENTS.md
  4. moderate from a spare pane:   talkroom --root ~/talks   (o opens a conversation)
'talkroom --root ~/talks doctor' says what is still missing."""
