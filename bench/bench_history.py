"""Delivery history at scale: the console's start and an HTML export, with a few and with
very many delivery records.

    python bench/bench_history.py [--few N] [--many N] [--convs N] [--repeat N]

Two roots hold the same conversations; their `hosts/<host>/deliveries*.jsonl` hold --few
and --many records from two hosts over the last 90 days, set aside in dated segments the
way the watcher rotates them (core/receipts.py), the newest in `deliveries.jsonl`. One
conversation, active in the last hour, has receipts of its own among them.

  start   the console (its watcher inside): from starting the app to the first frame with
          rows and a transcript, and to the newest receipts in its state; RSS then.
  export  `talkroom export ID --format html -o FILE` as a process: wall time, peak RSS.

Each measure runs in a fresh process, median of --repeat runs; it prints one JSON object
with the ratios (many / few) the issue sets goals for (<= 1.5x).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_console import child_env, make_root, median_of, rss_mb, run_child
from talkroom.core import clock, ops, store
from talkroom.core.model import assignment_id
from talkroom.core.paths import Root
from talkroom.core.receipts import RECEIPTS_FILE, ROTATE_AT

HOSTS = ("alpha", "beta")
DAYS = 90
SIZE = (160, 50)


def make_history(root: Root, records: int, target: str) -> None:
    """`records` receipts over the last DAYS days from two hosts, rotated into segments;
    the target conversation's assignments get theirs, in its own (recent) time."""
    conv = store.load(root.conversation(target))
    now = clock.now()
    own = [(clock.parse_iso(b.at) + 5, b) for b in conv.blocks if b.assigns and b.at.endswith("Z")]
    per_host = records // len(HOSTS)
    for h, host in enumerate(HOSTS):
        folder = root.host_dir(host)
        folder.mkdir(parents=True, exist_ok=True)
        step = DAYS * 86400 / max(1, per_host)
        start = now - DAYS * 86400
        mine = iter(sorted(own, key=lambda x: x[0])) if h == 0 else iter(())
        pending = next(mine, None)
        chunk: list[bytes] = []
        size, first = 0, ""

        def flush(last: str, final: bool, folder: Path = folder) -> None:
            nonlocal chunk, size, first
            if not chunk:
                return
            name = (
                RECEIPTS_FILE
                if final
                else f"deliveries-{first.replace('-', '').replace(':', '')}-"
                f"{last.replace('-', '').replace(':', '')}.jsonl"
            )
            (folder / name).write_bytes(b"".join(chunk))
            chunk, size, first = [], 0, ""

        at = ""
        for i in range(per_host):
            t = start + i * step
            lines = []
            while pending is not None and pending[0] <= t:
                when, block = pending
                lines.append(_line(when, target, assignment_id(block), "ada", 1))
                pending = next(mine, None)
            lines.append(_line(t, f"old-{i % 5000:05d}", f"a{i:012d}", "codex", i % 3))
            for line in lines:
                if size + len(line) > ROTATE_AT:
                    flush(at, False)
                at = clock.iso(t)
                first = first or at
                chunk.append(line)
                size += len(line)
        while pending is not None:  # after the last old one: still the current file
            when, block = pending
            at = clock.iso(when)
            first = first or at
            chunk.append(_line(when, target, assignment_id(block), "ada", 1))
            pending = next(mine, None)
        flush(at, True)


def _line(t: float, conv: str, assignment: str, target: str, kind: int) -> bytes:
    outcome = ("delivered", "deferred:busy", "failed:pane gone")[kind % 3]
    record = {
        "at": clock.iso(t),
        "conversation": conv,
        "assignment": assignment,
        "revision": 3,
        "target": target,
        "pane": "%12",
        "outcome": outcome,
        "latency_ms": 700,
        "typed": kind == 0,
        "path": "typed",
    }
    return (json.dumps(record) + "\n").encode()


