"""Running one command to its end, bounded: a timeout, an output cap, and a stop event
that ends it early. The command is argv (never a shell) in a process group of its own, so
a timeout or a stop ends everything it started, not just its first process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

KILL_GRACE = 2.0  # seconds between asking a process group to end and killing it
OUTPUT_GRACE = 1.0  # seconds to read what is left in the pipes after the command exited
TAIL = 2048  # bytes of standard error kept, to say why a run failed
_CHUNK = 65536
_POSIX = os.name == "posix"


@dataclass(frozen=True)
class RunResult:
    """How one run ended. `exit_code` is None when it never started or was killed; the
    output is at most the cap, `cut` says there was more."""

    exit_code: int | None
    seconds: float
    stdout: bytes = b""
    cut: bool = False
    stderr_tail: bytes = b""
    timed_out: bool = False
    stopped: bool = False
    error: str = ""  # why it could not start


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping the first `cap` bytes (or, with `keep_tail`, the
    last); `abandon` ends it early (a process outside the group may hold the pipe)."""

    def __init__(self, stream: IO[bytes], cap: int, keep_tail: bool) -> None:
        super().__init__(name="talkroom-run-output", daemon=True)
        self.stream = stream
        self.cap = cap
        self.keep_tail = keep_tail
        self.data = bytearray()
        self.cut = False
        self.abandon = threading.Event()

    def run(self) -> None:
        fd = self.stream.fileno()
        waiting = None
        if _POSIX:
            import selectors

            os.set_blocking(fd, False)
            waiting = selectors.DefaultSelector()
            waiting.register(fd, selectors.EVENT_READ)
        try:
            while not self.abandon.is_set():
                if waiting is not None and not waiting.select(0.1):
                    continue
                try:
                    chunk = os.read(fd, _CHUNK)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                self._keep(chunk)
        except OSError:
            pass
        finally:
            if waiting is not None:
                waiting.close()
            self.stream.close()

    def _keep(self, chunk: bytes) -> None:
        if self.keep_tail:
            self.data += chunk
            del self.data[: max(0, len(self.data) - self.cap)]
        elif len(self.data) < self.cap:
            room = self.cap - len(self.data)
            self.data += chunk[:room]
            self.cut = self.cut or len(chunk) > room
        else:
            self.cut = True  # read on and drop: a full pipe would stall the command

    def finish(self, deadline: float) -> None:
        """Wait for the pipe's end until `deadline` (monotonic), then stop reading it."""
        self.join(max(0.0, deadline - time.monotonic()))
        self.abandon.set()
        self.join()


def run(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    stdin: bytes | None,
    timeout: float,
    cap: int,
    stop: threading.Event,
) -> RunResult:
    """Run `argv` once, to its exit, its timeout, or `stop`; `stdin` is written and
    closed (None: no standard input)."""
    begin = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            close_fds=True,
            # A group of its own: a timeout ends the command's children too, and a
            # Ctrl-C meant for the watcher's terminal does not reach it.
            start_new_session=_POSIX,
            creationflags=0 if _POSIX else 0x200,  # CREATE_NEW_PROCESS_GROUP
        )
    except OSError as exc:
        return RunResult(None, time.monotonic() - begin, error=exc.strerror or str(exc))
    assert proc.stdout is not None and proc.stderr is not None
    out = _Drain(proc.stdout, cap, keep_tail=False)
    err = _Drain(proc.stderr, TAIL, keep_tail=True)
    out.start()
    err.start()
    if stdin is not None:
        _feed(proc, stdin)
    exited = threading.Event()
    ended = [0.0]

    def wait() -> None:
        proc.wait()
        ended[0] = time.monotonic()
        exited.set()

    waiter = threading.Thread(target=wait, name="talkroom-run-wait", daemon=True)
    waiter.start()
    deadline = begin + timeout
    timed_out = stopped = False
    # The exit is seen at once (exited is set by the waiter); a stop or the deadline
    # within a tenth of a second.
    while not exited.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
        if stop.is_set() or time.monotonic() >= deadline:
            stopped, timed_out = stop.is_set(), not stop.is_set()
            _end_group(proc)
            break
    waiter.join()
    seconds = ended[0] - begin
    # The command has exited; what it started and left behind goes with it (one-shot).
    _end_group(proc, leader_gone=True)
    # What is still in the pipes comes at once; a process outside the group that holds
    # them open (a daemon that left the session) is not waited for long.
    deadline = time.monotonic() + OUTPUT_GRACE
    out.finish(deadline)
    err.finish(deadline)
    code = proc.returncode if not (timed_out or stopped) else None
    return RunResult(
        code,
        seconds,
        bytes(out.data),
        out.cut,
        bytes(err.data),
        timed_out=timed_out,
        stopped=stopped,
    )


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """Write the wake-up text and close standard input; a command that does not read it
    (or has exited) is no error."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass


def _end_group(proc: subprocess.Popen[bytes], leader_gone: bool = False) -> None:
    """Ask the command's process group to end, then kill what is left of it."""
    if not _POSIX:  # pragma: no cover - Windows: no process groups to signal
        if not leader_gone:
            proc.kill()
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return  # nothing left in the group
        deadline = time.monotonic() + KILL_GRACE
        while time.monotonic() < deadline:
            if not _group_alive(proc.pid):
                return
            time.sleep(0.02)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
