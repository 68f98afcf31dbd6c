"""Several "hosts" on one machine over a real network filesystem, for tests.

An sshd on 127.0.0.1 (own host key, own client key, own config, all in a temporary
directory) exports a directory, and sshfs mounts it N times with `-o dir_cache=no`. Each
mount behaves like one machine sharing a talk root over SSHFS: no cross-mount locking,
stale `stat`, EPERM from a lost `O_CREAT|O_EXCL` race, and so on.

Nothing outside the temporary directories is touched except `/run/sshd`, which sshd needs
and which is created if missing. Every process started here dies with the process that
started it (PR_SET_PDEATHSIG), so even a `kill -9` of pytest leaves no sshd or sshfs behind
(a dead mount entry may remain then; `fusermount3 -u -z` removes it).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

SSHD = "/usr/sbin/sshd"
HOST = "127.0.0.1"
_PRIVSEP_DIR = Path("/run/sshd")
_PR_SET_PDEATHSIG = 1


class NetfsError(RuntimeError):
    """sshd or sshfs could not be started, mounted or unmounted."""


@functools.cache
def netfs_unavailable_reason() -> str | None:
    """Why sshd + sshfs mounts cannot run here, or None if they can."""
    if not sys.platform.startswith("linux"):
        return f"netfs needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "netfs needs root (sshd must run its own config and log in as this user)"
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} missing (apt-get install openssh-server)"
    for tool, package in (
        ("sshfs", "sshfs"),
        ("fusermount3", "fuse3"),
        ("ssh", "openssh-client"),
        ("ssh-keygen", "openssh-client"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} missing (apt-get install {package})"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse missing (no FUSE in this kernel/container; modprobe fuse on the host)"
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except OSError as exc:
        return f"/dev/fuse cannot be opened: {exc.strerror} (container without FUSE access?)"
    os.close(fd)
    return None


def free_port(host: str = HOST) -> int:
    """A TCP port on `host` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _unescape_mount_field(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def proc_mounts() -> list[tuple[str, str, str]]:
    """(source, mountpoint, fstype) for every line of /proc/mounts."""
    rows = []
    with open("/proc/mounts", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3:
                rows.append(
                    (_unescape_mount_field(parts[0]), _unescape_mount_field(parts[1]), parts[2])
                )
    return rows


def is_mounted(path: Path | str) -> bool:
    """True if `path` is a mountpoint in /proc/mounts (dead FUSE mounts included)."""
    target = os.path.realpath(path)
    return any(mp == target for _, mp, _ in proc_mounts())


def pid_alive(pid: int) -> bool:
    """True if process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when the thread that started it exits."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _spawn(cmd: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as fh:
        return subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:].strip()
    except OSError:
        return ""


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _wait_gone(pids: Iterable[int], timeout: float) -> set[int]:
    """Wait until none of `pids` is alive; return the survivors."""
    deadline = time.monotonic() + timeout
    left = {p for p in pids if pid_alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.01)
        left = {p for p in left if pid_alive(p)}
    return left


def _reap(proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Stop `proc` and its process group: wait, then SIGTERM, then SIGKILL."""
    if proc is None:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(2.0)
            return


class SshServer:
    """An sshd on 127.0.0.1:<free port> with its own keys and config in a temp directory."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="talkroom-sshd-")).resolve()
        self.host = HOST
        self.port = 0
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.host_key = self.workdir / "host_key"
        self.client_key = self.workdir / "client_key"
        self.config = self.workdir / "sshd_config"
        self.pid_file = self.workdir / "sshd.pid"
        self.log = self.workdir / "sshd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SshServer:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self, timeout: float = 10.0) -> None:
        """Generate keys, write the config and run sshd until it listens."""
        try:
            self._start(timeout)
        except BaseException:
            self.close()
            raise

    def _start(self, timeout: float) -> None:
        if "," in str(self.workdir) or " " in str(self.workdir):
            raise NetfsError(f"workdir must not contain ',' or ' ': {self.workdir}")
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        for key in (self.host_key, self.client_key):
            if not key.exists():
                subprocess.run(
                    [
                        "ssh-keygen",
                        "-q",
                        "-t",
                        "ed25519",
                        "-N",
                        "",
                        "-C",
                        "talkroom-test",
                        "-f",
                        str(key),
                    ],
                    check=True,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                )
        authorized = self.workdir / "authorized_keys"
        authorized.write_text(Path(f"{self.client_key}.pub").read_text())
        self.config.write_text(
            "\n".join(
                [
                    f"ListenAddress {self.host}",
                    f"HostKey {self.host_key}",
                    f"AuthorizedKeysFile {authorized}",
                    f"PidFile {self.pid_file}",
                    "StrictModes no",
                    "UsePAM no",
                    "PermitRootLogin yes",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PrintMotd no",
                    "UseDNS no",
                    "MaxStartups 100",
                    "MaxSessions 100",
                    "Subsystem sftp internal-sftp",
                    "",
                ]
            )
        )
        last = ""
        for _attempt in range(5):
            if self._run_sshd(free_port(self.host), timeout):
                return
            last = _tail(self.log)
        raise NetfsError(f"sshd did not start:\n{last}")

    def _run_sshd(self, port: int, timeout: float) -> bool:
        """Run sshd on `port`; False if it exited (port taken meanwhile), raise on timeout."""
        self.log.write_bytes(b"")
        self.pid_file.unlink(missing_ok=True)
        self.proc = _spawn([SSHD, "-D", "-e", "-f", str(self.config), "-p", str(port)], self.log)
        ready = f"Server listening on {self.host} port {port}."
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return False
            if ready in _tail(self.log, 10_000):
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection((self.host, port), timeout=0.5),
                ):
                    self.port = port
                    return True
            time.sleep(0.005)
        raise NetfsError(f"sshd not listening on port {port} after {timeout}s:\n{_tail(self.log)}")

    @property
    def running(self) -> bool:
        """True while the listening sshd is alive."""
        return self.proc is not None and self.proc.poll() is None

    def ensure_running(self) -> None:
        """Restart sshd (same keys, new port) if it died."""
        if not self.running:
            self.stop()
            self._start(10.0)

    def pids(self) -> set[int]:
        """The listening sshd and every per-connection sshd below it."""
        pids: set[int] = set()
        if self.proc is not None:
            pids.add(self.proc.pid)
        with contextlib.suppress(OSError, ValueError):
            pids.add(int(self.pid_file.read_text().split()[0]))
        for pid in list(pids):
            pids |= descendants(pid)
        return {p for p in pids if pid_alive(p)}

    def stop(self) -> None:
        """Stop sshd and its connection processes (pid file, Popen and their children)."""
        pids = self.pids()
        _signal_all(pids, signal.SIGTERM)
        survivors = _wait_gone(pids, 3.0)
        _signal_all(survivors, signal.SIGKILL)
        _wait_gone(survivors, 2.0)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(2.0)
            self.proc = None
        self.pid_file.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop sshd and remove the temporary directory if this object made it."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class SshfsPair:
    """One export directory mounted `count` times over sshfs: one mount per "host"."""

    def __init__(
        self,
        server: SshServer | None = None,
        base: Path | None = None,
        count: int = 2,
        options: Sequence[str] = (),
    ) -> None:
        self._own_server = server is None
        self.server = server or SshServer()
        self._own_base = base is None
        self.base = Path(base or tempfile.mkdtemp(prefix="talkroom-netfs-")).resolve()
        self.export = self.base / "export"
        self.mounts = [self.base / f"mnt{i}" for i in range(count)]
        self.extra_options = list(options)
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self._lingering: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> SshfsPair:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start sshd if this object owns it, then mount every mountpoint."""
        try:
            if self._own_server:
                self.server.start()
            self.export.mkdir(parents=True, exist_ok=True)
            for i in range(len(self.mounts)):
                self.mount(i)
        except BaseException:
            self.close()
            raise

    def sshfs_options(self) -> list[str]:
        """The `-o` options given to sshfs."""
        key = str(self.server.client_key)
        if "," in key:
            raise NetfsError(f"key path must not contain ',': {key}")
        return [
            "dir_cache=no",
            "reconnect",
            "ServerAliveInterval=2",
            "ServerAliveCountMax=3",
            "ConnectTimeout=5",
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "GlobalKnownHostsFile=/dev/null",
            f"IdentityFile={key}",
            "IdentitiesOnly=yes",
            "BatchMode=yes",
            "ControlMaster=no",
            "ControlPath=none",
            "LogLevel=ERROR",
            f"Port={self.server.port}",
            *self.extra_options,
        ]

    def is_mounted(self, i: int) -> bool:
        """True if mount `i` is in /proc/mounts (also when its sshfs was killed)."""
        return is_mounted(self.mounts[i])

    def mount(self, i: int, timeout: float = 10.0) -> None:
        """Mount the export on mountpoint `i` and wait until it is usable."""
        mp = self.mounts[i]
        if self.is_mounted(i):
            raise NetfsError(f"{mp} is already mounted")
        mp.mkdir(parents=True, exist_ok=True)
        log = self.base / f"sshfs{i}.log"
        source = f"{self.server.user}@{self.server.host}:{self.export}"
        proc = _spawn(
            [
                "sshfs",
                "-f",
                "-F",
                "/dev/null",
                source,
                str(mp),
                "-o",
                ",".join(self.sshfs_options()),
            ],
            log,
        )
        self._procs[i] = proc
        deadline = time.monotonic() + timeout
        while not self.is_mounted(i):
            if proc.poll() is not None:
                self._procs[i] = None
                raise NetfsError(f"sshfs for {mp} exited {proc.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise NetfsError(f"sshfs for {mp} not mounted after {timeout}s:\n{_tail(log)}")
            time.sleep(0.005)

    def unmount(self, i: int, lazy: bool = False) -> None:
        """Unmount mount `i` (`fusermount3 -u`, lazily if busy or asked); the dir stays."""
        mp = str(self.mounts[i])
        if self.is_mounted(i):
            result = None
            if not lazy:
                result = subprocess.run(
                    ["fusermount3", "-u", mp],
                    capture_output=True,
                    text=True,
                    stdin=subprocess.DEVNULL,
                )
            if result is None or (result.returncode != 0 and self.is_mounted(i)):
                result = subprocess.run(
                    ["fusermount3", "-u", "-z", mp],
                    capture_output=True,
                    text=True,
                    stdin=subprocess.DEVNULL,
                )
            if self.is_mounted(i):
                raise NetfsError(f"cannot unmount {mp}: {result.stderr.strip()}")
        proc, self._procs[i] = self._procs[i], None
        if proc is not None:
            # After a lazy unmount sshfs keeps serving files that are still open: let it.
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(2.0)
            if proc.poll() is None:
                self._lingering.append(proc)

    def remount(self, i: int, timeout: float = 10.0) -> None:
        """Mount `i` again at the same path, unmounting (even a dead mount) first."""
        if self.is_mounted(i) or self._procs[i] is not None:
            self.unmount(i)
        self.server.ensure_running()
        self.mount(i, timeout)

    def kill(self, i: int) -> None:
        """SIGKILL the sshfs of mount `i`: the mount stays and fails with ENOTCONN."""
        proc, self._procs[i] = self._procs[i], None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5.0)

    def close(self) -> None:
        """Unmount everything, stop lingering sshfs and an owned sshd, remove owned dirs."""
        errors: list[BaseException] = []
        for i in range(len(self.mounts)):
            try:
                self.unmount(i)
            except Exception as exc:
                errors.append(exc)
        for proc in self._lingering:
            _reap(proc, 0.0)
        self._lingering.clear()
        for i, proc in enumerate(self._procs):
            _reap(proc, 0.0)
            self._procs[i] = None
        if self._own_server:
            try:
                self.server.close()
            except Exception as exc:
                errors.append(exc)
        if self._own_base and not any(
            mp == str(self.base) or mp.startswith(f"{self.base}/") for _, mp, _ in proc_mounts()
        ):
            shutil.rmtree(self.base, ignore_errors=True)
        if errors:
            raise errors[0]


def errno_name(exc: OSError) -> str:
    """The symbolic name of an OSError's errno, e.g. 'EPERM'."""
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))
