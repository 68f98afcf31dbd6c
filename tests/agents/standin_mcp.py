"""The stand-in's MCP side: when a CLI offers talkroom's MCP tools, a wake-up prompt is
answered with a call of the `reply` tool (after Claude Code's ToolSearch, which loads the
schema of a deferred tool) instead of the shell command.

`tool_call(cli, body)` is asked first by `standin.decide`; None leaves the request to the
shell-command script.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MCP_SERVER", "offered", "tool_call", "wake_up"]

MCP_SERVER = "talkroom"  # the server's name in the CLI's configuration
_WAKE = re.compile(
    r"talkroom reply (?P<id>[a-z0-9][a-z0-9.-]*) --as\s+'?(?P<name>[A-Za-z0-9_.-]+)'?"
    r"(?:\s+--next\s+'?(?P<next>[A-Za-z0-9_.,-]+))?"
)


def _texts(content: Any) -> str:
    """The text parts of a message's content, joined (tool results are not text parts)."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return "\n".join(
        str(p.get("text") or p.get("input_text") or "")
        for p in parts
        if isinstance(p, dict) and p.get("type", "text") in ("text", "input_text")
    )


def _turns(cli: str, body: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """The conversation as (role, text, names of the tools it called), oldest first."""
    out: list[tuple[str, str, list[str]]] = []
    if cli == "claude":
        for m in body.get("messages", []):
            content = m.get("content")
            calls = [
                str(b.get("name"))
                for b in (content if isinstance(content, list) else [])
                if isinstance(b, dict) and b.get("type") == "tool_use"
            ]
            out.append((str(m.get("role")), _texts(content), calls))
    elif cli == "codex":
        for item in body.get("input", []) if isinstance(body.get("input"), list) else []:
            if item.get("type") == "message":
                out.append((str(item.get("role")), _texts(item.get("content")), []))
            elif item.get("type") == "function_call":
                out.append(("assistant", "", [str(item.get("name"))]))
    else:
        for c in body.get("contents", []):
            parts = c.get("parts", [])
            calls = [str(p["functionCall"].get("name")) for p in parts if "functionCall" in p]
            texts = "\n".join(str(p.get("text", "")) for p in parts if "text" in p)
            out.append((str(c.get("role")), texts, calls))
    return out


def _referenced(body: dict[str, Any]) -> set[str]:
    """The deferred tools a ToolSearch result has loaded (its `tool_reference` blocks)."""
    names: set[str] = set()
    for m in body.get("messages", []):
        for block in m.get("content") if isinstance(m.get("content"), list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                inner = block.get("content")
                for ref in inner if isinstance(inner, list) else []:
                    if isinstance(ref, dict) and ref.get("type") == "tool_reference":
                        names.add(str(ref.get("tool_name")))
    return names


def offered(cli: str, body: dict[str, Any]) -> list[str]:
    """The names of the tools this request lets the model call: Claude Code's deferred
    tools only once a ToolSearch result has loaded them."""
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    if cli == "gemini":
        return [
            str(d.get("name"))
            for t in tools
            if isinstance(t, dict)
            for d in t.get("functionDeclarations", [])
        ]
    loaded = _referenced(body) if cli == "claude" else set()
    return [
        str(t.get("name"))
        for t in tools
        if isinstance(t, dict)
        and t.get("name")
        and (not t.get("defer_loading") or t.get("name") in loaded)
    ]


def _is_reply(name: str) -> bool:
    """True for talkroom's `reply` tool, however the CLI prefixes it."""
    return name == "reply" or (
        MCP_SERVER in name and re.search(r"(^|_|\.)reply$", name) is not None
    )


def wake_up(cli: str, body: dict[str, Any]) -> re.Match[str] | None:
    """The wake-up line this request still has to act on: the last user text holding one,
    with no call of the reply tool since."""
    for role, text, calls in reversed(_turns(cli, body)):
        if any(_is_reply(c) for c in calls):
            return None
        if role == "user":
            found = list(_WAKE.finditer(text))
            if found:
                return found[-1]
    return None


def tool_call(cli: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(tool name, arguments) to answer with, or None: talkroom's reply tool for a pending
    wake-up line, or first ToolSearch when Claude Code has only deferred it."""
    line = wake_up(cli, body)
    if line is None:
        return None
    loaded = offered(cli, body)
    reply = next((n for n in loaded if _is_reply(n)), None)
    if reply is not None:
        return reply, {
            "conversation": line["id"],
            "next": line["next"] or "moderator",
            "body": f"reply from {line['name']} via {cli} over MCP",
        }
    deferred = f"mcp__{MCP_SERVER}__reply"
    if cli == "claude" and "ToolSearch" in loaded and deferred in json.dumps(body):
        searched = any("ToolSearch" in calls for _, _, calls in _turns(cli, body)[-2:])
        if not searched:
            return "ToolSearch", {"query": f"select:{deferred}"}
    return None
