"""A reply through `talkroom mcp`'s tool call against `talkroom reply` as a process, and how
soon `wait_for_turn` returns after the write that names its agent.

    python bench/bench_mcp.py [--runs N] [--wakes N]

One conversation in a temporary root between a (a real `talkroom mcp` server process,
driven by the MCP SDK's own client over stdio) and b. Replies: a's tool call (request to
result, at the client) and b's `talkroom reply` (the console script, start to exit) take
turns, so machine noise hits both alike; goal: the tool call at most half the process's
time. Wakes: a waits with `wait_for_turn`, b's reply is written in this process through the
core's write path, and the latency runs from the start of that write to the wait's result
reaching the client; goal <= 0.3 s (local disk, filesystem events).
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

import anyio
import anyio.to_thread
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

import talkroom
from talkroom.core import turns
from talkroom.core.paths import Root

BODY = "A reply of typical length: " + "words " * 60


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(root: Path, runs: int, wakes: int) -> dict[str, object]:
    """Run both measurements against a fresh conversation in `root`."""
    env = {**os.environ, "TALKROOM_HOST": "bench"}
    script = Path(sys.executable).with_name("talkroom")
    opening = ["open", "--topic", "bench", "--as", "b", "--with", "a", "--next", "a"]
    opened = subprocess.run(
        [str(script), "--root", str(root), *opening, "--max-turns", "10000", "--body", "go"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    conv_id = opened.stdout.split()[0]
    process = [str(script), "--root", str(root), "reply", conv_id, "--as", "b", "--next", "a"]
    process.extend(["--body", BODY])
    params = StdioServerParameters(
        command=str(script), args=["--root", str(root), "mcp", "--as", "a"], env=env
    )
    tool_s: list[float] = []
    process_s: list[float] = []
    wake_s: list[float] = []
    write_s: list[float] = []
    mine = {"conversation": conv_id, "body": BODY, "next": "b"}
    with open(os.devnull, "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            await session.call_tool("list_conversations", {})  # warm: imports, first read
            for _ in range(runs):
                start = time.perf_counter()
                result = await session.call_tool("reply", mine)
                tool_s.append(time.perf_counter() - start)
                assert not result.is_error, result.content
                start = time.perf_counter()
                await anyio.run_process(process, env=env)
                process_s.append(time.perf_counter() - start)
            await session.call_tool("reply", mine)  # b's turn: a waits from here on
            bench_root = Root(root, "bench")
            for _ in range(wakes + 1):  # the first wait starts the change detector: dropped
                woken: dict[str, float] = {}

                async def wait(woken: dict[str, float] = woken) -> None:
                    got = await session.call_tool(
                        "wait_for_turn", {"conversation": conv_id, "timeout": 30}
                    )
                    woken["at"] = time.perf_counter()
                    assert got.structured_content and got.structured_content["your_turn"]

                async with anyio.create_task_group() as group:
                    group.start_soon(wait)
                    await anyio.sleep(0.5)  # the call is in, and waiting
                    start = time.perf_counter()
                    await anyio.to_thread.run_sync(
                        lambda: turns.reply(
                            bench_root, "bench", conv_id, author="b", next_names="a", body=BODY
                        )
                    )
                    write_s.append(time.perf_counter() - start)
                wake_s.append(woken["at"] - start)
                await session.call_tool("reply", mine)
    wake_s, write_s = wake_s[1:], write_s[1:]
    tool_ms = statistics.median(tool_s) * 1000
    process_ms = statistics.median(process_s) * 1000
    return {
        "runs": runs,
        "tool_call_ms": round(tool_ms, 1),
        "process_ms": round(process_ms, 1),
        "ratio": round(tool_ms / process_ms, 3),
        "ratio_goal": 0.5,
        "wakes": len(wake_s),
        "wake_p50_s": round(statistics.median(wake_s), 3),
        "wake_p95_s": round(_pct(wake_s, 0.95), 3),
        "wake_max_s": round(max(wake_s), 3),
        "write_p50_s": round(statistics.median(write_s), 3),
        "wake_goal_s": 0.3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="replies of each kind (>= 15)")
    parser.add_argument("--wakes", type=int, default=20, help="wake-ups measured (>= 10)")
    args = parser.parse_args()
    compileall.compile_dir(Path(talkroom.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        result = anyio.run(measure, Path(tmp) / "talks", max(args.runs, 15), max(args.wakes, 10))
    print(json.dumps(result))
    print(
        f"reply: tool call {result['tool_call_ms']} ms, process {result['process_ms']} ms, "
        f"ratio {result['ratio']} (goal <= 0.5); wait_for_turn wake after the write: "
        f"p50 {result['wake_p50_s']} s, p95 {result['wake_p95_s']} s, max "
        f"{result['wake_max_s']} s (goal <= 0.3 s; the write itself {result['write_p50_s']} s)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
