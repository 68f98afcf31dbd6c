"""One-shot command sessions with a plain Python participant: run once per assignment by
the real watcher, replying itself or through its output; timeouts, failures, caps and
hostile output; never a second run, also across watcher restarts; no tmux needed."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from talkroom.core.machine import pid_alive
from talkroom.core.paths import Root
from talkroom.core.receipts import read_receipts, receipts_path
from talkroom.core.store import Reader
from talkroom.health import Facts, Problem, problems
from talkroom.watch import registry
from talkroom.watch.watcher import Watcher, WatchEvent
from tests.conftest import Talk
from tests.tmuxlib import wait_for

AGENT = Path(__file__).with_name("oneshot_agent.py")
TALKROOM = [sys.executable, "-m", "talkroom"]
WATCH_ONLY = ["--watch-only", "--json", "--interval", "0.2"]
HOST = "test-host"


def register(talk: Talk, name: str, *agent: str, options: tuple[str, ...] = ()) -> None:
    """`talkroom register NAME --command '<python> oneshot_agent.py AGENT...' OPTIONS`."""
    line = shlex.join([sys.executable, str(AGENT), *agent])
    result = talk("register", name, "--command", line, *options)
    assert result.code == 0, result


@contextmanager
def watching(root: Root) -> Iterator[list[WatchEvent]]:
    """An in-process watcher for the duration; yields the events it reported."""
    events: list[WatchEvent] = []
    watcher = Watcher(root, HOST, interval=0.2, heartbeat=1.0, on_event=events.append)
    watcher.start()
    try:
        yield events
    finally:
        watcher.stop()


def watch_process(root: Root, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`talkroom --watch-only --json` as a real process."""
    return subprocess.Popen(
        [*TALKROOM, "--root", str(root.path), "--host", HOST, *WATCH_ONLY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def open_conv(talk: Talk, *extra: str, next_: str = "beta") -> str:
    result = talk(
        "open", "--topic", "t", "--as", "moderator", "--with", "alpha,beta", "--next", next_, *extra
    )
    assert result.code == 0, result
    return result.first


def blocks(root: Root, conv_id: str) -> list[dict[str, object]]:
    conv = Reader().load(root.conversation(conv_id))
    return [
        {"kind": b.kind, "author": b.author, "body": b.body, "next": b.next} for b in conv.blocks
    ]


def replies(root: Root, conv_id: str, name: str = "beta") -> list[dict[str, object]]:
    return [b for b in blocks(root, conv_id) if b["kind"] == "Reply" and b["author"] == name]


def receipts(root: Root) -> list[dict[str, object]]:
    path = receipts_path(root, HOST)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def runs(log: Path) -> list[dict[str, object]]:
    """The runs the participant logged (one line each, at its start)."""
    if not log.exists():
        return []
    return [e for e in map(json.loads, log.read_text().splitlines()) if "via" in e]


def outcomes(root: Root, name: str = "beta") -> list[str]:
    return [str(r["outcome"]) for r in receipts(root) if r["target"] == name]


# --- registering ---------------------------------------------------------------------------


def test_register_a_command_session_and_list_it(talk: Talk, tmp_path: Path) -> None:
    register(
        talk,
        "beta",
        "--mode",
        "print",
        options=(
            *("--reply-from", "stdout", "--prompt-via", "stdin", "--timeout", "30"),
            *("--env", "COLOUR=blue", "--output-cap", "1000", "--cwd", str(tmp_path)),
        ),
    )
    text = (talk.root.host_dir(HOST) / "sessions.yaml").read_text()
    assert f'      - "{sys.executable}"' in text and '      - "--mode"' in text
    assert '"COLOUR": "blue"' in text and 'reply from: "stdout"' in text
    assert "signature: " in text and 'wake: "command"' in text
    session = registry.load_sessions(talk.root, HOST)["beta"]
    assert session.pane is None and session.command is not None
    assert session.command.argv == (sys.executable, str(AGENT), "--mode", "print")
    assert session.command.env == {"COLOUR": "blue"} and session.command.timeout == 30
    listed = talk("sessions")
    assert listed.code == 0 and "beta  test-host  command  ready  wake: command" in listed.out
    row = json.loads(talk("sessions", "--json").out)[0]
    assert row["command"] == [sys.executable, str(AGENT), "--mode", "print"]
    assert row["env"] == ["COLOUR"] and row["pane"] is None and row["alive"] is True
    assert row["reply_from"] == "stdout" and row["prompt_via"] == "stdin"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--command", ""], "--command is empty"),
        (["--command", "'unclosed"], "cannot be split into words"),
        (["--command", "no-such-program-here -p"], "is not found on PATH"),
        (["--command", "true", "--pane", "%1"], "--pane and --wake are for a pane session"),
        (["--timeout", "5"], "--timeout is for a command session"),
        (["--command", "true", "--timeout", "0"], "the timeout must be"),
        (["--command", "true", "--output-cap", "999999999"], "the output cap must be"),
        (["--command", "true", "--env", "1X=y"], "is not KEY=VALUE"),
        (["--command", "true", "--cwd", "/no/such/folder"], "is not a folder"),
    ],
)
def test_a_bad_registration_is_one_line_and_registers_nothing(
    talk: Talk, args: list[str], says: str
) -> None:
    result = talk("register", "beta", *args)
    assert result.code == 2, result
    assert says in result.err and result.err.count("\n") == 1
    assert registry.load_sessions(talk.root, HOST) == {}


