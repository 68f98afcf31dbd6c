"""Writers that stop themselves (SIGSTOP) at the k-th file-system call of a write, as a
laptop that sleeps mid-write on a network mount does; the test continues them later.

The writer is a fork of the test process running the real command line; every call of
the `os` functions below counts as a step, whatever module makes it, so the test needs
no hook in the code under test.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from talkroom import cli
from talkroom.core.lock import FileLock

STEPS = (
    "open",
    "read",
    "write",
    "fsync",
    "close",
    "replace",
    "rename",
    "mkdir",
    "rmdir",
    "unlink",
    "lstat",
    "fstat",
    "stat",
    "scandir",
    "ftruncate",
    "lseek",
    "link",
)


def _count_steps(stop_at: int, counted: list[int]) -> None:
    """Wrap the os functions: stop this process before the `stop_at`-th call."""
    for name in STEPS:
        real = getattr(os, name, None)
        if real is None:
            continue

        def step(*args: object, _real: Callable[..., object] = real, **kwargs: object) -> object:
            counted[0] += 1
            if counted[0] == stop_at:
                os.kill(os.getpid(), signal.SIGSTOP)
            return _real(*args, **kwargs)

        setattr(os, name, step)


def fork_command(
    argv: list[str], out: Path, stop_at: int | None = None, count_to: Path | None = None
) -> int:
    """Run `talkroom ARGV` in a forked child that stops at step `stop_at`; its stdout and
    stderr go to `out`; with `count_to`, it writes there how many steps it took."""
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:  # pragma: no cover - runs in the child
        sys.stdin = open(os.devnull)  # noqa: SIM115
        sys.stdout = sys.stderr = open(out, "w")  # noqa: SIM115
        counted = [0]
        if stop_at is not None:
            _count_steps(stop_at, counted)
        code = cli.main(argv)
        sys.stdout.flush()
        if count_to is not None:
            count_to.write_text(str(counted[0]))
    finally:
        os._exit(code)


def fork_lock_holder(path: Path, host: str) -> int:
    """A child that takes the write lock of `path` and stops while holding it."""
    pid = os.fork()
    if pid:
        return pid
    try:  # pragma: no cover - runs in the child
        FileLock(path, host).acquire()
        os.kill(os.getpid(), signal.SIGSTOP)
    finally:
        os._exit(0)


def wait_stopped(pid: int) -> int | None:
    """Wait until the child stops (None) or exits (its exit code)."""
    _, status = os.waitpid(pid, os.WUNTRACED)
    if os.WIFSTOPPED(status):
        return None
    return os.waitstatus_to_exitcode(status)


def finish(pid: int) -> int:
    """Continue a stopped child and wait for its exit code."""
    os.kill(pid, signal.SIGCONT)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def kill(pid: int) -> None:
    """End a child for good."""
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
