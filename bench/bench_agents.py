"""Wake latency of the real agent CLIs, per CLI and per path (typed, native).

    python bench/bench_agents.py [--wakeups N] [--cli claude codex gemini]

For each CLI and path: the real CLI in its own tmux server (pinned, from npm, pointed at
the suite's model stand-in, which answers at once), registered in a talk root, and a real
headless watcher. Each round the bench writes the other participant's turn and times
write -> the agent busy (its pane's busy marker, or Claude Code's session record) and
write -> the agent's own turn written (its shell tool ran `talkroom reply`). Reports p50
and p95, and counts `delivered` receipts without a turn (the goal: none).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.agents import clis
from tests.agents.conftest import HOST
from tests.agents.standin import StandIn

TALKROOM = [sys.executable, "-m", "talkroom"]


def talkroom(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [*TALKROOM, "--root", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"talkroom {args[0]}: {result.stderr.strip()}")
    return result.stdout


def replies(root: Path, conv_id: str) -> int:
    data = json.loads(talkroom(root, "show", conv_id, "--json"))
    return sum(1 for b in data["blocks"] if b["kind"] == "Reply" and b["author"] == "beta")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(cli: str, path: str, wakeups: int) -> dict[str, object]:
    """`wakeups` rounds of alpha's turn -> beta (the CLI) busy -> beta's turn."""
    base = Path(tempfile.mkdtemp(prefix=f"tr-bench-{cli}-", dir="/tmp"))
    root = base / "root"
    root.mkdir()
    (base / "work").mkdir()
    standin = StandIn(think=0.0).start()
    agent = clis.launch(cli, base / "work", standin.url)
    os.environ.pop("TALKROOM_HOST", None)
    watcher = None
    try:
        pane_env = {**agent.home.env, "TMUX": f"{agent.socket},{agent.server_pid},0"}
        talkroom(
            root,
            "register",
            "beta",
            "--agent",
            cli,
            "--pane",
            agent.pane,
            "--wake",
            "typed" if path == "typed" else "auto",
            env=pane_env,
        )
        conv_id = talkroom(
            root,
            "open",
            "--topic",
            "bench",
            "--as",
            "alpha",
            "--with",
            "beta",
            "--next",
            "alpha",
            "--max-turns",
            "1000",
            "--body",
            "go",
        ).split()[0]
        watcher = subprocess.Popen(
            [*TALKROOM, "--root", str(root), "--watch-only"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        if cli == "codex" and path != "typed":  # its first reply records its thread
            talkroom(root, "reply", conv_id, "--as", "alpha", "--next", "beta", "--body", "0")
            deadline = time.monotonic() + 60
            while replies(root, conv_id) < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            agent.wait(agent.idle, 60, "idle")
        busy, turn = [], []
        for n in range(wakeups):
            agent.wait(agent.idle, 60, "idle")
            time.sleep(0.3)
            before = replies(root, conv_id)
            start = time.monotonic()
            talkroom(root, "reply", conv_id, "--as", "alpha", "--next", "beta", "--body", str(n))
            got_busy = None
            deadline = start + 60
            while time.monotonic() < deadline:
                now = time.monotonic()
                if got_busy is None and (agent.busy() or _record_busy(agent)):
                    got_busy = now - start
                if replies(root, conv_id) > before:
                    turn.append(time.monotonic() - start)
                    break
                time.sleep(0.02)
            else:
                raise RuntimeError(f"{cli}/{path}: no reply in round {n}")
            busy.append(got_busy if got_busy is not None else turn[-1])
        receipts_path = root / "hosts" / HOST / "deliveries.jsonl"
        receipts = [json.loads(line) for line in receipts_path.read_text().splitlines()]
        delivered = [r for r in receipts if r["outcome"] == "delivered"]
        paths = sorted({str(r.get("path", "typed")) for r in delivered})
        return {
            "cli": cli,
            "path": "+".join(paths),
            "wakeups": wakeups,
            "busy_p50": pct(busy, 0.5),
            "busy_p95": pct(busy, 0.95),
            "turn_p50": pct(turn, 0.5),
            "turn_p95": pct(turn, 0.95),
            "delivered": len(delivered),
            "turns": replies(root, conv_id),
            "not_taken": sum(
                1
                for r in receipts
                if r["outcome"] != "delivered" and not r["outcome"].startswith("deferred")
            ),
        }
    finally:
        if watcher is not None:
            watcher.terminate()
            watcher.wait(timeout=20)
        agent.stop()
        standin.stop()


def _record_busy(agent: clis.Agent) -> bool:
    """Claude Code says it is busy in its session record (its pane may not show it)."""
    if agent.cli != "claude":
        return False
    for record in (agent.home.path / ".claude" / "sessions").glob("*.json"):
        try:
            if json.loads(record.read_text()).get("status") == "busy":
                return True
        except (OSError, ValueError):
            continue
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wakeups", type=int, default=20)
    parser.add_argument("--cli", nargs="+", default=list(clis.CLIS), choices=clis.CLIS)
    args = parser.parse_args()
    if reason := clis.unavailable_reason(args.cli):
        print(f"cannot run: {reason}")
        return 2
    print(
        f"{'cli':7} {'path':6} {'n':>3} {'busy p50':>9} {'p95':>6} {'turn p50':>9} "
        f"{'p95':>6}  delivered/turns"
    )
    for cli in args.cli:
        for path in ("typed", "native") if cli in ("claude", "codex") else ("typed",):
            row = run(cli, path, args.wakeups)
            print(
                f"{cli:7} {row['path']:6} {row['wakeups']:>3} {row['busy_p50']:>8.2f}s "
                f"{row['busy_p95']:>5.2f}s {row['turn_p50']:>8.2f}s {row['turn_p95']:>5.2f}s  "
                f"{row['delivered']}/{row['turns']} (not taken: {row['not_taken']})",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
