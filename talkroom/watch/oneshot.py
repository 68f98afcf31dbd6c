"""One-shot command sessions: the registered command run once per assignment with the
wake-up text; its turn is its own `talkroom reply`, or (`reply from: stdout`) its standard
output written as its turn through the one write path (docs/protocol.md section 6.3).

A run is never retried: whatever happened (an exit status, a timeout, empty output) is
recorded once, and the moderator's nudge is what runs it again.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from talkroom.core import ops
from talkroom.core.errors import TalkError
from talkroom.core.model import Conversation, assignment_id
from talkroom.core.names import MAX_BODY_BYTES, MODERATOR, NAME_RE
from talkroom.core.paths import Root, save_unsent
from talkroom.core.sanitise import sanitise, sanitise_line
from talkroom.core.store import Reader
from talkroom.watch import runner
from talkroom.watch.command import CommandSpec, cannot_run
from talkroom.watch.instruction import WAKE_PREFIX, build_line, reply_next, root_argument
from talkroom.watch.registry import Session, command_problem

# A headless run is no pane: a CLI that sees these would take itself for one.
DROPPED_ENV = ("TMUX", "TMUX_PANE")
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # the other two-character escapes
)
_NEXT_LINE = re.compile(r"^NEXT:\s*(\S.*?)\s*$")


@dataclass(frozen=True)
class Ran:
    """What one run came to: the receipt's outcome, whether the command was started (so
    the turn may have been taken), its exit status and how long it ran."""

    outcome: str
    started: bool
    exit_code: int | None = None
    run_ms: int | None = None


def wake_text(conv: Conversation, target: str, root: Path, reply_from: str) -> str:
    """The text a run gets: the wake-up line a pane would get, or, when its output is its
    turn, the same facts with what to print instead of what to run."""
    assert conv.path is not None
    if reply_from == "agent":
        return build_line(conv, target, conv.path, root)
    if not NAME_RE.match(conv.id) or not NAME_RE.match(target):
        raise ValueError("refusing an invalid name in a wake-up text")
    after = reply_next(conv, target)
    if after != MODERATOR and not NAME_RE.match(after):
        raise ValueError("refusing an invalid name in a wake-up text")
    show = f"talkroom show {conv.id} {root_argument(root)}"
    where = str(conv.path)
    read = f"read {where} (or: {show})" if where.isascii() and where.isprintable() else show
    return (
        f"{WAKE_PREFIX} your turn in {conv.id} (turn {conv.turns + 1}/{conv.max_turns}) as "
        f"{target}: {read}, then print your reply: what you print becomes your turn, "
        f"handed to {after}; a last line NEXT: <names> hands it to others."
    )


def run_env(spec: CommandSpec, root: Root, host: str, name: str, conv_id: str) -> dict[str, str]:
    """The watcher's environment, less tmux's, plus the registration's and talkroom's own."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update(spec.env)
    env.update(
        TALKROOM_ROOT=str(root.path),
        TALKROOM_HOST=host,
        TALKROOM_SESSION=name,
        TALKROOM_CONVERSATION=conv_id,
    )
    # The agent replies with `talkroom reply`: the talkroom that runs this watcher is
    # found even when the watcher was started by its full path.
    here = os.path.dirname(sys.executable)
    path = env.get("PATH", os.defpath)
    if os.path.exists(os.path.join(here, "talkroom")) and here not in path.split(os.pathsep):
        env["PATH"] = os.pathsep.join([path, here]) if path else here
    return env


def run_once(
    root: Root,
    host: str,
    conv: Conversation,
    aid: str,
    session: Session,
    intent: Callable[[], bool],
    stop: threading.Event,
) -> Ran | None:
    """Run `session`'s command for assignment `aid` of `conv`, once; None when the
    assignment moved on before anything ran. `intent` records the run durably before the
    command starts (False: superseded)."""
    spec = session.command
    assert spec is not None and conv.path is not None
    env = run_env(spec, root, host, session.name, conv.id)
    why = command_problem(session) or cannot_run(spec, env)
    if why:
        return Ran(f"failed:cannot run: {why}", started=False)
    try:
        text = wake_text(conv, session.name, root.path, spec.reply_from)
    except ValueError as exc:
        return Ran(f"failed:{exc}", started=False)
    if not intent():
        return None
    result = runner.run(
        [*spec.argv, text] if spec.prompt_via == "argument" else spec.argv,
        cwd=spec.cwd,
        env=env,
        stdin=(text + "\n").encode() if spec.prompt_via == "stdin" else None,
        timeout=spec.timeout,
        cap=spec.output_cap,
        stop=stop,
    )
    if result.error:
        return Ran(f"failed:cannot start: {result.error}", started=False)
    run_ms = round(result.seconds * 1000)
    code = result.exit_code
    return Ran(_judge(root, host, conv, aid, session, spec, result), True, code, run_ms)


