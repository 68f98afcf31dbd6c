"""The write path under injected failures of write, fsync and rename: a hypothesis state
machine checks after every step that the file is intact and holds exactly the replies that
were reported written, and that no lock is left behind."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from talkroom.core import files, lock, ops, store
from talkroom.core.codec import parse
from talkroom.core.errors import StoreError
from talkroom.core.paths import Root

# What can go wrong, and how many times in a row: a Windows-style PermissionError on
# rename (a reader has the file open) must be retried; the others fail the write cleanly.
FAULTS = [
    None,
    ("write", OSError(errno.ENOSPC, "No space left on device"), 1),
    ("write", OSError(errno.EIO, "Input/output error"), 2),
    ("fsync", OSError(errno.EIO, "Input/output error"), 1),
    ("replace", PermissionError(errno.EACCES, "Permission denied"), 3),
    ("replace", OSError(errno.EIO, "Input/output error"), 1),
]  # a rename refused for good is test_a_persistent_permission_error_fails_cleanly


class FaultyOs:
    """The `os` module as talkroom.core.files (which does the write path's I/O) sees it,
    failing the next N calls of one name."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.error: OSError | None = None
        self.left = 0

    def arm(self, name: str, error: OSError, times: int) -> None:
        self.name, self.error, self.left = name, error, times

    def __getattr__(self, attr: str) -> object:
        real = getattr(os, attr)
        if attr != self.name:
            return real

        def failing(*args: object, **kwargs: object) -> object:
            if self.left > 0:
                self.left -= 1
                assert self.error is not None
                raise self.error
            return real(*args, **kwargs)

        return failing


class WritePath(RuleBasedStateMachine):
    """Replies, some of them under a fault; the file always tells the truth."""

    @initialize()
    def setup(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="tr-faults-"))
        self.root = Root(self.folder, "test")
        plan = ops.plan_open(
            self.root,
            topic="faults",
            opener="a",
            with_=["b"],
            next_=["a"],
            max_turns=1000,
            body="start",
        )
        self.conv_id = ops.open_conversation(self.root, plan, "h").conv.id
        self.path = self.root.conversation(self.conv_id)
        self.written: list[str] = []
        self.speaker = "a"  # a and b take turns: a reply never names its author next
        self.faulty = FaultyOs()
        self.real_os = files.os

    def teardown(self) -> None:
        files.os = self.real_os
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(
        body=st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and "\x00" not in t),
        fault=st.sampled_from(FAULTS),
    )
    def reply(self, body: str, fault: tuple[str, OSError, int] | None) -> None:
        body = body.rstrip("\n")
        before = self.path.read_bytes()
        other = "b" if self.speaker == "a" else "a"
        plan = ops.plan_reply(
            self.root, self.conv_id, author=self.speaker, next_=[other], body=body
        )
        if fault is not None:
            self.faulty.arm(*fault)
        files.os = self.faulty  # type: ignore[assignment]
        try:
            ops.run(plan, "h")
        except StoreError as exc:
            assert fault is not None, f"failed without a fault: {exc.message}"
            assert exc.message.count("\n") == 0
            assert self.path.read_bytes() == before, "a failed write changed the file"
        else:
            self.written.append(body)  # a transient PermissionError on rename was retried
            self.speaker = other
        finally:
            files.os = self.real_os
            self.faulty.left = 0

    @invariant()
    def intact(self) -> None:
        conv = parse(self.path.read_bytes(), self.conv_id)
        assert conv.trailer_ok
        assert [b.body for b in conv.blocks[1:]] == self.written
        assert conv.revision == 1 + len(self.written)
        assert not lock.lock_path_for(self.path).exists(), "a lock was left behind"
        assert store.conversation_files(self.root.conversations) == [self.path]


WritePath.TestCase.settings = settings(max_examples=30, stateful_step_count=10, deadline=None)
TestWritePath = WritePath.TestCase


def test_a_transient_permission_error_on_rename_is_retried(tmp_path: Path) -> None:
    root = Root(tmp_path, "test")
    plan = ops.plan_open(root, topic="t", opener="a", with_=["b"], next_=["a"])
    conv_id = ops.open_conversation(root, plan, "h").conv.id
    faulty = FaultyOs()
    faulty.arm("replace", PermissionError(errno.EACCES, "in use"), 3)
    real, files.os = files.os, faulty  # type: ignore[assignment]
    try:
        conv = ops.run(ops.plan_reply(root, conv_id, author="a", next_=["b"], body="x"), "h").conv
    finally:
        files.os = real
    assert faulty.left == 0 and conv.blocks[-1].body == "x"


def test_a_persistent_permission_error_fails_cleanly(tmp_path: Path) -> None:
    root = Root(tmp_path, "test")
    plan = ops.plan_open(root, topic="t", opener="a", with_=["b"], next_=["a"])
    conv_id = ops.open_conversation(root, plan, "h").conv.id
    path = root.conversation(conv_id)
    before = path.read_bytes()
    faulty = FaultyOs()
    faulty.arm("replace", PermissionError(errno.EACCES, "in use"), 1000)
    real, files.os = files.os, faulty  # type: ignore[assignment]
    try:
        with pytest.raises(StoreError, match="permission denied"):
            ops.run(ops.plan_reply(root, conv_id, author="a", next_=["b"], body="x"), "h")
    finally:
        files.os = real
    assert path.read_bytes() == before and not lock.lock_path_for(path).exists()
