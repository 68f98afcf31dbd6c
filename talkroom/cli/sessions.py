"""Sessions on this host: register, unregister, and the list of every host's sessions."""

from __future__ import annotations

import os

from talkroom.cli.context import Context, Globals
from talkroom.cli.parser import command
from talkroom.core.errors import BadInput

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    import argparse

    from talkroom.cli.parser import Spec


class RegisterArgs(Globals):
    """talkroom register's arguments."""

    name: str
    agent: str
    pane: str | None
    wake: str


class NameArgs(Globals):
    """talkroom unregister's arguments."""

    name: str


class SessionsArgs(Globals):
    """talkroom sessions' arguments."""

    json: bool


def cmd_register(ctx: Context, a: RegisterArgs) -> int:
    """talkroom register: record this tmux pane as session NAME on this host."""
    from talkroom.watch import registry
    from talkroom.watch.hostlock import HostLock
    from talkroom.watch.instruction import root_argument
    from talkroom.watch.tmux import TmuxError, pane_from_env

    root, host = ctx.root, ctx.host
    try:
        root_argument(root.path)
    except ValueError as exc:
        raise BadInput(f"cannot register here: {exc}") from None
    try:
        pane = pane_from_env(os.environ, a.pane)
    except TmuxError as exc:
        raise BadInput(str(exc)) from None
    session = registry.register(
        root, host, a.name, a.agent, pane, env=dict(os.environ), typed_only=a.wake == "typed"
    )
    print(
        f"registered {session.name} on host {host}: pane {pane.pane_id} of the tmux server "
        f"at {pane.socket_path} (agent profile {session.agent})"
    )
    from talkroom.doctor import wake_check

    problem, how = wake_check(session)
    print(f"wake-ups: {how}" + (f"; to fix: {problem}" if problem else ""))
    if HostLock(host, root.path).held_by() is None:
        print(
            f"note: no watcher runs for host {host} and root {root.path} yet; start "
            "'talkroom' or 'talkroom --watch-only' so this session is woken"
        )
    return 0


def cmd_unregister(ctx: Context, a: NameArgs) -> int:
    """talkroom unregister: forget session NAME on this host."""
    from talkroom.core.errors import Refused
    from talkroom.watch import registry

    if not registry.unregister(ctx.root, ctx.host, a.name):
        raise Refused(f"{a.name!r} is not registered on host {ctx.host}; see 'talkroom sessions'")
    print(f"unregistered {a.name} on host {ctx.host}")
    return 0


def cmd_sessions(ctx: Context, a: SessionsArgs) -> int:
    """talkroom sessions: every host's registered sessions."""
    import json

    from talkroom.core.sanitise import sanitise_line
    from talkroom.watch import registry
    from talkroom.watch.tmux import pane_alive

    host = ctx.host
    rows = []
    for session in registry.all_sessions(ctx.root):
        alive = pane_alive(session.pane) if session.host == host else None
        rows.append(
            {
                "name": session.name,
                "host": session.host,
                "agent": session.agent,
                "pane": session.pane.pane_id,
                "socket": session.pane.socket_path,
                "registered_at": session.registered_at,
                "alive": alive,
                "wake": session.wake,
            }
        )
    if a.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        up = row["alive"]
        state = "alive" if up is True else "gone" if up is False else "on another host"
        print(
            f"{row['name']}  {row['host']}  {row['pane']}  {row['agent']}  {state}  "
            f"wake: {row['wake']}  {sanitise_line(str(row['socket']))}"
        )
    if not rows:
        print("no sessions registered; run 'talkroom register NAME' inside an agent's pane")
    return 0


def _args_register(p: argparse.ArgumentParser) -> None:
    from talkroom.watch.profiles import BUILTIN_PROFILES

    p.add_argument("name", metavar="NAME", help="the session's name in conversations")
    p.add_argument(
        "--agent",
        choices=sorted(BUILTIN_PROFILES),
        default="generic",
        help="the agent in this pane (how to tell it busy or idle)",
    )
    p.add_argument("--pane", metavar="%N", help="the pane id (default: $TMUX_PANE)")
    p.add_argument(
        "--wake",
        choices=["auto", "typed"],
        default="auto",
        help="auto: through Claude Code's inbox or codex queue where they can, "
        "else typed (default); typed: always type the wake-up line",
    )


def _args_name(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME")


def _args_sessions(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON array")


SPECS: dict[str, Spec] = {
    "register": command(RegisterArgs, _args_register, cmd_register),
    "unregister": command(NameArgs, _args_name, cmd_unregister),
    "sessions": command(SessionsArgs, _args_sessions, cmd_sessions),
}
