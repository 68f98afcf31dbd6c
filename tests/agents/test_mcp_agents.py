"""Real agent CLIs call talkroom's MCP tools: Claude Code (`claude -p`, whose MCP tools
are deferred behind ToolSearch) and Gemini CLI (`gemini -p`), configured exactly as
`talkroom guide --mcp` says, answer a wake-up prompt through the stand-in with a call of
the `reply` tool, never the shell; a refusal reaches the model as a tool error with the
helper's own line; the server goes away with the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents import clis
from tests.agents.conftest import wait
from tests.agents.standin import StandIn

TALKROOM = [sys.executable, "-m", "talkroom"]
CALLED = {"claude": "mcp__talkroom__reply", "gemini": "mcp_talkroom_reply"}


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[StandIn]:
    """The stand-in, keeping every request body (to read what the model was given)."""
    server = StandIn(dump=tmp_path / "requests").start()
    yield server
    server.stop()


def talkroom(root: Path, *args: str) -> str:
    """`talkroom --root ROOT ARGS`; its stdout (fails the test on an error)."""
    done = subprocess.run(
        [*TALKROOM, "--root", str(root), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def configured(guide: str, cli: str) -> dict[str, Any]:
    """The server entry `talkroom guide --mcp` gives for Claude Code or Gemini CLI."""
    blocks = re.findall(r"\n    \{\n.*?\n    \}\n", guide, re.S)
    entries = [json.loads(b)["mcpServers"]["talkroom"] for b in blocks]
    return dict(entries[0] if cli == "claude" else entries[1])


def servers_of(root: Path) -> list[int]:
    """Live `talkroom mcp` processes serving `root`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mcp" in argv and str(root).encode() in argv:
            found.append(int(entry.name))
    return found


def marked(run: Path) -> list[int]:
    """Live processes the CLI started (its run folder's marker in their environment)."""
    needle = f"{clis.MARKER}={run}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def end_all(run: Path) -> None:
    """End every process the CLI left, by pid, and remove its run folder."""
    for pid in marked(run):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shutil.rmtree(run, ignore_errors=True)


def tool_results(folder: Path) -> list[str]:
    """Every tool result the CLI sent its model, as text."""
    out = []
    for path in sorted(folder.glob("*.json")):
        body = json.loads(path.read_text())
        for m in body.get("messages", []):  # Claude
            for b in m.get("content") if isinstance(m.get("content"), list) else []:
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    out.append(json.dumps(b))
        for c in body.get("contents", []):  # Gemini
            out += [json.dumps(p) for p in c.get("parts", []) if "functionResponse" in p]
    return out


@pytest.mark.parametrize("cli", ["claude", "gemini"])
def test_a_cli_replies_through_the_mcp_reply_tool(
    installed: None, recording: StandIn, tmp_path: Path, cli: str
) -> None:
    root = tmp_path / "root"
    opened = talkroom(
        root, "open", "--topic", "mcp", "--as", "moderator", "--with", "beta,alpha",
        "--body", "Say hello, then pass it on.",
    )  # fmt: skip
    conv_id = opened.split()[0]
    server = configured(talkroom(root, "guide", "--mcp", "--as", "beta"), cli)
    work = tmp_path / "work"
    work.mkdir()
    run = Path(tempfile.mkdtemp(prefix=f"tra-{cli}-", dir="/tmp"))
    settings = {"mcpServers": {"talkroom": server}} if cli == "gemini" else None
    home = clis.make_home(cli, run, work, recording.url, settings=settings)
    keep = ("TALKROOM_HOST", "TALKROOM_STATE_DIR", "TALKROOM_CONFIG")
    env = {**home.env, **{k: os.environ[k] for k in keep if k in os.environ}}
    argv = list(home.argv)
    if cli == "claude":
        config = tmp_path / "mcp.json"
        config.write_text(json.dumps({"mcpServers": {"talkroom": server}}))
        argv += ["--mcp-config", str(config), "--strict-mcp-config"]
        argv += ["--allowedTools", "mcp__talkroom"]
    line = (
        f"# talkroom: your turn in {conv_id} (turn 2/20): read "
        f"{root}/conversations/{conv_id}.md, then run: talkroom reply {conv_id} --as beta "
        f"--next alpha --root {root}"
    )
    try:
        for _ in range(2):  # the second time it is not beta's turn: refused
            done = subprocess.run(
                [*argv, "-p", line],
                env=env,
                cwd=work,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert done.returncode == 0, done.stderr[-2000:]
        # the server goes away with its CLI (a moment later, on a loaded machine)
        wait(lambda: not servers_of(root) and not marked(run), 10, "the server to exit")
    finally:
        end_all(run)
    conv = json.loads(talkroom(root, "show", conv_id, "--json"))
    replies = [(b["author"], b["body"], b["next"]) for b in conv["blocks"] if b["kind"] == "Reply"]
    assert replies == [("beta", f"reply from beta via {cli} over MCP", ["alpha"])]
    assert recording.commands(cli) == []  # never the shell
    calls = [name for name, _ in recording.tool_calls(cli) if name != "ToolSearch"]
    assert calls == [CALLED[cli]] * 2, recording.tool_calls(cli)
    refused = f"talkroom: not your turn in {conv_id}: next is alpha; wait until you are woken"
    assert any(refused in text for text in tool_results(tmp_path / "requests"))
