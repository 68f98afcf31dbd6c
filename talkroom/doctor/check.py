"""One line of the doctor's report."""

from __future__ import annotations

from talkroom.core.sanitise import sanitise_line


class Check:
    """One line of the report."""

    __slots__ = ("detail", "fix", "name", "ok")

    def __init__(self, name: str, ok: bool, detail: str, fix: str = "") -> None:
        # Details quote file names and files other hosts wrote: inert before printing.
        self.name = sanitise_line(name)
        self.ok = ok
        self.detail = sanitise_line(detail)
        self.fix = sanitise_line(fix)

    def line(self) -> str:
        """`✓ name: detail` or `✗ name: detail; fix: ...`."""
        text = f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"
        return text if self.ok or not self.fix else f"{text}; fix: {self.fix}"

    def to_json(self) -> dict[str, object]:
        """For `doctor --json`."""
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}
