"""Waking an agent without typing: Claude Code's per-session inbox socket, `codex queue`
(docs/protocol.md section 6.3).

Both start a turn in an idle session, queue the message in a busy one, and leave a human's
half-typed draft alone. A definite failure (no session record, no socket, an unknown
thread: nothing reached the agent) returns None, and the watcher types instead. Once the
message may have been taken, nothing is ever typed after it: at most once still holds, and
what the pane shows afterwards decides the outcome.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from talkroom.core.errors import Unreadable
from talkroom.core.files import read_capped
from talkroom.watch.profiles import Profile
from talkroom.watch.registry import Session
from talkroom.watch.tmux import capture_raw

EVIDENCE_WAIT = 3.0  # seconds to look for the agent taking a message it was sent
RECORD_CAP = 64 * 1024
HELD = (
    "deferred:held for a person (the session asks whether to deliver it; set "
    "crossSessionInbound to accept in its settings)"
)


def _descends_from(pid: int, ancestor: int) -> bool:
    """True when `pid` is `ancestor` or one of its descendants (Linux /proc)."""
    for _ in range(16):
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            return False
        fields = stat[stat.rfind(b")") + 2 :].split()
        pid = int(fields[1]) if len(fields) > 1 else 0
        if pid <= 1:
            return False
    return False


def claude_record(session: Session) -> dict[str, object] | None:
    """The Claude Code session record whose process runs in the registered pane."""
    pane = session.pane
    if pane is None:
        return None  # a one-shot command session: no pane, no Claude Code in one
    folder = Path(session.agent_dir) / "sessions"
    try:
        names = sorted(os.listdir(folder))[:500]
    except OSError:
        return None
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            record = json.loads(read_capped(folder / name, RECORD_CAP))
        except (OSError, Unreadable, ValueError):
            continue
        if not isinstance(record, dict):
            continue
        pid, where = record.get("pid"), str(record.get("tmux", ""))
        if (
            isinstance(pid, int)
            and where.endswith(f".{pane.pane_id}")
            and _descends_from(pid, pane.pane_pid)
        ):
            return record
    return None


def inbound_setting(session: Session) -> str:
    """Claude Code's `crossSessionInbound` setting for this session ("" when unset)."""
    try:
        settings = json.loads(read_capped(Path(session.agent_dir) / "settings.json", RECORD_CAP))
    except (OSError, Unreadable, ValueError):
        return ""
    value = settings.get("crossSessionInbound") if isinstance(settings, dict) else None
    return value if isinstance(value, str) else ""


def _evidence(
    session: Session,
    profile: Profile,
    was_busy: bool,
    held: Callable[[str], bool],
    status: Callable[[], str] = lambda: "",
) -> str:
    """What the agent shows after a message was sent: the outcome to record. `status` is
    what the agent says of itself, where it does (Claude Code's session record)."""
    assert session.pane is not None
    deadline = time.monotonic() + EVIDENCE_WAIT
    while True:
        text = capture_raw(session.pane) or ""
        if held(text.lower()):
            return HELD
        # While someone types in Claude Code's prompt its pane hides the busy marker;
        # its session record still says so.
        if was_busy or profile.state(text) == "busy" or status() == "busy":
            return "delivered"
        if time.monotonic() >= deadline:
            return "unknown:sent, but no sign of a turn"
        time.sleep(0.05)


def inbox(
    session: Session, profile: Profile, line: str, on_intent: Callable[[], bool]
) -> str | None:
    """Send `line` to Claude Code's inbox socket; the outcome, or None when nothing could
    reach it (no record of a session in that pane, no socket). `on_intent` records the
    attempt durably first; False means the assignment moved on ("skipped:superseded")."""
    record = claude_record(session)
    if record is None or inbound_setting(session) == "refuse":
        return None
    path, session_id = record.get("messagingSocketPath"), record.get("sessionId")
    if not isinstance(path, str) or not isinstance(session_id, str) or not os.path.exists(path):
        return None
    if not on_intent():
        return "skipped:superseded"
    was_busy = record.get("status") == "busy"
    frame = {
        "type": "user",
        "session_id": session_id,
        "message": {"role": "user", "content": line},
        "msg_id": str(uuid.uuid4()),
    }
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2.0)
            conn.connect(path)
            # Connected: from here on the message may be taken, so no fallback to typing.
            conn.sendall((json.dumps(frame, ensure_ascii=True) + "\n").encode())
    except (FileNotFoundError, ConnectionRefusedError):
        return None
    except OSError as exc:
        return f"unknown:the inbox socket failed ({exc.strerror or exc})"

    def status() -> str:
        again = claude_record(session)
        return str(again.get("status", "")) if again is not None else ""

    return _evidence(
        session,
        profile,
        was_busy,
        lambda text: "held message" in text or "deliver this message" in text,
        status,
    )


def queue(
    session: Session, profile: Profile, line: str, on_intent: Callable[[], bool]
) -> str | None:
    """Hand `line` to `codex queue` for the session's thread; the outcome, or None when
    nothing could reach it (no thread recorded, no codex command, an unknown thread)."""
    if session.pane is None or not session.thread or not session.agent_bin:
        return None
    if not os.path.exists(session.agent_bin):
        return None
    if not on_intent():
        return "skipped:superseded"
    env = {**os.environ, "CODEX_HOME": session.agent_dir}
    env["PATH"] = os.pathsep.join([str(Path(session.agent_bin).parent), env.get("PATH", "")])
    was_busy = profile.state(capture_raw(session.pane) or "") == "busy"
    try:
        result = subprocess.run(
            [session.agent_bin, "queue", "--thread", session.thread, "--message", line],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except FileNotFoundError:
        return None
    except subprocess.TimeoutExpired:
        return "unknown:codex queue did not answer within 15 s"
    if result.returncode:
        said = (result.stderr or result.stdout).strip().lower()
        if "thread" in said and ("not found" in said or "unknown" in said or "no " in said):
            return None  # it never took the message: type instead
        return f"failed:codex queue: {said.splitlines()[-1][:120] if said else 'error'}"
    return _evidence(session, profile, was_busy, lambda text: False)


_ROLLOUT_TAIL = 256 * 1024


def codex_thread(env: dict[str, str]) -> str:
    """The Codex thread a command runs in, from inside Codex's shell tool: `CODEX_THREAD_ID`
    where Codex sets it, else the session log (`rollout-<time>-<thread>.jsonl`) that holds
    this tool call's id ("" when neither tells)."""
    if env.get("CODEX_THREAD_ID"):
        return env["CODEX_THREAD_ID"]
    call = env.get("CODEX_TOOL_CALL_ID", "")
    home = env.get("CODEX_HOME") or os.path.join(env.get("HOME", ""), ".codex")
    if not call or not os.path.isabs(home):
        return ""
    logs = sorted(
        Path(home, "sessions").glob("*/*/*/rollout-*.jsonl"),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )[:20]
    needle = json.dumps(call).encode()
    for log in logs:
        try:
            with open(log, "rb") as fh:
                fh.seek(max(0, log.stat().st_size - _ROLLOUT_TAIL))
                if needle in fh.read():
                    return log.stem[-36:]  # the thread's uuid ends the name
        except OSError:
            continue
    return ""
