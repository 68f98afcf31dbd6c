"""The helper, the MCP server and one-shot participants run where POSIX is missing: their
modules import nothing POSIX-only, and a whole open/reply/show round trip works with the
POSIX-only modules made unimportable and `os` stripped of what Windows lacks
(docs/portability.md). The tmux watcher may use POSIX; it is not imported here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from talkroom.core import files
from talkroom.core.errors import Unreadable
from talkroom.core.files import Folder, LinkRefused, read_capped, read_tail

# Run in a fresh interpreter. Imports made by talkroom's own code (not by the standard
# library or other packages, which pick their own platform's modules) are checked: a
# POSIX-only module is unimportable, and `os` is a view without what Windows lacks, named
# "nt". Prints one JSON line: the exit codes, outputs and what talkroom tried to import.
DRIVER = r"""
import builtins, contextlib, importlib, importlib.abc, io, json, os, sys, types

POSIX_ONLY = {
    "fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "syslog", "posix",
    "_posixsubprocess", "_posixshmem", "crypt", "spwd", "nis", "readline", "curses",
}
NOT_ON_WINDOWS = {
    "getuid", "geteuid", "getgid", "getegid", "getgroups", "uname", "pread", "pwrite",
    "preadv", "pwritev", "chown", "fchown", "lchown", "killpg", "getpgid", "setpgid",
    "setsid", "sync", "statvfs", "fstatvfs", "mkfifo", "mknod", "fork", "forkpty",
    "openpty", "ttyname", "fdatasync", "posix_fadvise", "posix_fallocate", "sendfile",
    "getloadavg", "nice", "chroot", "lchmod", "pipe2", "wait3", "wait4", "WNOHANG",
    "O_NOFOLLOW", "O_DIRECTORY", "O_NONBLOCK", "O_CLOEXEC", "O_NOCTTY", "O_SYNC",
    "O_DSYNC", "O_ASYNC",
}
tried = []


def talkroom_importer():
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not frame.f_code.co_filename.startswith("<frozen") and name != __name__:
            return name.startswith("talkroom")
        frame = frame.f_back
    return False


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in POSIX_ONLY and talkroom_importer():
            tried.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


class WindowsOs(types.ModuleType):
    name = "nt"
    supports_dir_fd = frozenset()
    supports_follow_symlinks = frozenset()

    def __getattr__(self, attr):
        if attr in NOT_ON_WINDOWS:  # hasattr and getattr(os, name, default) land here too
            raise AttributeError(f"module 'os' has no attribute {attr!r}")
        return getattr(os, attr)

    @staticmethod
    def kill(pid, sig):
        raise AssertionError(f"os.kill({pid}, {sig}) would end the process on Windows")


windows_os = WindowsOs("os")
real_import = builtins.__import__


def checked_import(name, globals=None, locals=None, fromlist=(), level=0):
    caller = (globals or {}).get("__name__", "")
    if caller.startswith("talkroom") and level == 0:
        if name.split(".")[0] in POSIX_ONLY:
            tried.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if name == "os":
            return windows_os
    return real_import(name, globals, locals, fromlist, level)


for loaded in [m for m in sys.modules if m.startswith("talkroom")]:
    del sys.modules[loaded]
sys.meta_path.insert(0, Blocker())
builtins.__import__ = checked_import

modules, root = json.loads(sys.argv[1]), sys.argv[2]
imported = []
for module in modules:
    importlib.import_module(module)
    imported.append(module)

from talkroom.cli import main


