"""Where things live: the talk root and its folders, the host name, the user's folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from talkroom.core.errors import BadInput
from talkroom.core.names import check_name, normalise_name


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
    def conversations(self) -> Path:
        """The folder of conversation files."""
        return self.path / "conversations"

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


def find_root(flag: str | None = None, config_root: str | None = None,
              cwd: Path | None = None) -> Root:
    """Root selection of PROTOCOL.md section 1: flag, env, config, nearest .talks, ./.talks."""
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
    return Root(here / ".talks", "./.talks in the working directory")


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
    """A local-disk folder for OS locks: $XDG_RUNTIME_DIR, else the temporary folder."""
    env = os.environ.get("XDG_RUNTIME_DIR", "")
    if env and os.path.isdir(env):
        return Path(env)
    import tempfile

    return Path(tempfile.gettempdir())


def save_unsent(body: str | bytes, label: str) -> Path:
    """Keep a body that could not be written, so no text the user wrote is lost."""
    from talkroom.core import clock

    folder = state_dir() / "unsent"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # an unwritable state folder: the temporary folder still keeps it
        import tempfile

        folder = Path(tempfile.gettempdir())
    stamp = clock.iso(clock.now()).replace(":", "").replace("-", "")
    path = folder / f"{stamp}-{normalise_name(label, 'body')}-{os.getpid()}.md"
    n = 1
    while path.exists():
        n += 1
        path = path.with_name(f"{path.stem.rsplit('~', 1)[0]}~{n}.md")
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogateescape")
    path.write_bytes(data)
    return path


def require_dir(path: Path, what: str) -> None:
    """Raise BadInput if `path` exists and is not a directory."""
    if path.exists() and not path.is_dir():
        raise BadInput(f"{what} {path} is not a folder; choose another with --root")
