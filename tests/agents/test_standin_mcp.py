"""The stand-in answers a wake-up with talkroom's MCP reply tool when a CLI offers it (no
real CLI needed): after Claude Code's ToolSearch for a deferred tool, directly for Gemini
CLI, and with the shell command as before when no such tool is offered."""

from __future__ import annotations

from typing import Any

from tests.agents.standin import decide

LINE = (
    "# talkroom: your turn in 20261201-000000-test (turn 2/20): read /p/t.md, then run: "
    "talkroom reply 20261201-000000-test --as beta --next alpha --root /p/root"
)
ARGS = {
    "conversation": "20261201-000000-test",
    "next": "alpha",
    "body": "reply from beta via {cli} over MCP",
}


def claude(*messages: dict[str, Any], loaded: bool = False) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": "mcp__talkroom__reply", "defer_loading": True}
    tools = [{"name": "Bash"}, {"name": "ToolSearch"}, *([tool] if loaded else [])]
    deferred = {"role": "system", "content": "deferred tools:\nmcp__talkroom__reply"}
    wake = {"role": "user", "content": [{"type": "text", "text": LINE}]}
    return {"stream": True, "tools": tools, "messages": [wake, deferred, *messages]}


def test_claude_loads_the_deferred_tool_then_calls_it() -> None:
    first = decide("claude", claude())
    assert (first.tool, first.arguments) == ("ToolSearch", {"query": "select:mcp__talkroom__reply"})
    search = {"role": "assistant", "content": [{"type": "tool_use", "name": "ToolSearch"}]}
    reference = {"type": "tool_reference", "tool_name": "mcp__talkroom__reply"}
    loaded = {
        "role": "user",
        "content": [
            {"type": "tool_result", "content": [reference]},
            {"type": "text", "text": "ok"},
        ],
    }
    second = decide("claude", claude(search, loaded, loaded=True))
    assert (second.tool, second.command) == ("mcp__talkroom__reply", None)
    assert second.arguments == {**ARGS, "body": ARGS["body"].format(cli="claude")}
    called = {"role": "assistant", "content": [{"type": "tool_use", "name": second.tool}]}
    result = {"role": "user", "content": [{"type": "tool_result", "content": "done"}]}
    third = decide("claude", claude(search, loaded, called, result, loaded=True))
    assert (third.tool, third.command, third.text) == (None, None, "done")


def test_gemini_calls_the_tool_it_declares() -> None:
    tools = [
        {"functionDeclarations": [{"name": "run_shell_command"}, {"name": "mcp_talkroom_reply"}]}
    ]
    body = {"tools": tools, "contents": [{"role": "user", "parts": [{"text": LINE}]}]}
    answer = decide("gemini", body)
    assert answer.tool == "mcp_talkroom_reply"
    assert answer.arguments == {**ARGS, "body": ARGS["body"].format(cli="gemini")}


def test_without_talkroom_tools_the_shell_command_is_used() -> None:
    tools = [{"functionDeclarations": [{"name": "run_shell_command"}, {"name": "other_reply"}]}]
    body = {"tools": tools, "contents": [{"role": "user", "parts": [{"text": LINE}]}]}
    answer = decide("gemini", body)
    assert answer.tool is None and answer.command is not None
    assert answer.command.startswith("talkroom reply 20261201-000000-test --as beta")
