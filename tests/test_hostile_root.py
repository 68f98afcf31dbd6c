"""A shared folder is shared with every host's bugs and with anyone who can write to it:
links where talkroom writes are refused (never written through), and FIFOs, devices and
huge files where it reads are one-line errors or listed problems, never a hang or a crash.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from talkroom.core import store
from talkroom.core.paths import Root
from talkroom.core.receipts import ReceiptTail, append_receipt
from talkroom.watch import registry
from talkroom.watch.heartbeat import read_heartbeats
from talkroom.watch.tmux import PaneRef
from tests.conftest import Talk, run_talkroom

HOST = "test-host"
SECRET = b"# the user's own file: talkroom must never write here\n"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A file outside the root that a planted link points at (like ~/.bashrc)."""
    path = tmp_path / "bashrc"
    path.write_bytes(SECRET)
    return path


def _open(root: Root) -> str:
    result = run_talkroom(
        "--root", str(root.path), "open", "--topic", "t", "--as", "a", "--with", "b", "--body", "hi"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().split()[0]


def _one_line(err: bytes) -> str:
    text = err.decode()
    assert text.count("\n") == 1 and text.startswith("talkroom: "), text
    return text


def _within(seconds: float, work: Callable[[], object]) -> object:
    """Run `work` in a thread; fail if it has not returned in time (a FIFO would hang it)."""
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it hangs"
    return box[0] if box else None


# --- links where talkroom writes -------------------------------------------------------


@pytest.mark.parametrize("where", ["conversations", "hosts", "hosts/test-host"])
def test_a_linked_folder_is_refused_in_one_line(root: Root, target: Path, where: str) -> None:
    outside = target.parent / "outside"
    outside.mkdir()
    if where == "hosts/test-host":
        (root.path / "hosts").mkdir()
    (root.path / where).symlink_to(outside)
    if where == "conversations":
        result = run_talkroom(
            "--root",
            str(root.path),
            "open",
            "--topic",
            "t",
            "--as",
            "a",
            "--with",
            "b",
            "--body",
            "hi",
        )
    else:
        code = (
            "import sys; from pathlib import Path; from talkroom.cli import main;"
            "from talkroom.watch import registry; from talkroom.watch.tmux import PaneRef;"
            "from talkroom.core.paths import Root;"
            f"registry.register(Root(Path({str(root.path)!r}), 't'), 'test-host', 'beta',"
            "'claude', PaneRef('/tmp/s', 1, '%1', 2))"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert result.returncode != 0
    assert b"symbolic link" in result.stderr, result.stderr
    assert list(outside.iterdir()) == []  # nothing written through the link


def test_receipts_are_never_appended_through_a_link(root: Root, target: Path) -> None:
    folder = root.host_dir(HOST)
    folder.mkdir(parents=True)
    (folder / "deliveries.jsonl").symlink_to(target)
    from talkroom.core.errors import StoreError
    from talkroom.core.receipts import Receipt

    with pytest.raises(StoreError, match="symbolic link"):
        append_receipt(
            root,
            HOST,
            Receipt(HOST, "2026-12-01T00:00:00Z", "c", "a", 1, "b", "%1", "delivered", 5),
        )
    assert target.read_bytes() == SECRET


def test_the_watcher_says_so_and_keeps_the_target_intact(root: Root, target: Path) -> None:
    conv_id = _open(root)
    run_talkroom("--root", str(root.path), "next", conv_id, "b")
    # b is registered on this host with a pane that does not exist: a receipt is due.
    registry.register(root, HOST, "b", "claude", PaneRef("/nonexistent/sock", 1, "%1", 2))
    (root.host_dir(HOST) / "deliveries.jsonl").symlink_to(target)
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "talkroom",
            "--root",
            str(root.path),
            "--watch-only",
            "--interval",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)
    finally:
        watcher.terminate()
        out, err = watcher.communicate(timeout=20)
    assert target.read_bytes() == SECRET
    assert "symbolic link" in out, (out, err)
    assert (root.host_dir(HOST) / "deliveries.jsonl").is_symlink()


@pytest.mark.parametrize("name", ["sessions.yaml", "cursor.yaml", "watcher.yaml"])
def test_host_files_that_are_links_are_replaced_or_refused_never_followed(
    root: Root, target: Path, name: str
) -> None:
    from talkroom.core.errors import TalkError
    from talkroom.watch.watcher import Watcher

    folder = root.host_dir(HOST)
    folder.mkdir(parents=True)
    (folder / name).symlink_to(target)
    watcher = Watcher(root, HOST, interval=0.1, heartbeat=0.1)
    try:
        watcher.start()
    except TalkError as exc:
        assert "symbolic link" in exc.message and "\n" not in exc.message
    else:
        time.sleep(0.5)
        watcher.stop()
    with pytest.raises(TalkError, match="symbolic link") if name == "sessions.yaml" else _nothing():
        registry.register(root, HOST, "beta", "claude", PaneRef("/tmp/s", 1, "%1", 2))
    assert target.read_bytes() == SECRET


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# --- FIFOs, devices and huge files where talkroom reads --------------------------------


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    return path


def test_another_hosts_watcher_yaml_as_a_fifo_or_dev_zero(root: Root) -> None:
    _open(root)
    _fifo(root.host_dir("far") / "watcher.yaml")
    root.host_dir("zero").mkdir(parents=True)
    (root.host_dir("zero") / "watcher.yaml").symlink_to("/dev/zero")
    beats = _within(5, lambda: read_heartbeats(root))
    assert beats == []
    started = time.monotonic()
    doctor = run_talkroom("--root", str(root.path), "doctor", timeout=30)
    assert time.monotonic() - started < 15
    assert b"MemoryError" not in doctor.stderr and doctor.stderr == b"", doctor.stderr
    assert b"host far" in doctor.stdout and b"host zero" in doctor.stdout


def test_a_fifo_anywhere_in_a_hosts_folder_never_hangs_a_reader(root: Root) -> None:
    conv_id = _open(root)
    for name in ("sessions.yaml", "deliveries.jsonl", "cursor.yaml"):
        _fifo(root.host_dir("far") / name)
    _fifo(root.conversations / f".{conv_id}.md.journal")
    _fifo(root.conversations / "20991231-000000-fifo.md")
    assert _within(5, lambda: ReceiptTail(root).poll()) == []
    assert _within(5, lambda: registry.all_sessions(root)) == []
    from talkroom.core import journal

    conv = store.load(root.conversation(conv_id))
    assert _within(5, lambda: journal.check(conv)) == []
    listed = run_talkroom("--root", str(root.path), "list", timeout=20)
    assert listed.returncode == 0 and b"20991231-000000-fifo  UNREADABLE" in listed.stdout
    sessions = run_talkroom("--root", str(root.path), "sessions", timeout=20)
    assert sessions.returncode == 0


def test_huge_files_from_another_host_cost_little(root: Root) -> None:
    conv_id = _open(root)
    folder = root.host_dir("far")
    folder.mkdir(parents=True)
    with open(folder / "deliveries.jsonl", "wb") as fh:  # a sparse 3 GiB file
        fh.truncate(3 * 1024**3)
        fh.seek(3 * 1024**3 - 200)
        fh.write(
            b'\n{"at": "2026-12-01T00:00:00Z", "conversation": "x", "assignment": "a",'
            b' "target": "b", "outcome": "delivered"}\n'
        )
    with open(folder / "sessions.yaml", "wb") as fh:
        fh.write(b"sessions:\n" + b"  # padding\n" * (15 * 1024 * 1024 // 12))
    started = time.monotonic()
    got = ReceiptTail(root).poll()
    assert time.monotonic() - started < 3 and [r.conversation for r in got] == ["x"]
    with pytest.raises(Exception, match="limit"):
        registry.load_sessions(root, "far")
    started = time.monotonic()
    exported = run_talkroom(
        "--root", str(root.path), "export", conv_id, "--format", "html", timeout=60
    )
    assert exported.returncode == 0 and time.monotonic() - started < 10
    doctor = run_talkroom("--root", str(root.path), "doctor", timeout=60)
    assert b"host far" in doctor.stdout and b"limit" in doctor.stdout


# --- races a hostile host can run (found by a hostile review) ---------------------------

SWAPPER = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
conv, victim, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
name, other = os.path.join(conv, ".zz.md.lock.deadbeef.done"), os.path.join(conv, ".zz-swap")
def stock():
    for p in (name, other):
        if not os.path.lexists(p):
            links = [q for q in (name, other) if os.path.lexists(q) and os.path.islink(q)]
            os.mkdir(p) if links else os.symlink(victim, p)
        if not os.path.islink(p):
            for f in ("holder", "precious"):
                try: open(os.path.join(p, f), "a").close()
                except OSError: pass
stock()
end = time.time() + seconds
while time.time() < end:
    if libc.renameat2(-100, name.encode(), -100, other.encode(), 2) != 0:  # RENAME_EXCHANGE
        stock()
"""


def test_a_folder_swapped_for_a_link_during_the_sweep_deletes_nothing_outside(
    root: Root, tmp_path: Path
) -> None:
    # Another host swaps a leftover lock folder and a link to a folder of ours, again and
    # again, while the watcher sweeps leftovers: nothing outside the root is removed.
    _open(root)
    victim = tmp_path / "victim"
    victim.mkdir()
    for name in ("precious", "holder"):
        (victim / name).write_text("mine")
    swapper = subprocess.Popen(
        [sys.executable, "-c", SWAPPER, str(root.conversations), str(victim), "12"]
    )
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "talkroom",
            "--root",
            str(root.path),
            "--watch-only",
            "--poll",
            "--interval",
            "0.05",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        swapper.wait(timeout=60)
    finally:
        watcher.terminate()
        watcher.wait(timeout=20)
    assert sorted(p.name for p in victim.iterdir()) == ["holder", "precious"]


def test_a_lock_replaced_by_a_link_while_its_writer_sleeps_gets_nothing(
    talk: Talk, tmp_path: Path
) -> None:
    from talkroom.core import moderate, ops
    from talkroom.core.lock import lock_path_for
    from tests import pausing

    conv_id = talk.open("--next", "beta")
    path = talk.root.conversation(conv_id)
    lock = lock_path_for(path)
    out = tmp_path / "w.out"
    steps = 0
    for k in range(1, 200):  # the step right after the lock is taken
        pid = pausing.fork_command(
            [
                "--root",
                str(talk.root.path),
                "reply",
                conv_id,
                "--as",
                "beta",
                "--next",
                "alpha",
                "--body",
                "late",
            ],
            out,
            stop_at=k,
        )
        if pausing.wait_stopped(pid) is not None:
            pytest.fail("the writer never held the lock")
        if lock.is_dir() and any(lock.iterdir()):
            steps = k
            break
        pausing.kill(pid)
    assert steps
    nonce = next(lock.iterdir()).name
    # The other host moves the lock aside, writes a turn, and plants a link to a folder of
    # its own that holds the sleeping writer's nonce.
    lock.rename(lock.with_name(lock.name + ".broken.evil.1.x"))
    ops.run(
        moderate.plan_moderate(talk.root, conv_id, "inject", moderator="mod", body="newer"), "evil"
    )
    outside = tmp_path / "outside"
    (outside / nonce).mkdir(parents=True)
    lock.symlink_to(outside)
    code = pausing.finish(pid)
    assert list((outside / nonce).iterdir()) == [], "written through the planted link"
    bodies = [b.body for b in store.load(path).blocks]
    assert "newer" in bodies, "the newer turn was rolled back"
    assert code != 0 or bodies.index("late") > bodies.index("newer")


def test_a_zombie_lock_holder_is_dead(root: Root, tmp_path: Path) -> None:
    conv_id = _open(root)
    path = root.conversation(conv_id)
    holder = tmp_path / "holder.py"
    holder.write_text(
        "import os, sys; from pathlib import Path; from talkroom.core.lock "
        "import FileLock\nFileLock(Path(sys.argv[1]), 'test-host').acquire()\n"
        "os._exit(0)\n"
    )
    parent = tmp_path / "parent.py"  # never reaps its child: a zombie holding the lock
    parent.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, sys.argv[1], sys.argv[2]])\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, str(parent), str(holder), str(path)])
    try:
        deadline = time.monotonic() + 10
        while not lock_path_for_dir(path).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert lock_path_for_dir(path).exists(), "the holder never took the lock"
        started = time.monotonic()
        result = run_talkroom(
            "--root", str(root.path), "reply", conv_id, "--as", "b", "--next", "a", "--body", "x"
        )
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 3
    finally:
        proc.kill()
        proc.wait()


def lock_path_for_dir(path: Path) -> Path:
    from talkroom.core.lock import lock_path_for

    return lock_path_for(path)


def test_a_forged_heartbeat_naming_a_process_of_this_machine_keeps_no_watcher_off(
    root: Root,
) -> None:
    from talkroom.core import machine
    from talkroom.watch.heartbeat import write_heartbeat

    _open(root)
    write_heartbeat(
        root,
        HOST,
        {
            "host": HOST,
            "pid": "1",
            "machine": machine.machine_id(),
            "process start": machine.start_time(1),
            "heartbeat": "2020-01-01T00:00:00Z",
        },
    )
    watcher = subprocess.Popen(
        [sys.executable, "-m", "talkroom", "--root", str(root.path), "--watch-only"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None and "started" in watcher.stdout.readline()
    finally:
        watcher.terminate()
        watcher.wait(timeout=20)
