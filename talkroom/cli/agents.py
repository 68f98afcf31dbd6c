"""The agents' hot path: open, reply, show, list and guide.

These run for every turn and must start fast: this module imports nothing beyond the
package's own light modules; each command imports what it needs when it runs.
"""

from __future__ import annotations

import os
import sys

from talkroom.cli.context import BodyArgs, Context, Globals, say
from talkroom.cli.parser import body_options, command
from talkroom.core.errors import BadInput, TalkError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from talkroom.cli.parser import Spec
    from talkroom.core.store import Reader


class OpenArgs(BodyArgs):
    """talkroom open's arguments."""

    topic: str
    as_name: str
    with_names: str
    next: str | None
    max_turns: int | None
    waiting_limit: str | None


class ReplyArgs(BodyArgs):
    """talkroom reply's arguments."""

    id: str
    as_name: str
    next: str | None
    close: str | None


class ShowArgs(Globals):
    """talkroom show's arguments."""

    id: str
    json: bool
    last: int | None
    follow: bool


class ListArgs(Globals):
    """talkroom list's arguments."""

    status: str
    json: bool


class GuideArgs(Globals):
    """talkroom guide's arguments."""

    mcp: bool
    as_name: str | None


def cmd_open(ctx: Context, a: OpenArgs) -> int:
    """talkroom open: start a conversation; prints its id on the first line."""
    from talkroom.core import turns

    body = ctx.read_body(a, required=False)
    opener = a.as_name.strip().lower()
    outcome = turns.open_conversation(
        ctx.root,
        ctx.host,
        topic=a.topic,
        opener=a.as_name,
        with_names=a.with_names,
        next_names=a.next,
        max_turns=a.max_turns,
        body=body,
        moderator=ctx.moderator if opener == "moderator" else None,
        waiting_limit=a.waiting_limit,
    )
    for line in turns.opened_lines(outcome.conv):
        print(line)
    say(outcome)
    return 0


def cmd_reply(ctx: Context, a: ReplyArgs) -> int:
    """talkroom reply: add your turn when `next` names you."""
    from talkroom.core import turns

    body = ctx.read_body(a, required=True)
    outcome = turns.reply(
        ctx.root, ctx.host, a.id, author=a.as_name, next_names=a.next, body=body, close=a.close
    )
    if "CODEX_TOOL_CALL_ID" in os.environ or "CODEX_THREAD_ID" in os.environ:
        _note_codex_thread(ctx, a.as_name)  # its thread can then be woken by `codex queue`
    print(turns.replied_line(outcome.conv))
    say(outcome)
    return 0


def _note_codex_thread(ctx: Context, name: str) -> None:
    """Replying from inside Codex: remember its thread for `codex queue` (best effort)."""
    from talkroom.watch import native, registry

    try:
        thread = native.codex_thread(dict(os.environ))
        if thread:
            registry.note_thread(ctx.root, ctx.host, name.strip().lower(), thread)
    except (TalkError, OSError):
        pass  # the reply is written; only a faster wake-up next time is lost


def cmd_show(ctx: Context, a: ShowArgs) -> int:
    """talkroom show: one conversation, sanitised, or as JSON."""
    import json

    from talkroom.core import journal, views
    from talkroom.core.lookup import check_last, last_blocks
    from talkroom.core.store import Reader

    check_last(a.last)
    reader = Reader()
    snap = ctx.snapshot(a.id, reader, unreadable_ok=a.json)
    if a.json:
        print(json.dumps(views.conversation_dict(snap)))
        return 0 if snap.readable else 3
    conv = snap.conv
    assert conv is not None  # ctx.snapshot raised otherwise
    conv.lost = journal.check(conv)
    print(views.header_text(conv))
    for block in last_blocks(conv.blocks, a.last):
        print()
        print(views.block_text(block), end="")
    sys.stdout.flush()
    if a.follow and conv.status != "CLOSED":  # a closed conversation never grows again
        return _follow(reader, snap.path, len(conv.blocks))
    return 0


def _follow(reader: Reader, path: Path, seen: int) -> int:
    """Print blocks as they are appended, until the conversation closes or Ctrl-C."""
    import time

    from talkroom.core import views

    try:
        while True:
            snap = reader.poll(path)
            conv = snap.conv
            if conv is not None and not snap.pending and len(conv.blocks) > seen:
                for block in conv.blocks[seen:]:
                    print()
                    print(views.block_text(block), end="")
                seen = len(conv.blocks)
                sys.stdout.flush()
                if conv.status == "CLOSED":
                    return 0
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0


