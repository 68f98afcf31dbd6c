"""Concurrent writers: real processes, one conversation, nothing lost or doubled."""

from __future__ import annotations

import collections
import subprocess
import sys
import time
from pathlib import Path

from talkroom.core import store
from talkroom.core.paths import Root
from tests.conftest import Talk

HAMMER = Path(__file__).with_name("hammer.py")


def hammer(
    root: Root,
    conv_id: str,
    writers: list[str],
    count: int,
    mode: str,
    roots: list[Path] | None = None,
) -> None:
    """Run one writer process per name, started together; wait for all of them."""
    start_at = time.time() + 1.0  # every process imported and waiting before the first write
    targets = roots or [root.path]  # several mounts of one root: writers take turns
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(HAMMER),
                str(targets[i % len(targets)]),
                conv_id,
                name,
                str(count),
                ",".join(writers),
                str(start_at),
                mode,
                f"host-{i % len(targets)}",
            ],
            stderr=subprocess.PIPE,
        )
        for i, name in enumerate(writers)
    ]
    errors = [p.communicate(timeout=240)[1].decode() for p in procs]
    failed = [(p.returncode, e) for p, e in zip(procs, errors, strict=True) if p.returncode]
    assert not failed, failed[:2]


def census(root: Root, conv_id: str) -> collections.Counter[str]:
    """How many times each reply body appears."""
    conv = store.load(root.conversation(conv_id))
    return collections.Counter(b.body for b in conv.blocks if b.kind == "Reply")


def open_for(talk: Talk, writers: list[str], budget: int) -> str:
    result = talk(
        "open",
        "--topic",
        "hammer",
        "--as",
        "moderator",
        "--with",
        ",".join(writers),
        "--next",
        "all",
        "--max-turns",
        str(budget),
        "--body",
        "go",
    )
    assert result.code == 0, result
    return result.first


def test_eight_writers_fifty_replies_each_lose_nothing(talk: Talk) -> None:
    writers = [f"w{i}" for i in range(8)]
    conv_id = open_for(talk, writers, 500)
    hammer(talk.root, conv_id, writers, 50, "locked")
    counts = census(talk.root, conv_id)
    expected = {f"{w} #{i}" for w in writers for i in range(50)}
    assert set(counts) == expected, f"lost: {sorted(expected - set(counts))[:10]}"
    assert max(counts.values()) == 1, "a reply was written twice"
    conv = store.load(talk.root.conversation(conv_id))
    assert [b.turn for b in conv.blocks] == list(range(1, 402))
    assert conv.turns == 401 and conv.header["turns"] == "401" and conv.revision == 401
    assert conv.trailer_ok
    leftovers = [p.name for p in talk.root.conversations.iterdir() if p.name.startswith(".")]
    assert leftovers == [f".{conv_id}.md.journal"]  # no lock left: only the journal


def test_negative_control_without_the_lock_loses_turns(talk: Talk) -> None:
    """The same hammer with the lock disabled: proves the test above can fail."""
    writers = [f"w{i}" for i in range(8)]
    conv_id = open_for(talk, writers, 500)
    hammer(talk.root, conv_id, writers, 25, "unlocked")
    counts = census(talk.root, conv_id)
    lost = 8 * 25 - len(counts)
    print(f"negative control: {lost} of {8 * 25} replies lost without the lock")
    assert lost > 0, "without the lock no turn was lost: the hammer is not hammering"
