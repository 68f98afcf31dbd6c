"""Sessions registered on each host: `hosts/<host>/sessions.yaml` (docs/protocol.md section 6)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from talkroom.core import clock, hostfiles
from talkroom.core.errors import BadInput, Refused, StoreError, Unreadable
from talkroom.core.files import read_capped
from talkroom.core.header import load_yaml, quote
from talkroom.core.lock import FileLock, LockLost
from talkroom.core.names import NAME_RE, check_name
from talkroom.core.paths import Root
from talkroom.watch.command import CommandSpec, cannot_run, from_fields
from talkroom.watch.tmux import PaneRef

SESSIONS_FILE = "sessions.yaml"
REGISTRY = "registry"  # `hosts/.registry.lock` serialises registrations across hosts
SESSIONS_CAP = 1024 * 1024  # another host's sessions.yaml is never read past this


class Session:
    """A session registered on a host: who it is, which pane, which agent profile, and
    what a native wake-up needs (the agent's config folder and command, Codex's thread);
    or, for a one-shot session, no pane but the command its watcher runs once per turn."""

    __slots__ = (
        "agent",
        "agent_bin",
        "agent_dir",
        "command",
        "host",
        "name",
        "pane",
        "registered_at",
        "thread",
    )

    def __init__(
        self,
        name: str,
        host: str,
        agent: str,
        pane: PaneRef | None,
        registered_at: str = "",
        agent_dir: str = "",
        agent_bin: str = "",
        thread: str = "",
        command: CommandSpec | None = None,
    ) -> None:
        if (pane is None) == (command is None):
            raise ValueError("a session has a pane or a command, not both nor neither")
        self.name = name
        self.host = host
        self.agent = agent
        self.pane = pane
        self.command = command
        self.registered_at = registered_at
        self.agent_dir = agent_dir  # Claude's config folder, or CODEX_HOME
        self.agent_bin = agent_bin  # the codex command, for `codex queue`
        self.thread = thread  # Codex's thread id, once known

    def __repr__(self) -> str:
        return f"Session({self.name!r} on {self.host}, {self.where}, {self.agent})"

    @property
    def where(self) -> str:
        """`pane %3`, or `command` for a one-shot session: for people."""
        return f"pane {self.pane.pane_id}" if self.pane is not None else "command"

    @property
    def wake(self) -> str:
        """How this session is woken: `inbox` (Claude Code's socket), `queue` (`codex
        queue`), `typed` into its pane, or `command` (run once per turn)."""
        if self.command is not None:
            return "command"
        if self.agent == "claude" and self.agent_dir:
            return "inbox"
        if self.agent == "codex" and self.agent_dir and self.agent_bin and self.thread:
            return "queue"
        return "typed"

    def to_yaml_fields(self) -> dict[str, object]:
        """The fields as sessions.yaml stores them (a command's words as a list)."""
        if self.command is not None:
            return {
                "agent": self.agent,
                **self.command.fields(),
                "registered at": self.registered_at,
                "wake": self.wake,
            }
        assert self.pane is not None
        fields: dict[str, object] = {
            "agent": self.agent,
            "pane": self.pane.pane_id,
            "pane pid": str(self.pane.pane_pid),
            "socket": self.pane.socket_path,
            "server pid": str(self.pane.server_pid),
            "registered at": self.registered_at,
            "wake": self.wake,
        }
        for key, value in (
            ("agent dir", self.agent_dir),
            ("agent command", self.agent_bin),
            ("thread", self.thread),
        ):
            if value:
                fields[key] = value
        return fields


def sessions_path(root: Root, host: str) -> Path:
    """Where `host` keeps its registrations."""
    return root.host_dir(host) / SESSIONS_FILE


def _parse(data: bytes, host: str, where: Path) -> dict[str, Session]:
    try:
        doc = load_yaml(data.decode("utf-8", "replace"))
    except Unreadable as exc:
        raise StoreError(f"{where}: {exc.message}; fix or remove the file") from None
    if doc in (None, ""):
        return {}
    raw = doc.get("sessions") if isinstance(doc, dict) else None
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise StoreError(f"{where}: 'sessions' must map names to panes; fix or remove the file")
    out: dict[str, Session] = {}
    for name, fields in raw.items():
        if not isinstance(name, str) or not NAME_RE.match(name) or not isinstance(fields, dict):
            continue  # a hand-edited entry that could name nothing safely
        if "command" in fields:
            try:
                command = from_fields(fields)
            except ValueError:
                continue
            out[name] = Session(
                name,
                host,
                str(fields.get("agent", "generic")),
                None,
                str(fields.get("registered at", "")),
                command=command,
            )
            continue
        try:
            pane = PaneRef(
                str(fields.get("socket", "")),
                int(fields.get("server pid", "")),
                str(fields.get("pane", "")),
                int(fields.get("pane pid", "")),
            )
        except ValueError:
            continue
        out[name] = Session(
            name,
            host,
            str(fields.get("agent", "generic")),
            pane,
            str(fields.get("registered at", "")),
            _absolute(fields.get("agent dir")),
            _absolute(fields.get("agent command")),
            _thread(fields.get("thread")),
        )
    return out


def _absolute(value: object) -> str:
    """A path from the file, if it is one (a hand edit could put anything there)."""
    text = str(value or "")
    return text if text.startswith("/") and "\n" not in text and "\x00" not in text else ""


def _thread(value: object) -> str:
    text = str(value or "")
    return text if THREAD_RE.match(text) else ""


THREAD_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,80}$")


def render_sessions(host: str, sessions: dict[str, Session]) -> bytes:
    """sessions.yaml for `host`."""
    lines = [f"# Sessions registered on host {host}; written by `talkroom register`.", "sessions:"]
    for name in sorted(sessions):
        lines.append(f"  {name}:")
        for key, value in sessions[name].to_yaml_fields().items():
            if isinstance(value, list):
                lines.append(f"    {key}:")
                lines.extend(f"      - {quote(str(item))}" for item in value)
            elif isinstance(value, dict):
                lines.append(f"    {key}:")
                lines.extend(f"      {quote(str(k))}: {quote(str(v))}" for k, v in value.items())
            else:
                lines.append(f"    {key}: {quote(str(value))}")
    if not sessions:
        lines[-1] = "sessions: {}"
    return ("\n".join(lines) + "\n").encode()


def _read(path: Path) -> bytes | None:
    """This host's sessions.yaml as it is (None when missing)."""
    try:
        return read_capped(path, SESSIONS_CAP, what="sessions.yaml")
    except FileNotFoundError:
        return None
    except (OSError, Unreadable) as exc:
        why = exc.message if isinstance(exc, Unreadable) else exc.strerror
        raise StoreError(f"cannot read {path}: {why}") from None


def load_sessions(root: Root, host: str) -> dict[str, Session]:
    """The sessions registered on `host` ({} when none)."""
    path = sessions_path(root, host)
    try:
        data = read_capped(path, SESSIONS_CAP, what="sessions.yaml")
    except FileNotFoundError:
        return {}
    except Unreadable as exc:
        raise StoreError(f"{path}: {exc.message}") from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}; check the talk root") from None
    return _parse(data, host, path)


def hosts(root: Root) -> list[str]:
    """Every host that has a folder in the root."""
    try:
        return sorted(
            e.name
            for e in os.scandir(root.hosts)
            if e.is_dir(follow_symlinks=False) and NAME_RE.match(e.name)
        )
    except FileNotFoundError:
        return []


def all_sessions(root: Root) -> list[Session]:
    """The sessions of every host, host by host; a host with a broken file is skipped."""
    out: list[Session] = []
    for host in hosts(root):
        try:
            out.extend(load_sessions(root, host).values())
        except StoreError:
            continue
    return out


def register(
    root: Root,
    host: str,
    name: str,
    agent: str,
    pane: PaneRef | None,
    env: dict[str, str] | None = None,
    typed_only: bool = False,
    command: CommandSpec | None = None,
) -> Session:
    """Record (or replace) `name` on this host; refuse a name another host has. `env` (the
    registering shell's) tells where the agent keeps its sessions, for a native wake-up;
    `typed_only` keeps it to typing. With `command` (and no pane) it is a one-shot
    session, signed by this machine's user (watch/command.py)."""
    name = check_name(name, "session name")
    at = clock.iso(clock.now())
    if command is not None:
        session = Session(name, host, agent, None, at, command=command.signed(host, name, at))
    else:
        agent_dir, agent_bin, thread = (
            ("", "", "") if typed_only else native_details(agent, env or {})
        )
        session = Session(name, host, agent, pane, at, agent_dir, agent_bin, thread)

    def update(current: bytes | None) -> bytes:
        sessions = _parse(current, host, sessions_path(root, host)) if current else {}
        sessions[name] = session
        return render_sessions(host, sessions)

    # One registration at a time in the whole root: two hosts registering one name at
    # once would otherwise both find it free, and both keep it. The new sessions.yaml is
    # committed through the registry lock's fence, so a registrar stopped past the stale
    # time, whose registry lock was broken meanwhile, writes nothing.
    path = sessions_path(root, host)
    for _attempt in range(5):
        with FileLock(root.hosts / REGISTRY, host, depth=1, create_folders=True) as fence:
            for other in hosts(root):
                if other != host and name in _safe_load(root, other):
                    raise Refused(
                        f"{name!r} is registered on host {other}; unregister it there "
                        "or choose another name"
                    )
            with FileLock(path, host, depth=2, create_folders=True):  # this host's writers
                try:
                    fence.place(update(_read(path)), f"{host}/{SESSIONS_FILE}")
                except LockLost:
                    continue
            return session
    raise StoreError(f"{path}: the registry lock was broken under us 5 times; try again")


def native_details(agent: str, env: dict[str, str]) -> tuple[str, str, str]:
    """(config folder, command, thread) of the agent, from the registering environment."""
    home = env.get("HOME", "")
    if agent == "claude":
        folder = env.get("CLAUDE_CONFIG_DIR") or (f"{home}/.claude" if home else "")
        return _absolute(folder), "", ""
    if agent == "codex":
        import shutil

        folder = env.get("CODEX_HOME") or (f"{home}/.codex" if home else "")
        command = shutil.which("codex", path=env.get("PATH")) or ""
        return _absolute(folder), _absolute(command), _thread(env.get("CODEX_THREAD_ID"))
    return "", "", ""


def note_thread(root: Root, host: str, name: str, thread: str) -> bool:
    """Remember the Codex thread a session replies from (so it can be woken with `codex
    queue`); True when it changed. Called by `talkroom reply` inside Codex."""
    if not THREAD_RE.match(thread):
        return False
    changed = False

    def update(current: bytes | None) -> bytes | None:
        nonlocal changed
        sessions = _parse(current, host, sessions_path(root, host)) if current else {}
        session = sessions.get(name)
        if session is None or session.agent != "codex" or session.thread == thread:
            return None
        session.thread = thread
        changed = True
        return render_sessions(host, sessions)

    if name in load_sessions(root, host):
        hostfiles.locked_update(sessions_path(root, host), update, host=host)
    return changed


def command_problem(session: Session) -> str:
    """Why this host's command session cannot run ("" when it can): its registration not
    signed here, or its program or folder missing."""
    spec = session.command
    assert spec is not None
    if not spec.verified(session.host, session.name, session.registered_at):
        return (
            "its registration is not signed by this machine's user (edited, or written "
            "elsewhere); register it again here"
        )
    return cannot_run(spec)


def alive(session: Session) -> bool:
    """This host's session can be reached: its pane is the registered one, or its command
    can run here."""
    if session.command is not None:
        return not command_problem(session)
    from talkroom.watch.tmux import pane_alive

    assert session.pane is not None
    return pane_alive(session.pane)


def unregister(root: Root, host: str, name: str) -> bool:
    """Remove `name` from this host's registrations; False if it was not there."""
    name = check_name(name, "session name")
    found = False

    def update(current: bytes | None) -> bytes | None:
        nonlocal found
        sessions = _parse(current, host, sessions_path(root, host)) if current else {}
        found = sessions.pop(name, None) is not None
        return render_sessions(host, sessions) if found else None

    hostfiles.locked_update(sessions_path(root, host), update, host=host)
    return found


def _safe_load(root: Root, host: str) -> dict[str, Session]:
    try:
        return load_sessions(root, host)
    except StoreError:
        return {}


def check_agent(agent: str, known: list[str]) -> str:
    """A profile name from the command line."""
    if agent not in known:
        raise BadInput(f"unknown --agent {agent!r}; use one of {', '.join(known)}")
    return agent
