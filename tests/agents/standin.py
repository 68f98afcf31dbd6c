"""A model stand-in: one local HTTP server that answers Claude Code, Codex and Gemini CLI.

The conversation is scripted. A prompt holding a talkroom wake-up line gets one shell tool
call running that line's `talkroom reply ...` command with a `--body`; the tool's result gets
"done"; anything else gets a short text. A think delay (first stream event, wait, the rest)
keeps the agent visibly busy. Run: `python -m tests.agents.standin --port 0 --log FILE`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.agents.standin_mcp import tool_call

__all__ = ["Answer", "StandIn", "decide", "reply_command"]

_REPLY_RE = re.compile(r"talkroom reply [^\r\n]*")
_AS_RE = re.compile(r"--as\s+'?([A-Za-z0-9_.-]+)")
_ids = itertools.count(1)


def reply_command(text: str, cli: str) -> str | None:
    """The wake-up line's `talkroom reply ...` command with a `--body`, or None."""
    found = _REPLY_RE.findall(text)
    if not found:
        return None
    command = found[-1].rstrip()
    name = _AS_RE.search(command)
    return f"{command} --body 'reply from {name.group(1) if name else 'agent'} via {cli}'"


@dataclass(frozen=True)
class Answer:
    """What to answer: a text, one shell tool call running `command`, or one call of
    another tool (an MCP tool: standin_mcp) with `arguments`."""

    text: str = ""
    command: str | None = None
    prompt: str = ""  # the text the answer was chosen from, for the log
    tool: str | None = None
    arguments: dict[str, Any] | None = None


def _texts(content: Any) -> list[str]:
    """Every text in a message's content (a string, or a list of parts or blocks)."""
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict):
            for key in ("text", "input_text"):
                if isinstance(part.get(key), str):
                    out.append(part[key])
    return out


def _last_turn(cli: str, body: dict[str, Any]) -> tuple[str, bool]:
    """(the last user message's text, whether a tool result came in after it)."""
    if cli == "claude":
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        content = users[-1].get("content", "") if users else ""
        blocks = content if isinstance(content, list) else []
        result = any(isinstance(b, dict) and b.get("type") == "tool_result" for b in blocks)
        return "\n".join(_texts(content)), result
    if cli == "codex":
        text, result = "", False
        for item in body.get("input", []) if isinstance(body.get("input"), list) else []:
            if item.get("type") == "message" and item.get("role") == "user":
                text, result = "\n".join(_texts(item.get("content"))), False
            elif item.get("type") in ("function_call_output", "custom_tool_call_output"):
                text, result = "", True  # the prompt was answered already
        return text, result
    users = [c for c in body.get("contents", []) if c.get("role") == "user"]
    parts = users[-1].get("parts", []) if users else []
    result = any(isinstance(p, dict) and "functionResponse" in p for p in parts)
    return "\n".join(_texts(parts)), result


def decide(cli: str, body: dict[str, Any]) -> Answer:
    """The scripted answer to one model request from `cli`."""
    text, result = _last_turn(cli, body)
    prompt = text[-400:]
    mcp = tool_call(cli, body)  # the CLI offers talkroom's MCP tools: use them
    if mcp is not None:
        return Answer(tool=mcp[0], arguments=mcp[1], prompt=prompt)
    command = reply_command(text, cli)
    if command:
        return Answer(command=command, prompt=prompt)
    if result:
        return Answer(text="done", prompt=prompt)
    return Answer(text="Stand-in here: nothing to do.", prompt=prompt)


