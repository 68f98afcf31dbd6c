"""How long one `talkroom reply` takes against a bare Python process doing the same append.

    python bench/bench_reply.py [--runs N]

Both are real processes of the same interpreter, interleaved so machine noise hits both
alike: `talkroom reply` (the console script, into a conversation in a temporary root)
and `python -c` that opens a file, appends the same bytes and fsyncs. Reports the medians
and their ratio (goal: <= 3.0). The package's bytecode is compiled first, as `pip install`
does, so neither side pays for compiling source.
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

BARE = (
    "import os\n"
    "fd = os.open({path!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)\n"
    "os.write(fd, {data!r})\n"
    "os.fsync(fd)\n"
    "os.close(fd)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="runs of each (>= 15)")
    args = parser.parse_args()
    compileall.compile_dir(Path(talkroom.__file__).parent, quiet=1)
    script = Path(sys.executable).with_name("talkroom")
    env = {**os.environ, "TALKROOM_HOST": "bench"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "talks"
        opened = subprocess.run(
            [
                str(script),
                "--root",
                str(root),
                "open",
                "--topic",
                "bench",
                "--as",
                "a",
                "--with",
                "b",
                "--next",
                "a",
                "--max-turns",
                "10000",
                "--body",
                "go",
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        conv_id = opened.stdout.split()[0]
        body = "A reply of typical length: " + "words " * 60
        # a and b take turns (a reply never names its author next).
        replies = [
            [
                str(script),
                "--root",
                str(root),
                "reply",
                conv_id,
                "--as",
                who,
                "--next",
                other,
                "--body",
                body,
            ]
            for who, other in (("a", "b"), ("b", "a"))
        ]
        block = f"## Reply -- a @ 2026-01-01T00:00:00Z\nTurn 2/10000\n\n{body}\n\nNEXT: a\n\n"
        bare = [
            sys.executable,
            "-c",
            BARE.format(path=str(Path(tmp) / "bare.md"), data=block.encode()),
        ]
        times: dict[str, list[float]] = {"reply": [], "bare": []}
        for n in range(max(args.runs, 15)):
            for name, cmd in (("reply", replies[n % 2]), ("bare", bare)):
                start = time.perf_counter()
                subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=env)
                times[name].append(time.perf_counter() - start)
    reply_ms = statistics.median(times["reply"]) * 1000
    bare_ms = statistics.median(times["bare"]) * 1000
    result = {
        "runs": len(times["reply"]),
        "reply_ms": round(reply_ms, 1),
        "bare_ms": round(bare_ms, 1),
        "ratio": round(reply_ms / bare_ms, 2),
        "goal": 3.0,
    }
    print(json.dumps(result))
    print(
        f"talkroom reply {reply_ms:.1f} ms, bare append+fsync {bare_ms:.1f} ms: "
        f"ratio {reply_ms / bare_ms:.2f} (goal <= 3.0)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
