"""Wall-clock time in the protocol's format; one place for tests to fix it."""

from __future__ import annotations

import math
import os
import re
import time

# Patterns as strings, compiled (and cached by `re`) on first use: the helper's writes
# never parse a time, so they do not pay for compiling these at start-up.
_ISO = r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$"
# Older files wrote local-looking stamps such as "2026-05-27 16:22"; read them as UTC.
_LOOSE = (
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?"
    r" ?(?:Z|UTC|([+-])(\d{2}):?(\d{2}))?$"
)


def now() -> float:
    """Seconds since the epoch; `TALKROOM_FAKE_NOW` (ISO or epoch seconds) fixes it for tests."""
    fake = os.environ.get("TALKROOM_FAKE_NOW")
    if fake:
        return parse_iso(fake) if "T" in fake else float(fake)
    return time.time()


def iso(ts: float) -> str:
    """ISO-8601 UTC with seconds and Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _epoch(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> float:
    # Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm);
    # avoids importing calendar/_strptime on the helper's start-up path.
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 61):
        raise ValueError("date or time out of range")
    y -= mo <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return float(days * 86400 + h * 3600 + mi * 60 + s)


def parse_iso(text: str) -> float:
    """Parse the protocol's `YYYY-MM-DDTHH:MM:SSZ`; raises ValueError on anything else."""
    m = re.match(_ISO, text.strip())
    if m is None:
        raise ValueError(f"not an ISO-8601 UTC time: {text!r}")
    return _epoch(*(int(g) for g in m.groups()))


def parse_loose(text: str) -> float | None:
    """Parse a timestamp from an older or hand-edited file (several shapes), or None."""
    m = re.match(_LOOSE, text.strip())
    if m is None:
        return None
    y, mo, d, h, mi, s, sign, oh, om = m.groups()
    try:
        ts = _epoch(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError:
        return None
    if sign:
        offset = int(oh) * 3600 + int(om) * 60
        ts -= offset if sign == "+" else -offset
    return ts


def age(seconds: float) -> str:
    """A short human duration: 45s, 3m, 2h05, 4d ("never" for an unreadable time)."""
    if not math.isfinite(seconds):
        return "never"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}"
    return f"{s // 86400}d"


def parse_duration(text: str) -> float | None:
    """Seconds from `600`, `90s`, `10m`, `2h`; None if it is none of these."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if m is None:
        return None
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
