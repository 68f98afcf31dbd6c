"""Whatever goes wrong, no text is lost and nothing hostile reaches the terminal: bodies
are saved on every failure (a typo in the command, Ctrl-C, a full disk), a repeated
option is an error, and errors that quote a file's text are inert."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from talkroom.core.lock import FileLock
from talkroom.core.paths import Root
from tests.conftest import run_talkroom
from tests.faults import can_mount, tmpfs

BODY = "a careful reply\nwith two lines"


def _open(root: Root, *extra: str) -> str:
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
        "hi",
        *extra,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().split()[0]


def _saved(err: str) -> list[Path]:
    assert err.count("\n") == 1, err
    return [Path(p.strip()) for p in err.rsplit("saved to ", 1)[1].split(",")]


def test_a_typo_in_the_command_keeps_the_body_from_stdin(root: Root) -> None:
    conv_id = _open(root)
    result = run_talkroom(
        "--root", str(root.path), "reply", conv_id, "--as", "b", "--nxt", "a", input=BODY.encode()
    )
    err = result.stderr.decode()
    assert result.returncode == 2 and "--nxt" in err
    assert [p.read_text() for p in _saved(err)] == [BODY]


def test_a_repeated_body_is_an_error_and_both_are_kept(root: Root) -> None:
    conv_id = _open(root)
    result = run_talkroom(
        "--root",
        str(root.path),
        "reply",
        conv_id,
        "--as",
        "b",
        "--next",
        "a",
        "--body",
        "first thoughts",
        "--body",
        "second thoughts",
    )
    err = result.stderr.decode()
    assert result.returncode == 2 and "--body is given twice" in err
    assert sorted(p.read_text() for p in _saved(err)) == ["first thoughts", "second thoughts"]


@pytest.mark.parametrize("option", ["--next", "--as", "--root"])
def test_every_repeated_option_is_an_error(root: Root, option: str) -> None:
    conv_id = _open(root)
    args = {
        "--next": ["--next", "a", "--next", "b"],
        "--as": ["--as", "b", "--as", "c"],
        "--root": ["--root", str(root.path)],
    }[option]
    base = ["reply", conv_id, "--body", "x"]
    if option != "--as":
        base += ["--as", "b"]
    if option != "--next":
        base += ["--next", "a"]
    result = run_talkroom("--root", str(root.path), *base, *args)
    assert result.returncode == 2 and f"{option} is given twice" in result.stderr.decode()


def test_ctrl_c_while_waiting_for_the_lock_keeps_the_body(root: Root) -> None:
    conv_id = _open(root)
    held = FileLock(root.conversation(conv_id), "test-host")
    held.acquire()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "talkroom",
                "--root",
                str(root.path),
                "reply",
                conv_id,
                "--as",
                "b",
                "--next",
                "a",
            ],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(BODY.encode())
        proc.stdin.close()
        time.sleep(1.5)  # imported, body read, waiting for the lock
        proc.send_signal(signal.SIGINT)
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=10) == 130
    finally:
        held.release()
    assert "interrupted" in err
    assert [p.read_text() for p in _saved(err)] == [BODY]


def test_an_empty_root_is_refused_not_ignored(tmp_path: Path) -> None:
    result = run_talkroom(
        "--root", "", "open", "--topic", "t", "--as", "a", "--with", "b", "--body", "hi"
    )
    assert result.returncode == 2 and "--root is empty" in result.stderr.decode()
    assert not (tmp_path / ".talks").exists()


HOSTILE = "\x1b]52;c;ZWNobyBvd25lZA==\x07\x1b[2J"


@pytest.mark.parametrize("field", ["paused reason", "resolution", "next"])
def test_errors_that_quote_a_file_are_inert(root: Root, field: str) -> None:
    conv_id = _open(root)
    path = root.conversation(conv_id)
    if field == "paused reason":
        run_talkroom("--root", str(root.path), "pause", conv_id, "--reason", HOSTILE)
    elif field == "resolution":
        run_talkroom("--root", str(root.path), "close", conv_id, "--resolution", HOSTILE)
    else:  # a hand edit: `next` names something no command would write
        escaped = '"\\e]52;c;ZWNobyBvd25lZA==\\a\\e[2J"'  # YAML's escapes for ESC, BEL
        data = path.read_bytes().replace(b"next: b\n", f"next: {escaped}\n".encode(), 1)
        path.write_bytes(data)
    result = run_talkroom(
        "--root", str(root.path), "reply", conv_id, "--as", "b", "--next", "a", "--body", "x"
    )
    assert result.returncode != 0
    assert b"\x1b" not in result.stderr and b"\x07" not in result.stderr, result.stderr
    assert b"\x1b" not in result.stdout
    assert "\u241b]52" in result.stderr.decode()  # shown, as a visible stand-in


@pytest.fixture
def full_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    reason = can_mount()
    if reason:
        pytest.skip(reason)
    with tmpfs(tmp_path / "state", "64k") as state, tmpfs(tmp_path / "tmp", "64k") as tmp:
        for folder in (state, tmp):
            filler = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
            try:
                while True:
                    os.write(filler, b"\0" * 1024)
            except OSError:
                pass
            finally:
                os.close(filler)
        monkeypatch.setenv("TALKROOM_STATE_DIR", str(state))
        monkeypatch.setenv("TMPDIR", str(tmp))
        yield state


def test_a_full_disk_leaves_no_partial_body_and_the_body_is_kept_elsewhere(
    root: Root, full_state: Path
) -> None:
    conv_id = _open(root, "--next", "a")
    body = "x" * 200_000  # more than is left in the state folder
    result = run_talkroom(
        "--root", str(root.path), "reply", conv_id, "--as", "b", "--next", "a", input=body.encode()
    )
    err = result.stderr.decode()
    assert result.returncode == 1 and "not your turn" in err, err
    assert [p.read_text() for p in _saved(err)] == [body]  # in a temporary folder
    unsent = full_state / "unsent"
    assert not unsent.exists() or list(unsent.iterdir()) == []  # nothing half-written


def test_an_older_files_latin_1_block_survives_a_write_byte_for_byte(root: Root) -> None:
    # The original cross-session-talk helper wrote whatever bytes it got: here Latin-1.
    root.conversations.mkdir(parents=True)
    legacy = (
        b"---\ntopic: caf\xe9 talk\nopened by: a\nparticipants: a, b\nstatus: IN-PROGRESS\n"
        b"next: b\n---\n\nOpening -- a @ 2026-05-27 16:22\nTurn 1/20\n\n"
        b"Caf\xe9 cr\xe8me, \xfcber alles.\n\nNEXT: b\n\n"
    )
    path = root.conversation("old-talk")
    path.write_bytes(legacy)
    block = legacy[legacy.index(b"Opening --") :]
    result = run_talkroom(
        "--root", str(root.path), "reply", "old-talk", "--as", "b", "--next", "a", "--body", "ja"
    )
    assert result.returncode == 0, result.stderr
    after = path.read_bytes()
    assert block in after  # the block, byte for byte
    assert b"topic: caf\xe9 talk\n" in after  # and the topic
    shown = run_talkroom("--root", str(root.path), "show", "old-talk")
    assert b"Caf<0xE9> cr<0xE8>me" in shown.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["reply", "{id}", "--as", "b", "--bod", "{body}", "--next", "a"],
        ["reply", "{id}", "--as", "b", "--bo={body}", "--next", "a"],
        ["rpely", "{id}", "--as", "b", "--next", "a", "--body", "{body}"],
        ["--interval", "2", "reply", "{id}", "--as", "a", "--next", "b", "--body", "{body}"],
    ],
    ids=["abbreviated", "abbreviated=", "misspelled command", "global option value"],
)
def test_every_failed_command_line_keeps_its_body(root: Root, argv: list[str]) -> None:
    conv_id = _open(root)
    body = "IMPORTANT TEXT that must survive"
    args = [a.format(id=conv_id, body=body) for a in argv]
    result = run_talkroom("--root", str(root.path), *args)
    err = result.stderr.decode()
    assert result.returncode != 0, err
    assert [p.read_text() for p in _saved(err)] == [body]


def test_a_body_file_is_never_copied_half(root: Root, tmp_path: Path) -> None:
    conv_id = _open(root)
    big = tmp_path / "big.md"
    big.write_text("x" * 2_700_000)
    result = run_talkroom(
        "--root",
        str(root.path),
        "reply",
        conv_id,
        "--as",
        "b",
        "--next",
        "a",
        "--body-file",
        str(big),
    )
    err = result.stderr.decode()
    assert result.returncode == 2 and f"the body is still in {big}" in err and "saved" not in err
