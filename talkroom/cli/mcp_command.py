"""`talkroom mcp`: serve the agent's side of the protocol as MCP tools over stdio. The SDK is
imported here, when the command runs, and nowhere on the helper's path."""

from __future__ import annotations

import sys

from talkroom.cli.context import Context, Globals
from talkroom.cli.parser import command
from talkroom.core.errors import BadInput

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    import argparse

    from talkroom.cli.parser import Spec


class McpArgs(Globals):
    """talkroom mcp's arguments."""

    as_name: str


def cmd_mcp(ctx: Context, a: McpArgs) -> int:
    """talkroom mcp: a stdio MCP server whose tools act as session `--as`."""
    from talkroom.core.names import check_name

    name = check_name(a.as_name, "--as name")
    root = ctx.root
    if root.implicit and not root.path.is_dir():
        raise BadInput(
            f"no talk root is chosen (no --root, $TALKROOM_ROOT or config root, and no .talks "
            f"folder at or above {root.path.parent}); give the server one: "
            f"talkroom mcp --as {name} --root DIR"
        )
    interval = ctx.config.settings.poll_interval  # also applies the config's stale-lock time
    from talkroom.agentmcp.server import serve
    from talkroom.agentmcp.tools import Agent

    if sys.stdin.isatty():
        print(
            f"talkroom mcp: serving MCP on stdin/stdout as {name} in {root.path}; an agent CLI "
            "starts this (see 'talkroom guide --mcp'); Ctrl-C ends it",
            file=sys.stderr,
        )
    return serve(Agent(root, ctx.host, name, interval))


def _args_mcp(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as",
        dest="as_name",
        required=True,
        metavar="NAME",
        help="the session name the tools act as (it replies when next names it)",
    )


SPECS: dict[str, Spec] = {"mcp": command(McpArgs, _args_mcp, cmd_mcp)}
