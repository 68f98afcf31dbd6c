"""The per-host watcher: notices who is `next` and wakes their local pane, at most once
(or runs a one-shot session's command, at most once).

It is one thread the owner starts and stops (the console embeds it; `--watch-only` runs
it headless). Deliveries run on a small pool so one slow pane never holds up the others;
each pane is served one delivery at a time; a command's run has a thread of its own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

from talkroom import __version__
from talkroom.core import clock, machine, stale
from talkroom.core.config import Settings
from talkroom.core.errors import BadInput, StoreError, TalkError, io_error
from talkroom.core.files import Folder
from talkroom.core.listing import parse_listing
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt
from talkroom.core.store import Reader
from talkroom.watch.dispatch import Dispatcher
from talkroom.watch.heartbeat import claim, read_heartbeat, write_heartbeat
from talkroom.watch.hostlock import HostLock
from talkroom.watch.instruction import root_argument
from talkroom.watch.profiles import Profile, profiles_from_config
from talkroom.watch.registry import Session, load_sessions, sessions_path
from talkroom.watch.tracker import Tracker

RECORD_EVERY = 60.0  # a deferral or failure is recorded when it changes, at most once a minute
Key = tuple[str, str, str]  # conversation, assignment, target


class WatchEvent:
    """Something the watcher did or saw: one line for people, one object for tools."""

    __slots__ = ("at", "data", "kind", "text")

    def __init__(self, kind: str, text: str, **data: object) -> None:
        self.kind = kind
        self.text = text
        self.data = data
        self.at = clock.iso(clock.now())

    def __repr__(self) -> str:
        return f"WatchEvent({self.kind}: {self.text})"

    def to_json(self) -> dict[str, object]:
        """The event as one JSON object."""
        return {"at": self.at, "event": self.kind, "text": self.text, **self.data}


class Watcher:
    """Watches one talk root for one host and types the wake-up line into local panes."""

    @classmethod
    def configured(
        cls,
        root: Root,
        host: str,
        settings: Settings,
        *,
        poll: bool | None,
        on_event: Callable[[WatchEvent], None],
    ) -> Watcher:
        """A watcher with the config's intervals and profiles: the console's, `--watch-only`'s
        and `serve`'s are the same watcher."""
        return cls(
            root,
            host,
            poll=poll,
            interval=settings.poll_interval,
            rescan=settings.rescan_interval,
            heartbeat=settings.heartbeat_interval,
            profiles=settings.profiles,
            on_event=on_event,
        )

    def __init__(
        self,
        root: Root,
        host: str,
        *,
        poll: bool | None = None,
        interval: float = 1.0,
        rescan: float = 30.0,
        heartbeat: float = 5.0,
        profiles: Mapping[str, Mapping[str, object]] | None = None,
        on_event: Callable[[WatchEvent], None] | None = None,
        workers: int = 4,
    ) -> None:
        self.root = root
        self.host = host
        self.interval = interval
        self.heartbeat_interval = heartbeat
        self.on_event = on_event or (lambda event: None)
        self.workers = workers
        try:
            self.profiles: dict[str, Profile] = profiles_from_config(profiles or {})
        except ValueError as exc:
            raise BadInput(f"the config's profiles: {exc}; fix the config file") from None
        # Headers and current assignments are all a watcher reads: not every body.
        self.tracker = Tracker(root, poll=poll, rescan=rescan, reader=Reader(parse=parse_listing))
        self.mode = self.tracker.mode
        self.started_at = ""
        self.last_heartbeat = ""
        # What is wrong now, by what it stops: reading the root, the heartbeat, ... Each
        # recovers on its own: a read-only root must not flip "recovered" on every tick.
        self.errors: dict[str, str] = {}
        self._hostlock = HostLock(host, root.path)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sessions_sig: object = None
        self.dispatch = Dispatcher(root, host, self.profiles, self._emit, self._fail, workers)

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Take this host's watcher lock and claim its heartbeat (WatcherBusy if another
        watcher has either), then start the thread."""
        try:
            root_argument(self.root.path)  # a root no wake-up line can name wakes nobody
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        try:
            self.root.path.mkdir(parents=True, exist_ok=True)  # its identity keys the lock
        except OSError as exc:
            raise io_error(exc, self.root.path, "create") from None
        self._hostlock.acquire()
        try:
            self.started_at = clock.iso(clock.now())
            claim(self.root, self.host, self._beat_fields())
            self.dispatch.start()
            self.tracker.start()
        except BaseException:
            self._hostlock.release()
            raise
        self._emit(
            "started",
            f"watching {self.root.path} for host {self.host} ({self.mode}, pid {os.getpid()})",
            mode=self.mode,
            pid=os.getpid(),
            root=str(self.root.path),
            host=self.host,
        )
        self._thread = threading.Thread(target=self._run, name="talkroom-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop, finish deliveries under way, say so in watcher.yaml, unlock."""
        self._stop.set()
        self.tracker.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.dispatch.stop()
        self.tracker.stop()
        if self._thread is not None:
            try:
                self._beat(stopped=True)
            except OSError:
                pass
            self._emit("stopped", f"watcher for host {self.host} stopped")
        self._hostlock.release()
        self._thread = None

    @property
    def sessions(self) -> dict[str, Session]:
        """This host's registered sessions, as last read."""
        return self.dispatch.sessions

    @property
    def last_receipt(self) -> Receipt | None:
        """The last delivery outcome recorded."""
        return self.dispatch.last_receipt

    @property
    def running(self) -> bool:
        """True while the loop runs."""
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look again now (a local write just happened)."""
        self.tracker.wake.set()

    # --- the loop -----------------------------------------------------------------------

    def _run(self) -> None:
        next_beat = 0.0
        ready = False
        while not self._stop.is_set():
            try:
                self._tick()
                if not ready:
                    ready = True
                    convs = len(self.tracker.snapshots)
                    self._emit(
                        "ready",
                        f"{convs} conversations read; sessions on this host: "
                        f"{', '.join(sorted(self.sessions)) or 'none'}",
                        conversations=convs,
                        sessions=sorted(self.sessions),
                    )
                self._recover("root", f"the talk root {self.root.path} is readable again")
            except OSError as exc:
                self._fail("root", f"cannot read the talk root: {exc.strerror or exc}")
            except TalkError as exc:
                self._fail("root", exc.message)
            except Exception as exc:  # one bad tick must never end the watcher
                self._fail("root", f"{type(exc).__name__}: {exc}")
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self.heartbeat_interval
                try:
                    self._beat()
                    self._recover("heartbeat", "the heartbeat is written again")
                except (OSError, TalkError) as exc:
                    why = exc.message if isinstance(exc, TalkError) else exc.strerror or exc
                    self._fail("heartbeat", f"cannot write the heartbeat: {why}")
            self.tracker.wait(self.interval)

    @property
    def error(self) -> str | None:
        """What is wrong now, if anything (the first of several)."""
        return next(iter(self.errors.values()), None)

    def _fail(self, source: str, why: str) -> None:
        if self.errors.get(source) != why:
            self.errors[source] = why
            self._emit("error", why, error=why)

    def _recover(self, source: str, text: str) -> None:
        if self.errors.pop(source, None) is not None:
            self._emit("recovered", text)

    def _tick(self) -> None:
        updates, removed = self.tracker.tick()
        for conv_id in removed:
            self.dispatch.forget(conv_id)
        for snap in updates:
            self.dispatch.consider(snap.conv_id, snap.conv if snap.readable else None)
        if self._load_sessions():
            for conv_id, conv in self.tracker.conversations.items():
                self.dispatch.consider(conv_id, conv)
        self._sweep_locks()
        self.dispatch.schedule()

    def _load_sessions(self) -> bool:
        """Read this host's sessions.yaml if it changed; True when it did."""
        path = sessions_path(self.root, self.host)
        try:
            st = os.stat(path)
            sig: object = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            sig = "missing"
        if sig == self._sessions_sig:
            return False
        try:
            sessions = load_sessions(self.root, self.host)
        except StoreError as exc:
            self._fail("sessions", exc.message)
            return False
        self._recover("sessions", "this host's sessions.yaml is readable again")
        self._sessions_sig = sig
        if set(sessions) != set(self.sessions):
            self._emit(
                "sessions",
                "sessions on this host: " + (", ".join(sorted(sessions)) or "none"),
                sessions=sorted(sessions),
            )
        self.dispatch.sessions = sessions
        return True

    def _sweep_locks(self) -> None:
        """Break stale write locks (writers elsewhere may be short-lived helpers that never
        stay long enough to see one go stale) and clear what dead writers left."""
        locks, leftovers = self.tracker.locks, self.tracker.leftovers
        if not locks and not leftovers:
            return
        with Folder(self.root.path, "conversations") as folder:
            for path in list(locks):
                if not folder.exists(path.name):
                    locks.discard(path)
                    continue
                aside = stale.check_stale(folder, path.name, self.host)
                if aside is not None:
                    locks.discard(path)
                    self._emit(
                        "stale-lock",
                        f"broke a stale lock {path.name} (now {aside.name})",
                        lock=str(path),
                        moved_to=str(aside),
                    )
            for path in list(leftovers):
                if stale.clear_leftover(folder, path.name):
                    leftovers.discard(path)

    # --- heartbeat and events -------------------------------------------------------------

    def _beat(self, stopped: bool = False) -> None:
        if not stopped:
            current = read_heartbeat(self.root, self.host)
            twin = current.live_elsewhere() if current is not None else None
            if twin is not None:
                self._fail("twin", f"another watcher also serves host {self.host}: {twin}")
            else:
                self._recover("twin", f"this watcher alone serves host {self.host} again")
        write_heartbeat(self.root, self.host, self._beat_fields(stopped))
        self.last_heartbeat = clock.iso(clock.now())

    def _beat_fields(self, stopped: bool = False) -> dict[str, str]:
        now = clock.iso(clock.now())
        mid, pid, start = machine.me()
        fields = {
            "host": self.host,
            "pid": str(pid),
            "version": __version__,
            "mode": self.mode,
            "started at": self.started_at,
            "heartbeat": now,
            "heartbeat interval": f"{self.heartbeat_interval:g}",
            "poll interval": f"{self.interval:g}",
            "sessions": ", ".join(sorted(self.sessions)) or "none",
            "machine": mid or "-",
            "process start": start or "-",
        }
        if self.error:
            fields["error"] = self.error
        if stopped:
            fields["stopped at"] = now
        return fields

    def _emit(self, kind: str, text: str, **data: object) -> None:
        try:
            self.on_event(WatchEvent(kind, text, **data))
        except Exception:
            pass  # a consumer's bug must not stop deliveries
