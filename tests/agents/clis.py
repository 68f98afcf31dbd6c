"""Real agent CLIs for tests: pinned npm installs, throwaway homes, one tmux server each.

Each CLI runs in its own tmux server (`tmux -S <socket>`), pointed at a model stand-in on
127.0.0.1, configured so it starts at its prompt, trusts its working folder and runs
`talkroom ...` commands without asking. `Agent.stop()` ends everything it started by pid.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CLIS",
    "PINS",
    "VENV_BIN",
    "Agent",
    "Pin",
    "binary",
    "install",
    "launch",
    "make_home",
    "prefix",
    "unavailable_reason",
]

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
API_KEY = "sk-talkroom-stand-in-0123456789abcdefghij"
MARKER = "TALKROOM_AGENT_RUN"  # every process an Agent starts carries MARKER=<its folder>


@dataclass(frozen=True)
class Pin:
    """One CLI's npm package, exact version and command name."""

    package: str
    version: str
    command: str


PINS: dict[str, Pin] = {
    "claude": Pin("@anthropic-ai/claude-code", "2.1.332", "claude"),
    "codex": Pin("@openai/codex", "0.171.0", "codex"),
    "gemini": Pin("@google/gemini-cli", "0.61.0", "gemini"),
}
CLIS = tuple(PINS)


def prefix() -> Path:
    """Where the pinned CLIs are installed: $TALKROOM_AGENTS_PREFIX or ~/.cache/..."""
    env = os.environ.get("TALKROOM_AGENTS_PREFIX")
    return Path(env) if env else Path.home() / ".cache" / "talkroom-agents"


def _folder(cli: str) -> Path:
    pin = PINS[cli]
    return prefix() / f"{pin.package.rsplit('/', 1)[-1]}-{pin.version}"


def binary(cli: str) -> Path:
    """The installed command of `cli`."""
    return _folder(cli) / "node_modules" / ".bin" / PINS[cli].command


