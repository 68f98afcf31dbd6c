"""How talkroom touches files in the shared folder: never through a link, never blocking,
never unbounded (docs/protocol.md, section 2).

Any host can plant a symlink, a FIFO or a sparse 3 GiB file in a shared folder. So every
folder talkroom writes in is opened component by component with O_NOFOLLOW (a `Folder`
holds that descriptor and does its creates, renames and appends relative to it), and every
file it reads is checked with lstat first (a FIFO or device is never opened), opened
non-blocking, and read up to a cap.

Where the platform has no O_NOFOLLOW and no descriptor-relative calls (Windows), a
`Folder` checks each component with lstat (a junction counts as a link) and uses paths,
and every open is checked after the fact: the name must still lead, with no link, to the
very file that was opened (docs/portability.md).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from talkroom.core.errors import StoreError, Unreadable
from talkroom.core.portable import BINARY, is_link, open_checked, read_at, still_there

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# Windows has no dir_fd: there a Folder checks each component with lstat and uses paths.
DIR_FDS = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd


class LinkRefused(StoreError):
    """A symlink (or something else) stands where talkroom expects its own file or folder."""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    return "a special file"


def refusal(path: Path | str, mode: int, wanted: str = "a file") -> LinkRefused:
    """The one-line error for `path` being something other than `wanted`."""
    return LinkRefused(
        f"{path} is {_kind(mode)}, not {wanted}; talkroom never follows links "
        "or opens special files in the talk root: remove it"
    )


def _not_regular(mode: int) -> Unreadable:
    return Unreadable(
        f"it is {_kind(mode)}, not a regular file (talkroom never follows "
        "links or opens special files in the talk root); remove it"
    )


def size_text(n: int) -> str:
    """`16 MiB`, `64 KiB`, `300 bytes`."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


def read_capped(path: Path | str, cap: int, *, what: str = "the file") -> bytes:
    """A regular file's bytes, at most `cap`: lstat first, then open without following a
    link and without blocking. Raises FileNotFoundError, Unreadable (its reason names no
    path: the caller knows where it looked) or OSError."""
    fd = _open_regular(path)
    try:
        size = os.fstat(fd).st_size
        data = _read_all(fd, cap + 1) if size <= cap else b""
    finally:
        os.close(fd)
    if size > cap or len(data) > cap:
        raise Unreadable(
            f"{what} is {max(size, len(data))} bytes; the limit is {size_text(cap)}: move it away"
        )
    return data


def read_head(path: Path | str, size: int) -> bytes:
    """The first `size` bytes of a regular file (see `read_capped`), whatever its length."""
    fd = _open_regular(path)
    try:
        return _read_all(fd, size)
    finally:
        os.close(fd)


def read_tail(path: Path | str, size: int) -> tuple[int, bytes]:
    """A regular file's length and its last `size` bytes."""
    fd = _open_regular(path)
    try:
        length = os.fstat(fd).st_size
        return length, read_at(fd, size, max(0, length - size))
    finally:
        os.close(fd)


def _open_regular(path: Path | str) -> int:
    """An fd of a regular file, checked before and after opening: never a FIFO or device."""
    for _ in range(3):
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or is_link(st):
            raise _not_regular(stat.S_IFLNK if is_link(st) else st.st_mode)
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | _NONBLOCK | _CLOEXEC | BINARY)
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):  # swapped between the lstat and the open
            os.close(fd)
            raise _not_regular(now.st_mode)
        if NOFOLLOW or still_there(path, now):
            return fd
        # Without O_NOFOLLOW the open may have gone through a link put there after the
        # lstat; or a writer's rename replaced the file meanwhile: look again.
        os.close(fd)
    raise _not_regular(stat.S_IFLNK)


