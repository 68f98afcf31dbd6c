"""What the file calls need where POSIX is missing (Windows), in one place: no O_NOFOLLOW,
no pread, descriptors opened in text mode unless told otherwise, junctions that lstat
shows as folders (docs/portability.md). On POSIX each of these is a no-op or is never
called, so nothing there changes."""

from __future__ import annotations

import os
import stat

# Windows opens descriptors in text mode unless told otherwise: a "\n" written would land
# as "\r\n" and the file's digest would no longer match.
BINARY: int = getattr(os, "O_BINARY", 0)


def is_link(st: os.stat_result) -> bool:
    """A symbolic link, or (Windows) any reparse point, a junction included: lstat shows a
    junction as a folder, and a path through it leads elsewhere all the same."""
    return stat.S_ISLNK(st.st_mode) or bool(getattr(st, "st_reparse_tag", 0))


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """Whether two stats are of one file (device and inode; volume and file index on
    Windows)."""
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def still_there(path: str | os.PathLike[str], opened: os.stat_result, **where: object) -> bool:
    """The name leads, with no link, to the very file opened: the check that stands in for
    O_NOFOLLOW where there is none."""
    try:
        now = os.lstat(path, **where)  # type: ignore[arg-type]
    except OSError:
        return False
    return not is_link(now) and same_file(now, opened)


def open_checked(
    path: str | os.PathLike[str], flags: int, mode: int, where: dict[str, object]
) -> int | None:
    """os.open without O_NOFOLLOW: a link already at `path` is refused before opening;
    after opening, the name must still lead, with no link, to the file opened. None (the
    descriptor closed unused) when either check fails. A link planted in the instant
    between can at most have had an empty file created where it points: nothing is
    written or read through it, and no flag here truncates."""
    try:
        before = os.lstat(path, **where)  # type: ignore[arg-type]
    except FileNotFoundError:
        pass
    else:
        if is_link(before):
            return None
    fd = os.open(path, flags | BINARY, mode, **where)  # type: ignore[arg-type]
    try:
        opened = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not still_there(path, opened, **where):
        os.close(fd)
        return None
    return fd


def read_at(fd: int, size: int, offset: int) -> bytes:
    """Up to `size` bytes at `offset`: pread, or a seek and reads where there is none."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    chunks: list[bytes] = []
    while size > 0:
        chunk = os.read(fd, size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
