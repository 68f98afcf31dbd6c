"""A stand-in coding agent for the demo and the tests: a prompt that answers wake-up lines.

    python -m talkroom.demo.agent --name NAME [--think SECONDS] [--log FILE]
                                  [--busy-file FILE] [--persona TEXT]

It looks like Claude Code to the watcher: an empty `❯` prompt when idle, and an
"esc to interrupt" line with a moving spinner while it thinks. When a wake-up line
arrives it thinks, then runs the `talkroom reply ...` command from that line with a
canned reply on standard input. It runs nothing else: the command is split with shlex
and must be exactly `talkroom reply <id> --as <name> --next <name> [--root <dir>]`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

WAKE_RE = re.compile(
    r"^# talkroom: your turn in ([a-z0-9-]+) \(turn (\d+)/(\d+)\).*"
    r"then run: (talkroom reply .*)$"
)
SPINNER = "✶✸✹✺✹✷"

OPENERS = [
    "I have read the thread.",
    "Picking up from the last turn.",
    "Short answer first.",
    "Let me push back a little.",
    "Agreed on most of it.",
    "One more data point.",
]
POINTS = [
    "The simplest option that survives a crash is the one I would ship first.",
    "Measured on our CI box, the difference was within noise; I would not decide on speed.",
    "Operationally, one fewer moving part beats a marginal gain in throughput.",
    "We already run PostgreSQL, so `SELECT ... FOR UPDATE SKIP LOCKED` costs us nothing new.",
    "Redis is faster, but we would need persistence settings we do not have today.",
    "SQLite is fine for one host, and this queue will live on three.",
    "Retries must be idempotent whatever we pick; that is the real work.",
    "I would cap the queue at 10k jobs and alert above 8k.",
    "Let us keep the interface small so we can swap the backend later.",
]
CLOSERS = [
    "What would change your mind?",
    "Can we converge on this?",
    "Your turn to poke holes.",
    "If nobody objects, I think we are close.",
    "Over to you.",
]


def canned_reply(name: str, turn: int, persona: str) -> str:
    """A varied but deterministic reply for this agent and turn."""
    rng = random.Random(f"{name}:{turn}")
    points = rng.sample(POINTS, 2)
    lines = [f"{rng.choice(OPENERS)} ({persona})" if persona else rng.choice(OPENERS), ""]
    lines += [f"- {p}" for p in points]
    lines += ["", rng.choice(CLOSERS)]
    return "\n".join(lines)


def safe_command(text: str, name: str) -> list[str] | None:
    """The reply command's arguments, or None if it is anything but a talkroom reply."""
    try:
        argv = shlex.split(text)
    except ValueError:
        return None
    if argv[:2] != ["talkroom", "reply"] or len(argv) not in (7, 9):
        return None
    rest = argv[3:]
    pairs = dict(zip(rest[::2], rest[1::2], strict=False))
    if set(pairs) - {"--as", "--next", "--root"} or pairs.get("--as") != name:
        return None
    return argv[1:]


def think(seconds: float, busy_file: Path | None) -> None:
    """Show the busy line, with a moving spinner, for `seconds` (and while busy_file exists)."""
    start = time.monotonic()
    frame = 0
    while time.monotonic() - start < seconds or (busy_file and busy_file.exists()):
        sys.stdout.write(f"\r{SPINNER[frame % len(SPINNER)]} Thinking… (esc to interrupt)")
        sys.stdout.flush()
        frame += 1
        time.sleep(0.15)
    sys.stdout.write("\r" + " " * 40 + "\r")


def main() -> None:
    parser = argparse.ArgumentParser(description="a stand-in coding agent")
    parser.add_argument("--name", required=True)
    parser.add_argument("--think", type=float, default=2.0, help="seconds to think")
    parser.add_argument("--log", type=Path, help="append every line received here")
    parser.add_argument("--busy-file", type=Path, help="look busy while this file exists")
    parser.add_argument("--persona", default="")
    args = parser.parse_args()
    print(f"stand-in agent {args.name} (pid {os.getpid()}): waiting for wake-up lines")
    while True:
        if args.busy_file:
            think(0, args.busy_file)
        try:
            line = input("❯ ")
        except EOFError:
            return
        if args.log:
            with open(args.log, "ab") as fh:
                fh.write(line.encode("utf-8", "surrogateescape") + b"\n")
        match = WAKE_RE.match(line)
        if not match:
            print(f"(ignored: {line[:60]!r})" if line else "")
            continue
        command = safe_command(match.group(4), args.name)
        if command is None:
            print("(refused: not a plain talkroom reply command)")
            continue
        think(args.think, args.busy_file)
        body = canned_reply(args.name, int(match.group(2)), args.persona)
        result = subprocess.run(
            [sys.executable, "-m", "talkroom", *command],
            input=body,
            capture_output=True,
            text=True,
            check=False,
        )
        print(
            (result.stdout or result.stderr).strip().splitlines()[0]
            if (result.stdout or result.stderr)
            else f"exit {result.returncode}"
        )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
