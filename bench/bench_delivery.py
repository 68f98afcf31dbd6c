"""Delivery latency and the watcher's idle cost.

    python bench/bench_delivery.py [--deliveries N] [--files N] [--idle SECONDS]

1. Latency: a headless watcher (a real `talkroom --watch-only` process) and a stand-in
   agent in a private tmux server; each round the moderator writes a new assignment
   (`nudge`) and we time write -> the wake-up line visible in the pane (`capture-pane`),
   with filesystem events and with `--poll` (interval 1 s). Reports p50 and p95.
2. Idle CPU: the same watcher over a root with N conversation files, after its first
   scan, measured from /proc/<pid>/stat over a quiet period, as % of one core; and RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from talkroom.core import moderate, ops
from talkroom.core.codec import render
from talkroom.core.model import Block, Conversation
from talkroom.core.paths import Root
from talkroom.watch import registry
from talkroom.watch.tmux import PaneRef

HOST = "bench"


def tmux(sock: str, *args: str) -> str:
    return subprocess.run(
        ["tmux", "-S", sock, *args], capture_output=True, text=True, check=True
    ).stdout


def start_watcher(
    root: Root, poll: bool, interval: float = 1.0, host: str = HOST
) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-m",
        "talkroom",
        "--root",
        str(root.path),
        "--host",
        host,
        "--watch-only",
        "--json",
        "--interval",
        str(interval),
    ]
    if poll:
        args.append("--poll")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    while True:  # wait for its first look at the root
        line = proc.stdout.readline()
        if not line or json.loads(line)["event"] == "ready":
            break
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def latency(tmp: Path, poll: bool, rounds: int) -> dict[str, float]:
    root = Root(tmp / f"latency-{'poll' if poll else 'events'}" / "talks", "bench")
    sock = str(tmp / f"s{int(poll)}")
    tmux(
        sock,
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "b",
        "-x",
        "150",
        "-y",
        "40",
        "sleep 100000",
    )
    try:
        ref = listener(sock)
        pane = ref.pane_id
        registry.register(root, HOST, "agent", "claude", ref)
        plan = ops.plan_open(
            root,
            topic="latency",
            opener="moderator",
            with_=["agent", "x"],
            next_=["x"],
            max_turns=1000,
            moderator="bench",
        )
        conv_id = ops.open_conversation(root, plan, HOST).conv.id
        watcher = start_watcher(root, poll)
        samples = []
        try:
            for _ in range(rounds):
                seen = count_lines(sock, pane)
                plan = moderate.plan_moderate(
                    root,
                    conv_id,
                    "next",
                    moderator="bench",
                    next_=["agent"] if _ % 2 == 0 else ["agent", "x"],
                )
                ops.run(plan, HOST)
                written = time.monotonic()
                while count_lines(sock, pane) == seen:
                    time.sleep(0.005)
                samples.append(time.monotonic() - written)
                time.sleep(1.2)  # let the submit and its check finish
        finally:
            stop(watcher)
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], check=False)
    return {
        "p50_s": round(statistics.median(samples), 3),
        "p95_s": round(percentile(samples, 95), 3),
        "n": len(samples),
    }


def listener(sock: str) -> PaneRef:
    """A stand-in under another name in a new window: it shows each line, never replies."""
    pane = tmux(
        sock,
        "new-window",
        "-d",
        "-P",
        "-F",
        "#{pane_id}",
        "-t",
        "b:",
        f"{sys.executable} -m talkroom.demo.agent --name listener",
    ).strip()
    while not tmux(sock, "capture-pane", "-p", "-t", pane).rstrip().endswith("❯"):
        time.sleep(0.05)
    pid, pane_pid = tmux(sock, "display-message", "-p", "-t", pane, "#{pid} #{pane_pid}").split()
    return PaneRef(sock, int(pid), pane, int(pane_pid))


def count_lines(sock: str, pane: str) -> int:
    return tmux(sock, "capture-pane", "-p", "-S", "-10000", "-t", pane).count(
        "[talkroom] your turn"
    )


def make_root(path: Path, files: int) -> Root:
    root = Root(path, "bench")
    root.conversations.mkdir(parents=True)
    for i in range(files):
        header = {
            "topic": f"topic {i}",
            "opened by": "a",
            "participants": "a, b",
            "status": "CLOSED" if i % 3 else "IN-PROGRESS",
            "turns": "3",
            "max turns": "20",
            "next": "b",
            "revision": "3",
            "opened at": "2026-01-01T00:00:00Z",
            "updated at": "2026-01-01T00:00:00Z",
        }
        blocks = [
            Block(
                "Reply" if t else "Opening",
                "a" if t % 2 == 0 else "b",
                "2026-01-01T00:00:00Z",
                f"turn {t} of conversation {i}. " * 8,
                f"0000000{t}-{i:08d}",
                turn=t + 1,
                budget=20,
                next=["b" if t % 2 == 0 else "a"],
            )
            for t in range(3)
        ]
        conv = Conversation(f"c{i:05d}", header, blocks)
        (root.conversations / f"c{i:05d}.md").write_bytes(render(conv))
    return root


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle(tmp: Path, files: int, poll: bool, seconds: float) -> dict[str, float]:
    root = make_root(tmp / f"idle-{'poll' if poll else 'events'}", files)
    start = time.monotonic()
    watcher = start_watcher(root, poll)
    first_scan = time.monotonic() - start
    try:
        time.sleep(2.0)
        before, t0 = cpu_seconds(watcher.pid), time.monotonic()
        time.sleep(seconds)
        used, wall = cpu_seconds(watcher.pid) - before, time.monotonic() - t0
        rss = rss_mb(watcher.pid)
    finally:
        stop(watcher)
    return {
        "files": files,
        "cpu_percent": round(100 * used / wall, 2),
        "rss_mb": round(rss, 1),
        "first_scan_s": round(first_scan, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument(
        "--idle",
        type=float,
        default=65.0,
        help="seconds to measure (over 2 forced re-reads at 30 s)",
    )
    parser.add_argument("--only", choices=["latency", "idle"], help="run one half")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("bench_delivery needs tmux")
    tmp = Path(tempfile.mkdtemp(prefix="tr-bench-", dir="/tmp"))
    os.environ.setdefault("TALKROOM_STATE_DIR", str(tmp / "state"))
    os.environ["TALKROOM_CONFIG"] = str(tmp / "no-config.yaml")
    try:
        result = {}
        if args.only != "idle":
            result["latency_events"] = latency(tmp, False, args.deliveries)
            result["latency_polling_1s"] = latency(tmp, True, args.deliveries)
        if args.only != "latency":
            result["idle_events"] = idle(tmp, args.files, False, args.idle)
            result["idle_polling_1s"] = idle(tmp, args.files, True, args.idle)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
