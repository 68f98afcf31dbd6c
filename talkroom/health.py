"""What is wrong with a conversation, and the key that fixes it.

Pure rules over what the console already knows (conversations, sessions, heartbeats,
receipts, broken locks); no Textual, no I/O.
"""

from __future__ import annotations

import math
from pathlib import Path

from talkroom.core import clock, journal
from talkroom.core.model import CLOSED, IN_PROGRESS, Conversation, assignment_id
from talkroom.core.receipts import Receipt
from talkroom.core.sanitise import sanitise_line
from talkroom.core.stale import BrokenLock
from talkroom.watch.heartbeat import Heartbeat
from talkroom.watch.registry import Session

WAITING_LIMIT_KEY = "waiting limit"  # a header key: this conversation's own threshold
BROKEN_SHOWN = 3600.0  # a broken lock is news for an hour; the file stays for inspection


class Problem:
    """One thing that keeps a conversation from moving, with the keys that fix it."""

    __slots__ = ("conv_id", "keys", "kind", "subject", "text")

    def __init__(
        self, conv_id: str, kind: str, subject: str, text: str, keys: tuple[str, ...] = ()
    ) -> None:
        self.conv_id = conv_id
        self.kind = kind  # waiting, unregistered, pane-gone, no-watcher, deferred, stale-lock,
        # lost-turn, not-taken, cannot-run, run-failed
        self.subject = subject  # what it is about (a session, a lock): stable as time passes
        self.text = sanitise_line(text)  # receipts and lock files come from other hosts
        self.keys = keys  # console keys: u nudge, n set next, p pause

    def __repr__(self) -> str:
        return f"Problem({self.conv_id}: {self.kind}: {self.text})"

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity: the same problem a minute later has the same key, so it is not news."""
        return (self.conv_id, self.kind, self.subject)


def waiting_limit(conv: Conversation, default: float) -> float:
    """The conversation's own `waiting limit` header, else the configured default."""
    own = clock.parse_duration(conv.header.get(WAITING_LIMIT_KEY, ""))
    return own if own is not None and own > 0 else default


class Facts:
    """Everything the rules look at, gathered by the console (or doctor)."""

    def __init__(
        self,
        host: str,
        sessions: list[tuple[Session, bool | None]],
        heartbeats: list[Heartbeat],
        receipts: dict[tuple[str, str], list[Receipt]],
        broken_locks: list[BrokenLock],
        waiting_threshold: float = 600.0,
        deferred_threshold: float = 120.0,
    ) -> None:
        self.host = host
        self.sessions = {s.name: (s, alive) for s, alive in sessions}
        self.heartbeats = {b.host: b for b in heartbeats}
        self.receipts = receipts
        self.broken_locks = broken_locks
        self.waiting_threshold = waiting_threshold
        self.deferred_threshold = deferred_threshold


def problems(conv: Conversation, facts: Facts, now: float) -> list[Problem]:
    """Every problem of one conversation, in the order a moderator should look at them."""
    found: list[Problem] = []
    block = conv.assignment()
    if conv.status == IN_PROGRESS and block is not None and conv.agents_next:
        since = clock.parse_loose(block.at)
        limit = waiting_limit(conv, facts.waiting_threshold)
        if since is not None and now - since > limit:
            found.append(
                Problem(
                    conv.id,
                    "waiting",
                    " ".join(conv.agents_next),
                    f"{', '.join(conv.agents_next)} waiting for "
                    f"{clock.age(now - since)} (limit {clock.age(limit)})",
                    ("u", "n", "p"),
                )
            )
        for name in conv.agents_next:
            if (problem := session_problem(conv.id, name, facts, now)) is not None:
                found.append(problem)
        aid = assignment_id(block)
        for name in conv.agents_next:
            latest = _latest(facts.receipts.get((conv.id, aid), []), name)
            if latest is not None and latest.path == "command":
                if latest.kind in ("failed", "unknown"):
                    found.append(run_failed(conv.id, name, latest))
            elif (
                latest is not None
                and latest.kind in ("failed", "unknown")
                and latest.reason
                not in ("pane gone", "server gone", "server restarted", "pane replaced")
            ):  # those: pane-gone above
                found.append(
                    Problem(
                        conv.id,
                        "not-taken",
                        name,
                        f"the wake-up line to {name} was not taken ({latest.outcome}, on "
                        f"{latest.host}): look at its pane; u sends it again",
                        ("u", "n"),
                    )
                )
            deferred = _deferred_since(facts.receipts.get((conv.id, aid), []), name)
            if deferred is not None:
                receipt, since_deferred = deferred
                if now - since_deferred > facts.deferred_threshold:
                    found.append(
                        Problem(
                            conv.id,
                            "deferred",
                            name,
                            f"delivery to {name} deferred for {clock.age(now - since_deferred)}: "
                            f"{receipt.reason} (on {receipt.host})",
                            ("u", "n"),
                        )
                    )
    for entry in journal.shown(conv.lost, now):
        found.append(
            Problem(
                conv.id,
                "lost-turn",
                entry.block_id,
                journal.describe(entry, conv.path or Path(conv.id)),
                (),
            )
        )
    if conv.status != CLOSED:
        for broken in facts.broken_locks:
            if broken.conv_id == conv.id and 0 <= now - broken.broken_at < BROKEN_SHOWN:
                found.append(
                    Problem(
                        conv.id,
                        "stale-lock",
                        broken.name,
                        f"{broken.describe()} {clock.age(now - broken.broken_at)} "
                        "ago: check that its turn landed",
                        (),
                    )
                )
    return found


