"""The console's speed and memory, headless (Textual's test driver, a real app otherwise).

    python bench/bench_console.py [--convs N] [--small N] [--turns N] [--long N]
                                  [--writes N] [--idle S] [--live N] [--seconds S]
                                  [--repeat N] [--only PART,...]

Each part runs the console in a fresh process (its memory is its own), this host's
watcher inside it as in use (except `long` and `write`, as before), on a root made here:

  paint   N conversations x T turns (--convs, and --small for the ratio): from starting
          the app to the first frame with rows listed and the newest conversation's
          transcript (`first_paint_s`), and to the list holding all N (`all_listed_s`);
          RSS once all are listed and the watcher has read them. Median of --repeat runs.
  idle    the console on --convs conversations, settled, then --idle seconds of nothing:
          its process CPU time (every thread) as a share of one core.
  long    a conversation of --long turns: select it -> transcript shown; scroll to its
          top (earlier blocks loaded), without rendering every turn.
  write   a turn written to the open conversation -> its block on screen, p50 and p95
          over --writes writes (local disk, filesystem events; no watcher).
  live    --live conversations each getting a turn a second for --seconds seconds from
          another process while one is open: write -> block on screen of the open one,
          p50/p95 over --repeat runs pooled, against the same with only the open one
          written (quiet); then, 5 s after writing stops, how many conversations the list
          still shows behind their file (the backlog).

It prints one JSON object: each part's figures and the ratios the issue sets goals for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import console_live
from talkroom.core import moderate, ops
from talkroom.core.codec import render
from talkroom.core.model import Block, Conversation
from talkroom.core.paths import Root

SIZE = (160, 50)


def make_root(path: Path, convs: int, turns: int, long: int = 0, budget: int = 0) -> Root:
    root = Root(path, "bench")
    root.conversations.mkdir(parents=True)
    body = (
        "A paragraph of a typical reply, with `code`, a **point** and a list:\n\n"
        "- first item\n- second item\n\nWhat do you think?"
    )
    for i in range(convs):
        n = long if (long and i == 0) else turns
        limit = budget or n + 10
        blocks = [
            Block(
                "Reply" if t else "Opening",
                "ada" if t % 2 == 0 else "linus",
                f"2026-01-01T{(t // 3600) % 24:02d}:{(t // 60) % 60:02d}:{t % 60:02d}Z",
                f"{body} ({t})",
                f"{t:010d}-{i:08d}",
                turn=t + 1,
                budget=limit,
                next=["linus" if t % 2 == 0 else "ada"],
            )
            for t in range(n)
        ]
        stamp = f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
        header = {
            "topic": f"conversation {i}",
            "opened by": "ada",
            "participants": "ada, linus",
            "status": "IN-PROGRESS",
            "turns": str(n),
            "max turns": str(limit),
            "next": blocks[-1].next[0],  # type: ignore[index]
            "revision": str(n),
            "opened at": "2026-01-01T00:00:00Z",
            "updated at": stamp,
        }
        name = "long" if (long and i == 0) else f"c{i:05d}"
        (root.conversations / f"{name}.md").write_bytes(render(Conversation(name, header, blocks)))
    return root


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _app(root_dir: str, watch: bool):  # type: ignore[no-untyped-def]
    from talkroom.console.app import TalkroomApp
    from talkroom.core import config

    return TalkroomApp(Root(Path(root_dir), "bench"), "bench", config.load(env={}), watch=watch)


def _painted(convs: int) -> tuple[list[float], list[float]]:
    """Stamps of the frame after the first rows and transcript, and after all N rows."""
    from talkroom.console.screens.main import MainScreen
    from talkroom.console.widgets.transcript import BlockView

    first: list[float] = []
    full: list[float] = []
    handler = MainScreen.on_conversations_changed

    def timed(self: MainScreen, message: object) -> None:
        handler(self, message)  # type: ignore[arg-type]
        if not first and self.listing.count and self.transcript.query(BlockView):
            self.call_after_refresh(lambda: first.append(time.perf_counter()))
        if not full and self.listing.count == convs:
            self.call_after_refresh(lambda: full.append(time.perf_counter()))

    MainScreen.on_conversations_changed = timed  # type: ignore[method-assign]
    return first, full


async def _settled(app, pilot, convs: int) -> None:  # type: ignore[no-untyped-def]
    """Until every file is listed, the watcher has read them all, the first load's
    problems are worked out and the tailer has read the journals."""
    main = app.main
    while not (
        main.listing.count == convs
        and not main.state.problems_pending
        and (app.watcher is None or len(app.watcher.tracker.snapshots) == convs)
        and not app.tailer._unchecked
        and not app.tailer.tracker.behind
    ):
        await pilot.pause(0.05)
    await pilot.pause(1.0)


async def first_paint(root_dir: str, convs: int) -> dict[str, float]:
    first, full = _painted(convs)
    start = time.perf_counter()
    app = _app(root_dir, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        while not full:
            await pilot.pause(0.01)
        await _settled(app, pilot, convs)
        memory = rss_mb()
    return {
        "conversations": convs,
        "first_paint_s": round(first[0] - start, 3),
        "all_listed_s": round(full[0] - start, 3),
        "rss_mb": round(memory, 1),
    }


async def idle(root_dir: str, convs: int, seconds: float) -> dict[str, float]:
    app = _app(root_dir, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await _settled(app, pilot, convs)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)  # the app runs on this loop; nothing happens
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "conversations": convs,
        "seconds": round(wall, 1),
        "cpu_s": round(cpu, 3),
        "cpu_percent_of_a_core": round(100 * cpu / wall, 2),
    }


async def long_conversation(root_dir: str, turns: int) -> dict[str, float]:
    from talkroom.console.widgets.transcript import BlockView, Transcript

    app = _app(root_dir, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        listing = app.main.listing
        while "long" not in listing or listing.count < 2:
            await pilot.pause(0.01)
        other = next(i for i in listing.ids if i != "long")
        listing.select_id(other)
        await pilot.pause(0.2)
        transcript = app.query_one(Transcript)
        start = time.perf_counter()
        listing.select_id("long")
        while (
            transcript.conv is None
            or transcript.conv.id != "long"
            or not transcript.query(BlockView)
        ):
            await pilot.pause(0)
        await pilot.pause(0)
        opened = time.perf_counter() - start
        mounted = len(transcript.query(BlockView))
        start = time.perf_counter()
        transcript.scroll_home(animate=False)
        await pilot.pause(0)
        await pilot.pause(0)
        scrolled = time.perf_counter() - start
        loaded = len(transcript.query(BlockView))
    return {
        "turns": turns,
        "open_s": round(opened, 3),
        "blocks_mounted": mounted,
        "scroll_to_top_s": round(scrolled, 3),
        "blocks_after_scroll": loaded,
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    if not samples:
        return {"p50_s": float("nan"), "p95_s": float("nan")}
    return {
        "p50_s": round(statistics.median(samples), 3),
        "p95_s": round(samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))], 3),
    }


async def write_to_screen(root_dir: str, writes: int) -> dict[str, float]:
    from talkroom.console.widgets.transcript import BlockView, Transcript

    root = Root(Path(root_dir), "bench")
    app = _app(root_dir, watch=False)
    samples = []
    async with app.run_test(size=SIZE) as pilot:
        listing = app.main.listing
        while not listing.count:
            await pilot.pause(0.01)
        target = listing.ids[0]
        listing.select_id(target)
        await pilot.pause(0.3)
        transcript = app.query_one(Transcript)
        for i in range(writes):
            plan = moderate.plan_moderate(
                root, target, "inject", moderator="bench", body=f"measure {i}"
            )
            before = len(transcript.query(BlockView))
            await asyncio.to_thread(ops.run, plan, "bench")
            written = time.perf_counter()
            while len(transcript.query(BlockView)) == before:
                await pilot.pause(0)
            await pilot.pause(0)  # one refresh: the block is on screen
            samples.append(time.perf_counter() - written)
            await asyncio.sleep(0.05)
    return {"writes": writes, **_percentiles(samples)}


def child_env(tmp: str) -> dict[str, str]:
    """The environment of a bench's child process: its own state, no config, host `bench`."""
    return {
        **os.environ,
        "TALKROOM_STATE_DIR": f"{tmp}/state",
        "TALKROOM_CONFIG": f"{tmp}/none.yaml",
        "TALKROOM_HOST": "bench",
    }


