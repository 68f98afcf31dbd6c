"""Capture each real CLI's pane in every state, as fixtures for the profiles' markers.

Writes tests/fixtures/panes/<cli>/<state>.txt (capture-pane -p), <state>.ansi (-p -e) and
meta.json (version, size, #{pane_current_command} per state).
Run: `python -m tests.agents.capture [--cli claude] [--out DIR]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.agents import clis
from tests.agents.measure import BIN, Talk
from tests.agents.standin import StandIn

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "panes"
SIZE = (100, 30)
DRAFT = "a human draft, typed but not sent"
# Text that shows a permission or approval dialog is open.
DIALOG = {
    "claude": "do you want to proceed",
    "codex": "would you like to run",
    "gemini": "allow execution",
}
# A warning overlay or footer note, and how to bring it up (see `_warning`).
WARNING = {"claude": "focus-events", "codex": "warning", "gemini": "warning"}


class Recorder:
    """Saves captures of one agent's pane into the CLI's fixture folder."""

    def __init__(self, out: Path, cli: str) -> None:
        self.folder = out / cli
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.meta: dict[str, object] = {
            "cli": cli,
            "package": clis.PINS[cli].package,
            "version": clis.PINS[cli].version,
            "size": f"{SIZE[0]}x{SIZE[1]}",
            "tmux": _tmux_version(),
            "states": {},
        }

    def save(self, agent: clis.Agent, state: str, note: str) -> None:
        """Write <state>.ansi and <state>.txt and the pane's foreground command."""
        ansi = agent.capture(ansi=True)
        plain = agent.capture()
        (self.folder / f"{state}.ansi").write_text(ansi, encoding="utf-8")
        (self.folder / f"{state}.txt").write_text(plain, encoding="utf-8")
        states = self.meta["states"]
        assert isinstance(states, dict)
        states[state] = {"pane_current_command": agent.command(), "how": note}
        print(f"{agent.cli}: {state}", flush=True)

    def close(self) -> None:
        """Write meta.json."""
        (self.folder / "meta.json").write_text(json.dumps(self.meta, indent=2) + "\n")


def _tmux_version() -> str:
    return subprocess.run(
        ["tmux", "-V"], capture_output=True, text=True, check=False
    ).stdout.strip()


def _clear(agent: clis.Agent, count: int) -> None:
    """Delete what was typed, one backspace at a time."""
    agent.tmux("send-keys", "-t", agent.pane, "-N", str(count), "BSpace")
    agent.wait(lambda: agent.idle_for(1.0), 30, "an empty prompt again")


def _done(standin: StandIn) -> bool:
    return any(r.get("answered") == "text done" for r in standin.requests)


def _shows(agent: clis.Agent, text: str) -> bool:
    return text in "\n".join(agent.lines()[-15:]).lower()


class Session:
    """One agent of `cli` against its own stand-in and conversation, in a scratch folder."""

    def __init__(self, cli: str, think: float, **options: str) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="tra-c-", dir="/tmp"))
        self.standin = StandIn(log=self.base / "standin.log", think=think).start()
        try:
            (self.base / "work").mkdir()
            self.talk = Talk.open(self.base / "root")
            self.agent = clis.launch(
                cli, self.base / "work", self.standin.url, BIN, size=SIZE, **options
            )
        except BaseException:
            self.standin.stop()
            shutil.rmtree(self.base, ignore_errors=True)
            raise

    def wake(self) -> None:
        """Type the wake-up line and press Enter, as the watcher does."""
        self.agent.type(self.talk.line())
        time.sleep(0.5)
        self.agent.key("Enter")

    def close(self) -> None:
        """End the agent and the stand-in; remove the scratch folder."""
        self.agent.stop()
        self.standin.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def capture_cli(cli: str, out: Path) -> None:
    """Every state of one CLI."""
    rec = Recorder(out, cli)
    try:
        main_states(cli, rec)
        dialog_state(cli, rec)
        if cli == "codex":
            codex_warning(rec)
    finally:
        rec.close()


