"""Where things live: the talk root and its folders, the host name, the user's folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from talkroom.core.errors import BadInput
from talkroom.core.names import check_name, normalise_name

IMPLICIT = "./.talks in the working directory"
CHOSEN = ("--root", "$TALKROOM_ROOT", "the config file's root")  # said, not found


class Root:
    """A talk root and how it was found."""

    __slots__ = ("how", "path")

    def __init__(self, path: Path, how: str) -> None:
        self.path = path
        self.how = how

    def __repr__(self) -> str:
        return f"Root({str(self.path)!r}, how={self.how!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Root) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def chosen(self) -> bool:
        """True when a flag, a variable or the config named this root (section 1)."""
        return self.how in CHOSEN

    @property
    def implicit(self) -> bool:
        """True when nothing chose this root: the fallback `./.talks` (section 1)."""
        return self.how == IMPLICIT

    @property
    def conversations(self) -> Path:
        """The folder of conversation files."""
        return self.path / "conversations"

    @property
    def archive(self) -> Path:
        """The folder of archived conversations (closed, out of the live list)."""
        return self.path / "archive"

    def find(self, conv_id: str) -> Path:
        """The file of a conversation id, live or archived (the live path if neither)."""
        live = self.conversation(conv_id)
        if os.path.lexists(live):
            return live
        kept = self.archive / live.name
        return kept if os.path.lexists(kept) else live

    @property
    def hosts(self) -> Path:
        """The folder of per-host state."""
        return self.path / "hosts"

    def host_dir(self, host: str) -> Path:
        """The folder only `host` writes."""
        return self.hosts / host

    def conversation(self, conv_id: str) -> Path:
        """The file of a conversation id (validated, so never a path)."""
        return self.conversations / f"{check_name(conv_id, 'conversation id')}.md"


def find_root(
    flag: str | None = None, config_root: str | None = None, cwd: Path | None = None
) -> Root:
    """Root selection of docs/protocol.md section 1: flag, env, config, nearest .talks, ./.talks."""
    if flag:
        return Root(_absolute(flag), "--root")
    if os.environ.get("TALKROOM_ROOT"):
        return Root(_absolute(os.environ["TALKROOM_ROOT"]), "$TALKROOM_ROOT")
    if config_root:
        return Root(_absolute(config_root), "the config file's root")
    here = (cwd or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / ".talks").is_dir():
            return Root(folder / ".talks", f"the nearest .talks at or above {here}")
    return Root(here / ".talks", IMPLICIT)


def _absolute(text: str) -> Path:
    return Path(os.path.expanduser(text)).absolute()


def host_name(flag: str | None = None) -> str:
    """This host's name: --host, $TALKROOM_HOST, else the normalised hostname."""
    raw = flag or os.environ.get("TALKROOM_HOST")
    if raw:
        return check_name(raw, "host name")
    if hasattr(os, "uname"):
        node = os.uname().nodename
    else:  # pragma: no cover - Windows
        import socket

        node = socket.gethostname()
    return normalise_name(node.split(".")[0], fallback="host")


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var, "").strip()
    return Path(value if value else os.path.expanduser(default))


def config_dir() -> Path:
    """The user's config folder for talkroom (platformdirs' user_config_dir)."""
    if sys.platform.startswith("linux"):
        # platformdirs' Unix rule, spelled out: importing it costs the helper ~10 ms.
        return _xdg("XDG_CONFIG_HOME", "~/.config") / "talkroom"
    from platformdirs import user_config_dir

    return Path(user_config_dir("talkroom", appauthor=False))


def config_file() -> Path:
    """The config file: $TALKROOM_CONFIG, else config.yaml in the config folder."""
    env = os.environ.get("TALKROOM_CONFIG")
    return Path(env).absolute() if env else config_dir() / "config.yaml"


def state_dir() -> Path:
    """The user's state folder (saved bodies); $TALKROOM_STATE_DIR overrides it."""
    env = os.environ.get("TALKROOM_STATE_DIR")
    if env:
        return Path(env).absolute()
    from platformdirs import user_state_dir

    return Path(user_state_dir("talkroom", appauthor=False))


def runtime_dir() -> Path:
    """A local-disk folder of this user's for OS locks, the same whatever the environment
    says: two watchers started with different $XDG_RUNTIME_DIR or $TMPDIR must meet."""
    if hasattr(os, "getuid"):
        run = Path(f"/run/user/{os.getuid()}")
        if _own_private_dir(run):
            return run
        folder = Path(f"/tmp/talkroom-{os.getuid()}")
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        if _own_private_dir(folder):
            return folder
        raise BadInput(
            f"{folder} is not a private folder of yours (a link, or another "
            "user's); remove it so talkroom can keep its watcher lock there"
        )
    import tempfile  # pragma: no cover - Windows

    return Path(tempfile.gettempdir())


def _own_private_dir(path: Path) -> bool:
    import stat

    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def save_unsent(body: str | bytes, label: str) -> Path:
    """Keep a body that could not be written, so no text the user wrote is lost: in the
    state folder, else the temporary folder; whole or not at all (a full disk leaves no
    partial file). Raises the state folder's OSError when neither can take it."""
    import tempfile

    from talkroom.core import clock

    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogateescape")
    stamp = clock.iso(clock.now()).replace(":", "").replace("-", "")
    name = f"{stamp}-{normalise_name(label, 'body')}-{os.getpid()}"
    first: OSError | None = None
    for folder in (state_dir() / "unsent", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return _write_unique(folder, name, data)
        except OSError as exc:
            first = first or exc
    assert first is not None
    raise first


def _write_unique(folder: Path, name: str, data: bytes) -> Path:
    """`folder/name.md` (or `name~N.md`), created exclusively and written whole."""
    from talkroom.core.files import NOFOLLOW, write_all
    from talkroom.core.portable import BINARY

    n = 1
    while True:
        path = folder / (f"{name}.md" if n == 1 else f"{name}~{n}.md")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | BINARY
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            n += 1
            continue
        try:
            write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)
        return path


def require_dir(path: Path, what: str) -> None:
    """Raise BadInput if `path` exists and is not a directory."""
    if path.exists() and not path.is_dir():
        raise BadInput(f"{what} {path} is not a folder; choose another with --root")
