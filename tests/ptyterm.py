"""A real terminal for the console: a pseudo-terminal whose every output byte is kept, so
a test can look for escape sequences that only a real terminal would act on."""

from __future__ import annotations

import os
import pty
import select
import signal
import struct
import termios
import time
from collections.abc import Sequence
from fcntl import ioctl


class Terminal:
    """A program running on a pty of a fixed size; `output` is everything it wrote."""

    def __init__(
        self, argv: Sequence[str], env: dict[str, str], cols: int = 120, rows: int = 40
    ) -> None:
        self.output = bytearray()
        pid, fd = pty.fork()
        if pid == 0:  # pragma: no cover - the child
            os.execvpe(argv[0], list(argv), env)
        self.pid, self.fd = pid, fd
        ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.kill(pid, signal.SIGWINCH)

    def read(self, seconds: float) -> None:
        """Keep what arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.1))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.output += chunk

    def wait_for(self, needle: bytes, seconds: float = 20.0) -> bool:
        """Read until `needle` has appeared in the output (or the time is up)."""
        deadline = time.monotonic() + seconds
        while needle not in self.output and time.monotonic() < deadline:
            self.read(0.2)
        return needle in self.output

    def keys(self, data: bytes, pause: float = 0.3) -> None:
        """Type `data`, then keep reading for `pause` seconds."""
        os.write(self.fd, data)
        self.read(pause)

    def alive(self) -> bool:
        """True while the program runs."""
        pid, _ = os.waitpid(self.pid, os.WNOHANG)
        return pid == 0

    def close(self) -> None:
        """End the program (if still running) and the pty."""
        try:
            os.kill(self.pid, signal.SIGTERM)
            for _ in range(50):
                if not self.alive():
                    break
                time.sleep(0.1)
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass
        os.close(self.fd)
