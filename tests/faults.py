"""Fault injection helpers: small tmpfs mounts and kill -9 of writers at random points."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkroom.core import ops, store
from talkroom.core.codec import parse
from talkroom.core.lock import lock_path_for
from talkroom.core.model import Conversation
from talkroom.core.paths import Root
from talkroom.core.stale import read_holder


def can_mount() -> str | None:
    """Why a tmpfs cannot be mounted here, or None."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    return None


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` for the duration."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        pytest.skip(f"cannot mount a tmpfs: {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, mode: str) -> None:
    """Remount a tmpfs read-only ('ro') or read-write ('rw')."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def reply_in_turn(root: Root, conv_id: str, host: str, body: str) -> Conversation:
    """Reply as whoever is next, passing the turn to the other participant."""
    conv = store.load(root.conversation(conv_id))
    author = conv.next[0]
    other = next(p for p in conv.participants if p != author)
    return ops.run(
        ops.plan_reply(root, conv_id, author=author, next_=[other], body=body), host
    ).conv


def writer_loop(root: Root, conv_id: str, host: str) -> None:
    """Reply forever (in a forked child), the two participants taking turns."""
    i = 0
    while True:
        reply_in_turn(root, conv_id, host, f"writer #{i}")
        i += 1


def kill_writers_at_random(
    root: Root, conv_id: str, rounds: int, host: str, max_delay: float = 0.03
) -> Counter[str]:
    """Fork a writer, SIGKILL it after a random delay, check the file, write once; repeat.

    Returns what each kill left behind: 'clean', 'lock with holder' (broken at once: its pid
    is dead on this machine) or 'lock released' (killed while letting go: its folder is
    empty, and the next writer takes it over). Every write after a kill must take well
    under the stale time: no lock of a dead writer stands in anyone's way.
    """
    path = root.conversation(conv_id)
    outcomes: Counter[str] = Counter()
    rng = random.Random(1234)
    slowest = 0.0
    for n in range(rounds):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child is killed
            try:
                writer_loop(root, conv_id, host)
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.002, max_delay))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        data = path.read_bytes()
        conv = parse(data, conv_id)
        assert conv.trailer_ok, f"round {n}: the file is not intact after kill -9"
        lock = lock_path_for(path)
        if not lock.exists():
            outcomes["clean"] += 1
        elif read_holder(lock) is not None:
            outcomes["lock with holder"] += 1
        else:
            assert lock.is_dir() and not any(lock.iterdir()), f"round {n}: a lock {lock}"
            outcomes["lock released"] += 1
        # The next write breaks whatever lock the dead writer left, at once, and succeeds.
        started = time.monotonic()
        after = reply_in_turn(root, conv_id, host, f"after kill {n}")
        slowest = max(slowest, time.monotonic() - started)
        assert after.revision > conv.revision and after.blocks[-1].body == f"after kill {n}"
    outcomes["slowest write after a kill, ms"] = round(slowest * 1000)
    return outcomes
