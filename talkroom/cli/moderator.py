"""The moderator's commands: next, inject, pause, resume, close, reopen, extend and nudge."""

from __future__ import annotations

from talkroom.cli.context import BodyArgs, Context, Globals, say
from talkroom.cli.parser import body_options, command, id_only

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    import argparse

    from talkroom.cli.parser import Spec


class IdArgs(Globals):
    """A moderator command's conversation id."""

    id: str


class NextArgs(IdArgs):
    """talkroom next's arguments."""

    names: list[str]


class InjectArgs(BodyArgs):
    """talkroom inject's arguments."""

    id: str
    next: str | None


class PauseArgs(IdArgs):
    """talkroom pause's arguments."""

    reason: str | None


class CloseArgs(IdArgs):
    """talkroom close's arguments."""

    resolution: str


class ReopenArgs(IdArgs):
    """talkroom reopen's arguments."""

    next: str | None


class ExtendArgs(IdArgs):
    """talkroom extend's arguments."""

    by: int


def _moderate(
    ctx: Context,
    conv_id: str,
    action: str,
    *,
    next_: list[str] | None = None,
    body: str = "",
    by: int | None = None,
) -> int:
    from talkroom.core import moderate, ops

    plan = moderate.plan_moderate(
        ctx.root, conv_id, action, moderator=ctx.moderator, next_=next_, body=body, by=by
    )
    outcome = ops.run(plan, ctx.host)
    conv = outcome.conv
    print(
        f"{action}: {conv.id} is {conv.status}, turn {conv.turns}/{conv.max_turns}, "
        f"next: {', '.join(conv.next) or 'nobody'}"
    )
    say(outcome)
    return 0


def cmd_next(ctx: Context, a: NextArgs) -> int:
    """talkroom next: set who speaks now."""
    from talkroom.core.ops import parse_names

    return _moderate(ctx, a.id, "next", next_=parse_names(",".join(a.names), "NAME"))


def cmd_inject(ctx: Context, a: InjectArgs) -> int:
    """talkroom inject: add the moderator's message, optionally setting next."""
    from talkroom.core.ops import parse_names

    body = ctx.read_body(a, required=True)
    names = parse_names(a.next) if a.next else None
    return _moderate(ctx, a.id, "inject", next_=names, body=body)


def cmd_pause(ctx: Context, a: PauseArgs) -> int:
    """talkroom pause."""
    return _moderate(ctx, a.id, "pause", body=a.reason or "")


def cmd_resume(ctx: Context, a: IdArgs) -> int:
    """talkroom resume."""
    return _moderate(ctx, a.id, "resume")


def cmd_close(ctx: Context, a: CloseArgs) -> int:
    """talkroom close."""
    return _moderate(ctx, a.id, "close", body=a.resolution)


def cmd_reopen(ctx: Context, a: ReopenArgs) -> int:
    """talkroom reopen: a closed conversation goes on (a block in the file says so)."""
    from talkroom.core.ops import parse_names

    return _moderate(ctx, a.id, "reopen", next_=parse_names(a.next) if a.next else None)


def cmd_extend(ctx: Context, a: ExtendArgs) -> int:
    """talkroom extend."""
    return _moderate(ctx, a.id, "extend", by=a.by)


def cmd_nudge(ctx: Context, a: IdArgs) -> int:
    """talkroom nudge: ask the watchers to deliver the current next again."""
    return _moderate(ctx, a.id, "nudge")


def _args_next(p: argparse.ArgumentParser) -> None:
    id_only(p)
    p.add_argument(
        "names", nargs="+", metavar="NAME[,...]", help="participants, 'moderator' or 'all'"
    )


def _args_inject(p: argparse.ArgumentParser) -> None:
    id_only(p)
    p.add_argument("--next", metavar="NAME[,...]", help="who speaks after the message")
    body_options(p)


def _args_pause(p: argparse.ArgumentParser) -> None:
    id_only(p)
    p.add_argument("--reason", metavar="TEXT", help="why, shown to everyone")


def _args_close(p: argparse.ArgumentParser) -> None:
    id_only(p)
    p.add_argument(
        "--resolution", required=True, metavar="TEXT", help="the decision, or why it ended"
    )


def _args_reopen(p: argparse.ArgumentParser) -> None:
    id_only(p)
    p.add_argument(
        "--next", metavar="NAME[,...]", help="who speaks (default: who was next when it closed)"
    )


def _args_extend(p: argparse.ArgumentParser) -> None:
    id_only(p)
    p.add_argument("--by", type=int, required=True, metavar="N", help="more turns")


SPECS: dict[str, Spec] = {
    "next": command(NextArgs, _args_next, cmd_next),
    "inject": command(InjectArgs, _args_inject, cmd_inject),
    "pause": command(PauseArgs, _args_pause, cmd_pause),
    "resume": command(IdArgs, id_only, cmd_resume),
    "close": command(CloseArgs, _args_close, cmd_close),
    "reopen": command(ReopenArgs, _args_reopen, cmd_reopen),
    "extend": command(ExtendArgs, _args_extend, cmd_extend),
    "nudge": command(IdArgs, id_only, cmd_nudge),
}