def run_child(script: str, env: dict[str, str], *args: object) -> dict[str, Any]:
    """Run `script --child ARGS` in a fresh process; its last line of output, as JSON."""
    out = subprocess.run(
        [sys.executable, script, "--child", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    got: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over repeated runs."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def child(args: list[str]) -> None:
    part, root_dir, *rest = args
    if part == "writer":
        console_live.writer(root_dir, int(rest[0]), float(rest[1]), rest[2])
        return
    n = int(rest[0])
    if part == "paint":
        result: object = asyncio.run(first_paint(root_dir, n))
    elif part == "idle":
        result = asyncio.run(idle(root_dir, n, float(rest[1])))
    elif part == "long":
        result = asyncio.run(long_conversation(root_dir, n))
    elif part == "write":
        result = asyncio.run(write_to_screen(root_dir, n))
    else:
        result = asyncio.run(console_live.live_view(root_dir, n, float(rest[1])))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convs", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--long", type=int, default=5000)
    parser.add_argument("--writes", type=int, default=40)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--live", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="paint,idle,long,write,live")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    parts = set(args.only.split(","))
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="tr-bench-console-") as tmp:
        env = child_env(tmp)

        def run(*child_args: object) -> dict[str, Any]:
            return run_child(__file__, env, *child_args)

        if parts & {"paint", "idle"}:
            many = make_root(Path(tmp) / "many", args.convs, args.turns)
            few = make_root(Path(tmp) / "few", args.small, args.turns)
        if "paint" in parts:
            small = median_of([run("paint", few.path, args.small) for _ in range(args.repeat)])
            big = median_of([run("paint", many.path, args.convs) for _ in range(args.repeat)])
            result["first_paint"] = {
                "small": small,
                "big": big,
                "first_paint_ratio": round(big["first_paint_s"] / small["first_paint_s"], 2),
                "all_listed_ratio": round(big["all_listed_s"] / small["all_listed_s"], 2),
            }
        if "idle" in parts:
            result["idle"] = run("idle", many.path, args.convs, args.idle)
        if "long" in parts:
            long = make_root(Path(tmp) / "long", 3, args.turns, long=args.long)
            result["long_conversation"] = run("long", long.path, args.long)
        if "write" in parts:
            three = make_root(Path(tmp) / "small", 3, args.turns)
            result["write_to_screen"] = run("write", three.path, args.writes)
        if "live" in parts:
            budget = int(args.seconds) + 10 + args.turns
            live: dict[str, Any] = {}
            for label, written in (("quiet", 1), ("burst", args.live)):
                runs = []
                for k in range(args.repeat):  # a fresh root and console each time
                    made = make_root(
                        Path(tmp) / f"{label}{k}", args.live, args.turns, budget=budget
                    )
                    runs.append(run("live", made.path, written, args.seconds))
                pooled = [x for r in runs for x in r.pop("samples")]
                live[label] = {
                    "runs": runs,
                    "turns_shown": len(pooled),
                    **_percentiles(pooled),
                    "behind_5s_after": max(r["behind_5s_after"] for r in runs),
                    "missing_5s_after": max(r["open_turns_missing_5s_after"] for r in runs),
                }
            quiet, burst = live["quiet"], live["burst"]
            live["p95_ratio"] = round(burst["p95_s"] / quiet["p95_s"], 2)
            result["live"] = live
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
