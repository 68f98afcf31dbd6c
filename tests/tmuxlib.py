"""A private tmux server per test, and stand-in agents in its panes."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from talkroom.watch.tmux import PaneRef

AGENT = [sys.executable, "-m", "talkroom.demo.agent"]


def need_tmux() -> None:
    """Skip the test when tmux is not installed."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, every: float = 0.05,
             what: str = "condition") -> object:
    """Poll until `predicate()` is truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class TmuxServer:
    """One tmux server on its own socket, started with no user config."""

    def __init__(self, socket: Path, env: dict[str, str] | None = None) -> None:
        self.socket = str(socket)
        self.env = {**os.environ, **(env or {})}
        self.env.pop("TMUX", None)
        self.env.pop("TMUX_PANE", None)

    def run(self, *args: str, check: bool = True) -> str:
        """One tmux command against this server; its stdout."""
        result = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True,
                                text=True, env=self.env, check=False)
        if check and result.returncode:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def start(self) -> None:
        """Start the server with one idle window that keeps it alive."""
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "base", "-x", "160", "-y", "40",
                 "sleep 100000")

    @property
    def pid(self) -> int:
        """The server's pid."""
        return int(self.run("display-message", "-p", "-t", "base", "#{pid}").strip())

    def pane(self, command: list[str] | None = None, cwd: Path | None = None,
             env: dict[str, str] | None = None) -> str:
        """A new window running `command` (None: the default shell); its pane id."""
        args = ["new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "base:"]
        if cwd is not None:
            args += ["-c", str(cwd)]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        if command is not None:
            args.append(shlex.join(command))
        return self.run(*args).strip()

    def ref(self, pane: str) -> PaneRef:
        """The identity the watcher checks for `pane`."""
        pid, pane_pid = self.run("display-message", "-p", "-t", pane,
                                 "#{pid} #{pane_pid}").split()
        return PaneRef(self.socket, int(pid), pane, int(pane_pid))

    def capture(self, pane: str) -> str:
        """The pane's visible text."""
        return self.run("capture-pane", "-p", "-t", pane)

    def command(self, pane: str) -> str:
        """The pane's foreground command."""
        return self.run("display-message", "-p", "-t", pane, "#{pane_current_command}").strip()

    def pane_env(self, pane: str) -> dict[str, str]:
        """$TMUX and $TMUX_PANE as a process inside `pane` sees them."""
        return {"TMUX": f"{self.socket},{self.pid},0", "TMUX_PANE": pane}

    def kill(self) -> None:
        """Kill the server and every process in it."""
        self.run("kill-server", check=False)


def agent(name: str, log: Path, think: float = 0.2, busy_file: Path | None = None) -> list[str]:
    """The command line of a stand-in agent."""
    cmd = [*AGENT, "--name", name, "--think", str(think), "--log", str(log)]
    if busy_file is not None:
        cmd += ["--busy-file", str(busy_file)]
    return cmd


def wait_idle_prompt(server: TmuxServer, pane: str) -> None:
    """Wait until a stand-in shows its empty prompt."""
    wait_for(lambda: server.capture(pane).rstrip().endswith("❯"), 15,
             what=f"the prompt in {pane}")
