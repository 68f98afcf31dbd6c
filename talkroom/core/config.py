"""The user's configuration: defaults in code, then the file, then the environment, then flags."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from talkroom.core.errors import BadInput
from talkroom.core.names import check_name


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 86400 * 7:  # NaN fails this too
        raise ValueError("must be a number of seconds between 0 and 604800")
    return value


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise ValueError("must be true or false")


def _text(text: str) -> str:
    if "\n" in text or not text.strip():
        raise ValueError("must be one non-empty line")
    return text.strip()


def _name(text: str) -> str:
    return check_name(text, "moderator name")


def _profiles(value: object) -> dict[str, dict[str, object]]:  # a mapping, not text
    if value == "":
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValueError(
            "must map a profile name to its settings, e.g. 'claude: {submit_delay: 1}'"
        )
    return {str(k): dict(v) for k, v in value.items()}


class Setting:
    """How one configuration key is read from text, its variable and what it means."""

    __slots__ = ("env", "help", "key", "parse")

    def __init__(
        self, key: str, parse: Callable[[str], object], help: str, env: str | None = None
    ) -> None:
        self.key = key
        self.parse = parse
        self.help = help
        self.env = env

    @property
    def default(self) -> object:
        """The value in force when nothing sets this key."""
        return getattr(Settings(), self.key)


class Settings:
    """The effective settings, typed; the defaults are the class's values.

    A plain class, not a dataclass: dataclasses imports inspect, ~16 ms of the helper's
    start-up."""

    root: str | None = None
    moderator: str | None = None
    poll_interval: float = 1.0
    rescan_interval: float = 30.0
    heartbeat_interval: float = 5.0
    stale_lock_seconds: float = 60.0
    waiting_threshold: float = 600.0
    deferred_threshold: float = 120.0
    bell: bool = True
    desktop_notifications: bool = True
    notify_throttle: float = 30.0
    theme: str = "textual-dark"
    confirm_quit: bool = True
    profiles: dict[str, dict[str, object]]

    def __init__(self) -> None:
        self.profiles = {}


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "root",
        _text,
        "the talk root (else --root, $TALKROOM_ROOT, nearest .talks)",
        "TALKROOM_ROOT",
    ),
    Setting(
        "moderator",
        _name,
        "the name on moderator blocks (default: your login name)",
        "TALKROOM_MODERATOR",
    ),
    Setting(
        "poll_interval",
        _seconds,
        "seconds between polls of a network talk root",
        "TALKROOM_POLL_INTERVAL",
    ),
    Setting(
        "rescan_interval",
        _seconds,
        "seconds between forced re-reads of recently active files",
        "TALKROOM_RESCAN_INTERVAL",
    ),
    Setting(
        "heartbeat_interval",
        _seconds,
        "seconds between watcher heartbeats",
        "TALKROOM_HEARTBEAT_INTERVAL",
    ),
    Setting(
        "stale_lock_seconds",
        _seconds,
        "a write lock unchanged this long is broken as stale",
        "TALKROOM_STALE_LOCK_SECONDS",
    ),
    Setting(
        "waiting_threshold",
        _seconds,
        "seconds `next` may wait before the console flags the conversation",
        "TALKROOM_WAITING_THRESHOLD",
    ),
    Setting(
        "deferred_threshold",
        _seconds,
        "seconds a delivery may stay deferred before it is flagged",
        "TALKROOM_DEFERRED_THRESHOLD",
    ),
    Setting("bell", _bool, "ring the terminal bell when something needs you", "TALKROOM_BELL"),
    Setting(
        "desktop_notifications",
        _bool,
        "use notify-send where it exists",
        "TALKROOM_DESKTOP_NOTIFICATIONS",
    ),
    Setting(
        "notify_throttle", _seconds, "seconds between two notifications about one conversation"
    ),
    Setting("theme", _text, "the console's theme (textual-dark, textual-light)", "TALKROOM_THEME"),
    Setting(
        "confirm_quit",
        _bool,
        "the console asks before q quits (and stops this host's watcher)",
        "TALKROOM_CONFIRM_QUIT",
    ),
    Setting("profiles", _profiles, "agent profile overrides: {claude: {submit_delay: 0.8}, ...}"),
)
BY_KEY = {s.key: s for s in SETTINGS}


class Config:
    """Effective settings and where each one came from."""

    def __init__(
        self,
        settings: Settings,
        sources: dict[str, str],
        path: Path,
        warnings: list[str],
        errors: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.sources = sources
        self.path = path
        self.warnings = warnings
        self.errors = errors or []  # only a lenient load keeps going past bad values

    def __getitem__(self, key: str) -> object:
        return getattr(self.settings, BY_KEY[key].key)

    def set_flag(self, key: str, value: object, flag: str) -> None:
        """Record a command-line flag's value; flags win over everything."""
        if value is not None:
            setattr(self.settings, BY_KEY[key].key, value)
            self.sources[key] = flag


