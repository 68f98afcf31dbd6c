"""A writer stopped at every step of a write, past the stale time, then woken while
others wrote and another writer holds the lock: it lands on top of the newest state or
is refused with its body saved; it never replaces newer turns and never writes anything
but a whole conversation. Also: dead writers' locks clear at once, without a watcher."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from talkroom.core import moderate, ops, stale, store
from talkroom.core.lock import lock_path_for
from talkroom.core.paths import Root
from tests import pausing
from tests.conftest import Talk, run_talkroom

STALE = 0.3


def other_machine() -> list[str]:
    """A command prefix that runs a process as if on another machine with the same host
    name: its own pid namespace and its own runtime folder (a container on one kernel, or
    a cloned VM, looks like this); the talk root is shared, as a network mount would be."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("a second pid namespace needs root and unshare (util-linux)")
    private = (
        'for d in /tmp/talkroom-$(id -u) /run/user/$(id -u); do mkdir -p "$d" && '
        'mount -t tmpfs -o mode=700 tmpfs "$d"; done; exec "$@"'
    )
    return ["unshare", "--pid", "--fork", "--mount", "--mount-proc", "sh", "-c", private, "sh"]


W1_BODY = "w1 wrote this, then slept"


def _open(talk: Talk) -> str:
    result = talk(
        "open",
        "--topic",
        "sleepy",
        "--as",
        "moderator",
        "--with",
        "alpha,w1",
        "--next",
        "w1",
        "--body",
        "go",
    )
    assert result.code == 0, result
    return result.first


def _steps_of_a_reply(talk: Talk, tmp_path: Path) -> int:
    conv_id = _open(talk)
    count = tmp_path / "steps"
    pid = pausing.fork_command(
        [
            "--root",
            str(talk.root.path),
            "reply",
            conv_id,
            "--as",
            "w1",
            "--next",
            "alpha",
            "--body",
            "x",
        ],
        tmp_path / "count.out",
        stop_at=10**9,
        count_to=count,
    )
    assert pausing.wait_stopped(pid) == 0
    return int(count.read_text())


