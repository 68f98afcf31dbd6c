"""The model stand-in answers each CLI's API the scripted way (no real CLI needed)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.standin import StandIn, reply_command

LINE = (
    "# talkroom: your turn in 20261201-000000-test (turn 2/20): read /p/t.md, then run: "
    "talkroom reply 20261201-000000-test --as beta --next alpha --root '/p/a root'"
)
COMMAND = (
    "talkroom reply 20261201-000000-test --as beta --next alpha --root '/p/a root' "
    "--body 'reply from beta via {cli}'"
)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A stand-in on a thread."""
    server = StandIn().start()
    yield server
    server.stop()


def post(server: StandIn, path: str, body: dict[str, object]) -> str:
    """POST JSON; the response body as text."""
    request = urllib.request.Request(
        server.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def events(text: str) -> list[dict[str, object]]:
    """The JSON payloads of an SSE stream."""
    return [json.loads(row[6:]) for row in text.splitlines() if row.startswith("data: ")]


def test_reply_command_ignores_the_prefix() -> None:
    assert reply_command("# " + LINE, "codex") == COMMAND.format(cli="codex")
    short = "talkroom: your turn, run: talkroom reply X --as a --next b"
    assert reply_command(short, "gemini") == (
        "talkroom reply X --as a --next b --body 'reply from a via gemini'"
    )
    assert reply_command("hello", "claude") is None


def test_claude_tool_call_then_done(standin: StandIn) -> None:
    body = {
        "stream": True,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": LINE}]},
            {"role": "system", "content": "a reminder after the user's turn"},
        ],
    }
    got = events(post(standin, "/v1/messages?beta=true", body))
    start = next(e for e in got if e["type"] == "content_block_start")
    assert start["content_block"]["name"] == "Bash"  # type: ignore[index]
    delta = next(e for e in got if e["type"] == "content_block_delta")
    assert json.loads(delta["delta"]["partial_json"])["command"] == COMMAND.format(cli="claude")  # type: ignore[index]
    result = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}],
    }
    body["messages"] = [*body["messages"], {"role": "assistant", "content": []}, result]  # type: ignore[list-item]
    assert "done" in post(standin, "/v1/messages", body)


def test_codex_function_call_title_and_done(standin: StandIn) -> None:
    wake = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": LINE}]}
    got = events(
        post(
            standin,
            "/v1/responses",
            {"input": [wake], "tools": [{"type": "function", "name": "exec_command"}]},
        )
    )
    assert [e["type"] for e in got] == [
        "response.created",
        "response.output_item.added",
        "response.output_item.done",
        "response.completed",
    ]
    item = got[2]["item"]
    assert item["name"] == "exec_command"  # type: ignore[index]
    assert json.loads(item["arguments"]) == {"cmd": COMMAND.format(cli="codex"), "login": False}  # type: ignore[index]
    title = {
        "input": [wake],
        "text": {
            "format": {
                "type": "json_schema",
                "schema": {"type": "object", "properties": {"title": {"type": "string"}}},
            }
        },
    }
    assert '{\\"title\\": \\"stand-in\\"}' in post(standin, "/v1/responses", title)
    output = {"type": "function_call_output", "call_id": "c", "output": "ok"}
    assert "done" in post(standin, "/v1/responses", {"input": [wake, item, output]})


def test_gemini_function_call_and_router(standin: StandIn) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": LINE}]}]}
    got = events(post(standin, "/v1beta/models/m:streamGenerateContent?alt=sse", body))
    call = got[-1]["candidates"][0]["content"]["parts"][0]["functionCall"]  # type: ignore[index]
    assert call == {
        "name": "run_shell_command",
        "args": {"command": COMMAND.format(cli="gemini"), "description": "Reply in talkroom"},
    }
    router = {
        "contents": [],
        "generationConfig": {
            "responseJsonSchema": {
                "type": "object",
                "properties": {"model_choice": {"enum": ["flash", "pro"]}},
            }
        },
    }
    answer = json.loads(post(standin, "/v1beta/models/m:generateContent", router))
    assert json.loads(answer["candidates"][0]["content"]["parts"][0]["text"]) == {
        "model_choice": "flash"
    }


def test_think_delay_is_settable_at_run_time(standin: StandIn) -> None:
    assert json.loads(post(standin, "/_control", {"think": 0.4}))["think"] == 0.4
    start = time.monotonic()
    post(standin, "/v1/messages", {"stream": True, "messages": [{"role": "user", "content": "hi"}]})
    assert time.monotonic() - start >= 0.4
    logged = standin.requests[-1]
    assert logged["cli"] == "claude" and logged["answered"].startswith("text ")


def test_command_line_prints_its_port(tmp_path: Path) -> None:
    log = tmp_path / "standin.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.agents.standin", "--port", "0", "--log", str(log)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[1])
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", method="HEAD")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        assert json.loads(log.read_text().splitlines()[0])["method"] == "HEAD"
    finally:
        proc.terminate()
        proc.wait(10)
