"""An exclusive lock on an open local file that the system drops when its process ends,
even by kill -9: flock on POSIX, a byte-range lock on Windows (which has no fcntl)."""

from __future__ import annotations

import os
import sys

# Windows byte-range locks are mandatory: a locked byte cannot be read by anyone else. The
# byte locked lies far past what the file holds (a holder's pid, at its start), so
# others can still read who holds it.
_LOCKED_BYTE = 1 << 20


def try_lock(fd: int) -> bool:
    """Take the lock on `fd` without waiting; False when another process holds it. It is
    released when `fd` is closed."""
    if sys.platform == "win32":
        import msvcrt

        where = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, where, os.SEEK_SET)
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
