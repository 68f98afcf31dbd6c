"""Across two sshfs mounts of one export (two "hosts" on this machine).

    python bench/bench_netfs.py [--deliveries N] [--replies N] [--interval SECONDS]

1. Delivery latency: the moderator writes on mount 1 (host-a); the watcher of host-b polls
   mount 2; time from the write to the wake-up line visible in host-b's pane.
   Goal: p50 <= interval + 1 s.
2. Reply latency: one `talkroom reply` process through sshfs against the same on a local
   disk, interleaved, medians.
Needs root, /dev/fuse, sshd, sshfs and tmux.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_delivery import count_lines, listener, percentile, start_watcher, stop, tmux
from talkroom.core import moderate, ops
from talkroom.core.paths import Root
from talkroom.watch import registry
from tests.netfs import SshfsPair, netfs_unavailable_reason


def delivery(pair: SshfsPair, tmp: Path, rounds: int, interval: float) -> dict[str, float]:
    writer_root = Root(pair.mounts[0] / "talks", "mount 1")
    watcher_root = Root(pair.mounts[1] / "talks", "mount 2")
    writer_root.conversations.mkdir(parents=True)
    sock = str(tmp / "s")
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
        registry.register(watcher_root, "host-b", "agent", "claude", ref)
        plan = ops.plan_open(
            writer_root,
            topic="latency",
            opener="moderator",
            with_=["agent", "x"],
            next_=["x"],
            max_turns=1000,
            moderator="bench",
        )
        conv_id = ops.open_conversation(writer_root, plan, "host-a").conv.id
        watcher = start_watcher(watcher_root, poll=True, interval=interval, host="host-b")
        samples = []
        try:
            for i in range(rounds):
                seen = count_lines(sock, pane)
                plan = moderate.plan_moderate(
                    writer_root,
                    conv_id,
                    "next",
                    moderator="bench",
                    next_=["agent"] if i % 2 == 0 else ["agent", "x"],
                )
                ops.run(plan, "host-a")
                written = time.monotonic()
                while count_lines(sock, pane) == seen:
                    time.sleep(0.01)
                samples.append(time.monotonic() - written)
                time.sleep(1.5)
        finally:
            stop(watcher)
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], check=False)
    return {
        "interval_s": interval,
        "p50_s": round(statistics.median(samples), 3),
        "p95_s": round(percentile(samples, 95), 3),
        "n": len(samples),
    }


def replies(pair: SshfsPair, tmp: Path, runs: int) -> dict[str, float]:
    import compileall

    import talkroom

    compileall.compile_dir(Path(talkroom.__file__).parent, quiet=1)  # as pip install does
    script = Path(sys.executable).with_name("talkroom")
    roots = {"sshfs": pair.mounts[0] / "replies", "local": tmp / "replies"}
    ids = {}
    for name, root in roots.items():
        out = subprocess.run(
            [
                str(script),
                "--root",
                str(root),
                "open",
                "--topic",
                "r",
                "--as",
                "a",
                "--with",
                "b",
                "--next",
                "a",
                "--max-turns",
                "10000",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        ids[name] = out.stdout.split()[0]
    times: dict[str, list[float]] = {"sshfs": [], "local": []}
    for n in range(runs):
        who, other = ("a", "b") if n % 2 == 0 else ("b", "a")  # never naming oneself next
        for name, root in roots.items():
            start = time.perf_counter()
            subprocess.run(
                [
                    str(script),
                    "--root",
                    str(root),
                    "reply",
                    ids[name],
                    "--as",
                    who,
                    "--next",
                    other,
                    "--body",
                    "a reply of typical length " * 10,
                ],
                stdout=subprocess.DEVNULL,
                check=True,
            )
            times[name].append(time.perf_counter() - start)
    return {f"{k}_ms": round(statistics.median(v) * 1000, 1) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20)
    parser.add_argument("--replies", type=int, default=25)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    reason = netfs_unavailable_reason()
    if reason:
        sys.exit(f"bench_netfs: {reason}")
    tmp = Path(tempfile.mkdtemp(prefix="tr-bench-netfs-", dir="/tmp"))
    os.environ.setdefault("TALKROOM_STATE_DIR", str(tmp / "state"))
    os.environ["TALKROOM_CONFIG"] = str(tmp / "none.yaml")
    with SshfsPair(count=2) as pair:
        result = {
            "delivery_across_mounts": delivery(pair, tmp, args.deliveries, args.interval),
            "reply": replies(pair, tmp, args.replies),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
