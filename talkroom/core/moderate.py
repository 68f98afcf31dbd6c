"""The moderator's actions (docs/protocol.md section 4.4), one small pair of functions each.

Every action first checks its inputs, before any lock (`check`: returns the block's body),
then changes a fresh copy of the header under the lock (`apply`). The table `ACTIONS` is
the one list of them: the command line, the console and the tests all go through it.
Plain classes, not dataclasses: those import inspect, ~16 ms of the helper's start-up.
"""

from __future__ import annotations

from collections.abc import Callable

from talkroom.core import clock
from talkroom.core.codec import check_body
from talkroom.core.errors import BadInput, Refused
from talkroom.core.model import CLOSED, IN_PROGRESS, PAUSED, Block, Conversation
from talkroom.core.names import MAX_MAX_TURNS, MODERATOR, join_names, new_block_id, split_names
from talkroom.core.ops import (
    Plan,
    not_closed,
    one_line,
    require,
    resolution_text,
    resolve_next,
    set_next_header,
    stamp,
    within_budget,
)
from talkroom.core.paths import Root

MAX_PAUSE_REASON = 500


class Request:
    """What the moderator asked for: who speaks next, a text, a number of turns."""

    __slots__ = ("body", "by", "next_")

    def __init__(self, next_: list[str] | None, body: str, by: int | None) -> None:
        self.next_ = next_
        self.body = body
        self.by = by


class Edit:
    """The next version of a conversation's header, and what the block records of it."""

    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self.header = dict(conv.header)
        self.changes: list[tuple[str, str, str]] = []
        self.names: list[str] | None = None  # a new assignment, when the action makes one

    def set_next(self, new: list[str]) -> None:
        """Assign `new`; recorded as a change when it differs."""
        old = join_names(self.conv.next)
        self.names = new
        if join_names(new) != old:
            self.changes.append(("next", old, join_names(new)))
        set_next_header(self.header, new)

    def set_status(self, new: str) -> None:
        """Move to status `new`, recorded as a change."""
        self.changes.append(("status", self.conv.status, new))
        self.header["status"] = new


class Action:
    """One moderator action: its input check and its change to the header."""

    __slots__ = ("apply", "check")

    def __init__(
        self, check: Callable[[Request], str], apply: Callable[[Edit, Request], None]
    ) -> None:
        self.check = check
        self.apply = apply


def _no_body(request: Request) -> str:
    return ""


def _check_next(request: Request) -> str:
    if not request.next_:
        raise BadInput("name who speaks next: talkroom next ID NAME[,NAME]")
    return ""


def _assign(edit: Edit, request: Request) -> None:
    not_closed(edit.conv)
    if request.next_:
        new = resolve_next(edit.conv, request.next_, MODERATOR)
        within_budget(edit.conv, new)
        edit.set_next(new)


def _check_pause(request: Request) -> str:
    reason = request.body.strip()
    return one_line(reason, "pause reason", MAX_PAUSE_REASON) if reason else ""


def _pause(edit: Edit, request: Request) -> None:
    conv = edit.conv
    if conv.status != IN_PROGRESS:
        raise Refused(f"{conv.id} is {conv.status}, not IN-PROGRESS; nothing to pause")
    edit.set_status(PAUSED)
    if request.body.strip():
        edit.header["paused reason"] = request.body.strip()


def _resume(edit: Edit, request: Request) -> None:
    conv = edit.conv
    if conv.status != PAUSED:
        raise Refused(f"{conv.id} is {conv.status}, not PAUSED; nothing to resume")
    edit.set_status(IN_PROGRESS)
    edit.header.pop("paused reason", None)
    edit.names = conv.next  # resuming is a new assignment of the current next


def _close(edit: Edit, request: Request) -> None:
    not_closed(edit.conv)
    edit.set_status(CLOSED)
    edit.set_next([])
    edit.header["resolution"] = request.body  # checked by `resolution_text` before the lock
    edit.header.pop("paused reason", None)