def make(path: Path, convs: int, records: int) -> tuple[Root, str]:
    root = make_root(path, convs, 20)
    plan = ops.plan_open(
        root, topic="recent", opener="ada", with_=["linus"], body="let us start", max_turns=80
    )
    target = ops.open_conversation(root, plan, "bench").conv.id
    who = ["linus", "ada"]
    for i in range(40):
        body = f"point {i}: a paragraph with `code` and a list\n\n- one\n- two"
        plan = ops.plan_reply(root, target, author=who[i % 2], next_=[who[(i + 1) % 2]], body=body)
        ops.run(plan, "bench")
    make_history(root, records, target)
    return root, target


async def start(root_dir: str) -> dict[str, float]:
    from talkroom.console.app import TalkroomApp
    from talkroom.console.screens.main import MainScreen
    from talkroom.console.widgets.transcript import BlockView
    from talkroom.core import config

    first: list[float] = []
    handler = MainScreen.on_conversations_changed

    def timed(self: MainScreen, message: object) -> None:
        handler(self, message)  # type: ignore[arg-type]
        if not first and self.listing.count and self.transcript.query(BlockView):
            self.call_after_refresh(lambda: first.append(time.perf_counter()))

    MainScreen.on_conversations_changed = timed  # type: ignore[method-assign]
    began = time.perf_counter()
    app = TalkroomApp(Root(Path(root_dir), "bench"), "bench", config.load(env={}), watch=True)
    async with app.run_test(size=SIZE) as pilot:
        while not first or app.main.state.last_receipt is None:
            await pilot.pause(0.01)
        receipts = time.perf_counter() - began
        while app.watcher is None or app.main.state.problems_pending:
            await pilot.pause(0.05)
        await pilot.pause(2.0)
        memory = rss_mb()
        held = sum(len(v) for v in app.main.state.receipts.values())
    return {
        "first_paint_s": round(first[0] - began, 3),
        "receipts_in_s": round(receipts, 3),
        "rss_mb": round(memory, 1),
        "receipts_held": held,
    }


def export(root_dir: str, conv_id: str) -> dict[str, float]:
    out = Path(root_dir).parent / f"{conv_id}-{os.getpid()}.html"
    began = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "talkroom.cli",
            "--root",
            root_dir,
            "export",
            conv_id,
            "--format",
            "html",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    took = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    text = out.read_text()
    out.unlink()
    return {"export_s": round(took, 3), "peak_rss_mb": round(peak, 1), "bytes": len(text)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--few", type=int, default=1_000)
    parser.add_argument("--many", type=int, default=1_000_000)
    parser.add_argument("--convs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        part, root_dir, *rest = args.child
        measured = asyncio.run(start(root_dir)) if part == "start" else export(root_dir, rest[0])
        print(json.dumps(measured))
        return
    with tempfile.TemporaryDirectory(prefix="tr-bench-history-") as tmp:
        env = child_env(tmp)

        def run(*child: object) -> dict[str, float]:
            return run_child(__file__, env, *child)

        result: dict[str, object] = {}
        figures: dict[str, dict[str, Any]] = {}
        for label, records in (("few", args.few), ("many", args.many)):
            made = time.perf_counter()
            root, target = make(Path(tmp) / label, args.convs, records)
            history = sum(
                p.stat().st_size for h in HOSTS for p in root.host_dir(h).glob("deliveries*")
            )
            segments = sum(len(list(root.host_dir(h).glob("deliveries-*"))) for h in HOSTS)
            figures[label] = {
                "records": records,
                "history_mb": round(history / 2**20, 1),
                "segments": segments,
                "made_s": round(time.perf_counter() - made, 1),
                "start": median_of([run("start", root.path) for _ in range(args.repeat)]),
                "export": median_of([run("export", root.path, target) for _ in range(args.repeat)]),
            }
        few, many = figures["few"], figures["many"]
        result.update(figures)
        result["ratios"] = {
            "start_first_paint": round(
                many["start"]["first_paint_s"] / few["start"]["first_paint_s"], 2
            ),
            "start_receipts_in": round(
                many["start"]["receipts_in_s"] / few["start"]["receipts_in_s"], 2
            ),
            "start_rss": round(many["start"]["rss_mb"] / few["start"]["rss_mb"], 2),
            "export_time": round(many["export"]["export_s"] / few["export"]["export_s"], 2),
            "export_rss": round(many["export"]["peak_rss_mb"] / few["export"]["peak_rss_mb"], 2),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