def main_states(cli: str, rec: Recorder) -> None:
    """idle, draft, wake line unsent, busy, warning (Claude, Gemini), after a tool ran."""
    session = Session(cli, think=4.0)
    agent = session.agent
    try:
        time.sleep(1.0)
        rec.save(agent, "idle", "launched, idle prompt shown for 1.5 s")
        if cli == "gemini" and _shows(agent, WARNING[cli]):
            rec.save(agent, "warning", "the start-up screen's compatibility warning")
        agent.type(DRAFT)
        time.sleep(1.0)
        rec.save(agent, "draft", f"typed {DRAFT!r}, no Enter")
        _clear(agent, len(DRAFT) + 5)
        line = session.talk.line()
        agent.type(line)
        time.sleep(1.0)
        rec.save(agent, "wakeline_unsent", "the wake-up line typed, no Enter")
        _clear(agent, len(line) + 5)
        if cli == "codex":
            codex_stuck(session, rec)
        session.wake()
        agent.wait(agent.busy, 20, "busy")
        time.sleep(1.0)
        rec.save(agent, "busy", "wake-up line submitted; the stand-in thinks 4 s")
        agent.wait(lambda: _done(session.standin), 30, "the final answer")
        agent.wait(lambda: agent.idle_for(2.0), 60, "idle after the round trip")
        rec.save(agent, "after_tool", "after a full wake-up round trip (reply ran, 'done')")
        if cli == "claude":
            agent.wait(lambda: _shows(agent, WARNING[cli]), 15, "the focus-events note")
            rec.save(
                agent,
                "warning",
                "note above the prompt a few seconds into the first turn: tmux focus-events off",
            )
        session.wake()
        agent.wait(agent.busy, 20, "busy")
        agent.type(DRAFT)
        time.sleep(1.0)
        rec.save(agent, "busy_draft", f"busy (think 4 s), then {DRAFT!r} typed")
    finally:
        session.close()


def codex_stuck(session: Session, rec: Recorder) -> None:
    """The wake-up line with Enter right behind it: Codex keeps both in its composer."""
    agent = session.agent
    for _ in range(3):
        line = session.talk.line()
        agent.type(line)
        agent.key("Enter")
        time.sleep(1.5)
        if not session.standin.commands() and not agent.busy():
            rec.save(agent, "wakeline_stuck", "the wake-up line, then Enter at once (no delay)")
            _clear(agent, len(line) + 5)
            return
        agent.wait(lambda: _done(session.standin) and agent.idle_for(1.0), 60, "the turn")
        session.standin.requests.clear()
    print("codex: the line was submitted every time; no stuck composer", flush=True)


def dialog_state(cli: str, rec: Recorder) -> None:
    """A permission or approval dialog: talkroom is not on the allow list."""
    session = Session(cli, think=0.3, allow="")
    session.standin.escalate = True  # Codex asks only when the model wants out of its sandbox
    agent = session.agent
    try:
        session.wake()
        agent.wait(lambda: _shows(agent, DIALOG[cli]), 30, "the dialog")
        time.sleep(1.0)
        rec.save(agent, "dialog", "wake-up line submitted with nothing allowed")
    finally:
        session.close()


def codex_warning(rec: Recorder) -> None:
    """Codex's footer note for an unknown model, after one turn."""
    session = Session("codex", think=0.3, codex_model="stand-in-model")
    agent = session.agent
    try:
        session.wake()
        agent.wait(lambda: bool(session.standin.commands()), 30, "the reply command")
        agent.wait(
            lambda: agent.idle_for(1.0) and _shows(agent, "f2 to view"), 30, "the warning note"
        )
        rec.save(agent, "warning", "model 'stand-in-model' (not in Codex's catalog), one turn")
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    """Capture the CLIs named (default all) into --out."""
    parser = argparse.ArgumentParser(prog="python -m tests.agents.capture")
    parser.add_argument("--cli", choices=clis.CLIS, action="append")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    for cli in args.cli or clis.CLIS:
        if reason := clis.unavailable_reason([cli]):
            print(f"{cli}: cannot run: {reason}", file=sys.stderr)
            return 2
        capture_cli(cli, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