def read_file(path: Path) -> dict[str, object]:
    """The raw mapping in a config file; {} when there is none; BadInput when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read the config file {path}: {exc}; fix or remove it") from None
    from talkroom.core.errors import Unreadable
    from talkroom.core.header import load_yaml, parse_fast

    data: object = parse_fast(text)
    if data is None:
        try:
            data = load_yaml(text)
        except Unreadable as exc:
            raise BadInput(
                f"config file {path}: {exc.message}; fix it ('talkroom config --edit')"
            ) from None
    if data in (None, ""):
        return {}
    if not isinstance(data, dict):
        raise BadInput(
            f"config file {path}: expected 'key: value' lines; fix it ('talkroom config --edit')"
        )
    return data


def load(
    path: Path | None = None, env: Mapping[str, str] | None = None, lenient: bool = False
) -> Config:
    """Defaults, then the file, then environment variables; unknown keys become warnings.

    A bad value raises BadInput, or with `lenient` (for `doctor`) becomes an error and the
    value below it stays in force.
    """
    from talkroom.core.paths import config_file

    env = os.environ if env is None else env
    path = path or config_file()
    errors: list[str] = []
    try:
        raw = read_file(path)
    except BadInput as exc:
        if not lenient:
            raise
        raw, errors = {}, [exc.message]
    settings = Settings()
    sources = {s.key: "default" for s in SETTINGS}
    warnings = [
        f"{path}: unknown key {key!r} (known: {', '.join(BY_KEY)}); remove or rename it"
        for key in raw
        if key not in BY_KEY
    ]
    for setting in SETTINGS:
        found = (
            [
                (
                    raw[setting.key],
                    f"config file {path}",
                    f"file {path}",
                    "fix it in the file ('talkroom config --edit')",
                )
            ]
            if setting.key in raw
            else []
        )
        if setting.env and env.get(setting.env):
            found.append(
                (
                    env[setting.env],
                    f"${setting.env}",
                    f"${setting.env}",
                    "fix or unset the variable",
                )
            )
        for value, where, source, fix in found:
            try:
                setattr(settings, setting.key, _parse(setting, value))
                sources[setting.key] = source
            except ValueError as exc:
                message = f"{where}: {setting.key} {value!r} is not valid: {exc}; {fix}"
                if not lenient:
                    raise BadInput(message) from None
                errors.append(message)
    return Config(settings, sources, path, warnings, errors)


def _parse(setting: Setting, value: object) -> object:
    if setting.parse is _profiles:
        return _profiles(value)
    if not isinstance(value, str):
        raise ValueError("must be a single value, not a list or mapping")
    try:
        return setting.parse(value)
    except BadInput as exc:
        raise ValueError(exc.message) from None


def template() -> str:
    """A config file with every key commented out at its default, for `config --edit`."""
    lines = [
        "# talkroom configuration. Every key is optional; unknown keys are reported.",
        "# Precedence: command-line flags, then environment variables, then this file,",
        "# then the defaults shown here.",
    ]
    for setting in SETTINGS:
        lines.append("")
        env = f" (${setting.env})" if setting.env else ""
        lines.append(f"# {setting.help}{env}")
        if setting.key == "profiles":
            lines += [
                "# profiles:",
                "#   codex:",
                "#     submit_delay: 0.8",
                "#     busy_markers: [esc to interrupt]",
            ]
        elif setting.default is None:
            lines.append(f"# {setting.key}:")
        else:
            value = setting.default
            shown = str(value).lower() if isinstance(value, bool) else f"{value}"
            lines.append(f"# {setting.key}: {shown}")
    return "\n".join(lines) + "\n"
