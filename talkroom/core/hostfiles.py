"""The small files of `hosts/<host>/` (sessions.yaml, cursor.yaml): read-modify-write
under the conversations' lock scheme."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from talkroom.core.errors import StoreError, Unreadable, io_error
from talkroom.core.files import read_capped
from talkroom.core.lock import DEFAULT_TIMEOUT, FileLock, LockLost

SMALL_FILE_CAP = 4 * 1024 * 1024  # sessions.yaml, cursor.yaml


def locked_update(
    path: Path,
    update: Callable[[bytes | None], bytes | None],
    *,
    host: str,
    timeout: float = DEFAULT_TIMEOUT,
    cap: int = SMALL_FILE_CAP,
) -> bytes | None:
    """Read-modify-write a small file of `hosts/<host>/` (sessions.yaml, cursor.yaml) under
    the same lock scheme; its folders are made if missing, never followed if links."""
    for _attempt in range(5):
        with FileLock(path, host, timeout, depth=2, create_folders=True) as lock:
            try:
                current: bytes | None = read_capped(path, cap)
            except FileNotFoundError:
                current = None
            except Unreadable as exc:
                raise StoreError(f"{path}: {exc.message}") from None
            except OSError as exc:
                raise io_error(exc, path, "read") from None
            new = update(current)
            if new is None or new == current:
                return current
            try:
                lock.commit(new)
            except LockLost:
                continue
            return new
    raise StoreError(f"{path}: the lock was broken under us 5 times; try again")
