"""bench_console.py's live part: many conversations written at once from another
process while the console shows one of them (run by bench_console.py, not alone)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from talkroom.core import ops
from talkroom.core.paths import Root

MARK = "bench-turn"


def writer(root_dir: str, live: int, seconds: float, log: str) -> None:
    """Give each of the first `live` conversations a turn a second for `seconds`; log
    `id seq wall-time` once each write has landed."""
    root = Root(Path(root_dir), "bench")
    ids = [f"c{i:05d}" for i in range(live)]
    nxt = {}
    for conv_id in ids:
        text = (root.conversations / f"{conv_id}.md").read_text()
        nxt[conv_id] = "linus" if "\nnext: linus\n" in text else "ada"
    start = time.time()
    with open(log, "a", encoding="utf-8") as out:
        seq = 0
        while time.time() - start < seconds:
            for k, conv_id in enumerate(ids):
                due = start + seq + k / live  # spread evenly over the second
                time.sleep(max(0.0, due - time.time()))
                author = nxt[conv_id]
                other = "ada" if author == "linus" else "linus"
                plan = ops.plan_reply(
                    root, conv_id, author=author, next_=[other], body=f"{MARK} {seq} of {conv_id}"
                )
                ops.run(plan, "bench-writer")
                nxt[conv_id] = other
                out.write(f"{conv_id} {seq} {time.time():.6f}\n")
            out.flush()
            seq += 1


async def live_view(root_dir: str, live: int, seconds: float) -> dict[str, object]:
    from bench import bench_console
    from bench.bench_console import SIZE, _app, _percentiles, _settled
    from talkroom.console.widgets.transcript import BlockView
    from talkroom.core import store

    shown: dict[int, float] = {}
    mounted = BlockView.on_mount if hasattr(BlockView, "on_mount") else None

    def on_mount(self: BlockView) -> None:
        if mounted is not None:
            mounted(self)
        body = self.block.body
        if body.startswith(MARK) and body.endswith(" of c00000"):
            seq = int(body.split()[1])
            self.call_after_refresh(lambda: shown.setdefault(seq, time.time()))

    BlockView.on_mount = on_mount  # type: ignore[attr-defined]
    root = Root(Path(root_dir), "bench")
    app = _app(root_dir, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        total = len(store.conversation_files(root.conversations))
        await _settled(app, pilot, total)
        app.main.go_to("c00000")
        await pilot.pause(0.5)
        log = f"{root_dir}/writes-{live}.log"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            bench_console.__file__,
            "--child",
            "writer",
            root_dir,
            str(live),
            str(seconds),
            log,
        )
        await proc.wait()
        stopped = time.time()
        await asyncio.sleep(5.0)
        behind = []
        for conv_id in [f"c{i:05d}" for i in range(live)]:
            on_disk = store.load(root.conversation(conv_id)).revision
            row = app.main.listing.row(conv_id)
            listed = row.conv.revision if row is not None and row.conv is not None else -1
            if listed < on_disk:
                behind.append(conv_id)
        transcript = app.main.transcript
        last_shown = max(shown) if shown else -1
    written: dict[int, float] = {}
    count = 0
    for line in Path(log).read_text().splitlines():
        conv_id, seq, at = line.split()
        count += 1
        if conv_id == "c00000":
            written[int(seq)] = float(at)
    samples = [shown[s] - written[s] for s in written if s in shown]
    return {
        "live": live,
        "seconds": seconds,
        "writes": count,
        "writes_per_s": round(count / max(0.001, stopped - min(written.values())), 1),
        "open_turns_written": len(written),
        "open_turns_shown": len(samples),
        **_percentiles(samples),
        "samples": [round(x, 4) for x in samples],
        "behind_5s_after": len(behind),
        "open_turns_missing_5s_after": len([s for s in written if s > last_shown]),
        "transcript_blocks": len(transcript.conv.blocks) if transcript.conv else 0,
    }
