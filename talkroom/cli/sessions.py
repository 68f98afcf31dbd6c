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
    wake: str | None
    command_line: str | None  # `--command` (`command` is the subcommand's name)
    cwd: str | None
    env: list[str] | None
    timeout: float | None
    output_cap: int | None
    prompt_via: str | None
    reply_from: str | None


class NameArgs(Globals):
    """talkroom unregister's arguments."""

    name: str


class SessionsArgs(Globals):
    """talkroom sessions' arguments."""

    json: bool


def cmd_register(ctx: Context, a: RegisterArgs) -> int:
    """talkroom register: record this tmux pane (or, with --command, a command run once
    per turn) as session NAME on this host."""
    from talkroom.watch.hostlock import HostLock
    from talkroom.watch.instruction import root_argument

    root, host = ctx.root, ctx.host
    try:
        root_argument(root.path)
    except ValueError as exc:
        raise BadInput(f"cannot register here: {exc}") from None
    if a.command_line is not None:
        _register_command(ctx, a)
    else:
        _register_pane(ctx, a)
    if HostLock(host, root.path).held_by() is None:
        print(
            f"note: no watcher runs for host {host} and root {root.path} yet; start "
            "'talkroom' or 'talkroom --watch-only' so this session is woken"
        )
    return 0


def _register_pane(ctx: Context, a: RegisterArgs) -> None:
    from talkroom.watch import registry
    from talkroom.watch.tmux import TmuxError, pane_from_env

    only = {
        "--cwd": a.cwd,
        "--env": a.env,
        "--timeout": a.timeout,
        "--output-cap": a.output_cap,
        "--prompt-via": a.prompt_via,
        "--reply-from": a.reply_from,
    }
    for option, value in only.items():
        if value is not None:
            raise BadInput(f"{option} is for a command session; give --command too")
    root, host = ctx.root, ctx.host
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


def _register_command(ctx: Context, a: RegisterArgs) -> None:
    """A one-shot session: the command's words (shlex, never a shell), checked here."""
    import shlex
    import shutil

    from talkroom.core.sanitise import sanitise_line
    from talkroom.watch import command, registry

    if a.pane is not None or a.wake is not None:
        raise BadInput("--pane and --wake are for a pane session; a --command session has none")
    assert a.command_line is not None
    try:
        argv = shlex.split(a.command_line)
    except ValueError as exc:
        raise BadInput(f"--command cannot be split into words ({exc}); check its quotes") from None
    if not argv:
        raise BadInput("--command is empty; give the command line, e.g. --command 'claude -p'")
    env = command.parse_env(a.env or [])
    path = {**os.environ, **env}.get("PATH", os.defpath)
    # The watcher may run with another PATH than this shell: the program is kept by its
    # full path, found now.
    program = shutil.which(argv[0], path=path) if os.sep not in argv[0] else argv[0]
    if program is None or not os.access(program, os.X_OK) or os.path.isdir(program):
        raise BadInput(
            f"--command: {sanitise_line(argv[0])} is not found on PATH (or not executable); "
            "give its full path"
        )
    cwd = os.path.abspath(a.cwd if a.cwd is not None else os.getcwd())
    if not os.path.isdir(cwd):
        raise BadInput(f"--cwd {sanitise_line(cwd)} is not a folder")
    try:
        spec = command.CommandSpec(
            (os.path.abspath(program), *argv[1:]),
            cwd,
            env,
            command.DEFAULT_TIMEOUT if a.timeout is None else a.timeout,
            command.DEFAULT_OUTPUT_CAP if a.output_cap is None else a.output_cap,
            a.prompt_via or "argument",
            a.reply_from or "agent",
        )
    except ValueError as exc:
        raise BadInput(f"cannot register this command: {exc}") from None
    try:
        session = registry.register(ctx.root, ctx.host, a.name, a.agent, None, command=spec)
    except OSError as exc:
        from talkroom.core.errors import io_error

        raise io_error(exc, command.key_path(), "write") from None
    assert session.command is not None
    print(
        f"registered {session.name} on host {ctx.host}: runs "
        f"{sanitise_line(session.command.describe())} once per turn, in {sanitise_line(cwd)}, "
        f"for at most {spec.timeout:g} s, output cap {spec.output_cap} bytes"
    )


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

    host = ctx.host
    rows: list[dict[str, object]] = []
    lines = []
    for session in registry.all_sessions(ctx.root):
        alive = registry.alive(session) if session.host == host else None
        row: dict[str, object] = {
            "name": session.name,
            "host": session.host,
            "agent": session.agent,
            "pane": session.pane.pane_id if session.pane is not None else None,
            "socket": session.pane.socket_path if session.pane is not None else None,
            "registered_at": session.registered_at,
            "alive": alive,
            "wake": session.wake,
        }
        spec = session.command
        if spec is None:
            state = "alive" if alive is True else "gone" if alive is False else "on another host"
            where = f"{row['pane']}  {session.agent}  {state}  wake: {session.wake}"
            lines.append(f"{session.name}  {session.host}  {where}  {row['socket']}")
        else:
            row.update(
                command=list(spec.argv),
                cwd=spec.cwd,
                env=sorted(spec.env),  # names only: values may be secrets
                timeout=spec.timeout,
                output_cap=spec.output_cap,
                prompt_via=spec.prompt_via,
                reply_from=spec.reply_from,
            )
            why = registry.command_problem(session) if alive is False else ""
            state = "ready" if alive else f"cannot run: {why}" if why else "on another host"
            lines.append(
                f"{session.name}  {session.host}  command  {state}  wake: command  "
                f"{spec.describe()}"
            )
        rows.append(row)
    if a.json:
        print(json.dumps(rows))
        return 0
    for line in lines:
        print(sanitise_line(line))
    if not rows:
        print(
            "no sessions registered; run 'talkroom register NAME' inside an agent's pane, "
            "or 'talkroom register NAME --command ...'"
        )
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
        help="auto: through Claude Code's inbox or codex queue where they can, "
        "else typed (default); typed: always type the wake-up line",
    )
    one = p.add_argument_group(
        "a one-shot session (no pane, no tmux): the watcher runs a command once per turn"
    )
    one.add_argument(
        "--command",
        dest="command_line",
        metavar="'CMD ARGS'",
        help="the command line, split into words like a shell would but never run by one; "
        "e.g. \"claude -p --allowedTools 'Bash(talkroom:*)' --\"",
    )
    one.add_argument("--cwd", metavar="DIR", help="where it runs (default: this folder)")
    one.add_argument(
        "--env",
        action="append",
        metavar="KEY=VALUE",
        help="a variable added to the watcher's environment for it (repeatable; "
        "stored in the talk root: no secrets)",
    )
    one.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="end it after this long (default 600)"
    )
    one.add_argument(
        "--output-cap",
        type=int,
        metavar="BYTES",
        help="standard output kept, at most (default 65536)",
    )
    one.add_argument(
        "--prompt-via",
        choices=["argument", "stdin"],
        help="the wake-up text as its last argument (default) or on standard input",
    )
    one.add_argument(
        "--reply-from",
        choices=["agent", "stdout"],
        help="agent: it replies itself with talkroom reply (default); stdout: what it "
        "prints is its turn",
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
