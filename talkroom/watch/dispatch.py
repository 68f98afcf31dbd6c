"""Deliveries: which local sessions an assignment still owes a wake-up, one delivery at a
time per pane on a small pool (a one-shot command session's run on a thread of its own),
the intent recorded before anything reaches the agent and the outcome after
(docs/protocol.md section 6.3-6.4).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from talkroom.core import clock
from talkroom.core.model import IN_PROGRESS, Conversation, assignment_id
from talkroom.core.names import MODERATOR
from talkroom.core.paths import Root
from talkroom.core.receipts import (
    DELIVERED,
    INTENTS,
    NOT_SUBMITTED,
    RUNNING,
    TYPING,
    UNKNOWN,
    Receipt,
    append_receipt,
)
from talkroom.core.store import Reader
from talkroom.watch import deliver as delivery
from talkroom.watch import native, oneshot
from talkroom.watch.cursor import Cursor
from talkroom.watch.instruction import build_line
from talkroom.watch.profiles import BUILTIN_PROFILES, Profile
from talkroom.watch.registry import Session
from talkroom.watch.tmux import query

RECORD_EVERY = 60.0  # a deferral or failure is recorded when it changes, at most once a minute
Key = tuple[str, str, str]  # conversation, assignment, target
Emit = Callable[..., None]  # (kind, text, **data)


class Dispatcher:
    """Owes and delivers wake-ups for one host: candidates, the cursor, the pool."""

    def __init__(
        self,
        root: Root,
        host: str,
        profiles: dict[str, Profile],
        emit: Emit,
        fail: Callable[[str, str], None],
        workers: int = 4,
    ) -> None:
        self.root = root
        self.host = host
        self.profiles = profiles
        self._emit = emit
        self._fail = fail
        self.workers = workers
        self.sessions: dict[str, Session] = {}
        self.last_receipt: Receipt | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._cursor_lock = threading.Lock()
        self._cursor: Cursor | None = None
        self._inflight: set[Key] = set()
        self._inflight_lock = threading.Lock()
        self._recorded: dict[Key, tuple[str, float]] = {}
        # Conversations whose current assignment may still need a local delivery.
        self._candidates: dict[str, tuple[Conversation, str]] = {}
        self._check_reader = Reader()  # the delivery threads' own: Reader is not thread-safe
        self._check_lock = threading.Lock()
        # One-shot runs: a thread each (a run can take minutes; the pool serves panes),
        # one run at a time per session, all ended by `_stop`.
        self._stop = threading.Event()
        self._runs: set[threading.Thread] = set()
        self._runs_lock = threading.Lock()
        self._session_locks: dict[str, threading.Lock] = {}

    def start(self) -> None:
        """Read the cursor (intents cut off by a crash become `unknown`), start the pool."""
        self._cursor = Cursor(self.root, self.host)
        self._recover_intents()
        self._pool = ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="talkroom-deliver"
        )

    def stop(self) -> None:
        """Finish deliveries under way, end runs under way (never started again); start no
        new one."""
        self._stop.set()
        with self._runs_lock:
            runs = list(self._runs)
        for thread in runs:
            thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def forget(self, conv_id: str) -> None:
        """A conversation went away."""
        self._candidates.pop(conv_id, None)

    def consider(self, conv_id: str, conv: Conversation | None) -> None:
        """Keep `conv` as a candidate while its assignment names a local session."""
        self._candidates.pop(conv_id, None)
        if conv is None or conv.status != IN_PROGRESS:
            return
        block = conv.assignment()
        if block is None or not any(
            t != MODERATOR and t in self.sessions for t in block.next or ()
        ):
            return
        self._candidates[conv_id] = (conv, assignment_id(block))

    def schedule(self) -> None:
        """Start a delivery for every local target of a candidate not yet handled."""
        assert self._pool is not None and self._cursor is not None
        for conv_id, (conv, aid) in list(self._candidates.items()):
            block = conv.assignment()
            pending = 0
            for target in block.next if block and block.next else ():
                session = self.sessions.get(target)
                if target == MODERATOR or session is None:
                    continue
                key = (conv.id, aid, target)
                with self._cursor_lock:
                    if self._cursor.state(*key) is not None:
                        continue
                pending += 1
                with self._inflight_lock:
                    if key in self._inflight:
                        continue
                    self._inflight.add(key)
                if session.command is not None:
                    self._start_run(conv, aid, session)
                else:
                    self._pool.submit(self._deliver, conv, aid, session)
            if not pending:
                del self._candidates[conv_id]  # every local target handled

    def _deliver(self, conv: Conversation, aid: str, session: Session) -> None:
        key = (conv.id, aid, session.name)
        try:
            self._deliver_one(conv, aid, session, key)
        except Exception as exc:
            self._fail(
                "delivery", f"delivery to {session.name} failed: {type(exc).__name__}: {exc}"
            )
        finally:
            with self._inflight_lock:
                self._inflight.discard(key)

    def _intent(self, conv: Conversation, aid: str, name: str, state: str) -> bool:
        """Record `state` (an intent) if `aid` is still the current assignment; False when
        the moderator paused or moved on meanwhile."""
        assert conv.path is not None
        with self._check_lock:
            now = self._check_reader.poll(conv.path).conv
        block = now.assignment() if now is not None else None
        if now is None or now.status != IN_PROGRESS or block is None or assignment_id(block) != aid:
            return False
        with self._cursor_lock:
            assert self._cursor is not None
            self._cursor.mark(conv.id, aid, name, state)
        return True

    def _start_run(self, conv: Conversation, aid: str, session: Session) -> None:
        """Run a one-shot session's command for this assignment on a thread of its own."""
        thread = threading.Thread(
            target=self._run, args=(conv, aid, session), name=f"talkroom-run-{session.name}"
        )
        with self._runs_lock:
            self._runs.add(thread)
        thread.start()

    def _run(self, conv: Conversation, aid: str, session: Session) -> None:
        key = (conv.id, aid, session.name)
        lock = self._session_locks.setdefault(session.name, threading.Lock())
        try:
            while not lock.acquire(timeout=0.2):  # this session's run for another conversation
                if self._stop.is_set():
                    return
            try:
                if self._stop.is_set():
                    return
                started = time.monotonic()
                ran = oneshot.run_once(
                    self.root,
                    self.host,
                    conv,
                    aid,
                    session,
                    lambda: self._intent(conv, aid, session.name, RUNNING),
                    self._stop,
                )
                if ran is not None:
                    self._record(
                        conv,
                        aid,
                        session,
                        ran.outcome,
                        round((time.monotonic() - started) * 1000),
                        typed=ran.started,
                        path="command",
                        final=True,
                        exit_code=ran.exit_code,
                        run_ms=ran.run_ms,
                    )
            finally:
                lock.release()
        except Exception as exc:
            self._fail(
                "delivery", f"the run for {session.name} failed: {type(exc).__name__}: {exc}"
            )
        finally:
            with self._inflight_lock:
                self._inflight.discard(key)
            with self._runs_lock:
                self._runs.discard(threading.current_thread())

    def _deliver_one(self, conv: Conversation, aid: str, session: Session, key: Key) -> None:
        assert conv.path is not None and self._cursor is not None
        assert session.pane is not None
        profile = self.profiles.get(session.agent) or BUILTIN_PROFILES["generic"]
        try:
            line = build_line(conv, session.name, conv.path, self.root.path)
        except ValueError as exc:
            self._record(conv, aid, session, f"failed:{exc}", None, typed=False)
            return

        def intent() -> bool:
            return self._intent(conv, aid, session.name, TYPING)

        if session.wake != "typed":
            started = time.monotonic()
            outcome = self._native(session, profile, line, intent)
            if outcome is not None:
                if not outcome.startswith("skipped"):
                    self._record(
                        conv,
                        aid,
                        session,
                        outcome,
                        round((time.monotonic() - started) * 1000),
                        typed=True,
                        path=session.wake,
                    )
                return
            with self._cursor_lock:  # nothing reached the agent: typing is still allowed
                self._cursor.clear(conv.id, aid, session.name)
        result = delivery.deliver(session.pane, profile, line, on_intent=intent)
        if result.outcome.startswith("skipped"):
            return  # nothing typed; the next look handles the new assignment
        self._record(conv, aid, session, result.outcome, result.latency_ms, typed=result.typed)

    def _native(
        self, session: Session, profile: Profile, line: str, intent: Callable[[], bool]
    ) -> str | None:
        """Wake without typing; None when nothing could reach the agent (then type)."""
        assert session.pane is not None
        with delivery.pane_lock(session.pane):
            state, _reason = query(session.pane)
            if state is None:
                return None  # not the registered pane: the typed path says why
            send = native.inbox if session.wake == "inbox" else native.queue
            return send(session, profile, line, intent)

    def _record(
        self,
        conv: Conversation,
        aid: str,
        session: Session,
        outcome: str,
        latency_ms: int | None,
        *,
        typed: bool,
        path: str = "typed",
        final: bool | None = None,
        exit_code: int | None = None,
        run_ms: int | None = None,
    ) -> None:
        """Append the receipt; a `final` outcome (by default: one that may have reached the
        agent) also goes in the cursor, so it is never delivered again."""
        key = (conv.id, aid, session.name)
        final = typed if final is None else final
        if not final:
            # Nothing was typed: retried on the next look; recorded when it changes.
            last = self._recorded.get(key)
            now = time.monotonic()
            if last is not None and last[0] == outcome and now - last[1] < RECORD_EVERY:
                return
            self._recorded[key] = (outcome, now)
        receipt = Receipt(
            self.host,
            clock.iso(clock.now()),
            conv.id,
            aid,
            conv.revision,
            session.name,
            session.pane.pane_id if session.pane is not None else "",
            outcome,
            latency_ms,
            typed,
            path,
            exit_code,
            run_ms,
        )
        # The receipt first: were the cursor to fail now (damaged, replaced), a restart
        # still learns from the receipts that this line was typed.
        append_receipt(self.root, self.host, receipt)
        self.last_receipt = receipt
        if final:
            state = {"delivered": DELIVERED, "failed:not submitted": NOT_SUBMITTED}.get(
                outcome, outcome.split(":", 1)[0]
            )
            with self._cursor_lock:
                assert self._cursor is not None
                self._cursor.mark(conv.id, aid, session.name, state)
        verb = outcome.split(":", 1)[0]
        latency = f" in {latency_ms / 1000:.1f} s" if latency_ms is not None and typed else ""
        if run_ms is not None:
            latency = f" (ran {run_ms / 1000:.1f} s, exit {exit_code}){latency}"
        self._emit(
            verb,
            f"{conv.id}: {outcome} for {session.name} ({session.where}){latency}",
            **receipt.to_json(),
        )

    def _recover_intents(self) -> None:
        """Intents without an outcome: the last watcher died mid-typing, or while a
        command ran. Never type again, never run again."""
        assert self._cursor is not None
        for conv_id, (aid, targets) in self._cursor.entries().items():
            for target, value in targets.items():
                intent = value.split(" ", 1)[0]
                if intent not in INTENTS:
                    continue
                ran = intent == RUNNING
                self._cursor.mark(conv_id, aid, target, UNKNOWN)
                receipt = Receipt(
                    self.host,
                    clock.iso(clock.now()),
                    conv_id,
                    aid,
                    0,
                    target,
                    "",
                    "unknown:cut off while its command ran"
                    if ran
                    else "unknown:possibly delivered",
                    None,
                    True,
                    "command" if ran else None,
                )
                append_receipt(self.root, self.host, receipt)
                self._emit(
                    "unknown",
                    f"{conv_id}: a run of {target}'s command was cut off; it may have "
                    "replied, so it is not run again"
                    if ran
                    else f"{conv_id}: a delivery to {target} was cut off; it may "
                    "have been typed, so it is not typed again",
                    **receipt.to_json(),
                )
