"""A reply into a long conversation against a reply into a short one.

    python bench/bench_long_reply.py [--runs N] [--turns N]

Two conversations in one temporary root: 20 turns, and --turns (20,000) turns of typical
length (about 3 MB). Each gets a first reply that is not measured (it writes the journal a
file rendered here lacks), then `talkroom reply` processes alternate between the two,
interleaved so machine noise hits both alike. Reports the medians and their ratio (goal:
<= 2.0: a reply costs close to rewriting the file, not parsing it).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import talkroom
from talkroom.core import codec, ops
from talkroom.core.model import Block, Conversation
from talkroom.core.paths import Root

BODY = "A reply of typical length: " + "words " * 20


def grown(root: Root, turns: int) -> str:
    """A conversation of `turns` turns by a and b in turn, b to speak; its id."""
    plan = ops.plan_open(
        root, topic=f"{turns} turns", opener="a", with_=["b"], body="go", max_turns=100_000
    )
    conv = ops.open_conversation(root, plan, "bench").conv
    blocks = list(conv.blocks)
    for turn in range(2, turns + 1):
        who, other = ("b", "a") if turn % 2 == 0 else ("a", "b")
        blocks.append(
            Block(
                "Reply",
                who,
                "2026-01-01T00:00:00Z",
                BODY,
                f"01jd0m7c2p-{turn:08d}",
                turn=turn,
                budget=100_000,
                next=[other],
            )
        )
    header = {
        **conv.header,
        "turns": str(turns),
        "revision": str(turns),
        "next": "b" if turns % 2 else "a",
    }
    assert conv.path is not None
    conv.path.write_bytes(codec.render(Conversation(conv.id, header, blocks, conv.preamble)))
    return conv.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="replies into each (>= 11)")
    parser.add_argument("--turns", type=int, default=20_000, help="the long one's turns")
    args = parser.parse_args()
    compileall.compile_dir(Path(talkroom.__file__).parent, quiet=1)  # as pip install does
    script = Path(sys.executable).with_name("talkroom")
    env = {**os.environ, "TALKROOM_HOST": "bench"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Root(Path(tmp) / "talks", "--root")
        ids = {"short": grown(root, 20), "long": grown(root, args.turns)}
        speaker = {
            name: "b" if turns % 2 else "a" for name, turns in (("short", 20), ("long", args.turns))
        }
        times: dict[str, list[float]] = {"short": [], "long": []}
        size = root.conversation(ids["long"]).stat().st_size
        for n in range(max(args.runs, 11) + 1):
            for name, conv_id in ids.items():
                who = speaker[name]
                other = "a" if who == "b" else "b"
                start = time.perf_counter()
                subprocess.run(
                    [
                        str(script),
                        "--root",
                        str(root.path),
                        "reply",
                        conv_id,
                        "--as",
                        who,
                        "--next",
                        other,
                        "--body",
                        BODY,
                    ],
                    stdout=subprocess.DEVNULL,
                    check=True,
                    env=env,
                )
                if n:  # the first wrote the journal
                    times[name].append(time.perf_counter() - start)
                speaker[name] = other
    short = statistics.median(times["short"]) * 1000
    long = statistics.median(times["long"]) * 1000
    result = {
        "runs": len(times["long"]),
        "turns": args.turns,
        "bytes": size,
        "short_ms": round(short, 1),
        "long_ms": round(long, 1),
        "ratio": round(long / short, 2),
        "goal": 2.0,
    }
    print(json.dumps(result))
    print(
        f"reply into 20 turns {short:.1f} ms, into {args.turns} turns ({size / 1e6:.1f} MB) "
        f"{long:.1f} ms: ratio {long / short:.2f} (goal <= 2.0)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
