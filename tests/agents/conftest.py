"""The real-agents tier: the real Claude Code, Codex and Gemini CLI (pinned, from npm),
each in its own tmux server with a throwaway home, pointed at the suite's model stand-in,
woken by a real headless watcher. Skipped, with the reason, only where node or npm is
missing; `.ci/run` installs the pinned CLIs beforehand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agents import clis
from tests.agents.standin import StandIn

TALKROOM = [sys.executable, "-m", "talkroom"]


def _machine_host() -> str:
    """This machine's host name as talkroom makes it: the agents run `talkroom reply` with
    no TALKROOM_HOST, so the watcher and the registrations go by it too."""
    saved = os.environ.pop("TALKROOM_HOST", None)
    try:
        from talkroom.core.paths import host_name

        return host_name()
    finally:
        if saved is not None:
            os.environ["TALKROOM_HOST"] = saved


HOST = _machine_host()

_OUTCOMES: dict[str, list[str]] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is of the real-agents tier."""
    for item in items:
        if "tests/agents/" in str(item.fspath) and "test_standin" not in str(item.fspath):
            item.add_marker(pytest.mark.agents)


@pytest.fixture(scope="session")
def installed() -> None:
    """The pinned CLIs, installed once per run (a no-op when `.ci/run` already did)."""
    reason = clis.unavailable_reason()
    if reason:
        pytest.skip(f"real agents: {reason}")


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """The model stand-in, thinking 0.5 s per answer so the busy state shows."""
    server = StandIn(think=0.5).start()
    yield server
    server.stop()


class Room:
    """A talk root, the agents registered in it, and a real headless watcher."""

    def __init__(self, path: Path, standin: StandIn, tmp: Path) -> None:
        self.root = path
        self.standin = standin
        self.tmp = tmp
        self.agents: dict[str, clis.Agent] = {}
        self.watcher: subprocess.Popen[str] | None = None
        self.env = {**os.environ, "TALKROOM_HOST": HOST}

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        """`talkroom --root ROOT ARGS`; its stdout (fails the test on an error)."""
        result = subprocess.run(
            [*TALKROOM, "--root", str(self.root), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**self.env, **(env or {})},
            check=False,
        )
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    def agent(self, name: str, cli: str, **options: object) -> clis.Agent:
        """Start `cli` in its own tmux server and register it as `name` from its pane's
        environment, as a user would."""
        work = self.tmp / f"work-{name}"
        work.mkdir(exist_ok=True)
        agent = clis.launch(cli, work, self.standin.url, **options)  # type: ignore[arg-type]
        self.agents[name] = agent
        pane_env = {
            **agent.home.env,
            "TMUX": f"{agent.socket},{agent.server_pid},0",
            "TALKROOM_HOST": HOST,
        }
        self.run("register", name, "--agent", cli, "--pane", agent.pane, env=pane_env)
        return agent

    def start_watcher(self, *extra: str) -> None:
        """The headless watcher, as a real process."""
        self.watcher = subprocess.Popen(
            [*TALKROOM, "--root", str(self.root), "--watch-only", "--json", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    def conversation(self, conv_id: str) -> dict[str, object]:
        """`show --json`."""
        return json.loads(self.run("show", conv_id, "--json"))

    def receipts(self) -> list[dict[str, object]]:
        """Every receipt this host's watcher wrote."""
        path = self.root / "hosts" / HOST / "deliveries.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def stop(self) -> None:
        """End the watcher and every agent (by pid)."""
        if self.watcher is not None:
            self.watcher.terminate()
            try:
                self.watcher.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                self.watcher.kill()
        for agent in self.agents.values():
            agent.stop()
        leftover = [pid for a in self.agents.values() for pid in a.pids()]
        assert leftover == [], f"processes left running: {leftover}"


@pytest.fixture
def room(installed: None, standin: StandIn, tmp_path: Path) -> Iterator[Room]:
    """A talk root with nothing in it yet; everything started in it is ended by pid."""
    root = tmp_path / "root"
    root.mkdir()
    made = Room(root, standin, tmp_path)
    try:
        yield made
    finally:
        made.stop()
        for receipt in made.receipts():
            _OUTCOMES.setdefault(str(receipt.get("path", "typed")), []).append(
                str(receipt["outcome"])
            )


def wait(predicate: Callable[[], object], seconds: float, what: str) -> object:
    """Poll until true; fail the test with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in the log how the real agents were woken, so a skip cannot hide."""
    if _OUTCOMES:
        counts = "; ".join(
            f"{path}: "
            + ", ".join(
                f"{outcome} x{outcomes.count(outcome)}" for outcome in sorted(set(outcomes))
            )
            for path, outcomes in sorted(_OUTCOMES.items())
        )
        terminalreporter.write_line(f"real agents woken: {counts}")