# --- runs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["argument", "stdin"])
def test_it_replies_itself_once_with_the_wake_up_text(talk: Talk, tmp_path: Path, via: str) -> None:
    log = tmp_path / "runs.log"
    register(talk, "beta", "--mode", "reply", "--log", str(log), options=("--prompt-via", via))
    conv_id = open_conv(talk)
    with watching(talk.root) as events:
        wait_for(lambda: replies(talk.root, conv_id), 20, what="beta's reply")
        wait_for(lambda: outcomes(talk.root), 10, what="the receipt")
        time.sleep(1.0)  # a second look at the file must not run it again
    assert [r["via"] for r in runs(log)] == [via]
    text = str(runs(log)[0]["text"]).strip()
    assert text.startswith(f"# talkroom: your turn in {conv_id} (turn 2/20)")
    assert f"talkroom reply {conv_id} --as beta --next alpha --root {talk.root.path}" in text
    assert replies(talk.root, conv_id)[0]["body"] == "reply from beta"
    [receipt] = receipts(talk.root)
    assert receipt["outcome"] == "delivered" and receipt["path"] == "command"
    assert receipt["exit_code"] == 0 and isinstance(receipt["run_ms"], int)
    assert receipt["typed"] is True and receipt["pane"] == ""
    assert any(e.kind == "delivered" and "ran " in e.text for e in events)
    cursor = (talk.root.host_dir(HOST) / "cursor.yaml").read_text()
    assert "beta: delivered" in cursor


def test_its_output_is_its_turn_handed_on_by_the_conversations_rule(
    talk: Talk, tmp_path: Path
) -> None:
    register(
        talk,
        "beta",
        "--mode",
        "print",
        "--say",
        "line one\n\nline two\n",
        options=("--reply-from", "stdout"),
    )
    conv_id = open_conv(talk)
    with watching(talk.root):
        wait_for(lambda: replies(talk.root, conv_id), 20, what="beta's turn")
    [reply] = replies(talk.root, conv_id)
    assert reply["body"] == "line one\n\nline two"
    assert reply["next"] == ["alpha"]  # the participant after beta, as the wake-up text said
    assert outcomes(talk.root) == ["delivered"]


def test_a_last_next_line_in_the_output_chooses_who_is_next(talk: Talk) -> None:
    register(
        talk,
        "beta",
        "--mode",
        "print",
        "--say",
        "done\nNEXT: moderator",
        options=("--reply-from", "stdout"),
    )
    conv_id = open_conv(talk)
    with watching(talk.root):
        wait_for(lambda: replies(talk.root, conv_id), 20, what="beta's turn")
    [reply] = replies(talk.root, conv_id)
    assert reply["body"] == "done" and reply["next"] == ["moderator"]


def test_the_last_turn_of_the_budget_goes_to_the_moderator(talk: Talk) -> None:
    register(talk, "beta", "--mode", "print", options=("--reply-from", "stdout"))
    conv_id = open_conv(talk, "--max-turns", "2")
    with watching(talk.root):
        wait_for(lambda: replies(talk.root, conv_id), 20, what="beta's turn")
    assert replies(talk.root, conv_id)[0]["next"] == ["moderator"]