def run(*args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--root", root, *args])
    return {"code": code, "out": out.getvalue()}


opened = run("open", "--as", "alpha", "--with", "beta", "--topic", "portable",
             "--body", "first")
conv = opened["out"].split("\n", 1)[0].strip()
steps = {
    "open": opened,
    "reply": run("reply", conv, "--as", "beta", "--body", "second", "--next", "alpha"),
    "show": run("show", conv),
    "list": run("list"),
    "guide": run("guide"),
}
from talkroom.core import files
print(json.dumps({
    "imported": imported, "steps": steps, "tried": tried, "conv": conv,
    "dir_fds": files.DIR_FDS, "nofollow": files.NOFOLLOW,
}))
"""

# The helper's modules, the protocol core, and (where they exist) the MCP server's and
# the one-shot participants' modules.
CANDIDATES = [
    "talkroom.cli.agents",
    "talkroom.cli.boundary",
    "talkroom.cli.context",
    "talkroom.cli.parser",
    "talkroom.guide",
    "talkroom.agentmcp.server",
    "talkroom.agentmcp.tools",
    "talkroom.agentmcp.waiting",
    "talkroom.watch.oneshot",
    "talkroom.watch.runner",
    "talkroom.watch.command",
    "talkroom.watch.hostlock",
]


def portable_modules() -> list[str]:
    """Every module that must be portable and is present in this tree."""
    import importlib.util
    import pkgutil

    import talkroom.core

    core = [f"talkroom.core.{m.name}" for m in pkgutil.iter_modules(talkroom.core.__path__)]
    present = [m for m in CANDIDATES if importlib.util.find_spec(m) is not None]
    return sorted(core) + present


def test_the_helper_round_trip_runs_without_anything_posix_only(tmp_path: Path) -> None:
    root = tmp_path / "talks"
    modules = portable_modules()
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(modules), str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["imported"] == modules
    # the Windows paths were the ones taken: no dir fds, no O_NOFOLLOW
    assert report["dir_fds"] is False and report["nofollow"] == 0
    steps = report["steps"]
    assert {step: s["code"] for step, s in steps.items()} == dict.fromkeys(steps, 0), (
        steps,
        result.stderr,
    )
    assert "second" in steps["show"]["out"] and "NEXT: alpha" in steps["show"]["out"]
    assert report["conv"] in steps["list"]["out"]
    # Only guarded attempts: each has a fallback (the login name without pwd).
    assert set(report["tried"]) <= {"pwd"}, report["tried"]
    text = (root / "conversations" / f"{report['conv']}.md").read_bytes()
    assert b"\r\n" not in text and b"\nsecond\n" in text
    assert not [p.name for p in (root / "conversations").iterdir() if ".lock" in p.name]


@pytest.fixture
def no_nofollow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The core as on Windows: no O_NOFOLLOW, no descriptor-relative calls."""
    monkeypatch.setattr(files, "NOFOLLOW", 0)
    monkeypatch.setattr(files, "DIR_FDS", False)


@pytest.mark.usefixtures("no_nofollow")
def test_without_o_nofollow_a_planted_link_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep\n")
    base = tmp_path / "root"
    folder = Folder(base, "hosts", create=True)
    (base / "hosts" / "deliveries.jsonl").symlink_to(outside)
    with pytest.raises(LinkRefused):
        folder.append("deliveries.jsonl", b"appended\n")
    (base / "hosts" / "new.md").symlink_to(tmp_path / "would-be-created")
    with pytest.raises((LinkRefused, FileExistsError)):
        folder.write_new("new.md", b"text\n")
    assert outside.read_bytes() == b"keep\n"
    assert not (tmp_path / "would-be-created").exists()
    with pytest.raises(Unreadable):
        read_capped(base / "hosts" / "deliveries.jsonl", 1024)
    # a folder in the chain that is a link
    (base / "linked").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(LinkRefused):
        Folder(base, "linked")


@pytest.mark.usefixtures("no_nofollow")
def test_without_o_nofollow_a_link_swapped_in_during_the_open_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link appears after the check and before the open: the open goes through it
    (nothing stops it there), and the check after the open refuses what it got."""
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep\n")
    base = tmp_path / "root"
    folder = Folder(base, "hosts", create=True)
    target = base / "hosts" / "deliveries.jsonl"
    target.write_bytes(b"ours\n")
    real_open = os.open

    def swapping_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path) == str(target) and not target.is_symlink():
            target.unlink()
            target.symlink_to(outside)
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", swapping_open)
    with pytest.raises(LinkRefused):
        folder.append("deliveries.jsonl", b"appended\n")
    assert outside.read_bytes() == b"keep\n"
    target.unlink()
    target.write_bytes(b"ours again\n")
    with pytest.raises(Unreadable):
        read_capped(target, 1024)  # read through a link swapped in: refused, not read


def test_the_tail_is_read_where_there_is_no_pread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"0123456789" * 100)
    monkeypatch.delattr(os, "pread")
    assert read_tail(path, 15) == (1000, b"567890123456789")
    assert read_tail(path, 5000) == (1000, b"0123456789" * 100)
