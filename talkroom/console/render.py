"""How one block looks: the single rendering path of the live transcript and of replay.

Every string here came from a file another machine wrote: it is sanitised first and only
ever becomes `Text` or `Markdown`, never console markup.
"""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.text import Text

from talkroom.console import palette
from talkroom.core import clock
from talkroom.core.model import Block, Conversation
from talkroom.core.names import join_names
from talkroom.core.receipts import Receipt
from talkroom.core.sanitise import sanitise, sanitise_line
from talkroom.core.views import action_text

AUTHOR_COLOURS = palette.NAMES
MODERATOR_STYLE = palette.MODERATOR_BADGE


def local_time(stamp: str, now: float) -> str:
    """HH:MM:SS for today, else the date too; the file's text when it is not a time."""
    ts = clock.parse_loose(stamp)
    if ts is None:
        return sanitise_line(stamp)
    if time.strftime("%Y-%m-%d", time.localtime(ts)) == time.strftime(
        "%Y-%m-%d", time.localtime(now)
    ):
        return time.strftime("%H:%M:%S", time.localtime(ts))
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def author_style(conv: Conversation, name: str) -> str:
    """A stable colour per participant."""
    names = conv.participants
    return AUTHOR_COLOURS[names.index(name) % len(AUTHOR_COLOURS)] if name in names else "bold"


# Markdown costs time superlinear in a body's blocks (a legal 256 KiB list of 65,000 items
# takes about 6 s to draw, every time the transcript is laid out): past these, a body is
# shown as plain text, and past SHOWN_LINES only its start, with a pointer to the rest.
MARKDOWN_LINES = 400
MARKDOWN_BYTES = 32 * 1024
SHOWN_LINES = 400


def body_markdown(body: str) -> RenderableType:
    """A body as inert Markdown: controls made visible, links shown but never opened; a
    very large body as plain text, cut at SHOWN_LINES (the file and exports keep it all)."""
    lines = body.count("\n") + 1
    if lines <= MARKDOWN_LINES and len(body) <= MARKDOWN_BYTES:
        return Markdown(sanitise(body), hyperlinks=False, code_theme="ansi_dark")
    shown = body.split("\n", SHOWN_LINES)[:SHOWN_LINES]
    text = Text(sanitise("\n".join(shown))[: MARKDOWN_BYTES * 4])
    left = lines - len(shown)
    note = (
        f"(a large body, {len(body.encode('utf-8', 'surrogateescape')):,} bytes, shown as "
        "plain text"
        + (f"; {left:,} more lines: export it (x) or run talkroom show" if left > 0 else "")
        + ")"
    )
    return Group(text, Text(note, style="dim italic"))


_RECEIPT_STYLE = {
    "delivered": palette.MOVING,
    "deferred": palette.OVER,  # held while the pane is busy: a problem only when long
    "failed": palette.BROKEN,
    "unknown": palette.WAITS_ON_YOU,  # did it land? someone should look
}


def receipts_lines(receipts: list[Receipt]) -> list[Text]:
    """One line per target: its outcomes in order, repeats folded."""
    by_target: dict[tuple[str, str], list[Receipt]] = {}
    for receipt in receipts:
        by_target.setdefault((receipt.host, receipt.target), []).append(receipt)
    lines = []
    for chain in by_target.values():
        line = Text("  ")
        shown: list[Receipt] = []
        for receipt in chain:
            if shown and shown[-1].outcome == receipt.outcome:
                continue
            shown.append(receipt)
        for i, receipt in enumerate(shown):
            if i:
                line.append(" → ", style="dim")
            line.append(receipt.describe(), style=_RECEIPT_STYLE.get(receipt.kind, "dim"))
        lines.append(line)
    return lines


def moderator_line(block: Block) -> Text:
    """A moderator action as one compact line."""
    line = Text.assemble((" ⚑ ", MODERATOR_STYLE), " ", (sanitise_line(block.author), "bold"), " ")
    text = action_text(block)
    if block.action == "close":
        line.append("closed: ", style="bold")
        line.append(text.removeprefix("closed: "))
    else:
        line.append(text)
    return line


def block_renderable(
    conv: Conversation, block: Block, receipts: list[Receipt], now: float
) -> RenderableType:
    """One block of a transcript: heading, body, NEXT and the receipts of its assignment."""
    when = local_time(block.at, now)
    parts: list[RenderableType] = []
    if block.kind == "Moderator":
        heading = moderator_line(block)
        heading.append(f"  {when}", style="dim")
        parts.append(heading)
        if block.action == "inject" and block.body:
            parts.append(body_markdown(block.body))
    else:
        author = sanitise_line(block.author)
        heading = Text.assemble((author, author_style(conv, block.author)))
        if block.kind == "Opening":
            heading.append("  opened", style="dim")
        if block.turn is not None:
            heading.append(f"  turn {block.turn}/{block.budget}", style="dim")
        heading.append(f"  {when}", style="dim")
        parts.append(heading)
        if block.body:
            parts.append(body_markdown(block.body))
        if block.next is not None:
            target = sanitise_line(join_names(block.next)) if block.next else "nobody (closed)"
            parts.append(Text.assemble(("→ next: ", "dim"), (target, "bold")))
    parts.extend(receipts_lines(receipts))
    return Group(*parts)