def test_a_timeout_kills_its_process_group_once_and_is_a_problem(
    talk: Talk, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    register(
        talk,
        "beta",
        "--mode",
        "reply",
        "--child",
        "--sleep",
        "120",
        "--log",
        str(log),
        options=("--timeout", "1"),
    )
    conv_id = open_conv(talk)
    with watching(talk.root) as events:
        wait_for(lambda: outcomes(talk.root), 20, what="the receipt")
        time.sleep(1.0)
    assert outcomes(talk.root) == ["failed:timed out after 1 s"]
    [receipt] = receipts(talk.root)
    assert "exit_code" not in receipt and receipt["typed"] is True  # ended, no status
    child = next(e["child"] for e in map(json.loads, log.read_text().splitlines()) if "child" in e)
    assert not pid_alive(int(child)) and not pid_alive(int(str(runs(log)[0]["pid"])))
    assert len(runs(log)) == 1 and replies(talk.root, conv_id) == []
    assert any(e.kind == "failed" for e in events)
    found = _problems(talk.root, conv_id)
    assert [p.kind for p in found] == ["run-failed"], found
    assert "timed out after 1 s" in found[0].text and "u runs it again" in found[0].text
    doctor = talk("doctor")
    assert "✗ session beta: command" in doctor.out and "failed:timed out" in doctor.out


def _problems(root: Root, conv_id: str) -> list[Problem]:
    conv = Reader().load(root.conversation(conv_id))
    facts = Facts(
        HOST,
        [(s, registry.alive(s)) for s in registry.all_sessions(root)],
        [],
        {(r.conversation, r.assignment): [r] for r in read_receipts(root, HOST)},
        [],
    )
    return [p for p in problems(conv, facts, time.time()) if p.kind != "no-watcher"]


@pytest.mark.parametrize(
    ("agent", "options", "outcome"),
    [
        (["--mode", "nothing", "--exit", "3", "--stderr", "boom"], (), "failed:exit 3: boom"),
        (["--mode", "nothing"], (), "failed:exited without replying"),
        (["--mode", "nothing"], ("--reply-from", "stdout"), "failed:empty output"),
        (["--mode", "print", "--say", " \n\n "], ("--reply-from", "stdout"), "failed:empty output"),
        (
            ["--mode", "print", "--exit", "1"],
            ("--reply-from", "stdout"),
            "failed:exit 1: said by beta",
        ),
    ],
    ids=["exit-3", "no-reply", "no-output", "blank-output", "output-but-exit-1"],
)
def test_a_failed_run_is_recorded_once_and_never_retried(
    talk: Talk, tmp_path: Path, agent: list[str], options: tuple[str, ...], outcome: str
) -> None:
    log = tmp_path / "runs.log"
    register(talk, "beta", *agent, "--log", str(log), options=options)
    conv_id = open_conv(talk)
    with watching(talk.root):
        wait_for(lambda: outcomes(talk.root), 20, what="the receipt")
        time.sleep(1.5)  # several more looks
    assert outcomes(talk.root) == [outcome]
    assert len(runs(log)) == 1 and replies(talk.root, conv_id) == []
    assert [p.kind for p in _problems(talk.root, conv_id)] == ["run-failed"]


def test_a_nudge_runs_it_again(talk: Talk, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    register(talk, "beta", "--mode", "nothing", "--log", str(log))
    conv_id = open_conv(talk)
    with watching(talk.root):
        wait_for(lambda: outcomes(talk.root), 20, what="the first receipt")
        assert talk("nudge", conv_id).code == 0
        wait_for(lambda: len(outcomes(talk.root)) == 2, 20, what="the second receipt")
    assert len(runs(log)) == 2


def test_output_past_the_cap_is_cut_and_said(talk: Talk) -> None:
    register(
        talk,
        "beta",
        "--mode",
        "print",
        "--big",
        "100000",
        options=("--reply-from", "stdout", "--output-cap", "1000"),
    )
    conv_id = open_conv(talk)
    with watching(talk.root):
        wait_for(lambda: replies(talk.root, conv_id), 20, what="beta's turn")
    body = str(replies(talk.root, conv_id)[0]["body"])
    kept, _, note = body.rpartition("\n\n")
    assert len(kept.encode()) <= 1000 and kept.startswith("0123456789abcde\n")
    assert note == "[talkroom: the rest of the output was cut]"
    assert outcomes(talk.root) == ["delivered:output cut at 1000 bytes"]


def test_hostile_output_is_made_inert_and_cannot_forge_structure(talk: Talk) -> None:
    register(talk, "beta", "--mode", "print", "--hostile", options=("--reply-from", "stdout"))
    conv_id = open_conv(talk)
    with watching(talk.root):
        wait_for(lambda: replies(talk.root, conv_id), 20, what="beta's turn")
    assert [(b["kind"], b["author"]) for b in blocks(talk.root, conv_id)] == [
        ("Opening", "mod"),
        ("Reply", "beta"),
    ]
    body = str(replies(talk.root, conv_id)[0]["body"])
    for bad in ("\x1b", "\x00", "\x07", "\u202e", "\r"):
        assert bad not in body
    assert "red and  and link" in body and "bell␇ nul␀ bidi <U+202E> evil" in body
    assert "bad \ufffd\ufffd bytes" in body
    assert "## Reply -- mallory" in body and "NEXT: mallory" in body  # text, not structure
    conv = Reader().load(talk.root.conversation(conv_id))
    assert conv.revision == 2 and conv.next == ["alpha"] and conv.turns == 2
    raw = talk.file(conv_id).decode()
    assert "\n\\## Reply -- mallory" in raw and "\n\\NEXT: mallory" in raw


def test_a_next_line_naming_no_participant_is_refused_and_the_output_kept(
    talk: Talk, isolated: Path
) -> None:
    register(
        talk,
        "beta",
        "--mode",
        "print",
        "--say",
        "my answer\nNEXT: mallory",
        options=("--reply-from", "stdout"),
    )
    conv_id = open_conv(talk)
    with watching(talk.root):
        wait_for(lambda: outcomes(talk.root), 20, what="the receipt")
    [outcome] = outcomes(talk.root)
    assert outcome.startswith("failed:its output could not be written: 'mallory' is not a")
    saved = Path(outcome.rsplit("its output is saved in ", 1)[1])
    assert saved.read_text() == "my answer" and saved.is_relative_to(isolated)
    assert replies(talk.root, conv_id) == []


def test_a_registration_edited_in_the_root_never_runs(talk: Talk, tmp_path: Path) -> None:
    register(talk, "beta", "--mode", "reply")
    path = talk.root.host_dir(HOST) / "sessions.yaml"
    planted = tmp_path / "planted"
    text = path.read_text().replace(
        f'      - "{AGENT}"', f'      - "-c"\n      - "open({str(planted)!r}, \'w\')"'
    )
    path.write_text(text)  # anyone who can write the talk root could do this
    planted_spec = registry.load_sessions(talk.root, HOST)["beta"].command
    assert planted_spec is not None and planted_spec.argv[1] == "-c"
    conv_id = open_conv(talk)
    with watching(talk.root):
        wait_for(lambda: outcomes(talk.root), 20, what="the receipt")
    [outcome] = outcomes(talk.root)
    assert outcome.startswith("failed:cannot run: its registration is not signed")
    assert not planted.exists() and receipts(talk.root)[0]["typed"] is False
    assert "cannot run: its registration is not signed" in talk("sessions").out
    assert [p.kind for p in _problems(talk.root, conv_id)] == ["cannot-run", "run-failed"]


def test_a_long_run_holds_up_no_other_session(talk: Talk, tmp_path: Path) -> None:
    slow_done = tmp_path / "slow-done"
    register(talk, "beta", "--mode", "reply", "--sleep", "6", "--marker", str(slow_done))
    register(talk, "gamma", "--mode", "reply")
    slow = open_conv(talk)
    fast = talk(
        "open", "--topic", "t2", "--as", "moderator", "--with", "alpha,gamma", "--next", "gamma"
    ).first
    with watching(talk.root):
        wait_for(lambda: replies(talk.root, fast, "gamma"), 20, what="gamma's reply")
        assert not slow_done.exists()  # gamma replied while beta's run still went on
        wait_for(lambda: replies(talk.root, slow), 30, what="beta's reply")


# --- at most once, across restarts, without tmux -----------------------------------------------


def test_a_watcher_killed_mid_run_never_runs_it_again(talk: Talk, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    register(talk, "beta", "--mode", "reply", "--sleep", "3", "--log", str(log))
    conv_id = open_conv(talk)
    first = watch_process(talk.root)
    cursor = talk.root.host_dir(HOST) / "cursor.yaml"
    wait_for(lambda: runs(log), 20, what="the run to start")
    assert "beta: running" in cursor.read_text()
    first.kill()  # SIGKILL: no outcome is written; the run goes on by itself
    first.communicate(timeout=10)
    second = watch_process(talk.root)
    wait_for(lambda: "beta: unknown" in cursor.read_text(), 20, what="the intent marked unknown")
    wait_for(lambda: replies(talk.root, conv_id), 20, what="the cut-off run's own reply")
    time.sleep(1.0)
    code, out, _ = stop(second)
    assert code == 0 and len(runs(log)) == 1
    assert outcomes(talk.root) == ["unknown:cut off while its command ran"]
    events = [json.loads(line) for line in out.splitlines()]
    assert any(e["event"] == "unknown" and "not run again" in e["text"] for e in events)


def test_a_watcher_stopped_mid_run_ends_it_and_never_runs_it_again(
    talk: Talk, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    register(talk, "beta", "--mode", "reply", "--child", "--sleep", "60", "--log", str(log))
    conv_id = open_conv(talk)
    first = watch_process(talk.root)
    wait_for(lambda: len(log.read_text().splitlines()) == 2 if log.exists() else False, 20)
    code, _, _ = stop(first)  # SIGTERM: the watcher ends the run's whole process group
    assert code == 0
    child = next(e["child"] for e in map(json.loads, log.read_text().splitlines()) if "child" in e)
    assert not pid_alive(int(child))
    assert outcomes(talk.root) == ["failed:ended when the watcher stopped"]
    second = watch_process(talk.root)
    time.sleep(2.0)
    stop(second)
    assert len(runs(log)) == 1 and replies(talk.root, conv_id) == []


def test_a_late_outcome_never_erases_the_next_runs_intent(talk: Talk, tmp_path: Path) -> None:
    # beta replies (handing the turn to gamma) and lingers; gamma's run starts meanwhile;
    # beta's outcome, recorded after, must not replace gamma's intent in the cursor: a
    # watcher killed during gamma's run would then start gamma a second time.
    log = tmp_path / "runs.log"
    register(talk, "beta", "--mode", "reply", "--linger", "1.5")
    register(
        talk, "gamma", "--mode", "reply", "--sleep", "5", "--next", "moderator", "--log", str(log)
    )
    conv_id = talk(
        "open", "--topic", "t", "--as", "moderator", "--with", "beta,gamma", "--next", "beta"
    ).first
    first = watch_process(talk.root)
    wait_for(lambda: runs(log), 20, what="gamma's run to start")
    wait_for(lambda: outcomes(talk.root, "beta"), 20, what="beta's outcome, after gamma began")
    first.kill()
    first.communicate(timeout=10)
    second = watch_process(talk.root)
    wait_for(lambda: replies(talk.root, conv_id, "gamma"), 30, what="gamma's cut-off reply")
    time.sleep(1.5)
    stop(second)
    assert len(runs(log)) == 1, runs(log)
    assert outcomes(talk.root, "gamma") == ["unknown:cut off while its command ran"]


def test_the_headless_watcher_serves_command_sessions_with_no_tmux(
    talk: Talk, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    assert shutil.which("tmux", path=str(empty)) is None
    register(talk, "beta", "--mode", "reply")
    conv_id = open_conv(talk)
    watcher = watch_process(talk.root, env={"PATH": str(empty)})
    try:
        wait_for(lambda: replies(talk.root, conv_id), 30, what="beta's reply")
    finally:
        code, _out, err = stop(watcher)
    assert code == 0, err
    assert outcomes(talk.root) == ["delivered"]
    doctor = subprocess.run(
        [sys.executable, "-m", "talkroom", "--root", str(talk.root.path), "doctor"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(empty)},
        timeout=60,
        check=False,
    )
    assert "✓ tmux: not installed; not needed by this host's command sessions" in doctor.stdout
    assert "✓ session beta: command" in doctor.stdout and "delivered" in doctor.stdout
