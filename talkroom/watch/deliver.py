"""Typing the wake-up line into a registered pane, and believing it was taken only on
evidence (docs/protocol.md section 6.3).

`delivered` means the agent took the line: its busy marker or a dialog came up, or its
composer is back to empty. Not that the pane changed: against the real Codex an Enter
that came too soon became a newline, the pane changed, and the line sat unsent. A line
still in the composer gets the submit key again, a few times, then `failed:not
submitted`. A line of ours already waiting in the composer is submitted, never typed a
second time; a human's text there is never typed over.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from talkroom.watch.profiles import Profile
from talkroom.watch.tmux import (
    IDENTITY_REASONS,
    PaneRef,
    TmuxError,
    capture_raw,
    query,
    ready_reason,
    send_key,
    type_literal,
    validate_line,
)

# How long to look for evidence after each submit key: the first submit and up to three
# re-sends, each waiting longer.
VERIFY_WAITS: tuple[float, ...] = (0.8, 1.0, 1.5, 2.0)
_POLL = 0.05
_WAKE_RE = re.compile(r"talkroom:? your turn in ([a-z0-9-]+)")


@dataclass(frozen=True)
class PaneCheck:
    """Whether a pane may be typed into now; `reason` is empty when ok; `composer` is
    what its composer holds, when the profile can tell."""

    ok: bool
    reason: str
    composer: str | None = None


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt, as recorded in deliveries.jsonl."""

    outcome: str
    latency_ms: int
    submits: int
    typed: bool = False


def wake_target(text: str | None) -> str | None:
    """The conversation a wake-up line (or the start of one, in a composer) is about."""
    match = _WAKE_RE.search(text or "")
    return match.group(1) if match else None


def check_pane(ref: PaneRef, profile: Profile) -> PaneCheck:
    """Check identity, then copy mode, shell and busy/idle (twice, check_interval apart)."""
    previous: str | None = None
    for round_no in range(2):
        if round_no:
            # A single look can catch an agent between two busy frames; look again.
            time.sleep(profile.check_interval)
        state, reason = query(ref)
        if state is None:
            return PaneCheck(False, reason)
        text = capture_raw(ref)
        if text is None:
            _state, reason = query(ref)
            return PaneCheck(False, reason or "pane gone")
        reason = ready_reason(state, profile, text)
        if reason:
            return PaneCheck(False, reason, profile.composer(text))
        if profile.stable_check and previous is not None and text != previous:
            return PaneCheck(False, "busy")
        previous = text
    return PaneCheck(True, "", "")


_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def pane_lock(ref: PaneRef) -> threading.Lock:
    """The lock that serialises everything done to one pane."""
    key = (ref.socket_path, ref.pane_id)
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _failure(ref: PaneRef) -> str:
    """Why a tmux call on the pane just failed, as a failed:<reason> outcome."""
    _state, reason = query(ref)
    return f"failed:{reason or 'tmux error'}"


def _taken(profile: Profile, text: str, baseline: str | None) -> bool:
    """Whether a capture shows the agent took the line: busy, in a dialog, or its composer
    empty again. Without a composer to read (generic), that the pane changed."""
    if not profile.prompt:
        return text != baseline
    return profile.state(text) in ("busy", "waiting") or profile.composer(text) == ""


def _taken_within(ref: PaneRef, profile: Profile, baseline: str | None, seconds: float) -> bool:
    """Evidence, within `seconds`, that the agent took what its composer held."""
    deadline = time.monotonic() + seconds
    while True:
        text = capture_raw(ref)
        if text is not None and _taken(profile, text, baseline):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)


class _Attempt:
    submits: int = 0
    typed: bool = False


def _submit(ref: PaneRef, profile: Profile, attempt: _Attempt, line: str) -> str:
    """Press the submit key until the agent takes the line (bounded); the outcome."""
    # Evidence needs a before: the composer must show the line first, or an empty composer
    # right after typing (the agent has not drawn it yet) would pass for "taken".
    if profile.prompt and not _shows_line_within(ref, profile, line, 2.0):
        return "failed:not typed (the line never showed in the composer)"
    baseline = capture_raw(ref)
    for number, wait in enumerate(VERIFY_WAITS):
        if number:
            # Before re-sending, make sure the pane is still ours and not in copy mode, where
            # the submit key would act on the copy-mode selection instead.
            state, reason = query(ref)
            if state is None:
                return f"failed:{reason}"
            if state.in_mode:
                return "failed:copy mode"
        if not send_key(ref, profile.submit_key, profile.submit_literal):
            return _failure(ref)
        attempt.submits += 1
        if _taken_within(ref, profile, baseline, wait):
            return "delivered"
    return "failed:not submitted"


def _shows_line_within(ref: PaneRef, profile: Profile, line: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    target = wake_target(line)
    while True:
        text = capture_raw(ref)
        if text is not None and wake_target(profile.composer(text)) == target:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)


def _deliver_locked(
    ref: PaneRef,
    profile: Profile,
    line: str,
    attempt: _Attempt,
    on_intent: Callable[[], bool] | None,
) -> str:
    check = check_pane(ref, profile)
    waiting = wake_target(check.composer) if check.reason == "draft" else None
    if not check.ok and waiting is None:
        kind = "failed" if check.reason in IDENTITY_REASONS else "deferred"
        return f"{kind}:{check.reason}"
    if waiting is not None and waiting != wake_target(line):
        # Another conversation's line waits in the composer: submit that one first; this
        # one is delivered on a later look, when the agent is free.
        _submit(ref, profile, attempt, check.composer or "")
        return "deferred:another wake-up line was waiting in the composer"
    if on_intent is not None:
        try:
            if not on_intent():  # durably recorded before a single key is typed
                return "skipped:superseded"
        except Exception as exc:
            return f"failed:cannot record intent ({type(exc).__name__}: {exc})"
    attempt.typed = True
    if waiting is None:
        if not type_literal(ref, line):
            return _failure(ref)
        # Agents take an Enter that comes with the typed text as a newline: submit apart.
        time.sleep(profile.submit_delay)
    return _submit(ref, profile, attempt, line)  # the line typed now, or ours waiting there


def deliver(
    ref: PaneRef, profile: Profile, line: str, on_intent: Callable[[], bool] | None = None
) -> Delivery:
    """Type `line` into the pane and submit it, or explain why not; serialised per pane.

    `on_intent` runs after every check passed and before anything is typed; if it returns
    False (outcome "skipped:superseded") or raises, nothing is typed. `Delivery.typed`
    says whether the line may have reached the pane.
    """
    validate_line(line)
    start = time.monotonic()
    attempt = _Attempt()
    with pane_lock(ref):
        try:
            outcome = _deliver_locked(ref, profile, line, attempt, on_intent)
        except TmuxError:
            # The watcher records outcomes; an unreachable tmux binary is one more failure.
            outcome = "failed:tmux error"
    latency_ms = round((time.monotonic() - start) * 1000)
    return Delivery(
        outcome=outcome, latency_ms=latency_ms, submits=attempt.submits, typed=attempt.typed
    )
