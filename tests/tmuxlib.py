"""A private tmux server per test, and stand-in agents in its panes.

Built on libtmux (`Server(socket_path=...)`, `Server.cmd`, `Pane.cmd`, `new_session`), not
on its pytest plugin: the plugin's `server` fixture names its socket with `-L` (a random
name in /tmp/tmux-<uid>/, shared by every run on the machine) and passes no `-f`, so tmux
reads the user's ~/.tmux.conf; the watcher needs a socket path, and each test here gets a
server of its own, in its own folder, with no config.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import libtmux
import pytest
from libtmux.common import tmux_cmd

from talkroom.watch.tmux import PaneRef

AGENT = [sys.executable, "-m", "talkroom.demo.agent"]


def need_tmux() -> None:
    """Skip the test when tmux is not installed."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")


def wait_for(
    predicate: Callable[[], object],
    timeout: float = 10.0,
    every: float = 0.05,
    what: str = "condition",
) -> object:
    """Poll until `predicate()` is truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class Result(tmux_cmd):
    """libtmux's result of one tmux command; `text` and `errors` keep its output exactly."""

    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        # tmux_cmd.__init__ runs the command itself, with neither env nor timeout; so it is
        # not called, and the fields it would set are set here, the same way.
        self.cmd = [str(arg) for arg in done.args]
        self.returncode = done.returncode
        self.text, self.errors = done.stdout, done.stderr  # libtmux drops trailing blank rows
        stdout = done.stdout.split("\n")
        while stdout and not stdout[-1]:
            stdout.pop()
        self.stdout = stdout
        self.stderr = [line for line in done.stderr.split("\n") if line]


class Server(libtmux.Server):
    """libtmux's Server on a socket path; commands run with `env`, bounded by `timeout`."""

    def __init__(
        self,
        socket_path: str,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        config_file: str | None = None,
        flags: Sequence[str] = (),
    ) -> None:
        super().__init__(socket_path=socket_path, config_file=config_file)
        self.env = dict(env) if env is not None else None
        self.timeout = timeout
        self.flags = list(flags)  # tmux options libtmux has no setting for, such as -u

    # Server.cmd's own signature; libtmux types its mixins' `cmd` with **kwargs besides.
    def cmd(  # type: ignore[override]
        self, cmd: str, *args: object, target: str | int | None = None
    ) -> Result:
        """The tmux command line `Server.cmd` would run, with this server's env and bound."""
        argv = ["tmux", *self.flags, "-S", str(self.socket_path)]
        if self.config_file:
            argv += ["-f", str(self.config_file)]
        argv += [cmd, *(["-t", str(target)] if target is not None else []), *map(str, args)]
        return Result(
            subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=self.env,
                timeout=self.timeout,
                check=False,
            )
        )

    def run(self, *args: str, check: bool = True, pane: str | None = None) -> str:
        """One tmux command (aimed at `pane` through libtmux's Pane); its stdout exactly."""
        result = (
            self.cmd(*args) if pane is None else libtmux.Pane(server=self, pane_id=pane).cmd(*args)
        )
        assert isinstance(result, Result)  # Pane.cmd is typed as returning any tmux_cmd
        if check and result.returncode:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.errors.strip()}")
        return result.text


class TmuxServer:
    """One tmux server on its own socket, started with no user config."""

    def __init__(self, socket: Path, env: dict[str, str] | None = None) -> None:
        self.socket = str(socket)
        self.env = {**os.environ, **(env or {})}
        self.env.pop("TMUX", None)
        self.env.pop("TMUX_PANE", None)
        self.server = Server(self.socket, env=self.env, config_file="/dev/null")

    def run(self, *args: str, check: bool = True) -> str:
        """One tmux command against this server; its stdout."""
        return self.server.run(*args, check=check)

    def start(self) -> None:
        """Start the server with one idle window that keeps it alive."""
        self.server.new_session("base", window_command="sleep 100000", x=160, y=40)

    @property
    def pid(self) -> int:
        """The server's pid."""
        return int(self.run("display-message", "-p", "-t", "base", "#{pid}").strip())

    def pane(
        self,
        command: list[str] | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> str:
        """A new window running `command` (None: the default shell); its pane id."""
        # Not Session.new_window: it looks the window up again afterwards, and a command
        # that exits at once would be gone by then; this prints the pane id at creation.
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
        pid, pane_pid = self.server.run(
            "display-message", "-p", "#{pid} #{pane_pid}", pane=pane
        ).split()
        return PaneRef(self.socket, int(pid), pane, int(pane_pid))

    def capture(self, pane: str) -> str:
        """The pane's visible text."""
        return self.server.run("capture-pane", "-p", pane=pane)

    def command(self, pane: str) -> str:
        """The pane's foreground command."""
        return self.server.run(
            "display-message", "-p", "#{pane_current_command}", pane=pane
        ).strip()

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
    wait_for(lambda: server.capture(pane).rstrip().endswith("❯"), 15, what=f"the prompt in {pane}")
