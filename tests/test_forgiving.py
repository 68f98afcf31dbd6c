"""First steps and second chances: no root is created by accident, a reply cannot pass the
turn to its own author, and a closed conversation can be reopened (a block in the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkroom.core import moderate, ops, store
from talkroom.core.errors import BadInput, Refused
from talkroom.core.names import MODERATOR
from talkroom.core.paths import Root
from tests.conftest import run_talkroom


def opened(root: Root, max_turns: int = 20) -> str:
    """A conversation between a and b, b to speak."""
    plan = ops.plan_open(
        root, topic="Which queue?", opener="a", with_=["b"], body="hi", max_turns=max_turns
    )
    return ops.open_conversation(root, plan, "h").conv.id


def act(root: Root, conv_id: str, action: str, **kwargs: object) -> ops.Outcome:
    """One moderator action, written."""
    plan = moderate.plan_moderate(root, conv_id, action, moderator="mod", **kwargs)  # type: ignore[arg-type]
    return ops.run(plan, "h")


def no_talks_above(folder: Path) -> None:
    """Skip when a `.talks` above the test's folder would be found (this machine's state)."""
    found = next((p for p in folder.parents if (p / ".talks").is_dir()), None)
    if found is not None:
        pytest.skip(f"{found / '.talks'} exists, so every folder below it has a root")


def test_open_never_creates_a_root_nobody_chose(tmp_path: Path) -> None:
    no_talks_above(tmp_path)
    result = run_talkroom("open", "--topic", "t", "--as", "a", "--with", "b", "--body", "hi")
    err = result.stderr.decode()
    assert result.returncode == 2 and "no talk root is chosen" in err and "--root" in err
    assert "saved to" in err  # the body is kept, as on every failure
    assert not (tmp_path / ".talks").exists()
    # A .talks folder made on purpose is found, at or above the working directory.
    (tmp_path / ".talks").mkdir()
    result = run_talkroom("open", "--topic", "t", "--as", "a", "--with", "b", "--body", "hi")
    assert result.returncode == 0, result.stderr.decode()


def test_a_reply_cannot_name_its_author_next(root: Root) -> None:
    conv_id = opened(root)
    with pytest.raises(BadInput, match=r"--next names only you \(b\)"):
        ops.plan_reply(root, conv_id, author="b", next_=["b"], body="mine again")
    ops.run(ops.plan_reply(root, conv_id, author="b", next_=["all"], body="to a"), "h")
    assert store.load(root.conversation(conv_id)).next == ["a"]


def test_reopen_restores_who_was_next_and_replays_as_a_block(root: Root) -> None:
    conv_id = opened(root)
    with pytest.raises(Refused, match="not CLOSED; nothing to reopen"):
        act(root, conv_id, "reopen")
    act(root, conv_id, "close", body="d /tmp")  # a stray key closed it
    conv = act(root, conv_id, "reopen").conv
    assert conv.status == "IN-PROGRESS" and conv.resolution is None and conv.next == ["b"]
    block = conv.blocks[-1]
    assert (block.action, block.changes) == (
        "reopen",
        [("status", "CLOSED", "IN-PROGRESS"), ("next", "none", "b")],
    )
    assert block.next == ["b"]  # a new assignment: the watcher wakes b again
    assert store.load(root.conversation(conv_id)).blocks[-2].action == "close"  # history kept
    # Reopening with a new next; a closed-by-reply conversation goes back to the moderator.
    act(root, conv_id, "close", body="done")
    assert act(root, conv_id, "reopen", next_=["a"]).conv.next == ["a"]
    ops.run(
        ops.plan_reply(root, conv_id, author="a", next_=None, body="agreed", close="we agree"), "h"
    )
    assert act(root, conv_id, "reopen").conv.next == [MODERATOR]


def test_reopen_past_the_budget_hands_the_turn_to_the_moderator(root: Root) -> None:
    conv_id = opened(root, max_turns=2)
    ops.run(ops.plan_reply(root, conv_id, author="b", next_=["a"], body="last"), "h")
    act(root, conv_id, "close", body="out of turns")
    assert act(root, conv_id, "reopen").conv.next == [MODERATOR]
    act(root, conv_id, "close", body="again")
    with pytest.raises(Refused, match="used its budget"):
        act(root, conv_id, "reopen", next_=["a"])


def test_the_guide_carries_the_root_whenever_one_was_chosen(tmp_path: Path) -> None:
    no_talks_above(tmp_path)
    root = tmp_path / "shared talks"
    for args, env in ((["--root", str(root)], {}), ([], {"TALKROOM_ROOT": str(root)})):
        out = run_talkroom(*args, "guide", env=env)
        text = out.stdout.decode()
        assert out.returncode == 0 and f"--root '{root}'" in text
        assert f"talkroom show <id> --root '{root}'" in text
        assert f"talkroom reply <id> --as <you> --next <other> --root '{root}' <<'EOF'" in text
    # No root chosen: the guide as it is, and a word about choosing one.
    out = run_talkroom("guide")
    assert out.returncode == 0 and "--root '" not in out.stdout.decode()
    assert "no talk root is chosen here" in out.stderr.decode()
    (tmp_path / ".talks").mkdir()  # found by every agent working below this folder
    out = run_talkroom("guide")
    assert "--root '" not in out.stdout.decode() and out.stderr == b""


def test_reopen_from_the_command_line(root: Root) -> None:
    conv_id = opened(root)
    where = ["--root", str(root.path)]
    assert run_talkroom(*where, "close", conv_id, "--resolution", "d /tmp").returncode == 0
    out = run_talkroom(*where, "reopen", conv_id, "--next", "a")
    assert out.returncode == 0 and b"is IN-PROGRESS" in out.stdout and b"next: a" in out.stdout
    again = run_talkroom(*where, "reopen", conv_id)
    assert again.returncode == 1 and b"not CLOSED; nothing to reopen" in again.stderr
