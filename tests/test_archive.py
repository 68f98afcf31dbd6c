"""The archive: closed conversations leave the live list yet stay searchable, showable,
exportable and restorable; an archiver stopped past the stale time never archives a file
someone wrote since, and never leaves a conversation in neither folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from talkroom.core import archive, clock, moderate, ops, stale, store
from talkroom.core.errors import NotFound, Refused
from talkroom.core.paths import Root
from tests import pausing
from tests.conftest import run_talkroom

STALE = 0.3


def opened(root: Root, topic: str = "Which queue?") -> str:
    """A conversation between a and b, b to speak."""
    plan = ops.plan_open(root, topic=topic, opener="a", with_=["b"], body="hi")
    return ops.open_conversation(root, plan, "h").conv.id


def act(root: Root, conv_id: str, action: str, **kwargs: object) -> None:
    """One moderator action, written."""
    ops.run(moderate.plan_moderate(root, conv_id, action, moderator="mod", **kwargs), "h")  # type: ignore[arg-type]


def test_archived_conversations_leave_the_list_and_stay_readable(root: Root) -> None:
    conv_id = opened(root)
    ops.run(ops.plan_reply(root, conv_id, author="b", next_=["a"], body="zebra stripes"), "h")
    live = opened(root, "Still talking")
    where = ["--root", str(root.path)]
    refused = run_talkroom(*where, "archive", live)
    assert refused.returncode == 1 and b"only a closed conversation is archived" in refused.stderr
    act(root, conv_id, "close", body="use postgres")
    out = run_talkroom(*where, "archive", "--older-than", "0")
    assert out.returncode == 0 and out.stdout.decode() == f"archived: {conv_id}\n"
    assert not root.conversation(conv_id).exists()
    kept = archive.archived_path(root, conv_id)
    assert kept.exists() and kept.with_name(f".{kept.name}.journal").exists()
    listed = json.loads(run_talkroom(*where, "list", "--json").stdout)
    assert [c["id"] for c in listed] == [live]
    assert run_talkroom(*where, "archive", "--list").stdout.decode() == f"{conv_id}\n"
    shown = run_talkroom(*where, "show", conv_id)
    assert shown.returncode == 0 and b"zebra stripes" in shown.stdout
    found = run_talkroom(*where, "search", "zebra", "--json")
    assert [h["conversation"] for h in json.loads(found.stdout)] == [conv_id]
    exported = run_talkroom(*where, "export", conv_id)
    assert exported.returncode == 0 and b"use postgres" in exported.stdout
    # Writing to it says where it went and how to bring it back (the body is kept).
    reply = run_talkroom(*where, "reopen", conv_id)
    assert reply.returncode == 3 and f"archive --restore {conv_id}".encode() in reply.stderr
    back = run_talkroom(*where, "archive", "--restore", conv_id)
    assert back.returncode == 0 and root.conversation(conv_id).exists() and not kept.exists()
    assert store.load(root.conversation(conv_id)).resolution == "use postgres"
    assert run_talkroom(*where, "reopen", conv_id).returncode == 0


def test_only_conversations_closed_long_enough_are_due(root: Root) -> None:
    old, recent, live = opened(root, "old"), opened(root, "recent"), opened(root, "live")
    act(root, old, "close", body="long ago")
    act(root, recent, "close", body="just now")
    now = clock.now()
    assert archive.due(root, 0, now + 1) == [old, recent]
    older = store.load(root.conversation(old)).updated_at
    assert archive.due(root, 1, (clock.parse_loose(older) or 0) + 86400 + 0.5) == [old, recent]
    assert archive.due(root, 30, now) == []
    assert live not in archive.due(root, 0, now + 1)
    with pytest.raises(Refused):
        archive.archive(root, live, "h")
    with pytest.raises(NotFound):
        archive.archive(root, "no-such-id", "h")


def test_an_archiver_stopped_at_any_step_never_loses_a_newer_turn(
    root: Root, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale.set_stale_after(STALE)
    monkeypatch.setenv("TALKROOM_STALE_LOCK_SECONDS", str(STALE))
    where = ["--root", str(root.path)]
    count = tmp_path / "steps"
    counted = opened(root, "counted")
    act(root, counted, "close", body="done")
    pid = pausing.fork_command(
        [*where, "archive", counted], tmp_path / "count.out", stop_at=10**9, count_to=count
    )
    assert pausing.wait_stopped(pid) == 0
    steps = int(count.read_text())
    assert steps > 10, steps
    stopped = 0
    for k in range(1, steps + 1):
        conv_id = opened(root, f"step {k}")
        act(root, conv_id, "close", body="done")
        archiver = pausing.fork_command(
            [*where, "archive", conv_id], tmp_path / f"{k}.out", stop_at=k
        )
        if pausing.wait_stopped(archiver) is not None:
            continue
        stopped += 1
        # The archiver sleeps past the stale time; meanwhile the moderator reopens the
        # conversation (breaking its lock) and b replies.
        live, kept = root.conversation(conv_id), archive.archived_path(root, conv_id)
        assert os.path.lexists(live) or os.path.lexists(kept), f"step {k}: in no folder"
        wrote = os.path.lexists(live)
        if wrote:
            act(root, conv_id, "reopen", next_=["b"])
            ops.run(ops.plan_reply(root, conv_id, author="b", next_=["a"], body=f"newer {k}"), "h")
        code = pausing.finish(archiver)
        if wrote:  # the newer turn is in the live file, and nothing stale is archived
            assert os.path.lexists(live), f"step {k}: the reopened conversation is gone"
            assert store.load(live).blocks[-1].body == f"newer {k}", f"step {k}"
            assert code != 0 and not os.path.lexists(kept), f"step {k}: a stale copy"
        else:  # archived before anyone could write: the closed file, whole
            assert code == 0 and not os.path.lexists(live), f"step {k}"
            assert store.load(kept).status == "CLOSED", f"step {k}"
    print(f"archiver stopped at {stopped} of {steps} steps")
    assert stopped > 10
