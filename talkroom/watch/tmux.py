"""The tmux driver: identify a registered pane, query it, capture it, type into it.

Every call talks to the tmux binary with `-S <socket path>` so the server is the one that
was registered, never whichever server $TMUX happens to point at. Deciding when to type,
and whether the agent took the line, is `deliver.py`'s.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from talkroom.watch.profiles import SHELLS, Profile

__all__ = [
    "IDENTITY_REASONS",
    "LINE_RE",
    "PaneRef",
    "PaneState",
    "TmuxError",
    "capture",
    "capture_raw",
    "command_name",
    "pane_alive",
    "pane_from_env",
    "query",
    "ready_reason",
    "run",
    "type_literal",
    "validate_line",
]

TMUX_BIN = "tmux"
# A hung server must not hang the watcher; every tmux call is bounded.
TMUX_TIMEOUT = 5.0

LINE_RE = re.compile(r"^[ -~]{1,400}$")
_PANE_ID_RE = re.compile(r"^%[0-9]+$")
# Reasons that mean "this is not the registered pane any more": retrying cannot help.
IDENTITY_REASONS: frozenset[str] = frozenset(
    {"pane gone", "server gone", "server restarted", "pane replaced"}
)


class TmuxError(RuntimeError):
    """tmux could not be run, or the pane asked for does not exist; one-line message."""


@dataclass(frozen=True)
class PaneRef:
    """The identity of a registered pane: server socket and pid, pane id and pane pid."""

    socket_path: str
    server_pid: int
    pane_id: str
    pane_pid: int

    def __post_init__(self) -> None:
        # PaneRefs are loaded from sessions.yaml, which a person can edit; a malformed pane id
        # would otherwise reach `tmux -t` as an arbitrary target.
        if not isinstance(self.socket_path, str) or not os.path.isabs(self.socket_path):
            raise ValueError(f"socket_path must be an absolute path, got {self.socket_path!r}")
        if not isinstance(self.pane_id, str) or not _PANE_ID_RE.match(self.pane_id):
            raise ValueError(f"pane_id must look like %N, got {self.pane_id!r}")
        for key in ("server_pid", "pane_pid"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class PaneState:
    in_mode: bool
    command: str


def run(socket_path: str, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [TMUX_BIN, "-S", socket_path, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=TMUX_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise TmuxError(f"{TMUX_BIN!r} is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise TmuxError(
            f"tmux server at {socket_path} did not answer within {TMUX_TIMEOUT:g} s"
        ) from exc


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown tmux error"


_FORMAT = "\t".join(
    [
        "#{pid}",
        "#{pane_id}",
        "#{pane_pid}",
        "#{pane_in_mode}",
        "#{pane_dead}",
        "#{pane_current_command}",
    ]
)


def query(ref: PaneRef) -> tuple[PaneState | None, str]:
    """Identity checks; returns the pane's state, or None and the reason it is not ours."""
    # One list-panes call answers every identity question at once, and it works with no
    # attached client (display-message without a client would need a current session).
    result = run(ref.socket_path, "list-panes", "-a", "-F", _FORMAT)
    if result.returncode != 0:
        return None, "server gone"
    rows = [row.split("\t", 5) for row in result.stdout.splitlines() if row.count("\t") >= 5]
    if not rows:
        return None, "pane gone"
    if rows[0][0] != str(ref.server_pid):
        return None, "server restarted"
    for _pid, pane_id, pane_pid, in_mode, dead, command in rows:
        if pane_id != ref.pane_id:
            continue
        if dead == "1":
            return None, "pane gone"
        if pane_pid != str(ref.pane_pid):
            return None, "pane replaced"
        return PaneState(in_mode=in_mode not in ("", "0"), command=command), ""
    return None, "pane gone"


def command_name(command: str) -> str:
    # Same normalisation tmux applies to window names: login shells show as "-bash" and
    # some programs report a full path.
    return command.strip().lstrip("-").rsplit("/", 1)[-1]


def capture_raw(ref: PaneRef) -> str | None:
    result = run(ref.socket_path, "capture-pane", "-p", "-t", ref.pane_id)
    return result.stdout if result.returncode == 0 else None


def ready_reason(state: PaneState, profile: Profile, text: str) -> str:
    if state.in_mode:
        return "copy mode"
    command = command_name(state.command)
    # An unknown foreground command is treated like a shell: typing into a shell runs the
    # line, so only type when we know something else is in front.
    if not command or command in SHELLS:
        return "shell"
    if profile.allowed_commands and command not in profile.allowed_commands:
        return "command not allowed"
    return profile.state(text)


