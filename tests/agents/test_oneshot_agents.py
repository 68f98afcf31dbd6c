"""The real `claude -p`, `codex exec` and `gemini -p` as one-shot sessions: no pane, the
real headless watcher runs each once per turn with the wake-up text; they reply through
their own shell tool, or what they print becomes their turn. Each CLI's home allows
nothing by itself: the registered command line is what lets it run `talkroom reply`."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents import clis
from tests.agents.conftest import TALKROOM, Room, wait

TURN = 90  # seconds a one-shot turn may take on a loaded 2-core machine


def one_shot_argv(cli: str, root: Path, policy: Path, via: str) -> list[str]:
    """The command line the README gives for `cli`, without the prompt."""
    binary = str(clis.binary(cli))
    if cli == "claude":
        # --allowedTools takes several values: `--` ends them before the prompt.
        return [binary, "-p", "--allowedTools", "Bash(talkroom:*)", "--"]
    if cli == "codex":
        sandbox = ["--sandbox", "workspace-write", "--add-dir", str(root)]
        return [binary, "exec", "--skip-git-repo-check", *sandbox]
    # gemini -p takes the prompt as its value; an empty one reads it from stdin.
    return [binary, "--policy", str(policy), "-p", *([""] if via == "stdin" else [])]


class OneShot:
    """Registers one-shot sessions in a Room; ends whatever their runs left, by marker."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.runs: list[Path] = []

    def register(self, name: str, cli: str, *options: str, argv: list[str] | None = None) -> None:
        """`talkroom register NAME --command '...'` with the CLI's own throwaway home."""
        run = self.room.tmp / f"run-{name}-{cli}"
        work = run / "work"
        work.mkdir(parents=True)
        home = clis.make_home(cli, run, work, self.room.standin.url, allow="")
        policy = run / "talkroom-policy.toml"
        policy.write_text(
            '[[rule]]\ntoolName = "run_shell_command"\ncommandPrefix = "talkroom reply"\n'
            'decision = "allow"\npriority = 100\n'
        )
        self.runs.append(run)
        via = options[options.index("--prompt-via") + 1] if "--prompt-via" in options else ""
        if argv is None:
            argv = one_shot_argv(cli, self.room.root, policy, via)
        line = shlex.join(argv)
        env = [f"--env={key}={value}" for key, value in home.env.items()]
        self.room.run("register", name, "--command", line, "--cwd", str(work), *env, *options)

    def leftovers(self) -> list[int]:
        """Processes still running that a run started (their environment has the marker)."""
        needles = {f"{clis.MARKER}={run}".encode() for run in self.runs}
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    environ = set((entry / "environ").read_bytes().split(b"\0"))
                except OSError:
                    continue
                if environ & needles:
                    found.append(int(entry.name))
        return found


@pytest.fixture
def oneshot(room: Room) -> Iterator[OneShot]:
    made = OneShot(room)
    yield made
    if room.watcher is not None:  # the watcher first: it ends a run under way
        room.watcher.terminate()
        room.watcher.communicate(timeout=30)
        room.watcher = None
    left = made.leftovers()
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert left == [], f"a one-shot run left processes running: {left}"


def _open(room: Room, *names: str) -> str:
    out = room.run(
        "open", "--topic", "one-shot", "--as", "moderator", "--with", ",".join(names),
        "--next", names[0], "--body", "Say hello, then pass it on.",
    )  # fmt: skip
    return out.split()[0]


def _replies(room: Room, conv_id: str) -> list[dict[str, object]]:
    blocks = room.conversation(conv_id)["blocks"]
    return [b for b in blocks if b["kind"] == "Reply"]  # type: ignore[index, union-attr]


def _receipts(room: Room, name: str) -> list[dict[str, object]]:
    return [r for r in room.receipts() if r["target"] == name]


