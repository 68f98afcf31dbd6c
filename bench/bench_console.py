"""The console's speed and memory, headless (Textual's test driver, a real app otherwise).

    python bench/bench_console.py [--convs N] [--turns N] [--long N] [--writes N]

1. First paint: N conversations x T turns on disk; time from starting the app (watcher
   inside) to the list holding all N and the newest one's transcript on screen; RSS then.
2. A conversation of --long turns: time to open it (select -> transcript shown) and to
   scroll to its top (loading earlier blocks), without rendering every turn.
3. A turn written to the open conversation -> its block on screen, p50 and p95 over
   --writes writes (local disk, filesystem events).
Each part runs in a fresh process so the memory figure is the console's own.
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

from talkroom.core import moderate, ops
from talkroom.core.codec import render
from talkroom.core.model import Block, Conversation
from talkroom.core.paths import Root


def make_root(path: Path, convs: int, turns: int, long: int = 0) -> Root:
    root = Root(path, "bench")
    root.conversations.mkdir(parents=True)
    body = (
        "A paragraph of a typical reply, with `code`, a **point** and a list:\n\n"
        "- first item\n- second item\n\nWhat do you think?"
    )
    for i in range(convs):
        n = long if (long and i == 0) else turns
        blocks = [
            Block(
                "Reply" if t else "Opening",
                "ada" if t % 2 == 0 else "linus",
                f"2026-01-01T{(t // 3600) % 24:02d}:{(t // 60) % 60:02d}:{t % 60:02d}Z",
                f"{body} ({t})",
                f"{t:010d}-{i:08d}",
                turn=t + 1,
                budget=n + 10,
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
            "max turns": str(n + 10),
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


async def first_paint(root_dir: str, convs: int) -> dict[str, float]:
    from talkroom.console.app import TalkroomApp
    from talkroom.console.widgets.conversation_list import ConversationList
    from talkroom.console.widgets.transcript import BlockView, Transcript
    from talkroom.core import config

    painted_at: list[float] = []
    handler = TalkroomApp.on_conversations_changed

    def timed(self: TalkroomApp, message: object) -> None:
        handler(self, message)  # type: ignore[arg-type]
        if not painted_at and len(self.listing._ids) == convs:
            # The frame after the list and the transcript were filled: first paint.
            self.call_after_refresh(lambda: painted_at.append(time.perf_counter()))

    TalkroomApp.on_conversations_changed = timed  # type: ignore[method-assign]
    start = time.perf_counter()
    app = TalkroomApp(Root(Path(root_dir), "bench"), "bench", config.load(env={}), watch=True)
    async with app.run_test(size=(160, 50)) as pilot:
        while not painted_at:
            await pilot.pause(0.2)
        assert len(app.query_one(ConversationList)._ids) == convs
        assert app.query_one(Transcript).query(BlockView)
        painted = painted_at[0] - start
        await pilot.pause(2.0)  # the watcher's first read, then memory
        memory = rss_mb()
    return {"conversations": convs, "first_paint_s": round(painted, 3), "rss_mb": round(memory, 1)}


async def long_conversation(root_dir: str, turns: int) -> dict[str, float]:
    from talkroom.console.app import TalkroomApp
    from talkroom.console.widgets.conversation_list import ConversationList
    from talkroom.console.widgets.transcript import BlockView, Transcript
    from talkroom.core import config

    app = TalkroomApp(Root(Path(root_dir), "bench"), "bench", config.load(env={}), watch=False)
    async with app.run_test(size=(160, 50)) as pilot:
        listing = app.query_one(ConversationList)
        while "long" not in listing._ids or len(listing._ids) < 2:
            await pilot.pause(0.01)
        other = next(i for i in listing._ids if i != "long")
        listing.highlighted = listing._ids.index(other)
        await pilot.pause(0.2)
        transcript = app.query_one(Transcript)
        start = time.perf_counter()
        listing.highlighted = listing._ids.index("long")
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


async def write_to_screen(root_dir: str, writes: int) -> dict[str, float]:
    from talkroom.console.app import TalkroomApp
    from talkroom.console.widgets.conversation_list import ConversationList
    from talkroom.console.widgets.transcript import BlockView, Transcript
    from talkroom.core import config

    root = Root(Path(root_dir), "bench")
    app = TalkroomApp(root, "bench", config.load(env={}), watch=False)
    samples = []
    async with app.run_test(size=(160, 50)) as pilot:
        listing = app.query_one(ConversationList)
        while not listing._ids:
            await pilot.pause(0.01)
        target = listing._ids[0]
        listing.highlighted = 0
        await pilot.pause(0.3)
        transcript = app.query_one(Transcript)
        for i in range(writes):
            who = "ada" if i % 2 == 0 else "linus"
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
            del who
            await asyncio.sleep(0.05)
    samples.sort()
    return {
        "writes": writes,
        "p50_s": round(statistics.median(samples), 3),
        "p95_s": round(samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))], 3),
    }


def child(part: str, root_dir: str, n: int) -> None:
    func = {"paint": first_paint, "long": long_conversation, "write": write_to_screen}[part]
    print(json.dumps(asyncio.run(func(root_dir, n))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convs", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--long", type=int, default=5000)
    parser.add_argument("--writes", type=int, default=40)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="tr-bench-console-") as tmp:
        env = {
            **os.environ,
            "TALKROOM_STATE_DIR": f"{tmp}/state",
            "TALKROOM_CONFIG": f"{tmp}/none.yaml",
            "TALKROOM_HOST": "bench",
        }
        many = make_root(Path(tmp) / "many", args.convs, args.turns)
        long = make_root(Path(tmp) / "long", 3, args.turns, long=args.long)
        small = make_root(Path(tmp) / "small", 3, args.turns)

        def run(part: str, root: Root, n: int) -> dict[str, float]:
            out = subprocess.run(
                [sys.executable, __file__, "--child", part, str(root.path), str(n)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            return json.loads(out.stdout.strip().splitlines()[-1])

        result = {
            "first_paint": run("paint", many, args.convs),
            "long_conversation": run("long", long, args.long),
            "write_to_screen": run("write", small, args.writes),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
