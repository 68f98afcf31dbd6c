"""The operations of docs/protocol.md section 4.4: open, reply and the moderator's actions.

Each operation is planned first (inputs validated, bad input refused before any lock) and
then run through the one write path, where `change` checks the fresh file and builds the
next version of it. `change` never mutates what it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from talkroom.core import clock, journal, store
from talkroom.core.codec import check_body
from talkroom.core.errors import BadInput, Refused
from talkroom.core.model import CLOSED, IN_PROGRESS, PAUSED, Block, Conversation
from talkroom.core.names import (
    DEFAULT_MAX_TURNS,
    MAX_MAX_TURNS,
    MAX_TOPIC_CHARS,
    MODERATOR,
    check_name,
    join_names,
    new_block_id,
    new_conversation_id,
    with_suffix,
)
from talkroom.core.paths import Root

MAX_RESOLUTION_CHARS = 4000


class Plan:
    """A validated operation: which file, which new block, and how to change the file."""

    __slots__ = ("block_id", "change", "create", "notes", "path")

    def __init__(
        self,
        path: Path,
        block_id: str,
        change: Callable[[Conversation | None], Conversation],
        create: bool = False,
    ) -> None:
        self.path = path
        self.block_id = block_id
        self.change = change
        self.create = create
        self.notes: list[str] = []  # what the writer should be told (e.g. a dropped --next)


class Outcome:
    """What a successful operation wrote."""

    __slots__ = ("broken", "conv", "lost", "notes")

    def __init__(
        self,
        conv: Conversation,
        notes: list[str],
        broken: list[Path],
        lost: list[journal.Entry] | None = None,
    ) -> None:
        self.conv = conv
        self.notes = notes
        self.broken = broken  # stale locks renamed aside on the way
        self.lost = lost or []  # committed blocks found missing from the file on the way

    def warnings(self) -> list[str]:
        """What the writer should be told besides the notes (one line each)."""
        out = [f"broke a stale lock (renamed to {aside})" for aside in self.broken]
        if self.conv.path is not None:
            out += [journal.describe(entry, self.conv.path) for entry in self.lost]
        return out


def run(plan: Plan, host: str) -> Outcome:
    """Apply a plan through the one write path."""
    broken: list[Path] = []
    lost: list[journal.Entry] = []
    conv = store.write(
        plan.path,
        plan.block_id,
        plan.change,
        host=host,
        create=plan.create,
        broken=broken,
        lost=lost,
        notes=plan.notes,
    )
    return Outcome(conv, plan.notes, broken, lost)


# --- inputs -----------------------------------------------------------------------------


def parse_names(text: str | list[str], what: str = "--next") -> list[str]:
    """A comma-separated list of names from the command line: valid, no 'none', no repeats."""
    items = text if isinstance(text, list) else text.split(",")
    out: list[str] = []
    for item in items:
        if not item.strip():
            continue
        name = check_name(item, f"name in {what}", allow_reserved=True)
        if name == "none":
            raise BadInput(f"{what} cannot be 'none'; name a participant, 'moderator' or 'all'")
        if name not in out:
            out.append(name)
    if not out:
        raise BadInput(f"{what} names nobody; name a participant, 'moderator' or 'all'")
    return out


MAX_WAITING_LIMIT = 7 * 86400.0  # as the config's thresholds


def one_line(text: str, what: str, limit: int) -> str:
    text = text.strip()
    if not text:
        raise BadInput(f"the {what} is empty; give some text")
    if "\n" in text or "\r" in text:
        raise BadInput(f"the {what} must be one line; remove the line breaks")
    if "\x00" in text:
        raise BadInput(f"the {what} contains a NUL byte; remove it")
    if len(text) > limit:
        raise BadInput(f"the {what} is {len(text)} characters; the limit is {limit}")
    return text


def resolution_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise BadInput("the resolution is empty; say what was decided or why it ended")
    if "\x00" in text:
        raise BadInput("the resolution contains a NUL byte; remove it")
    if len(text) > MAX_RESOLUTION_CHARS:
        raise BadInput(
            f"the resolution is {len(text)} characters; the limit is {MAX_RESOLUTION_CHARS}"
        )
    return text


def resolve_next(conv: Conversation, names: list[str], writer: str) -> list[str]:
    """Expand 'all' and check every name is a participant or the moderator (else refuse)."""
    return expand_next(
        conv.participants,
        names,
        writer,
        lambda item: (
            f"{item!r} is not a participant of {conv.id} (participants: "
            f"{join_names(conv.participants)}); name one of them"
        ),
    )


def expand_next(
    participants: list[str],
    names: list[str],
    writer: str,
    refusal: Callable[[str], str],
    moderator: bool = True,
) -> list[str]:
    """`names` with 'all' expanded to everyone but `writer`, without repeats; a name that is
    not a participant (nor, with `moderator`, the moderator) is refused with `refusal`."""
    out: list[str] = []
    for name in names:
        expanded = [p for p in participants if p != writer] if name == "all" else [name]
        for item in expanded:
            if item not in participants and not (moderator and item == MODERATOR):
                raise Refused(refusal(item))
            if item not in out:
                out.append(item)
    if not out:
        raise BadInput("--next names nobody once 'all' leaves you out; name someone")
    return out


# --- shared checks and header updates -------------------------------------------------


def not_closed(conv: Conversation) -> None:
    if conv.status == CLOSED:
        why = f": {conv.resolution}" if conv.resolution else ""
        raise Refused(f"{conv.id} is closed{why}; open a new conversation to go on")


def within_budget(conv: Conversation, names: list[str]) -> None:
    if conv.turns >= conv.max_turns and any(n != MODERATOR for n in names):
        raise Refused(
            f"{conv.id} has used its budget ({conv.turns}/{conv.max_turns}); "
            "extend it first (talkroom extend ID --by N)"
        )


def set_next_header(header: dict[str, str], names: list[str]) -> None:
    header["next"] = join_names(names)


def stamp(conv: Conversation, header: dict[str, str], at: str, turns: int) -> dict[str, str]:
    """Set what every write sets: turns from the count, revision + 1, updated at."""
    if "opened at" not in header and conv.opened_at:
        header["opened at"] = conv.opened_at
    if "max turns" not in header:
        header["max turns"] = str(conv.max_turns)
    header["turns"] = str(turns)
    header["revision"] = str(conv.revision + 1)
    header["updated at"] = at
    return header


def require(conv: Conversation | None) -> Conversation:
    assert conv is not None, "only open creates a file"
    return conv


# --- open -------------------------------------------------------------------------------


def plan_open(
    root: Root,
    *,
    topic: str,
    opener: str,
    with_: list[str],
    next_: list[str] | None = None,
    max_turns: int | None = None,
    body: str = "",
    moderator: str | None = None,
    waiting_limit: str | None = None,
    now: float | None = None,
) -> Plan:
    """Plan a new conversation; the id is chosen when it runs (see `open_conversation`)."""
    topic = one_line(topic, "topic", MAX_TOPIC_CHARS)
    opener = check_name(opener, "--as name", allow_reserved=True)
    if opener in ("all", "none"):
        raise BadInput(f"--as cannot be {opener!r}; use your session name or 'moderator'")
    others = [check_name(n, "--with name") for n in with_ if n.strip()]
    participants = [] if opener == MODERATOR else [opener]
    participants += [n for n in dict.fromkeys(others) if n != opener]
    if len(participants) < 2:
        raise BadInput(
            "a conversation needs at least 2 participants; name them with --with A,B"
            + ("" if opener == MODERATOR else " (you are one)")
        )
    budget = DEFAULT_MAX_TURNS if max_turns is None else max_turns
    if not 2 <= budget <= MAX_MAX_TURNS:
        raise BadInput(f"--max-turns must be between 2 and {MAX_MAX_TURNS}, got {budget}")
    expanded = expand_next(
        participants,
        next_ or [n for n in participants if n != opener][:1],
        opener,
        lambda item: (
            f"the first --next {item!r} is not a participant "
            f"({join_names(participants)}); name one of them"
        ),
        moderator=False,
    )
    body = check_body(body, required=False)
    if waiting_limit is not None:
        seconds = clock.parse_duration(waiting_limit)
        if seconds is None or seconds <= 0:
            raise BadInput(
                f"--waiting-limit {waiting_limit!r} is not a duration; write 600, 90s, 10m or 2h"
            )
        if seconds > MAX_WAITING_LIMIT:
            raise BadInput(
                f"--waiting-limit {waiting_limit!r} is over 7 days; give 168h or "
                "less (pause the conversation to stop it waiting)"
            )
    ts = clock.now() if now is None else now
    at = clock.iso(ts)
    author = (moderator or MODERATOR) if opener == MODERATOR else opener
    block_id = new_block_id(ts)

    def change(current: Conversation | None) -> Conversation:
        header = {
            "topic": topic,
            "opened by": opener,
            "participants": join_names(participants),
            "status": IN_PROGRESS,
            "turns": "1",
            "max turns": str(budget),
            "next": join_names(expanded),
            "revision": "1",
            "opened at": at,
            "updated at": at,
        }
        if waiting_limit is not None:
            # Read by the console: how long `next` may wait before it is flagged.
            header["waiting limit"] = waiting_limit.strip()
        block = Block(
            "Opening", author, at, body, block_id, turn=1, budget=budget, next=list(expanded)
        )
        return Conversation("", header, [block])

    return Plan(
        root.conversations / f"{new_conversation_id(topic, ts)}.md", block_id, change, create=True
    )


def open_conversation(root: Root, plan: Plan, host: str) -> Outcome:
    """Create the planned conversation under a fresh id (`-2`, `-3`, ... on a clash)."""
    if root.implicit and not root.path.is_dir():
        raise BadInput(
            f"no talk root is chosen (no --root, $TALKROOM_ROOT or config root, and no .talks "
            f"folder at or above {root.path.parent}); choose one that every agent shares: "
            "--root ~/talks, or 'root: ~/talks' in 'talkroom config --edit'"
        )
    try:
        root.conversations.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from talkroom.core.errors import io_error

        raise io_error(exc, root.conversations, "create") from None
    base = plan.path.name[:-3]
    for n in range(1, 1000):
        path = root.conversations / f"{with_suffix(base, n)}.md"
        try:
            return run(Plan(path, plan.block_id, plan.change, create=True), host)
        except FileExistsError:
            continue
    raise BadInput(f"too many conversations named {base}-N today; choose another topic")


# --- reply ------------------------------------------------------------------------------


def plan_reply(
    root: Root,
    conv_id: str,
    *,
    author: str,
    next_: list[str] | None,
    body: str,
    close: str | None = None,
    now: float | None = None,
) -> Plan:
    """Plan a reply by the session in `next`; `close` also closes with that resolution."""
    path = root.conversation(conv_id)
    author = check_name(author, "--as name")
    resolution = resolution_text(close) if close is not None else None
    if next_ is None and resolution is None:
        raise BadInput("say who speaks next with --next NAME[,NAME] (or 'moderator', 'all')")
    if next_ is not None and set(next_) == {author}:
        raise BadInput(
            f"--next names only you ({author}): a reply passes the turn on; name "
            "another participant, 'moderator' or 'all'"
        )
    body = check_body(body, required=True)
    ts = clock.now() if now is None else now
    at = clock.iso(ts)
    block_id = new_block_id(ts)

    def change(current: Conversation | None) -> Conversation:
        conv = require(current)
        not_closed(conv)
        if conv.status == PAUSED:
            why = f" ({conv.paused_reason})" if conv.paused_reason else ""
            raise Refused(f"{conv.id} is paused{why}; wait until the moderator resumes it")
        if author not in conv.next:
            raise Refused(
                f"not your turn in {conv.id}: next is {join_names(conv.next)}; "
                "wait until you are woken"
            )
        if conv.turns >= conv.max_turns:
            raise Refused(
                f"{conv.id} has used its budget ({conv.turns}/{conv.max_turns}); "
                "the moderator can extend it"
            )
        turn = conv.turns + 1
        header = dict(conv.header)
        if resolution is not None:
            names: list[str] = []
            header["status"] = CLOSED
            header["resolution"] = resolution
            header.pop("paused reason", None)
        else:
            assert next_ is not None
            names = resolve_next(conv, next_, author)
            if turn >= conv.max_turns and names != [MODERATOR]:
                note = (
                    f"this reply used the last turn ({turn}/{conv.max_turns}): next is the "
                    f"moderator, not {join_names(names)}"
                )
                if note not in plan.notes:  # a retried write runs change again
                    plan.notes.append(note)
                names = [MODERATOR]
        set_next_header(header, names)
        block = Block(
            "Reply", author, at, body, block_id, turn=turn, budget=conv.max_turns, next=names
        )
        return conv.evolve(stamp(conv, header, at, turn), block)

    plan = Plan(path, block_id, change)
    return plan