@pytest.mark.parametrize("cli", clis.CLIS)
@pytest.mark.parametrize("via", ["argument", "stdin"])
def test_each_cli_run_once_replies_through_its_own_tool(
    room: Room, oneshot: OneShot, cli: str, via: str
) -> None:
    oneshot.register("beta", cli, "--prompt-via", via)
    conv_id = _open(room, "beta", "alpha")
    room.start_watcher()
    wait(lambda: _receipts(room, "beta"), TURN, f"{cli}'s run to end")
    [receipt] = _receipts(room, "beta")
    assert receipt["outcome"] == "delivered", receipt
    assert receipt["path"] == "command" and receipt["exit_code"] == 0
    [reply] = _replies(room, conv_id)
    assert reply["author"] == "beta" and reply["body"] == f"reply from beta via {cli}"
    assert room.conversation(conv_id)["next"] == ["alpha"]
    [command] = room.standin.commands(cli)
    assert command.startswith(f"talkroom reply {conv_id} --as beta --next alpha --root ")
    time.sleep(2.0)
    assert len(_receipts(room, "beta")) == 1  # run once, never again


@pytest.mark.parametrize("cli", clis.CLIS)
def test_each_clis_printed_answer_becomes_its_turn(room: Room, oneshot: OneShot, cli: str) -> None:
    oneshot.register("beta", cli, "--reply-from", "stdout")
    conv_id = _open(room, "beta", "alpha")
    room.start_watcher()
    wait(lambda: _receipts(room, "beta"), TURN, f"{cli}'s run to end")
    assert [r["outcome"] for r in _receipts(room, "beta")] == ["delivered"]
    [reply] = _replies(room, conv_id)
    # The stand-in answers a text that names no command with this line; the CLI prints it.
    assert reply["author"] == "beta" and reply["body"] == "Stand-in here: nothing to do."
    assert room.conversation(conv_id)["next"] == ["alpha"]
    assert room.standin.commands(cli) == []


def test_a_cli_denied_its_tool_is_a_failed_run_never_retried(room: Room, oneshot: OneShot) -> None:
    # Without --allowedTools, claude -p may not run `talkroom reply`: it says so and exits 0.
    oneshot.register("beta", "claude", argv=[str(clis.binary("claude")), "-p"])
    conv_id = _open(room, "beta", "alpha")
    room.start_watcher()
    wait(lambda: _receipts(room, "beta"), TURN, "the run to end")
    time.sleep(2.0)
    assert [r["outcome"] for r in _receipts(room, "beta")] == ["failed:exited without replying"]
    assert _replies(room, conv_id) == []
    assert len(room.standin.commands("claude")) == 1  # asked once, denied, not run again
    doctor = subprocess.run(
        [*TALKROOM, "--root", str(room.root), "doctor"],
        capture_output=True,
        text=True,
        env=room.env,
        timeout=60,
        check=False,
    )
    assert doctor.returncode == 1
    assert "✗ session beta: command" in doctor.stdout and "exited without replying" in doctor.stdout


def test_three_clis_debate_as_one_shot_sessions(room: Room, oneshot: OneShot) -> None:
    oneshot.register("alpha", "claude")
    oneshot.register("beta", "codex")
    oneshot.register("gamma", "gemini")
    out = room.run(
        "open", "--topic", "one-shot debate", "--as", "moderator", "--with", "alpha,beta,gamma",
        "--next", "alpha", "--max-turns", "7", "--body", "Go round once, twice.",
    )  # fmt: skip
    conv_id = out.split()[0]
    room.start_watcher()
    wait(
        lambda: room.conversation(conv_id)["next"] == ["moderator"],
        6 * TURN,
        "the conversation to use its budget",
    )
    wait(lambda: len(room.receipts()) == 6, TURN, "the last run to end")
    authors = [str(r["author"]) for r in _replies(room, conv_id)]
    assert authors == ["alpha", "beta", "gamma"] * 2
    outcomes = [str(r["outcome"]) for r in room.receipts()]
    assert outcomes == ["delivered"] * 6, outcomes