def _judge(
    root: Root,
    host: str,
    conv: Conversation,
    aid: str,
    session: Session,
    spec: CommandSpec,
    result: runner.RunResult,
) -> str:
    """The outcome of a finished run; with `reply from: stdout`, its output written."""
    if result.stopped:
        return "failed:ended when the watcher stopped"
    if result.timed_out:
        return f"failed:timed out after {spec.timeout:g} s"
    code = result.exit_code
    if code:
        said = _last_line(result.stderr_tail) or _last_line(result.stdout[-2048:])
        what = f"killed by signal {-code}" if code < 0 else f"exit {code}"
        return f"failed:{what}" + (f": {said}" if said else "")
    replied = _replied(conv.path, aid, session.name)
    if spec.reply_from == "agent":
        return "delivered" if replied else "failed:exited without replying"
    if replied:
        return "delivered:it replied itself; its output was not written"
    return _write_output(root, host, conv, session.name, result.stdout, result.cut, spec)


def _replied(path: Path | None, aid: str, name: str) -> bool:
    """Whether `name` wrote a turn after assignment `aid` (read fresh)."""
    assert path is not None
    now = Reader().settle(path, tail=True).conv
    if now is None:
        return False
    for blocks in (now.latest, now.blocks):  # the latest blocks hold it, but in a burst
        for index in range(len(blocks) - 1, -1, -1):
            if assignment_id(blocks[index]) == aid:
                return any(b.kind == "Reply" and b.author == name for b in blocks[index + 1 :])
    return False


def body_from_output(data: bytes, cut: bool) -> str:
    """Output as a body: UTF-8 (bad bytes replaced), terminal escapes removed, every
    other control made visible as it is on a screen, within the body limit."""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    text = sanitise(_ESCAPES.sub("", text)).strip("\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    limit = MAX_BODY_BYTES - 200
    raw = text.encode("utf-8")
    if len(raw) > limit:
        text, cut = raw[:limit].decode("utf-8", "ignore"), True
    if cut and text.strip():
        text += "\n\n[talkroom: the rest of the output was cut]"
    return text


def split_next(body: str) -> tuple[str, str | None]:
    """(the body without a last `NEXT: names` line, those names)."""
    lines = body.rstrip().split("\n")
    match = _NEXT_LINE.match(lines[-1]) if lines else None
    if match is None:
        return body, None
    return "\n".join(lines[:-1]).rstrip(), match.group(1)


def _write_output(
    root: Root,
    host: str,
    conv: Conversation,
    name: str,
    data: bytes,
    cut: bool,
    spec: CommandSpec,
) -> str:
    """Write the command's output as `name`'s turn; the outcome."""
    body, named = split_next(body_from_output(data, cut))
    if not body.strip():
        return "failed:empty output"
    try:
        names = ops.parse_names(named, "its NEXT line") if named else [reply_next(conv, name)]
        plan = ops.plan_reply(root, conv.id, author=name, next_=names, body=body)
        ops.run(plan, host)
    except TalkError as exc:
        try:
            where = f"; its output is saved in {save_unsent(body, conv.id)}"
        except OSError:
            where = ""
        return f"failed:its output could not be written: {sanitise_line(exc.message)}{where}"
    return f"delivered:output cut at {spec.output_cap} bytes" if cut else "delivered"


def _last_line(data: bytes) -> str:
    """The last non-blank line of some output, inert and short, for a receipt."""
    lines = [ln for ln in _ESCAPES.sub("", data.decode("utf-8", "replace")).splitlines()]
    text = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    text = sanitise_line(text)
    return text[:160] + ("..." if len(text) > 160 else "")
