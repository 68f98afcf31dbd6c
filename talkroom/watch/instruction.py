"""The one fixed line a watcher types: built from validated names and a local path only."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from talkroom.core.model import Conversation
from talkroom.core.names import MODERATOR, NAME_RE
from talkroom.watch.tmux import validate_line

_SHELL_SAFE = re.compile(r"^[A-Za-z0-9_./@%+=:,-]+$")


def reply_next(conv: Conversation, target: str) -> str:
    """Who the instruction suggests after `target`: the other participant, in turn order."""
    # Only valid names: a hand-edited header could list anything as a participant.
    names = [p for p in conv.participants if NAME_RE.match(p) and p != MODERATOR]
    others = [p for p in names if p != target]
    if not others:
        return MODERATOR
    if target not in names:
        return others[0]
    return names[(names.index(target) + 1) % len(names)]


def build_line(conv: Conversation, target: str, path: Path, root: Path) -> str:
    """`[talkroom] your turn in <id> (turn N/M): read <path>, then run: talkroom reply ...`.

    Every part is a validated name, a number or a local absolute path that is printable
    ASCII; anything else is left out. Raises ValueError for an invalid name.
    """
    for name in (conv.id, target):
        if not NAME_RE.match(name):
            raise ValueError(f"refusing to type an invalid name: {name!r}")
    after = reply_next(conv, target)
    if after != MODERATOR and not NAME_RE.match(after):
        raise ValueError(f"refusing to type an invalid name: {after!r}")
    turn = f"turn {conv.turns + 1}/{conv.max_turns}"
    command = f"talkroom reply {conv.id} --as {target} --next {after}"
    root_text = str(root)
    with_root = command
    if root_text.isascii() and root_text.isprintable():
        quoted = root_text if _SHELL_SAFE.match(root_text) else shlex.quote(root_text)
        with_root += f" --root {quoted}"
    where = str(path)
    head = f"[talkroom] your turn in {conv.id} ({turn}): "
    # The first line that fits, in order of what matters: the exact reply command with its
    # root above all, then how to read the conversation.
    readable = where.isascii() and where.isprintable()
    candidates = [
        *([f"{head}read {where}, then run: {with_root}"] if readable else []),
        f"{head}read it with: talkroom show {conv.id}, then run: {with_root}",
        f"{head}then run: {with_root}",
        f"{head}then run: {command}",
    ]
    line = next((c for c in candidates if len(c) <= 400), candidates[-1])
    validate_line(line)
    return line
