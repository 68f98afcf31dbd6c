"""Shared fixtures: an isolated environment, a talk root, and the helper command in-process."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkroom.cli import main
from talkroom.core.paths import Root
from tests.netfs import SshfsPair, netfs_unavailable_reason
from tests.tmuxlib import TmuxServer, need_tmux

_ENV_KEYS = (
    "TALKROOM_ROOT",
    "TALKROOM_HOST",
    "TALKROOM_MODERATOR",
    "TALKROOM_CONFIG",
    "TALKROOM_STATE_DIR",
    "TALKROOM_FAKE_NOW",
    "TALKROOM_STALE_LOCK_SECONDS",
    "TMUX",
    "TMUX_PANE",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test sees the user's config, state, tmux or talk root."""
    # Every TALKROOM_ variable, including settings added later, plus tmux's own.
    for key in {*_ENV_KEYS, *(k for k in os.environ if k.startswith("TALKROOM_"))}:
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TALKROOM_CONFIG", str(home / "config.yaml"))
    monkeypatch.setenv("TALKROOM_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("TALKROOM_HOST", "test-host")
    monkeypatch.setenv("TALKROOM_MODERATOR", "mod")
    monkeypatch.chdir(tmp_path)
    from talkroom.core import stale

    stale.set_stale_after(None)
    yield home
    stale.set_stale_after(None)


@pytest.fixture
def root(tmp_path: Path) -> Root:
    """An empty talk root."""
    path = tmp_path / "talks"
    path.mkdir()
    return Root(path, "test")


class Result:
    """What one run of the helper did."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"

    @property
    def first(self) -> str:
        """The first line of stdout."""
        return self.out.split("\n", 1)[0]


class Talk:
    """Runs `talkroom ...` in this process against one root, stdin given explicitly."""

    def __init__(
        self, root: Root, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.root = root
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, stdin: bytes | str = b"") -> Result:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        self.monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        self.capsys.readouterr()
        code = main(["--root", str(self.root.path), *args])
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    def open(self, *args: str, body: str = "opening text") -> str:
        """Open a conversation and return its id."""
        result = self(
            "open",
            "--topic",
            "a topic",
            "--as",
            "alpha",
            "--with",
            "beta",
            *args,
            "--body",
            body,
        )
        assert result.code == 0, result
        return result.first

    def file(self, conv_id: str) -> bytes:
        """The conversation file's bytes."""
        return self.root.conversation(conv_id).read_bytes()


@pytest.fixture
def talk(root: Root, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Talk:
    """The helper command, in-process, on the `root` fixture."""
    return Talk(root, capsys, monkeypatch)


def run_talkroom(
    *args: str, input: bytes = b"", env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[bytes]:
    """The helper as a real process (`python -m talkroom`)."""
    return subprocess.run(
        [sys.executable, "-m", "talkroom", *args],
        input=input,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def tmux_server() -> Iterator[TmuxServer]:
    """A private tmux server (its own socket; short path: sockets have a length limit)."""
    need_tmux()
    folder = Path(tempfile.mkdtemp(prefix="tr-tmux-", dir="/tmp"))
    server = TmuxServer(folder / "s")
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def netfs_pair() -> Iterator[SshfsPair]:
    """An sshd on 127.0.0.1 and one export mounted twice with sshfs: two "hosts"."""
    reason = netfs_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with SshfsPair(count=2) as pair:
        yield pair


@pytest.fixture
def shared(netfs_pair: SshfsPair, request: pytest.FixtureRequest) -> tuple[Root, Root]:
    """A fresh talk root seen through mount 1 ("host-a") and mount 2 ("host-b")."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-60:].strip("-")
    folder = netfs_pair.export / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    return (
        Root(netfs_pair.mounts[0] / name, "sshfs mount 1"),
        Root(netfs_pair.mounts[1] / name, "sshfs mount 2"),
    )


_NETFS_OUTCOMES: dict[str, list[str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember how each network-filesystem test ended."""
    if "netfs" in report.keywords and (report.when == "call" or report.skipped):
        _NETFS_OUTCOMES.setdefault(report.outcome, []).append(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in the log whether the sshfs tests ran, so a green run cannot hide skips."""
    if _NETFS_OUTCOMES:
        counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(_NETFS_OUTCOMES.items()))
        terminalreporter.write_line(f"network filesystem (sshfs) tests: {counts}")


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Root]:
    """The console's fixed conversations (tests/consoledata.py), fixed clock, UTC."""
    from tests import consoledata

    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    monkeypatch.setenv("TALKROOM_FAKE_NOW", consoledata.NOW)
    try:
        yield consoledata.build(tmp_path / "talks")
    finally:
        if old_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old_tz
        time.tzset()