def pane_alive(ref: PaneRef) -> bool:
    """True when the registered server and pane (same pids) still exist."""
    try:
        state, _reason = query(ref)
    except TmuxError:
        return False
    return state is not None


def capture(ref: PaneRef, lines: int = 40) -> str:
    """The last `lines` non-trailing-blank lines of the pane's visible content, for display.

    Raises TmuxError when the pane is not the registered one any more, so a reused pane
    id on a restarted server never shows someone else's screen.
    """
    if lines < 1:
        raise ValueError(f"lines must be >= 1, got {lines}")
    state, reason = query(ref)
    text = capture_raw(ref) if state is not None else None
    if text is None:
        raise TmuxError(f"cannot capture {ref.pane_id}: {reason or 'pane gone'}")
    rows = text.rstrip("\n").split("\n")
    while rows and not rows[-1].strip():
        rows.pop()
    return "\n".join(rows[-lines:])


def peek(ref: PaneRef, profile: Profile, lines: int = 30) -> tuple[str | None, str]:
    """One look at a pane for display: (its last lines, or None when it is not the
    registered pane any more; "" when ready to be typed into, else why not)."""
    state, reason = query(ref)
    text = capture_raw(ref) if state is not None else None
    if state is None or text is None:
        return None, reason or "pane gone"
    rows = text.rstrip("\n").split("\n")
    while rows and not rows[-1].strip():
        rows.pop()
    return "\n".join(rows[-lines:]), ready_reason(state, profile, text)


def type_literal(ref: PaneRef, text: str) -> bool:
    """Type `text` as it is (`-l`: no key names; `--`: a leading '-' is text); True if sent."""
    return run(ref.socket_path, "send-keys", "-t", ref.pane_id, "-l", "--", text).returncode == 0


def send_key(ref: PaneRef, key: str, literal: bool = False) -> bool:
    """Press `key` (a tmux key name, or with `literal` a character such as CR)."""
    args = ["-l", "--", key] if literal else ["--", key]
    return run(ref.socket_path, "send-keys", "-t", ref.pane_id, *args).returncode == 0


def validate_line(line: str) -> None:
    """Raise ValueError unless `line` is 1-400 printable ASCII characters not ending in ';'."""
    if not isinstance(line, str) or not LINE_RE.match(line):
        raise ValueError("delivery line must be 1-400 printable ASCII characters")
    # tmux treats a trailing ';' in an argument as its command separator and drops it.
    if line.endswith(";"):
        raise ValueError("delivery line must not end with ';'")


def pane_from_env(env: Mapping[str, str], pane: str | None = None) -> PaneRef:
    """Identify the current pane from $TMUX and $TMUX_PANE (or `pane`), asking tmux for pids."""
    tmux_var = env.get("TMUX", "")
    if not tmux_var:
        raise TmuxError("not inside tmux ($TMUX is not set); run this in the agent's tmux pane")
    # $TMUX is "socket,server pid,session index"; the socket path itself may contain commas.
    parts = tmux_var.rsplit(",", 2)
    if len(parts) != 3 or not os.path.isabs(parts[0]) or not parts[1].isdigit():
        raise TmuxError(f"cannot parse $TMUX={tmux_var!r} (expected socket,pid,session)")
    socket_path, env_pid = parts[0], int(parts[1])
    pane_id = pane if pane is not None else env.get("TMUX_PANE", "")
    if not pane_id:
        raise TmuxError("$TMUX_PANE is not set; pass the pane id (like %3) explicitly")
    if not _PANE_ID_RE.match(pane_id):
        raise TmuxError(f"pane must be a tmux pane id like %3, got {pane_id!r}")
    result = run(
        socket_path, "display-message", "-p", "-t", pane_id, "#{pid}\t#{pane_id}\t#{pane_pid}"
    )
    if result.returncode != 0:
        message = _first_line(result.stderr)
        if "no server running" in message or "error connecting" in message:
            raise TmuxError(f"no tmux server is running at {socket_path}")
        raise TmuxError(f"pane {pane_id} not found on tmux server {socket_path}: {message}")
    fields = result.stdout.strip().split("\t")
    if len(fields) != 3 or fields[1] != pane_id or not (fields[0] + fields[2]).isdigit():
        raise TmuxError(f"unexpected answer from tmux about pane {pane_id}: {result.stdout!r}")
    server_pid, pane_pid = int(fields[0]), int(fields[2])
    if server_pid != env_pid:
        raise TmuxError(
            f"tmux server at {socket_path} has pid {server_pid}, but $TMUX says {env_pid}"
        )
    return PaneRef(socket_path, server_pid, pane_id, pane_pid)
