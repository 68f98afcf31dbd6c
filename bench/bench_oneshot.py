"""One-shot command sessions: from the turn that names the participant being written to
its reply in the file, minus the command's own run time.

    python bench/bench_oneshot.py [--rounds N]

A real headless watcher (`talkroom --watch-only`) and a plain Python script registered
with `talkroom register beta --command ...`. Each round the moderator names beta next
(written in this process through the one write path); we time write -> beta's reply in
the file (the file polled every 2 ms).

- `--reply-from stdout`: the script prints a line; the watcher writes it as beta's turn.
  Overhead = write -> reply in the file, minus the run time the watcher measured (spawn
  to exit, `run_ms` in the receipt): noticing the write, reading it, recording the
  intent (fsync), starting the process, writing the turn.
- replying itself (`talkroom reply`, which lands before the command exits): write -> the
  script's first line, minus the same interval when the script is started directly
  (Python's own start-up), is what the watcher adds before the agent runs.

Both with filesystem events and with polling every 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from talkroom.core import moderate, ops
from talkroom.core.paths import Root
from talkroom.core.receipts import receipts_path
from talkroom.core.store import Reader

HOST = "bench"
PARTICIPANT = """\
import os, re, shlex, subprocess, sys, time
started = time.monotonic()
with open(os.environ["BENCH_LOG"], "a") as log:
    log.write(f"{started}\\n")
if sys.argv[1] == "stdout":
    print("ok")
else:
    words = shlex.split(re.search(r"talkroom reply [^\\n]*", sys.argv[2]).group(0))
    subprocess.run([os.environ["BENCH_TALKROOM"], *words[1:], "--body", "ok"], check=True)
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_watcher(root: Root, poll: bool, env: dict[str, str]) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "talkroom", "--root", str(root.path), "--host", HOST]
    args += ["--watch-only", "--json", "--interval", "1"] + (["--poll"] if poll else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    while True:  # wait for its first look at the root
        line = proc.stdout.readline()
        if not line or json.loads(line)["event"] == "ready":
            return proc


def replies(reader: Reader, root: Root, conv_id: str) -> int:
    conv = reader.poll(root.conversation(conv_id)).conv
    return sum(1 for b in conv.blocks if b.author == "beta") if conv is not None else 0


def receipts(root: Root) -> list[dict[str, object]]:
    path = receipts_path(root, HOST)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def starts(log: Path) -> list[float]:
    return [float(x) for x in log.read_text().split()] if log.exists() else []


def measure(tmp: Path, mode: str, poll: bool, rounds: int) -> dict[str, list[float]]:
    """Rounds of: name beta next, wait for its reply; the samples."""
    folder = tmp / f"{mode}-{'poll' if poll else 'events'}"
    root = Root(folder / "talks", "bench")
    script = folder / "participant.py"
    folder.mkdir(parents=True)
    script.write_text(PARTICIPANT)
    log = folder / "starts.log"
    talkroom = str(Path(sys.executable).with_name("talkroom"))
    env = {**os.environ, "TALKROOM_STATE_DIR": str(folder / "state"), "BENCH_LOG": str(log)}
    env["BENCH_TALKROOM"] = talkroom
    register = [talkroom, "--root", str(root.path), "--host", HOST, "register", "beta"]
    command = shlex.join([sys.executable, str(script), mode])
    extra = ["--reply-from", "stdout"] if mode == "stdout" else []
    subprocess.run(
        [*register, "--command", command, *extra], env=env, check=True, stdout=subprocess.DEVNULL
    )
    plan = ops.plan_open(
        root, topic="bench", opener="moderator", with_=["beta", "x"], next_=["x"],
        max_turns=1000, moderator="bench",
    )  # fmt: skip
    conv_id = ops.open_conversation(root, plan, HOST).conv.id
    watcher = start_watcher(root, poll, env)
    reader = Reader()
    totals: list[float] = []
    overheads: list[float] = []
    runs: list[float] = []
    to_start: list[float] = []
    try:
        for _ in range(rounds):
            seen = replies(reader, root, conv_id)
            plan = moderate.plan_moderate(root, conv_id, "next", moderator="bench", next_=["beta"])
            written = time.monotonic()  # before the write: the whole write counts against us
            ops.run(plan, HOST)
            while replies(reader, root, conv_id) == seen:
                time.sleep(0.002)
            landed = time.monotonic()
            while len(receipts(root)) < len(totals) + 1:  # its outcome, with run_ms
                time.sleep(0.01)
            receipt = receipts(root)[-1]
            assert receipt["outcome"] == "delivered", receipt
            run = int(str(receipt["run_ms"])) / 1000
            totals.append(landed - written)
            runs.append(run)
            overheads.append(landed - written - run)
            to_start.append(starts(log)[-1] - written)
            # Polling: a write at a random moment of the watcher's interval, or every
            # round would fall at the same point of it.
            time.sleep(0.3 + (random.random() if poll else 0.0))
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=30)
    return {
        "total": totals,
        "run": runs,
        "overhead": overheads,
        "to_start": to_start,
    }


def python_start(tmp: Path, rounds: int) -> list[float]:
    """Spawn -> the participant's first line, when started directly (no watcher)."""
    script = tmp / "baseline.py"
    script.write_text(PARTICIPANT)
    log = tmp / "baseline.log"
    env = {**os.environ, "BENCH_LOG": str(log)}
    out = []
    for _ in range(rounds):
        before = time.monotonic()
        subprocess.run(
            [sys.executable, str(script), "stdout"], env=env, stdout=subprocess.DEVNULL, check=True
        )
        out.append(starts(log)[-1] - before)
    return out


def p(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.3f} s, p95 {percentile(values, 95):.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-oneshot-") as name:
        tmp = Path(name)
        start = python_start(tmp, args.rounds)
        print(f"python start-up (spawn -> first line, no watcher): {p(start)}")
        for poll in (False, True):
            how = "polling every 1 s" if poll else "filesystem events"
            stdout = measure(tmp, "stdout", poll, args.rounds)
            print(
                f"{how}, --reply-from stdout: write -> reply in file {p(stdout['total'])}; "
                f"command's run {p(stdout['run'])}; overhead {p(stdout['overhead'])}"
            )
            agent = measure(tmp, "agent", poll, args.rounds)
            added = [s - statistics.median(start) for s in agent["to_start"]]
            print(
                f"{how}, replying itself: write -> reply in file {p(agent['total'])}; "
                f"write -> first line {p(agent['to_start'])}; "
                f"minus python start-up {p(added)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
