"""Names, ids and limits of docs/protocol.md section 2."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable

from talkroom.core.errors import BadInput

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
NAME_RULE = "use 1-63 of a-z, 0-9 and '-', starting with a letter or digit"
MODERATOR = "moderator"
RESERVED = frozenset({"moderator", "all", "none"})

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 256 * 1024
MAX_TOPIC_CHARS = 300
DEFAULT_MAX_TURNS = 20
MAX_MAX_TURNS = 100_000

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def check_name(raw: str, what: str = "name", *, allow_reserved: bool = False) -> str:
    """Return the name lower-cased, or raise BadInput quoting the rule."""
    name = raw.strip().lower()
    if not NAME_RE.match(name):
        raise BadInput(f"invalid {what} {raw!r}: {NAME_RULE}")
    if name in RESERVED and not allow_reserved:
        raise BadInput(f"invalid {what} {raw!r}: 'moderator', 'all' and 'none' are reserved")
    return name


def normalise_name(raw: str, fallback: str = "user") -> str:
    """Turn free text (a login or host name) into a valid name, never failing."""
    text = raw
    if not raw.isascii():
        import unicodedata

        text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    text = text.lower()
    text = re.sub(r"[^a-z0-9-]+", "-", text).strip("-")[:63].strip("-")
    if not text or text in RESERVED:
        return fallback
    return text


def split_names(value: str | list[str] | None) -> list[str]:
    """Split a header or option name list on commas; empty or 'none' is the empty list."""
    if value is None:
        return []
    items = value if isinstance(value, list) else value.split(",")
    names = [str(item).strip() for item in items]
    names = [n for n in names if n]
    return [] if names == ["none"] else names


def join_names(names: Iterable[str]) -> str:
    """Join names for a header or NEXT line; nobody is 'none'."""
    return ", ".join(names) or "none"


def slug(text: str, limit: int = 40) -> str:
    """A lower-case slug of a topic for new ids."""
    return normalise_name(text, fallback="talk")[:limit].strip("-") or "talk"


def new_conversation_id(topic: str, now: float) -> str:
    """`YYYYMMDD-HHMMSS-<slug>` in UTC; see `with_suffix` for collisions."""
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}-{slug(topic)}"


def with_suffix(base: str, n: int) -> str:
    """The n-th candidate id for a base id (n=1 is the base itself, then -2, -3, ...)."""
    if n <= 1:
        return base
    suffix = f"-{n}"
    return base[: 63 - len(suffix)].rstrip("-") + suffix


def new_block_id(now: float | None = None) -> str:
    """A time-ordered, random block id such as `01jd0m6x4k-a1b2c3d4`."""
    ms = int((time.time() if now is None else now) * 1000)
    stamp = "".join(_CROCKFORD[(ms >> shift) & 31] for shift in range(45, -1, -5))
    # 40 random bits: two writers in the same millisecond must never share an id, since
    # a present id means "already written" to the write path.
    rand = "".join(_CROCKFORD[b & 31] for b in os.urandom(8))
    return f"{stamp}-{rand}"


def login_name() -> str:
    """The user's login name, normalised to a valid name."""
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if os.environ.get(var):
            return normalise_name(os.environ[var])
    try:
        import pwd

        return normalise_name(pwd.getpwuid(os.getuid()).pw_name)
    except (ImportError, KeyError):
        return "user"


def moderator_name(configured: str | None) -> str:
    """The moderator's name: the config's, else the login name (normalised)."""
    return configured or login_name()
