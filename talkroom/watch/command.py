"""A one-shot command session's registration: the argv, where and how it runs, and the
signature that lets only this machine's user choose a command (docs/protocol.md 6.2).

sessions.yaml lives in the shared talk root, which anyone with write access to it can
edit; a command there is run by this host's watcher. So `register` signs the whole
registration with a key kept in the user's state folder, and the watcher runs nothing
whose signature does not match: a hand edit, or a registration written elsewhere, runs
nothing until it is registered again here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from talkroom.core.errors import BadInput
from talkroom.core.names import MAX_BODY_BYTES

PROMPT_VIA = ("argument", "stdin")  # how the wake-up text reaches the command
REPLY_FROM = ("agent", "stdout")  # who writes the turn: the agent itself, or its output
DEFAULT_TIMEOUT = 600.0
MAX_TIMEOUT = 86400.0
DEFAULT_OUTPUT_CAP = 64 * 1024
MAX_OUTPUT_CAP = MAX_BODY_BYTES - 4096  # room for the note saying it was cut
KEY_FILE = "command-key"
_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@dataclass(frozen=True)
class CommandSpec:
    """What a one-shot command session runs, once per assignment, and how."""

    argv: tuple[str, ...]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)  # added to the watcher's environment
    timeout: float = DEFAULT_TIMEOUT
    output_cap: int = DEFAULT_OUTPUT_CAP
    prompt_via: str = "argument"
    reply_from: str = "agent"
    signature: str = ""

    def __post_init__(self) -> None:
        check_spec(self)

    def describe(self) -> str:
        """`claude -p` (prompt as its last argument; replies itself), for people."""
        import shlex

        via = "prompt as its last argument" if self.prompt_via == "argument" else "prompt on stdin"
        who = "its output is its turn" if self.reply_from == "stdout" else "replies itself"
        return f"{shlex.join(self.argv)} ({via}; {who})"

    def fields(self) -> dict[str, object]:
        """The sessions.yaml fields (a list and a mapping among the strings)."""
        out: dict[str, object] = {
            "command": list(self.argv),
            "cwd": self.cwd,
            "timeout": f"{self.timeout:g}",
            "output cap": str(self.output_cap),
            "prompt via": self.prompt_via,
            "reply from": self.reply_from,
        }
        if self.env:
            out["env"] = dict(self.env)
        if self.signature:
            out["signature"] = self.signature
        return out

    def signed_text(self, host: str, name: str, registered_at: str) -> bytes:
        """What the signature covers: every field, the host, the name and the time."""
        data = {"host": host, "name": name, "registered at": registered_at, **self.fields()}
        data.pop("signature", None)
        return json.dumps(data, sort_keys=True, ensure_ascii=True).encode()

    def signed(self, host: str, name: str, registered_at: str) -> CommandSpec:
        """This spec with the signature of this machine's user."""
        mac = hmac.new(key(create=True), self.signed_text(host, name, registered_at), "sha256")
        return replace(self, signature=f"hmac-sha256:{mac.hexdigest()}")

    def verified(self, host: str, name: str, registered_at: str) -> bool:
        """True when this machine's user signed exactly this registration."""
        try:
            secret = key(create=False)
        except OSError:
            return False
        mac = hmac.new(secret, self.signed_text(host, name, registered_at), "sha256")
        return hmac.compare_digest(self.signature, f"hmac-sha256:{mac.hexdigest()}")


def check_spec(spec: CommandSpec) -> None:
    """Raise ValueError (one line) unless every field is one a command can run with."""
    if not spec.argv or not spec.argv[0] or not all(isinstance(a, str) for a in spec.argv):
        raise ValueError("the command is empty")
    if any("\x00" in a for a in spec.argv):
        raise ValueError("the command contains a NUL byte")
    if not os.path.isabs(spec.cwd) or "\x00" in spec.cwd:
        raise ValueError(f"the working folder must be an absolute path, got {spec.cwd!r}")
    for name, value in spec.env.items():
        if not _ENV_KEY_RE.match(name) or "\x00" in value:
            raise ValueError(f"{name!r} is not an environment variable name (or its value has NUL)")
    if not 0 < spec.timeout <= MAX_TIMEOUT:
        raise ValueError(f"the timeout must be 1 to {MAX_TIMEOUT:g} seconds, got {spec.timeout:g}")
    if not 1 <= spec.output_cap <= MAX_OUTPUT_CAP:
        raise ValueError(f"the output cap must be 1 to {MAX_OUTPUT_CAP} bytes")
    if spec.prompt_via not in PROMPT_VIA:
        raise ValueError(f"prompt via must be one of {', '.join(PROMPT_VIA)}")
    if spec.reply_from not in REPLY_FROM:
        raise ValueError(f"reply from must be one of {', '.join(REPLY_FROM)}")


def from_fields(fields: dict[object, object]) -> CommandSpec | None:
    """The spec in a sessions.yaml entry; None when it has no command. ValueError when
    what is there cannot run (a hand edit)."""
    argv = fields.get("command")
    if argv is None:
        return None
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ValueError("'command' must be a list of words")
    env = fields.get("env") or {}
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise ValueError("'env' must map names to values")
    try:
        timeout = float(str(fields.get("timeout", DEFAULT_TIMEOUT)))
        cap = int(str(fields.get("output cap", DEFAULT_OUTPUT_CAP)))
    except ValueError:
        raise ValueError("'timeout' and 'output cap' must be numbers") from None
    return CommandSpec(
        tuple(argv),
        str(fields.get("cwd", "")),
        dict(env),
        timeout,
        cap,
        str(fields.get("prompt via", "argument")),
        str(fields.get("reply from", "agent")),
        str(fields.get("signature", "")),
    )


def parse_env(items: list[str]) -> dict[str, str]:
    """`--env KEY=VALUE` options as a mapping (BadInput for a malformed one)."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not _ENV_KEY_RE.match(name):
            raise BadInput(f"--env {item!r} is not KEY=VALUE with a variable name as KEY")
        if "\x00" in value:
            raise BadInput(f"--env {name}: the value contains a NUL byte")
        out[name] = value
    return out


def key_path() -> Path:
    """Where this user's signing key is kept (never in the talk root)."""
    from talkroom.core.paths import state_dir

    return state_dir() / KEY_FILE


def key(create: bool) -> bytes:
    """This user's 32-byte signing key; made (readable by the user only) when `create`."""
    path = key_path()
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if not create:
            raise
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a name of its own, then linked into place: a registration
        # running at the same moment never reads a key half written.
        draft = path.with_name(f".{KEY_FILE}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, os.urandom(32).hex().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another registration made it first: use that one
        finally:
            os.unlink(draft)
        return key(create=False)
    try:
        secret = os.read(fd, 4096).strip()
    finally:
        os.close(fd)
    if len(secret) < 32:
        raise OSError(f"{path} is too short to be a key; remove it and register again")
    return hashlib.sha256(secret).digest()


def cannot_run(spec: CommandSpec, env: dict[str, str] | None = None) -> str:
    """Why the command cannot start on this machine now ("" when it can)."""
    import shutil

    if not os.path.isdir(spec.cwd):
        return f"its working folder {spec.cwd} does not exist"
    program = spec.argv[0]
    path = {**(env if env is not None else os.environ), **spec.env}.get("PATH", os.defpath)
    if os.sep in program:
        found = os.path.isfile(program) and os.access(program, os.X_OK)
    else:
        found = shutil.which(program, path=path) is not None
    return "" if found else f"{program} is not found or not executable"
