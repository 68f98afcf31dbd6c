"""An editor that had the file open saves it after a reply: the acknowledged turn
vanishes from the file. It is never lost silently: the journal keeps its text, the next
write says so, `show`, `list` and `doctor` report it, and the console shows a problem."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from talkroom.core import journal, store
from talkroom.core.paths import Root
from tests.conftest import run_talkroom

REPLY = "the answer the editor will drop"


def _open(root: Root) -> str:
    result = run_talkroom(
        "--root",
        str(root.path),
        "open",
        "--topic",
        "t",
        "--as",
        "a",
        "--with",
        "b",
        "--body",
        "opening text",
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().split()[0]


def _editor_saves_after_a_reply(root: Root, conv_id: str, edit: str) -> None:
    """A real editor (ed) reads the file, a reply lands while it is open, the editor saves
    its buffer over it."""
    if not shutil.which("ed"):
        pytest.skip("ed is not installed (apt-get install ed)")
    path = root.conversation(conv_id)
    editor = subprocess.Popen(
        ["ed", "-s", str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert editor.stdin is not None and editor.stdout is not None
    editor.stdin.write("=\n")  # ed prints the line count once it has read the file
    editor.stdin.flush()
    assert editor.stdout.readline().strip().isdigit()
    reply = run_talkroom(
        "--root", str(root.path), "reply", conv_id, "--as", "b", "--next", "a", "--body", REPLY
    )
    assert reply.returncode == 0 and b"turn 2/20 added" in reply.stdout
    if edit:
        editor.stdin.write(f",s/opening text/{edit}/\n")
    editor.stdin.write("w\nq\n")
    editor.stdin.close()
    assert editor.wait(timeout=20) == 0
    assert REPLY.encode() not in path.read_bytes(), "the editor did not save over the reply"


@pytest.mark.parametrize("edit", ["", "opening text, fixed by hand"])
def test_a_turn_an_editor_saved_over_is_reported_everywhere(root: Root, edit: str) -> None:
    conv_id = _open(root)
    _editor_saves_after_a_reply(root, conv_id, edit)
    path = root.conversation(conv_id)
    lost = journal.check(store.load(path))
    assert [e.text.decode() for e in lost if REPLY in e.text.decode()], lost
    shown = run_talkroom("--root", str(root.path), "show", conv_id)
    assert b"no longer in the file" in shown.stdout
    listed = run_talkroom("--root", str(root.path), "list")
    assert b"no longer in the file" in listed.stdout
    doctor = run_talkroom("--root", str(root.path), "doctor")
    assert doctor.returncode == 1 and b"turns: " + conv_id.encode() in doctor.stdout
    # The next write lands on top of the file as it is, says what it found, and keeps it.
    after = run_talkroom("--root", str(root.path), "inject", conv_id, "--body", "moderator")
    assert after.returncode == 0 and b"no longer in the file" in after.stderr
    conv = store.load(path)
    assert conv.blocks[-1].body == "moderator"
    assert [REPLY in e.text.decode() for e in journal.check(conv)] == [True]
    again = run_talkroom("--root", str(root.path), "doctor")
    assert again.returncode == 1 and b"no longer in the file" in again.stdout


def test_an_editor_that_saves_nothing_new_costs_nothing(root: Root) -> None:
    conv_id = _open(root)
    path = root.conversation(conv_id)
    run_talkroom(
        "--root", str(root.path), "reply", conv_id, "--as", "b", "--next", "a", "--body", "fine"
    )
    assert journal.check(store.load(path)) == []
    doctor = run_talkroom("--root", str(root.path), "doctor")
    assert b"turns: no committed turn is missing" in doctor.stdout


def test_the_console_shows_a_vanished_turn_as_a_problem(root: Root, tmp_path: Path) -> None:
    from talkroom.console.state import ConsoleState
    from talkroom.watch.tracker import Tracker

    conv_id = _open(root)
    _editor_saves_after_a_reply(root, conv_id, "")
    tracker = Tracker(root, poll=True, journals=True)
    tracker.start()
    try:
        deadline = time.monotonic() + 10
        updates: list[store.Snapshot] = []
        while not updates and time.monotonic() < deadline:
            updates, _ = tracker.tick(forced=True)
    finally:
        tracker.stop()
    state = ConsoleState()
    state.apply(updates, [])
    state.update_problems("test-host", time.time(), 600, 120)
    kinds = [p.kind for p in state.problems.get(conv_id, [])]
    assert "lost-turn" in kinds, state.problems


def test_large_vanished_turns_keep_their_text(root: Root) -> None:
    conv_id = _open(root)
    path = root.conversation(conv_id)
    before = path.read_bytes()
    bodies = [f"B{n}-" + "x" * 200_000 for n in range(3)]
    for n, body in enumerate(bodies):
        who, nxt = ("b", "a") if n % 2 == 0 else ("a", "b")
        run_talkroom(
            "--root",
            str(root.path),
            "reply",
            conv_id,
            "--as",
            who,
            "--next",
            nxt,
            input=body.encode(),
        )
    path.write_bytes(before)  # an editor puts the old copy back
    lost = journal.check(store.load(path))
    assert sorted(e.text.decode().split("\n")[3][:3] for e in lost) == ["B0-", "B1-", "B2-"]
    doctor = run_talkroom("--root", str(root.path), "doctor")
    assert b"its text is kept in" in doctor.stdout


def test_a_journal_that_cannot_be_read_is_kept_aside_never_written_over(root: Root) -> None:
    conv_id = _open(root)
    path = root.conversation(conv_id)
    record = journal.journal_path(path)
    record.write_bytes(b"x" * (journal.CAP + 1))
    result = run_talkroom(
        "--root", str(root.path), "reply", conv_id, "--as", "b", "--next", "a", "--body", "fine"
    )
    assert result.returncode == 0, result.stderr
    assert b"could not be read" in result.stdout
    aside = [p for p in path.parent.iterdir() if p.name.startswith(record.name + ".")]
    assert len(aside) == 1 and aside[0].stat().st_size == journal.CAP + 1
    assert journal.load(path) is not None  # a fresh one
