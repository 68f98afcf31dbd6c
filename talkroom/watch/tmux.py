"""The tmux driver: identify a registered pane, query it, capture it, type into it.

tmux is driven through libtmux (a `Server` per socket path, `Pane.cmd` for pane targets),
always with `-S <socket path>` so the server is the one that was registered, never
whichever server $TMUX happens to point at. Deciding when to type, and whether the agent
took the line, is `deliver.py`'s.
"""

from __future__ import annotations

import functools
import importlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from talkroom.watch.profiles import SHELLS, Profile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    # (socket path, pane id or None for a server-wide command, tmux arguments) -> output
    _Call = Callable[[str, str | None, tuple[str, ...]], subprocess.CompletedProcess[str]]

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
    "peek",
    "query",
    "ready_reason",
    "run",
    "send_key",
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
    """What the watcher needs to know of a live pane: copy mode, foreground command."""

    in_mode: bool
    command: str


def _bounded(argv: list[str], socket_path: str) -> subprocess.CompletedProcess[str]:
    """Run one tmux command line, bounded by TMUX_TIMEOUT; its exact output."""
    try:
        return subprocess.run(
            argv,
            # No terminal to share: tmux must never read the watcher's stdin.
            stdin=subprocess.DEVNULL,
            capture_output=True,
            # Panes show whatever programs print; undecodable bytes must not crash us.
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


def _load_libtmux() -> None:
    """Import libtmux, even where sys.stdout has no `encoding` (under the console)."""
    # libtmux reads sys.stdout.encoding when first imported (libtmux/_compat.py); Textual's
    # print capture has no such attribute and a daemon's closed stdout is None. So a stand-in
    # is put there for the import, and what other threads print meanwhile is passed on.
    saved = sys.stdout
    if "libtmux" in sys.modules or getattr(saved, "encoding", None) is not None:
        importlib.import_module("libtmux")
        return
    stand_in = io.StringIO()
    sys.stdout = stand_in
    try:
        importlib.import_module("libtmux")
    finally:
        if sys.stdout is stand_in:
            sys.stdout = saved
        if stand_in.getvalue() and saved is not None:
            saved.write(stand_in.getvalue())


@functools.cache
def _libtmux_call() -> _Call:
    """The one way this module talks to tmux: libtmux, with every command bounded."""
    # Imported on first use, not with this module: `talkroom reply` run inside Codex loads
    # this module (for PaneRef) but never talks to tmux, and libtmux costs ~80 ms to import.
    _load_libtmux()
    import libtmux
    from libtmux.common import tmux_cmd

    class Result(tmux_cmd):
        """libtmux's command result, filled from a bounded run; keeps the exact text too."""

        def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
            # tmux_cmd.__init__ runs the command itself with no timeout, so it is not called;
            # the fields it would set are set here, the same way.
            self.cmd = [str(arg) for arg in done.args]
            self.returncode = done.returncode
            # libtmux drops trailing blank lines; a capture keeps them (`completed`).
            self.completed = done
            stdout = done.stdout.split("\n")
            while stdout and not stdout[-1]:
                stdout.pop()
            self.stdout = stdout
            self.stderr = [line for line in done.stderr.split("\n") if line]

    class BoundedServer(libtmux.Server):
        """libtmux's Server on a socket path, whose every command is bounded in time."""

        # Server.cmd's own signature; libtmux types its mixins' `cmd` with **kwargs besides.
        def cmd(  # type: ignore[override]
            self, cmd: str, *args: object, target: str | int | None = None
        ) -> Result:
            """The same tmux command line `Server.cmd` runs, run by `_bounded`."""
            socket_path = str(self.socket_path)
            targets = ["-t", str(target)] if target is not None else []
            argv = [TMUX_BIN, "-S", socket_path, cmd, *targets, *map(str, args)]
            return Result(_bounded(argv, socket_path))

    def call(
        socket_path: str, pane_id: str | None, args: tuple[str, ...]
    ) -> subprocess.CompletedProcess[str]:
        server = BoundedServer(socket_path=socket_path)
        result: tmux_cmd
        if pane_id is None:
            result = server.cmd(*args)
        else:
            result = libtmux.Pane(server=server, pane_id=pane_id).cmd(*args)
        if not isinstance(result, Result):  # Pane.cmd is typed as returning any tmux_cmd
            raise TypeError(f"unexpected libtmux result {type(result).__name__}")
        return result.completed

    return call


def run(socket_path: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One tmux command against the server at `socket_path` (bounded); its output."""
    return _libtmux_call()(socket_path, None, args)


def _pane_cmd(socket_path: str, pane_id: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One tmux command aimed (`-t`) at `pane_id`, through libtmux's Pane (bounded)."""
    return _libtmux_call()(socket_path, pane_id, args)


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
    # libtmux's own listing (Server.panes, fetch_objs) runs tmux outside Server.cmd, with
    # no time bound, so the format query is ours.
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
    """A foreground command as a bare program name ("-bash" -> "bash", "/x/node" -> "node")."""
    # Same normalisation tmux applies to window names: login shells show as "-bash" and
    # some programs report a full path.
    return command.strip().lstrip("-").rsplit("/", 1)[-1]


def capture_raw(ref: PaneRef) -> str | None:
    """The pane's visible text exactly as tmux prints it, or None when tmux refused."""
    # Not Pane.capture_pane: it drops trailing blank rows and never says the capture failed.
    result = _pane_cmd(ref.socket_path, ref.pane_id, "capture-pane", "-p")
    return result.stdout if result.returncode == 0 else None


def ready_reason(state: PaneState, profile: Profile, text: str) -> str:
    """Why the pane cannot be typed into now ("" when it can)."""
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
    # Not Pane.send_keys(literal=True): it puts no `--`, so "-x" would be read as a flag,
    # and it does not say whether tmux took the keys.
    return _pane_cmd(ref.socket_path, ref.pane_id, "send-keys", "-l", "--", text).returncode == 0


def send_key(ref: PaneRef, key: str, literal: bool = False) -> bool:
    """Press `key` (a tmux key name, or with `literal` a character such as CR)."""
    args = ["-l", "--", key] if literal else ["--", key]
    return _pane_cmd(ref.socket_path, ref.pane_id, "send-keys", *args).returncode == 0


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
    # (libtmux's Server.from_env reads only the socket path; the pid is checked below.)
    parts = tmux_var.rsplit(",", 2)
    if len(parts) != 3 or not os.path.isabs(parts[0]) or not parts[1].isdigit():
        raise TmuxError(f"cannot parse $TMUX={tmux_var!r} (expected socket,pid,session)")
    socket_path, env_pid = parts[0], int(parts[1])
    pane_id = pane if pane is not None else env.get("TMUX_PANE", "")
    if not pane_id:
        raise TmuxError("$TMUX_PANE is not set; pass the pane id (like %3) explicitly")
    if not _PANE_ID_RE.match(pane_id):
        raise TmuxError(f"pane must be a tmux pane id like %3, got {pane_id!r}")
    result = _pane_cmd(
        socket_path, pane_id, "display-message", "-p", "#{pid}\t#{pane_id}\t#{pane_pid}"
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