def sample(schema: Any) -> Any:
    """A value that fits a JSON schema (first enum value, but "user" where offered)."""
    if not isinstance(schema, dict):
        return "stand-in"
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return sample(schema[key][0])
    if schema.get("enum"):
        return "user" if "user" in schema["enum"] else schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    kind = (kind[0] if isinstance(kind, list) else str(kind)).lower()
    if kind == "object":
        return {k: sample(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return 0
    if kind == "boolean":
        return False
    return "stand-in"


def _schema(cli: str, body: dict[str, Any]) -> Any:
    """The JSON schema a side request asks its answer to follow, or None."""
    if cli == "claude":
        fmt = (body.get("output_config") or {}).get("format") or {}
        return (
            fmt.get("schema")
            or (fmt.get("json_schema") or {}).get("schema")
            or fmt.get("json_schema")
        )
    if cli == "codex":
        return ((body.get("text") or {}).get("format") or {}).get("schema")
    config = body.get("generationConfig") or {}
    return config.get("responseJsonSchema") or config.get("responseSchema")


def _sse(event: str | None, data: dict[str, Any]) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _claude_stream(answer: Answer, model: str) -> Iterator[bytes]:
    """Anthropic Messages SSE events; the first is message_start."""
    usage = {"input_tokens": 10, "output_tokens": 1}
    yield _sse(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": f"msg_{next(_ids)}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage,
            },
        },
    )
    if answer.command or answer.tool:
        name = answer.tool or "Bash"
        block = {"type": "tool_use", "id": f"toolu_{next(_ids)}", "name": name, "input": {}}
        arguments = answer.arguments if answer.tool else None
        delta = {
            "type": "input_json_delta",
            "partial_json": json.dumps(
                arguments or {"command": answer.command, "description": "Reply in talkroom"}
            ),
        }
        stop = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": answer.text}
        stop = "end_turn"
    yield _sse(
        "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    )
    yield _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
    yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    yield _sse(
        "message_delta",
        {
            "type": "message_delta",
            "usage": {"output_tokens": 5},
            "delta": {"stop_reason": stop, "stop_sequence": None},
        },
    )
    yield _sse("message_stop", {"type": "message_stop"})


def _claude_message(text: str, model: str) -> dict[str, Any]:
    return {
        "id": f"msg_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def _codex_stream(answer: Answer, tools: list[str], escalate: bool = False) -> Iterator[bytes]:
    """OpenAI Responses SSE events; the first is response.created."""
    rid = f"resp_{next(_ids)}"
    yield _sse("response.created", {"type": "response.created", "response": {"id": rid}})
    if answer.command or answer.tool:
        if answer.tool:
            name, args = answer.tool, dict(answer.arguments or {})
        elif "exec_command" in tools or not tools:
            name, args = "exec_command", {"cmd": answer.command, "login": False}
            if escalate:
                args.update(
                    sandbox_permissions="require_escalated", justification="Reply in talkroom?"
                )
        elif "shell_command" in tools:
            name, args = "shell_command", {"command": answer.command, "login": False}
        else:
            name, args = "shell", {"command": ["bash", "-c", answer.command]}
        item = {
            "type": "function_call",
            "id": f"fc_{next(_ids)}",
            "call_id": f"call_{next(_ids)}",
            "name": name,
            "arguments": json.dumps(args),
        }
        yield _sse(
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": item},
        )
    else:
        mid = f"msg_{next(_ids)}"
        yield _sse(
            "response.output_item.added",
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"type": "message", "role": "assistant", "id": mid, "content": []},
            },
        )
        yield _sse(
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "item_id": mid,
                "output_index": 0,
                "content_index": 0,
                "delta": answer.text,
            },
        )
        item = {
            "type": "message",
            "role": "assistant",
            "id": mid,
            "content": [{"type": "output_text", "text": answer.text, "annotations": []}],
        }
    yield _sse(
        "response.output_item.done",
        {"type": "response.output_item.done", "output_index": 0, "item": item},
    )
    yield _sse(
        "response.completed",
        {
            "type": "response.completed",
            "response": {
                "id": rid,
                "usage": {
                    "input_tokens": 10,
                    "input_tokens_details": None,
                    "output_tokens": 5,
                    "output_tokens_details": None,
                    "total_tokens": 15,
                },
            },
        },
    )