def _read_all(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    # The whole file in one read where its size is known: no chunks to join (a long
    # conversation is read by every writer).
    step = max(os.fstat(fd).st_size + 1, 1 << 16)
    while left > 0:
        chunk = os.read(fd, min(left, step))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_new_lines(
    path: Path | str, offset: int, inode: int | None, cap: int
) -> tuple[bytes, int, int]:
    """The whole lines appended to a log since `offset` (of the file whose inode was
    `inode`): at most the newest `cap` bytes of them, so a sparse 3 GiB file costs no more
    than `cap`. Returns (lines, the offset to ask for next time, the inode). A file that
    was replaced or truncated is read from its start. Never blocks on a FIFO."""
    fd = _open_regular(path)
    try:
        st = os.fstat(fd)
        if st.st_ino != inode or st.st_size < offset:
            offset = 0
        start = max(offset, st.st_size - cap)
        os.lseek(fd, start, os.SEEK_SET)
        data = _read_all(fd, st.st_size - start)
    finally:
        os.close(fd)
    if start > offset:  # skipped the part over the cap: begin at a whole line
        cut = data.find(b"\n") + 1
        data, start = data[cut:], start + cut
    complete = data[: data.rfind(b"\n") + 1]
    return complete, start + len(complete), st.st_ino


class Folder:
    """A folder under a trusted base, opened one component at a time without following
    links; files are created, replaced, appended and renamed relative to it."""

    def __init__(self, base: Path, *parts: str, create: bool = False) -> None:
        self.path = base.joinpath(*parts)
        self.fd: int | None = None
        if create:
            base.mkdir(parents=True, exist_ok=True)  # the root itself: the user's to name
        if not DIR_FDS:
            self._check_chain(base, parts, create)
            return
        fd = os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)  # the base is the user's own
        try:
            for part in parts:
                if create:
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                nfd = self._open_dir(part, fd)
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def _open_dir(self, part: str, parent: int) -> int:
        try:
            return os.open(part, os.O_RDONLY | _DIRECTORY | NOFOLLOW | _CLOEXEC, dir_fd=parent)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            st = os.lstat(part, dir_fd=parent)
            raise refusal(self.path, st.st_mode, "a folder") from None

    def _check_chain(self, base: Path, parts: tuple[str, ...], create: bool) -> None:
        here = base
        for part in parts:
            here = here / part
            if create:
                try:
                    os.mkdir(here, 0o755)
                except FileExistsError:
                    pass
            st = os.lstat(here)
            if not stat.S_ISDIR(st.st_mode) or is_link(st):
                raise refusal(here, stat.S_IFLNK if is_link(st) else st.st_mode, "a folder")

    def child(self, name: str) -> Folder:
        """The subfolder `name`, opened without following a link (by descriptor where the
        platform allows, so it stays the same folder if it is renamed)."""
        if self.fd is None:
            return Folder(self.path, name)
        child = Folder.__new__(Folder)
        child.path = self.path / name
        child.fd = self._open_dir(name, self.fd)
        return child

    def close(self) -> None:
        """Let the folder go."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _where(self, name: str) -> dict[str, object]:
        return {"dir_fd": self.fd} if self.fd is not None else {}

    def _name(self, name: str) -> str:
        return name if self.fd is not None else str(self.path / name)

    def open(self, name: str, flags: int, mode: int = 0o644) -> int:
        """os.open of `name` in this folder, never following a link."""
        if not NOFOLLOW:
            return self._open_checked(name, flags, mode)
        try:
            flags |= NOFOLLOW | _CLOEXEC | BINARY
            return os.open(self._name(name), flags, mode, **self._where(name))  # type: ignore[arg-type]
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise refusal(self.path / name, stat.S_IFLNK) from None

    def _open_checked(self, name: str, flags: int, mode: int) -> int:
        fd = open_checked(self._name(name), flags | _CLOEXEC, mode, self._where(name))
        if fd is None:
            raise refusal(self.path / name, stat.S_IFLNK)
        return fd

    def lstat(self, name: str) -> os.stat_result:
        """lstat of `name` in this folder."""
        return os.lstat(self._name(name), **self._where(name))  # type: ignore[arg-type]

    def exists(self, name: str) -> bool:
        """True when anything (a link included) has this name."""
        try:
            self.lstat(name)
        except FileNotFoundError:
            return False
        return True

    def mkdir(self, name: str) -> None:
        """Create a subfolder (FileExistsError when the name is taken)."""
        os.mkdir(self._name(name), 0o755, **self._where(name))  # type: ignore[arg-type]

    def rmdir(self, name: str) -> None:
        """Remove an empty subfolder."""
        os.rmdir(self._name(name), **self._where(name))  # type: ignore[arg-type]

    def unlink(self, name: str) -> None:
        """Remove a name (a link itself, never its target)."""
        os.unlink(self._name(name), **self._where(name))  # type: ignore[arg-type]

    def rename(self, src: str, dst: str, attempts: int = 8) -> None:
        """Rename within this folder (`src` may name a file inside a subfolder); retries
        the PermissionError that SMB and Windows give while the target is open."""
        kwargs = {"src_dir_fd": self.fd, "dst_dir_fd": self.fd} if self.fd is not None else {}
        _replace(self._name(src), self._name(dst), attempts, **kwargs)

    def move(self, name: str, to: Folder, new_name: str) -> None:
        """Rename `name` in this folder to `new_name` in folder `to` (same filesystem),
        replacing what is there; neither folder is found again by path."""
        if self.fd is not None and to.fd is not None:
            _replace(name, new_name, 8, src_dir_fd=self.fd, dst_dir_fd=to.fd)
        else:
            _replace(str(self.path / name), str(to.path / new_name), 8)

    def fsync(self) -> None:
        """fsync the folder where the platform and filesystem allow it."""
        if self.fd is None:
            return
        try:
            os.fsync(self.fd)
        except OSError:
            pass

    def read(self, name: str, cap: int, *, what: str = "the file") -> bytes:
        """A regular file in this folder, at most `cap` bytes (see `read_capped`)."""
        return read_capped(self.path / name, cap, what=what)

    def write_new(self, name: str, data: bytes, *, sync: bool = True) -> None:
        """Create `name` exclusively and write `data`; on failure nothing is left behind."""
        fd = self.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            write_all(fd, data)
            if sync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            try:
                self.unlink(name)
            except OSError:
                pass
            raise
        os.close(fd)

    def replace(self, name: str, data: bytes, *, sync: bool = True) -> None:
        """Replace `name` atomically with `data` (a fresh temporary name, then a rename)."""
        tmp = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        self.write_new(tmp, data, sync=sync)
        try:
            self.rename(tmp, name)
        except BaseException:
            try:
                self.unlink(tmp)
            except OSError:
                pass
            raise
        if sync:
            self.fsync()

    def append(self, name: str, data: bytes) -> None:
        """Append `data` to `name` (created if missing) without following a link; a name
        that is not a regular file is refused rather than written through."""
        fd = self.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NONBLOCK)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise refusal(self.path / name, st.st_mode)
            write_all(fd, data)
        finally:
            os.close(fd)


def _replace(src: str, dst: str, attempts: int, **dir_fds: int) -> None:
    """os.replace, retried with backoff on PermissionError: Windows (and SMB) refuse to
    replace a file that another process has open, until it closes it."""
    delay = 0.02
    for attempt in range(attempts):
        try:
            os.replace(src, dst, **dir_fds)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            import time

            time.sleep(delay)
            delay *= 2


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def folder_of(path: Path, depth: int, *, create: bool = False) -> Folder:
    """The folder holding `path`, its last `depth` components opened without following
    links (1 for `conversations/<id>.md`, 2 for `hosts/<host>/<file>`)."""
    parts = path.parent.parts[len(path.parent.parts) - depth :]
    return Folder(path.parents[depth], *parts, create=create)
