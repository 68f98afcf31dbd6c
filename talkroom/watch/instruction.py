"""The one fixed line a watcher types: built from validated names and a local path only."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from talkroom.core.model import Conversation
from talkroom.core.names import MODERATOR, NAME_RE
from talkroom.core.sanitise import sanitise_line
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


# A shell comment: a line typed into a program that never reads it stays in the terminal
# and reaches the shell when the program exits; there it must do nothing. Claude Code,
# Codex and Gemini CLI take a leading `# ` as plain text (measured; `!`, `/`, `@` are not).
WAKE_PREFIX = "# talkroom:"
MAX_ROOT = 240  # characters of a (quoted) root path a wake-up line can carry


def root_argument(root: Path) -> str:
    """`--root <path>`, quoted for a shell where needed. ValueError (a one-line reason)
    when the path cannot be typed: not printable ASCII, or too long for the line."""
    text = str(root)
    if not (text.isascii() and text.isprintable()):
        raise ValueError(
            f"the talk root {sanitise_line(text)} has characters a wake-up line cannot carry "
            "(it is typed as printable ASCII); reach it through an ASCII path, such as a "
            "symbolic link to it, and give that as --root"
        )
    quoted = text if _SHELL_SAFE.match(text) else shlex.quote(text)
    if len(quoted) > MAX_ROOT:
        raise ValueError(
            f"the talk root's path is {len(quoted)} characters; a wake-up line carries at "
            f"most {MAX_ROOT}: use a shorter path, such as a symbolic link to it"
        )
    return f"--root {quoted}"


def build_line(conv: Conversation, target: str, path: Path, root: Path) -> str:
    """`# talkroom: your turn in <id> (turn N/M): read <path>, then run: talkroom reply ...`.

    Every part is a validated name, a number or a local absolute path that is printable
    ASCII; the reply command always carries the root it must write to. Raises ValueError
    for an invalid name, a root that cannot be typed, or a line over 400 characters.
    """
    for name in (conv.id, target):
        if not NAME_RE.match(name):
            raise ValueError(f"refusing to type an invalid name: {sanitise_line(name)!r}")
    after = reply_next(conv, target)
    if after != MODERATOR and not NAME_RE.match(after):
        raise ValueError(f"refusing to type an invalid name: {sanitise_line(after)!r}")
    turn = f"turn {conv.turns + 1}/{conv.max_turns}"
    where_root = root_argument(root)
    command = f"talkroom reply {conv.id} --as {target} --next {after} {where_root}"
    where = str(path)
    head = f"{WAKE_PREFIX} your turn in {conv.id} ({turn}): "
    # The first line that fits, in order of what matters: the exact reply command with its
    # root above all, then how to read the conversation.
    readable = where.isascii() and where.isprintable()
    candidates = [
        *([f"{head}read {where}, then run: {command}"] if readable else []),
        f"{head}read it with: talkroom show {conv.id} {where_root}, then run: {command}",
        f"{head}then run: {command}",
    ]
    line = next((c for c in candidates if len(c) <= 400), None)
    if line is None:
        raise ValueError(
            "the wake-up line would be over 400 characters: use shorter names "
            "or a shorter root path"
        )
    validate_line(line)
    return line