def _gemini_chunk(parts: list[dict[str, Any]], model: str, done: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if done:
        candidate["finishReason"] = "STOP"
    return {
        "candidates": [candidate],
        "modelVersion": model,
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
    }


def _gemini_parts(answer: Answer) -> list[dict[str, Any]]:
    if answer.tool:
        return [{"functionCall": {"name": answer.tool, "args": answer.arguments or {}}}]
    if answer.command:
        return [
            {
                "functionCall": {
                    "name": "run_shell_command",
                    "args": {"command": answer.command, "description": "Reply in talkroom"},
                }
            }
        ]
    return [{"text": answer.text}]


def _gemini_stream(answer: Answer, model: str) -> Iterator[bytes]:
    """Gemini streamGenerateContent SSE chunks; the first holds only an empty thought."""
    yield _sse(None, _gemini_chunk([{"text": "", "thought": True}], model, done=False))
    yield _sse(None, _gemini_chunk(_gemini_parts(answer), model, done=True))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: every request goes to the JSON log instead."""

    def do_HEAD(self) -> None:
        """A liveness probe (Claude Code sends HEAD / at start)."""
        self.server.owner.record(self, "HEAD", None, "ok")  # logged before it is answered
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        """Model lists, the request log and anything else."""
        path = self.path.split("?", 1)[0]
        owner = self.server.owner
        if path == "/_log":
            self._json(200, owner.requests)
            return
        if path.endswith("/models"):
            models = [
                {
                    "id": m,
                    "type": "model",
                    "object": "model",
                    "display_name": m,
                    "name": f"models/{m}",
                }
                for m in ("stand-in",)
            ]
            self._json(200, {"object": "list", "data": models, "models": [], "has_more": False})
            owner.record(self, "GET", None, "model list")
            return
        self._json(404, {"error": {"type": "not_found", "message": f"no {path}"}})
        owner.record(self, "GET", None, "404")

    def do_POST(self) -> None:
        """The model APIs, token counts and `/_control`."""
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        owner = self.server.owner
        if owner.dump is not None:
            owner.dump.mkdir(parents=True, exist_ok=True)
            name = f"{time.time():.3f}-{path.strip('/').replace('/', '_')[:60]}.json"
            (owner.dump / name).write_text(json.dumps(body, indent=1))
        if path == "/_control":
            if "think" in body:
                owner.think = float(body["think"])
            if "escalate" in body:
                owner.escalate = bool(body["escalate"])
            self._json(200, {"think": owner.think, "escalate": owner.escalate})
            return
        cli = owner.cli_of(path)
        model = str(body.get("model") or path.rsplit("/", 1)[-1].split(":", 1)[0])
        if path.endswith("count_tokens") or path.endswith(":countTokens"):
            self._json(200, {"input_tokens": 10, "totalTokens": 10})
            owner.record(self, "POST", cli, "token count")
            return
        if cli is None:
            self._json(404, {"error": {"type": "not_found", "message": f"no {path}"}})
            owner.record(self, "POST", None, "404")
            return
        schema = _schema(cli, body)
        if schema is not None:
            text = json.dumps(sample(schema))
            owner.record(self, "POST", cli, f"json {text}", side=True)
            if cli == "codex":
                self._stream(_codex_stream(Answer(text=text), []), think=False)
                return
            reply = (
                _claude_message(text, model)
                if cli == "claude"
                else _gemini_chunk([{"text": text}], model, done=True)
            )
            self._json(200, reply)
            return
        answer = decide(cli, body)
        what = f"tool {answer.command}" if answer.command else f"text {answer.text}"
        if answer.tool:
            what = f"call {answer.tool} {json.dumps(answer.arguments)}"
        thread = (body.get("client_metadata") or {}).get("thread_id")  # Codex only
        owner.record(
            self,
            "POST",
            cli,
            what,
            command=answer.command,
            prompt=answer.prompt,
            thread=thread,
            tool=answer.tool,
            arguments=answer.arguments,
        )
        streaming = cli == "codex" or body.get("stream") or "streamGenerate" in path
        if not streaming:
            reply = (
                _claude_message(answer.text, model)
                if cli == "claude"
                else _gemini_chunk(_gemini_parts(answer), model, done=True)
            )
            self._json(200, reply)
        elif cli == "claude":
            self._stream(_claude_stream(answer, model))
        elif cli == "codex":
            tools = [str(t.get("name")) for t in body.get("tools", []) if isinstance(t, dict)]
            self._stream(_codex_stream(answer, tools, owner.escalate))
        else:
            self._stream(_gemini_stream(answer, model))

    def _json(self, status: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _stream(self, events: Iterator[bytes], think: bool = True) -> None:
        """Send the first event, think, then the rest; the connection closes at the end."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for number, event in enumerate(events):
                if number == 1 and think and self.server.owner.think > 0:
                    time.sleep(self.server.owner.think)
                self.wfile.write(event)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the CLI gave up on this answer (interrupted, or stopped)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: StandIn


class StandIn:
    """The stand-in server on 127.0.0.1, run on a thread; `requests` is its log."""

    def __init__(
        self, port: int = 0, log: Path | None = None, think: float = 0.0, dump: Path | None = None
    ) -> None:
        self.think = think
        self.log = log
        self.dump = dump  # a folder for every request body, to debug a CLI's traffic
        self.escalate = False  # Codex: ask for unsandboxed runs (brings up its approval)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandIn:
        """Serve on a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    @staticmethod
    def cli_of(path: str) -> str | None:
        """Which CLI a model request path belongs to."""
        if path.startswith("/v1/messages"):
            return "claude"
        if path.endswith("/responses"):
            return "codex"
        if path.startswith("/v1beta/models/") or path.startswith("/v1/models/"):
            return "gemini"
        return None

    def record(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        cli: str | None,
        answered: str,
        **extra: Any,
    ) -> None:
        """Add one request to `requests` and, as a JSON line, to the log file."""
        entry = {
            "time": time.time(),
            "method": method,
            "path": handler.path,
            "cli": cli,
            "user_agent": handler.headers.get("User-Agent", "")[:80],
            "answered": answered[:300],
            **{k: v for k, v in extra.items() if v},
        }
        with self._lock:
            self.requests.append(entry)
            if self.log is not None:
                with self.log.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry) + "\n")

    def tool_calls(self, cli: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """The (tool, arguments) of every non-shell tool call answered so far."""
        return [
            (r["tool"], r.get("arguments") or {})
            for r in list(self.requests)
            if r.get("tool") and (cli is None or r["cli"] == cli)
        ]

    def commands(self, cli: str | None = None) -> list[str]:
        """The reply commands answered so far (for one CLI, or all)."""
        return [
            r["command"]
            for r in list(self.requests)
            if r.get("command") and (cli is None or r["cli"] == cli)
        ]


def main(argv: list[str] | None = None) -> int:
    """Run the stand-in until interrupted; prints `port N` first."""
    parser = argparse.ArgumentParser(prog="python -m tests.agents.standin")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--think", type=float, default=0.0)
    parser.add_argument("--dump", type=Path, help="save every request body in this folder")
    args = parser.parse_args(argv)
    standin = StandIn(args.port, args.log, args.think, args.dump)
    print(f"port {standin.port}", flush=True)
    try:
        standin._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