def test_a_writer_stopped_at_any_step_never_replaces_newer_turns(
    talk: Talk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale.set_stale_after(STALE)  # for this process's writes
    monkeypatch.setenv("TALKROOM_STALE_LOCK_SECONDS", str(STALE))  # for the forked commands
    steps = _steps_of_a_reply(talk, tmp_path)
    assert steps > 20, steps
    outcomes: dict[str, int] = {}
    for k in range(1, steps + 1):
        conv_id = _open(talk)
        path = talk.root.conversation(conv_id)
        out = tmp_path / f"w1-{k}.out"
        w1 = pausing.fork_command(
            [
                "--root",
                str(talk.root.path),
                "reply",
                conv_id,
                "--as",
                "w1",
                "--next",
                "alpha",
                "--body",
                W1_BODY,
            ],
            out,
            stop_at=k,
        )
        if pausing.wait_stopped(w1) is not None:
            continue  # the write ended before step k
        # While w1 sleeps, the moderator writes (breaking w1's lock once it is stale),
        # then another writer takes a fresh lock and sleeps holding it.
        on_top = k % 2 == 0  # even: w1 may still reply afterwards; odd: it may not
        plan = moderate.plan_moderate(
            talk.root,
            conv_id,
            "inject",
            moderator="mod",
            body=f"while w1 slept ({k})",
            next_=["w1"] if on_top else ["alpha"],
        )
        ops.run(plan, "test-host")
        w3 = pausing.fork_lock_holder(path, "test-host")
        assert pausing.wait_stopped(w3) is None
        code = pausing.finish(w1)
        pausing.kill(w3)
        text = out.read_text()
        conv = store.load(path)  # a whole, verified conversation
        assert conv.trailer_ok and not conv.edited_by_hand, f"step {k}: {conv}"
        bodies = [b.body for b in conv.blocks]
        assert bodies.count(f"while w1 slept ({k})") == 1, f"step {k}: the moderator's turn"
        assert len(set(b.block_id for b in conv.blocks)) == len(conv.blocks)
        assert conv.revision == len(conv.blocks), f"step {k}: revisions {conv.revision}"
        turns = [b.turn for b in conv.blocks if b.is_turn]
        assert turns == list(range(1, len(turns) + 1))
        if code == 0:
            assert bodies.count(W1_BODY) == 1, f"step {k}: w1 said done: {text}"
            outcomes["landed"] = outcomes.get("landed", 0) + 1
        else:
            assert W1_BODY not in bodies, f"step {k}: w1 failed yet wrote: {text}"
            assert text.count("\n") == 1 and "saved to " in text, f"step {k}: {text}"
            saved = Path(text.rsplit("saved to ", 1)[1].strip())
            assert saved.read_text() == W1_BODY
            outcomes["refused, body saved"] = outcomes.get("refused, body saved", 0) + 1
        # w3 died holding a lock unless w1 broke it: the next writer clears it at once.
        started = time.monotonic()
        ops.run(moderate.plan_moderate(talk.root, conv_id, "pause", moderator="mod"), "test-host")
        assert time.monotonic() - started < STALE + 1
        assert not lock_path_for(path).exists(), f"step {k}: a lock was left"
    print(f"{steps} steps: {outcomes}")
    assert outcomes.get("landed") and outcomes.get("refused, body saved")


def test_a_writer_killed_at_commit_leaves_no_lock_in_the_way(root: Root, tmp_path: Path) -> None:
    # The default stale time (60 s), no watcher: the next write, a separate process,
    # breaks the dead writer's lock at once because it names this machine and its pid.
    opened = run_talkroom(
        "--root",
        str(root.path),
        "open",
        "--topic",
        "t",
        "--as",
        "a",
        "--with",
        "b",
        "--max-turns",
        "1000",
        "--body",
        "hi",
    )
    conv_id = opened.stdout.decode().split()[0]
    path = root.conversation(conv_id)
    steps_file = tmp_path / "steps"
    pid = pausing.fork_command(
        ["--root", str(root.path), "reply", conv_id, "--as", "b", "--next", "a", "--body", "x"],
        tmp_path / "n.out",
        stop_at=10**9,
        count_to=steps_file,
    )
    assert pausing.wait_stopped(pid) == 0
    steps = int(steps_file.read_text())
    run_talkroom("--root", str(root.path), "inject", conv_id, "--next", "b", "--body", "again")
    killed_with_lock = 0
    for k in range(1, steps + 1):
        pid = pausing.fork_command(
            [
                "--root",
                str(root.path),
                "reply",
                conv_id,
                "--as",
                "b",
                "--next",
                "a",
                "--body",
                f"killed at {k}",
            ],
            tmp_path / f"k{k}.out",
            stop_at=k,
        )
        if pausing.wait_stopped(pid) is not None:
            continue
        killed_with_lock += lock_path_for(path).exists()
        pausing.kill(pid)
        started = time.monotonic()
        after = run_talkroom(
            "--root", str(root.path), "inject", conv_id, "--next", "b", "--body", f"after {k}"
        )
        assert after.returncode == 0, after.stderr
        assert time.monotonic() - started < 5, f"step {k}: the next write waited"
    assert killed_with_lock > 5
    assert store.load(path).trailer_ok


def test_a_lock_from_another_machine_is_broken_by_its_age_on_the_files_clock(
    root: Root, tmp_path: Path
) -> None:
    # A holder on another machine (its pid means nothing here) that has stood for 61 s by
    # the file server's clock: a fresh helper, which cannot wait 60 s, breaks it at once.
    opened = run_talkroom(
        "--root", str(root.path), "open", "--topic", "t", "--as", "a", "--with", "b", "--body", "hi"
    )
    conv_id = opened.stdout.decode().split()[0]
    path = root.conversation(conv_id)
    code = (
        "import os, sys; from pathlib import Path; from talkroom.core.lock import FileLock;"
        f" FileLock(Path({str(path)!r}), 'test-host').acquire(); os._exit(0)"
    )
    subprocess.run([*other_machine(), sys.executable, "-c", code], check=True)
    lock_dir = lock_path_for(path)
    old = time.time() - 61
    for entry in [lock_dir, *lock_dir.rglob("*")]:
        os.utime(entry, (old, old), follow_symlinks=False)
    started = time.monotonic()
    result = run_talkroom(
        "--root", str(root.path), "reply", conv_id, "--as", "b", "--next", "a", "--body", "x"
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 5
    assert b"broke a stale lock" in result.stderr


@pytest.mark.parametrize("shape", ["fifo", "symlink", "device"])
def test_something_else_at_the_lock_name_never_hangs_a_write(root: Root, shape: str) -> None:
    opened = run_talkroom(
        "--root", str(root.path), "open", "--topic", "t", "--as", "a", "--with", "b", "--body", "hi"
    )
    conv_id = opened.stdout.decode().split()[0]
    where = lock_path_for(root.conversation(conv_id))
    if shape == "fifo":
        os.mkfifo(where)
    elif shape == "symlink":
        where.symlink_to(Path.home() / ".bashrc")
    else:
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(where, 0o600 | 0o020000, os.makedev(1, 3))  # like /dev/null
    result = run_talkroom(
        "--root",
        str(root.path),
        "reply",
        conv_id,
        "--as",
        "b",
        "--next",
        "a",
        "--body",
        "x",
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert store.load(root.conversation(conv_id)).blocks[-1].body == "x"


def test_after_a_storm_of_killed_writers_the_next_write_goes_through(
    root: Root, tmp_path: Path
) -> None:
    # Forty writers at once, a third of them killed at random moments, with the default
    # stale time: the locks the dead left are broken by whoever comes next, at once.
    import random

    opened = run_talkroom(
        "--root",
        str(root.path),
        "open",
        "--topic",
        "storm",
        "--as",
        "moderator",
        "--with",
        "w,x",
        "--next",
        "w",
        "--max-turns",
        "100000",
        "--body",
        "go",
    )
    conv_id = opened.stdout.decode().split()[0]
    pids = [
        pausing.fork_command(
            [
                "--root",
                str(root.path),
                "reply",
                conv_id,
                "--as",
                "w",
                "--next",
                "w",
                "--body",
                f"storm {n}",
            ],
            tmp_path / f"s{n}.out",
        )
        for n in range(40)
    ]
    rng = random.Random(7)
    for pid in rng.sample(pids, 14):
        time.sleep(rng.uniform(0, 0.05))
        try:
            pausing.kill(pid)
        except ProcessLookupError:
            pass
    codes = {}
    for n, pid in enumerate(pids):
        try:
            _, status = os.waitpid(pid, 0)
            codes[n] = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            codes[n] = -9
    started = time.monotonic()
    after = run_talkroom("--root", str(root.path), "inject", conv_id, "--body", "after")
    assert after.returncode == 0, after.stderr
    assert time.monotonic() - started < 5
    conv = store.load(root.conversation(conv_id))
    bodies = [b.body for b in conv.blocks]
    assert all(bodies.count(f"storm {n}") == 1 for n, code in codes.items() if code == 0)
    assert len(set(bodies)) == len(bodies) and bodies[-1] == "after"


def test_a_registration_killed_at_commit_blocks_no_one(root: Root, tmp_path: Path) -> None:
    from talkroom.watch import registry
    from talkroom.watch.tmux import PaneRef

    registry.register(root, "test-host", "first", "claude", PaneRef("/tmp/s", 1, "%1", 2))
    sessions = root.host_dir("test-host") / "sessions.yaml"
    code = (
        "import os, signal, sys; from pathlib import Path; from talkroom.core import files;"
        "from talkroom.watch import registry; from talkroom.watch.tmux import PaneRef;"
        "from talkroom.core.paths import Root\n"
        "real = files.Folder.rename\n"
        "def stop(self, src, dst, attempts=8):\n"
        "    if dst.endswith('sessions.yaml'): os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(self, src, dst, attempts)\n"
        "files.Folder.rename = stop\n"
        f"registry.register(Root(Path({str(root.path)!r}), 't'), 'test-host', 'second',"
        " 'claude', PaneRef('/tmp/s', 1, '%2', 3))\n"
    )
    died = subprocess.run([sys.executable, "-c", code], check=False)
    assert died.returncode == -9
    assert lock_path_for(sessions).exists()  # it died holding the lock, at its commit
    started = time.monotonic()
    registry.register(root, "test-host", "third", "claude", PaneRef("/tmp/s", 1, "%3", 4))
    assert time.monotonic() - started < 2
    assert set(registry.load_sessions(root, "test-host")) == {"first", "third"}


def test_ctrl_c_at_any_step_of_a_reply_tells_the_truth(talk: Talk, tmp_path: Path) -> None:
    # Interrupted before its turn is in the file: exit 130, the body saved. After: the
    # turn stands and the command says so (a "failed" there would make its author resend).
    import signal

    steps = _steps_of_a_reply(talk, tmp_path)
    seen = set()
    for k in range(1, steps + 1):
        conv_id = _open(talk)
        out = tmp_path / f"i{k}.out"
        pid = pausing.fork_command(
            [
                "--root",
                str(talk.root.path),
                "reply",
                conv_id,
                "--as",
                "w1",
                "--next",
                "alpha",
                "--body",
                W1_BODY,
            ],
            out,
            stop_at=k,
        )
        if pausing.wait_stopped(pid) is not None:
            continue
        os.kill(pid, signal.SIGINT)
        code = pausing.finish(pid)
        text = out.read_text()
        bodies = [b.body for b in store.load(talk.root.conversation(conv_id)).blocks]
        if code == 0:
            assert bodies.count(W1_BODY) == 1 and "added" in text, (k, text)
        else:
            assert code == 130 and W1_BODY not in bodies, (k, code, text)
            assert (
                "interrupted" in text
                and Path(text.rsplit("saved to ", 1)[1].strip()).read_text() == W1_BODY
            )
        seen.add(code)
    assert seen == {0, 130}
