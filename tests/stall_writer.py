"""A writer that stops itself (SIGSTOP) while it holds the lock, just before it commits:
the stale-lock test continues it later with SIGCONT.

    python stall_writer.py ROOT ID NAME NEXT[,NEXT] HOST MARKER
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from talkroom.core import ops
from talkroom.core.lock import FileLock
from talkroom.core.paths import Root


def main() -> None:
    root_dir, conv_id, name, names, host, marker = sys.argv[1:7]
    commit = FileLock.commit
    stopped = False

    def stop_then_commit(self: FileLock, data: bytes, *args: object) -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            Path(marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGSTOP)  # the lock is held here
        commit(self, data, *args)

    FileLock.commit = stop_then_commit  # type: ignore[method-assign]
    plan = ops.plan_reply(
        Root(Path(root_dir), "test"),
        conv_id,
        author=name,
        next_=names.split(","),
        body=f"{name} stalled",
    )
    ops.run(plan, host)
    print("done")


if __name__ == "__main__":
    main()
