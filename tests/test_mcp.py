"""`talkroom mcp`, driven by the MCP SDK's own client over stdio: a real server process on a
temporary root, every tool, refusals as tool errors carrying the helper's own line, waiting
for a turn written by another process, and hostile text handed back inert."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from talkroom.core.paths import Root
from talkroom.core.sanitise import is_clean, sanitise_line
from tests import hostile
from tests.conftest import Talk, run_talkroom
from tests.test_layers import HEAVY, modules_loaded_by

TOOLS = {
    "list_conversations",
    "show_conversation",
    "reply",
    "open_conversation",
    "search",
    "decisions",
    "wait_for_turn",
}


@asynccontextmanager
async def server(root: Path, name: str, log: Path) -> AsyncIterator[ClientSession]:
    """A real `talkroom mcp` process on `root`, acting as `name`, and the SDK's client."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "talkroom", "--root", str(root), "mcp", "--as", name],
        env=dict(os.environ),
    )
    with log.open("a") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session
    assert "Traceback" not in log.read_text(), log.read_text()


async def cli(root: Root, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The helper as a process of its own."""
    return await anyio.to_thread.run_sync(lambda: run_talkroom("--root", str(root.path), *args))


async def opened_for_gamma(root: Root) -> str:
    """A conversation alpha opened with beta and gamma, gamma to speak: its id."""
    opened = await cli(
        root, "open", "--topic", "t", "--as", "alpha", "--with", "beta,gamma", "--next", "gamma",
        "--body", "hi",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    return opened.stdout.decode().split()[0]


def data(result: types.CallToolResult) -> dict[str, Any]:
    """A successful call's structured content, checked against its JSON text."""
    assert not result.is_error, result.content
    assert isinstance(result.content[0], types.TextContent)
    assert result.structured_content is not None
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def refusal(result: types.CallToolResult) -> tuple[str, int]:
    """A failed call's one line and exit code."""
    assert result.is_error
    assert isinstance(result.content[0], types.TextContent)
    text = result.content[0].text
    assert "\n" not in text and text.startswith("talkroom: ")
    assert result.structured_content is not None
    assert result.structured_content["error"] == text
    return text, int(result.structured_content["exit_code"])


def same_line(cli_run: subprocess.CompletedProcess[bytes]) -> tuple[str, int]:
    """The helper's error line and exit code, with the file a body was saved to blanked."""
    lines = cli_run.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return blank(lines[0]), cli_run.returncode


def blank(line: str) -> str:
    """The line with the path of a saved body blanked (each run saves to its own file)."""
    return re.sub(r"saved to \S+", "saved to <file>", line)


async def test_every_tool_does_what_its_command_does(root: Root, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    async with server(root.path, "beta", log) as beta:
        assert {t.name for t in (await beta.list_tools()).tools} == TOOLS
        assert data(await beta.call_tool("list_conversations", {})) == {"conversations": []}

        opened = data(
            await beta.call_tool(
                "open_conversation",
                {"topic": "which runner", "with": "alpha", "body": "pytest or unittest?"},
            )
        )
        conv_id = opened["conversation"]
        assert (opened["turns"], opened["next"], opened["participants"]) == (
            1,
            ["alpha"],
            ["beta", "alpha"],
        )
        assert opened["summary"].startswith(f"{conv_id}; file: ")
        listed = data(await beta.call_tool("list_conversations", {"status": "in-progress"}))
        assert [c["id"] for c in listed["conversations"]] == [conv_id]

        assert (
            await cli(root, "reply", conv_id, "--as", "alpha", "--next", "beta", "--body", "pytest")
        ).returncode == 0
        turn = data(await beta.call_tool("wait_for_turn", {"timeout": 0}))
        assert turn["your_turn"] is True
        assert [c["conversation"] for c in turn["conversations"]] == [conv_id]

        shown = data(
            await beta.call_tool("show_conversation", {"conversation": conv_id, "last": 1})
        )
        assert shown["total_blocks"] == 2
        assert [(b["author"], b["body"]) for b in shown["blocks"]] == [("alpha", "pytest")]

        replied = data(
            await beta.call_tool(
                "reply", {"conversation": conv_id, "body": "agreed: fixtures", "next": "alpha"}
            )
        )
        assert replied["summary"] == f"turn 3/20 added to {conv_id}; next: alpha"
        on_file = json.loads((await cli(root, "show", conv_id, "--json")).stdout)
        assert [(b["author"], b["body"]) for b in on_file["blocks"]][-1] == (
            "beta",
            "agreed: fixtures",
        )

        assert (
            await cli(root, "reply", conv_id, "--as", "alpha", "--next", "beta", "--body", "ok")
        ).returncode == 0
        closed = data(
            await beta.call_tool(
                "reply",
                {"conversation": conv_id, "body": "done", "close": "pytest, with fixtures"},
            )
        )
        assert (closed["status"], closed["resolution"]) == ("CLOSED", "pytest, with fixtures")
        decided = data(await beta.call_tool("decisions", {}))["decisions"]
        assert [(d["conversation"], d["resolution"]) for d in decided] == [
            (conv_id, "pytest, with fixtures")
        ]
        hits = data(await beta.call_tool("search", {"query": "FIXTURES", "status": "closed"}))
        assert {(h["conversation"], h["field"]) for h in hits["hits"]} == {
            (conv_id, "body"),
            (conv_id, "resolution"),
        }
        cli_hits = json.loads(
            (await cli(root, "search", "FIXTURES", "--status", "closed", "--json")).stdout
        )
        assert hits["hits"] == cli_hits
        assert data(await beta.call_tool("list_conversations", {"status": "in-progress"})) == {
            "conversations": []
        }


async def test_refusals_are_tool_errors_with_the_helpers_line(
    root: Root, tmp_path: Path, isolated: Path
) -> None:
    conv_id = await opened_for_gamma(root)  # gamma's turn, not beta's
    cases: list[tuple[str, dict[str, Any], list[str]]] = [
        (
            "reply",
            {"conversation": conv_id, "body": "too early", "next": "alpha"},
            ["reply", conv_id, "--as", "beta", "--next", "alpha", "--body", "too early"],
        ),
        (
            "reply",
            {"conversation": "20260101-000000-nothing", "body": "x", "next": "alpha"},
            ["reply", "20260101-000000-nothing", "--as", "beta", "--next", "alpha", "--body", "x"],
        ),
        (
            "reply",
            {"conversation": conv_id, "body": "x", "next": "Not A Name!"},
            ["reply", conv_id, "--as", "beta", "--next", "Not A Name!", "--body", "x"],
        ),
        (
            "reply",
            {"conversation": conv_id, "body": "x"},
            ["reply", conv_id, "--as", "beta", "--body", "x"],
        ),
        (
            "show_conversation",
            {"conversation": conv_id, "last": -1},
            ["show", conv_id, "--last", "-1"],
        ),
        ("search", {"query": "  "}, ["search", "  "]),
        (
            "open_conversation",
            {"topic": "two\nlines", "with": "alpha", "body": "kept"},
            ["open", "--topic", "two\nlines", "--as", "beta", "--with", "alpha", "--body", "kept"],
        ),
    ]
    async with server(root.path, "beta", tmp_path / "server.log") as beta:
        for tool, arguments, command in cases:
            got = refusal(await beta.call_tool(tool, arguments))
            assert (blank(got[0]), got[1]) == same_line(await cli(root, *command)), tool
        # paused, with a reason that would steer a terminal: the same line, inert
        assert (
            await cli(root, "pause", conv_id, "--reason", "lunch \x1b[2J\x1b]0;t\x07")
        ).returncode == 0
        assert (await cli(root, "next", conv_id, "beta")).returncode == 0
        got = refusal(
            await beta.call_tool("reply", {"conversation": conv_id, "body": "y", "next": "alpha"})
        )
        cli_run = await cli(
            root, "reply", conv_id, "--as", "beta", "--next", "alpha", "--body", "y"
        )
        assert (blank(got[0]), got[1]) == same_line(cli_run)
        assert got[1] == 1 and "paused (lunch ␛[2J␛]0;t␇)" in got[0]
        saved = Path(got[0].rsplit("saved to ", 1)[1])
        assert saved.read_text() == "y" and saved.is_relative_to(isolated)  # nothing lost
        # what the helper's parser would refuse: one line too
        for tool, arguments, words in [
            ("nope", {}, "there is no tool 'nope'"),
            ("reply", {"conversation": conv_id, "body": "x", "bogus": 1}, "no argument 'bogus'"),
            ("reply", {"conversation": conv_id}, "needs the argument 'body'"),
            ("show_conversation", {"conversation": 7}, "'conversation' must be a string"),
            ("wait_for_turn", {"timeout": 99999}, "timeout must be between 0 and 3600"),
        ]:
            text, code = refusal(await beta.call_tool(tool, arguments))
            assert words in text and code == 2, text


async def test_wait_for_turn_wakes_when_another_process_names_it(
    root: Root, tmp_path: Path
) -> None:
    conv_id = await opened_for_gamma(root)
    async with server(root.path, "beta", tmp_path / "server.log") as beta:
        waiting = asyncio.ensure_future(beta.call_tool("wait_for_turn", {"timeout": 120}))
        await asyncio.sleep(1.0)
        assert not waiting.done()  # gamma's turn: not beta's
        written = await cli(
            root, "reply", conv_id, "--as", "gamma", "--next", "beta", "--body", "you"
        )
        assert written.returncode == 0, written.stderr
        turn = data(await waiting)
        assert turn["your_turn"] is True and turn["waited_seconds"] < 120
        assert [(c["conversation"], c["turns"], c["next"]) for c in turn["conversations"]] == [
            (conv_id, 2, ["beta"])
        ]
        # a wait for one conversation ends when it closes: its turn will not come
        assert (await cli(root, "close", conv_id, "--resolution", "enough")).returncode == 0
        over = data(await beta.call_tool("wait_for_turn", {"conversation": conv_id, "timeout": 60}))
        assert over["your_turn"] is False and over["conversations"][0]["status"] == "CLOSED"
        timed_out = data(await beta.call_tool("wait_for_turn", {"timeout": 0.2}))
        assert timed_out == {
            "your_turn": False,
            "waited_seconds": timed_out["waited_seconds"],
            "conversations": [],
        }


def _rpc(proc: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()


def _answer(proc: subprocess.Popen[bytes], wanted: int) -> dict[str, Any]:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line, "the server closed its output"
        message = json.loads(line)
        if message.get("id") == wanted:
            return dict(message)


def test_a_cancelled_wait_ends_and_closing_the_input_ends_the_server(
    talk: Talk, tmp_path: Path
) -> None:
    first, second = talk.open(), talk.open()  # alpha opened them; next is beta
    for conv_id in (first, second):
        talk("next", conv_id, "alpha")
    proc = subprocess.Popen(
        [sys.executable, "-m", "talkroom", "--root", str(talk.root.path), "mcp", "--as", "beta"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "server.log").open("w"),
    )
    hello = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    }
    try:
        _rpc(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
        assert "result" in _answer(proc, 1)
        _rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        on_first = {"name": "wait_for_turn", "arguments": {"conversation": first, "timeout": 3600}}
        _rpc(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": on_first})
        cancel = {"requestId": 2, "reason": "test"}
        _rpc(proc, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": cancel})
        _rpc(proc, {"jsonrpc": "2.0", "id": 3, "method": "ping"})
        _answer(proc, 3)
        talk("next", second, "beta")
        # One wait at a time: had the cancelled wait on `first` gone on (for an hour), this
        # wait on `second` could not have started, and would say "not your turn" at 60 s.
        on_second = {"name": "wait_for_turn", "arguments": {"conversation": second, "timeout": 60}}
        _rpc(proc, {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": on_second})
        got = _answer(proc, 4)["result"]["structuredContent"]
        assert got["your_turn"] is True, got
        _rpc(proc, {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": on_first})
        _rpc(proc, {"jsonrpc": "2.0", "id": 6, "method": "ping"})
        _answer(proc, 6)
        assert proc.stdin is not None
        proc.stdin.close()  # the client goes away in the middle of an hour's wait
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def _strings(value: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _strings(v, k)]
    if isinstance(value, list):
        return [p for v in value for p in _strings(v, key)]
    return []


async def test_hostile_text_comes_back_as_inert_data(tmp_path: Path) -> None:
    root, live = hostile.build(tmp_path / "hostile")
    async with server(root.path, "alpha", tmp_path / "server.log") as alpha:
        results = [
            await alpha.call_tool("list_conversations", {}),
            await alpha.call_tool("show_conversation", {"conversation": live}),
            await alpha.call_tool("search", {"query": "evil"}),
            await alpha.call_tool("decisions", {}),
            await alpha.call_tool("wait_for_turn", {"timeout": 0}),
        ]
        refused = await alpha.call_tool(
            "reply", {"conversation": "20261121-110000-paused", "body": "x", "next": "beta"}
        )
    found = [data(r) for r in results]
    assert found[4]["your_turn"] is True  # `next` names alpha there
    strings = [p for f in found for p in _strings(f)]
    assert any("pwned-title" in s for _, s in strings)  # the text is there, as data
    for key, text in strings:
        assert is_clean(text) if key == "body" else sanitise_line(text) == text, (key, text)
    for result in [*results, refused]:
        assert isinstance(result.content[0], types.TextContent)
        assert is_clean(result.content[0].text.replace("\n", ""))
    text, code = refusal(refused)
    assert code == 1 and "is paused" in text and sanitise_line(text) == text


def test_the_server_refuses_a_bad_name_and_a_missing_root(tmp_path: Path) -> None:
    bad = run_talkroom("--root", str(tmp_path), "mcp", "--as", "Not A Name!")
    assert bad.returncode == 2 and bad.stderr.decode().count("\n") == 1
    assert b"invalid --as name" in bad.stderr
    reserved = run_talkroom("--root", str(tmp_path), "mcp", "--as", "moderator")
    assert reserved.returncode == 2 and b"reserved" in reserved.stderr
    nowhere = run_talkroom("mcp", "--as", "beta")  # the test's folder has no .talks
    assert nowhere.returncode == 2 and b"no talk root is chosen" in nowhere.stderr


def test_guide_mcp_configures_each_cli(talk: Talk) -> None:
    out = talk("guide", "--mcp", "--as", "beta")
    assert out.code == 0, out
    root = str(talk.root.path)
    line = next(ln.strip() for ln in out.out.splitlines() if "claude mcp add" in ln)
    argv = line.split(" -- ", 1)[1].split()
    assert argv[-5:] == ["mcp", "--as", "beta", "--root", root]
    blocks = re.findall(r"\n    \{\n.*?\n    \}\n", out.out, re.S)
    claude, gemini = (json.loads(b)["mcpServers"]["talkroom"] for b in blocks)
    assert [claude["command"], *claude["args"]] == argv and claude["type"] == "stdio"
    assert [gemini["command"], *gemini["args"]] == argv and gemini["trust"] is True
    toml = re.search(r"\n    \[mcp_servers\.talkroom\]\n(    .*\n)+", out.out)
    assert toml is not None
    codex = tomllib.loads(toml.group(0).replace("\n    ", "\n"))["mcp_servers"]["talkroom"]
    assert [codex["command"], *codex["args"]] == argv and codex["tool_timeout_sec"] == 600
    assert "gemini mcp add -s user --trust --timeout 600000 talkroom " + " ".join(argv) in out.out
    placeholder = talk("guide", "--mcp")
    assert "--as NAME" in placeholder.out and "Replace NAME" in placeholder.out
    misplaced = talk("guide", "--as", "beta")
    assert misplaced.code == 2 and "--as goes with --mcp" in misplaced.err


def test_the_helper_loads_no_part_of_the_sdk(talk: Talk) -> None:
    assert {"mcp", "mcp_types", "pydantic", "anyio"} <= set(HEAVY)
    conv_id = talk.open()
    root = str(talk.root.path)
    for args in (
        ["reply", conv_id, "--as", "beta", "--next", "alpha", "--body", "y"],
        ["show", conv_id, "--last", "1"],
        ["list"],
        ["search", "y"],
        ["guide", "--mcp", "--as", "beta"],
    ):
        assert modules_loaded_by("--root", root, *args) == (0, []), args


def test_text_that_is_not_utf8_is_refused_before_anything_is_written(root: Root) -> None:
    # The SDK drops such a message before a tool sees it; another transport might not.
    from talkroom.agentmcp import tools

    agent = tools.Agent(root, "test-host", "beta")
    got = tools.call(agent, "open_conversation", {"topic": "t", "with": "a", "body": "a\ud800b"})
    assert isinstance(got, tools.Failure) and got.code == 2
    assert "the argument 'body' is not valid text (a lone surrogate at offset 1)" in got.message
    assert not root.conversations.exists() or not any(root.conversations.iterdir())


def test_a_bug_in_a_tool_is_one_line_and_keeps_the_body(
    root: Root, monkeypatch: pytest.MonkeyPatch, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from talkroom.agentmcp import tools

    def broken(agent: tools.Agent, args: dict[str, Any], cancel: object) -> dict[str, Any]:
        raise KeyError("\x1b[2J")  # no real input reaches this: a bug stands in for one

    monkeypatch.setattr(tools.TOOLS["reply"], "run", broken)
    agent = tools.Agent(root, "test-host", "beta")
    got = tools.call(agent, "reply", {"conversation": "x", "body": "my words", "next": "a"})
    assert isinstance(got, tools.Failure) and got.code == 3
    assert got.message.startswith("talkroom: reply failed (KeyError); this is a bug")
    saved = Path(got.message.rsplit("saved to ", 1)[1])
    assert saved.read_text() == "my words" and saved.is_relative_to(isolated)
    assert "Traceback" in capsys.readouterr().err
