"""Readers that never accept a torn file or go back, and the one write path with its lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from talkroom.core import hostfiles, stale, store
from talkroom.core.codec import render
from talkroom.core.errors import NotFound, Refused, StoreError, Unreadable
from talkroom.core.lock import FileLock, LockTimeout, lock_path_for
from talkroom.core.model import Block, Conversation

HOST = "test-host"


def make(path: Path, revision: int = 1, bodies: tuple[str, ...] = ("hello",)) -> bytes:
    """Write a valid conversation file and return its bytes."""
    header = {
        "topic": "t",
        "opened by": "a",
        "participants": "a, b",
        "status": "IN-PROGRESS",
        "turns": str(len(bodies)),
        "max turns": "20",
        "next": "b",
        "revision": str(revision),
    }
    blocks = [
        Block(
            "Reply" if i else "Opening",
            "a",
            "2026-01-01T00:00:00Z",
            body,
            f"b{i}",
            turn=i + 1,
            budget=20,
            next=["b"],
        )
        for i, body in enumerate(bodies)
    ]
    data = render(Conversation(path.stem, header, blocks))
    path.write_bytes(data)
    return data


def add_block(block_id: str, body: str = "more") -> store.Change:
    """A change that appends one reply."""

    def change(conv: Conversation | None) -> Conversation:
        assert conv is not None
        header = dict(conv.header, revision=str(conv.revision + 1))
        return conv.evolve(
            header,
            Block(
                "Reply",
                "b",
                "2026-01-01T00:00:01Z",
                body,
                block_id,
                turn=conv.turns + 1,
                budget=20,
                next=["a"],
            ),
        )

    return change


@pytest.fixture
def conv_path(tmp_path: Path) -> Path:
    folder = tmp_path / "conversations"
    folder.mkdir()
    return folder / "c1.md"


def test_reader_accepts_a_verified_file(conv_path: Path) -> None:
    make(conv_path)
    snap = store.Reader().poll(conv_path)
    assert snap.readable and not snap.pending and snap.conv and snap.conv.revision == 1


def test_reader_waits_out_a_torn_file_and_keeps_the_last_good_snapshot(conv_path: Path) -> None:
    data = make(conv_path, revision=1)
    reader = store.Reader(settle=0.3)
    assert reader.poll(conv_path).conv is not None
    newer = make(conv_path, revision=2, bodies=("hello", "world"))
    conv_path.write_bytes(newer[: len(newer) // 2])  # a torn read, as sshfs can show one
    snap = reader.poll(conv_path)
    assert snap.pending and snap.conv is not None and snap.conv.revision == 1
    conv_path.write_bytes(newer)
    assert reader.poll(conv_path).conv.revision == 2  # type: ignore[union-attr]
    conv_path.write_bytes(data)  # an older revision shows up again (stale cache)
    snap = reader.poll(conv_path)
    assert snap.pending and snap.conv.revision == 2  # type: ignore[union-attr]


def test_the_same_bad_bytes_a_second_apart_are_a_hand_edit(conv_path: Path) -> None:
    data = make(conv_path)
    conv_path.write_bytes(data.replace(b"hello", b"hello, edited in vim"))
    reader = store.Reader(settle=0.2)
    assert reader.poll(conv_path).pending
    time.sleep(0.25)
    snap = reader.poll(conv_path)
    assert snap.readable and snap.conv is not None and snap.conv.edited_by_hand
    assert snap.conv.blocks[0].body == "hello, edited in vim"


def test_an_unparseable_file_settles_as_unreadable_with_its_reason(conv_path: Path) -> None:
    conv_path.write_bytes(b"---\ntopic: [\n---\n")
    reader = store.Reader(settle=0.2)
    with pytest.raises(Unreadable, match="line 3"):
        reader.load(conv_path)


def test_symlinks_and_oversized_files_are_refused(conv_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.md"
    make(target)
    conv_path.symlink_to(target)
    with pytest.raises(Unreadable, match="symlink"):
        store.load(conv_path)
    conv_path.unlink()
    with open(conv_path, "wb") as fh:
        fh.truncate(16 * 1024 * 1024 + 1)
    with pytest.raises(Unreadable, match="16 MiB"):
        store.load(conv_path)


def test_a_missing_file_is_not_found(conv_path: Path) -> None:
    with pytest.raises(NotFound, match="no conversation 'c1'"):
        store.load(conv_path)


def test_conversation_files_ignores_locks_swaps_and_bad_names(conv_path: Path) -> None:
    folder = conv_path.parent
    for name in [
        "c1.md",
        "Bad.md",
        ".c1.md.lock",
        ".fuse_hidden0001",
        ".nfs123",
        "c1.md.swp",
        "c1.md~",
        "notes.txt",
        "a.b.md",
        "ok-2.md",
    ]:
        (folder / name).write_text("x")
    assert sorted(p.name for p in store.conversation_files(folder)) == ["c1.md", "ok-2.md"]


def test_write_appends_raises_revision_and_reads_back(conv_path: Path) -> None:
    make(conv_path)
    conv = store.write(conv_path, "new-1", add_block("new-1"), host=HOST)
    assert conv.revision == 2 and conv.blocks[-1].block_id == "new-1"
    assert not lock_path_for(conv_path).exists()


def test_a_retried_write_with_the_same_block_id_is_done_once(conv_path: Path) -> None:
    make(conv_path)
    store.write(conv_path, "new-1", add_block("new-1"), host=HOST)
    again = store.write(conv_path, "new-1", add_block("new-1"), host=HOST)
    assert again.revision == 2 and [b.block_id for b in again.blocks].count("new-1") == 1


def test_a_refusal_inside_the_lock_changes_nothing(conv_path: Path) -> None:
    data = make(conv_path)

    def refuse(conv: Conversation | None) -> Conversation:
        raise Refused("no")

    with pytest.raises(Refused):
        store.write(conv_path, "x", refuse, host=HOST)
    assert conv_path.read_bytes() == data
    assert not lock_path_for(conv_path).exists()


def test_a_held_lock_times_out_naming_its_holder(conv_path: Path) -> None:
    data = make(conv_path)
    holder = FileLock(conv_path, "other-host")
    holder.acquire()
    try:
        with pytest.raises(LockTimeout, match=f"pid {os.getpid()} on other-host"):
            store.write(conv_path, "x", add_block("x"), host=HOST, timeout=0.3)
    finally:
        holder.release()
    assert conv_path.read_bytes() == data


def test_a_lock_of_a_dead_process_on_this_host_is_broken_at_once(conv_path: Path) -> None:
    make(conv_path)
    # A real writer takes the lock and dies holding it (no release, as kill -9 would).
    code = (
        "import os, sys; from pathlib import Path; from talkroom.core.lock import FileLock;"
        f" FileLock(Path({str(conv_path)!r}), {HOST!r}).acquire(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert lock_path_for(conv_path).is_dir()
    broken: list[Path] = []
    start = time.monotonic()
    store.write(conv_path, "x", add_block("x"), host=HOST, broken=broken)
    assert time.monotonic() - start < 2
    assert len(broken) == 1 and broken[0].name.startswith(f".c1.md.lock.broken.{HOST}.")
    assert broken[0].exists()  # renamed aside, never unlinked


def test_a_lock_unchanged_for_the_stale_time_is_broken(conv_path: Path) -> None:
    make(conv_path)
    # A lock from another host: its pid cannot be checked, only its age on our clock.
    lock_path_for(conv_path).write_text("talkroom-lock host=far-away pid=1 at=x nonce=2\n")
    stale.set_stale_after(0.5)
    broken: list[Path] = []
    conv = store.write(conv_path, "x", add_block("x"), host=HOST, timeout=5, broken=broken)
    assert conv.revision == 2 and len(broken) == 1


def test_a_live_lock_is_not_broken_before_the_stale_time(conv_path: Path) -> None:
    make(conv_path)
    lock_path_for(conv_path).write_text("talkroom-lock host=far-away pid=1 at=x nonce=3\n")
    stale.set_stale_after(30)
    with pytest.raises(LockTimeout):
        store.write(conv_path, "x", add_block("x"), host=HOST, timeout=0.5)
    assert lock_path_for(conv_path).exists()


def test_locked_update_of_a_small_file(tmp_path: Path) -> None:
    path = tmp_path / "hosts" / "h" / "sessions.yaml"
    assert hostfiles.locked_update(path, lambda old: b"a: 1\n", host=HOST) == b"a: 1\n"
    hostfiles.locked_update(path, lambda old: (old or b"") + b"b: 2\n", host=HOST)
    assert path.read_bytes() == b"a: 1\nb: 2\n"
    assert not lock_path_for(path).exists()


def test_create_refuses_an_existing_file(conv_path: Path) -> None:
    make(conv_path)
    with pytest.raises(FileExistsError):
        store.write(conv_path, "x", add_block("x"), host=HOST, create=True)


def test_an_unwritable_folder_is_a_one_line_store_error(conv_path: Path) -> None:
    make(conv_path)
    with pytest.raises(StoreError, match=r"cannot write .*: the folder does not exist"):
        store.write(
            conv_path.parent / "gone" / "c1.md", "x", add_block("x"), host=HOST, create=True
        )
