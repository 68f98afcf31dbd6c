"""A writer process for the concurrency tests: N replies into one conversation.

    python hammer.py ROOT ID NAME COUNT NEXT[,NEXT...] START_AT {locked|unlocked} [HOST]

`locked` goes through the one write path; `unlocked` applies the same change to a
lock-free read and replaces the file atomically, as a naive writer would (the negative
control). Each body is "NAME #i" so the test can count every reply.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from talkroom.core import ops, store
from talkroom.core.codec import render
from talkroom.core.errors import TalkError
from talkroom.core.paths import Root


def main() -> None:
    root_dir, conv_id, name, count, names, start_at, mode = sys.argv[1:8]
    host = sys.argv[8] if len(sys.argv) > 8 else "hammer"
    root = Root(Path(root_dir), "test")
    next_ = names.split(",")
    while time.time() < float(start_at):
        time.sleep(0.001)
    for i in range(int(count)):
        plan = ops.plan_reply(root, conv_id, author=name, next_=next_, body=f"{name} #{i}")
        if mode == "locked":
            ops.run(plan, host)
        else:
            # A naive writer: when a race makes its read or rename fail, that turn is lost.
            try:
                current = store.load(plan.path)
                tmp = plan.path.with_name(f".{name}.{i}.tmp")
                tmp.write_bytes(render(plan.change(current)))
                os.replace(tmp, plan.path)
            except (OSError, TalkError):
                continue


if __name__ == "__main__":
    main()
