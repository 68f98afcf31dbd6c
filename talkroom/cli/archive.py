"""`talkroom archive`: closed conversations out of the live list, and back."""

from __future__ import annotations

import sys

from talkroom.cli.context import Context, Globals
from talkroom.cli.parser import command
from talkroom.core.errors import BadInput, TalkError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import argparse

    from talkroom.cli.parser import Spec


class ArchiveArgs(Globals):
    """talkroom archive's arguments."""

    ids: list[str]
    older_than: float | None
    restore: bool
    list: bool


def cmd_archive(ctx: Context, a: ArchiveArgs) -> int:
    """talkroom archive: move closed conversations out of the live list (or back)."""
    from talkroom.core import archive

    if a.list:
        if a.ids or a.restore or a.older_than is not None:
            raise BadInput("--list takes no ids nor other options; run it alone")
        for path in archive.archived(ctx.root):
            print(path.name[:-3])
        return 0
    if a.restore:
        if not a.ids or a.older_than is not None:
            raise BadInput(
                "--restore needs the ids to bring back (see --list), and no --older-than"
            )
        for conv_id in a.ids:
            conv = archive.restore(ctx.root, conv_id, ctx.host)
            print(f"restored: {conv.id} is back in the live list ({conv.status})")
        return 0
    if a.ids and a.older_than is not None:
        raise BadInput("give ids or --older-than DAYS, not both")
    ids = a.ids or archive.due(
        ctx.root, archive.DEFAULT_DAYS if a.older_than is None else a.older_than
    )
    failed = 0
    for conv_id in ids:
        try:
            archive.archive(ctx.root, conv_id, ctx.host)
        except TalkError as exc:
            if len(ids) == 1:
                raise
            failed += 1
            print(f"talkroom: {exc.message}", file=sys.stderr)
            continue
        print(f"archived: {conv_id}")
    if not ids:
        days = archive.DEFAULT_DAYS if a.older_than is None else a.older_than
        print(
            f"nothing to archive: no conversation closed more than {days:g} days ago",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _args_archive(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="*", metavar="ID", help="closed conversations to archive")
    p.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="every conversation closed this many days ago (default 30)",
    )
    p.add_argument("--restore", action="store_true", help="bring the ids back instead")
    p.add_argument("--list", action="store_true", help="list the archived conversations")


SPECS: dict[str, Spec] = {"archive": command(ArchiveArgs, _args_archive, cmd_archive)}