def installed_version(cli: str) -> str | None:
    """The version of `cli` in the prefix, or None when it is not installed."""
    package_json = _folder(cli) / "node_modules" / PINS[cli].package / "package.json"
    try:
        return str(json.loads(package_json.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def install(cli: str, timeout: float = 600) -> None:
    """npm-install the pinned version unless it is there; raises RuntimeError on failure."""
    pin = PINS[cli]
    if installed_version(cli) == pin.version and binary(cli).exists():
        return
    folder = _folder(cli)
    folder.mkdir(parents=True, exist_ok=True)
    # npm 11 warns that the install scripts are "not covered by allowScripts" but runs them:
    # Claude's links its native binary, Gemini's builds node-pty.
    result = subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--prefix",
            str(folder),
            f"{pin.package}@{pin.version}",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode or installed_version(cli) != pin.version:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"npm install {pin.package}@{pin.version} failed: {tail}")


def unavailable_reason(clis: Iterable[str] = CLIS) -> str | None:
    """One line saying why the real-agent tier cannot run here, or None."""
    for tool in ("node", "npm", "tmux"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    for cli in clis:
        try:
            install(cli)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            return f"cannot install {cli}: {exc}"
    return None


@dataclass
class Home:
    """A throwaway home for one CLI: its environment and command line."""

    cli: str
    path: Path
    env: dict[str, str]
    argv: list[str]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def make_home(
    cli: str,
    run: Path,
    cwd: Path,
    model_url: str,
    bin_dir: Path = VENV_BIN,
    allow: str = "talkroom",
    codex_model: str = "gpt-5.5",
    settings: Mapping[str, object] | None = None,
) -> Home:
    """Write a home under `run` that starts `cli` at its prompt, trusting `cwd`.

    `allow` is the command prefix the agent may run without asking (empty: none);
    `settings` are merged into Claude's or Gemini's settings.json.
    """
    home = run / "home"
    home.mkdir(parents=True, exist_ok=True)
    cwd_text = str(cwd.resolve())
    env = {
        "HOME": str(home),
        "USER": "root",
        "LANG": "C.UTF-8",
        "SHELL": "/bin/bash",
        "PATH": os.pathsep.join(
            [str(bin_dir), str(binary(cli).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "IS_SANDBOX": "1",
        MARKER: str(run),
        # Temp files, Claude's inbox socket and Codex's daemon files stay in the run folder.
        "TMPDIR": str(run / "tmp"),
        "CLAUDE_CODE_TMPDIR": str(run / "tmp"),
    }
    (run / "tmp").mkdir(exist_ok=True)
    argv = [str(binary(cli))]
    if cli == "claude":
        env.update(
            ANTHROPIC_BASE_URL=model_url,
            ANTHROPIC_API_KEY=API_KEY,
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_AUTOUPDATER="1",
        )
        _write(
            home / ".claude.json",
            json.dumps(
                {
                    "hasCompletedOnboarding": True,
                    "lastOnboardingVersion": PINS[cli].version,
                    "hasSeenAutoDefaultNudge": True,
                    "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
                    "projects": {cwd_text: {"hasTrustDialogAccepted": True}},
                },
                indent=1,
            ),
        )
        rules = [f"Bash({allow}:*)"] if allow else []
        _write(
            home / ".claude" / "settings.json",
            json.dumps(
                {"permissions": {"allow": rules, "defaultMode": "default"}, **(settings or {})},
                indent=1,
            ),
        )
    elif cli == "codex":
        codex_home = home / ".codex"
        env.update(CODEX_HOME=str(codex_home))
        # Codex has no allow list by command prefix here: `allow` empty means "ask" (it asks
        # when the model requests escalation, see StandIn.escalate).
        approval, sandbox = (
            ("never", "danger-full-access") if allow else ("on-request", "workspace-write")
        )
        _write(
            codex_home / "config.toml",
            "\n".join(
                [
                    f"model = {json.dumps(codex_model)}",
                    'model_provider = "standin"',
                    f'approval_policy = "{approval}"',
                    f'sandbox_mode = "{sandbox}"',
                    "check_for_update_on_startup = false",
                    "[notice]",
                    "hide_full_access_warning = true",
                    "[notice.model_migrations]",  # "Meet GPT-6 Sol" would take the first keys
                    '"gpt-5.5" = "gpt-6-sol"',
                    "[tui]",
                    "screen_reader_detection_done = true",
                    "[tui.model_availability_nux]",
                    '"gpt-6.1-sol" = 99',
                    "[model_providers.standin]",
                    'name = "stand-in"',
                    f"base_url = {json.dumps(model_url + '/v1')}",
                    'wire_api = "responses"',
                    f"[projects.{json.dumps(cwd_text)}]",
                    'trust_level = "trusted"',
                    "",
                ]
            ),
        )
    elif cli == "gemini":
        env.update(GEMINI_API_KEY=API_KEY, GOOGLE_GEMINI_BASE_URL=model_url)
        gemini = home / ".gemini"
        _write(
            gemini / "settings.json",
            json.dumps(
                {
                    "security": {"auth": {"selectedType": "gemini-api-key"}},
                    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
                    "privacy": {"usageStatisticsEnabled": False},
                    "ide": {"hasSeenNudge": True},
                    **(settings or {}),
                },
                indent=1,
            ),
        )
        _write(gemini / "trustedFolders.json", json.dumps({cwd_text: "TRUST_FOLDER"}))
        if allow:
            _write(
                gemini / "policies" / "talkroom.toml",
                "\n".join(
                    [
                        "[[rule]]",
                        'toolName = "run_shell_command"',
                        f"commandPrefix = {json.dumps(allow)}",
                        'decision = "allow"',
                        "priority = 100",
                        "",
                    ]
                ),
            )
    else:
        raise ValueError(f"unknown CLI {cli!r}")
    return Home(cli, home, env, argv)


# Shown while the CLI works on a turn (its prompt line can show at the same time).
BUSY = {"claude": "esc to interrupt", "codex": "esc to interrupt", "gemini": "esc to cancel"}
# A bottom line that shows the CLI waiting at its prompt with nothing typed.
IDLE: dict[str, Callable[[list[str]], bool]] = {
    "claude": lambda lines: any(ln.strip() == "❯" for ln in lines),
    # Codex draws its prompt under the start-up splash (braille art) already.
    "codex": lambda lines: (
        any(ln.startswith("› ") for ln in lines)
        and "for shortcuts" in lines[-1]
        and not any("\u2800" <= ch <= "\u28ff" for ln in lines for ch in ln)
    ),
    "gemini": lambda lines: any("Type your message" in ln for ln in lines),
}


@dataclass
class Agent:
    """One CLI running in its own tmux server; stop() ends all it started, by pid."""

    cli: str
    run: Path
    socket: str
    pane: str
    pane_pid: int
    server_pid: int
    home: Home
    started: float = field(default_factory=time.monotonic)

    def tmux(self, *args: str, check: bool = True) -> str:
        """One tmux command against this agent's server; its stdout."""
        from tests.tmuxlib import Server  # libtmux; not loaded by `clis install`

        return Server(self.socket, timeout=10).run(*args, check=check)

    def capture(self, ansi: bool = False) -> str:
        """The pane's visible text (with SGR attributes when `ansi`)."""
        return self.tmux("capture-pane", "-p", *(["-e"] if ansi else []), "-t", self.pane)

    def lines(self) -> list[str]:
        """The pane's non-empty lines."""
        return [ln for ln in self.capture().splitlines() if ln.strip()]

    def command(self) -> str:
        """`#{pane_current_command}` as tmux reports it."""
        return self.tmux(
            "display-message", "-p", "-t", self.pane, "#{pane_current_command}"
        ).strip()

    def type(self, text: str) -> None:
        """Type `text` literally, no submit."""
        self.tmux("send-keys", "-t", self.pane, "-l", "--", text)

    def key(self, *keys: str) -> None:
        """Press named keys (Enter, C-m, Escape, ...)."""
        self.tmux("send-keys", "-t", self.pane, "--", *keys)

    def composer(self) -> str:
        """What the composer holds, as talkroom's profile for this CLI reads it."""
        from talkroom.watch.profiles import BUILTIN_PROFILES

        return BUILTIN_PROFILES[self.cli].composer(self.capture()) or ""

    def busy(self) -> bool:
        """True when the pane's bottom lines show the CLI's busy marker."""
        return BUSY[self.cli] in "\n".join(self.lines()[-15:]).lower()

    def idle(self) -> bool:
        """True when the CLI shows its empty prompt and is not busy."""
        lines = self.lines()
        return IDLE[self.cli](lines) and BUSY[self.cli] not in "\n".join(lines[-15:]).lower()

    def idle_for(self, seconds: float) -> bool:
        """True when the idle prompt shows for `seconds` in a row (late dialogs come up)."""
        deadline = time.monotonic() + seconds
        while self.idle():
            if time.monotonic() >= deadline:
                return True
            time.sleep(0.1)
        return False

    def wait(self, predicate: Callable[[], object], timeout: float = 60, what: str = "") -> float:
        """Poll `predicate` until true; the seconds it took. Raises TimeoutError."""
        start = time.monotonic()
        while not predicate():
            if time.monotonic() - start > timeout:
                tail = "\n".join(self.lines()[-8:])
                raise TimeoutError(f"{self.cli}: no {what or 'condition'} in {timeout}s:\n{tail}")
            time.sleep(0.05)
        return time.monotonic() - start

    def pids(self) -> list[int]:
        """Every live process this agent started (its marker in the environment)."""
        needle = f"{MARKER}={self.run}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    environ = (entry / "environ").read_bytes().split(b"\0")
                except OSError:
                    continue
                if needle in environ:
                    found.append(int(entry.name))
        return found

    def stop(self, grace: float = 3.0) -> None:
        """End the tmux server, the CLI and its daemons (Codex's app-server) by pid."""
        pids = set(self.pids()) | {self.server_pid, self.pane_pid}
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
                time.sleep(0.05)
            pids = {pid for pid in pids if _alive(pid)}
            if not pids:
                break
        shutil.rmtree(self.run, ignore_errors=True)


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def launch(
    cli: str,
    cwd: Path,
    model_url: str,
    bin_dir: Path = VENV_BIN,
    size: tuple[int, int] = (100, 30),
    timeout: float = 90,
    wait_idle: bool = True,
    args: Sequence[str] = (),
    **home_options: Any,
) -> Agent:
    """Start `cli` (plus `args`) in `cwd` in a new tmux server; wait for a steady idle prompt."""
    run = Path(tempfile.mkdtemp(prefix=f"tra-{cli}-", dir="/tmp"))
    home = make_home(cli, run, cwd, model_url, bin_dir, **home_options)
    home.argv.extend(args)
    socket = str(run / "tmux.sock")
    conf = run / "tmux.conf"
    conf.write_text("set -g default-terminal tmux-256color\nset -g history-limit 5000\n")
    from tests.tmuxlib import Server  # libtmux; not loaded by `clis install`

    server = Server(socket, env=home.env, timeout=10, config_file=str(conf), flags=["-u"])
    # Not Server.new_session: it prints libtmux's session format, not these pids, and
    # puts no `--` before the command.
    result = server.cmd(
        "new-session",
        "-d",
        "-s",
        cli,
        "-x",
        str(size[0]),
        "-y",
        str(size[1]),
        "-c",
        str(cwd),
        "-P",
        "-F",
        "#{pid} #{pane_id} #{pane_pid}",
        "--",
        shlex.join(["exec", *home.argv]),
    )
    if result.returncode:
        shutil.rmtree(run, ignore_errors=True)
        raise RuntimeError(f"tmux new-session for {cli}: {result.errors.strip()}")
    server_pid, pane, pane_pid = result.text.split()
    agent = Agent(cli, run, socket, pane, int(pane_pid), int(server_pid), home)
    if wait_idle:
        try:
            agent.wait(lambda: agent.idle_for(1.5), timeout, "idle prompt")
        except BaseException:
            agent.stop()
            raise
    return agent


def main(argv: Sequence[str]) -> int:
    """`python -m tests.agents.clis install`: the pinned CLIs, in parallel; one line said."""
    from concurrent.futures import ThreadPoolExecutor

    if list(argv) != ["install"]:
        print("usage: python -m tests.agents.clis install")
        return 2
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            print(f"real agents: skipped: {tool} is not installed")
            return 0
    started = time.monotonic()
    with ThreadPoolExecutor(len(CLIS)) as pool:
        failures = [
            f"{cli}: {exc}"
            for cli, exc in zip(CLIS, pool.map(_try_install, CLIS), strict=True)
            if exc
        ]
    pins = ", ".join(f"{p.package}@{p.version}" for p in PINS.values())
    if failures:
        print(f"real agents: install failed ({'; '.join(failures)}); their tests will skip")
        return 0
    print(f"real agents: {pins} in {prefix()} ({time.monotonic() - started:.0f} s)")
    return 0


def _try_install(cli: str) -> str:
    try:
        install(cli)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return ""


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
