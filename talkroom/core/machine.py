"""Which machine and which process: liveness that two machines sharing a host name, or
two containers on one kernel, cannot confuse (docs/protocol.md, section 4).

A host name says nothing about identity: cloned VMs and containers share them. A process
is named by the machine's boot id (random per boot, so clones differ), the pid namespace
(containers on one kernel differ) and the pid with its start time (pids are reused).
Where these cannot be read (not Linux), `machine_id` is "" and nobody is judged dead by
pid: only the stale time frees a lock. On Windows `os.kill(pid, 0)` would not probe the
process but end it, so no pid is ever signalled there.
"""

from __future__ import annotations

import os

_machine: str | None = None


def machine_id() -> str:
    """`<boot id>-<pid namespace>` on Linux; "" where it cannot be known."""
    global _machine
    if _machine is None:
        try:
            with open("/proc/sys/kernel/random/boot_id", "rb") as fh:
                boot = fh.read(64).decode("ascii", "replace").strip().replace("-", "")
            pidns = os.stat("/proc/self/ns/pid").st_ino
            _machine = f"{boot[:32]}-{pidns}" if boot.isalnum() else ""
        except OSError:
            _machine = ""
    return _machine


def _stat_fields(pid: int) -> list[bytes]:
    """The fields of /proc/<pid>/stat after the command name ([] if unknown or gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read(4096)
    except OSError:
        return []
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return data[data.rfind(b")") + 2 :].split()


def start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" if unknown or gone)."""
    fields = _stat_fields(pid)
    return fields[19].decode("ascii", "replace") if len(fields) > 19 else ""


_PROBE = os.name != "nt"  # signal 0 probes a pid on POSIX; on Windows it terminates it


def alive(machine: str, pid: int, started: str) -> bool | None:
    """True/False for a process of this machine; None when it is on another machine (or
    this machine cannot tell), so the caller must not judge by pid."""
    here = machine_id()
    if not _PROBE or not here or machine != here or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    fields = _stat_fields(pid)
    if fields and fields[0] in (b"Z", b"X"):
        return False  # exited, not yet reaped by its parent
    now = fields[19].decode("ascii", "replace") if len(fields) > 19 else ""
    return not (started and now and now != started)


def runs_talkroom(pid: int) -> bool:
    """True when the process's command line names talkroom (a heartbeat file can name any
    pid of this machine; only a talkroom process can be its watcher)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"talkroom" in fh.read(16384)
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this machine (where it cannot be asked
    without harm, Windows, True: nobody is judged gone by pid there)."""
    if pid <= 0:
        return False
    if not _PROBE:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def me() -> tuple[str, int, str]:
    """(machine id, pid, start time) of this process."""
    pid = os.getpid()
    return machine_id(), pid, start_time(pid)
