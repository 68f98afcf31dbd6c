"""Faults: kill -9 mid-write, a full disk, a read-only root. Nothing is ever lost."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from talkroom.core import store
from talkroom.core.paths import Root
from tests.conftest import Talk, run_talkroom
from tests.faults import can_mount, kill_writers_at_random, remount, tmpfs


def test_kill_9_at_random_points_never_breaks_a_file(talk: Talk) -> None:
    result = talk(
        "open",
        "--topic",
        "crash",
        "--as",
        "moderator",
        "--with",
        "killed,other",
        "--next",
        "killed",
        "--max-turns",
        "100000",
        "--body",
        "go",
    )
    # The stale time stays at its default (60 s): a dead writer's lock names its machine
    # and pid, so the next writer breaks it at once, with or without a watcher.
    outcomes = kill_writers_at_random(talk.root, result.first, rounds=200, host="test-host")
    print(f"kill -9 outcomes over 200 rounds: {dict(outcomes)}")
    slowest = outcomes.pop("slowest write after a kill, ms")
    assert sum(outcomes.values()) == 200
    assert outcomes["lock with holder"] > 0, "no kill landed while a lock was held"
    assert slowest < 5000, f"a write waited {slowest} ms behind a dead writer's lock"
    conv = store.load(talk.root.conversation(result.first))
    afters = [b.body for b in conv.blocks if b.body.startswith("after kill")]
    assert afters == [f"after kill {n}" for n in range(200)]
    broken = list(talk.root.conversations.glob(".*.lock.broken.*"))
    assert len(broken) == outcomes["lock with holder"]


@pytest.fixture
def small_root(tmp_path: Path) -> Root:
    reason = can_mount()
    if reason:
        pytest.skip(reason)
    with tmpfs(tmp_path / "small", "256k") as mount:
        yield Root(mount / "talks", "tmpfs")


def test_a_full_disk_gives_a_one_line_error_and_keeps_the_file(
    small_root: Root, isolated: Path
) -> None:
    root = str(small_root.path)
    opened = run_talkroom(
        "--root", root, "open", "--topic", "full", "--as", "a", "--with", "b", "--body", "hello"
    )
    conv_id = opened.stdout.decode().split()[0]
    path = small_root.conversation(conv_id)
    before = path.read_bytes()
    filler = small_root.path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 1024)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    body = "a reply that does not fit " * 40
    result = run_talkroom(
        "--root", root, "reply", conv_id, "--as", "b", "--next", "a", input=body.encode()
    )
    err = result.stderr.decode()
    assert result.returncode == 3, err
    assert err.count("\n") == 1 and "the disk is full" in err and "saved to" in err
    assert path.read_bytes() == before
    assert not (path.parent / f".{path.name}.lock").exists()
    saved = Path(err.rsplit("saved to ", 1)[1].strip())
    assert saved.read_text() == body
    filler.unlink()
    again = run_talkroom(
        "--root", root, "reply", conv_id, "--as", "b", "--next", "a", "--body-file", str(saved)
    )
    assert again.returncode == 0, again.stderr


def test_a_read_only_root_gives_a_one_line_error_and_keeps_the_file(small_root: Root) -> None:
    root = str(small_root.path)
    opened = run_talkroom("--root", root, "open", "--topic", "ro", "--as", "a", "--with", "b")
    conv_id = opened.stdout.decode().split()[0]
    path = small_root.conversation(conv_id)
    before = path.read_bytes()
    remount(small_root.path.parent, "ro")
    try:
        result = run_talkroom(
            "--root", root, "reply", conv_id, "--as", "b", "--next", "a", "--body", "x"
        )
        err = result.stderr.decode()
        assert result.returncode == 3 and err.count("\n") == 1 and "read-only" in err, err
        assert path.read_bytes() == before
        shown = run_talkroom("--root", root, "show", conv_id)
        assert shown.returncode == 0  # readers need no write access
    finally:
        remount(small_root.path.parent, "rw")
