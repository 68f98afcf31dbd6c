"""`talkroom serve`: the moderator console in a browser (the server is talkroom.serve)."""

from __future__ import annotations

import argparse

from talkroom.cli.context import Context, Globals
from talkroom.cli.parser import command
from talkroom.core.errors import BadInput

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    from talkroom.cli.parser import Spec


class ServeArgs(Globals):
    """talkroom serve's arguments (and the console's --no-watch, --poll, --interval)."""

    bind: str | None
    port: int
    no_watch: bool
    poll: bool
    interval: float | None


def cmd_serve(ctx: Context, a: ServeArgs) -> int:
    """talkroom serve: the console in a browser, on loopback unless told otherwise."""
    from talkroom.cli.tools import check_profiles_and_theme

    if a.interval is not None and not 0.05 <= a.interval <= 3600:
        raise BadInput(f"--interval must be between 0.05 and 3600 seconds, got {a.interval}")
    bind = LOOPBACK if a.bind is None else a.bind.strip()
    if not bind:
        raise BadInput("--host is empty; give an address to listen on, e.g. --host 127.0.0.1")
    cfg = ctx.config
    check_profiles_and_theme(cfg)  # the consoles and the watcher would each refuse them
    cfg.set_flag("poll_interval", a.interval, "--interval")
    root, host = ctx.root, ctx.host
    from talkroom import serve

    return serve.run(
        root,
        host,
        cfg,
        bind=bind,
        port=a.port,
        watch=not a.no_watch,
        poll=a.poll,
        interval=a.interval,
    )


LOOPBACK = "127.0.0.1"


def _args_serve(p: argparse.ArgumentParser) -> None:
    # Here --host is the address to listen on, as for any server. The global --host (this
    # host's talkroom name) goes before the command, or in $TALKROOM_HOST. argparse has no
    # public way to drop an inherited option; this drops it from this parser only (the
    # action itself is shared with the other commands' parsers and stays as it is).
    inherited = p._option_string_actions.pop("--host")
    for group in p._action_groups:
        if inherited in group._group_actions:
            group._group_actions.remove(inherited)
    p._actions.remove(inherited)
    p.add_argument(
        "--host",
        dest="bind",
        metavar="ADDRESS",
        help=f"the address to listen on (default: {LOOPBACK}, this machine only); "
        "another address is served with a warning",
    )
    p.add_argument(
        "--port", type=int, default=0, metavar="N", help="the port (default: a free one)"
    )
    # The console's options, as `talkroom --no-watch` takes them; SUPPRESS: the top-level
    # parser's own value stands unless given here.
    p.add_argument(
        "--no-watch",
        action="store_true",
        default=argparse.SUPPRESS,
        help="run no watcher (another process serves this host, or none should)",
    )
    p.add_argument(
        "--poll",
        action="store_true",
        default=argparse.SUPPRESS,
        help="poll the root even on a local disk (network mounts always are)",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=argparse.SUPPRESS,
        metavar="SECONDS",
        help="seconds between polls (default: the config's poll_interval, 1)",
    )


SPECS: dict[str, Spec] = {"serve": command(ServeArgs, _args_serve, cmd_serve)}