def session_problem(conv_id: str, name: str, facts: Facts, now: float) -> Problem | None:
    """Why session `name` cannot be woken: not registered, its pane gone, or no watcher
    beats on its host; None when it can. The console and doctor both ask this."""
    entry = facts.sessions.get(name)
    if entry is None:
        return Problem(
            conv_id,
            "unregistered",
            name,
            f"{name} is registered on no host: nobody will wake it",
            ("n",),
        )
    session, alive = entry
    if session.host == facts.host and alive is False and session.command is not None:
        return Problem(
            conv_id,
            "cannot-run",
            name,
            f"{name}'s command cannot run on this host: register it again (talkroom "
            "sessions says why) or set next",
            ("n",),
        )
    if session.host == facts.host and alive is False:
        return Problem(
            conv_id,
            "pane-gone",
            name,
            f"{name}'s {session.where} is gone: register it again or set next",
            ("n",),
        )
    down = watcher_down(facts.heartbeats.get(session.host), now)
    if down is not None:
        return Problem(
            conv_id,
            "no-watcher",
            f"{session.host} {name}",
            f"no watcher heartbeat from {session.host}, which wakes {name} ({down})",
            (),
        )
    return None


def run_failed(conv_id: str, name: str, receipt: Receipt) -> Problem:
    """A one-shot session's run that ended without its turn: never retried by itself."""
    took = f" after {receipt.run_ms / 1000:.1f} s" if receipt.run_ms is not None else ""
    return Problem(
        conv_id,
        "run-failed",
        name,
        f"the run of {name}'s command did not give its turn ({receipt.reason or receipt.outcome}"
        f"{took}, on {receipt.host}); it is not run again by itself: u runs it again",
        ("u", "n"),
    )


def command_state(session: Session, why: str, receipts: list[Receipt]) -> tuple[bool, str, str]:
    """A one-shot session, for doctor: (fine, what it runs and how its last run ended, the
    fix). `why` says why it cannot run here ("" when it can)."""
    assert session.command is not None
    name, spec = session.name, session.command
    how = f"command {spec.describe()}, timeout {spec.timeout:g} s"
    if why:
        fix = f"run 'talkroom register {name} --command ...' again on this host"
        return False, f"{how}; cannot run: {why}", fix
    runs = [r for r in receipts if r.target == name and r.path == "command"]
    if not runs:
        return True, f"{how}; not run yet", ""
    last = max(runs, key=lambda r: r.at)
    took = f", ran {last.run_ms / 1000:.1f} s" if last.run_ms is not None else ""
    said = f"{how}; last run {last.at} in {last.conversation}: {last.outcome}{took}"
    if last.kind in ("failed", "unknown"):
        return False, said, "run the command by hand to see why; 'talkroom nudge ID' runs it again"
    return True, said, ""


def watcher_down(beat: Heartbeat | None, now: float) -> str | None:
    """None while a host's watcher beats; else how it is down, in a few words."""
    if beat is None:
        return "never ran"
    if beat.stopped:
        return "stopped"
    if beat.alive(now):
        return None
    age = beat.age(now)
    if not math.isfinite(age):
        return "silent (no readable beat time)"
    return f"silent for {clock.age(age)}"


def _latest(receipts: list[Receipt], target: str) -> Receipt | None:
    """The newest receipt for `target`."""
    mine = [r for r in receipts if r.target == target]
    return max(mine, key=lambda r: r.at) if mine else None


def _deferred_since(receipts: list[Receipt], target: str) -> tuple[Receipt, float] | None:
    """The latest receipt for `target` if it is a deferral, and when deferring began."""
    mine = sorted((r for r in receipts if r.target == target), key=lambda r: r.at)
    if not mine or mine[-1].kind != "deferred":
        return None
    start = len(mine) - 1
    while start > 0 and mine[start - 1].kind == "deferred":
        start -= 1
    since = clock.parse_loose(mine[start].at)
    return (mine[-1], since) if since is not None else None


def all_problems(convs: list[Conversation], facts: Facts, now: float) -> list[Problem]:
    """Problems of every conversation."""
    return [p for conv in convs for p in problems(conv, facts, now)]