def _reopen(edit: Edit, request: Request) -> None:
    conv = edit.conv
    if conv.status != CLOSED:
        raise Refused(f"{conv.id} is {conv.status}, not CLOSED; nothing to reopen")
    edit.set_status(IN_PROGRESS)
    edit.header.pop("resolution", None)  # the close block keeps it in the history
    if request.next_:
        names = resolve_next(conv, request.next_, MODERATOR)
        within_budget(conv, names)
    else:
        names = _next_at_close(conv)
        if conv.turns >= conv.max_turns:
            names = [MODERATOR]  # nobody could reply: the budget is used up
    edit.set_next(names)


def _next_at_close(conv: Conversation) -> list[str]:
    """Who was next when the conversation was closed (the moderator if nobody was)."""
    for block in reversed(conv.blocks):
        if block.kind == "Moderator" and block.action == "close":
            change = block.change("next")
            names = split_names(change[0]) if change else []
            known = [n for n in names if n == MODERATOR or n in conv.participants]
            return known or [MODERATOR]
        if block.kind == "Reply" and block.next == []:
            return [MODERATOR]  # closed by a reply (`reply --close`)
    return [MODERATOR]


def _check_extend(request: Request) -> str:
    if request.by is None or not 1 <= request.by <= MAX_MAX_TURNS:
        raise BadInput(f"--by must be a number of turns between 1 and {MAX_MAX_TURNS}")
    return ""


def _extend(edit: Edit, request: Request) -> None:
    conv = edit.conv
    not_closed(conv)
    assert request.by is not None
    budget = conv.max_turns + request.by
    if budget <= conv.turns:
        raise Refused(
            f"a budget of {budget} does not exceed the {conv.turns} turns taken; extend by more"
        )
    edit.changes.append(("max turns", str(conv.max_turns), str(budget)))
    edit.header["max turns"] = str(budget)


def _nudge(edit: Edit, request: Request) -> None:
    conv = edit.conv
    if conv.status != IN_PROGRESS:
        raise Refused(f"{conv.id} is {conv.status}; only a live conversation is nudged")
    if not conv.agents_next:
        raise Refused(f"next in {conv.id} is {join_names(conv.next)}: there is no agent to nudge")
    edit.names = conv.next


ACTIONS: dict[str, Action] = {
    "next": Action(_check_next, _assign),
    "inject": Action(lambda r: check_body(r.body, required=True), _assign),
    "pause": Action(_check_pause, _pause),
    "resume": Action(_no_body, _resume),
    "close": Action(lambda r: resolution_text(r.body), _close),
    "reopen": Action(_no_body, _reopen),
    "extend": Action(_check_extend, _extend),
    "nudge": Action(_no_body, _nudge),
}


def plan_moderate(
    root: Root,
    conv_id: str,
    action: str,
    *,
    moderator: str,
    next_: list[str] | None = None,
    body: str = "",
    by: int | None = None,
    now: float | None = None,
) -> Plan:
    """Plan one of `ACTIONS` by `moderator`; bad input is refused here, before any lock."""
    found = ACTIONS.get(action)
    if found is None:
        raise BadInput(f"unknown moderator action {action!r}; one of {', '.join(ACTIONS)}")
    path = root.conversation(conv_id)
    request = Request(next_, body, by)
    text = found.check(request)
    request = Request(next_, text, by)
    ts = clock.now() if now is None else now
    at = clock.iso(ts)
    block_id = new_block_id(ts)

    def change(current: Conversation | None) -> Conversation:
        edit = Edit(require(current))
        found.apply(edit, request)
        block = Block(
            "Moderator",
            moderator,
            at,
            text,
            block_id,
            action=action,
            changes=edit.changes,
            next=edit.names,
        )
        return edit.conv.evolve(stamp(edit.conv, edit.header, at, edit.conv.turns), block)

    return Plan(path, block_id, change)
