"""The `talkroom` command. boundary: main() and the error boundary; parser: argparse and the
command table; context: config, root, host, bodies and loading a conversation; agents: the
agents' hot path (open, reply, show, list, guide); moderator, sessions, tools: the rest."""

from talkroom.cli.boundary import main

__all__ = ["main"]
