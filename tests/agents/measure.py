"""Measurements on the real CLIs: submit keys, `# ` lines, wake latency, native wake paths.

Each experiment prints JSON lines; NOTES.md summarises them. Run one at a time, e.g.
`python -m tests.agents.measure submit --cli codex --trials 15 --key Enter`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.agents import clis
from tests.agents.standin import StandIn

# The folder of the `talkroom` command the agents and these experiments run.
BIN = Path(os.environ.get("TALKROOM_AGENTS_BIN") or clis.VENV_BIN)
TALKROOM = str(BIN / "talkroom")


def emit(**fields: object) -> None:
    """One JSON line on stdout."""
    print(json.dumps(fields), flush=True)


def talkroom(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the talkroom helper on `root`; its stdout (raises on failure)."""
    result = subprocess.run(
        [TALKROOM, "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if result.returncode:
        raise RuntimeError(f"talkroom {args[0]}: {result.stderr.strip()}")
    return result.stdout


@dataclass
class Talk:
    """A real talkroom conversation between alpha and beta."""

    root: Path
    id: str

    @classmethod
    def open(cls, root: Path) -> Talk:
        """Open a fresh conversation; next is beta."""
        root.mkdir(parents=True, exist_ok=True)
        out = talkroom(
            root,
            "open",
            "--topic",
            "t",
            "--as",
            "alpha",
            "--with",
            "beta",
            "--body",
            "hi",
            "--max-turns",
            "200",
        )
        return cls(root, out.split()[0])

    def state(self) -> dict[str, object]:
        """`show --json` of the conversation."""
        return json.loads(talkroom(self.root, "show", self.id, "--json"))

    def line(self, hash_prefix: bool = True) -> str:
        """The wake-up line for whoever is next, as the watcher builds it (without the
        leading `# `: the line talkroom typed before it was a shell comment)."""
        from talkroom.core.store import load
        from talkroom.watch.instruction import build_line

        conv = load(self.root / "conversations" / f"{self.id}.md")
        line = build_line(
            conv, conv.next[0], self.root / "conversations" / f"{self.id}.md", self.root
        )
        return line if hash_prefix else "[talkroom]" + line.removeprefix("# talkroom:")


@contextmanager
def rig(cli: str, think: float = 1.0, **options: Any) -> Iterator[tuple[clis.Agent, StandIn, Talk]]:
    """A stand-in, a conversation and `cli` in its own tmux server, all ended afterwards."""
    base = Path(tempfile.mkdtemp(prefix="tra-m-", dir="/tmp"))
    standin = StandIn(log=base / "standin.log", think=think).start()
    agent = None
    try:
        (base / "work").mkdir()
        talk = Talk.open(base / "root")
        agent = clis.launch(cli, base / "work", standin.url, BIN, **options)
        yield agent, standin, talk
    finally:
        if agent is not None:
            agent.stop()
        standin.stop()
        shutil.rmtree(base, ignore_errors=True)


def submit(agent: clis.Agent, how: str) -> None:
    """Press the submit key: 'Enter' (named key), 'C-m', or 'CR' (a literal carriage return)."""
    if how == "CR":
        agent.tmux("send-keys", "-t", agent.pane, "-l", "--", "\r")
    else:
        agent.key(how)


def _done(standin: StandIn, since: int) -> bool:
    """True when the stand-in answered a tool result ("done") after request `since`."""
    return any(r.get("answered") == "text done" for r in standin.requests[since:])


def _commands(standin: StandIn, since: int) -> list[dict[str, object]]:
    return [r for r in standin.requests[since:] if r.get("command")]


def trial(
    agent: clis.Agent,
    standin: StandIn,
    line: str,
    how: str = "Enter",
    delay: float = 0.5,
    settle: float = 5.0,
) -> dict[str, object]:
    """Type `line`, wait `delay`, submit with `how`; seconds from the submit to busy and to
    the command reaching the stand-in (None: not within `settle`)."""
    agent.wait(agent.idle, 60, "idle prompt before the trial")
    seen = len(standin.requests)
    agent.type(line)
    time.sleep(delay)
    start, wall = time.monotonic(), time.time()  # times count from the submit key
    submit(agent, how)
    busy = None
    while time.monotonic() - start < settle:
        if busy is None and agent.busy():
            busy = time.monotonic() - start
        if _commands(standin, seen) and busy is not None:
            break
        time.sleep(0.02)
    got = _commands(standin, seen)
    result: dict[str, object] = {
        "cli": agent.cli,
        "key": how,
        "delay": delay,
        "busy_s": _r(busy),
        "command_s": _r(float(got[0]["time"]) - wall) if got else None,  # type: ignore[arg-type]
        "prompt_ok": bool(got) and line[-60:] in str(got[0].get("prompt", "")),
    }
    if not got:
        result["stuck_composer"] = agent.capture().rstrip("\n").split("\n")[-9:]
        submit(agent, "Enter")  # a second submit: does it go now?
        try:
            agent.wait(lambda: bool(_commands(standin, seen)), 10, "the command")
            result["second_enter"] = "submitted"
        except TimeoutError:
            result["second_enter"] = "still stuck"
    agent.wait(agent.idle, 60, "idle after the trial")
    return result


def _watch_busy(
    agent: clis.Agent, standin: StandIn, seen: int, start: float, limit: float
) -> float | None:
    """Poll until the command came and busy showed (or `limit`); seconds to busy."""
    busy = None
    while time.monotonic() - start < limit and (busy is None or not _commands(standin, seen)):
        if busy is None and agent.busy():
            busy = time.monotonic() - start
        time.sleep(0.02)
    return busy


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def cmd_submit(args: argparse.Namespace) -> None:
    """Submit-key trials: `--trials` wake-ups with `--key`, optionally `# `-prefixed, for
    each of the `--delay` values (typing -> submit key)."""
    with rig(args.cli, think=args.think) as (agent, standin, talk):
        time.sleep(args.warmup)
        for delay in args.delay:
            for number in range(args.trials):
                result = trial(agent, standin, talk.line(args.hash), args.key, delay)
                emit(n=number, hash_prefix=args.hash, **result)


def _rss_mib(agent: clis.Agent) -> float:
    """Summed RSS of the CLI's processes (not tmux), in MiB."""
    total = 0
    for pid in agent.pids():
        if pid == agent.server_pid:
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for row in status.splitlines():
            if row.startswith("VmRSS:"):
                total += int(row.split()[1])
    return round(total / 1024, 1)


def cmd_launch(args: argparse.Namespace) -> None:
    """Launch-to-idle time, RSS, pane command; then the first wake right after idle."""
    for number in range(args.trials):
        with rig(args.cli, think=0.3, wait_idle=False) as (agent, standin, talk):
            agent.wait(agent.idle, 90, "idle prompt")
            idle = time.monotonic() - agent.started
            agent.wait(lambda: agent.idle_for(1.5), 60, "a steady idle prompt")
            command = agent.command()
            first = trial(agent, standin, talk.line(), "Enter", args.delay[0])
            time.sleep(2)
            emit(
                n=number,
                cli=args.cli,
                launch_to_idle_s=_r(idle),
                pane_command=command,
                rss_mib=_rss_mib(agent),
                processes=len(agent.pids()) - 1,
                first_wake=first,
            )


def cmd_prefix(args: argparse.Namespace) -> None:
    """What typing `#`, `!`, `/`, `@` first shows, and whether `# ` lines reach the model."""
    with rig(args.cli, think=0.3) as (agent, standin, talk):
        time.sleep(2)
        for mark in ("# ", "!", "/", "@"):
            agent.type(mark)
            time.sleep(0.8)
            shown = agent.lines()[-8:]
            agent.key("BSpace", "BSpace", "BSpace")
            time.sleep(0.8)
            cleared = "backspace" if agent.idle() else "no"
            if cleared == "no":  # a mode that backspace does not leave (Gemini's shell mode)
                agent.key("Escape")
                time.sleep(0.8)
                cleared = "escape" if agent.idle() else "no"
            emit(cli=args.cli, typed=mark, screen=shown, cleared_by=cleared)
        for number in range(args.trials):
            emit(n=number, hash_prefix=True, **trial(agent, standin, talk.line(True)))


class Watcher:
    """The real talkroom watcher for `root`, with its own config and state."""

    def __init__(self, root: Path, base: Path) -> None:
        self.env = {
            "TALKROOM_CONFIG": str(base / "config.yaml"),
            "TALKROOM_STATE_DIR": str(base / "state"),
            "TALKROOM_HOST": "agents",
        }
        self.root = root
        self.proc: subprocess.Popen[str] | None = None

    def register(self, agent: clis.Agent, name: str) -> None:
        """Register `agent`'s pane as session `name`."""
        tmux = f"{agent.socket},{agent.server_pid},0"
        talkroom(
            self.root,
            "register",
            name,
            "--agent",
            agent.cli,
            "--pane",
            agent.pane,
            env={**self.env, "TMUX": tmux, "TMUX_PANE": agent.pane},
        )

    def start(self) -> None:
        """Start `talkroom --watch-only --json`."""
        self.proc = subprocess.Popen(
            [TALKROOM, "--root", str(self.root), "--watch-only", "--json"],
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def stop(self) -> None:
        """Stop the watcher by pid."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def deliveries(self) -> list[dict[str, object]]:
        """Every line of this host's deliveries.jsonl."""
        path = self.root / "hosts" / "agents" / "deliveries.jsonl"
        if not path.exists():
            return []
        return [json.loads(row) for row in path.read_text().splitlines() if row.strip()]


def cmd_watch(args: argparse.Namespace) -> None:
    """End to end through the real watcher: alpha's turn written -> beta busy -> beta's reply."""
    with rig(args.cli, think=args.think) as (agent, standin, talk):
        watcher = Watcher(talk.root, talk.root.parent)
        watcher.register(agent, "beta")
        watcher.start()
        try:
            agent.wait(lambda: bool(standin.commands()), 30, "the first delivery")
            for number in range(args.trials):
                agent.wait(lambda: talk.state()["next"] == ["alpha"], 60, "beta's reply")
                agent.wait(agent.idle, 60, "idle")
                time.sleep(args.gap)
                seen = len(standin.requests)
                start, wall = time.monotonic(), time.time()
                talkroom(
                    talk.root,
                    "reply",
                    talk.id,
                    "--as",
                    "alpha",
                    "--next",
                    "beta",
                    "--body",
                    f"turn {number}",
                )
                busy = _watch_busy(agent, standin, seen, start, 30)
                got = _commands(standin, seen)
                emit(
                    n=number,
                    cli=args.cli,
                    write_to_busy_s=_r(busy),
                    write_to_command_s=_r(float(got[0]["time"]) - wall) if got else None,  # type: ignore[arg-type]
                    delivery=watcher.deliveries()[-1] if watcher.deliveries() else None,
                )
        finally:
            watcher.stop()
        outcomes: dict[str, int] = {}
        for row in watcher.deliveries():
            key = f"{row.get('outcome')} submits={row.get('submits', '?')}"
            outcomes[key] = outcomes.get(key, 0) + 1
        emit(cli=args.cli, outcomes=outcomes)


def cmd_native(args: argparse.Namespace) -> None:
    """Claude's inbox socket or `codex queue`: line written -> busy -> command."""
    with rig(args.cli, think=args.think) as (agent, standin, talk):
        time.sleep(2)
        for number in range(args.trials):
            agent.wait(agent.idle, 60, "idle")
            if args.draft and number == args.trials - 1:
                agent.type("a human draft")
                time.sleep(0.5)
            seen = len(standin.requests)
            start, wall = time.monotonic(), time.time()
            sent = (inbox_send if args.cli == "claude" else codex_queue)(
                agent, standin, talk.line()
            )
            busy = _watch_busy(agent, standin, seen, start, 20)
            got = _commands(standin, seen)
            emit(
                n=number,
                cli=args.cli,
                sent=sent,
                busy_s=_r(busy),
                command_s=_r(float(got[0]["time"]) - wall) if got else None,  # type: ignore[arg-type]
                screen=agent.lines()[-5:] if args.draft else None,
            )
            agent.wait(lambda s=seen: _done(standin, s) and not agent.busy(), 30, "the turn")
            time.sleep(1)
        if args.draft:
            emit(cli=args.cli, after_draft_screen=agent.lines()[-6:])


def inbox_send(agent: clis.Agent, standin: StandIn, line: str) -> str:
    """Write one NDJSON user message to Claude's per-session inbox socket."""
    files = glob.glob(str(agent.home.path / ".claude" / "sessions" / "*.json"))
    session = json.loads(Path(files[0]).read_text())
    frame = {
        "type": "user",
        "session_id": session["sessionId"],
        "message": {"role": "user", "content": line},
    }
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(session["messagingSocketPath"])
        conn.sendall((json.dumps(frame) + "\n").encode())
    return f"{session['messagingSocketPath']} status={session.get('status')}"


def codex_queue(agent: clis.Agent, standin: StandIn, line: str) -> str:
    """`codex queue --thread <id> --message LINE`, the thread id from the stand-in's log."""
    thread = _codex_thread(agent, standin)
    result = subprocess.run(
        [str(clis.binary("codex")), "queue", "--thread", thread, "--message", line],
        env=agent.home.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return f"rc={result.returncode} {(result.stdout + result.stderr).strip()[:200]}"


def _codex_thread(agent: clis.Agent, standin: StandIn) -> str:
    """The TUI's thread id: a file named after it under CODEX_HOME from start-up on, and
    client_metadata.thread_id in every model request."""
    refs = Path(agent.home.env["CODEX_HOME"]) / "tui-thread-reference-capabilities"
    names = sorted(p.name for p in refs.iterdir()) if refs.is_dir() else []
    if len(names) == 1:
        return names[0]
    threads = [str(r["thread"]) for r in standin.requests if r.get("thread")]
    if not threads:
        raise RuntimeError("cannot tell the Codex thread id yet")
    return threads[-1]


def main(argv: list[str] | None = None) -> int:
    """Pick an experiment and run it."""
    parser = argparse.ArgumentParser(prog="python -m tests.agents.measure")
    parser.add_argument("experiment", choices=["submit", "launch", "prefix", "watch", "native"])
    parser.add_argument("--cli", choices=clis.CLIS, required=True)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--key", default="Enter", help="Enter, C-m or CR")
    parser.add_argument(
        "--old-prefix",
        dest="hash",
        action="store_false",
        help="the line as talkroom typed it before: [talkroom] ..., no #",
    )
    parser.add_argument(
        "--delay",
        type=float,
        nargs="+",
        default=[0.5],
        help="seconds from typing to the submit key (several: a sweep)",
    )
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--gap", type=float, default=1.0)
    parser.add_argument("--draft", action="store_true", help="native: draft before the last")
    args = parser.parse_args(argv)
    if reason := clis.unavailable_reason([args.cli]):
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    {
        "submit": cmd_submit,
        "launch": cmd_launch,
        "prefix": cmd_prefix,
        "watch": cmd_watch,
        "native": cmd_native,
    }[args.experiment](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