def cmd_list(ctx: Context, a: ListArgs) -> int:
    """talkroom list: every conversation, newest activity first."""
    import json

    from talkroom.core import views
    from talkroom.core.lookup import listed

    snaps = listed(ctx.root, a.status)
    if a.json:
        print(json.dumps([views.conversation_dict(s, blocks=False) for s in snaps]))
    else:
        for snap in snaps:
            print(views.summary_line(snap))
    return 0


def cmd_guide(ctx: Context, a: GuideArgs) -> int:
    """talkroom guide: what an agent must know, ready to paste into CLAUDE.md/AGENTS.md.
    A root chosen by --root, $TALKROOM_ROOT or the config is written into every command:
    an agent started in another folder would not find it by itself."""
    from talkroom.guide import guide

    if a.as_name is not None and not a.mcp:
        raise BadInput("--as goes with --mcp (the MCP server's session name)")
    if a.mcp:
        return _mcp_guide(ctx, a.as_name)
    root = ctx.root
    if root.implicit:
        print(
            "talkroom: no talk root is chosen here; give agents one with --root DIR "
            "(talkroom guide --root DIR writes it into every command)",
            file=sys.stderr,
        )
    print(guide(str(root.path) if root.chosen else None), end="")
    return 0


def _mcp_guide(ctx: Context, name: str | None) -> int:
    """talkroom guide --mcp: the MCP server's configuration for each agent CLI."""
    import shutil

    from talkroom.core.names import check_name
    from talkroom.guide import mcp_guide

    if name is not None:
        name = check_name(name, "--as name")
    root = ctx.root
    # The CLIs start the server themselves, from their own PATH: this install's command.
    argv = ["talkroom"] if shutil.which("talkroom") else [sys.executable, "-m", "talkroom"]
    argv += ["mcp", "--as", name or "NAME"]
    if root.chosen:
        argv += ["--root", str(root.path)]
    elif root.implicit:
        print(
            "talkroom: no talk root is chosen here; give the server one with --root DIR "
            "(talkroom guide --mcp --root DIR writes it into the configuration)",
            file=sys.stderr,
        )
    print(mcp_guide(argv, name), end="")
    return 0


def _args_open(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topic", required=True, metavar="TEXT", help="one line")
    p.add_argument(
        "--as",
        dest="as_name",
        required=True,
        metavar="NAME",
        help="your session name, or 'moderator'",
    )
    p.add_argument(
        "--with",
        dest="with_names",
        required=True,
        metavar="NAME[,NAME...]",
        help="the other participants",
    )
    p.add_argument(
        "--next", metavar="NAME[,...]", help="who speaks first (default: the first --with name)"
    )
    p.add_argument("--max-turns", type=int, metavar="N", help="the turn budget (default 20)")
    p.add_argument(
        "--waiting-limit",
        metavar="DURATION",
        help="flag it when next waits longer than this (600, 10m, 2h; "
        "default: the config's waiting_threshold)",
    )
    body_options(p)


def _args_reply(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID")
    p.add_argument("--as", dest="as_name", required=True, metavar="NAME", help="your session name")
    p.add_argument(
        "--next",
        metavar="NAME[,...]",
        help="who speaks after you: participants, 'moderator' or 'all'",
    )
    p.add_argument(
        "--close", metavar="RESOLUTION", help="close the conversation with this decision"
    )
    body_options(p)


def _args_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--last", type=int, metavar="N", help="only the last N blocks")
    p.add_argument(
        "--follow",
        action="store_true",
        help="keep printing blocks as they are added, until it closes",
    )


def _args_list(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--status",
        choices=["in-progress", "paused", "closed", "all"],
        default="all",
        help="only these (unreadable files are always listed)",
    )
    p.add_argument("--json", action="store_true", help="one JSON array")


def _args_guide(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mcp",
        action="store_true",
        help="the MCP server's configuration for Claude Code, Codex and Gemini CLI",
    )
    p.add_argument(
        "--as", dest="as_name", metavar="NAME", help="with --mcp: the agent's session name"
    )


SPECS: dict[str, Spec] = {
    "open": command(OpenArgs, _args_open, cmd_open),
    "reply": command(ReplyArgs, _args_reply, cmd_reply),
    "show": command(ShowArgs, _args_show, cmd_show),
    "list": command(ListArgs, _args_list, cmd_list),
    "guide": command(GuideArgs, _args_guide, cmd_guide),
}
